"""`tiemchung sessions plan|open|close|cancel|list` over the seeded test world (both
backends): each command calls the sessions service and prints; a refusal exits 2 with its
words in both languages; the help is in both languages."""

from __future__ import annotations

from sqlalchemy import select

from tests.cli.test_stock_cli import _run
from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.registry.models import AuditEvent


def _id(out: str) -> str:
    return out.split("session ", 1)[1].split(" ", 1)[0]


def test_plan_open_close_cancel_and_list(env: Settings) -> None:
    with Platform(env) as platform:
        today = platform.today().isoformat()
    assert "Buổi tiêm" in _run("sessions", "--help") and "plan" in _run("sessions", "--help")
    assert "ngày tiêm" in _run("sessions", "plan", "--help")
    first = _id(_run("sessions", "plan", "S-A1", "--date", today, "--product", "PFIZER",
                     "--capacity", "40"))  # fmt: skip
    second = _id(_run("sessions", "plan", "S-A1", "--date", today, "--product", "AZ",
                      "--capacity", "20"))  # fmt: skip
    out = _run("sessions", "open", first)
    assert f"session {first} · S-A1 · {today} · open · PFIZER · capacity 40" in out
    refused = _run("sessions", "open", second, code=2)
    assert "already has session" in refused and "đã có buổi tiêm" in refused
    assert "open" in _run("sessions", "open", second, "--parallel")
    out = _run("sessions", "close", first, "--opened", "4")
    # nothing recorded or wasted: all 4 doses drawn are unaccounted for
    assert "recorded / đã ghi: 0\nwasted / hao hụt: 0\nopened / đã mở: 4\n" in out
    assert "difference / chênh lệch: 4\n" in out
    third = _id(_run("sessions", "plan", "S-A2", "--date", today, "--product", "PFIZER",
                     "--slot", "07:30-11:00=25"))  # fmt: skip
    assert "cancelled" in _run("sessions", "cancel", third)
    no_capacity = ("--product", "PFIZER", "--slot", "07:30-11:00")
    refused = _run("sessions", "plan", "S-A2", "--date", today, *no_capacity, code=2)
    assert "needs its capacity" in refused and "cần số người" in refused
    listed = _run("sessions", "list", "--from", today, "--to", today)
    assert f"session {first} · S-A1 · {today} · closed" in listed
    assert f"session {second} · S-A1 · {today} · open" in listed
    assert f"session {third} · S-A2 · {today} · cancelled" in listed
    assert "3 session(s)" in listed
    assert "1 session(s)" in _run("sessions", "list", "--status", "closed", "--from", today)
    with Platform(env) as platform, platform.sessions() as s:
        actions = s.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.action.like("session.%"), AuditEvent.username == "cli")
            .order_by(AuditEvent.id)
        ).all()
    assert actions == ["session.plan", "session.plan", "session.open", "session.open",
                       "session.close", "session.plan", "session.cancel"]  # fmt: skip
