"""The desk asks the remote register what the snapshot does not know (registry/doses/verify.py
with ``remote``), against the REAL fake server, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.factories import resolve_scope
from tests.registry.register_fakes import fake_register, hoa, requests_served
from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.registry.doses.verify import Verification, VerifyRecord, verify
from tiemchung.registry.models import AuditEvent, Person
from tiemchung.registry.scope import Actor, Role
from tiemchung.registry.tables.changes import ChangeEntry

SITE_A1 = Actor(1001, "site_a1", Role.SITE, **resolve_scope({"site_id": "a1"}))  # type: ignore[arg-type]
HOA = VerifyRecord(national_id="079190000111", full_name="Lê Thị Hoa", dob="1990-05-06", sex="F")
NOTE_EN = "register unreachable, checked against the local copy"


@contextmanager
def platform_for(settings: Settings, url: str, **more: Any) -> Iterator[Platform]:
    values = {"register_url": url, "register_retries": 0, **more}
    with Platform(settings.model_copy(update=values)) as platform:
        yield platform


def check(platform: Platform, record: VerifyRecord) -> Verification:
    with platform.sessions() as s:
        v = verify(s, SITE_A1, record, audit=False, remote=platform.register_remote)
        s.commit()
        return v


def test_a_person_only_the_remote_knows_is_stored_and_verified(
    settings: Settings, tmp_path: Path
) -> None:
    with fake_register(tmp_path) as server, platform_for(settings, server.url) as platform:
        v = check(platform, HOA)
        again = check(platform, HOA)  # now from the snapshot: the remote is not asked again
        served = requests_served(server)
        with platform.sessions() as s:
            stored = s.execute(select(Person).where(Person.person_id == "R-HOA")).scalar_one()
            changes = s.execute(select(ChangeEntry)).scalars().all()
            events = s.scalars(
                select(AuditEvent).where(AuditEvent.action == "register.remote")
            ).all()
    assert v.status == "verified" and v.matched_on == "national_id" and v.notes == []
    assert v.person is not None and v.person["person_id"] == "R-HOA"
    assert again.status == "verified" and served == 1
    assert (stored.full_name, stored.dob, stored.ward_code) == (
        "Lê Thị Hoa",
        "1990-05-06",
        hoa()["ward_code"],
    )
    assert stored.province_code is not None and stored.name_key == "le thi hoa"
    assert [(c.resource, c.resource_id, c.action, c.source) for c in changes] == [
        ("Patient", "R-HOA", "created", "desk")
    ]
    assert len(events) == 1 and events[0].username == "site_a1"
    assert events[0].detail["created"] == 1


def test_a_remote_mismatch_is_the_desks_mismatch(settings: Settings, tmp_path: Path) -> None:
    typed = VerifyRecord(national_id="079190000111", full_name="Lê Thị Hoa", dob="1991-05-06")
    with fake_register(tmp_path) as server, platform_for(settings, server.url) as platform:
        v = check(platform, typed)
    assert v.status == "mismatch" and v.person is not None
    assert {m.field for m in v.mismatches if m.decisive} == {"dob"}


def test_nobody_in_either_register_is_not_found_without_a_note(
    settings: Settings, tmp_path: Path
) -> None:
    with fake_register(tmp_path) as server, platform_for(settings, server.url) as platform:
        v = check(platform, VerifyRecord(national_id="001001001001"))
        assert requests_served(server) == 1
    assert v.status == "not_found" and v.notes == []


def test_a_person_the_snapshot_knows_never_asks_the_remote(
    settings: Settings, tmp_path: Path
) -> None:
    an = VerifyRecord(national_id="001085123456", full_name="Nguyễn Văn An", dob="1985-04-12")
    with fake_register(tmp_path) as server, platform_for(settings, server.url) as platform:
        v = check(platform, an)
        assert requests_served(server) == 0
    assert v.status == "verified"


def test_the_remote_stopped_answers_from_the_snapshot_at_once_with_a_note(
    settings: Settings, tmp_path: Path
) -> None:
    with fake_register(tmp_path) as server:
        url = server.url
    with platform_for(settings, url) as platform:
        started = time.monotonic()
        v = check(platform, HOA)
        elapsed = time.monotonic() - started
    assert v.status == "not_found"
    assert len(v.notes) == 1 and NOTE_EN in v.notes[0] and "bản sao tại chỗ" in v.notes[0]
    assert elapsed < 1.0


def test_a_remote_slower_than_the_timeout_answers_within_timeout_and_margin(
    settings: Settings, tmp_path: Path
) -> None:
    options = {"register_read_timeout_s": 0.4, "register_deadline_s": 0.6}
    with (
        fake_register(tmp_path, latency_ms=3000) as server,
        platform_for(settings, server.url, **options) as platform,
    ):
        started = time.monotonic()
        v = check(platform, HOA)
        elapsed = time.monotonic() - started
    assert v.status == "not_found" and NOTE_EN in v.notes[0]
    assert elapsed < 0.4 + 0.5


def test_with_the_breaker_open_the_remote_is_not_asked(settings: Settings, tmp_path: Path) -> None:
    options = {"register_breaker_failures": 1, "register_breaker_cooldown_s": 60}
    with (
        fake_register(tmp_path) as server,
        platform_for(settings, server.url, **options) as platform,
    ):
        assert platform.register_remote is not None
        platform.register_remote.breaker.failure()  # as after a failed call
        v = check(platform, HOA)
        assert requests_served(server) == 0
    assert v.status == "not_found" and NOTE_EN in v.notes[0]
