"""The rows a bulk export reads, streamed: persons and doses of the caller's area (and the
Group's, and changed after ``_since``), in chunks of plain tuples.

Plain Core selects of the needed columns, not ORM objects: an export of a million persons
builds no identity map and keeps one chunk in memory (a server-side cursor on PostgreSQL).
The dose rows name their lot, site and product by key; those small tables are read once
(:func:`reference_maps`) instead of joined on every row.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from tiemchung.registry.models import Dose, Lot, Person, Product, Site
from tiemchung.registry.scope import Actor
from tiemchung.registry.tables.registrations import PriorityGroup, Registration

#: rows fetched at a time: large enough that the per-chunk cost vanishes, small enough that
#: memory stays flat
CHUNK = 5_000

#: a Patient row's columns, in this order
PERSON_COLUMNS = (
    "person_id",
    "national_id",
    "old_id",
    "full_name",
    "dob",
    "sex",
    "ward_code",
    "province_code",
    "address",
    "phone",
    "updated_at",
)
#: an Immunization row's columns, in this order (``person_id``: the linked register person)
DOSE_COLUMNS = (
    "id",
    "status",
    "dose_number",
    "dose_date",
    "created_at",
    "site_id",
    "product_code",
    "lot_id",
    "person_id",
    "updated_at",
    "priority_group",
)


@dataclass(frozen=True)
class ExportScope:
    """What an export covers: the caller's area, narrowed to one ward or province (a Group)
    and to what changed after ``since``."""

    actor: Actor
    group_kind: str | None = None  # "ward" | "province"
    group_code: str | None = None
    since: datetime | None = None

    def person_where(self) -> list[ColumnElement[bool]]:
        where = [self.actor.person_filter()]
        if self.group_kind == "ward":
            where.append(Person.ward_code == self.group_code)
        elif self.group_kind == "province":
            where.append(Person.province_code == self.group_code)
        if self.since is not None:
            where.append(Person.updated_at > self.since)
        return where

    def dose_where(self) -> list[ColumnElement[bool]]:
        """The area's doses: a dose belongs where its person lives once linked, else where
        it was entered (``area_*``), as every dose list reads it."""
        where = [self.actor.dose_filter()]
        if self.group_kind == "ward":
            where.append(Dose.area_ward_code == self.group_code)
        elif self.group_kind == "province":
            where.append(Dose.area_province_code == self.group_code)
        if self.since is not None:
            where.append(func.coalesce(Dose.updated_at, Dose.created_at) > self.since)
        return where


def _stream(session: Session, stmt: Any) -> Iterator[Sequence[Any]]:
    """The statement's rows in chunks. On PostgreSQL through psycopg's own server-side cursor
    (plain tuples: SQLAlchemy's rows cost twice the fetch, measured by bench/fhir_export.py),
    elsewhere through SQLAlchemy's streamed result."""
    conn = session.connection()
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        compiled = stmt.compile(dialect=conn.dialect)
        raw = conn.connection.driver_connection
        with raw.cursor(name="tiemchung_export") as cur:  # type: ignore[union-attr]
            cur.itersize = CHUNK
            cur.execute(str(compiled), compiled.params)
            while rows := cur.fetchmany(CHUNK):
                yield rows
        return
    result = conn.execution_options(stream_results=True, yield_per=CHUNK)
    yield from result.execute(stmt).partitions(CHUNK)


def person_rows(session: Session, scope: ExportScope) -> Iterator[Sequence[Any]]:
    """The scope's persons, :data:`PERSON_COLUMNS` per row, in chunks."""
    cols = [getattr(Person, c) for c in PERSON_COLUMNS]
    return _stream(session, select(*cols).where(*scope.person_where()))


def dose_rows(session: Session, scope: ExportScope) -> Iterator[Sequence[Any]]:
    """The scope's doses, :data:`DOSE_COLUMNS` per row, in chunks (the person's register id
    by an outer join: an unlinked dose has none)."""
    cols = [getattr(Dose, c) for c in DOSE_COLUMNS[:8]] + [
        Person.person_id,
        Dose.updated_at,
        Registration.priority_group,
    ]
    # the person's live registration names the priority group (reasonCode), as the search's
    # registry/doses/immunizations reads it: one active registration per person at most
    active = and_(Registration.person_id == Dose.person_pk, Registration.status == "active")
    stmt = (
        select(*cols)
        .outerjoin(Person, Dose.person_pk == Person.id)
        .outerjoin(Registration, active)
        .where(*scope.dose_where())
    )
    return _stream(session, stmt)


@dataclass(frozen=True)
class ReferenceMaps:
    """The small tables a dose names, by key: lot id → (number, expiry); site id → (name,
    kind, ward, province); product code → (name, mp, vp, ma); priority group → (vi, en)."""

    lots: dict[int, tuple[str, Any]]
    sites: dict[str, tuple[str, str, str, str]]
    products: dict[str, tuple[str, str, str, str]]
    groups: dict[str, tuple[str, str]]


def reference_maps(session: Session) -> ReferenceMaps:
    lots = {i: (n, e) for i, n, e in session.execute(select(Lot.id, Lot.lot_number, Lot.expiry))}
    sites = {
        i: (n, k, w, p)
        for i, n, k, w, p in session.execute(
            select(Site.site_id, Site.name, Site.kind, Site.ward_code, Site.province_code)
        )
    }
    groups = {
        c: (vi, en)
        for c, vi, en in session.execute(
            select(PriorityGroup.code, PriorityGroup.name_vi, PriorityGroup.name_en)
        )
    }
    products = {
        c: (n, mp, vp, ma)
        for c, n, mp, vp, ma in session.execute(
            select(Product.code, Product.name, Product.mp, Product.vp, Product.ma)
        )
    }
    return ReferenceMaps(lots, sites, products, groups)
