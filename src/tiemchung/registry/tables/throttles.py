"""Shared request counters: one row per key and minute, so every server process counts the
same requests (issue 19's per-client rate limits), and the failures the sign-in and look-up
throttles count, so every process brakes the same guesser (issue 20).

A fixed window per minute keyed by a string (``client:<client_id>``): the check is one
upsert that returns the new count, so two processes never both see room for the last
request. Windows older than the current one are deleted by the key's first request of a
new minute, so the table holds about one row per active key.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tiemchung.registry.models import Base


class RateCounter(Base):
    """Requests counted for one key in one window (``window``: minutes since the epoch)."""

    __tablename__ = "rate_counters"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    window: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class ThrottleFailure(Base):
    """Failures in a row for one throttle key (:mod:`tiemchung.auth.throttlestore`): a digest
    of the throttle's name and its user name (or ID number) and source, never the name itself.

    ``expires_at`` is when the count is forgotten (the last failure plus the throttle's
    ``forget``); a failure after it starts again at 1, and rows past it are deleted by the
    next new key's first failure (the index keeps that delete short)."""

    __tablename__ = "throttle_failures"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float, index=True)
