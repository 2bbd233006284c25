"""Commune worklists: the dose records a person must decide on, listed and shown one by one.

A review item (``review_items``, filled by ``registry/imports/apply.py`` from a reconciliation
run, by a citizen's ticket, or by the dose path: an unverified dose, and each dose-rule warning
as a ``dose_check`` item, see registry/doses/rules.py) is routed to one ward. Who sees it:

* a commune (ward) user: the items of its own ward only;
* a province user: the items of its province's wards (optionally one ward);
* central: any item. Site and citizen users have no worklist (403).

An item outside the caller's area answers 404, as elsewhere in the registry, so that its
existence does not leak.

Decisions on an item are registry/review/decisions.py; what every item shares (the roles,
the area filter, "already decided") is registry/review/items.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, literal, or_, select
from sqlalchemy.orm import Session

from tiemchung.identity import IdentityError, fold_name, normalize_name, ward_by_code
from tiemchung.registry.errors import forbidden, rule_error
from tiemchung.registry.models import Dose, Person, ReviewItem, User
from tiemchung.registry.people.persons import mask_candidates
from tiemchung.registry.review.explain import (
    COMPARED,
    FIELD_LABELS,
    compare,
    explain_item,
    mismatch_words,
    precise_reasons,
)
from tiemchung.registry.review.items import (
    KINDS,
    OPEN,
    STATUSES,
    item_filter,
    require_worklist_role,
    visible_item,
)
from tiemchung.registry.scope import Actor, Role

MAX_PAGE = 500
#: The dose facts shown next to the person fields (read-only here).
DOSE_FACTS = ("product_code", "dose_number", "dose_date", "site_id", "status")


def _check_ward(actor: Actor, ward_code: str) -> None:
    """A ward filter outside the caller's area is refused (403), not answered empty, so a
    mistyped code is noticed."""
    if actor.role is Role.CENTRAL:
        return
    try:
        unit = ward_by_code(ward_code, scheme="2021")
    except IdentityError as exc:  # not a code at all (":"): a 422, not a 500
        raise rule_error("ward_code", "invalid_ward_code", exc.message_vi, exc.message_en) from None
    province = unit.province_code if unit is not None else None
    if not actor.covers_area(province, ward_code):
        raise forbidden(
            "ward_code",
            f"Xã/phường {ward_code} nằm ngoài phạm vi của bạn",
            f"ward {ward_code} is outside your area",
        )


# -- listing ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class WorklistQuery:
    """Filters of a worklist; ``field`` keeps items whose best candidate differs on it, ``q``
    searches the record's name (diacritics optional) or matches an ID number exactly."""

    ward_code: str | None = None
    status: str | None = OPEN
    kind: str | None = None
    field: str | None = None
    q: str | None = None
    limit: int = 50
    offset: int = 0


@dataclass
class WorklistPage:
    items: list[dict[str, Any]]
    total: int
    counts: dict[str, int]  # per status, under every filter but the status one
    limit: int
    offset: int


