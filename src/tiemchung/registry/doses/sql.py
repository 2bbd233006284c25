"""The statements the dose path (registry/doses/record.py) runs, in each database's SQL.

Reading: the doses already stored under some client UUIDs, and the candidate register
persons of a call with their stored doses, each one statement whatever the number of keys —
the keys travel as one parameter (an array on PostgreSQL, a JSON array read by
``json_each`` on SQLite). Writing: the dose rows, their audit events and the worklist items
of unverified doses, each one statement (on PostgreSQL one set-based insert of a JSON array,
on SQLite one executemany). Both tricks live in store/bulk.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from functools import cache
from operator import itemgetter
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, Row, select

from tiemchung.registry.doses import entry as entry_review
from tiemchung.registry.doses import rules as dose_rules
from tiemchung.registry.models import AuditEvent, Dose, Person, ReviewItem
from tiemchung.registry.scope import Actor
from tiemchung.store import bulk

#: The columns of a stored dose that an answer carries, in order (record.py and listing.py).
DOSE_COLUMNS = (
    "id",
    "client_uuid",
    "record_id",
    "person_pk",
    "national_id",
    "full_name",
    "dob",
    "sex",
    "phone",
    "ward_code",
    "address",
    "product_code",
    "lot_id",
    "dose_number",
    "dose_date",
    "site_id",
    "session_id",
    "entered_by",
    "status",
    "area_ward_code",
    "area_province_code",
)


@cache
def _replay_select(dialect: str) -> Any:
    """The stored doses of some client UUIDs, with their linked person's ID (built once)."""
    return _REPLAY_SELECT.where(bulk.keys_filter(_DOSES.c.client_uuid, dialect))


def stored_doses(conn: Connection, uuids: Collection[uuid.UUID]) -> dict[uuid.UUID, Row[Any]]:
    """The doses already stored under these client UUIDs, by UUID.

    A Core statement rather than raw SQL: the replayed dose is answered as stored, with
    the UUID and date types converted back as SQLAlchemy stores them on each database.
    """
    dialect = conn.dialect.name
    rows = conn.execute(_replay_select(dialect), {"keys": bulk.keys_param(uuids, dialect)})
    return {r.client_uuid: r for r in rows}


_DOSES = Dose.__table__
_REPLAY_SELECT = select(
    *(_DOSES.c[c] for c in DOSE_COLUMNS),
    _DOSES.c.submission_hash,
    Person.__table__.c.person_id.label("linked_person_id"),
).select_from(_DOSES.outerjoin(Person.__table__, _DOSES.c.person_pk == Person.__table__.c.id))


_DOSE_INSERT_COLUMNS = (*DOSE_COLUMNS[1:], "submission_hash")
_DATE_AT = _DOSE_INSERT_COLUMNS.index("dose_date")
_insert_values = itemgetter(*_DOSE_INSERT_COLUMNS)
_DOSES_TABLE = Dose.__tablename__
_AUDIT_TABLE = AuditEvent.__tablename__
_AUDIT_INSERT_COLUMNS = ("user_id", "username", "action", "entity", "entity_id", "detail")
_REVIEW_TABLE = ReviewItem.__tablename__


def _driver_row(row: dict[str, Any], sqlite: bool) -> tuple[Any, ...]:
    """A dose row's values as the driver takes them: on SQLite the UUID as the 32-digit hex
    and the date as ISO text, exactly what SQLAlchemy's Uuid and Date types store there."""
    values = list(_insert_values(row))
    if sqlite:
        values[0] = row["client_uuid"].hex
        values[_DATE_AT] = row["dose_date"].isoformat()
    return tuple(values)


