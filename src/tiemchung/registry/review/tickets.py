"""Citizen reports ("phản ánh"): a citizen says a dose record or their register data is wrong.

A citizen user (role ``citizen``, linked to their register person) opens a ticket naming one
field, the value they say is right and a message. It is routed to the ward of their register
person and also appears in that ward's worklist as a review item of kind ``ticket``, so the
commune sees it where it sees everything else it must decide. The commune (or its province,
or central) accepts or rejects it; the citizen sees the status and the decision.

**Deadline: 7 working days** (Monday to Friday; public holidays are not known to the platform,
so a holiday week gives the commune less time, never the citizen a later date than promised).
Why seven: the commune usually has to look at the paper vaccination log or call the site that
recorded the dose, and sites hold sessions on set weekdays, so one full working week plus a
margin lets a check reach the next session; longer than that and a citizen waiting for a
certificate to travel or to enrol a child waits too long. It is a constant here
(:data:`DEADLINE_WORKING_DAYS`) so a province can be given another figure later.

**Caps.** At most :data:`MAX_OPEN` unresolved tickets per citizen (a 429 past that), and one
unresolved ticket per (dose or register, field): a second answers 409 naming the first. This
keeps one account from flooding a commune's worklist without limiting a real citizen, who has a
handful of fields and doses.

**What accept does.** For a dose record: the proposed value is written through
:func:`tiemchung.registry.review.corrections.link_dose` with ``source="citizen"`` (a ``corrections``
row, an audit event, and the dose keeps its link to the citizen's person; later runs leave it
alone). For register data: the population register is the national one and this platform only
holds a snapshot that the next register import overwrites, so accepting records the confirmed
correction (a ``corrections`` row with the person and no dose, ``source="citizen"``) for the
register authority, and leaves the local snapshot as it is; the decision says so (``outcome``:
``corrected`` or ``forwarded``), and so do the citizen's and the commune's pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, false, func, insert, select, true, update
from sqlalchemy.orm import Session

from tiemchung.registry.errors import (
    ServiceError,
    not_found,
    role_not_allowed,
    rule_error,
)
from tiemchung.registry.models import Correction, Dose, Person, ReviewItem, Ticket
from tiemchung.registry.review.corrections import CORRECTABLE, link_dose
from tiemchung.registry.review.explain import COMPARED, FIELD_LABELS, differs
from tiemchung.registry.review.items import (
    OPEN,
    WORKLIST_ROLES,
    already_decided,
    clean_edit,
    require_worklist_role,
)
from tiemchung.registry.scope import Actor, Role
from tiemchung.store.audit import audit

DEADLINE_WORKING_DAYS = 7
MAX_OPEN = 5
MAX_MESSAGE = 2000
STATUSES = ("open", "in_review", "accepted", "rejected")
UNRESOLVED = ("open", "in_review")
#: Fields a citizen may report (those a correction can change).
FIELDS = CORRECTABLE
CHANNELS = ("api", "web", "sms")
#: What an accepted report did, said to the citizen and stored as the decision when the
#: reviewer wrote nothing: a dose record is corrected here; register data is not ours to
#: change, so the confirmed correction is forwarded to the register authority.
CORRECTED = "Đã sửa hồ sơ mũi tiêm theo phản ánh / the dose record was corrected as reported"
FORWARDED = (
    "Đã xác nhận và chuyển đề nghị sửa cho cơ quan quản lý sổ dân cư; thông tin trong sổ dân "
    "cư chưa thay đổi / confirmed and forwarded to the register authority; the register data "
    "is not changed yet"
)


def outcome_of(status: str, about_dose: bool) -> str | None:
    """What became of a decided report: ``corrected`` (a dose record, changed here),
    ``forwarded`` (register data, sent to the register authority, unchanged here),
    ``rejected``; None while it is undecided."""
    if status == "accepted":
        return "corrected" if about_dose else "forwarded"
    return "rejected" if status == "rejected" else None


def working_days_after(start: date, days: int) -> date:
    """The date ``days`` working days (Mon–Fri) after ``start``."""
    d = start
    left = days
    while left > 0:
        d += timedelta(days=1)
        if d.weekday() < 5:
            left -= 1
    return d


@dataclass(frozen=True)
class TicketRequest:
    field: str
    proposed_value: str | None
    message: str | None = None
    dose_id: int | None = None  # None: the report is about the register data
    channel: str = "api"


def ticket_id_of(item: ReviewItem) -> int | None:
    return item.ticket_id if item.kind == "ticket" else None


def ticket_filter(actor: Actor) -> ColumnElement[bool]:
    """Tickets the caller may see: the citizen's own; a ward's; a province's (by the
    reporting person's province); all for central. Used with a join on Person."""
    match actor.role:
        case Role.CENTRAL:
            return true()
        case Role.PROVINCE:
            return Person.province_code == actor.province_code
        case Role.COMMUNE:
            return Ticket.ward_code == actor.ward_code
        case Role.CITIZEN:
            if actor.person_pk is None:
                return false()
            return Ticket.person_pk == actor.person_pk
    return false()


