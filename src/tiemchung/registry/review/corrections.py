"""Linking a dose record to its register person and correcting its fields, with the trail.

Every path that settles a dose record — an applied reconciliation run (``source="automatic"``),
a commune decision on a worklist item (``"review"``), a citizen's ticket (``"citizen"``) — goes
through :func:`link_dose`, so a changed field is always one ``corrections`` row (old value, new
value, who, why, which run, the evidence) plus one audit event and one change for partners
(``registry/changes/log.py``: ``linked``, ``corrected``, or ``deleted`` for a double entry), in
the same transaction.

The person's decision is final: :func:`decided_by_person` tells a later automatic run to leave
the dose alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from tiemchung.registry.changes.log import Change, append
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
# the change log's ``source`` (registry/tables/changes.py) of each correction source
_CHANGE_SOURCE = {"automatic": "reconcile", "review": "review", "citizen": "ticket"}
DUPLICATE = "duplicate"
#: the ``reason`` of a correction that *completes* a field (a reconciliation run found it
#: missing or partial in the record and known in the register: no ID, only the birth year, a
#: middle name left out), as opposed to correcting a wrong one; its audit event is
#: ``dose.complete`` when nothing wrong was corrected with it
COMPLETE_REASON = (
    "bổ sung từ sổ dân cư: bản ghi thiếu trường này / "
    "completed from the register: missing or partial in the record"
)


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
    completions: Mapping[str, str | None] | None = None,
) -> list[FieldChange]:
    """Link ``dose`` to ``person`` (None: not in the register) and apply ``corrections``.

    ``corrections`` maps a field of :data:`CORRECTABLE` to its new value (the register's, or
    a reviewer's free edit). ``completions`` too, for fields the record lacks (missing or
    partial, known in the register): their rows carry :data:`COMPLETE_REASON`, and they are
    listed apart in the audit event (``completed``; the event is ``dose.complete`` when no
    wrong field was corrected). Only fields whose value really changes are written. The
    dose's area follows the register person, so it leaves a ward's worklist once linked
    elsewhere. Returns the changes made (corrections first, then completions).
    """
    if source not in SOURCES:
        raise ValueError(f"unknown correction source {source!r}")

    def changed(values: Mapping[str, str | None] | None) -> list[FieldChange]:
        out = []
        for field, new in (values or {}).items():
            if field not in CORRECTABLE:
                raise ValueError(f"field {field!r} cannot be corrected")
            old = _text(getattr(dose, field))
            new_text = _text(new)
            if old == new_text:
                continue
            out.append(FieldChange(field, old, new_text))
            setattr(dose, field, new_text)
        return out

    changes = changed(corrections)
    completed = changed(completions)
    if changes or completed:
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
                    "reason": why,
                    "run_id": run_id,
                    "evidence": evidence,
                }
                for group, why in ((changes, reason), (completed, COMPLETE_REASON))
                for c in group
            ],
        )
    dose.person_pk = person.id if person is not None else None
    dose.status = status or (VERIFIED if person is not None else UNVERIFIED)
    dose.link_source = _LINK_SOURCE[source]
    dose.run_id = run_id
    dose.match_probability = probability
    if person is not None:
        dose.area_ward_code, dose.area_province_code = person.ward_code, person.province_code
    detail: dict[str, Any] = {
        "source": source,
        "person_id": person.person_id if person is not None else None,
        "status": dose.status,
        "run_id": run_id,
        "fields": [c.field for c in changes],
        "reason": reason,
    }
    if completed:
        detail["completed"] = [c.field for c in completed]
    audit(session, actor, audit_action(bool(changes), bool(completed)), "dose", dose.id, detail)
    append(session, [change_of(dose, person, source, bool(changes or completed))])
    return changes + completed


def change_of(dose: Dose, person: Person | None, source: str, corrected: bool) -> Change:
    """The partners' change of linking ``dose``: a double entry is ``deleted`` (the partner
    drops it), a field changed ``corrected``, else ``linked``."""
    action = "deleted" if dose.status == DUPLICATE else "corrected" if corrected else "linked"
    return Change(
        "Immunization",
        str(dose.id),
        action,
        _CHANGE_SOURCE[source],
        person.person_id if person is not None else None,
        dose.area_ward_code,
        dose.area_province_code,
    )


def audit_action(corrected: bool, completed: bool) -> str:
    """The audit action of linking a dose: a wrong field corrected is ``dose.correct``;
    only missing or partial fields completed, ``dose.complete``; else ``dose.link``."""
    if corrected:
        return "dose.correct"
    return "dose.complete" if completed else "dose.link"
