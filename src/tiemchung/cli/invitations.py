"""`tiemchung invitations send|list|no-shows` and `tiemchung reminders run|overdue` (issue 18).

Each command parses, calls one service of ``registry/invitations/`` (the same the API and the
pages call), commits and prints; the CLI acts with central scope, audited as ``cli``. The
texts' short links are signed here with the platform's key (``auth/invitelinks.py``) and
point at ``TIEMCHUNG_PUBLIC_URL``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from tiemchung.cli.common import console, fail

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tiemchung.core import Platform
    from tiemchung.registry.scope import Actor

T = TypeVar("T")

invitations_app = typer.Typer(
    help="Invitations to a planned session / Mời người đến buổi tiêm: send, list, no-shows",
    no_args_is_help=True,
)
reminders_app = typer.Typer(
    help="Reminders and the overdue list / Nhắc lịch tiêm và danh sách quá hạn: run, overdue",
    no_args_is_help=True,
)


def _refused(exc: Any) -> NoReturn:
    fail("; ".join(f"{p.field}: {p.message_vi} / {p.message_en}" for p in exc.problems), 2)


def _run(work: Callable[[Session, Actor, date, Platform], T]) -> T:
    """Run ``work`` in one transaction as the CLI; a refusal exits 2 in both languages."""
    from tiemchung.core import Platform
    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.scope import Actor

    with Platform() as platform, platform.sessions() as s:
        try:
            result = work(s, Actor.system("cli"), platform.today(), platform)
            s.commit()
            return result
        except ServiceError as exc:
            _refused(exc)


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option}: ngày phải có dạng YYYY-MM-DD / the day must be YYYY-MM-DD ({text!r})", 2)


@invitations_app.command("send")
def send(
    session_id: Annotated[int, typer.Option("--session", help="the session's id / mã buổi tiêm")],
    group: Annotated[
        list[str] | None,
        typer.Option("--group", help="priority group, repeatable / nhóm ưu tiên (nhắc lại được)"),
    ] = None,
    due_by: Annotated[
        str | None,
        typer.Option(help="next dose due by YYYY-MM-DD / mũi tiếp theo đến hạn trước ngày"),
    ] = None,
    min_age: Annotated[int | None, typer.Option(help="lowest age / tuổi từ")] = None,
    max_age: Annotated[int | None, typer.Option(help="highest age / tuổi đến")] = None,
    ward: Annotated[
        str | None,
        typer.Option(help="ward code (default: the site's) / mã xã (mặc định: của điểm)"),
    ] = None,
    org: Annotated[
        str | None,
        typer.Option(help="organisation: id or tax/agency code / tổ chức: mã số hoặc mã số thuế"),
    ] = None,
    wait_list: Annotated[
        int | None,
        typer.Option(help="wait list size (default: 20% of capacity) / số người danh sách chờ"),
    ] = None,
    preview: Annotated[
        bool, typer.Option("--preview", help="count only, send nothing / chỉ đếm, không gửi")
    ] = False,
) -> None:
    """Invite people to a planned session and queue their texts / Mời người và xếp tin nhắn."""
    from tiemchung.auth.invitelinks import link_maker
    from tiemchung.registry.invitations import send as svc
    from tiemchung.registry.invitations.select import Selection
    from tiemchung.registry.people.registration.organisations import find_organisation

    def work(s: Session, actor: Actor, today: date, platform: Platform) -> dict[str, Any]:
        # as `registrations import --org`: an id or the code the organisation applied with
        org_id = find_organisation(s, actor, org).id if org is not None else None
        sel = Selection(
            groups=list(group or []),
            min_age=min_age,
            max_age=max_age,
            ward_code=ward,
            organisation_id=org_id,
            due_by=_day(due_by, "--due-by"),
        )
        if preview:
            return svc.preview(s, actor, session_id, sel, today, wait_list=wait_list).as_dict()
        links = link_maker(platform.token_secret, platform.settings.public_url)
        return svc.send_invitations(
            s, actor, session_id, sel, today, links, wait_list=wait_list
        ).as_dict()

    out = _run(work)
    console.print(" · ".join(f"{k} {v}" for k, v in out.items()))


@invitations_app.command("list")
def list_cmd(
    session_id: Annotated[int, typer.Option("--session", help="the session's id / mã buổi tiêm")],
    no_shows: Annotated[
        bool, typer.Option("--no-shows", help="only who did not come / chỉ người không đến")
    ] = False,
) -> None:
    """A session's invitations with their statuses / Danh sách lời mời và trạng thái."""
    from tiemchung.registry.invitations import attendance

    def work(s: Session, actor: Actor, _today: date, _p: Platform) -> list[dict[str, Any]]:
        if no_shows:
            return attendance.no_shows(s, actor, session_id)
        listed = attendance.list_invitations(s, actor, session_id)
        console.print(" · ".join(f"{k} {v}" for k, v in listed["counts"].items()))
        return list(listed["items"])

    for row in _run(work):
        place = row["slot"] or (f"chờ/wait #{row['wait_position']}" if row["wait_position"] else "")
        console.print(
            f"{row['id']}\t{row['person_id']}\t{row['full_name']}\t{row['phone'] or ''}\t"
            f"{place}\t{row['status']}"
        )


@reminders_app.command("run")
def run(
    days: Annotated[
        int | None,
        typer.Option(help="days before the due date (default: the setting) / nhắc trước mấy ngày"),
    ] = None,
    ward: Annotated[str | None, typer.Option(help="one ward only / chỉ một xã")] = None,
) -> None:
    """Queue a reminder for each next dose falling due / Xếp tin nhắc mũi tiếp theo."""
    from tiemchung.registry.invitations.reminders import run_reminders

    def work(s: Session, actor: Actor, today: date, platform: Platform) -> dict[str, int]:
        ahead = platform.settings.reminder_days if days is None else days
        return run_reminders(s, actor, today, ahead, ward_code=ward).as_dict()

    out = _run(work)
    console.print(" · ".join(f"{k} {v}" for k, v in out.items()))


@reminders_app.command("overdue")
def overdue_cmd(
    ward: Annotated[str | None, typer.Option(help="the ward's code / mã xã")] = None,
    xlsx: Annotated[
        Path | None, typer.Option(help="write the whole list as .xlsx / ghi ra tệp Excel")
    ] = None,
    limit: Annotated[int, typer.Option(help="rows shown / số dòng")] = 50,
) -> None:
    """The overdue (defaulter) list / Danh sách quá hạn tiêm mũi tiếp theo."""
    from tiemchung.registry.invitations import reminders

    if xlsx is not None:

        def export(s: Session, actor: Actor, today: date, _p: Platform) -> int:
            data, n = reminders.overdue_workbook(s, actor, today, ward_code=ward)
            xlsx.write_bytes(data)
            return n

        console.print(f"{_run(export)} rows → {xlsx}")
        return

    def work(s: Session, actor: Actor, today: date, _p: Platform) -> dict[str, Any]:
        return reminders.overdue(s, actor, today, ward_code=ward, limit=limit)

    listed = _run(work)
    console.print(f"total {listed['total']}")
    for r in listed["items"]:
        contact = r["last_contact"] or {}
        console.print(
            f"{r['person_id']}\t{r['full_name']}\t{r['phone'] or ''}\tdose {r['next_dose']}\t"
            f"due {r['due_date']}\t+{r['days_overdue']}d\t{contact.get('at') or ''}"
        )
