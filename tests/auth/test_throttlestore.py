"""The throttles count in shared storage: two throttles over one store (two server processes
over one database, or one Redis) brake one guesser as one, with the policy's numbers
unchanged, and a forgotten count starts again."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tiemchung.auth.throttle import SignInThrottle
from tiemchung.auth.throttlestore import DatabaseStore, RedisStore, ThrottleStore
from tiemchung.core import Platform
from tiemchung.registry.tables.throttles import ThrottleFailure


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def shared_by_two(store: ThrottleStore, clock_forgets: bool = True) -> None:
    """Two throttles (two workers) over one store: the five free failures are five in all
    (the 5th starts the 30 s wait, as in tests/web/test_token_throttle.py)."""
    clock = Clock()
    one = SignInThrottle(clock=clock, store=store)
    two = SignInThrottle(clock=clock, store=store)
    counts = [(one if i % 2 else two).failed("site_a1", "1.2.3.4").count for i in range(4)]
    assert counts == [1, 2, 3, 4]
    assert two.wait_seconds("site_a1", "1.2.3.4") == 0
    assert one.failed("site_a1", "1.2.3.4").wait == 30  # the 5th failure, wherever it lands
    assert two.wait_seconds("site_a1", "1.2.3.4") == 30
    clock.now += 10
    assert one.wait_seconds("site_a1", "1.2.3.4") == 20
    assert two.wait_seconds("site_a1", "5.6.7.8") == 0  # another source is not braked
    # another throttle's name (the look-up) counts apart in the same store
    other = SignInThrottle(clock=clock, store=store, name="lookup")
    assert other.wait_seconds("site_a1", "1.2.3.4") == 0
    two.succeeded("site_a1", "1.2.3.4")
    assert one.wait_seconds("site_a1", "1.2.3.4") == 0
    assert one.failed("site_a1", "1.2.3.4").count == 1
    if clock_forgets:  # (Redis forgets by its own clock: test_redis_forgets_by_itself)
        clock.now += 86400  # a day after the last failure: forgotten
        assert two.failed("site_a1", "1.2.3.4").count == 1


def test_the_database_store_is_shared_and_forgets(platform: Platform) -> None:
    store = DatabaseStore(platform.sessions)
    shared_by_two(store)
    # the per-source counts (an hour) are long forgotten by now: a new key deletes them
    now = Clock().now + 10 * 86400
    store.fail([("fresh", 60.0)], now)
    with platform.sessions() as s:
        keys = s.scalars(select(ThrottleFailure.key)).all()
        assert keys == ["fresh"]
        assert s.scalar(select(func.count()).select_from(ThrottleFailure)) == 1
    # no user name or source is stored in clear
    store.fail([("x", 60.0)], now)
    SignInThrottle(store=store, clock=lambda: now).failed("nurse_lan", "10.0.0.9")
    with platform.sessions() as s:
        stored = " ".join(s.scalars(select(ThrottleFailure.key)).all())
    assert "nurse_lan" not in stored and "10.0.0.9" not in stored


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A real redis-server on a free port of 127.0.0.1, its files in a temp dir."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (Debian package redis-server)")
    pytest.importorskip("redis", reason="redis-py is not installed (extra tiemchung[redis])")
    port = free_port()
    args = ["--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path), "--save", ""]
    proc = subprocess.Popen(
        [binary, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_redis_store_is_shared(redis_url: str) -> None:
    shared_by_two(RedisStore(redis_url), clock_forgets=False)


def test_redis_forgets_by_itself(redis_url: str) -> None:
    store = RedisStore(redis_url)
    assert store.fail([("k", 1.0)], time.time()) == {"k": 1}
    assert store.fail([("k", 1.0)], time.time()) == {"k": 2}
    assert store.read(["k"], time.time())["k"][0] == 2
    time.sleep(2.1)  # the TTL (forget = 1 s) has run out
    assert store.read(["k"], time.time()) == {}
    assert store.fail([("k", 1.0)], time.time()) == {"k": 1}
