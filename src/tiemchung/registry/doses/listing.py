"""Reading stored doses: the API's ``GET /doses`` (filtered, paged) and ``GET /doses/{id}``.

Every read goes through the caller's :meth:`~tiemchung.registry.scope.Actor.dose_filter`
(a site sees the doses given there, a commune or province those of its area, a citizen their
own), so a dose outside it answers as if it did not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from tiemchung.registry.doses.sql import DOSE_COLUMNS
from tiemchung.registry.models import Dose, Person
from tiemchung.registry.scope import Actor


@dataclass(frozen=True)
class DoseQuery:
    """The filters of ``GET /doses`` (each optional; all given ones apply)."""

    site_id: str | None = None
    person_id: str | None = None
    status: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    dose_id: int | None = None

    def where(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.dose_id is not None:
            where.append(Dose.id == self.dose_id)
        if self.site_id:
            where.append(Dose.site_id == self.site_id)
        if self.person_id:
            where.append(Person.person_id == self.person_id)
        if self.status:
            where.append(Dose.status == self.status)
        if self.date_from:
            where.append(Dose.dose_date >= self.date_from)
        if self.date_to:
            where.append(Dose.dose_date <= self.date_to)
        return where


def list_doses(
    session: Session, actor: Actor, query: DoseQuery, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """The doses of the caller's area matching ``query`` by ID, each as its stored columns
    (:data:`DOSE_COLUMNS`) and the linked register person's ``person_id``; and how many."""
    stmt = (
        select(Dose, Person.person_id)
        .outerjoin(Person, Dose.person_pk == Person.id)
        .where(actor.dose_filter(), *query.where())
    )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(stmt.order_by(Dose.id).limit(limit).offset(offset)).all()
    items = [{c: getattr(d, c) for c in DOSE_COLUMNS} | {"person_id": pid} for d, pid in rows]
    return items, int(total)


def get_dose(session: Session, actor: Actor, dose_id: int) -> dict[str, Any] | None:
    """One dose of the caller's area (as :func:`list_doses` gives it), None outside it."""
    items, _ = list_doses(session, actor, DoseQuery(dose_id=dose_id), limit=1, offset=0)
    return items[0] if items else None
