"""`tiemchung sessions plan|open|close|cancel|list`: session planning from the command line
(issue 17). Each command parses, calls one service of ``registry/catalog/sessions.py`` (the
same the API and the pages call), commits and prints; the CLI acts with central scope,
audited as ``cli``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from tiemchung.cli.common import console, fail

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tiemchung.registry.scope import Actor

T = TypeVar("T")

sessions_app = typer.Typer(
    help="Vaccination sessions / Buổi tiêm: plan, open, close, cancel, list",
    no_args_is_help=True,
)


def _refused(exc: Any) -> NoReturn:
    """A refusal's words in both languages, field by field; exits 2."""
    fail("; ".join(f"{p.field}: {p.message_vi} / {p.message_en}" for p in exc.problems), 2)


def _run(work: Callable[[Session, Actor, date], T]) -> T:
    """Run ``work(session, actor, today)`` in one transaction as the CLI; a refusal exits 2
    with its words in both languages."""
    from tiemchung.core import Platform
    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.scope import Actor

    with Platform() as platform, platform.sessions() as s:
        try:
            result = work(s, Actor.system("cli"), platform.today())
            s.commit()
            return result
        except ServiceError as exc:
            _refused(exc)


def _print(detail: dict[str, Any]) -> None:
    slots = ", ".join(f"{x['start']}-{x['end']}={x['capacity']}" for x in detail["time_slots"])
    console.print(
        f"session {detail['id']} · {detail['site_id']} · {detail['session_date']} · "
        f"{detail['status']} · {'+'.join(detail['products'])} · capacity {detail['capacity']}"
        + (f" · slots {slots}" if slots else "")
    )


@sessions_app.command("plan")
def plan(
    site_id: Annotated[str, typer.Argument(help="the site's code / mã điểm tiêm")],
    day: Annotated[
        str, typer.Option("--date", help="the day, YYYY-MM-DD / ngày tiêm (năm-tháng-ngày)")
    ],
    product: Annotated[
        list[str], typer.Option(help="product code, repeatable / mã vắc xin (nhắc lại được)")
    ],
    lot: Annotated[
        list[str] | None, typer.Option(help="lot number, repeatable / số lô (nhắc lại được)")
    ] = None,
    slot: Annotated[
        list[str] | None,
        typer.Option(help="time slot 07:30-11:00=60, repeatable / khung giờ=số người"),
    ] = None,
    capacity: Annotated[
        int | None, typer.Option(help="total capacity (default: the slots' sum) / tổng số người")
    ] = None,
    group: Annotated[
        list[str] | None, typer.Option(help="group invited, repeatable / nhóm được mời")
    ] = None,
    member: Annotated[
        list[str] | None,
        typer.Option(
            help="team member 'Name:role', repeatable / thành viên đội tiêm 'Tên:vai trò'"
        ),
    ] = None,
    allow_parallel: Annotated[
        bool, typer.Option(help="may be open beside another / được mở song song buổi khác")
    ] = False,
) -> None:
    """Plan a session at a site / Lập kế hoạch một buổi tiêm tại điểm tiêm."""
    from tiemchung.registry.catalog.sessions import (
        SessionPlan,
        parse_member,
        parse_slot_spec,
        plan_session,
        session_detail,
    )
    from tiemchung.registry.errors import ServiceError

    try:
        when = date.fromisoformat(day)
    except ValueError:
        fail(f"ngày '{day}' phải có dạng YYYY-MM-DD / date '{day}' must be YYYY-MM-DD", 2)
    try:
        slots = [parse_slot_spec(x) for x in slot or []]
    except ServiceError as exc:
        _refused(exc)
    team = [parse_member(m) for m in member or []]
    p = SessionPlan(
        site_id=site_id,
        session_date=when,
        products=product,
        lot_numbers=lot or [],
        time_slots=slots,
        capacity=capacity,
        groups=group or [],
        team=team,
        allow_parallel=allow_parallel,
    )
    detail = _run(lambda s, a, today: session_detail(plan_session(s, a, p, today)))
    console.print("[green]✓[/green] planned / đã lên kế hoạch")
    _print(detail)


