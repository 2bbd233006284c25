"""Appending to the change log, in the transaction of the change.

The partners' cursor is ``changes.seq``: a partner that has read up to ``seq = N`` asks for
``after=N`` and must never miss a row. On SQLite one writer at a time makes ``seq`` grow in
commit order by itself. On PostgreSQL a sequence hands out numbers at insert time, so two
concurrent transactions can commit out of order (41 committed, 40 still open): a reader that
saw 41 and moved its cursor would skip 40 forever. ``append`` therefore takes a transaction-
scoped advisory lock first: appends to the log are serialised until their transaction ends,
and numbers are handed out in commit order. The lock is held only by writers of changes, one
short statement before their commit (the dose path appends a whole group commit's changes at
once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, text, update

from tiemchung.registry.models import Dose
from tiemchung.registry.tables.changes import ACTIONS, RESOURCES, ChangeEntry
from tiemchung.store import bulk

#: The advisory lock's key: any constant no other part of the platform uses ("TCCH").
LOCK_KEY = 0x54434348


@dataclass(frozen=True)
class Change:
    """One change to append; see ``registry/tables/changes.py`` for the columns' meaning."""

    resource: str
    resource_id: str
    action: str
    source: str
    person_id: str | None = None
    ward_code: str | None = None
    province_code: str | None = None

    def __post_init__(self) -> None:
        if self.resource not in RESOURCES:
            raise ValueError(f"unknown resource {self.resource!r}")
        if self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}")


def _dialect(conn: Any) -> str:
    """A Connection's dialect, or a Session's (which has none of its own)."""
    return str((conn if hasattr(conn, "dialect") else conn.get_bind()).dialect.name)


def lock(conn: Any) -> None:
    """Serialise appends until the transaction ends (PostgreSQL; a no-op on SQLite)."""
    if _dialect(conn) == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})


def append(conn: Any, changes: Sequence[Change], *, at: datetime | None = None) -> None:
    """Append ``changes`` in the caller's transaction (``conn``: a Connection or a Session);
    the caller commits. Dose changes other than ``created`` also set the doses' ``updated_at``,
    so FHIR's ``_lastUpdated`` and ``$export``'s ``_since`` see them."""
    if not changes:
        return
    when = at or datetime.now(UTC)
    lock(conn)
    # vars(), not dataclasses.asdict: asdict deep-copies every field (4.7 s for 36,000
    # changes of a register re-check, more than their insert)
    conn.execute(insert(ChangeEntry), [{**vars(c), "at": when} for c in changes])
    touched = [
        int(c.resource_id)
        for c in changes
        if c.resource == "Immunization" and c.action != "created"
    ]
    if touched:
        # the ids as one parameter (store/bulk.py): a plain IN of 100,000 ids passes
        # SQLite's limit of bound parameters, and PostgreSQL plans each one
        dialect = _dialect(conn)
        conn.execute(
            update(Dose).where(bulk.keys_filter(Dose.id, dialect)).values(updated_at=when),
            {"keys": bulk.keys_param(touched, dialect)},
        )
