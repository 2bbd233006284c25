"""Session planning (registry/catalog/sessions.py) over SQLite and PostgreSQL: what a plan
must say, who may plan where, the statuses' transitions, the dose path's refusal of a
session that is not open, and the closing's reconciliation with figures counted by hand."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests.factories import PROVINCE_A, resolve_scope, submission
from tiemchung.core import Platform
from tiemchung.registry.catalog import lots as lots_service
from tiemchung.registry.catalog import sessions as svc
from tiemchung.registry.catalog import stock as stock_service
from tiemchung.registry.catalog.reference import desk_offer
from tiemchung.registry.catalog.sites import close_site
from tiemchung.registry.doses.record import record_doses
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.models import AuditEvent, VaccinationSession
from tiemchung.registry.scope import Actor, Role

CENTRAL = Actor.system("tests")
PROV_A = Actor(None, "prov_a", Role.PROVINCE, province_code=PROVINCE_A)
SITE_A1 = Actor(None, "site_a1", Role.SITE, **resolve_scope({"site_id": "a1"}))  # type: ignore[arg-type]
CITIZEN = Actor(None, "citizen", Role.CITIZEN)
DAY = date(2021, 10, 5)  # no session of the world's on this day


def _refused(exc: pytest.ExceptionInfo[ServiceError], status: int, rule: str) -> str:
    assert exc.value.status == status
    problem = exc.value.problems[0]
    assert problem.rule == rule
    return f"{problem.message_vi} | {problem.message_en}"


def _plan(**kw: object) -> svc.SessionPlan:
    base: dict[str, object] = dict(
        site_id="S-A1",
        session_date=DAY,
        products=["PFIZER"],
        time_slots=[svc.TimeSlot("07:30", "11:00", 60), svc.TimeSlot("13:30", "16:30", 40)],
    )
    base.update(kw)
    return svc.SessionPlan(**base)  # type: ignore[arg-type]


def test_a_plan_is_checked_and_stored_with_its_slots_groups_and_team(platform: Platform) -> None:
    with platform.sessions() as s:
        plan = _plan(
            products=["pfizer", "AZ"],
            lot_numbers=["PF-OK", "AZ-OK"],
            groups=["G1", "G5"],
            team=[svc.TeamMember("  Nguyễn  Thị Lan ", "điều dưỡng")],
        )
        vs = svc.plan_session(s, SITE_A1, plan, DAY)
        s.commit()
        assert (vs.status, vs.planned_count, vs.product_code) == ("planned", 100, "PFIZER")
        assert vs.products == ["PFIZER", "AZ"] and vs.lot_numbers == ["PF-OK", "AZ-OK"]
        assert vs.team == [{"name": "Nguyễn Thị Lan", "role": "điều dưỡng"}]
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "session.plan"))
        assert event is not None and event.entity_id == str(vs.id)
        assert event.detail is not None and event.detail["capacity"] == 100
        assert event.detail["groups"] == ["G1", "G5"]


@pytest.mark.parametrize(
    ("kw", "status", "rule", "named"),
    [
        ({"session_date": date(2021, 10, 4)}, 422, "date_in_past", "04/10/2021"),
        ({"products": ["NOPE"]}, 422, "unknown_product", "NOPE"),
        ({"products": []}, 422, "products_missing", "vắc xin"),
        (
            {"time_slots": [svc.TimeSlot("07:00", "09:00", 5), svc.TimeSlot("08:30", "10:00", 5)]},
            422,
            "slot_overlap",
            "08:30-10:00",
        ),
        ({"time_slots": [svc.TimeSlot("11:00", "07:00", 5)]}, 422, "slot_order", "11:00-07:00"),
        ({"capacity": 90}, 422, "capacity_mismatch", "100"),
        ({"time_slots": []}, 422, "capacity_missing", "capacity"),
        ({"lot_numbers": ["AZ-OK"]}, 422, "unknown_lot", "AZ-OK"),
        (
            {"session_date": date(2022, 1, 5), "lot_numbers": ["PF-OLD"]},
            422,
            "lot_expired",
            "PF-OLD",
        ),
        ({"groups": ["bad group!"]}, 422, "invalid_group", "bad group!"),
        ({"team": [svc.TeamMember(" ", "y tá")]}, 422, "invalid_member", "team member 1"),
        ({"site_id": "S-B1"}, 404, "not_found", "S-B1"),
    ],
)
def test_a_bad_plan_is_refused_saying_what_and_where(
    platform: Platform, kw: dict[str, object], status: int, rule: str, named: str
) -> None:
    with platform.sessions() as s:
        with pytest.raises(ServiceError) as exc:
            svc.plan_session(s, PROV_A, _plan(**kw), DAY)
        assert named in _refused(exc, status, rule)
        assert (
            s.scalar(select(VaccinationSession).where(VaccinationSession.session_date == DAY))
            is None
        )


def test_who_may_plan_and_where(platform: Platform) -> None:
    with platform.sessions() as s:
        with pytest.raises(ServiceError) as exc:  # a site plans its own site only
            svc.plan_session(s, SITE_A1, _plan(site_id="S-A2"), DAY)
        _refused(exc, 404, "not_found")
        with pytest.raises(ServiceError) as exc:
            svc.plan_session(s, CITIZEN, _plan(), DAY)
        _refused(exc, 403, "role_not_allowed")
        close_site(s, CENTRAL, "S-A2")
        with pytest.raises(ServiceError) as exc:
            svc.plan_session(s, PROV_A, _plan(site_id="S-A2"), DAY)
        assert "S-A2" in _refused(exc, 409, "site_closed")


def test_a_tracked_lot_needs_stock_at_the_site(platform: Platform) -> None:
    with platform.sessions() as s:
        receipt = lots_service.LotReceipt("PFIZER", "LT-9", date(2030, 1, 1), "S-A2", 10)
        lots_service.receive_lot(s, CENTRAL, receipt, today=DAY)  # at a2, not a1
        with pytest.raises(ServiceError) as exc:
            svc.plan_session(s, PROV_A, _plan(lot_numbers=["LT-9"]), DAY)
        words = _refused(exc, 409, "no_stock")
        assert "LT-9" in words and "S-A1" in words
        vs = svc.plan_session(s, PROV_A, _plan(site_id="S-A2", lot_numbers=["LT-9"]), DAY)
        assert vs.lot_numbers == ["LT-9"]


def test_statuses_move_planned_open_closed_or_cancelled(platform: Platform) -> None:
    with platform.sessions() as s:
        first = svc.plan_session(s, SITE_A1, _plan(), DAY).id
        second = svc.plan_session(s, SITE_A1, _plan(), DAY).id
        third = svc.plan_session(s, SITE_A1, _plan(), DAY).id
        with pytest.raises(ServiceError) as exc:  # not on its day
            svc.open_session(s, SITE_A1, first, date(2021, 10, 4))
        assert "05/10/2021" in _refused(exc, 409, "not_today")
        with pytest.raises(ServiceError) as exc:
            svc.close_session(s, SITE_A1, first)
        _refused(exc, 409, "wrong_status")
        assert svc.open_session(s, SITE_A1, first, DAY).status == "open"
        with pytest.raises(ServiceError) as exc:  # one open session per site and day
            svc.open_session(s, SITE_A1, second, DAY)
        assert str(first) in _refused(exc, 409, "already_open")
        assert svc.open_session(s, SITE_A1, second, DAY, parallel=True).status == "open"
        with pytest.raises(ServiceError) as exc:  # an open session is closed, not cancelled
            svc.cancel_session(s, SITE_A1, first)
        assert "open" in _refused(exc, 409, "wrong_status")
        assert svc.cancel_session(s, SITE_A1, third).status == "cancelled"
        with pytest.raises(ServiceError) as exc:
            svc.open_session(s, SITE_A1, third, DAY)
        assert "cancelled" in _refused(exc, 409, "wrong_status")
        with pytest.raises(ServiceError) as exc:  # another area's session is not found
            svc.open_session(s, Actor(None, "b", Role.PROVINCE, province_code="40"), first, DAY)
        _refused(exc, 404, "not_found")
        s.commit()
        actions = s.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.action.like("session.%"))
            .order_by(AuditEvent.id)
        ).all()
        assert actions == ["session.plan"] * 3 + ["session.open"] * 2 + ["session.cancel"]


def test_doses_go_only_into_an_open_session_and_closing_reconciles(platform: Platform) -> None:
    with platform.sessions() as s:
        receipt = lots_service.LotReceipt("PFIZER", "LT-5", date(2030, 1, 1), "S-A1", 20)
        lots_service.receive_lot(s, CENTRAL, receipt, today=DAY)
        vs_id = svc.plan_session(s, SITE_A1, _plan(lot_numbers=["LT-5"]), DAY).id
        s.commit()
        # the desk offers no session while it is only planned
        assert desk_offer(s, SITE_A1, DAY).sessions == []

    def dose(name: str) -> object:
        return submission(None, full_name=name, lot_number="LT-5", dose_date=DAY, session_id=vs_id)

    with platform.sessions() as s:
        [refused] = record_doses(s, platform.catalog, SITE_A1, [dose("Người A")], today=DAY)  # type: ignore[list-item]
        assert refused.status == 409 and refused.error is not None
        assert refused.error.problems[0].rule == "session_not_open"
        assert str(vs_id) in refused.error.problems[0].message_en
        svc.open_session(s, SITE_A1, vs_id, DAY)
        s.commit()
        assert [x.id for x in desk_offer(s, SITE_A1, DAY).sessions] == [vs_id]
    with platform.sessions() as s:
        subs = [dose(f"Người {n}") for n in "BCD"]
        results = record_doses(s, platform.catalog, SITE_A1, subs, today=DAY)  # type: ignore[arg-type]
        assert [r.status for r in results] == [201, 201, 201]
        stock_service.record_wastage(s, SITE_A1, vs_id, "LT-5", 2, "lọ mở cuối buổi")
        s.commit()
    with platform.sessions() as s:
        vs, rec = svc.close_session(s, SITE_A1, vs_id, opened=6)
        s.commit()
        # 3 doses given, 2 wasted, 6 drawn from the vials: 1 dose unaccounted for
        assert (rec.recorded, rec.wasted, rec.opened, rec.difference) == (3, 2, 6, 1)
        assert rec.by_lot == {"LT-5": {"recorded": 3, "wasted": 2}}
        assert vs.status == "closed" and vs.closing is not None
        assert vs.closing["difference"] == 1
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "session.close"))
        assert event is not None and event.detail is not None
        assert (event.detail["recorded"], event.detail["wasted"], event.detail["difference"]) == (
            3,
            2,
            1,
        )
    with platform.sessions() as s:
        [late] = record_doses(s, platform.catalog, SITE_A1, [dose("Người E")], today=DAY)  # type: ignore[list-item]
        assert late.error is not None and late.error.problems[0].rule == "session_not_open"
        assert "closed" in late.error.problems[0].message_en
