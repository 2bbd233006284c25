"""Invite from a planned session: places in the slots within capacity, a wait list, one text
each, in ONE transaction (the texts are the outbox's rows: an invitation rolled back texts
nobody).

The session's row is locked for the run (PostgreSQL ``FOR UPDATE``; SQLite has one writer), so
two runs for one session count the free places one after the other. The database's partial
unique index (``registry/tables/invitations.py``) is the last word on "one live invitation per
person per day": a race with another session of the day is a 409, to try again, never a
person booked twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tiemchung.registry.catalog.sessions import OPEN, PLANNED, get_session
from tiemchung.registry.errors import ServiceError, role_not_allowed, rule_error
from tiemchung.registry.invitations import select as pick
from tiemchung.registry.invitations.texts import invitation_text
from tiemchung.registry.messages.outbox import Text, enqueue_many
from tiemchung.registry.messages.templates import current
from tiemchung.registry.models import Site, VaccinationSession
from tiemchung.registry.scope import Actor, Role
from tiemchung.registry.tables.invitations import INVITED, WAITLISTED, Invitation
from tiemchung.store.audit import audit

#: the wait list kept beyond capacity, as a share of the capacity (at least one person)
WAIT_SHARE = 0.2
#: a link for an invitation id (the front end signs it: ``auth/invitelinks.py``)
LinkFor = Callable[[int], str]


@dataclass(frozen=True)
class Slot:
    """One slot of a session as invitations use it."""

    index: int
    label: str  # "07:30-11:00", or "" for a session planned without slots
    capacity: int


def slots_of(vs: VaccinationSession) -> list[Slot]:
    """The session's slots; a session planned without slots is one slot of its capacity."""
    planned = vs.time_slots or []
    if not planned:
        return [Slot(0, "", vs.planned_count)]
    return [Slot(i, f"{s['start']}-{s['end']}", int(s["capacity"])) for i, s in enumerate(planned)]


def free_places(session: Session, vs: VaccinationSession) -> dict[int, int]:
    """Places left in each slot (capacity − live invitations holding a place)."""
    held = dict(
        session.execute(
            select(Invitation.slot_index, func.count())
            .where(
                Invitation.session_id == vs.id,
                Invitation.status.in_((INVITED, "confirmed")),
                Invitation.slot_index.is_not(None),
            )
            .group_by(Invitation.slot_index)
        ).all()
    )
    return {s.index: max(0, s.capacity - int(held.get(s.index, 0))) for s in slots_of(vs)}


def last_wait_position(session: Session, vs: VaccinationSession) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.max(Invitation.wait_position), 0)).where(
                Invitation.session_id == vs.id, Invitation.status == WAITLISTED
            )
        )
        or 0
    )


def may_invite(actor: Actor) -> None:
    if actor.role is Role.CITIZEN:
        raise role_not_allowed(
            "Chỉ cán bộ y tế được mời người đến tiêm",
            "only health staff may invite people to a session",
        )


def invitable_session(
    session: Session, actor: Actor, session_id: int, today: date, *, lock: bool = False
) -> VaccinationSession:
    """A session of the caller's area that may still invite: planned or open, today or later."""
    may_invite(actor)
    vs = get_session(session, actor, session_id)
    if lock:
        session.execute(
            select(VaccinationSession.id).where(VaccinationSession.id == vs.id).with_for_update()
        )
    if vs.status not in (PLANNED, OPEN) or vs.session_date < today:
        raise rule_error(
            "session_id",
            "session_not_invitable",
            f"Buổi tiêm {vs.id} ({vs.session_date:%d/%m/%Y}, {vs.status}) đã qua, đóng hoặc huỷ: "
            "không mời thêm được",
            f"session {vs.id} ({vs.session_date.isoformat()}, {vs.status}) is past, closed or "
            "cancelled: nobody more can be invited",
            status=409,
        )
    return vs


@dataclass(frozen=True)
class Preview:
    """What a send would do, without doing it."""

    session_id: int
    ward_code: str
    eligible: int
    with_phone: int
    free: int
    wait_room: int

    @property
    def would_invite(self) -> int:
        return min(self.with_phone, self.free)

    @property
    def would_wait(self) -> int:
        return min(max(0, self.with_phone - self.free), self.wait_room)

    def as_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "ward_code": self.ward_code,
            "eligible": self.eligible,
            "with_phone": self.with_phone,
            "without_phone": self.eligible - self.with_phone,
            "free_places": self.free,
            "would_invite": self.would_invite,
            "would_wait_list": self.would_wait,
        }


def _wait_room(vs: VaccinationSession, session: Session, wait_list: int | None) -> int:
    if wait_list is not None and not 0 <= wait_list <= 100_000:
        raise rule_error(
            "wait_list",
            "out_of_range",
            "Danh sách chờ phải từ 0 đến 100000 người",
            "the wait list must be 0 to 100000 people",
        )
    wanted = max(1, int(vs.planned_count * WAIT_SHARE)) if wait_list is None else wait_list
    waiting = session.scalar(
        select(func.count()).where(Invitation.session_id == vs.id, Invitation.status == WAITLISTED)
    )
    return max(0, wanted - int(waiting or 0))


