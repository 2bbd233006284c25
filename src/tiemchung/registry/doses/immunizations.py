"""Doses read for partner systems (the FHIR ``Immunization`` search): keyset-paged, with the
lot, the product and the site each dose names, scoped by the caller's
:meth:`~tiemchung.registry.scope.Actor.dose_filter` exactly as ``GET /doses``.

Keyset, not offset: a partner walking a province's doses page by page costs the same on the
last page as on the first, and a dose stored meanwhile never shifts a page (the cursor is the
last dose id seen).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from tiemchung.registry.models import Dose, Lot, Person, Product, Site
from tiemchung.registry.scope import Actor


#: when a dose last changed: its storing, or the last change the change log recorded
#: (``registry/changes/log.append`` sets ``updated_at``): ``_lastUpdated`` and
#: ``meta.lastUpdated`` both read this, so a corrected dose is seen again by a partner
LAST_UPDATED = func.coalesce(Dose.updated_at, Dose.created_at)


@dataclass(frozen=True)
class ImmunizationQuery:
    """The search's filters (each optional; all given ones apply)."""

    person_id: str | None = None
    dose_id: int | None = None
    date_ge: date | None = None
    date_le: date | None = None
    updated_gt: datetime | None = None
    after_id: int = 0  # the keyset cursor: doses with a larger id

    def where(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = [Dose.id > self.after_id]
        if self.person_id is not None:
            where.append(Person.person_id == self.person_id)
        if self.dose_id is not None:
            where.append(Dose.id == self.dose_id)
        if self.date_ge is not None:
            where.append(Dose.dose_date >= self.date_ge)
        if self.date_le is not None:
            where.append(Dose.dose_date <= self.date_le)
        if self.updated_gt is not None:
            where.append(LAST_UPDATED > self.updated_gt)
        return where


#: what each row carries (the dose's own columns, then what it names)
COLUMNS = (
    "id",
    "status",
    "dose_number",
    "dose_date",
    "created_at",
    "updated_at",
    "site_id",
    "product_code",
)


def search_immunizations(
    session: Session, actor: Actor, query: ImmunizationQuery, *, limit: int
) -> list[dict[str, Any]]:
    """Up to ``limit`` doses of the caller's area matching ``query``, in id order, each a
    dict of :data:`COLUMNS` plus ``person_id``, ``lot_number``, ``expiry``, ``site_name``,
    ``product_name`` and the EU DCC codes ``mp``, ``vp``, ``ma``."""
    stmt = (
        select(
            Dose,
            Person.person_id,
            Lot.lot_number,
            Lot.expiry,
            Site.name,
            Product.name,
            Product.mp,
            Product.vp,
            Product.ma,
        )
        .outerjoin(Person, Dose.person_pk == Person.id)
        .outerjoin(Lot, Dose.lot_id == Lot.id)
        .join(Site, Dose.site_id == Site.site_id)
        .join(Product, Dose.product_code == Product.code)
        .where(actor.dose_filter(), *query.where())
        .order_by(Dose.id)
        .limit(limit)
    )
    out = []
    for dose, pid, lot, expiry, site, pname, mp, vp, ma in session.execute(stmt).all():
        row = {c: getattr(dose, c) for c in COLUMNS}
        row.update(
            person_id=pid,
            lot_number=lot,
            expiry=expiry,
            site_name=site,
            product_name=pname,
            mp=mp,
            vp=vp,
            ma=ma,
        )
        out.append(row)
    return out
