"""The remote register's HTTP source (gateways/register_http.py) against the REAL fake server
(gateways/register_fake.py) on 127.0.0.1: look-ups, retries, 429, the breaker, the cache."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.registry.register_fakes import admin, fake_register, hoa, requests_served
from tiemchung.gateways.register_http import CircuitBreaker, HttpRegister, retry_after
from tiemchung.registry.people.register_source import RegisterPerson, RegisterUnavailable


class Clock:
    """A clock the test moves (the cache's and the breaker's time)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def source(url: str, **options: Any) -> HttpRegister:
    options.setdefault("backoff_s", 0.0)
    return HttpRegister(url, **options)


def test_look_ups_by_id_and_by_name_and_date_of_birth(tmp_path: Path) -> None:
    with fake_register(tmp_path) as server:
        remote = source(server.url)
        by_id = remote.by_id("079190000111")
        by_name = remote.by_name_dob("Lê Thị Hoa", "1990-05-06")
        by_year = remote.by_name_dob("Le Thi Hoa", "1990")  # folded name, the year only
        nobody = remote.by_id("001001001001")
    expected = RegisterPerson(
        person_id="R-HOA",
        full_name="Lê Thị Hoa",
        national_id="079190000111",
        dob="1990-05-06",
        sex="F",
        ward_code=hoa()["ward_code"],
        address="Thôn 2",
    )
    assert by_id == [expected] and by_name == [expected] and by_year == [expected]
    assert nobody == []


def test_answers_and_misses_are_cached_the_misses_for_less_time(tmp_path: Path) -> None:
    clock = Clock()
    with fake_register(tmp_path) as server:
        remote = source(server.url, cache_ttl_s=300, cache_miss_ttl_s=30, clock=clock)
        remote.by_id("079190000111")
        remote.by_id("001001001001")
        remote.by_id("079190000111")
        remote.by_id("001001001001")
        assert requests_served(server) == 2 and remote.cache.hits == 2
        clock.now += 60  # the miss is stale, the answer is not
        remote.by_id("079190000111")
        remote.by_id("001001001001")
        assert requests_served(server) == 3
        clock.now += 300
        remote.by_id("079190000111")
        assert requests_served(server) == 4


def test_5xx_is_retried_with_backoff_and_then_answers(tmp_path: Path) -> None:
    sleeps: list[float] = []
    with fake_register(tmp_path) as server:
        admin(server, "/_admin/fail", {"status": 503, "count": 2})
        remote = source(server.url, retries=2, backoff_s=0.01, sleep=sleeps.append)
        found = remote.by_id("079190000111")
        assert [p.person_id for p in found] == ["R-HOA"]
        assert requests_served(server) == 3
    assert sleeps == [0.01, 0.02]  # exponential backoff


def test_errors_beyond_the_retries_make_the_register_unavailable(tmp_path: Path) -> None:
    with fake_register(tmp_path) as server:
        admin(server, "/_admin/fail", {"status": 500, "count": 3})
        remote = source(server.url, retries=2, sleep=lambda s: None)
        with pytest.raises(RegisterUnavailable, match="HTTP 500 after 3 tries"):
            remote.by_id("079190000111")
        admin(server, "/_admin/fail", {"status": 404, "count": 1})  # not retried
        with pytest.raises(RegisterUnavailable, match="HTTP 404 after 1 tries"):
            remote.by_id("079190000111")
        assert requests_served(server) == 4


def test_429_waits_as_long_as_retry_after_says(tmp_path: Path) -> None:
    sleeps: list[float] = []
    with fake_register(tmp_path) as server:
        admin(server, "/_admin/fail", {"status": 429, "count": 1, "retry_after": 2})
        remote = source(server.url, backoff_s=0.01, deadline_s=5, sleep=sleeps.append)
        assert remote.by_id("079190000111")[0].person_id == "R-HOA"
        assert sleeps == [2.0]
        # a Retry-After past the call's deadline: no wait at all, unavailable now
        admin(server, "/_admin/fail", {"status": 429, "count": 1, "retry_after": 30})
        with pytest.raises(RegisterUnavailable, match="429"):
            remote.by_name_dob("Lê Thị Hoa", "1990-05-06")
        assert sleeps == [2.0]


def test_the_fake_servers_rate_limit_is_honoured_for_real(tmp_path: Path) -> None:
    with fake_register(tmp_path, rate_limit=1) as server:
        remote = source(server.url, deadline_s=3, cache_ttl_s=0, cache_miss_ttl_s=0)
        started = time.monotonic()
        remote.by_id("079190000111")
        remote.by_id("079190000111")  # over 1/s: 429 Retry-After 1, then answered
        elapsed = time.monotonic() - started
        assert requests_served(server) == 3
    assert 0.9 <= elapsed < 2.5


def test_retry_after_as_seconds_or_an_http_date() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)
    assert retry_after("7", now) == 7.0
    assert retry_after("Mon, 07 Dec 2026 12:00:30 GMT", now) == 30.0
    assert retry_after("soon", now) is None and retry_after(None) is None