def preview(
    session: Session,
    actor: Actor,
    session_id: int,
    sel: pick.Selection,
    today: date,
    *,
    wait_list: int | None = None,
) -> Preview:
    """The counts the page shows before sending: eligible, with a phone, places, wait list."""
    pick.check_selection(sel)
    vs = invitable_session(session, actor, session_id, today)
    ward = pick.ward_of_selection(session, actor, vs, sel)
    eligible, with_phone = pick.count_eligible(session, vs, sel, ward, today)
    free = sum(free_places(session, vs).values())
    return Preview(vs.id, ward, eligible, with_phone, free, _wait_room(vs, session, wait_list))


@dataclass
class SendResult:
    """What a send did."""

    session_id: int
    invited: int = 0
    waitlisted: int = 0
    texts_queued: int = 0
    texts_not_sendable: int = 0  # an invalid number or one that opted out: listed, not sent
    invitation_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "invited": self.invited,
            "waitlisted": self.waitlisted,
            "texts_queued": self.texts_queued,
            "texts_not_sendable": self.texts_not_sendable,
        }


def send_invitations(
    session: Session,
    actor: Actor,
    session_id: int,
    sel: pick.Selection,
    today: date,
    link_for: LinkFor,
    *,
    wait_list: int | None = None,
) -> SendResult:
    """Invite the selection into the session's free places, keep a wait list, queue one text
    per person invited (flushed; the caller commits); one audit event for the run."""
    pick.check_selection(sel)
    vs = invitable_session(session, actor, session_id, today, lock=True)
    ward = pick.ward_of_selection(session, actor, vs, sel)
    free = free_places(session, vs)
    room = _wait_room(vs, session, wait_list)
    rows = pick.candidates(session, vs, sel, ward, sum(free.values()) + room, today)
    position = last_wait_position(session, vs)
    slot_order = [i for i in sorted(free) for _ in range(free[i])]
    now = datetime.now(UTC)
    reason = _reason(sel)
    made: list[dict[str, Any]] = []
    for n, row in enumerate(rows):
        slot = slot_order[n] if n < len(slot_order) else None
        if slot is None:
            position += 1
        made.append(
            {
                "session_id": vs.id,
                "session_date": vs.session_date,
                "person_id": row.person_id,
                "registration_id": row.registration_id,
                "slot_index": slot,
                "wait_position": None if slot is not None else position,
                "status": INVITED if slot is not None else WAITLISTED,
                "phone": row.phone,
                "ward_code": row.ward_code,
                "province_code": row.province_code,
                "reason": reason,
                "created_by": actor.user_id,
                "updated_at": now,
            }
        )
    result = SendResult(vs.id)
    if made:
        # one statement for all the rows (the ORM's unit of work per object costs more),
        # the ids back in the rows' order
        stmt = insert(Invitation).returning(Invitation.id, sort_by_parameter_order=True)
        try:
            ids = list(session.scalars(stmt, made))
        except IntegrityError as exc:
            raise _raced(vs) from exc
        for inv, new_id in zip(made, ids, strict=True):
            inv["id"] = new_id
    site = session.get(Site, vs.site_id)
    site_name = site.name if site else vs.site_id
    labels = {s.index: s.label for s in slots_of(vs)}
    texts: list[Text] = []
    template = current(session, "invitation")  # once per run, not per text
    for inv in made:
        result.invitation_ids.append(inv["id"])
        if inv["status"] == WAITLISTED:
            result.waitlisted += 1
            continue
        result.invited += 1
        texts.append(
            Text(
                phone=inv["phone"] or "",
                body=invitation_text(
                    vs.session_date,
                    labels.get(inv["slot_index"], ""),
                    site_name,
                    link_for(inv["id"]),
                    template,
                ),
                keep_accents=template.keep_accents or None,
                kind="invitation",
                ref_type="invitation",
                ref_id=inv["id"],
                # no dedupe_key: the invitation was created in this transaction, so it
                # cannot have a text yet
                person_id=inv["person_id"],
                ward_code=inv["ward_code"],
                province_code=inv["province_code"],
                created_by=actor.user_id,
            )
        )
    # one insert for every text (one enqueue each was 5 of a 2,000-place run's 7 seconds)
    for queued in enqueue_many(session, texts):
        if queued.status == "queued":
            result.texts_queued += 1
        else:
            result.texts_not_sendable += 1
    audit(
        session,
        actor,
        "invitation.send",
        "session",
        vs.id,
        {
            **result.as_dict(),
            "ward_code": ward,
            "selection": sel.as_dict(),
            "person_ids": [inv["person_id"] for inv in made],
        },
    )
    return result


def _reason(sel: pick.Selection) -> str:
    parts = []
    if sel.groups:
        parts.append("group=" + ",".join(sel.groups))
    if sel.min_age is not None or sel.max_age is not None:
        parts.append(f"age={sel.min_age or ''}-{sel.max_age or ''}")
    if sel.organisation_id is not None:
        parts.append(f"org={sel.organisation_id}")
    if sel.due_by is not None:
        parts.append(f"due_by={sel.due_by.isoformat()}")
    return ";".join(parts)[:120] or "all"


def _raced(vs: VaccinationSession) -> ServiceError:
    return rule_error(
        "session_id",
        "invited_elsewhere",
        f"Trong lúc gửi, một số người vừa được mời vào buổi tiêm khác ngày "
        f"{vs.session_date:%d/%m/%Y}; không ai bị mời hai lần — hãy gửi lại",
        f"while sending, some people were invited to another session on "
        f"{vs.session_date.isoformat()}; nobody was booked twice — send again",
        status=409,
    )
