"""Citizen tickets: routing, deadline, caps, decisions and their trail; the worklist CLI."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from tests.factories import review_item, submission, world
from tiemchung.auth.users import actor_for
from tiemchung.cli.main import app
from tiemchung.config import Settings, get_settings
from tiemchung.core import Platform
from tiemchung.registry.doses.record import record_doses
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.models import (
    AuditEvent,
    Correction,
    Dose,
    Person,
    ReviewItem,
    Ticket,
    User,
)
from tiemchung.registry.review import tickets as tk
from tiemchung.registry.review.xlsx import COLUMNS
from tiemchung.registry.scope import Actor

SYSTEM = Actor.system("tests")
TODAY = date(2025, 7, 4)  # a Friday


def who(platform: Platform, username: str) -> Actor:
    with platform.sessions() as s:
        return actor_for(s.scalars(select(User).where(User.username == username)).one())


def an_dose(platform: Platform) -> int:
    sub = submission("an")
    res = platform.writer.run(
        lambda s: record_doses(s, platform.catalog, SYSTEM, [sub], today=date(2022, 6, 1))
    )
    assert res[0].dose is not None and res[0].dose["status"] == "verified"
    return int(res[0].dose["id"])


def open_(platform: Platform, actor: Actor, **kw: Any) -> dict[str, Any]:
    req = tk.TicketRequest(**kw)
    return platform.writer.run(lambda s: tk.open_ticket(s, actor, req, today=TODAY))


def fails(platform: Platform, job: Any) -> tuple[int, str]:
    with pytest.raises(ServiceError) as exc:
        platform.writer.run(job)
    return exc.value.status, exc.value.problems[0].rule


def test_working_day_deadline() -> None:
    # Friday + 7 working days = the Tuesday of the week after next
    assert tk.working_days_after(date(2025, 7, 4), 7) == date(2025, 7, 15)
    assert tk.working_days_after(date(2025, 7, 5), 1) == date(2025, 7, 7)  # Saturday -> Monday


def test_ticket_routed_to_the_ward_with_a_review_item(platform: Platform) -> None:
    dose_id = an_dose(platform)
    citizen = who(platform, "citizen_an")
    t = open_(platform, citizen, field="dob", proposed_value="13/04/1985", dose_id=dose_id)
    assert (t["status"], t["ward_code"], t["deadline"]) == (
        "open",
        world().wards["a1"],
        date(2025, 7, 15),
    )
    assert (t["current_value"], t["proposed_value"]) == ("1985-04-12", "1985-04-13")
    with platform.sessions() as s:
        item = s.get(ReviewItem, t["review_item_id"])
        assert item is not None
        assert (item.kind, item.status, item.ward_code, item.dose_id) == (
            "ticket",
            "open",
            world().wards["a1"],
            dose_id,
        )
        assert item.candidates[0]["corrections"] == {"dob": "1985-04-13"}  # type: ignore[index]
        assert s.scalars(select(AuditEvent.action).where(AuditEvent.entity == "ticket")).all() == [
            "ticket.open"
        ]


def test_citizen_rules_and_caps(platform: Platform) -> None:
    dose_id = an_dose(platform)
    citizen = who(platform, "citizen_an")
    # someone else's dose is not found; an uncorrectable field, a bad value, no change: 422
    with platform.sessions() as s:
        other = s.scalars(select(Person).where(Person.person_id == "P-BINH")).one()
    sub = submission("binh")
    res = platform.writer.run(
        lambda s: record_doses(s, platform.catalog, SYSTEM, [sub], today=date(2022, 6, 1))
    )
    binh_dose = res[0].dose["id"]  # type: ignore[index]
    assert other.id != citizen.person_pk
    req = tk.TicketRequest("phone", "0912999999", dose_id=binh_dose)
    assert fails(platform, lambda s: tk.open_ticket(s, citizen, req, today=TODAY)) == (
        404,
        "not_found",
    )
    req = tk.TicketRequest("product_code", "AZ", dose_id=dose_id)
    assert fails(platform, lambda s: tk.open_ticket(s, citizen, req, today=TODAY)) == (
        422,
        "invalid_choice",
    )
    req = tk.TicketRequest("dob", "31/02/1985", dose_id=dose_id)
    assert fails(platform, lambda s: tk.open_ticket(s, citizen, req, today=TODAY))[1].startswith(
        "invalid_dob"
    )
    req = tk.TicketRequest("dob", "12/04/1985", dose_id=dose_id)
    assert fails(platform, lambda s: tk.open_ticket(s, citizen, req, today=TODAY)) == (
        422,
        "no_change",
    )
    commune = who(platform, "ward_a1")
    req = tk.TicketRequest("dob", "1985", dose_id=dose_id)
    assert fails(platform, lambda s: tk.open_ticket(s, commune, req, today=TODAY))[0] == 403
    # at most MAX_OPEN unresolved; one per field
    fields = ["dob", "phone", "address", "sex", "full_name"]
    values = ["1985-04-13", "0912999999", "Thôn 9", "F", "Nguyễn Văn Ân"]
    for f, v in zip(fields, values, strict=True):
        open_(platform, citizen, field=f, proposed_value=v, dose_id=dose_id)
    req = tk.TicketRequest("phone", "0912999998", dose_id=dose_id)
    assert fails(platform, lambda s: tk.open_ticket(s, citizen, req, today=TODAY)) == (
        409,
        "duplicate_ticket",
    )
    req = tk.TicketRequest("national_id", "001085123450")  # register data
    assert fails(platform, lambda s: tk.open_ticket(s, citizen, req, today=TODAY)) == (
        429,
        "too_many_open_tickets",
    )


def test_accept_applies_through_link_dose_and_reject_needs_a_reason(platform: Platform) -> None:
    dose_id = an_dose(platform)
    citizen = who(platform, "citizen_an")
    t1 = open_(platform, citizen, field="phone", proposed_value="0912999999", dose_id=dose_id)
    t2 = open_(platform, citizen, field="national_id", proposed_value="001085123450")
    ward_b1, ward_a1, prov_a = (who(platform, u) for u in ("ward_b1", "ward_a1", "prov_a"))
    assert (
        fails(platform, lambda s: tk.decide(s, ward_b1, t1["id"], accept=True, reason=None))[0]
        == 404
    )
    done = platform.writer.run(lambda s: tk.decide(s, ward_a1, t1["id"], accept=True, reason=None))
    assert done["status"] == "accepted"
    assert done["changes"] == [{"field": "phone", "old": "0912000001", "new": "0912999999"}]
    assert fails(platform, lambda s: tk.decide(s, ward_a1, t1["id"], accept=False, reason="x")) == (
        409,
        "already_decided",
    )
    assert fails(platform, lambda s: tk.decide(s, prov_a, t2["id"], accept=False, reason=" "))[
        1
    ] == ("reason_required")
    # register data: the correction is recorded for the register, the snapshot untouched
    done = platform.writer.run(
        lambda s: tk.decide(s, prov_a, t2["id"], accept=True, reason="CCCD gốc")
    )
    assert done["status"] == "accepted"
    with platform.sessions() as s:
        dose = s.get(Dose, dose_id)
        assert dose is not None and (dose.phone, dose.link_source) == ("0912999999", "citizen")
        rows = s.execute(
            select(
                Correction.dose_id, Correction.field, Correction.source, Correction.new_value
            ).order_by(Correction.id)
        ).all()
        assert [tuple(r) for r in rows] == [
            (dose_id, "phone", "citizen", "0912999999"),
            (None, "national_id", "citizen", "001085123450"),
        ]
        an = s.scalars(select(Person).where(Person.person_id == "P-AN")).one()
        assert an.national_id == "001085123456"
        items = s.scalars(select(ReviewItem.status).where(ReviewItem.kind == "ticket")).all()
        assert sorted(items) == ["accepted", "accepted"]
        mine, total = tk.list_tickets(s, citizen, today=TODAY)
        assert total == 2 and {t["status"] for t in mine} == {"accepted"}
        assert tk.list_tickets(s, who(platform, "ward_b1"), today=TODAY)[1] == 0
        assert tk.list_tickets(s, who(platform, "prov_b"), today=TODAY)[1] == 0
        assert tk.list_tickets(s, prov_a, today=TODAY)[1] == 2


def test_an_accepted_register_report_is_said_forwarded_not_corrected(platform: Platform) -> None:
    """Register data is not the platform's to change: accepting a report about it forwards
    the correction, and the ticket says so — never "corrected" (issue 14, round 2)."""
    dose_id = an_dose(platform)
    citizen = who(platform, "citizen_an")
    on_register = open_(platform, citizen, field="full_name", proposed_value="Nguyễn Văn Ân")
    on_dose = open_(platform, citizen, field="phone", proposed_value="0912999999", dose_id=dose_id)
    assert on_register["outcome"] is None  # undecided
    ward_a1 = who(platform, "ward_a1")
    fwd = platform.writer.run(
        lambda s: tk.decide(s, ward_a1, on_register["id"], accept=True, reason=None)
    )
    fixed = platform.writer.run(
        lambda s: tk.decide(s, ward_a1, on_dose["id"], accept=True, reason=None)
    )
    assert (fwd["status"], fwd["outcome"]) == ("accepted", "forwarded")
    assert "chuyển đề nghị sửa cho cơ quan quản lý sổ dân cư" in fwd["decision"]
    assert "forwarded to the register authority" in fwd["decision"]
    assert "Đã sửa" not in fwd["decision"] and "corrected" not in fwd["decision"]
    assert (fixed["status"], fixed["outcome"]) == ("accepted", "corrected")
    assert fixed["decision"].startswith("Đã sửa hồ sơ mũi tiêm")
    with platform.sessions() as s:
        stored = s.scalars(select(Ticket.decision).order_by(Ticket.id)).all()
        assert stored == [fwd["decision"], fixed["decision"]]
        assert s.scalars(select(Person.full_name).where(Person.person_id == "P-AN")).one() == (
            "Nguyễn Văn An"  # the register copy unchanged
        )
        seen = {t["id"]: t["outcome"] for t in tk.list_tickets(s, citizen, today=TODAY)[0]}
    assert seen == {on_register["id"]: "forwarded", on_dose["id"]: "corrected"}


# -- the worklist CLI ----------------------------------------------------------------------------
runner = CliRunner()


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("TIEMCHUNG_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TIEMCHUNG_DATABASE_URL", settings.resolved_database_url)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_cli_export_then_import(env: Settings, platform: Platform, tmp_path: Path) -> None:
    sub = submission(None, full_name="Nguyễn Văn An", national_id="001085123457", dob="1985-04-12")
    res = platform.writer.run(
        lambda s: record_doses(s, platform.catalog, SYSTEM, [sub], today=date(2022, 6, 1))
    )
    dose_id = res[0].dose["id"]  # type: ignore[index]
    item = platform.writer.run(
        lambda s: review_item(s, dose_id, [("an", 0.95, {"national_id": "001085123456"})])
    )
    out = tmp_path / "a1.xlsx"
    r = runner.invoke(app, ["worklist", "export", "--ward", world().wards["a1"], "--out", str(out)])
    assert r.exit_code == 0, r.output
    wb = load_workbook(io.BytesIO(out.read_bytes()))
    ws = wb.worksheets[0]
    col = {k: i + 1 for i, (k, _) in enumerate(COLUMNS)}
    assert ws.cell(row=2, column=col["id"]).value == item
    ws.cell(row=2, column=col["decision"], value="chấp nhận")
    ws.append([424242] + [None] * (col["decision"] - 2) + ["chấp nhận"])
    wb.save(out)
    r = runner.invoke(app, ["worklist", "import", str(out), "--user", "ward_a1"])
    assert r.exit_code == 1, r.output  # one row failed: reported, the good row applied
    assert "applied 1, failed 1" in r.output.replace("\n", " ")
    report = load_workbook(out.with_suffix(".report.xlsx")).worksheets[0]
    rows = [[c.value for c in row] for row in report.iter_rows(min_row=2)]
    assert [(x[1], x[2], x[5], x[8]) for x in rows] == [
        (item, "đã áp dụng", "applied", None),
        (424242, "lỗi, chưa lưu", "failed", "unknown_id"),
    ]
    assert "1 × Mã mục không có hoặc không hợp lệ" in r.output.replace("\n", " ")
    with platform.sessions() as s:
        it = s.get(ReviewItem, item)
        assert it is not None and it.status == "accepted"
        assert it.decided_by == who(platform, "ward_a1").user_id
    r = runner.invoke(app, ["worklist", "import", str(out), "--user", "nobody"])
    assert r.exit_code == 2 and "nobody" in r.output
