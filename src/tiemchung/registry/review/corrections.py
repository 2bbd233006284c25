"""Linking a dose record to its register person and correcting its fields, with the trail.

Every path that settles a dose record — an applied reconciliation run (``source="automatic"``),
a commune decision on a worklist item (``"review"``), a citizen's ticket (``"citizen"``) — goes
through :func:`link_dose`, so a changed field is always one ``corrections`` row (old value, new
value, who, why, which run, the evidence) plus one audit event, in the same transaction.

The person's decision is final: :func:`decided_by_person` tells a later automatic run to leave
the dose alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from tiemchung.registry.doses.record import UNVERIFIED, VERIFIED
from tiemchung.registry.models import Correction, Dose, Person
from tiemchung.registry.scope import Actor
from tiemchung.store.audit import audit

# The dose record's fields a correction may change (the reconciliation's compared fields).
CORRECTABLE = ("national_id", "full_name", "dob", "sex", "ward_code", "phone", "address")
SOURCES = ("automatic", "review", "citizen")
# link_source values written by a person's decision: never overridden by a run.
PERSON_DECIDED = ("review", "citizen")
_LINK_SOURCE = {"automatic": "reconcile", "review": "review", "citizen": "citizen"}
DUPLICATE = "duplicate"


@dataclass(frozen=True)
class FieldChange:
    field: str
    old_value: str | None
    new_value: str | None


def decided_by_person(dose: Dose) -> bool:
    """True when a commune reviewer or a citizen's ticket settled this dose."""
    return dose.link_source in PERSON_DECIDED


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def link_dose(
    session: Session,
    actor: Actor,
    dose: Dose,
    person: Person | None,
    *,
    source: str,
    corrections: Mapping[str, str | None] | None = None,
    status: str | None = None,
    run_id: str | None = None,
    probability: float | None = None,
    reason: str | None = None,
    evidence: dict[str, Any] | None = None,
) -> list[FieldChange]:
    """Link ``dose`` to ``person`` (None: not in the register) and apply ``corrections``.

    ``corrections`` maps a field of :data:`CORRECTABLE` to its new value (the register's, or
    a reviewer's free edit). Only fields whose value really changes are written. The dose's
    area follows the register person, so it leaves a ward's worklist once linked elsewhere.
    Returns the changes made.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown correction source {source!r}")
    changes: list[FieldChange] = []
    for field, new in (corrections or {}).items():
        if field not in CORRECTABLE:
            raise ValueError(f"field {field!r} cannot be corrected")
        old = _text(getattr(dose, field))
        new_text = _text(new)
        if old == new_text:
            continue
        changes.append(FieldChange(field, old, new_text))
        setattr(dose, field, new_text)
    if changes:
        session.execute(
            insert(Correction),
            [
                {
                    "dose_id": dose.id,
                    "person_pk": person.id if person is not None else None,
                    "field": c.field,
                    "old_value": c.old_value,
                    "new_value": c.new_value,
                    "source": source,
                    "user_id": actor.user_id,
                    "reason": reason,
                    "run_id": run_id,
                    "evidence": evidence,
                }
                for c in changes
            ],
        )
    dose.person_pk = person.id if person is not None else None
    dose.status = status or (VERIFIED if person is not None else UNVERIFIED)
    dose.link_source = _LINK_SOURCE[source]
    dose.run_id = run_id
    dose.match_probability = probability
    if person is not None:
        dose.area_ward_code, dose.area_province_code = person.ward_code, person.province_code
    audit(
        session,
        actor,
        "dose.link" if not changes else "dose.correct",
        "dose",
        dose.id,
        {
            "source": source,
            "person_id": person.person_id if person is not None else None,
            "status": dose.status,
            "run_id": run_id,
            "fields": [c.field for c in changes],
            "reason": reason,
        },
    )
    return changes
