"""`tiemchung webhooks add|list|pause|resume|dead|replay` (issue 19 point 3): partners'
webhook subscriptions from the command line, over the same service functions as
``/api/v1/webhooks`` (``registry/changes/webhooks.py``). The CLI acts as the centre.

The deliverer itself runs in ``tiemchung worker`` (and in ``serve`` with
``TIEMCHUNG_WEBHOOKS_IN_SERVE=true``): ``run_deliverer`` here is what both start.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any

import typer

from tiemchung.cli.common import console, fail

webhooks_app = typer.Typer(
    help="Partner webhooks / Webhook của đối tác: add, list, pause, resume, dead, replay",
    no_args_is_help=True,
)
IdArg = Annotated[int, typer.Argument(help="the subscription's id / mã đăng ký webhook")]


def run_deliverer(platform: object, stop: threading.Event, name: str | None = None) -> None:
    """The deliverer loop over the platform's database until ``stop`` (worker and serve)."""
    from tiemchung.core import Platform
    from tiemchung.registry.changes.delivery import Deliverer, DeliveryConfig

    assert isinstance(platform, Platform)
    cfg = DeliveryConfig.from_settings(platform.settings, f"{name}:wh" if name else None)
    Deliverer(platform.sessions, cfg).run(stop)


def _run(job: Any) -> Any:
    """Run ``job(session, actor)`` in a transaction; a refusal printed in both languages,
    exit code 2."""
    from tiemchung.core import Platform
    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.scope import Actor

    with Platform() as platform:
        try:
            return platform.in_transaction(lambda s: job(s, Actor.system("cli")))
        except ServiceError as exc:
            words = "; ".join(f"{p.field}: {p.message_vi} / {p.message_en}" for p in exc.problems)
            fail(f"{exc.title}: {words}", 2)


def _line(v: Any) -> str:
    res = ",".join(v.resources) if v.resources else "*"
    err = f"\t{v.last_error}" if v.last_error else ""
    return (
        f"{v.id}\t{v.client_id}\t{v.status}\t{v.url}\t{res}\tcursor={v.cursor}\t"
        f"delivered={v.delivered_events}\tdead={v.dead_total}{err}"
    )


@webhooks_app.command("add")
def add_cmd(
    client: Annotated[str, typer.Option("--client", help="the partner's client_id / mã đối tác")],
    url: Annotated[str, typer.Option("--url", help="where to POST / địa chỉ nhận")],
    resources: Annotated[
        str | None,
        typer.Option(help="Immunization,Patient (default: all) / loại dữ liệu (mặc định: tất cả)"),
    ] = None,
    from_seq: Annotated[
        int, typer.Option(help="start after this seq (0: the whole log) / bắt đầu sau seq này")
    ] = 0,
) -> None:
    """Subscribe a partner's URL; prints its secret ONCE /
    Đăng ký webhook; in khoá bí mật MỘT LẦN."""
    from tiemchung.registry.changes import webhooks as svc

    wanted = [r.strip() for r in resources.split(",") if r.strip()] if resources else None
    added = _run(lambda s, a: svc.add_subscription(s, a, client, url, wanted, from_seq=from_seq))
    print(_line(added.subscription))
    print(added.secret)
    console.print(
        "Lưu khoá bí mật này ngay: sẽ không hiển thị lại / "
        "Store this secret now: it is never shown again"
    )


@webhooks_app.command("list")
def list_cmd(
    client: Annotated[
        str | None, typer.Option("--client", help="one partner's / của một đối tác")
    ] = None,
) -> None:
    """Subscriptions and their cursors / Các đăng ký webhook và con trỏ."""
    from tiemchung.registry.changes import webhooks as svc

    for v in _run(lambda s, a: svc.list_subscriptions(s, a, client)):
        print(_line(v))


@webhooks_app.command("pause")
def pause_cmd(
    sub_id: IdArg,
    reason: Annotated[str | None, typer.Option(help="why / lý do")] = None,
) -> None:
    """Stop delivering (the cursor stays) / Tạm dừng gửi (giữ con trỏ)."""
    from tiemchung.registry.changes import webhooks as svc

    print(_line(_run(lambda s, a: svc.set_status(s, a, sub_id, "paused", reason))))


@webhooks_app.command("resume")
def resume_cmd(sub_id: IdArg) -> None:
    """Deliver again from the cursor / Gửi tiếp từ con trỏ."""
    from tiemchung.registry.changes import webhooks as svc

    print(_line(_run(lambda s, a: svc.set_status(s, a, sub_id, "active"))))


@webhooks_app.command("dead")
def dead_cmd(
    sub_id: Annotated[
        int | None, typer.Option("--id", help="one subscription's / của một đăng ký")
    ] = None,
    limit: Annotated[int, typer.Option(help="at most / tối đa", min=1, max=1000)] = 100,
) -> None:
    """Batches given up on, newest first / Các lô đã bỏ cuộc, mới nhất trước."""
    from tiemchung.registry.changes import webhooks as svc

    for d in _run(lambda s, a: svc.list_dead(s, a, sub_id, limit=limit)):
        print(
            f"{d.id}\twebhook={d.subscription_id}\t{d.first_seq}..{d.last_seq}\t"
            f"events={d.count}\tattempts={d.attempts}\t{d.status}\t{d.last_error or ''}".rstrip()
        )


@webhooks_app.command("replay")
def replay_cmd(
    dead_id: Annotated[int, typer.Argument(help="the dead letter's id / mã lô hỏng")],
) -> None:
    """Send a dead batch again / Gửi lại một lô đã bỏ cuộc."""
    from tiemchung.registry.changes import webhooks as svc

    d = _run(lambda s, a: svc.replay(s, a, dead_id))
    print(f"{d.id}\t{d.status}\t{d.first_seq}..{d.last_seq}")