def _public(session: Session, ticket: Ticket, person: Person | None, today: date) -> dict[str, Any]:
    item_id = session.scalar(
        select(ReviewItem.id).where(ReviewItem.kind == "ticket", ReviewItem.ticket_id == ticket.id)
    )
    unresolved = ticket.status in UNRESOLVED
    return {
        "id": ticket.id,
        "person_id": person.person_id if person is not None else None,
        "dose_id": ticket.dose_id,
        "about": "dose" if ticket.dose_id is not None else "register",
        "field": ticket.field,
        "current_value": ticket.current_value,
        "proposed_value": ticket.proposed_value,
        "message": ticket.message,
        "status": ticket.status,
        "ward_code": ticket.ward_code,
        "deadline": ticket.deadline,
        "overdue": bool(unresolved and ticket.deadline is not None and today > ticket.deadline),
        "channel": ticket.channel,
        "created_at": ticket.created_at,
        "decided_at": ticket.decided_at,
        "decision": ticket.decision,
        "outcome": outcome_of(ticket.status, ticket.dose_id is not None),
        "review_item_id": item_id,
    }


def _citizen_person(session: Session, actor: Actor) -> Person:
    if actor.role is not Role.CITIZEN or actor.person_pk is None:
        raise role_not_allowed(
            "Chỉ người dân (tài khoản gắn với sổ dân cư) được gửi phản ánh",
            "only a citizen linked to a register person may open a ticket",
        )
    person = session.get(Person, actor.person_pk)
    if person is None:
        raise not_found("person", "người trong sổ dân cư", "register person")
    return person


