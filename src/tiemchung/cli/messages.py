"""`tiemchung worker` (the SMS sender, and the webhook deliverer beside it: issue 19) and
`tiemchung messages list|budget` (issue 18).

The worker is one process per gateway connection: it claims, submits and records through
``registry/messages/sender.py`` until SIGTERM or Ctrl-C (``--once``: until nothing is due).
A SIGKILL at any moment loses nothing and sends nothing twice (see the module's docstring).
"""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from tiemchung.cli.common import console, fail
from tiemchung.cli.register import pull_loop
from tiemchung.cli.templates import templates_app

messages_app = typer.Typer(
    help="SMS messages / Tin nhắn SMS: list, budget, templates",
    no_args_is_help=True,
)
messages_app.add_typer(templates_app, name="templates")


def run_sender(
    platform: object, stop: threading.Event, name: str | None, once: bool
) -> dict[str, int]:
    """The sender loop over the platform's gateway (``serve`` runs it in a thread too)."""
    from tiemchung.core import Platform
    from tiemchung.registry.messages.sender import Sender, SenderConfig

    assert isinstance(platform, Platform)
    gateway = platform.sms_gateway()
    try:
        sender = Sender(
            platform.sessions, gateway, SenderConfig.from_settings(platform.settings, name)
        )
        if once:
            while not stop.is_set() and sender.step():
                pass
            sender.drain()
        else:
            sender.run(stop)
        return sender.totals
    finally:
        gateway.close()


def worker(
    name: Annotated[
        str | None, typer.Option(help="this sender's name in claimed_by / tên tiến trình gửi")
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="stop when nothing is due / dừng khi hết tin đến hạn")
    ] = False,
    webhooks: Annotated[
        bool,
        typer.Option(
            "--webhooks/--no-webhooks",
            help="also deliver partners' webhooks / gửi cả webhook cho đối tác",
        ),
    ] = True,
) -> None:
    """Send the SMS outbox through TIEMCHUNG_SMS_GATEWAY, partners' webhooks, and pull the
    register every TIEMCHUNG_REGISTER_PULL_EVERY_S / Gửi tin nhắn SMS, webhook cho đối tác
    và lấy thay đổi sổ dân cư."""
    from tiemchung import logmask
    from tiemchung.core import Platform

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with Platform() as platform:
        logmask.install(platform.settings.log_level, platform.settings.log_format)
        puller = None
        if platform.settings.register_pull_every_s > 0 and platform.register_remote is not None:
            # the register's changes on their own schedule, beside the sender (issue 19)
            puller = threading.Thread(
                target=pull_loop, args=(platform, stop), name="register-pull", daemon=True
            )
            puller.start()
        hooks = None
        if webhooks and not once:
            # the partners' webhooks beside the texts (registry/changes/delivery.py)
            from tiemchung.cli.webhooks import run_deliverer

            hooks = threading.Thread(
                target=run_deliverer, args=(platform, stop, name), name="webhooks"
            )
            hooks.start()
        try:
            if platform.settings.sms_gateway or not hooks:
                totals = run_sender(platform, stop, name, once)
            else:
                while not stop.wait(1.0):  # no SMS gateway: the webhooks alone, until a signal
                    pass
                totals = {"sent": 0, "retry": 0, "failed": 0, "opted_out": 0}
        except ValueError as exc:
            stop.set()
            fail(str(exc), 2)
        finally:
            if puller is not None:
                stop.set()
                puller.join()
            if hooks is not None:
                stop.set()
                hooks.join()
    console.print(
        f"sent/đã gửi {totals['sent']}, retry/thử lại {totals['retry']}, "
        f"failed/thất bại {totals['failed']}, opted out/từ chối {totals['opted_out']}"
    )


@messages_app.command("budget")
def budget_cmd(
    text: Annotated[str, typer.Argument(help="the template's text / nội dung mẫu tin")],
    keep_accents: Annotated[
        bool, typer.Option("--keep-accents", help="send with accents (UCS-2) / giữ dấu")
    ] = False,
) -> None:
    """What a text costs in SMS segments / Số tin nhắn của một nội dung."""
    from tiemchung.identity.sms import budget

    b = budget(text, keep_accents=keep_accents)
    vi, en = b.describe()
    print(b.text)
    print(f"{vi} / {en}")


@messages_app.command("list")
def list_cmd(
    status: Annotated[
        str | None, typer.Option(help="queued, sent, delivered, invalid… / trạng thái")
    ] = None,
    kind: Annotated[str | None, typer.Option(help="invitation, reminder, otp… / loại")] = None,
    phone: Annotated[str | None, typer.Option(help="phone number / số điện thoại")] = None,
    ref: Annotated[str | None, typer.Option(help="type:id or id / tham chiếu")] = None,
    limit: Annotated[int, typer.Option(help="at most / tối đa", min=1, max=500)] = 100,
) -> None:
    """Messages, newest first; --status invalid lists the bad numbers / Danh sách tin nhắn."""
    from tiemchung.core import Platform
    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.messages import listing
    from tiemchung.registry.scope import Actor

    q = listing.MessageQuery(status=status, kind=kind, phone=phone, ref=ref)
    with Platform() as platform, platform.sessions() as s:
        try:
            rows, _ = listing.list_messages(s, Actor.system("cli"), q, limit=limit)
        except ServiceError as exc:
            words = "; ".join(f"{p.field}: {p.message_vi} / {p.message_en}" for p in exc.problems)
            fail(f"{exc.title}: {words}", 2)
        for m in rows:
            ref_text = f"{m.ref_type}:{m.ref_id}" if m.ref_id else ""
            print(
                f"{m.id}\t{m.created_at:%Y-%m-%d %H:%M}\t{m.phone}\t{m.kind}\t{m.status}\t"
                f"{ref_text}\t{m.last_error or ''}".rstrip()
            )
