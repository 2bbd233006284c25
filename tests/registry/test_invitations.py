"""Invitations from a planned session (registry/invitations), over SQLite and PostgreSQL:
places within capacity slot by slot, the wait list, the texts in the same transaction, the
order of who is invited first, the selections, and never a person booked twice."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tests.factories import resolve_scope, world
from tests.registry.invite_world import (
    CENTRAL,
    DAY,
    TODAY,
    dose,
    groups,
    link,
    person,
    plan,
    register,
)
from tiemchung.core import Platform
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.invitations import send as svc
from tiemchung.registry.invitations.select import Selection
from tiemchung.registry.models import AuditEvent, Person
from tiemchung.registry.scope import Actor, Role
from tiemchung.registry.tables.invitations import Invitation
from tiemchung.registry.tables.messages import OutboxMessage

SITE_A1 = Actor(None, "site_a1", Role.SITE, **resolve_scope({"site_id": "a1"}))  # type: ignore[arg-type]
WARD_B1 = Actor(None, "ward_b1", Role.COMMUNE, **resolve_scope({"ward_code": "b1"}))  # type: ignore[arg-type]


def _world_a1_ids(s) -> list[int]:  # type: ignore[no-untyped-def]
    """The shared world's people of ward a1 with a phone (an, binh): eligible too."""
    return list(
        s.scalars(
            select(Person.id).where(
                Person.ward_code == world().wards["a1"], Person.phone.is_not(None)
            )
        )
    )


def test_places_fill_slot_by_slot_then_the_wait_list_and_each_place_is_texted(
    platform: Platform,
) -> None:
    with platform.sessions() as s:
        sid = plan(s, [("07:30", "09:00", 2), ("09:00", "11:00", 1)])
        extra = [person(s, f"x{i}", dob=f"19{50 + i}-05-05") for i in range(4)]
        s.commit()
        everyone = set(_world_a1_ids(s)) | set(extra)
        assert len(everyone) == 6
        result = svc.send_invitations(s, SITE_A1, sid, Selection(), TODAY, link, wait_list=2)
        s.commit()
        assert (result.invited, result.waitlisted, result.texts_queued) == (3, 2, 3)
        rows = s.scalars(select(Invitation).where(Invitation.session_id == sid)).all()
        assert len(rows) == 5 and len({r.person_id for r in rows}) == 5
        assert {r.person_id for r in rows} <= everyone
        slotted = sorted((r.slot_index for r in rows if r.status == "invited"), key=int)
        assert slotted == [0, 0, 1]
        waiting = sorted(r.wait_position for r in rows if r.status == "waitlisted")
        assert waiting == [1, 2]
        # the eldest first (no group, no dose due): x0 (1950), x1 (1951), x2 (1952)
        first = {r.person_id for r in rows if r.status == "invited"}
        assert first == set(extra[:3])
        texts = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "invitation")).all()
        assert sorted(int(t.ref_id or 0) for t in texts) == sorted(
            r.id for r in rows if r.status == "invited"
        )
        for t in texts:
            assert t.body.isascii() and len(t.body) <= 160
            assert f"https://tc.example/i/{t.ref_id}" in t.body
            assert "10/12" in t.body and "Tram Y te a1" in t.body
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "invitation.send")).one()
        assert event.detail is not None and event.detail["invited"] == 3
        assert sorted(event.detail["person_ids"]) == sorted(r.person_id for r in rows)


def test_a_second_run_invites_nobody_twice_and_only_grows_the_wait_list(
    platform: Platform,
) -> None:
    with platform.sessions() as s:
        sid = plan(s, [("07:30", "09:00", 2)])
        for i in range(5):
            person(s, f"y{i}")
        s.commit()
        first = svc.send_invitations(s, CENTRAL, sid, Selection(), TODAY, link, wait_list=1)
        s.commit()
        second = svc.send_invitations(s, CENTRAL, sid, Selection(), TODAY, link, wait_list=3)
        s.commit()
        assert (first.invited, first.waitlisted) == (2, 1)
        assert (second.invited, second.waitlisted) == (0, 2)
        rows = s.scalars(select(Invitation).where(Invitation.session_id == sid)).all()
        assert len({r.person_id for r in rows}) == len(rows) == 5
        assert sorted(r.wait_position for r in rows if r.wait_position) == [1, 2, 3]