def open_ticket(
    session: Session, actor: Actor, req: TicketRequest, *, today: date
) -> dict[str, Any]:
    """Open a ticket, and its review item in the ward's worklist."""
    person = _citizen_person(session, actor)
    if req.field not in FIELDS:
        raise rule_error(
            "field",
            "invalid_choice",
            f"Trường phải là một trong: {', '.join(FIELDS)}",
            f"field must be one of: {', '.join(FIELDS)}",
        )
    if req.channel not in CHANNELS:
        raise rule_error("channel", "invalid_choice", "Kênh không hợp lệ", "unknown channel")
    message = (req.message or "").strip() or None
    if message is not None and len(message) > MAX_MESSAGE:
        raise rule_error(
            "message",
            "too_long",
            f"Nội dung tối đa {MAX_MESSAGE} ký tự",
            f"the message is at most {MAX_MESSAGE} characters",
        )
    proposed = clean_edit(req.field, req.proposed_value)
    dose: Dose | None = None
    if req.dose_id is not None:
        dose = session.scalars(
            select(Dose).where(Dose.id == req.dose_id, Dose.person_pk == person.id)
        ).first()
        if dose is None:
            raise not_found(
                "dose_id", f"mũi tiêm {req.dose_id} của bạn", f"your dose {req.dose_id}"
            )
    current = getattr(dose if dose is not None else person, req.field)
    if not differs(req.field, current, proposed):
        raise rule_error(
            "proposed_value",
            "no_change",
            "Giá trị đề nghị giống giá trị hiện có",
            "the proposed value is the current one",
        )
    unresolved = select(Ticket).where(Ticket.person_pk == person.id, Ticket.status.in_(UNRESOLVED))
    n_open = session.scalar(select(func.count()).select_from(unresolved.subquery())) or 0
    same = session.scalars(
        unresolved.where(
            Ticket.field == req.field,
            Ticket.dose_id == req.dose_id if req.dose_id is not None else Ticket.dose_id.is_(None),
        )
    ).first()
    if same is not None:
        raise rule_error(
            "field",
            "duplicate_ticket",
            f"Đã có phản ánh #{same.id} về trường này đang chờ xử lý",
            f"ticket #{same.id} about this field is still being handled",
            status=409,
        )
    if n_open >= MAX_OPEN:
        raise rule_error(
            "tickets",
            "too_many_open_tickets",
            f"Bạn đang có {n_open} phản ánh chưa xử lý (tối đa {MAX_OPEN})",
            f"you have {n_open} unresolved tickets (at most {MAX_OPEN})",
            status=429,
        )
    ticket = Ticket(
        person_pk=person.id,
        dose_id=req.dose_id,
        ward_code=person.ward_code,
        field=req.field,
        proposed_value=proposed,
        message=message,
        status="open",
        deadline=working_days_after(today, DEADLINE_WORKING_DAYS),
        created_by=actor.user_id,
        current_value=None if current is None else str(current),
        channel=req.channel,
    )
    session.add(ticket)
    session.flush()
    _add_review_item(session, ticket, person, dose)
    audit(
        session,
        actor,
        "ticket.open",
        "ticket",
        ticket.id,
        {"field": req.field, "dose_id": req.dose_id, "ward_code": person.ward_code},
    )
    return _public(session, ticket, person, today)


def _add_review_item(session: Session, ticket: Ticket, person: Person, dose: Dose | None) -> None:
    """The ticket's row in the ward's worklist. ``review_items.dose_id`` is required, so a
    report about register data is attached to the person's latest dose; a person with no
    dose at all has nothing in the worklist, and the ticket is in the ward's ticket list."""
    target = dose
    if target is None:
        target = session.scalars(
            select(Dose).where(Dose.person_pk == person.id).order_by(Dose.dose_date.desc())
        ).first()
    if target is None:
        return
    vi, en = FIELD_LABELS[ticket.field]
    about = "hồ sơ mũi tiêm" if dose is not None else "sổ dân cư"
    about_en = "dose record" if dose is not None else "register data"
    words = (
        f"Người dân báo {vi} trong {about} sai: {ticket.current_value!s} -> "
        f"{ticket.proposed_value!s} / the citizen reports the {en} of the {about_en} is wrong"
    )
    session.add(
        ReviewItem(
            dose_id=target.id,
            kind="ticket",
            reason=f"ticket {ticket.id}",
            ticket_id=ticket.id,
            ward_code=person.ward_code,
            province_code=person.province_code,
            person_pk=person.id,
            mismatches=ticket.field,
            candidates=[
                {
                    "person_id": person.person_id,
                    "match_probability": None,
                    "mismatches": [ticket.field],
                    "corrections": {ticket.field: ticket.proposed_value},
                    "ticket_id": ticket.id,
                }
            ],
            explanation=words + (f"; {ticket.message}" if ticket.message else ""),
            status=OPEN,
        )
    )
    session.flush()


