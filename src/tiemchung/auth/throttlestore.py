"""Where the throttles count: one small interface, three storages.

The policy (free failures, the warning, the doubling wait, per user+source and per source) is
written once in :mod:`tiemchung.auth.throttle`; it asks a :class:`ThrottleStore` only three
things — the live counts of some keys, one more failure for some keys, forget a key. Several
server processes (``tiemchung serve --workers N``) must share the count, else N workers give a
guesser N times the attempts, so the server counts in:

* the **database** (:class:`DatabaseStore`, the default): one upsert per failure for both of
  its keys, one select per check, on PostgreSQL and SQLite alike; a key's first failure also
  deletes the rows whose count is forgotten;
* **Redis** (:class:`RedisStore`) when ``TIEMCHUNG_REDIS_URL`` is set, through redis-py: a
  hash per key that Redis itself expires when its count is forgotten;
* **memory** (:class:`MemoryStore`) only where one process is the whole world: unit tests with
  a fake clock, an app built without a platform.

Keys reach a store as digests (:func:`digest`), so no storage holds a list of typed user
names or ID numbers.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tiemchung.registry.tables.throttles import ThrottleFailure

#: (failures in a row, epoch seconds of the last one) for a key whose count is not forgotten
State = tuple[int, float]


def digest(text: str) -> str:
    """A key as stored: its SHA-256, so the storage never holds the names it counts."""
    return hashlib.sha256(text.encode()).hexdigest()


class ThrottleStore(Protocol):
    """The throttle's storage adapter: what :class:`~tiemchung.auth.throttle.SignInThrottle`
    needs from any storage, and nothing of the policy."""

    def read(self, keys: Sequence[str], now: float) -> dict[str, State]:
        """The keys whose count is not forgotten at ``now``, with their state."""
        ...

    def fail(self, items: Sequence[tuple[str, float]], now: float) -> dict[str, int]:
        """One more failure at ``now`` for each ``(key, forget)``: a key forgotten by now
        starts again at 1, and is forgotten ``forget`` seconds after this failure. Returns
        the new counts."""
        ...

    def clear(self, key: str) -> None:
        """Forget a key (a success)."""
        ...


class MemoryStore:
    """Counts in this process only: a restart forgets, another worker does not see them."""

    LIMIT = 100_000  # keys kept before the forgotten ones are dropped (a spray of user names)

    def __init__(self) -> None:
        self._state: dict[str, tuple[int, float, float]] = {}  # key -> (count, last, expires)
        self._lock = threading.Lock()

    def read(self, keys: Sequence[str], now: float) -> dict[str, State]:
        with self._lock:
            found = {k: self._state[k] for k in keys if k in self._state}
        return {k: (v[0], v[1]) for k, v in found.items() if v[2] > now}

    def fail(self, items: Sequence[tuple[str, float]], now: float) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self._lock:
            for key, forget in items:
                old = self._state.get(key)
                count = old[0] + 1 if old is not None and old[2] > now else 1
                self._state[key] = (count, now, now + forget)
                counts[key] = count
            if len(self._state) > self.LIMIT:
                self._state = {k: v for k, v in self._state.items() if v[2] > now}
        return counts

    def clear(self, key: str) -> None:
        with self._lock:
            self._state.pop(key, None)


class DatabaseStore:
    """Counts in ``throttle_failures``, which every server process shares.

    A failure is one statement for both keys (a multi-row upsert that returns the counts), so
    two workers counting the same key at once both count: the row lock orders them."""

    def __init__(self, sessions: Callable[[], Session]) -> None:
        self.sessions = sessions

    def read(self, keys: Sequence[str], now: float) -> dict[str, State]:
        table = ThrottleFailure
        query = select(table.key, table.failures, table.last_at).where(
            table.key.in_(list(keys)), table.expires_at > now
        )
        with self.sessions() as s:
            return {key: (int(n), float(last)) for key, n, last in s.execute(query)}

    def fail(self, items: Sequence[tuple[str, float]], now: float) -> dict[str, int]:
        table = ThrottleFailure
        with self.sessions() as s:
            s.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            insert = (
                postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert
            )
            rows = [
                {"key": k, "failures": 1, "last_at": now, "expires_at": now + forget}
                for k, forget in items
            ]
            stmt = insert(table).values(rows)
            upsert = stmt.on_conflict_do_update(
                index_elements=[table.key],
                set_={
                    "failures": case(
                        (table.expires_at <= stmt.excluded.last_at, 1),
                        else_=table.failures + 1,
                    ),
                    "last_at": stmt.excluded.last_at,
                    "expires_at": stmt.excluded.expires_at,
                },
            ).returning(table.key, table.failures)
            counts = {key: int(n) for key, n in s.execute(upsert)}
            if 1 in counts.values():  # a new key: the forgotten ones are done with
                s.execute(delete(table).where(table.expires_at <= now))
            s.commit()
        return counts

    def clear(self, key: str) -> None:
        with self.sessions() as s:
            s.execute(delete(ThrottleFailure).where(ThrottleFailure.key == key))
            s.commit()


class RedisStore:
    """Counts in Redis (``TIEMCHUNG_REDIS_URL``): a hash ``{n, last}`` per key, given a TTL
    of the throttle's ``forget`` at each failure, so Redis forgets the count itself."""

    PREFIX = "tiemchung:throttle:"

    def __init__(self, url: str, client: Any = None) -> None:
        if client is None:
            import redis  # the optional extra ``tiemchung[redis]``

            client = redis.Redis.from_url(url, socket_timeout=2.0)
        self.redis = client

    def read(self, keys: Sequence[str], now: float) -> dict[str, State]:
        pipe = self.redis.pipeline(transaction=False)
        for key in keys:
            pipe.hmget(self.PREFIX + key, "n", "last")
        found: dict[str, State] = {}
        for key, (n, last) in zip(keys, pipe.execute(), strict=True):
            if n is not None and last is not None:
                found[key] = (int(n), float(last))
        return found

    def fail(self, items: Sequence[tuple[str, float]], now: float) -> dict[str, int]:
        pipe = self.redis.pipeline(transaction=True)  # MULTI/EXEC: count, stamp, expire
        for key, forget in items:
            name = self.PREFIX + key
            pipe.hincrby(name, "n", 1)
            pipe.hset(name, "last", repr(now))
            pipe.expire(name, max(1, math.ceil(forget)))
        replies = pipe.execute()
        return {key: int(replies[3 * i]) for i, (key, _) in enumerate(items)}

    def clear(self, key: str) -> None:
        self.redis.delete(self.PREFIX + key)


def shared_store(state: Any) -> ThrottleStore:
    """The server process's one store, kept on the app's ``state``: Redis when the settings
    name one, else the platform's database, else (an app without a platform) memory. Made on
    first use with no await in between, so two requests cannot make two."""
    found = getattr(state, "throttle_store", None)
    if found is None:
        platform = getattr(state, "platform", None)
        if platform is None:
            found = MemoryStore()
        elif platform.settings.redis_url:
            found = RedisStore(platform.settings.redis_url)
        else:
            found = DatabaseStore(platform.sessions)
        state.throttle_store = found
    return found  # type: ignore[no-any-return]
