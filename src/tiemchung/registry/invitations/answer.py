"""The invitee's answer through the short link: confirm, decline, or another slot.

No sign-in: the link's signed token (``auth/invitelinks.py``, checked by the front end) is the
capability for ONE invitation, so these functions take its id. An answer is possible while
the invitation is live and its session is planned or open on a day not yet past.

- confirm: an invited person confirms (a wait-listed one has no place to confirm yet);
- decline: the place is freed and goes to the first on the wait list, who is texted;
- another slot: the person moves to the next slot with a free place after theirs, or, when
  none is left, to the end of the wait list; the place they leave goes to the first on the
  wait list as for a decline (never back to themselves).

Each answer is one audit event by the invitee (``invitee:<id>``), and the session row is
locked while places are counted (as in ``send.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tiemchung.registry.catalog.sessions import OPEN, PLANNED
from tiemchung.registry.errors import not_found, rule_error
from tiemchung.registry.invitations.send import (
    LinkFor,
    free_places,
    last_wait_position,
    slots_of,
)
from tiemchung.registry.invitations.texts import moved_up_text
from tiemchung.registry.messages.outbox import enqueue
from tiemchung.registry.messages.templates import current
from tiemchung.registry.models import Site, VaccinationSession
from tiemchung.registry.scope import Actor, Role
from tiemchung.registry.tables.invitations import (
    CONFIRMED,
    DECLINED,
    INVITED,
    LIVE,
    WAITLISTED,
    Invitation,
)
from tiemchung.store.audit import audit

CONFIRM, DECLINE, RESCHEDULE = "confirm", "decline", "reschedule"
ACTIONS = (CONFIRM, DECLINE, RESCHEDULE)
#: each status in the invitee's words (the short link's page, the lists)
STATUS_WORDS: dict[str, tuple[str, str]] = {
    INVITED: ("Đã mời, chờ xác nhận", "invited, not yet confirmed"),
    CONFIRMED: ("Đã xác nhận", "confirmed"),
    WAITLISTED: ("Trong danh sách chờ", "on the wait list"),
    DECLINED: ("Đã từ chối", "declined"),
    "cancelled": ("Đã huỷ", "cancelled"),
}


def _invitee(invitation_id: int) -> Actor:
    return Actor(user_id=None, username=f"invitee:{invitation_id}", role=Role.CITIZEN)


@dataclass(frozen=True)
class InvitationView:
    """What the short link's page shows."""

    id: int
    status: str
    session_date: date
    slot: str
    site_name: str
    wait_position: int | None
    answerable: bool

    def as_dict(self) -> dict[str, Any]:
        vi, en = STATUS_WORDS.get(self.status, (self.status, self.status))
        return {
            "id": self.id,
            "status": self.status,
            "status_vi": vi,
            "status_en": en,
            "session_date": self.session_date.isoformat(),
            "slot": self.slot,
            "site_name": self.site_name,
            "wait_position": self.wait_position,
            "answerable": self.answerable,
        }


def _load(session: Session, invitation_id: int) -> tuple[Invitation, VaccinationSession]:
    inv = session.get(Invitation, invitation_id)
    if inv is None:
        raise not_found("invitation", f"lời mời {invitation_id}", f"invitation {invitation_id}")
    vs = session.get(VaccinationSession, inv.session_id)
    assert vs is not None
    return inv, vs


def _answerable(inv: Invitation, vs: VaccinationSession, today: date) -> bool:
    return inv.status in LIVE and vs.status in (PLANNED, OPEN) and vs.session_date >= today


def view(session: Session, invitation_id: int, today: date) -> InvitationView:
    """The invitation as its link shows it (no personal data beyond the appointment)."""
    inv, vs = _load(session, invitation_id)
    site = session.get(Site, vs.site_id)
    labels = {s.index: s.label for s in slots_of(vs)}
    return InvitationView(
        inv.id,
        inv.status,
        vs.session_date,
        labels.get(inv.slot_index, "") if inv.slot_index is not None else "",
        site.name if site else vs.site_id,
        inv.wait_position,
        _answerable(inv, vs, today),
    )


