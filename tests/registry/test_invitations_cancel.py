"""A session cancelled with its invitations (registry/invitations/cancel.py), over SQLite and
PostgreSQL: no invitation stays live, a text still waiting is withdrawn, a person already
texted gets one cancellation text; and the organisation's selection (its own people only)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from tests.factories import resolve_scope
from tests.registry.invite_world import TODAY, link, person, plan
from tiemchung.core import Platform
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.invitations import send as svc
from tiemchung.registry.invitations.cancel import cancel_with_invitations
from tiemchung.registry.invitations.select import Selection
from tiemchung.registry.models import AuditEvent, VaccinationSession
from tiemchung.registry.scope import Actor, Role
from tiemchung.registry.tables.invitations import Invitation
from tiemchung.registry.tables.messages import OutboxMessage

SITE_A1 = Actor(None, "site_a1", Role.SITE, **resolve_scope({"site_id": "a1"}))  # type: ignore[arg-type]


def test_cancelling_a_session_cancels_its_invitations_and_tells_who_was_texted(
    platform: Platform,
) -> None:
    with platform.sessions() as s:
        sid = plan(s, [("07:30", "09:00", 3)])
        for i in range(3):
            person(s, f"c{i}", dob=f"19{40 + i}-05-05")
        s.commit()
        sent = svc.send_invitations(s, SITE_A1, sid, Selection(), TODAY, link, wait_list=1)
        s.commit()
        assert (sent.invited, sent.waitlisted) == (3, 1)
        texts = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert len(texts) == 3
        # the sender has already sent the first two; the third still waits
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_([t.id for t in texts[:2]]))
            .values(status="sent")
        )
        s.commit()
        texted = {t.ref_id for t in texts[:2]}
        waiting = texts[2].id

        done = cancel_with_invitations(s, SITE_A1, sid)
        s.commit()
        assert (done.invitations, done.texts_withdrawn, done.texts_queued) == (4, 1, 2)
        assert s.get(VaccinationSession, sid).status == "cancelled"  # type: ignore[union-attr]
        statuses = set(s.scalars(select(Invitation.status).where(Invitation.session_id == sid)))
        assert statuses == {"cancelled"}
        assert s.get(OutboxMessage, waiting).status == "cancelled"  # type: ignore[union-attr]
        told = s.scalars(select(OutboxMessage).where(OutboxMessage.body.contains("da huy"))).all()
        assert {t.ref_id for t in told} == texted  # the two texted, not the waiting nor the list
        assert all(t.status == "queued" and len(t.body) <= 160 for t in told)
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "invitation.cancel")).one()
        assert event.detail == {"invitations": 4, "texts_withdrawn": 1, "texts_queued": 2}


def test_a_session_that_cannot_be_cancelled_keeps_its_invitations(platform: Platform) -> None:
    with platform.sessions() as s:
        sid = plan(s, [("07:30", "09:00", 1)])
        person(s, "k0", dob="1950-01-01")
        s.commit()
        svc.send_invitations(s, SITE_A1, sid, Selection(), TODAY, link, wait_list=0)
        s.commit()
        s.get(VaccinationSession, sid).status = "closed"  # type: ignore[union-attr]
        s.commit()
        with pytest.raises(ServiceError):
            cancel_with_invitations(s, SITE_A1, sid)
        s.rollback()
        statuses = set(s.scalars(select(Invitation.status).where(Invitation.session_id == sid)))
        assert statuses == {"invited"}


def test_an_organisation_s_selection_invites_its_people_only(platform: Platform) -> None:
    """The people an organisation put forward (a source row not withdrawn), not another's,
    not one it withdrew."""
    from tests.registry.invite_world import register
    from tiemchung.registry.tables.registrations import Organisation, RegistrationSource

    with platform.sessions() as s:
        orgs = [
            Organisation(
                name=f"Org {k}", code=f"03000000{k}", kind="company", ward_code="x",
                province_code="y", status="approved",
            )
            for k in (1, 2)
        ]  # fmt: skip
        s.add_all(orgs)
        s.flush()
        ours, theirs, gone = (person(s, f"o{i}", dob=f"19{60 + i}-01-01") for i in range(3))
        for pid, org, withdrawn in ((ours, 0, False), (theirs, 1, False), (gone, 0, True)):
            reg = register(s, pid, None)
            s.add(
                RegistrationSource(
                    registration_id=reg,
                    organisation_id=orgs[org].id,
                    source="organisation",
                    submitted={},
                    result="verified",
                    withdrawn_at=TODAY if withdrawn else None,
                )
            )
        sid = plan(s, [("07:30", "09:00", 5)])
        s.commit()
        sel = Selection(organisation_id=orgs[0].id)
        done = svc.send_invitations(s, SITE_A1, sid, sel, TODAY, link, wait_list=0)
        s.commit()
        invited = set(s.scalars(select(Invitation.person_id).where(Invitation.session_id == sid)))
        assert done.invited == 1 and invited == {ours}
