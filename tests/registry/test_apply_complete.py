"""Applying a run's ``incomplete`` column: fields the record lacks are completed from the
register, apart from the corrections of wrong fields (issue 16), on SQLite and PostgreSQL.

The bulk path's completions are compared row for row with :func:`link_dose` in
``test_apply.py`` (``test_bulk_apply_writes_exactly_what_link_dose_writes``).
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from tests.factories import world
from tests.registry.test_apply import ACTOR, _doses, _link, _load, _record, _write_run
from tiemchung.core import Platform
from tiemchung.registry.imports.apply import apply_run
from tiemchung.registry.models import AuditEvent, Correction, Person, ReviewItem
from tiemchung.registry.review.corrections import COMPLETE_REASON, link_dose
from tiemchung.registry.scope import Actor


def test_apply_completes_incomplete_fields_apart_from_corrections(
    platform: Platform, tmp_path: Path
) -> None:
    _load(
        platform,
        [
            # An with no ID and only his birth year: incomplete, nothing wrong
            _record("C1", "an", national_id=None, dob="1985"),
            # Bình typed without diacritics (wrong) and with no sex (incomplete)
            _record("C2", "binh", full_name="Tran Thi Binh", sex=None),
            # the same dose of An typed again: a duplicate keeps its fields as entered
            _record("C3", "an", national_id=None, dob="1985", dose_date="16/08/2021"),
            # Cường with no sex, but the run's incomplete list names a field it cannot fill
            _record("C4", "cuong", sex=None),
            # Dũng with no ward code; decided by a commune reviewer before the run
            _record("C5", "dung", ward_code=None),
            # Em with no ID, sent to review: a person decides, nothing is completed
            _record("C6", "em", national_id=None),
        ],
    )
    commune = Actor.system("xa-reviewer")
    with platform.sessions() as s:
        dung = s.scalar(select(Person).where(Person.person_id == "P-DUNG"))
        link_dose(s, commune, _doses(s)["C5"], dung, source="review", reason="gặp trực tiếp")
        s.commit()
    run = [
        _link("C1", "P-AN", "verified", incomplete="national_id;dob"),
        _link(
            "C2",
            "P-BINH",
            "corrected",
            mismatches="full_name",
            corrections=json.dumps({"full_name": "Trần Thị Bình"}, ensure_ascii=False),
            incomplete="sex",
        ),
        _link("C3", "P-AN", "duplicate", duplicate_of="C1", incomplete="national_id;dob"),
        _link("C4", "P-CUONG", "verified", incomplete="sex;blood_type"),
        _link("C5", "P-DUNG", "verified", incomplete="ward_code"),
        _link("C6", "P-EM", "review", match_probability=0.8, incomplete="national_id"),
    ]
    with platform.sessions() as s:
        rep = apply_run(s, ACTOR, _write_run(tmp_path / "run", run))
    assert (rep.linked, rep.verified, rep.corrected, rep.corrections) == (2, 1, 1, 1)
    assert (rep.completed, rep.completions, rep.duplicates) == (2, 3, 1)
    assert rep.reasons == {"incomplete:unreadable": 1} and rep.kept_person_decision == 1
    assert rep.review_items == 1
    w = world()
    with platform.sessions() as s:
        d = _doses(s)
        assert (d["C1"].national_id, d["C1"].dob, d["C1"].status) == (
            "001085123456",
            "1985-04-12",
            "verified",
        )
        assert (d["C2"].full_name, d["C2"].sex) == ("Trần Thị Bình", "F")
        assert (d["C3"].national_id, d["C3"].dob, d["C3"].status) == (None, "1985", "duplicate")
        assert d["C4"].person_pk is None and d["C4"].sex is None  # the row was refused
        assert d["C5"].ward_code is None and d["C5"].link_source == "review"
        assert (d["C6"].national_id, d["C6"].status) == (None, "unverified")
        item = s.scalar(select(ReviewItem).where(ReviewItem.dose_id == d["C6"].id))
        assert item is not None and item.candidates[0]["incomplete"] == ["national_id"]
        rows = {
            (c.dose_id, c.field): c
            for c in s.scalars(select(Correction).where(Correction.source == "automatic"))
        }
        assert {(k, c.reason == COMPLETE_REASON) for k, c in rows.items()} == {
            ((d["C1"].id, "national_id"), True),
            ((d["C1"].id, "dob"), True),
            ((d["C2"].id, "sex"), True),
            ((d["C2"].id, "full_name"), False),
        }
        c = rows[(d["C1"].id, "dob")]
        assert (c.old_value, c.new_value, c.run_id) == ("1985", "1985-04-12", rep.run_id)
        assert rows[(d["C2"].id, "full_name")].reason is None
        events = {
            int(e.entity_id): e
            for e in s.scalars(select(AuditEvent).where(AuditEvent.entity == "dose"))
            if e.detail.get("run_id") == rep.run_id
        }
        assert (events[d["C1"].id].action, events[d["C1"].id].detail["fields"]) == (
            "dose.complete",
            [],
        )
        assert events[d["C1"].id].detail["completed"] == ["national_id", "dob"]
        assert events[d["C2"].id].action == "dose.correct"
        assert events[d["C2"].id].detail["fields"] == ["full_name"]
        assert events[d["C2"].id].detail["completed"] == ["sex"]
        assert events[d["C3"].id].action == "dose.link" and "completed" not in (
            events[d["C3"].id].detail
        )
        assert d["C1"].area_ward_code == w.wards["a1"]
        applied = s.scalars(select(AuditEvent).where(AuditEvent.action == "reconcile.apply")).all()
        assert applied[-1].detail["completions"] == 3 and applied[-1].detail["corrections"] == 1
