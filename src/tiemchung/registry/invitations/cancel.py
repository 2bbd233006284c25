"""A planned session cancelled with the people it invited (issue 18).

``registry/catalog/sessions.cancel_session`` cancels the session itself; a session with
invitations also has people expecting to come. Here, in the same transaction: every live
invitation (invited, confirmed, waiting) is cancelled, a text not yet taken by the sender is
cancelled with it (the person never heard of the place), and whoever was already texted gets
one text saying the session is cancelled. The CLI, the API and the sessions page call
:func:`cancel_with_invitations`, so no cancellation leaves an invitation live. (It lives here,
not in the catalogue, because invitations read sessions, never the other way round.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tiemchung.registry.catalog.sessions import cancel_session
from tiemchung.registry.invitations.texts import cancelled_text
from tiemchung.registry.messages.outbox import Text, enqueue_many
from tiemchung.registry.messages.templates import current
from tiemchung.registry.models import Site, VaccinationSession
from tiemchung.registry.scope import Actor
from tiemchung.registry.tables.invitations import CANCELLED, LIVE, Invitation
from tiemchung.registry.tables.messages import OutboxMessage
from tiemchung.store.audit import audit


@dataclass(frozen=True)
class Cancelled:
    """The cancelled session and what became of its invitations."""

    session: VaccinationSession
    invitations: int
    texts_withdrawn: int
    texts_queued: int


def cancel_with_invitations(session: Session, actor: Actor, session_id: int) -> Cancelled:
    """Cancel a planned session (``cancel_session``'s rules and refusals) and its invitations;
    one audit event for the invitations beside the session's own."""
    vs = cancel_session(session, actor, session_id)
    live = list(
        session.scalars(
            select(Invitation).where(Invitation.session_id == vs.id, Invitation.status.in_(LIVE))
        )
    )
    if not live:
        return Cancelled(vs, 0, 0, 0)
    ids = [str(inv.id) for inv in live]
    # the texts still waiting for the sender are simply not sent (one the sender has claimed
    # is on its way: its person is told of the cancellation like the others)
    withdrawn = set(
        session.scalars(
            update(OutboxMessage)
            .where(
                OutboxMessage.ref_type == "invitation",
                OutboxMessage.ref_id.in_(ids),
                OutboxMessage.status == "queued",
            )
            .values(status="cancelled", last_error="session_cancelled")
            .returning(OutboxMessage.ref_id)
        )
    )
    texted = set(
        session.scalars(
            select(OutboxMessage.ref_id).where(
                OutboxMessage.ref_type == "invitation",
                OutboxMessage.ref_id.in_(ids),
                OutboxMessage.status.in_(("sending", "sent", "delivered")),
            )
        )
    )
    now = datetime.now(UTC)
    for inv in live:
        inv.status, inv.updated_at = CANCELLED, now
    site = session.get(Site, vs.site_id)
    template = current(session, "cancelled")
    body = cancelled_text(vs.session_date, site.name if site else vs.site_id, template)
    answers = enqueue_many(
        session,
        [
            Text(
                phone=inv.phone or "",
                body=body,
                keep_accents=template.keep_accents or None,
                kind="invitation",
                ref_type="invitation",
                ref_id=inv.id,
                dedupe_key=f"invitation-cancelled:{inv.id}",
                person_id=inv.person_id,
                ward_code=inv.ward_code,
                province_code=inv.province_code,
                created_by=actor.user_id,
            )
            for inv in live
            if str(inv.id) in texted and str(inv.id) not in withdrawn
        ],
    )
    session.flush()
    result = Cancelled(vs, len(live), len(withdrawn), sum(a.created for a in answers))
    audit(
        session,
        actor,
        "invitation.cancel",
        "session",
        vs.id,
        {
            "invitations": result.invitations,
            "texts_withdrawn": result.texts_withdrawn,
            "texts_queued": result.texts_queued,
        },
    )
    return result
