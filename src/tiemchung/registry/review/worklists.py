"""Commune worklists: the dose records a person must decide on, and the decisions.

A review item (``review_items``, filled by ``registry/imports/apply.py`` from a reconciliation
run, by a citizen's ticket, or by the dose path: an unverified dose, and each dose-rule warning as a
``dose_check`` item, see registry/doses/rules.py) is routed to one ward. Who sees it:

* a commune (ward) user: the items of its own ward only;
* a province user: the items of its province's wards (optionally one ward);
* central: any item. Site and citizen users have no worklist (403).

An item outside the caller's area answers 404, as elsewhere in the registry, so that its
existence does not leak.

Decisions — accept, reject, edit, bulk accept — go through
:func:`tiemchung.registry.review.corrections.link_dose` (``source="review"``), so each changed field
is one ``corrections`` row and the decision one audit event, in the transaction that closes the
item. An item is decided once: a second decision answers 409 until a province or central user
reopens it. Two reviewers deciding the same item at the same moment cannot both win: the item is
closed by a conditional ``UPDATE … WHERE status = 'open'`` whose row count says who won, which holds
across processes and on both backends (the writer thread also serialises one server's writes). """

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, false, func, literal, or_, select, true, update
from sqlalchemy.orm import Session

from tiemchung.identity import IdentityError, fold_name, normalize_name, ward_by_code
from tiemchung.registry.doses import rules as dose_rules
from tiemchung.registry.doses.rules import DOSE_CHECK
from tiemchung.registry.errors import (
    FieldProblem,
    ServiceError,
    forbidden,
    not_found,
    role_not_allowed,
    rule_error,
)
from tiemchung.registry.fields import clean_dob, clean_id, clean_name, clean_phone, clean_sex
from tiemchung.registry.models import Dose, Person, ReviewItem, User
from tiemchung.registry.people.persons import mask_candidates
from tiemchung.registry.review.corrections import CORRECTABLE, FieldChange, link_dose
from tiemchung.registry.review.explain import (
    COMPARED,
    FIELD_LABELS,
    compare,
    explain_item,
    mismatch_words,
    precise_reasons,
)
from tiemchung.registry.review.recheck import verified_person
from tiemchung.registry.scope import Actor, Role
from tiemchung.store.audit import audit

WORKLIST_ROLES = (Role.CENTRAL, Role.PROVINCE, Role.COMMUNE)
REOPEN_ROLES = (Role.CENTRAL, Role.PROVINCE)
OPEN = "open"
STATUSES = ("open", "accepted", "rejected", "edited", "superseded")
DECIDED = ("accepted", "rejected", "edited")
KINDS = ("review", "not_found", "unverified", "ticket", DOSE_CHECK)
MAX_PAGE = 500
MAX_BULK = 500
#: The dose facts shown next to the person fields (read-only here).
DOSE_FACTS = ("product_code", "dose_number", "dose_date", "site_id", "status")


# -- scope ------------------------------------------------------------------------------------
def require_worklist_role(actor: Actor) -> None:
    """Site and citizen users have no worklist."""
    if actor.role not in WORKLIST_ROLES:
        raise role_not_allowed(
            f"Vai trò {actor.role.value} không dùng danh sách rà soát",
            f"role {actor.role.value} has no worklist",
        )


def item_filter(actor: Actor) -> ColumnElement[bool]:
    """The review items inside the caller's area."""
    match actor.role:
        case Role.CENTRAL:
            return true()
        case Role.PROVINCE:
            return ReviewItem.province_code == actor.province_code
        case Role.COMMUNE:
            return ReviewItem.ward_code == actor.ward_code
    return false()


def _check_ward(actor: Actor, ward_code: str) -> None:
    """A ward filter outside the caller's area is refused (403), not answered empty, so a
    mistyped code is noticed."""
    if actor.role is Role.CENTRAL:
        return
    try:
        unit = ward_by_code(ward_code, scheme="2021")
    except IdentityError as exc:  # not a code at all (":"): a 422, not a 500
        raise rule_error(
            "ward_code", "invalid_ward_code", exc.message_vi, exc.message_en
        ) from None
    province = unit.province_code if unit is not None else None
    if not actor.covers_area(province, ward_code):
        raise forbidden(
            "ward_code",
            f"Xã/phường {ward_code} nằm ngoài phạm vi của bạn",
            f"ward {ward_code} is outside your area",
        )