def _visible(session: Session, actor: Actor, ticket_id: int) -> tuple[Ticket, Person | None]:
    if actor.role is Role.SITE:
        raise role_not_allowed(
            "Trạm tiêm không xem phản ánh",
            "site users do not see tickets",
        )
    row = session.execute(
        select(Ticket, Person)
        .outerjoin(Person, Person.id == Ticket.person_pk)
        .where(Ticket.id == ticket_id, ticket_filter(actor))
    ).first()
    if row is None:
        raise not_found("id", f"phản ánh {ticket_id}", f"ticket {ticket_id}")
    return row[0], row[1]


def get_ticket(session: Session, actor: Actor, ticket_id: int, *, today: date) -> dict[str, Any]:
    ticket, person = _visible(session, actor, ticket_id)
    return _public(session, ticket, person, today)


def list_tickets(
    session: Session,
    actor: Actor,
    *,
    today: date,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """The caller's tickets (a citizen's own; a ward's or province's), oldest deadline first."""
    if actor.role is Role.SITE:
        _visible(session, actor, 0)  # raises the 403
    if status is not None and status not in STATUSES:
        raise rule_error(
            "status",
            "invalid_choice",
            f"Trạng thái phải là một trong: {', '.join(STATUSES)}",
            f"status must be one of: {', '.join(STATUSES)}",
        )
    stmt = (
        select(Ticket, Person)
        .outerjoin(Person, Person.id == Ticket.person_pk)
        .where(ticket_filter(actor))
    )
    if status is not None:
        stmt = stmt.where(Ticket.status == status)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.execute(
        stmt.order_by(Ticket.deadline, Ticket.id).limit(max(1, min(limit, 500))).offset(offset)
    ).all()
    return [_public(session, t, p, today) for t, p in rows], total


def start_review(session: Session, actor: Actor, ticket_id: int, *, today: date) -> dict[str, Any]:
    """The commune has started checking: the citizen sees ``in_review``."""
    require_worklist_role(actor)
    ticket, person = _visible(session, actor, ticket_id)
    result = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.status == "open")
        .values(status="in_review")
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(ticket)
        raise _ticket_decided(ticket)
    session.refresh(ticket)
    audit(session, actor, "ticket.review", "ticket", ticket.id, None)
    return _public(session, ticket, person, today)


def _ticket_decided(ticket: Ticket) -> ServiceError:
    return rule_error(
        "id",
        "already_decided",
        f"Phản ánh #{ticket.id} đang ở trạng thái {ticket.status}",
        f"ticket #{ticket.id} is {ticket.status}",
        status=409,
    )


def decide(
    session: Session,
    actor: Actor,
    ticket_id: int,
    *,
    accept: bool,
    reason: str | None,
    today: date | None = None,
) -> dict[str, Any]:
    """Accept (apply the proposed value) or reject (with a reason) a ticket, and close its
    review item in the same transaction."""
    if actor.role not in WORKLIST_ROLES:
        require_worklist_role(actor)
    ticket, person = _visible(session, actor, ticket_id)
    why = (reason or "").strip()
    if not accept and not why:
        raise rule_error(
            "reason",
            "reason_required",
            "Cần ghi lý do từ chối để người dân biết",
            "a rejection needs a reason the citizen will read",
        )
    if ticket.status not in UNRESOLVED:
        raise _ticket_decided(ticket)
    status = "accepted" if accept else "rejected"
    if accept and not why:
        why = CORRECTED if ticket.dose_id is not None else FORWARDED
    now = datetime.now(UTC)
    result = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.status.in_(UNRESOLVED))
        .values(status=status, decided_by=actor.user_id, decided_at=now, decision=why)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(ticket)
        raise _ticket_decided(ticket)
    session.refresh(ticket)
    changes: list[dict[str, str | None]] = []
    forwarded = False
    if accept and ticket.dose_id is not None:
        dose = session.get(Dose, ticket.dose_id)
        assert dose is not None
        made = link_dose(
            session,
            actor,
            dose,
            person,
            source="citizen",
            corrections={ticket.field: ticket.proposed_value},
            reason=why,
            evidence={"ticket": ticket.id},
        )
        changes = [{"field": c.field, "old": c.old_value, "new": c.new_value} for c in made]
    elif accept:
        forwarded = True
        session.execute(
            insert(Correction).values(
                dose_id=None,
                person_pk=ticket.person_pk,
                field=ticket.field,
                old_value=ticket.current_value,
                new_value=ticket.proposed_value,
                source="citizen",
                user_id=actor.user_id,
                reason=why,
                evidence={"ticket": ticket.id, "forwarded_to_register": True},
            )
        )
        changes = [
            {"field": ticket.field, "old": ticket.current_value, "new": ticket.proposed_value}
        ]
    item = session.scalars(
        select(ReviewItem).where(ReviewItem.kind == "ticket", ReviewItem.ticket_id == ticket.id)
    ).first()
    if item is not None and item.status == OPEN:
        item.status = status
        item.decided_by = actor.user_id
        item.decided_at = now
        item.decision = {"action": "accept" if accept else "reject", "ticket": ticket.id}
        item.decision_reason = why
        session.flush()
    audit(
        session,
        actor,
        f"ticket.{'accept' if accept else 'reject'}",
        "ticket",
        ticket.id,
        {"reason": why, "changes": changes, "forwarded_to_register": forwarded},
    )
    out = _public(session, ticket, person, today or now.date())
    out["changes"] = changes
    return out


