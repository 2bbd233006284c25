"""Shared request counters: one row per key and minute, so every server process counts the
same requests (issue 19's per-client rate limits; issue 20's throttles may count here too).

A fixed window per minute keyed by a string (``client:<client_id>``): the check is one
upsert that returns the new count, so two processes never both see room for the last
request. Windows older than the current one are deleted by the key's first request of a
new minute, so the table holds about one row per active key.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tiemchung.registry.models import Base


class RateCounter(Base):
    """Requests counted for one key in one window (``window``: minutes since the epoch)."""

    __tablename__ = "rate_counters"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    window: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
