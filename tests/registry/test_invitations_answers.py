"""The invitee's answers (registry/invitations/answer.py) and the staff's lists
(attendance.py), over SQLite and PostgreSQL: confirm, decline (the first on the wait list
moves up and is texted), another slot (the next free one, else the end of the wait list), what
the desk sees, and the no-shows."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests.registry.invite_world import CENTRAL, DAY, TODAY, dose, link, person, plan
from tiemchung.core import Platform
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.invitations import answer, attendance
from tiemchung.registry.invitations import send as svc
from tiemchung.registry.invitations.select import Selection
from tiemchung.registry.models import AuditEvent
from tiemchung.registry.tables.invitations import Invitation
from tiemchung.registry.tables.messages import OutboxMessage


def _setup(s, slots, n, wait):  # type: ignore[no-untyped-def]
    sid = plan(s, slots)
    ids = [person(s, f"z{i}", dob=f"19{40 + i}-01-01") for i in range(n)]
    s.commit()
    svc.send_invitations(s, CENTRAL, sid, Selection(), TODAY, link, wait_list=wait)
    s.commit()
    by_person = {i.person_id: i for i in s.scalars(select(Invitation))}
    return sid, [by_person[p] for p in ids if p in by_person]


def test_decline_frees_the_place_for_the_first_on_the_wait_list(platform: Platform) -> None:
    with platform.sessions() as s:
        sid, invs = _setup(s, [("07:30", "09:00", 2)], 4, 2)
        # the world's an (1985) and binh (1990) come after z0..z3 (1940..1943)
        first, second, wait1, wait2 = invs
        assert (wait1.status, wait1.wait_position) == ("waitlisted", 1)
        shown = answer.answer(s, first.id, "decline", TODAY, link)
        s.commit()
        assert shown.status == "declined"
        s.refresh(wait1)
        s.refresh(wait2)
        assert (wait1.status, wait1.slot_index, wait1.wait_position) == ("invited", 0, None)
        assert wait2.wait_position == 2  # positions are kept, the first is simply gone
        moved = s.scalars(
            select(OutboxMessage).where(OutboxMessage.dedupe_key == f"invitation:{wait1.id}:place")
        ).one()
        assert f"/i/{wait1.id}" in moved.body and moved.body.startswith("TiemChung: Da co cho")
        assert answer.answer(s, second.id, "confirm", TODAY, link).status == "confirmed"
        s.commit()
        listed = attendance.list_invitations(s, CENTRAL, sid)
        assert listed["counts"]["confirmed"] == 1 and listed["counts"]["declined"] == 1
        actions = set(s.scalars(select(AuditEvent.action)))
        assert {"invitation.decline", "invitation.promote", "invitation.confirm"} <= actions


def test_another_slot_moves_later_or_to_the_end_of_the_wait_list(platform: Platform) -> None:
    with platform.sessions() as s:
        sid, invs = _setup(s, [("07:30", "09:00", 1), ("09:00", "10:00", 2)], 3, 1)
        early, mid, late = invs[:3]
        assert [i.slot_index for i in (early, mid, late)] == [0, 1, 1]
        # slot 1 holds mid and late; the world's an (1985) waits at position 1
        shown = answer.answer(s, early.id, "reschedule", TODAY, link)
        s.commit()
        s.refresh(early)
        assert shown.status == "waitlisted" and early.wait_position == 2
        placed = s.scalars(
            select(Invitation).where(Invitation.session_id == sid, Invitation.slot_index == 0)
        ).all()
        assert len(placed) == 1 and placed[0].id not in {early.id, mid.id, late.id}
        assert answer.answer(s, late.id, "decline", TODAY, link).status == "declined"
        s.commit()
        s.refresh(early)
        # the place late left goes to early, now first on the wait list
        assert (early.status, early.slot_index) == ("invited", 1)


def test_answers_are_refused_when_they_make_no_sense(platform: Platform) -> None:
    with platform.sessions() as s:
        _sid, invs = _setup(s, [("07:30", "09:00", 1)], 2, 1)
        placed, waiting = invs
        with pytest.raises(ServiceError) as exc:
            answer.answer(s, waiting.id, "confirm", TODAY, link)
        assert exc.value.problems[0].rule == "waitlisted"
        with pytest.raises(ServiceError) as exc:
            answer.answer(s, placed.id, "maybe", TODAY, link)
        assert exc.value.problems[0].field == "action"
        with pytest.raises(ServiceError) as exc:
            answer.answer(s, placed.id, "confirm", date(2026, 12, 11), link)
        assert (exc.value.status, exc.value.problems[0].rule) == (409, "not_answerable")
        with pytest.raises(ServiceError) as exc:
            answer.answer(s, 999_999, "confirm", TODAY, link)
        assert exc.value.status == 404


def test_the_desk_sees_the_invitation_and_no_shows_are_listed(platform: Platform) -> None:
    with platform.sessions() as s:
        sid, invs = _setup(s, [("07:30", "09:00", 3)], 3, 0)
        came, confirmed_absent, absent = invs
        answer.answer(s, confirmed_absent.id, "confirm", TODAY, link)
        answer.answer(s, came.id, "confirm", TODAY, link)
        dose(s, came.person_id, 1, DAY)
        s.commit()
        seen = attendance.desk_invitation(s, "P-z0", "S-A1", DAY)
        assert seen is not None and seen.confirmed and seen.slot == "07:30-09:00"
        assert attendance.desk_invitation(s, "P-z0", "S-A2", DAY) is None
        assert attendance.desk_invitation(s, "P-z0", "S-A1", date(2026, 12, 9)) is None
        unsure = attendance.desk_invitation(s, "P-z2", "S-A1", DAY)
        assert unsure is not None and not unsure.confirmed and unsure.status == "invited"
        missing = attendance.no_shows(s, CENTRAL, sid)
        assert sorted(m["id"] for m in missing) == sorted([confirmed_absent.id, absent.id])
        assert {m["status"] for m in missing} == {"confirmed", "invited"}