def decide_item(
    session: Session, actor: Actor, item: ReviewItem, *, accept: bool, reason: str | None
) -> dict[str, Any]:
    """A worklist decision on a ticket's review item: the ticket's own decision."""
    if item.status != OPEN:
        raise already_decided(item)
    ticket_id = ticket_id_of(item)
    if ticket_id is None:
        raise rule_error(
            "id", "ticket_missing", "Mục không gắn với phản ánh nào", "the item names no ticket"
        )
    done = decide(session, actor, ticket_id, accept=accept, reason=reason)
    session.refresh(item)
    return {
        "id": item.id,
        "status": item.status,
        "dose_id": item.dose_id,
        "dose_status": session.scalar(select(Dose.status).where(Dose.id == item.dose_id)),
        "person_id": done["person_id"],
        "changes": done["changes"],
        "decided_at": item.decided_at,
        "decision_reason": item.decision_reason,
        "ticket": done,
    }


def item_ticket(session: Session, item_id: int) -> dict[str, Any] | None:
    """What a reviewer needs to decide a ticket's worklist item (``item_id``: an item the
    caller was shown by :func:`tiemchung.registry.review.worklists.get_item`): the reported
    field, the value now held and the one proposed, and every person field as it is now and
    as it would be once the correction is applied, so the two columns differ exactly where the
    citizen asks for a change. ``None`` when the item names no ticket."""
    ticket = session.scalar(
        select(Ticket)
        .join(ReviewItem, ReviewItem.ticket_id == Ticket.id)
        .where(ReviewItem.id == item_id, ReviewItem.kind == "ticket")
    )
    if ticket is None:
        return None
    about_dose = ticket.dose_id is not None
    holder: Dose | Person | None = (
        session.get(Dose, ticket.dose_id) if about_dose else session.get(Person, ticket.person_pk)
    )
    now = {f: getattr(holder, f, None) if holder is not None else None for f in COMPARED}
    rows = [
        {
            "field": f,
            "current": now[f],
            "proposed": ticket.proposed_value if f == ticket.field else now[f],
            "reported": f == ticket.field,
        }
        for f in COMPARED
    ]
    vi, en = FIELD_LABELS[ticket.field]
    return {
        "id": ticket.id,
        "about": "dose" if about_dose else "register",
        "field": ticket.field,
        "label_vi": vi,
        "label_en": en,
        "current_value": ticket.current_value,
        "proposed_value": ticket.proposed_value,
        "message": ticket.message,
        "status": ticket.status,
        "outcome": outcome_of(ticket.status, about_dose),
        "deadline": ticket.deadline,
        "rows": rows,
    }
