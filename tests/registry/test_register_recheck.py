"""The register changed some people: their stored doses are judged again (issue 19, point 5).

Hand-made store rows (the test world, doses recorded through the dose path), both backends:
a date of birth corrected in the register flags a verified dose; a name fixed links a dose
left unlinked at entry; an item closes when the register agrees again; a second run changes
nothing; a rollback leaves nothing behind.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tests.factories import submission, world
from tiemchung.core import Platform
from tiemchung.identity import fold_name
from tiemchung.registry.doses.record import record_doses
from tiemchung.registry.models import AuditEvent, Dose, Person, ReviewItem
from tiemchung.registry.review.register_recheck import recheck_persons
from tiemchung.registry.scope import Actor
from tiemchung.registry.tables.changes import ChangeEntry


def record(platform: Platform, person: str | None = None, **kw: Any) -> int:
    sub = submission(person, **kw)
    res = platform.writer.run(
        lambda s: record_doses(
            s, platform.catalog, Actor.system("tests"), [sub], today=date(2022, 6, 1)
        )
    )
    assert res[0].dose is not None, res[0].error
    return int(res[0].dose["id"])


def pk_of(s: Session, person_id: str) -> int:
    pk = s.scalar(select(Person.id).where(Person.person_id == person_id))
    assert pk is not None
    return int(pk)


def register_sets(platform: Platform, person_id: str, **values: Any) -> int:
    """What a register pull does before the re-check: the person's new values stored."""
    if "full_name" in values:
        values["name_key"] = fold_name(values["full_name"])
    with platform.sessions() as s:
        s.execute(update(Person).where(Person.person_id == person_id).values(**values))
        s.commit()
        return pk_of(s, person_id)


def recheck(platform: Platform, pks: list[int]) -> Any:
    with platform.sessions() as s:
        report = recheck_persons(s, pks)
        s.commit()
    return report


def items(s: Session, dose_id: int) -> list[ReviewItem]:
    return list(s.scalars(select(ReviewItem).where(ReviewItem.dose_id == dose_id)))


def changes(s: Session, dose_id: int) -> list[tuple[str, str]]:
    rows = s.execute(
        select(ChangeEntry.action, ChangeEntry.source)
        .where(ChangeEntry.resource == "Immunization", ChangeEntry.resource_id == str(dose_id))
        .where(ChangeEntry.source == "register")  # not the dose path's own "created"
        .order_by(ChangeEntry.seq)
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_a_dob_the_register_corrects_flags_the_dose_then_agreeing_again_closes_it(
    platform: Platform,
) -> None:
    w = world()
    d = record(platform, "an")  # verified at entry: the register said 1985-04-12
    pk = register_sets(platform, "P-AN", dob="1985-04-21")
    report = recheck(platform, [pk])
    assert (report.persons, report.linked_doses, report.flagged, report.changes) == (1, 1, 1, 1)
    with platform.sessions() as s:
        dose = s.get(Dose, d)
        assert dose is not None and (dose.status, dose.person_pk) == ("unverified", pk)
        assert dose.updated_at is not None  # with its change row: FHIR's _lastUpdated moves
        (it,) = items(s, d)
        assert (it.kind, it.reason, it.status, it.mismatches) == (
            "unverified",
            "register_changed",
            "open",
            "dob",
        )
        assert (it.ward_code, it.person_pk) == (w.wards["a1"], pk)
        assert it.candidates == [
            {
                "person_id": "P-AN",
                "match_probability": None,
                "mismatches": ["dob"],
                "corrections": {"dob": "1985-04-21"},
            }
        ]
        assert changes(s, d) == [("corrected", "register")]
        run = s.scalars(select(AuditEvent).where(AuditEvent.action == "register.recheck")).one()
        assert run.detail is not None and run.detail["flagged"] == 1
        flagged = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "dose.register_mismatch")
        ).one()
        assert flagged.entity_id == str(d) and flagged.detail["fields"] == ["dob"]  # type: ignore[index]

    again = recheck(platform, [pk])  # nothing twice
    assert (again.flagged, again.already_flagged, again.changes) == (0, 1, 0)
    with platform.sessions() as s:
        assert len(items(s, d)) == 1 and len(changes(s, d)) == 1

    register_sets(platform, "P-AN", dob="1985-04-12")  # the register takes it back
    back = recheck(platform, [pk])
    assert (back.reverified, back.items_closed, back.changes) == (1, 1, 1)
    with platform.sessions() as s:
        dose = s.get(Dose, d)
        assert dose is not None and dose.status == "verified"
        (it,) = items(s, d)
        assert it.status == "accepted" and it.decision is not None
        assert it.decision["source"] == "register"
        assert s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "review_item.accept", AuditEvent.entity_id == str(it.id)
            )
        ).one()
        assert changes(s, d) == [("corrected", "register"), ("corrected", "register")]
    assert recheck(platform, [pk]).changes == 0


