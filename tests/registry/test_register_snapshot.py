"""The local snapshot as a RegisterSource (registry/people/register_source.SnapshotRegister),
on SQLite and PostgreSQL, over the test world's invented persons (tests/factories.py)."""

from __future__ import annotations

from sqlalchemy import update

from tiemchung.core import Platform
from tiemchung.registry.models import Person
from tiemchung.registry.people.register_source import SnapshotRegister


def test_the_snapshot_answers_by_id_and_by_name_and_date_of_birth(platform: Platform) -> None:
    snapshot = platform.register_snapshot
    (an,) = snapshot.by_id("001085123456")
    assert (an.person_id, an.full_name, an.dob, an.sex) == (
        "P-AN",
        "Nguyễn Văn An",
        "1985-04-12",
        "M",
    )
    assert [p.person_id for p in snapshot.by_name_dob("Nguyen Van An", "1985-04-12")] == ["P-AN"]
    assert snapshot.by_id("001001001001") == []
    assert snapshot.by_name_dob("Nguyễn Văn An", "1986-04-12") == []


def test_the_snapshots_changes_walk_by_update_time_without_repeats(platform: Platform) -> None:
    snapshot = SnapshotRegister(platform.sessions)
    seen: list[str] = []
    cursor = None
    while True:
        page = snapshot.changes_since(cursor, 2)
        seen += [p.person_id for p in page.persons]
        cursor = page.cursor
        if not page.more:
            break
    assert len(seen) == len(set(seen)) and "P-AN" in seen
    assert snapshot.changes_since(cursor, 2).persons == []
    with platform.sessions() as s:  # P-AN corrected later: she comes again, alone
        s.execute(
            update(Person).where(Person.person_id == "P-AN").values(full_name="Nguyễn Văn Ân")
        )
        s.commit()
    again = snapshot.changes_since(cursor, 10)
    assert [(p.person_id, p.full_name) for p in again.persons] == [("P-AN", "Nguyễn Văn Ân")]