def test_another_session_of_the_day_skips_the_invited_and_the_database_refuses_a_double(
    platform: Platform,
) -> None:
    with platform.sessions() as s:
        first = plan(s, [("07:30", "09:00", 10)])
        other = plan(s, [("13:00", "15:00", 10)], site="S-A2")
        later = plan(s, [("07:00", "08:00", 10)], site="S-A2", day=date(2026, 12, 20))
        s.commit()
        a = svc.send_invitations(s, CENTRAL, first, Selection(), TODAY, link)
        s.commit()
        ward = world().wards["a1"]
        b = svc.send_invitations(s, CENTRAL, other, Selection(ward_code=ward), TODAY, link)
        c = svc.send_invitations(s, CENTRAL, later, Selection(ward_code=ward), TODAY, link)
        s.commit()
        assert a.invited == 2 and (b.invited, b.waitlisted) == (0, 0) and c.invited == 0
        taken = s.scalars(select(Invitation).where(Invitation.session_id == first)).first()
        assert taken is not None
        s.add(
            Invitation(
                session_id=other,
                session_date=DAY,
                person_id=taken.person_id,
                status="invited",
                slot_index=0,
            )
        )
        with pytest.raises(IntegrityError):
            s.flush()
        s.rollback()


def test_groups_go_first_and_a_group_selection_takes_only_the_group(platform: Platform) -> None:
    with platform.sessions() as s:
        groups(s)
        sid = plan(s, [("07:30", "09:00", 2)])
        young_g1 = person(s, "g1", dob="2000-01-01")
        old_g2 = person(s, "g2", dob="1940-01-01")
        old_none = person(s, "none", dob="1930-01-01")
        register(s, young_g1, "G1", phone="0912999001")
        register(s, old_g2, "G2")
        s.commit()
        result = svc.send_invitations(s, CENTRAL, sid, Selection(), TODAY, link, wait_list=0)
        s.commit()
        got = s.scalars(select(Invitation).where(Invitation.session_id == sid)).all()
        assert result.invited == 2 and {r.person_id for r in got} == {young_g1, old_g2}
        g1 = next(r for r in got if r.person_id == young_g1)
        assert g1.phone == "0912999001" and g1.slot_index == 0  # the registration's number
        other = plan(s, [("07:30", "09:00", 5)], day=date(2026, 12, 11))
        s.commit()
        only = svc.send_invitations(s, CENTRAL, other, Selection(groups=["G2"]), TODAY, link)
        assert only.invited == 0  # G2's one person is already invited for the 10th
        assert old_none not in {r.person_id for r in got}


def test_due_by_and_the_age_band_select_by_the_dose_rules(platform: Platform) -> None:
    with platform.sessions() as s:
        sid = plan(s, [("07:30", "09:00", 10)])
        due = person(s, "due", dob="1990-01-01")
        dose(s, due, 1, date(2026, 11, 1))  # Pfizer: dose 2 due from 2026-11-22
        not_yet = person(s, "notyet", dob="1990-01-01")
        dose(s, not_yet, 1, date(2026, 11, 30))  # dose 2 from 2026-12-21: after the session
        done = person(s, "done", dob="1990-01-01")
        for n, d in ((1, date(2025, 1, 1)), (2, date(2025, 2, 1)), (3, date(2025, 6, 1))):
            dose(s, done, n, d)  # primary series and one booster: nothing more due
        never = person(s, "never", dob="1990-01-01")
        s.commit()
        preview = svc.preview(s, CENTRAL, sid, Selection(due_by=date(2026, 12, 1)), TODAY)
        assert (preview.eligible, preview.would_invite) == (1, 1)
        result = svc.send_invitations(
            s, CENTRAL, sid, Selection(min_age=30, max_age=40), TODAY, link
        )
        s.commit()
        got = {r.person_id for r in s.scalars(select(Invitation))}
        binh = s.scalar(select(Person.id).where(Person.person_id == "P-BINH"))  # born 1990
        # 36 this year: due, never and binh; not_yet is too early, done has nothing due,
        # an (born 1985) is 41
        assert result.invited == 3 and got == {due, never, binh}


def test_refusals_name_their_field(platform: Platform) -> None:
    with platform.sessions() as s:
        sid = plan(s, [("07:30", "09:00", 2)])
        s.commit()
        with pytest.raises(ServiceError) as exc:
            svc.send_invitations(s, WARD_B1, sid, Selection(), TODAY, link)
        assert exc.value.status == 404
        with pytest.raises(ServiceError) as exc:
            svc.preview(s, CENTRAL, sid, Selection(min_age=50, max_age=20), TODAY)
        assert exc.value.problems[0].field == "min_age"
        with pytest.raises(ServiceError) as exc:
            svc.preview(s, SITE_A1, sid, Selection(ward_code=world().wards["a2"]), TODAY)
        assert (exc.value.status, exc.value.problems[0].rule) == (403, "outside_area")
        with pytest.raises(ServiceError) as exc:
            svc.send_invitations(s, CENTRAL, sid, Selection(), date(2026, 12, 11), link)
        assert exc.value.problems[0].rule == "session_not_invitable"
        message = exc.value.problems[0]
        assert "10/12/2026" in message.message_vi and "2026-12-10" in message.message_en
