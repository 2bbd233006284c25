"""Every writer of a dose or a register person appends its changes in its own transaction
(issue 19 point 3), on SQLite and PostgreSQL: a row per change, and none when the
transaction rolls back."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import review_item, submission, world
from tests.registry.test_apply import _link, _record, _write_run
from tiemchung.auth.users import actor_for
from tiemchung.core import Platform
from tiemchung.registry.changes.log import Change, append
from tiemchung.registry.doses.record import record_doses
from tiemchung.registry.imports.apply import apply_run
from tiemchung.registry.imports.backlog import import_dose_records
from tiemchung.registry.imports.register import import_register
from tiemchung.registry.models import Dose, User
from tiemchung.registry.review import decisions
from tiemchung.registry.review import tickets as tk
from tiemchung.registry.scope import Actor
from tiemchung.registry.tables.changes import ChangeEntry

SYSTEM = Actor.system("changes-test")
TODAY = date(2022, 6, 1)
Row = tuple[str, str, str, str, str | None, str | None, str | None]


def log(platform: Platform) -> list[Row]:
    """The change log in seq order: (resource, id, action, source, person, ward, province)."""
    with platform.sessions() as s:
        return [
            (c.resource, c.resource_id, c.action, c.source, c.person_id, c.ward_code,
             c.province_code)
            for c in s.scalars(select(ChangeEntry).order_by(ChangeEntry.seq))
        ]  # fmt: skip


def who(platform: Platform, username: str) -> Actor:
    with platform.sessions() as s:
        return actor_for(s.scalars(select(User).where(User.username == username)).one())


def record(platform: Platform, *subs: Any) -> list[int]:
    res = platform.writer.run(
        lambda s: record_doses(s, platform.catalog, SYSTEM, list(subs), today=TODAY)
    )
    return [int(r.dose["id"]) if r.dose is not None else -1 for r in res]


def test_the_dose_path_appends_one_created_per_stored_dose(platform: Platform) -> None:
    w = world()
    an, stranger, refused = record(
        platform,
        submission("an"),
        submission(None, national_id="001099000001", ward_code=w.wards["b1"]),
        submission("binh", lot_number="NO-SUCH-LOT"),
    )
    assert refused == -1
    assert log(platform) == [
        ("Immunization", str(an), "created", "dose", "P-AN", w.wards["a1"], "01"),
        ("Immunization", str(stranger), "created", "dose", None, w.wards["b1"], "40"),
    ]
    # a replay of the same UUID stores nothing and logs nothing
    sub = submission("cuong")
    record(platform, sub)
    record(platform, sub)
    assert len(log(platform)) == 3


def test_nothing_is_logged_when_the_transaction_rolls_back(platform: Platform) -> None:
    with platform.sessions() as s:
        record_doses(s, platform.catalog, SYSTEM, [submission("an")], today=TODAY)
        append(s, [Change("Patient", "P-AN", "updated", "register", "P-AN")])
        assert s.scalar(select(ChangeEntry.resource_id).limit(1)) is not None  # seen inside
        s.rollback()
    assert log(platform) == []


def test_a_worklist_decision_logs_a_correction_or_a_link(platform: Platform) -> None:
    w = world()
    typo = {"full_name": "NGUYỄN VĂN AN", "national_id": "001085123457", "dob": "12/04/1985"}
    (d1,) = record(platform, submission(None, ward_code=w.wards["a1"], **typo))
    i1 = platform.writer.run(
        lambda s: review_item(s, d1, [("an", 0.97, {"national_id": "001085123456"})])
    )
    ward = who(platform, "ward_a1")
    platform.writer.run(lambda s: decisions.accept(s, ward, i1))
    (d2,) = record(platform, submission(None, ward_code=w.wards["a1"], **typo))
    i2 = platform.writer.run(lambda s: review_item(s, d2, [("an", 0.9, {})]))
    platform.writer.run(lambda s: decisions.reject(s, ward, i2, reason="không phải"))
    after = [r for r in log(platform) if r[2] != "created"]  # the doses' own: their test above
    assert after == [
        ("Immunization", str(d1), "corrected", "review", "P-AN", w.wards["a1"], "01"),
        ("Immunization", str(d2), "linked", "review", None, w.wards["a1"], "01"),
    ]

    # a decision whose transaction fails after link_dose appended: nothing of it is kept
    (d3,) = record(platform, submission(None, ward_code=w.wards["a1"], **typo))
    i3 = platform.writer.run(lambda s: review_item(s, d3, [("an", 0.9, {})]))

    def broken(s: Session) -> None:
        decisions.accept(s, ward, i3)
        raise RuntimeError("the transaction fails after the decision")

    with pytest.raises(RuntimeError):
        platform.writer.run(broken)
    assert [r for r in log(platform) if r[2] != "created"] == after


def test_a_citizen_ticket_accepted_logs_a_correction(platform: Platform) -> None:
    (dose_id,) = record(platform, submission("an"))
    citizen, ward = who(platform, "citizen_an"), who(platform, "ward_a1")
    t = platform.writer.run(
        lambda s: tk.open_ticket(
            s,
            citizen,
            tk.TicketRequest(field="phone", proposed_value="0912999999", dose_id=dose_id),
            today=TODAY,
        )
    )
    assert len(log(platform)) == 1  # opening a ticket changes no dose
    platform.writer.run(lambda s: tk.decide(s, ward, t["id"], accept=True, reason=None))
    assert log(platform)[1] == (
        "Immunization",
        str(dose_id),
        "corrected",
        "ticket",
        "P-AN",
        world().wards["a1"],
        "01",
    )
    with platform.sessions() as s:
        assert s.get(Dose, dose_id).updated_at is not None  # type: ignore[union-attr]


def test_the_backlog_import_logs_each_new_dose_once(platform: Platform) -> None:
    rows = [_record("R1", "an"), _record("R2", "dung"), _record("R3", "an", vaccine="Covaxin")]
    with platform.sessions() as s:
        rep = import_dose_records(s, SYSTEM, rows, rejects_path=None)
    assert rep.rows_imported == 2
    with platform.sessions() as s:
        ids = {d.record_id: str(d.id) for d in s.scalars(select(Dose))}
    w = world()
    assert sorted(log(platform)) == sorted(
        [
            ("Immunization", ids["R1"], "created", "import", None, w.wards["a1"], "01"),
            ("Immunization", ids["R2"], "created", "import", None, w.wards["b1"], "40"),
        ]
    )
    with platform.sessions() as s:  # the same rows again: stored before, nothing new
        import_dose_records(s, SYSTEM, rows, rejects_path=None)
    assert len(log(platform)) == 2


def test_reconcile_apply_logs_links_corrections_and_the_double_as_deleted(
    platform: Platform, tmp_path: Path
) -> None:
    fix = {"full_name": "Trần Thị Bình", "dob": "1990-11-02"}
    rows = [
        _record("R1", "an"),
        _record("R2", "binh", full_name="Tran Thi Binh", dob="02/01/1990"),
        _record("R3", "binh", full_name="Tran Thi Binh", dob="02/01/1990", dose_date="16/08/2021"),
    ]
    with platform.sessions() as s:
        import_dose_records(s, SYSTEM, rows, rejects_path=None)
    links = [
        _link("R1", "P-AN", "verified"),
        _link("R2", "P-BINH", "corrected", corrections=json.dumps(fix, ensure_ascii=False)),
        _link("R3", "P-BINH", "duplicate", duplicate_of="R2"),
    ]
    with platform.sessions() as s:
        apply_run(s, SYSTEM, _write_run(tmp_path / "run", links))
    with platform.sessions() as s:
        ids = {d.record_id: str(d.id) for d in s.scalars(select(Dose))}
    applied = {(r[1], r[2], r[3], r[4]) for r in log(platform)[3:]}
    assert applied == {
        (ids["R1"], "linked", "reconcile", "P-AN"),
        (ids["R2"], "corrected", "reconcile", "P-BINH"),
        (ids["R3"], "deleted", "reconcile", "P-BINH"),
    }
    assert len(log(platform)) == 6
    with platform.sessions() as s:  # the same run again changes nothing, logs nothing
        apply_run(s, SYSTEM, _write_run(tmp_path / "run", links))
    assert len(log(platform)) == 6


def _register_file(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.DictWriter(fh, fieldnames=list(rows[0]))
        out.writeheader()
        out.writerows(rows)
    return path


def test_the_register_import_logs_created_and_really_updated_persons(
    platform: Platform, tmp_path: Path
) -> None:
    w = world()
    an = w.persons["an"]
    same = {
        "person_id": "P-AN",
        "national_id": an["national_id"],
        "full_name": an["full_name"],
        "dob": an["dob"],
        "sex": an["sex"],
        "ward_code": w.wards["a1"],
        "phone": an["phone"],
        "old_id": "",
        "address": "Thôn 1",
    }
    moved = dict(same, person_id="P-NEW", national_id="001099123456", ward_code=w.wards["b2"])
    first = [same, moved]
    with platform.sessions() as s:
        import_register(s, SYSTEM, _register_file(tmp_path / "r1.csv", first))
    # P-AN as the world seeded it: no change; P-NEW: created
    assert log(platform) == [
        ("Patient", "P-NEW", "created", "register", "P-NEW", w.wards["b2"], "40")
    ]
    second = [same, dict(moved, phone="0912888777")]
    with platform.sessions() as s:
        import_register(s, SYSTEM, _register_file(tmp_path / "r2.csv", second))
    assert log(platform)[1:] == [
        ("Patient", "P-NEW", "updated", "register", "P-NEW", w.wards["b2"], "40")
    ]
