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

The lock is taken after the doses' ``updated_at`` is set, never before: a writer holding the
lock must not then wait for a dose row another writer holds while that writer waits for the
lock (PostgreSQL would abort one of them as a deadlock). Not yet covered: the group-commit
writer runs several jobs in one transaction, so a group that appended (and holds the lock)
may then update a dose that another transaction (an apply chunk) holds while it waits for
the lock; PostgreSQL aborts one of the two. Appending a group's changes at its end, as its
last statement, would close that.

Set-based paths (the dose path's group, the backlog import, ``reconcile apply``) use
:func:`append_doses`: one ``INSERT … SELECT`` from ``doses`` by id (or by ``client_uuid``),
which reads the dose's area and register person as stored, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, DateTime, String, cast, insert, literal, select, text, update
from sqlalchemy.orm import Session

from tiemchung.registry.models import Dose, Person
from tiemchung.registry.tables.changes import ACTIONS, RESOURCES, ChangeEntry
from tiemchung.store.bulk import keys_filter, keys_param

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


def _connection(conn: Connection | Session) -> Connection:
    """The connection of a Session, its pending changes flushed first: their row locks are
    taken before the log's lock (see the module's docstring), never after it at commit."""
    if isinstance(conn, Session):
        conn.flush()
        return conn.connection()
    return conn


def lock(conn: Any) -> None:
    """Serialise appends until the transaction ends (PostgreSQL; a no-op on SQLite)."""
    conn = _connection(conn)
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})


def append(conn: Any, changes: Sequence[Change], *, at: datetime | None = None) -> None:
    """Append ``changes`` in the caller's transaction (``conn``: a Connection or a Session);
    the caller commits. Dose changes other than ``created`` also set the doses' ``updated_at``,
    so FHIR's ``_lastUpdated`` and ``$export``'s ``_since`` see them."""
    if not changes:
        return
    conn = _connection(conn)
    when = at or datetime.now(UTC)
    touched = [
        int(c.resource_id)
        for c in changes
        if c.resource == "Immunization" and c.action != "created"
    ]
    if touched:  # before the lock: see the module's docstring
        # the ids as one parameter (store/bulk.py): a plain IN of 100,000 ids passes
        # SQLite's limit of bound parameters, and PostgreSQL plans each one
        dialect = conn.dialect.name
        conn.execute(
            update(Dose).where(keys_filter(Dose.id, dialect)).values(updated_at=when),
            {"keys": keys_param(touched, dialect)},
        )
    lock(conn)
    # vars(), not dataclasses.asdict: asdict deep-copies every field (4.7 s for 36,000
    # changes of a register re-check, more than their insert)
    conn.execute(insert(ChangeEntry), [{**vars(c), "at": when} for c in changes])


def append_doses(
    conn: Any,
    keys: Sequence[Any],
    *,
    action: str,
    source: str,
    by: str = "id",
    at: datetime | None = None,
) -> None:
    """Append one ``Immunization`` change per dose of ``keys`` (dose ids, or ``client_uuid``
    values with ``by="client_uuid"``) in one ``INSERT … SELECT``, in the caller's transaction:
    the set-based form of :func:`append` for thousands of doses at once. The person and area
    are read from the stored dose (after the caller's update), so they are what a partner
    re-reads. A change other than ``created`` also sets the doses' ``updated_at``."""
    if not keys:
        return
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    conn = _connection(conn)
    when = at or datetime.now(UTC)
    dialect = conn.dialect.name
    column = Dose.client_uuid if by == "client_uuid" else Dose.id
    where = keys_filter(column, dialect)
    params = {"keys": keys_param(list(keys), dialect)}
    if action != "created":
        conn.execute(update(Dose).where(where).values(updated_at=when), params)
    rows = (
        select(
            literal(when, DateTime(timezone=True)),
            literal("Immunization", String()),
            cast(Dose.id, String()),
            literal(action, String()),
            literal(source, String()),
            Person.person_id,
            Dose.area_ward_code,
            Dose.area_province_code,
        )
        .select_from(Dose.__table__.outerjoin(Person.__table__, Person.id == Dose.person_pk))
        .where(where)
        .order_by(Dose.id)
    )
    lock(conn)
    conn.execute(
        insert(ChangeEntry).from_select(
            [
                "at",
                "resource",
                "resource_id",
                "action",
                "source",
                "person_id",
                "ward_code",
                "province_code",
            ],
            rows,
        ),
        params,
    )