def already_decided(item: ReviewItem) -> ServiceError:
    return ServiceError(
        409,
        "Already decided / Đã có quyết định",
        [
            FieldProblem(
                "id",
                "already_decided",
                f"Mục {item.id} đã có quyết định ({item.status}); tỉnh hoặc trung ương mở lại "
                "nếu cần",
                f"item {item.id} is already decided ({item.status}); a province or central "
                "user may reopen it",
            )
        ],
    )


def _visible_item(session: Session, actor: Actor, item_id: int) -> ReviewItem:
    require_worklist_role(actor)
    item = session.scalars(
        select(ReviewItem).where(ReviewItem.id == item_id, item_filter(actor))
    ).first()
    if item is None:
        raise not_found("id", f"mục rà soát {item_id}", f"review item {item_id}")
    return item


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
def _candidates(session: Session, item: ReviewItem) -> list[tuple[dict[str, Any], Person | None]]:
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
    cands = _candidates(session, item)
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
    detail = item_detail(session, _visible_item(session, actor, item_id))
    mask_candidates(session, actor, detail["candidates"])  # out-of-area ones: the desk view
    return detail


# -- decisions --------------------------------------------------------------------------------
def _claim(
    session: Session,
    actor: Actor,
    item: ReviewItem,
    status: str,
    decision: dict[str, Any],
    reason: str | None,
) -> None:
    """Close an open item for this decision, or 409 if someone else closed it first."""
    if item.status != OPEN:
        raise already_decided(item)
    now = datetime.now(UTC)
    result = session.execute(
        update(ReviewItem)
        .where(ReviewItem.id == item.id, ReviewItem.status == OPEN)
        .values(
            status=status,
            decided_by=actor.user_id,
            decided_at=now,
            decision=decision,
            decision_reason=reason,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(item)
        raise already_decided(item)
    session.refresh(item)


def _pick(
    cands: list[tuple[dict[str, Any], Person | None]], person_id: str | None
) -> tuple[dict[str, Any], Person]:
    """The chosen candidate (the best when ``person_id`` is None) and its register person."""
    if not cands:
        raise rule_error(
            "person_id",
            "no_candidate",
            "Mục này không có ứng viên trong sổ dân cư: hãy từ chối hoặc sửa",
            "this item has no register candidate: reject or edit it instead",
        )
    chosen = cands[0] if person_id is None else None
    for c, p in cands:
        if person_id is not None and str(c.get("person_id")) == person_id:
            chosen = (c, p)
    if chosen is None:
        raise rule_error(
            "person_id",
            "not_a_candidate",
            f"{person_id} không phải ứng viên của mục này",
            f"{person_id} is not a candidate of this item",
        )
    c, p = chosen
    if p is None:
        raise rule_error(
            "person_id",
            "not_in_register",
            f"Người {c.get('person_id')} không còn trong sổ dân cư",
            f"person {c.get('person_id')} is no longer in the register",
        )
    return c, p


def _register_corrections(cand: Mapping[str, Any]) -> tuple[dict[str, str | None], list[str]]:
    """The candidate's register values that win, and any field link_dose cannot correct
    (kept in the decision, never silently dropped)."""
    raw = dict(cand.get("corrections") or {})
    usable = {k: (None if v is None else str(v)) for k, v in raw.items() if k in CORRECTABLE}
    return usable, sorted(k for k in raw if k not in CORRECTABLE)


def _changes(changes: list[FieldChange]) -> list[dict[str, str | None]]:
    return [{"field": c.field, "old": c.old_value, "new": c.new_value} for c in changes]


def _result(session: Session, item: ReviewItem, changes: list[FieldChange]) -> dict[str, Any]:
    dose = session.get(Dose, item.dose_id)
    assert dose is not None
    person = session.get(Person, dose.person_pk) if dose.person_pk is not None else None
    return {
        "id": item.id,
        "status": item.status,
        "dose_id": dose.id,
        "dose_status": dose.status,
        "person_id": person.person_id if person is not None else None,
        "changes": _changes(changes),
        "decided_at": item.decided_at,
        "decision_reason": item.decision_reason,
    }


def _ticket_item(item: ReviewItem) -> bool:
    return item.kind == "ticket"


def _close_dose_check(
    session: Session, actor: Actor, item: ReviewItem, status: str, reason: str | None
) -> dict[str, Any]:
    """A dose-rule item (registry/doses/rules.py) is about the person's history, not about who
    the dose belongs to: deciding it records that the commune dealt with it (accepted: done,
    e.g. the missing dose entered from the card; rejected: nothing to do) and leaves the dose
    and its link as they are."""
    if item.status != OPEN:
        raise already_decided(item)
    done = status == "accepted"
    why = (reason or "").strip() or (
        "Đã xử lý / done" if done else "Không cần xử lý / nothing to do"
    )
    decision = {"action": "resolve" if done else "dismiss", "person_id": None}
    _claim(session, actor, item, status, decision, why)
    action = "review_item.accept" if done else "review_item.reject"
    audit(session, actor, action, "review_item", item.id, decision | {"reason": why})
    return _result(session, item, [])


def accept(
    session: Session,
    actor: Actor,
    item_id: int,
    *,
    person_id: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """The candidate is this person: link the dose and let the register's values win."""
    item = _visible_item(session, actor, item_id)
    if _ticket_item(item):
        from tiemchung.registry.review.tickets import decide_item

        return decide_item(session, actor, item, accept=True, reason=reason)
    if item.kind == DOSE_CHECK:
        return _close_dose_check(session, actor, item, "accepted", reason)
    if item.status != OPEN:
        raise already_decided(item)
    why = (reason or "").strip() or "Chấp nhận ứng viên / accepted the candidate"
    dose = session.get(Dose, item.dose_id)
    assert dose is not None
    decision, changes = _link_candidate(session, actor, item, dose, person_id, "accept", why)
    audit(session, actor, "review_item.accept", "review_item", item.id, decision | {"reason": why})
    return _result(session, item, changes)


def _carry_warnings(session: Session, item: ReviewItem, dose: Dose, person: Person | None) -> None:
    """Keep the follow-up when the dose's one item is decided.

    An unverified dose's item also carries the dose-rule warnings it was stored with
    (registry/doses/entry.py: one dose, one item). Deciding whose dose it is closes that item,
    and with it the follow-up ("dose 2 is missing — enter it from the card") — silently in a
    bulk accept nobody opened. When the decision links the dose to a register person, the
    warnings move to a ``dose_check`` item of the now verified dose, in that person's ward, as
    if the dose had verified at entry; a dose decided to be nobody's keeps none (the rules ran
    on a history it turned out not to share).
    """
    if person is None or item.kind == DOSE_CHECK or not item.explanation:
        return
    warnings = [
        w
        for text in item.explanation.split(";")
        if (w := dose_rules.warning_of_segment(text)) is not None
    ]
    if not warnings:
        return
    area = {"area_ward_code": dose.area_ward_code, "area_province_code": dose.area_province_code}
    session.add(ReviewItem(**dose_rules.item_row(dose.id, area, person, warnings)))


def _link_candidate(
    session: Session,
    actor: Actor,
    item: ReviewItem,
    dose: Dose,
    person_id: str | None,
    action: str,
    why: str,
) -> tuple[dict[str, Any], list[Any]]:
    """Claim ``item`` and link its dose to a candidate (``person_id``, or the best), the
    register's values winning: what accepting, and rejecting in favour of another, share."""
    cand, person = _pick(_candidates(session, item), person_id)
    corrections, ignored = _register_corrections(cand)
    decision: dict[str, Any] = {
        "action": action,
        "person_id": person.person_id,
        "corrections": corrections,
        "ignored_fields": ignored,
    }
    _claim(session, actor, item, "accepted" if action == "accept" else "rejected", decision, why)
    probability = cand.get("match_probability")
    changes = link_dose(
        session,
        actor,
        dose,
        person,
        source="review",
        corrections=corrections,
        run_id=item.run_id,
        probability=float(probability) if probability is not None else None,
        reason=why,
        evidence={"review_item": item.id},
    )
    _carry_warnings(session, item, dose, person)
    return decision, changes


def reject(
    session: Session,
    actor: Actor,
    item_id: int,
    *,
    reason: str | None = None,
    person_id: str | None = None,
) -> dict[str, Any]:
    """Not this person. With ``person_id``, another candidate is (linked with its register
    values); without, the person is not in the register: the dose stays unverified, and a
    later run leaves it alone (it was decided by a person)."""
    item = _visible_item(session, actor, item_id)
    if _ticket_item(item):
        from tiemchung.registry.review.tickets import decide_item

        return decide_item(session, actor, item, accept=False, reason=reason)
    if item.kind == DOSE_CHECK:
        return _close_dose_check(session, actor, item, "rejected", reason)
    if item.status != OPEN:
        raise already_decided(item)
    why = (reason or "").strip() or "Không phải người này / not this person"
    dose = session.get(Dose, item.dose_id)
    assert dose is not None
    if person_id is not None:
        decision, changes = _link_candidate(session, actor, item, dose, person_id, "reject", why)
    else:
        decision = {"action": "reject", "person_id": None, "not_in_register": True}
        _claim(session, actor, item, "rejected", decision, why)
        changes = link_dose(
            session,
            actor,
            dose,
            None,
            source="review",
            run_id=item.run_id,
            reason=why,
            evidence={"review_item": item.id},
        )
    audit(session, actor, "review_item.reject", "review_item", item.id, decision | {"reason": why})
    return _result(session, item, changes)


def clean_edit(field_: str, value: str | None) -> str | None:
    """A reviewer's typed value in the registry's stored form, or a 422 naming the field."""
    if field_ not in CORRECTABLE:
        raise rule_error(
            field_,
            "not_correctable",
            f"Không sửa được trường {field_}; chỉ: {', '.join(CORRECTABLE)}",
            f"field {field_} cannot be corrected; only: {', '.join(CORRECTABLE)}",
        )
    if value is None or not str(value).strip():
        if field_ == "full_name":
            raise rule_error(field_, "required", "Họ và tên là bắt buộc", "full name is required")
        return None
    value = str(value).strip()
    match field_:
        case "national_id":
            return clean_id(value).value
        case "full_name":
            return clean_name(value, field_)[0]
        case "dob":
            return clean_dob(value, field_)
        case "sex":
            return clean_sex(value, field_)
        case "phone":
            return clean_phone(value, field_)
        case "ward_code":
            try:
                unit = ward_by_code(value, scheme="2021")
            except IdentityError:  # not digits: no ward has it either
                unit = None
            if unit is None:
                raise rule_error(
                    field_,
                    "unknown_ward",
                    f"Không có xã/phường mã {value}",
                    f"no ward has code {value}",
                )
            return value
    return " ".join(value.split())


def _require_reason(reason: str | None) -> str:
    if reason is None or not reason.strip():
        raise rule_error(
            "reason",
            "reason_required",
            "Cần ghi lý do khi sửa",
            "an edit needs a reason",
        )
    return reason.strip()


def edit(
    session: Session,
    actor: Actor,
    item_id: int,
    *,
    fields: Mapping[str, str | None],
    reason: str | None,
    person_id: str | None = None,
    recheck: bool = False,
) -> dict[str, Any]:
    """Free correction of the record's fields, with a mandatory reason; optionally linking a
    person (a candidate, or anyone the caller may see). Without a person the dose keeps its
    current link; an unlinked one stays unverified unless ``recheck`` finds that the corrected
    record now verifies against one register person (:mod:`worklist_recheck`)."""
    item = _visible_item(session, actor, item_id)
    why = _require_reason(reason)
    if item.status != OPEN:
        raise already_decided(item)
    if not fields and person_id is None:
        raise rule_error(
            "fields",
            "nothing_to_edit",
            "Cần ít nhất một trường để sửa hoặc một người để liên kết",
            "give at least one field to correct or a person to link",
        )
    cleaned = {f: clean_edit(f, v) for f, v in fields.items()}
    dose = session.get(Dose, item.dose_id)
    assert dose is not None
    person: Person | None
    if person_id is not None:
        person = session.scalars(select(Person).where(Person.person_id == person_id)).first()
        is_candidate = any(
            str(c.get("person_id")) == person_id for c, _ in _candidates(session, item)
        )
        if person is None or not (is_candidate or actor.can_see_person(person)):
            raise not_found("person_id", f"người {person_id}", f"person {person_id}")
    else:
        person = session.get(Person, dose.person_pk) if dose.person_pk is not None else None
        if person is None and recheck:
            values = {f: getattr(dose, f) for f in COMPARED} | cleaned
            person = verified_person(session, actor, values)
    decision = {
        "action": "edit",
        "person_id": person.person_id if person is not None else None,
        "fields": cleaned,
        "recheck": recheck,
    }
    _claim(session, actor, item, "edited", decision, why)
    changes = link_dose(
        session,
        actor,
        dose,
        person,
        source="review",
        corrections=cleaned,
        run_id=item.run_id,
        reason=why,
        evidence={"review_item": item.id},
    )
    _carry_warnings(session, item, dose, person)
    audit(session, actor, "review_item.edit", "review_item", item.id, decision | {"reason": why})
    return _result(session, item, changes)


def problem_dict(exc: ServiceError) -> dict[str, Any]:
    """A service error as the body of one item's answer (the API's problem shape)."""
    errors = [p.as_dict() for p in exc.problems]
    return {
        "type": f"urn:tiemchung:problem:{errors[0]['rule'] if errors else exc.status}",
        "title": exc.title,
        "status": exc.status,
        "detail": "; ".join(e["message"] for e in errors) or None,
        "errors": errors,
    }


def bulk_accept(
    session: Session, actor: Actor, ids: list[int], *, reason: str | None = None
) -> list[dict[str, Any]]:
    """Accept each item's best candidate; each item succeeds or fails alone (a savepoint
    each), and every id gets an answer, in order."""
    require_worklist_role(actor)
    if len(ids) > MAX_BULK:
        raise rule_error(
            "ids",
            "too_many",
            f"Tối đa {MAX_BULK} mục mỗi lần",
            f"at most {MAX_BULK} items at a time",
        )
    out: list[dict[str, Any]] = []
    for item_id in ids:
        savepoint = session.begin_nested()
        try:
            done = accept(session, actor, item_id, reason=reason)
            savepoint.commit()
            out.append({"id": item_id, "status": 200, "result": done, "problem": None})
        except ServiceError as exc:
            savepoint.rollback()
            out.append(
                {"id": item_id, "status": exc.status, "result": None, "problem": problem_dict(exc)}
            )
    return out


def reopen(session: Session, actor: Actor, item_id: int, *, reason: str | None) -> dict[str, Any]:
    """Open a decided item again (province or central only), so it can be decided anew. The
    dose keeps its link until then; the earlier decision stays in the audit trail."""
    item = _visible_item(session, actor, item_id)
    if actor.role not in REOPEN_ROLES:
        raise role_not_allowed(
            "Chỉ tỉnh hoặc trung ương được mở lại một mục",
            "only a province or central user may reopen an item",
        )
    why = (reason or "").strip()
    if not why:
        raise rule_error("reason", "reason_required", "Cần ghi lý do", "a reason is required")
    if item.status not in DECIDED:
        raise rule_error(
            "status",
            "not_decided",
            f"Mục {item.id} đang ở trạng thái {item.status}, không mở lại được",
            f"item {item.id} is {item.status} and cannot be reopened",
            status=409,
        )
    previous = {
        "status": item.status,
        "decision": item.decision,
        "decided_by": item.decided_by,
        "decision_reason": item.decision_reason,
    }
    item.status = OPEN
    item.decided_by = None
    item.decided_at = None
    item.decision = None
    item.decision_reason = None
    session.flush()
    audit(
        session,
        actor,
        "review_item.reopen",
        "review_item",
        item.id,
        {"previous": previous, "reason": why},
    )
    detail = item_detail(session, item)
    mask_candidates(session, actor, detail["candidates"])
    return detail
