"""Requests a minute per key, counted in the database so that every server process shares
the count (issue 19's per-client limits; a shared throttle issue 20 can reuse).

A fixed window per minute (``rate_counters``, :mod:`tiemchung.registry.tables.throttles`):
one upsert adds the request and returns the window's count, so two processes never both take
the last request of a minute. A fixed window lets a client burst up to twice its rate across
the turn of a minute; the limit is a brake on a runaway partner, not an accounting, and one
statement per request is what keeps it cheap. Why not the ``limits`` library: its shared
storages are Redis, Memcached and MongoDB, none of which this platform runs; the database is
the one store every process already shares.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tiemchung.registry.tables.throttles import RateCounter

WINDOW_S = 60


@dataclass(frozen=True)
class Decision:
    """One request counted: whether it may go on, the count so far this minute, and the
    seconds until the window turns (what ``Retry-After`` says when it may not)."""

    allowed: bool
    count: int
    retry_after: int


def hit(session: Session, key: str, limit: int, now: float) -> Decision:
    """Count one request of ``key`` at ``now`` (epoch seconds) against ``limit`` a minute,
    and commit it (the count must hold whatever the request does next)."""
    window = int(now // WINDOW_S)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    upsert = (
        insert(RateCounter)
        .values(key=key, window=window, count=1)
        .on_conflict_do_update(
            index_elements=[RateCounter.key, RateCounter.window],
            set_={"count": RateCounter.count + 1},
        )
        .returning(RateCounter.count)
    )
    count = int(session.execute(upsert).scalar_one())
    if count == 1:  # the key's first request this minute: its older windows are done with
        session.execute(
            delete(RateCounter).where(RateCounter.key == key, RateCounter.window < window)
        )
    session.commit()
    left = max(1, math.ceil((window + 1) * WINDOW_S - now))
    return Decision(allowed=count <= limit, count=count, retry_after=left)
