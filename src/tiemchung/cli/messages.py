"""`tiemchung worker` (the SMS sender) and `tiemchung messages list|budget` (issue 18).

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

messages_app = typer.Typer(
    help="SMS messages / Tin nhắn SMS: list, budget",
    no_args_is_help=True,
)


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
) -> None:
    """Send the SMS outbox through TIEMCHUNG_SMS_GATEWAY / Gửi tin nhắn SMS trong hộp thư đi."""
    from tiemchung import logmask
    from tiemchung.core import Platform

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with Platform() as platform:
        logmask.install(platform.settings.log_level)
        try:
            totals = run_sender(platform, stop, name, once)
        except ValueError as exc:
            fail(str(exc), 2)
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