def test_a_name_the_register_fixes_links_the_doses_it_had_left_unlinked(
    platform: Platform,
) -> None:
    w = world()
    # typed with An's ID and the name on his card, which the register spelt otherwise
    by_id = record(platform, "an", full_name="Nguyễn Văn Ân")
    # typed without an ID: found by name and date of birth once the register agrees
    by_name = record(platform, full_name="Hồ Thị Êm", dob="2001-07-07", sex="F")
    with platform.sessions() as s:
        assert s.get(Dose, by_id).person_pk is None  # type: ignore[union-attr]
        (entry_item,) = items(s, by_id)
        assert entry_item.reason == "fields_differ"
    an = register_sets(platform, "P-AN", full_name="Nguyễn Văn Ân")
    em = register_sets(platform, "P-EM", full_name="Hồ Thị Êm")
    report = recheck(platform, [an, em])
    assert (report.unlinked_checked, report.linked, report.items_closed) == (2, 2, 2)
    with platform.sessions() as s:
        for dose_id, pk, ward in ((by_id, an, "a1"), (by_name, em, "b2")):
            dose = s.get(Dose, dose_id)
            assert dose is not None
            assert (dose.person_pk, dose.status, dose.link_source) == (pk, "verified", "register")
            assert dose.area_ward_code == w.wards[ward]
            assert [i.status for i in items(s, dose_id)] == ["accepted"]
            assert changes(s, dose_id) == [("linked", "register")]
    again = recheck(platform, [an, em])
    assert (again.linked, again.unlinked_checked, again.changes) == (0, 0, 0)


def test_an_unlinked_dose_two_people_now_fit_goes_to_the_worklist(platform: Platform) -> None:
    d = record(platform, full_name="Trần Thị Bình", dob="1990", sex="F")
    with platform.sessions() as s:
        before = {i.id for i in items(s, d)}
    # the register now also knows a second Trần Thị Bình born in 1990 (a year-only date)
    binh = register_sets(platform, "P-BINH", dob="1990")
    em = register_sets(platform, "P-EM", full_name="Trần Thị Bình", dob="1990-05-05")
    report = recheck(platform, [binh, em])
    assert (report.linked, report.unlinked_flagged, report.superseded) == (0, 1, len(before))
    with platform.sessions() as s:
        (it,) = [i for i in items(s, d) if i.status == "open"]
        assert it.reason == "register_changed" and it.person_pk is None
        assert sorted(c["person_id"] for c in it.candidates or []) == ["P-BINH", "P-EM"]
        assert s.get(Dose, d).person_pk is None  # type: ignore[union-attr]


def test_a_rollback_leaves_nothing(platform: Platform) -> None:
    d = record(platform, "an")
    pk = register_sets(platform, "P-AN", dob="1985-04-21")
    with platform.sessions() as s:
        counts = [s.scalar(select(func.count()).select_from(t)) for t in (ReviewItem, ChangeEntry)]
        audits = s.scalar(select(func.count()).select_from(AuditEvent))
        report = recheck_persons(s, [pk])
        assert report.flagged == 1
        s.rollback()
    with platform.sessions() as s:
        assert [
            s.scalar(select(func.count()).select_from(t)) for t in (ReviewItem, ChangeEntry)
        ] == counts
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == audits
        assert s.get(Dose, d).status == "verified"  # type: ignore[union-attr]
    assert recheck(platform, [pk]).flagged == 1  # and the scratch tables are gone


def test_the_dose_rule_warnings_of_a_replaced_or_closed_item_are_kept(platform: Platform) -> None:
    """One dose, one item: an unverified dose's item also carries the sequence rules it broke
    (dose 2 with no dose 1). Linked by the register, the warning moves to a ``dose_check``
    item in the person's ward, as when a reviewer links it."""
    w = world()
    d = record(platform, "an", full_name="Nguyễn Văn Ân", dose_number=2)
    with platform.sessions() as s:
        (entry_item,) = items(s, d)
        assert "previous_dose_missing" in (entry_item.explanation or "")
    an = register_sets(platform, "P-AN", full_name="Nguyễn Văn Ân")
    assert recheck(platform, [an]).linked == 1
    with platform.sessions() as s:
        by_kind = {i.kind: i for i in items(s, d)}
        assert by_kind["unverified"].status == "accepted"
        check = by_kind["dose_check"]
        assert (check.status, check.reason, check.ward_code) == (
            "open",
            "previous_dose_missing",
            w.wards["a1"],
        )
        assert check.person_pk == an


def test_an_item_replaced_by_the_recheck_keeps_the_warnings_it_carried(platform: Platform) -> None:
    d = record(platform, "an", full_name="Nguyễn Văn Ân", dose_number=2)
    an = register_sets(platform, "P-AN", dob="1985-04-21")  # now the date differs too
    report = recheck(platform, [an])
    assert (report.unlinked_flagged, report.superseded) == (1, 1)
    with platform.sessions() as s:
        by_status = {i.status: i for i in items(s, d)}
        assert set(by_status) == {"superseded", "open"}
        new = by_status["open"]
        assert (new.reason, new.mismatches, new.person_pk) == (
            "register_changed",
            "full_name;dob",
            an,
        )
        assert "dose rule: previous_dose_missing dose=2 missing=1" in (new.explanation or "")
