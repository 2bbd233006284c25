"""The next dose due, for everyone at once: one set-based statement, never a loop per person.

The rule is the desk's (``registry/doses/verify.next_dose`` over ``rules.earliest_date``): the
next dose is number N+1 after the highest recorded dose N (its latest date among equals), due
from that dose's date plus the interval of its product before dose N+1 — the product's own
within its primary series, at least ``vaccines.BOOSTER_MIN_INTERVAL_DAYS`` past it
(``vaccines.min_interval_before``). Written here as SQL so that 100,000s of people are one
query; ``tests/registry/test_invitations_due.py`` runs it against ``verify.next_dose`` person
by person.

What counts as "due" for a list or a reminder: the doses of the primary series and
``BOOSTERS_DUE`` booster after it (a further booster is the desk's suggestion, not a defaulter);
double entries (status ``duplicate``) are not doses given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from tiemchung.vaccines import BOOSTER_MIN_INTERVAL_DAYS

#: boosters after the primary series that are still "due" (listed, reminded)
BOOSTERS_DUE = 1


def _plus_days(dialect: str, day: str, days: str) -> str:
    """``day`` + ``days`` (an integer expression) as a date, in the dialect's words."""
    if dialect == "postgresql":
        return f"({day} + ({days}))"
    return f"date({day}, '+' || ({days}) || ' days')"


def next_due_sql(dialect: str, person_where: str = "TRUE") -> str:
    """A SELECT of ``person_pk, next_number, product_code, last_date, due_date`` for every
    person with a dose and a next dose still due; ``person_where`` narrows the doses read
    (a condition on ``d.person_pk``, e.g. the persons of one ward), so a ward's list never
    reads the country's doses."""
    interval = (
        "CASE WHEN l.dose_number + 1 > p.primary_doses THEN "
        f"CASE WHEN p.min_interval_days > {BOOSTER_MIN_INTERVAL_DAYS} "
        f"THEN p.min_interval_days ELSE {BOOSTER_MIN_INTERVAL_DAYS} END "
        "ELSE p.min_interval_days END"
    )
    where = "1 = 1" if person_where == "TRUE" else person_where
    return f"""
        SELECT l.person_pk, l.dose_number + 1 AS next_number, l.product_code,
               l.dose_date AS last_date,
               {_plus_days(dialect, "l.dose_date", interval)} AS due_date
        FROM (
            SELECT d.person_pk, d.dose_number, d.dose_date, d.product_code,
                   ROW_NUMBER() OVER (
                       PARTITION BY d.person_pk ORDER BY d.dose_number DESC, d.dose_date DESC
                   ) AS rn
            FROM doses d
            WHERE d.person_pk IS NOT NULL AND d.status <> 'duplicate' AND ({where})
        ) l
        JOIN products p ON p.code = l.product_code
        WHERE l.rn = 1 AND l.dose_number + 1 <= p.primary_doses + {BOOSTERS_DUE}
    """


def as_date(value: Any) -> date:
    """A date the database gave back (SQLite's ``date()`` answers text)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


@dataclass(frozen=True)
class Due:
    """A person's next dose due."""

    person_id: int
    next_number: int
    product_code: str
    last_date: date
    due_date: date


def next_due(session: Session, person_ids: list[int] | None = None) -> dict[int, Due]:
    """The next dose due of ``person_ids`` (everyone when None), by person id."""
    dialect = session.get_bind().dialect.name
    where = "TRUE"
    params: dict[str, Any] = {}
    if person_ids is not None:
        if not person_ids:
            return {}
        keys = ", ".join(f":p{i}" for i in range(len(person_ids)))
        where = f"d.person_pk IN ({keys})"
        params = {f"p{i}": pid for i, pid in enumerate(person_ids)}
    rows = session.execute(text(next_due_sql(dialect, where)), params).all()
    return {
        r.person_pk: Due(
            r.person_pk, r.next_number, r.product_code, as_date(r.last_date), as_date(r.due_date)
        )
        for r in rows
    }