@sessions_app.command("open")
def open_(
    session_id: Annotated[int, typer.Argument(help="the session's ID / mã buổi tiêm")],
    parallel: Annotated[
        bool, typer.Option(help="beside another open session / song song buổi đang mở")
    ] = False,
) -> None:
    """Open a planned session today / Mở buổi tiêm hôm nay."""
    from tiemchung.registry.catalog.sessions import open_session, session_detail

    detail = _run(
        lambda s, a, today: session_detail(open_session(s, a, session_id, today, parallel=parallel))
    )
    console.print("[green]✓[/green] open / đã mở")
    _print(detail)


@sessions_app.command("close")
def close(
    session_id: Annotated[int, typer.Argument(help="the session's ID / mã buổi tiêm")],
    opened: Annotated[
        int | None,
        typer.Option(help="doses drawn from opened vials / số liều từ các lọ đã mở"),
    ] = None,
) -> None:
    """Close an open session and reconcile it / Đóng buổi tiêm và đối chiếu số liều."""
    from tiemchung.registry.catalog.sessions import close_session

    rec = _run(lambda s, a, _t: close_session(s, a, session_id, opened=opened)[1])
    console.print("[green]✓[/green] closed / đã đóng")
    diff = "—" if rec.difference is None else str(rec.difference)
    console.print(f"recorded / đã ghi: {rec.recorded}")
    console.print(f"wasted / hao hụt: {rec.wasted}")
    console.print(f"opened / đã mở: {'—' if rec.opened is None else rec.opened}")
    console.print(f"difference / chênh lệch: {diff}")
    for number, figures in rec.by_lot.items():
        console.print(
            f"  {number or '-'}: {figures['recorded']} recorded, {figures['wasted']} wasted"
        )


@sessions_app.command("cancel")
def cancel(
    session_id: Annotated[int, typer.Argument(help="the session's ID / mã buổi tiêm")],
) -> None:
    """Cancel a planned session and its invitations / Huỷ buổi tiêm và lời mời."""
    from tiemchung.registry.catalog.sessions import session_detail
    from tiemchung.registry.invitations.cancel import cancel_with_invitations

    def work(s: Any, a: Any, _t: Any) -> tuple[Any, Any]:
        done = cancel_with_invitations(s, a, session_id)
        return done, session_detail(done.session)

    done, detail = _run(work)
    console.print(
        f"[green]✓[/green] cancelled / đã huỷ; {done.invitations} invitation(s) / lời mời, "
        f"{done.texts_queued} text(s) telling them / tin báo huỷ"
    )
    _print(detail)


@sessions_app.command("list")
def list_(
    site: Annotated[str | None, typer.Option(help="one site / một điểm tiêm")] = None,
    date_from: Annotated[
        str | None, typer.Option("--from", help="from YYYY-MM-DD / từ ngày")
    ] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="to YYYY-MM-DD / đến ngày")] = None,
    status: Annotated[
        str | None, typer.Option(help="planned|open|closed|cancelled / trạng thái")
    ] = None,
) -> None:
    """List sessions / Liệt kê các buổi tiêm."""
    from tiemchung.registry.catalog.reference import list_sessions
    from tiemchung.registry.catalog.sessions import session_detail

    try:
        lo = date.fromisoformat(date_from) if date_from else None
        hi = date.fromisoformat(date_to) if date_to else None
    except ValueError:
        fail("ngày phải có dạng YYYY-MM-DD / dates must be YYYY-MM-DD", 2)
    rows = _run(
        lambda s, a, _t: [
            session_detail(r)
            for r in list_sessions(
                s, a, site_id=site, date_from=lo, date_to=hi, status=status, limit=10_000, offset=0
            )[0]
        ]
    )
    for detail in rows:
        _print(detail)
    console.print(f"{len(rows)} session(s) / buổi tiêm")