def test_the_breaker_opens_after_n_failures_and_half_opens_after_the_cool_down(
    tmp_path: Path,
) -> None:
    clock = Clock()
    with fake_register(tmp_path) as server:
        remote = source(
            server.url, retries=0, breaker_failures=2, breaker_cooldown_s=10, clock=clock
        )
        admin(server, "/_admin/fail", {"status": 503, "count": 3})
        for _ in range(2):
            with pytest.raises(RegisterUnavailable, match="HTTP 503"):
                remote.by_id("079190000111")
        assert remote.breaker.state == "open"
        with pytest.raises(RegisterUnavailable, match="circuit open"):
            remote.by_id("079190000111")
        assert requests_served(server) == 2  # not asked while open
        clock.now += 10
        assert remote.breaker.state == "half-open"
        with pytest.raises(RegisterUnavailable, match="HTTP 503"):  # the trial fails
            remote.by_id("079190000111")
        assert remote.breaker.state == "open"
        clock.now += 10
        assert remote.by_id("079190000111")[0].person_id == "R-HOA"  # the trial answers
        assert remote.breaker.state == "closed" and requests_served(server) == 4


def test_half_open_lets_one_trial_through_at_a_time() -> None:
    clock = Clock()
    breaker = CircuitBreaker(1, 5, clock)
    breaker.failure()
    assert not breaker.allow()
    clock.now += 5
    assert breaker.allow() and not breaker.allow()
    breaker.success()
    assert breaker.allow() and breaker.state == "closed"


def test_a_register_slower_than_the_timeout_is_unavailable_in_time(tmp_path: Path) -> None:
    with fake_register(tmp_path, latency_ms=1500) as server:
        remote = source(server.url, read_timeout_s=0.3, deadline_s=0.5)
        started = time.monotonic()
        with pytest.raises(RegisterUnavailable, match="Timeout"):
            remote.by_id("079190000111")
        assert time.monotonic() - started < 0.3 + 0.3


def test_a_stopped_register_is_unavailable_at_once(tmp_path: Path) -> None:
    with fake_register(tmp_path) as server:
        url = server.url
    remote = source(url)
    started = time.monotonic()
    with pytest.raises(RegisterUnavailable, match="ConnectError"):
        remote.by_id("079190000111")
    assert time.monotonic() - started < 1.0


def test_the_bearer_token_is_sent_and_a_wrong_one_refused(tmp_path: Path) -> None:
    with fake_register(tmp_path, token="s3cret") as server:
        assert source(server.url, token="s3cret").by_id("079190000111")
        with pytest.raises(RegisterUnavailable, match="HTTP 401"):
            source(server.url, token="wrong").by_id("079190000111")


def test_changes_come_in_pages_with_an_opaque_cursor(tmp_path: Path) -> None:
    with fake_register(tmp_path) as server:
        remote = source(server.url)
        assert remote.changes_since(None, 10).persons == []
        people = [
            {**hoa(), "person_id": f"R-{i}", "national_id": f"07919000020{i}"} for i in range(3)
        ]
        admin(server, "/_admin/persons", {"persons": people})
        first = remote.changes_since(None, 2)
        second = remote.changes_since(first.cursor, 2)
        third = remote.changes_since(second.cursor, 2)
    assert [p.person_id for p in first.persons] == ["R-0", "R-1"] and first.more
    assert [p.person_id for p in second.persons] == ["R-2"] and not second.more
    assert third.persons == [] and third.cursor == second.cursor


def test_a_person_the_register_sends_unusable_is_reported_not_dropped(tmp_path: Path) -> None:
    with fake_register(tmp_path) as server:
        admin(server, "/_admin/persons", {"persons": [{**hoa(), "national_id": "12345"}]})
        page = source(server.url).changes_since(None, 10)
    assert page.persons == []
    assert [pid for pid, _ in page.rejected] == ["R-HOA"]
    assert "national_id" in page.rejected[0][1]


def test_a_changes_file_is_served_as_changes_and_the_error_rate_as_503(tmp_path: Path) -> None:
    from tests.registry.register_fakes import write_register
    from tiemchung.gateways.register_fake import FakeRegister, FakeRegisterServer

    changes = write_register(
        tmp_path / "changes.parquet",
        [{**hoa(), "person_id": "R-C1"}, {**hoa(), "person_id": "R-C2"}],
    )
    with fake_register(tmp_path) as plain:
        assert source(plain.url).changes_since(None, 10).persons == []  # a snapshot: no change
    fake = FakeRegister(tmp_path / "register.parquet", changes=changes)
    with FakeRegisterServer(fake) as server:
        page = source(server.url).changes_since(None, 10)
    assert [p.person_id for p in page.persons] == ["R-C1", "R-C2"] and page.cursor == "2"
    with (
        FakeRegisterServer(FakeRegister(changes, error_rate=1.0)) as failing,
        pytest.raises(RegisterUnavailable, match="HTTP 503 after 2 tries"),
    ):
        source(failing.url, retries=1, sleep=lambda s: None).by_id("079190000111")
