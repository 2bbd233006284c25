"""Decisions on a worklist item: accept, reject, edit, bulk accept, reopen.

Decisions go through :func:`tiemchung.registry.review.corrections.link_dose`
(``source="review"``), so each changed field is one ``corrections`` row and the decision one
audit event, in the transaction that closes the item. An item is decided once: a second
decision answers 409 until a province or central user reopens it. Two reviewers deciding the
same item at the same moment cannot both win: the item is closed by a conditional
``UPDATE … WHERE status = 'open'`` whose row count says who won, which holds across processes
and on both backends (the writer thread also serialises one server's writes). A ticket's item
is decided through its ticket (tickets.py: the ticket's own decision closes it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tiemchung.registry.doses import rules as dose_rules
from tiemchung.registry.doses.rules import DOSE_CHECK
from tiemchung.registry.errors import (
    ServiceError,
    not_found,
    role_not_allowed,
    rule_error,
)
from tiemchung.registry.models import Dose, Person, ReviewItem
from tiemchung.registry.people.persons import mask_candidates
from tiemchung.registry.review.corrections import CORRECTABLE, FieldChange, link_dose
from tiemchung.registry.review.explain import COMPARED
from tiemchung.registry.review.items import (
    DECIDED,
    OPEN,
    REOPEN_ROLES,
    already_decided,
    clean_edit,
    require_worklist_role,
    visible_item,
)
from tiemchung.registry.review.recheck import verified_person
from tiemchung.registry.review.tickets import decide_item
from tiemchung.registry.review.worklists import candidates, item_detail
from tiemchung.registry.scope import Actor
from tiemchung.store.audit import audit

MAX_BULK = 500


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


def _decided_by_kind(
    session: Session, actor: Actor, item: ReviewItem, *, accept: bool, reason: str | None
) -> dict[str, Any] | None:
    """Accepting or rejecting a citizen's ticket or a dose-rule item follows that kind's own
    rule (the answer is returned); a record's item goes on (None), unless already decided."""
    if _ticket_item(item):
        return decide_item(session, actor, item, accept=accept, reason=reason)
    if item.kind == DOSE_CHECK:
        return _close_dose_check(session, actor, item, "accepted" if accept else "rejected", reason)
    if item.status != OPEN:
        raise already_decided(item)
    return None


def accept(
    session: Session,
    actor: Actor,
    item_id: int,
    *,
    person_id: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """The candidate is this person: link the dose and let the register's values win."""
    item = visible_item(session, actor, item_id)
    if (done := _decided_by_kind(session, actor, item, accept=True, reason=reason)) is not None:
        return done
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
    cand, person = _pick(candidates(session, item), person_id)
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
    item = visible_item(session, actor, item_id)
    if (done := _decided_by_kind(session, actor, item, accept=False, reason=reason)) is not None:
        return done
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
    item = visible_item(session, actor, item_id)
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
            str(c.get("person_id")) == person_id for c, _ in candidates(session, item)
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
                {"id": item_id, "status": exc.status, "result": None, "problem": exc.as_problem()}
            )
    return out


def reopen(session: Session, actor: Actor, item_id: int, *, reason: str | None) -> dict[str, Any]:
    """Open a decided item again (province or central only), so it can be decided anew. The
    dose keeps its link until then; the earlier decision stays in the audit trail."""
    item = visible_item(session, actor, item_id)
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