def insert_doses(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert dose rows; their ids, in order.

    PostgreSQL: one set-based INSERT ... RETURNING (:func:`tiemchung.store.bulk.insert_json`);
    the ids are matched back by UUID, as RETURNING's row order is not promised. SQLite: a plain
    executemany, then the ids by UUID, the UUIDs travelling as one JSON array parameter
    rather than a thousand placeholders.
    """
    if conn.dialect.name == "postgresql":
        found = bulk.insert_json(
            conn, _DOSES_TABLE, _DOSE_INSERT_COLUMNS, rows, " RETURNING client_uuid, id"
        )
        id_of: dict[Any, int] = dict(found.all())
        return [id_of[r["client_uuid"]] for r in rows]
    sqlite = conn.dialect.name == "sqlite"
    driver_rows = [_driver_row(r, sqlite) for r in rows]
    bulk.insert_tuples(conn, _DOSES_TABLE, _DOSE_INSERT_COLUMNS, driver_rows)
    dialect = conn.dialect.name
    keys = [r["client_uuid"].hex if sqlite else r["client_uuid"] for r in rows]
    found = conn.exec_driver_sql(
        f"SELECT client_uuid, id FROM doses WHERE client_uuid {bulk.in_keys_sql(dialect)}",
        (bulk.keys_param(keys, dialect),),
    )
    id_of = dict(found.all())
    return [id_of[k] for k in keys]


def insert_audit(
    conn: Connection, created: list[tuple[Actor, dict[str, Any]]], ids: list[int]
) -> None:
    """One ``dose.create`` audit event per stored dose, all in one statement."""
    if conn.dialect.name == "postgresql":
        bulk.insert_json(
            conn,
            _AUDIT_TABLE,
            _AUDIT_INSERT_COLUMNS,
            [
                {
                    "user_id": actor.user_id,
                    "username": actor.username,
                    "action": "dose.create",
                    "entity": "dose",
                    "entity_id": str(dose_id),
                    "detail": {"site_id": row["site_id"], "status": row["status"]},
                }
                for (actor, row), dose_id in zip(created, ids, strict=True)
            ],
        )
        return
    bulk.insert_tuples(
        conn,
        _AUDIT_TABLE,
        _AUDIT_INSERT_COLUMNS,
        [
            (
                actor.user_id,
                actor.username,
                "dose.create",
                "dose",
                str(dose_id),
                bulk.json_text({"site_id": row["site_id"], "status": row["status"]}),
            )
            for (actor, row), dose_id in zip(created, ids, strict=True)
        ],
    )


# The columns the rules need, fetched as plain rows: hydrating ORM objects for a thousand
# candidates cost a fifth of a batch.
class PersonRow(NamedTuple):
    """A candidate register person: the columns the link rule, the worklist item of an
    unverified dose and identity_agrees read (a plain tuple: reading a SQLAlchemy Row's
    attributes cost seven times as much, eight reads a dose)."""

    id: int
    person_id: str
    national_id: str | None
    old_id: str | None
    full_name: str
    dob: str | None
    sex: str | None
    ward_code: str | None
    province_code: str | None


_PERSON_COLUMNS = PersonRow._fields
_make_person = PersonRow._make


#: Stored doses per register person (``("pk", id)``) and per typed ID of doses not linked
#: (``("id", national_id)``): dose number -> (date, product).
History = dict[tuple[str, Any], dict[int, tuple[date, str]]]


@dataclass
class Persons:
    by_person_id: dict[str, PersonRow]
    by_any_id: dict[str, list[PersonRow]]


def _dialect_sql(dialect: str) -> tuple[str, str, str, str]:
    """(``IN`` the ids, ``IN`` the person_ids, the ids as a table ``k(nid)``, a dose
    history aggregate) in the dialect's SQL; the keys travel as one parameter each."""
    agg = (
        "json_agg(json_build_array(d.dose_number, d.dose_date, d.product_code))::text"
        if dialect == "postgresql"
        else "json_group_array(json_array(d.dose_number, d.dose_date, d.product_code))"
    )
    return (
        bulk.in_keys_sql(dialect, "ids"),
        bulk.in_keys_sql(dialect, "pids"),
        bulk.keys_table_sql(dialect, "ids", "nid", "k"),
        agg,
    )


@cache
def _prefetch_sql(dialect: str) -> str:
    """One statement for what the link and sequence rules read: the candidate persons (by
    typed ID, 12-digit or old, and by chosen person_id), each with its stored doses as one
    JSON array of ``[number, date, product]``.

    Each person key has its own index lookup inside the UNION rather than an OR of IN lists,
    so each uses its index on a 100M-person register instead of inviting a sequential scan.
    A person's doses are read by a correlated subquery, one index probe per person whatever
    the planner's statistics say: as a join, PostgreSQL planned the doses table from
    statistics taken before the last import or busy hour and sorted the whole table on every
    batch (40 ms a batch at 60,000 doses). The same stale statistics cost these probes high
    enough for JIT compilation, which the writer turns off (store/writer.py).
    """
    ids, pids, _keys, agg = _dialect_sql(dialect)
    cols = ", ".join(_PERSON_COLUMNS)
    person = f"SELECT {cols} FROM persons WHERE"
    return (
        f"WITH p AS ({person} national_id {ids} UNION {person} old_id {ids} "
        f"UNION {person} person_id {pids}) "
        f"SELECT p.*, (SELECT {agg} FROM doses d WHERE d.person_pk = p.id) FROM p"
    )


@cache
def _unlinked_sql(dialect: str) -> str:
    """The stored doses linked to no one, per typed ID: one index probe per ID. On SQLite
    ``+d.person_pk IS NULL`` keeps the probe on the national_id index rather than walking
    every unlinked dose of the person_pk index."""
    _ids, _pids, keys, agg = _dialect_sql(dialect)
    return (
        f"SELECT k.nid, (SELECT {agg} FROM doses d "
        f"WHERE d.national_id = k.nid AND +d.person_pk IS NULL) FROM {keys}"
    )


def _doses_of(history_json: str | None) -> dict[int, tuple[date, str]] | None:
    """A history aggregate of :func:`_dialect_sql` as dose number -> (date, product)."""
    if not history_json or history_json == "[]":
        return None
    return {
        number: (date.fromisoformat(when), product)
        for number, when, product in orjson.loads(history_json)
    }


def prefetch_persons(
    conn: Connection, ids: set[str], pids: set[str], dialect: str
) -> tuple[Persons, History]:
    """The register persons carrying the typed IDs ``ids`` (12-digit or old) or chosen by
    person_id (``pids``), and their stored doses, in one round trip (see
    :func:`_prefetch_sql`)."""
    persons = Persons({}, {})
    history: History = {}
    if not ids and not pids:
        return persons, history
    keys = {"ids": bulk.keys_param(ids, dialect), "pids": bulk.keys_param(pids, dialect)}
    by_pid, by_any = persons.by_person_id, persons.by_any_id
    for row in conn.exec_driver_sql(_prefetch_sql(dialect), keys).all():
        person = _make_person(row[:-1])
        by_pid[person.person_id] = person
        national_id, old_id = person.national_id, person.old_id
        if national_id is not None:
            by_any.setdefault(national_id, []).append(person)
        if old_id is not None and old_id != national_id:
            by_any.setdefault(old_id, []).append(person)
        doses = _doses_of(row[-1])
        if doses is not None:
            history[("pk", person.id)] = doses
    return persons, history


def unlinked_history(conn: Connection, national_ids: set[str], dialect: str) -> History:
    """Stored doses not linked to anyone, per typed ID: read only for the doses of this
    call that link to no one, the only ones whose sequence is checked against them."""
    keys = {"ids": bulk.keys_param(national_ids, dialect)}
    rows = conn.exec_driver_sql(_unlinked_sql(dialect), keys)
    history: History = {}
    for national_id, history_json in rows:
        doses = _doses_of(history_json)
        if doses is not None:
            history[("id", national_id)] = doses
    return history


def insert_review(conn: Connection, items: list[dict[str, Any]]) -> None:
    """The worklist items of unverified doses (entry_review.item_row, carrying their dose-rule
    warnings) and of verified doses with warnings (dose_rules.item_row), in one statement."""
    if conn.dialect.name == "postgresql":
        bulk.insert_json(conn, _REVIEW_TABLE, entry_review.ITEM_COLUMNS, items)
        return
    bulk.insert_tuples(
        conn,
        _REVIEW_TABLE,
        entry_review.ITEM_COLUMNS,
        entry_review.item_tuples(items, bulk.json_text),
    )


def stored_warnings(conn: Connection, dose_ids: list[int]) -> dict[int, list[str]]:
    """The explanation segments stored with these doses' entry items (``unverified`` items
    carry the warnings after their reason, ``dose_check`` items are nothing else), by dose id,
    in the order they were written (read only when a retry replays a stored dose); the caller
    keeps the segments that are dose-rule warnings."""
    if not dose_ids:
        return {}
    items = ReviewItem.__table__.c
    rows = conn.execute(
        select(items.dose_id, items.explanation)
        .where(
            items.dose_id.in_(dose_ids),
            items.kind.in_((dose_rules.DOSE_CHECK, "unverified")),
        )
        .order_by(items.id)
    )
    found: dict[int, list[str]] = {}
    for dose_id, explanation in rows:
        found.setdefault(dose_id, []).extend((explanation or "").split("; "))
    return found
