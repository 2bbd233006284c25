"""`register pull` (registry/imports/register_pull.py) against the REAL fake server: the
stored cursor across runs (nothing twice), the change log, refused persons reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from tests.registry.register_fakes import admin, fake_register, hoa
from tiemchung.core import Platform
from tiemchung.gateways.register_http import HttpRegister
from tiemchung.registry.imports.register_pull import PullReport, pull, stored_cursor
from tiemchung.registry.models import AuditEvent, Dose, Person
from tiemchung.registry.scope import Actor
from tiemchung.registry.tables.changes import ChangeEntry

SYSTEM = Actor.system("tests")


def run_pull(platform: Platform, url: str, batch: int = 2) -> PullReport:
    remote = HttpRegister(url, retries=0)
    try:
        with platform.sessions() as s:
            return pull(s, SYSTEM, remote, batch=batch)
    finally:
        remote.close()


def person(platform: Platform, person_id: str) -> Any:
    with platform.sessions() as s:
        return s.execute(select(Person).where(Person.person_id == person_id)).scalar_one()


def patient_changes(platform: Platform) -> list[tuple[str, str, str]]:
    with platform.sessions() as s:
        rows = s.execute(
            select(ChangeEntry.resource_id, ChangeEntry.action, ChangeEntry.source)
            .where(ChangeEntry.resource == "Patient")
            .order_by(ChangeEntry.seq)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def an_corrected() -> dict[str, Any]:
    """P-AN of the test world's snapshot, her name's tone corrected by the register."""
    return {
        **hoa(),
        "person_id": "P-AN",
        "national_id": "001085123456",
        "full_name": "Nguyễn Văn Ân",
        "dob": "1985-04-12",
        "sex": "M",
        "address": None,
    }


def test_pull_across_two_runs_stores_each_change_once(platform: Platform, tmp_path: Path) -> None:
    new = [{**hoa(), "person_id": f"R-{i}", "national_id": f"07919000030{i}"} for i in range(2)]
    with fake_register(tmp_path) as server:
        admin(server, "/_admin/persons", {"persons": [an_corrected(), *new]})
        first = run_pull(platform, server.url, batch=2)
        with platform.sessions() as s:
            after_first = stored_cursor(s)
        an_pk = person(platform, "P-AN").id
        again = run_pull(platform, server.url)  # nothing new: nothing stored, nothing appended
        admin(server, "/_admin/persons", {"persons": [{**new[0], "dob": "1990-05-07"}]})
        second = run_pull(platform, server.url)
    assert (first.pages, first.created, first.corrected) == (2, 2, 1)
    assert sorted(first.changed_pks) == sorted(
        [an_pk, person(platform, "R-0").id, person(platform, "R-1").id]
    )
    assert after_first == "3" and first.cursor == "3"
    assert (again.received, again.changed_pks, again.cursor) == (0, [], "3")
    assert (second.created, second.corrected, second.cursor) == (0, 1, "4")
    assert second.changed_pks == [person(platform, "R-0").id]
    assert person(platform, "P-AN").full_name == "Nguyễn Văn Ân"
    assert person(platform, "R-0").dob == "1990-05-07"
    assert patient_changes(platform) == [
        ("P-AN", "corrected", "register"),
        ("R-0", "created", "register"),
        ("R-1", "created", "register"),
        ("R-0", "corrected", "register"),
    ]
    with platform.sessions() as s:
        pulls = s.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "register.pull")
        )
    assert pulls == 3  # one per page that brought persons


def test_a_person_sent_again_unchanged_appends_no_change(
    platform: Platform, tmp_path: Path
) -> None:
    with fake_register(tmp_path) as server:
        admin(server, "/_admin/persons", {"persons": [hoa()]})
        run_pull(platform, server.url)
        admin(server, "/_admin/persons", {"persons": [hoa()]})  # the same fields, a new seq
        report = run_pull(platform, server.url)
    assert (report.received, report.unchanged, report.changed_pks) == (1, 1, [])
    assert patient_changes(platform) == [("R-HOA", "created", "register")]


def test_refused_persons_are_reported_and_the_rest_stored(
    platform: Platform, tmp_path: Path
) -> None:
    bad_id = {**hoa(), "person_id": "R-BAD", "national_id": "12345"}
    bad_ward = {
        **hoa(),
        "person_id": "R-NOWARD",
        "national_id": "079190000222",
        "ward_code": "99999",
    }
    with fake_register(tmp_path) as server:
        admin(server, "/_admin/persons", {"persons": [bad_id, hoa(), bad_ward]})
        report = run_pull(platform, server.url, batch=10)
    assert report.created == 1 and report.cursor == "3"
    assert sorted(pid for pid, _ in report.rejected) == ["R-BAD", "R-NOWARD"]
    with platform.sessions() as s:
        stored = s.scalars(select(Person.person_id).where(Person.person_id.like("R-%"))).all()
    assert stored == ["R-HOA"]


def test_a_pulled_correction_flags_the_persons_stored_dose(
    platform: Platform, tmp_path: Path
) -> None:
    """The whole path: a dose verified at entry, the remote register corrects the person's
    date of birth, the pull stores it and the re-check opens a worklist item for the dose."""
    from tests.registry.test_register_recheck import items, record

    dose = record(platform, "an")  # verified against the snapshot's 1985-04-12
    with fake_register(tmp_path) as server:
        admin(server, "/_admin/persons", {"persons": [{**an_corrected(), "dob": "1985-12-04"}]})
        report = run_pull(platform, server.url)
        nothing = run_pull(platform, server.url)
    assert report.recheck is not None and report.recheck.flagged == 1
    assert nothing.recheck is None  # a pull with no change re-checks nothing
    with platform.sessions() as s:
        opened = items(s, dose)
        status = s.scalar(select(Dose.status).where(Dose.id == dose))
    assert [i.status for i in opened if i.status == "open"] == ["open"]
    assert status == "unverified"
