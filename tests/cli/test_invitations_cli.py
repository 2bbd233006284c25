"""`tiemchung invitations send|list` and `tiemchung reminders run|overdue` over the seeded
world (both backends): counts by hand, the texts' links signed with the platform's key, a
second reminder run queuing nothing, a bad day exiting 2 in both languages."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from tests.registry.invite_world import CENTRAL, dose, person
from tiemchung.auth.invitelinks import read
from tiemchung.cli.main import app
from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.registry.catalog import sessions as planning
from tiemchung.registry.tables.messages import OutboxMessage

runner = CliRunner()


def _run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (args, result.output)
    return result.output


def test_send_list_remind_and_overdue(env: Settings, tmp_path: Path) -> None:
    env.token_secret(create=True)
    with Platform(env) as platform, platform.sessions() as s:
        today = platform.today()
        vs = planning.plan_session(
            s,
            CENTRAL,
            planning.SessionPlan(
                site_id="S-A1",
                session_date=today + timedelta(days=5),
                products=["PFIZER"],
                time_slots=[planning.TimeSlot("07:30", "09:00", 1)],
            ),
            today,
        )
        late = person(s, "late", phone="0912333001")
        dose(s, late, 1, today - timedelta(days=40), "PFIZER")  # dose 2 overdue by 19 days
        soon = person(s, "soon", phone="0912333002")
        dose(s, soon, 1, today - timedelta(days=19), "PFIZER")  # due in 2 days
        s.commit()
        sid = vs.id
    preview = _run("invitations", "send", "--session", str(sid), "--preview")
    assert "would_invite 1" in preview
    out = _run("invitations", "send", "--session", str(sid), "--wait-list", "1")
    assert "invited 1 · waitlisted 1 · texts_queued 1" in out
    listed = _run("invitations", "list", "--session", str(sid))
    assert "invited 1" in listed and "waitlisted 1" in listed and "chờ/wait #1" in listed
    first = _run("reminders", "run", "--days", "3")
    assert "due 1 · queued 1" in first  # soon; late is past the 7 days' grace: overdue
    assert "queued 0" in _run("reminders", "run", "--days", "3")
    with Platform(env) as platform, platform.sessions() as s:
        invitation = s.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "invitation")
        ).one()
        token = invitation.body.rsplit("/i/", 1)[1]
        assert invitation.body.startswith("TiemChung:")
        assert read(platform.token_secret, token) == int(invitation.ref_id or 0)
        assert read(b"another key", token) is None
    overdue = _run("reminders", "overdue")
    assert "total 1" in overdue and "0912333001" in overdue and "+19d" in overdue
    target = tmp_path / "overdue.xlsx"
    _run("reminders", "overdue", "--xlsx", str(target))
    sheet = load_workbook(io.BytesIO(target.read_bytes())).active
    assert sheet is not None and sheet.cell(2, 1).value == "P-late"
    bad = _run("invitations", "send", "--session", str(sid), "--due-by", "12/2026", code=2)
    assert "YYYY-MM-DD" in bad and "ngày" in bad