def _choice(field_: str, value: str | None, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    if value is not None and value not in allowed:
        raise rule_error(
            field_,
            "invalid_choice",
            f"{field_} phải là một trong: {', '.join(allowed)}",
            f"{field_} must be one of: {', '.join(allowed)}",
        )


def _filters(actor: Actor, query: WorklistQuery) -> list[ColumnElement[bool]]:
    _choice("status", query.status, STATUSES)
    _choice("kind", query.kind, KINDS)
    _choice("field", query.field, COMPARED)
    where: list[ColumnElement[bool]] = [item_filter(actor)]
    if query.ward_code:
        _check_ward(actor, query.ward_code)
        where.append(ReviewItem.ward_code == query.ward_code)
    if query.kind:
        where.append(ReviewItem.kind == query.kind)
    if query.field:
        padded = literal(";").concat(func.coalesce(ReviewItem.mismatches, "")).concat(";")
        where.append(padded.contains(f";{query.field};", autoescape=True))
    if query.q and query.q.strip():
        text = query.q.strip()
        ors: list[ColumnElement[bool]] = [Dose.national_id == "".join(text.split())]
        try:
            ors.append(Dose.full_name.contains(normalize_name(text), autoescape=True))
            ors.append(Person.name_key.contains(fold_name(text), autoescape=True))
        except IdentityError:
            pass  # not a name (digits only): the ID comparison stands
        where.append(or_(*ors))
    return where


def _split(mismatches: str | None) -> list[str]:
    return [m for m in (mismatches or "").split(";") if m]


def _summary(item: ReviewItem, dose: Dose, best: Person | None) -> dict[str, Any]:
    fields = _split(item.mismatches)
    vi, en = mismatch_words(fields)
    return {
        "id": item.id,
        "dose_id": item.dose_id,
        "kind": item.kind,
        "status": item.status,
        "reason": item.reason,
        "ward_code": item.ward_code,
        "province_code": item.province_code,
        "full_name": dose.full_name,
        "national_id": dose.national_id,
        "dob": dose.dob,
        "dose_date": dose.dose_date,
        "dose_number": dose.dose_number,
        "person_id": best.person_id if best is not None else None,
        "candidate_name": best.full_name if best is not None else None,
        "match_probability": item.match_probability,
        "mismatches": fields,
        "summary_vi": vi,
        "summary_en": en,
        "created_at": item.created_at,
        "decided_at": item.decided_at,
    }


def list_items(session: Session, actor: Actor, query: WorklistQuery) -> WorklistPage:
    """A page of the caller's worklist, oldest first, with the per-status progress counts."""
    require_worklist_role(actor)
    limit = max(1, min(query.limit, MAX_PAGE))
    offset = max(0, query.offset)
    where = _filters(actor, query)
    base = (
        select(ReviewItem.id)
        .join(Dose, Dose.id == ReviewItem.dose_id)
        .outerjoin(Person, Person.id == ReviewItem.person_pk)
        .where(*where)
    )
    counted = base.add_columns(ReviewItem.status).subquery()
    counts = {s: 0 for s in STATUSES}
    for status, n in session.execute(
        select(counted.c.status, func.count()).group_by(counted.c.status)
    ):
        counts[status] = int(n)
    if query.status:
        base = base.where(ReviewItem.status == query.status)
    total = int(session.scalar(select(func.count()).select_from(base.subquery())) or 0)
    rows = session.execute(
        select(ReviewItem, Dose, Person)
        .join(Dose, Dose.id == ReviewItem.dose_id)
        .outerjoin(Person, Person.id == ReviewItem.person_pk)
        .where(ReviewItem.id.in_(base.order_by(ReviewItem.id).limit(limit).offset(offset)))
        .order_by(ReviewItem.id)
    ).all()
    items = [_summary(item, dose, best) for item, dose, best in rows]
    return WorklistPage(items, total, counts, limit, offset)


# -- one item ---------------------------------------------------------------------------------
def candidates(session: Session, item: ReviewItem) -> list[tuple[dict[str, Any], Person | None]]:
    """The item's candidates best first, each with its register person (None if the person
    left the register since the run)."""
    raw = [dict(c) for c in (item.candidates or []) if isinstance(c, Mapping)]
    if not raw and item.person_pk is not None:
        best = session.get(Person, item.person_pk)
        if best is not None:
            raw = [
                {
                    "person_id": best.person_id,
                    "match_probability": item.match_probability,
                    "mismatches": _split(item.mismatches),
                    "corrections": {},
                }
            ]
    ids = [str(c.get("person_id")) for c in raw if c.get("person_id")]
    persons = {
        p.person_id: p
        for p in session.scalars(select(Person).where(Person.person_id.in_(ids))).all()
    }
    return [(c, persons.get(str(c.get("person_id")))) for c in raw]


def _side_by_side(dose: Dose, person: Person | None) -> list[dict[str, Any]]:
    out = []
    for f in COMPARED:
        record = getattr(dose, f)
        register = getattr(person, f) if person is not None else None
        vi, en = FIELD_LABELS[f]
        state = compare(f, record, register) if person is not None else "no_candidate"
        out.append(
            {
                "field": f,
                "label_vi": vi,
                "label_en": en,
                "record": record,
                "register": register,
                "state": state,
                "differs": state == "differs",
            }
        )
    return out


def item_detail(session: Session, item: ReviewItem) -> dict[str, Any]:
    """The item with its record and every candidate side by side, differences marked."""
    dose = session.get(Dose, item.dose_id)
    assert dose is not None  # foreign key
    cands = candidates(session, item)
    best = cands[0][1] if cands else None
    out = _summary(item, dose, best)
    linked = session.get(Person, dose.person_pk) if dose.person_pk is not None else None
    out["record"] = {f: getattr(dose, f) for f in COMPARED} | {
        f: getattr(dose, f) for f in DOSE_FACTS
    }
    out["record"]["person_id"] = linked.person_id if linked is not None else None
    out["candidates"] = [
        {
            "person_id": c.get("person_id"),
            "in_register": p is not None,
            "match_probability": c.get("match_probability"),
            "mismatches": list(c.get("mismatches") or []),
            "corrections": dict(c.get("corrections") or {}),
            "fields": (cmp := _side_by_side(dose, p)),
            "differing": [x["field"] for x in cmp if x["differs"]],
        }
        for c, p in cands
    ]
    reasons = explain_item(
        item.explanation,
        has_candidates=bool(out["candidates"]),
        probability=item.match_probability,
        kind=item.kind,
    )
    # "the name, date of birth or sex differs" said precisely: which field, and how
    out["explanation"] = [r.as_dict() for r in precise_reasons(reasons, out["record"], best)]
    out["explanation_raw"] = item.explanation
    decider = session.get(User, item.decided_by) if item.decided_by is not None else None
    out["decided_by"] = decider.username if decider is not None else None
    out["decision"] = item.decision
    out["decision_reason"] = item.decision_reason
    return out


def get_item(session: Session, actor: Actor, item_id: int) -> dict[str, Any]:
    detail = item_detail(session, visible_item(session, actor, item_id))
    mask_candidates(session, actor, detail["candidates"])  # out-of-area ones: the desk view
    return detail
