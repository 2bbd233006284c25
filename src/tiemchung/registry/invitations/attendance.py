"""A session's invitations as the staff see them: the list with statuses, what the desk sees
at check-in, and the no-shows after the session.

A no-show is a person invited to the session (confirmed or not) with no dose recorded on its
day, at any site (someone vaccinated elsewhere that day came to a vaccination, not to ours:
still not a no-show of consequence, so not listed). Double entries are not doses given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session

from tiemchung.registry.catalog.sessions import get_session
from tiemchung.registry.invitations.answer import STATUS_WORDS
from tiemchung.registry.invitations.send import may_invite, slots_of
from tiemchung.registry.models import Dose, Person, VaccinationSession
from tiemchung.registry.scope import Actor, Role
from tiemchung.registry.tables.invitations import CONFIRMED, INVITED, STATUSES, Invitation

#: the most rows one list answers (the page pages on)
MAX_ROWS = 5_000


def _row(actor: Actor, inv: Invitation, person: Person, labels: dict[int, str]) -> dict[str, Any]:
    """One invitation as a list shows it; a site sees no phone numbers (personal data by
    need: the commune, which calls people, does; the site needs the names at its desk)."""
    vi, en = STATUS_WORDS.get(inv.status, (inv.status, inv.status))
    return {
        "id": inv.id,
        "person_id": person.person_id,
        "full_name": person.full_name,
        "phone": None if actor.role is Role.SITE else inv.phone,
        "status": inv.status,
        "status_vi": vi,
        "status_en": en,
        "slot": labels.get(inv.slot_index, "") if inv.slot_index is not None else "",
        "wait_position": inv.wait_position,
        "responded_at": inv.responded_at.isoformat() if inv.responded_at else None,
    }


def list_invitations(
    session: Session, actor: Actor, session_id: int, *, status: str | None = None
) -> dict[str, Any]:
    """A session's invitations (in slot, then wait-list order) and the counts by status."""
    may_invite(actor)
    vs = get_session(session, actor, session_id)
    counts = dict(
        session.execute(
            select(Invitation.status, func.count())
            .where(Invitation.session_id == vs.id)
            .group_by(Invitation.status)
        ).all()
    )
    stmt = (
        select(Invitation, Person)
        .join(Person, Person.id == Invitation.person_id)
        .where(Invitation.session_id == vs.id)
        .order_by(
            Invitation.slot_index.is_(None),
            Invitation.slot_index,
            Invitation.wait_position,
            Invitation.id,
        )
        .limit(MAX_ROWS)
    )
    if status:
        stmt = stmt.where(Invitation.status == status)
    labels = {s.index: s.label for s in slots_of(vs)}
    rows = [_row(actor, inv, p, labels) for inv, p in session.execute(stmt).all()]
    return {
        "session_id": vs.id,
        "session_date": vs.session_date.isoformat(),
        "counts": {s: int(counts.get(s, 0)) for s in STATUSES},
        "items": rows,
    }


def no_shows(session: Session, actor: Actor, session_id: int) -> list[dict[str, Any]]:
    """Invited or confirmed, and no dose recorded on the session's day."""
    may_invite(actor)
    vs = get_session(session, actor, session_id)
    dosed = exists().where(
        and_(
            Dose.person_pk == Invitation.person_id,
            Dose.dose_date == vs.session_date,
            Dose.status != "duplicate",
        )
    )
    stmt = (
        select(Invitation, Person)
        .join(Person, Person.id == Invitation.person_id)
        .where(
            Invitation.session_id == vs.id,
            Invitation.status.in_((INVITED, CONFIRMED)),
            ~dosed,
        )
        .order_by(Invitation.slot_index, Invitation.id)
        .limit(MAX_ROWS)
    )
    labels = {s.index: s.label for s in slots_of(vs)}
    return [_row(actor, inv, p, labels) for inv, p in session.execute(stmt).all()]


@dataclass(frozen=True)
class DeskInvitation:
    """What the desk sees at check-in: the person was invited here today, and answered so."""

    session_id: int
    status: str
    slot: str

    @property
    def confirmed(self) -> bool:
        return self.status == CONFIRMED

    def as_dict(self) -> dict[str, Any]:
        vi, en = STATUS_WORDS.get(self.status, (self.status, self.status))
        return {
            "session_id": self.session_id,
            "status": self.status,
            "status_vi": vi,
            "status_en": en,
            "slot": self.slot,
            "confirmed": self.confirmed,
        }


def desk_invitation(
    session: Session, person_id: str, site_id: str, day: date
) -> DeskInvitation | None:
    """The live invitation of the register person ``person_id`` to a session of ``site_id``
    on ``day``, if any: what the desk shows beside the check-in's match (the desk has already
    verified the person; this adds no personal data)."""
    row = session.execute(
        select(Invitation, VaccinationSession)
        .join(VaccinationSession, VaccinationSession.id == Invitation.session_id)
        .join(Person, Person.id == Invitation.person_id)
        .where(
            Person.person_id == person_id,
            Invitation.session_date == day,
            VaccinationSession.site_id == site_id,
            Invitation.status.in_((INVITED, CONFIRMED, "waitlisted")),
        )
    ).first()
    if row is None:
        return None
    inv, vs = row
    labels = {s.index: s.label for s in slots_of(vs)}
    slot = labels.get(inv.slot_index, "") if inv.slot_index is not None else ""
    return DeskInvitation(vs.id, inv.status, slot)