def _promote(
    session: Session,
    vs: VaccinationSession,
    slot: int,
    link_for: LinkFor,
    now: datetime,
    *,
    passed_over: int,
) -> Invitation | None:
    """Give a freed place in ``slot`` to the first on the wait list (never to the one who
    just left it, ``passed_over``), and text them."""
    first = session.scalars(
        select(Invitation)
        .where(
            Invitation.session_id == vs.id,
            Invitation.status == WAITLISTED,
            Invitation.id != passed_over,
        )
        .order_by(Invitation.wait_position, Invitation.id)
        .limit(1)
    ).first()
    if first is None:
        return None
    first.status, first.slot_index, first.wait_position = INVITED, slot, None
    first.updated_at = now
    session.flush()
    site = session.get(Site, vs.site_id)
    labels = {s.index: s.label for s in slots_of(vs)}
    moved = current(session, "moved_up")
    enqueue(
        session,
        phone=first.phone or "",
        body=moved_up_text(
            vs.session_date,
            labels.get(slot, ""),
            site.name if site else vs.site_id,
            link_for(first.id),
            moved,
        ),
        keep_accents=moved.keep_accents or None,
        kind="invitation",
        ref_type="invitation",
        ref_id=first.id,
        dedupe_key=f"invitation:{first.id}:place",
        person_id=first.person_id,
        ward_code=first.ward_code,
        province_code=first.province_code,
    )
    audit(
        session,
        _invitee(first.id),
        "invitation.promote",
        "invitation",
        first.id,
        {"session_id": vs.id, "slot_index": slot},
    )
    return first


def answer(
    session: Session,
    invitation_id: int,
    action: str,
    today: date,
    link_for: LinkFor,
) -> InvitationView:
    """Apply the invitee's answer (flushed; the caller commits) and show the result."""
    if action not in ACTIONS:
        raise rule_error(
            "action",
            "invalid_choice",
            f"Câu trả lời '{action}' không hợp lệ: xác nhận, từ chối hoặc đổi giờ",
            f"answer '{action}' is not one of: {', '.join(ACTIONS)}",
        )
    inv, vs = _load(session, invitation_id)
    session.execute(
        select(VaccinationSession.id).where(VaccinationSession.id == vs.id).with_for_update()
    )
    session.refresh(inv)
    if not _answerable(inv, vs, today):
        vi, en = STATUS_WORDS.get(inv.status, (inv.status, inv.status))
        raise rule_error(
            "invitation",
            "not_answerable",
            f"Lời mời này không còn trả lời được (trạng thái: {vi}; buổi tiêm ngày "
            f"{vs.session_date:%d/%m/%Y})",
            f"this invitation can no longer be answered (status: {en}; session on "
            f"{vs.session_date.isoformat()})",
            status=409,
        )
    now = datetime.now(UTC)
    before = {"status": inv.status, "slot_index": inv.slot_index}
    left: int | None = None
    if action == CONFIRM:
        if inv.status == WAITLISTED:
            raise rule_error(
                "invitation",
                "waitlisted",
                "Bạn đang trong danh sách chờ: sẽ có tin nhắn khi có chỗ",
                "you are on the wait list: a text will come when a place is free",
                status=409,
            )
        inv.status = CONFIRMED
    elif action == DECLINE:
        left = inv.slot_index
        inv.status, inv.slot_index, inv.wait_position = DECLINED, None, None
    else:
        left = inv.slot_index
        free = free_places(session, vs)
        later = [i for i in sorted(free) if free[i] > 0 and (left is None or i > left)]
        if later:
            inv.status, inv.slot_index, inv.wait_position = INVITED, later[0], None
        elif inv.status != WAITLISTED:  # to the end of the wait list (one already on it stays)
            position = last_wait_position(session, vs) + 1
            inv.status, inv.slot_index, inv.wait_position = WAITLISTED, None, position
    inv.responded_at = inv.updated_at = now
    session.flush()
    promoted = None
    if left is not None:
        promoted = _promote(session, vs, left, link_for, now, passed_over=inv.id)
    audit(
        session,
        _invitee(inv.id),
        f"invitation.{action}",
        "invitation",
        inv.id,
        {
            "session_id": vs.id,
            "before": before,
            "after": {"status": inv.status, "slot_index": inv.slot_index},
            "promoted": promoted.id if promoted else None,
        },
    )
    return view(session, inv.id, today)
