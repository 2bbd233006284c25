"""Organisations, their lists and priority groups (issue 18 points 1–3), through the services,
on SQLite and PostgreSQL, over the invented world of tests/factories.py (expected answers
written out by hand from it)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.factories import PASSWORD, resolve_scope, world
from tiemchung.auth.orgusers import add_organisation_user
from tiemchung.auth.users import actor_for
from tiemchung.core import Platform
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.models import AuditEvent
from tiemchung.registry.people.registration import organisations as orgs
from tiemchung.registry.people.registration import priority
from tiemchung.registry.people.registration import registrations as regs
from tiemchung.registry.scope import Actor, Role
from tiemchung.registry.tables.registrations import (
    PriorityGroup,
    Registration,
    RegistrationSource,
)

SYSTEM = Actor.system("tests")
CENTRAL = Actor(1, "central", Role.CENTRAL)
WARD_A1 = Actor(4, "ward_a1", Role.COMMUNE, "01", resolve_scope({"ward_code": "a1"})["ward_code"])
WARD_B1 = Actor(5, "ward_b1", Role.COMMUNE, "40", resolve_scope({"ward_code": "b1"})["ward_code"])

AN = {"national_id": "001085123456", "full_name": "Nguyễn Văn An", "dob": "12/04/1985"}
BINH = {"national_id": "001190654321", "full_name": "Trần Thị Bình", "dob": "1990-11-02"}


def _app(code: str = "0101234567", ward: str = "a1") -> orgs.Application:
    return orgs.Application(
        name="Công ty May Giả Định",
        code=code,
        kind="company",
        ward_code=world().wards[ward],
        contact_name="Chị Liên",
        contact_phone="+84 912 000 111",
    )


def approved_org(platform: Platform, code: str = "0101234567") -> tuple[int, Actor]:
    """An approved organisation in ward a1 and its user (as an actor)."""
    with platform.sessions() as s:
        priority.load_priority_groups(s)
        org = orgs.apply(s, Actor.anonymous("form"), _app(code))
        orgs.decide(s, WARD_A1, org.id, approve=True)
        user = add_organisation_user(s, WARD_A1, org.id, f"hr-{code}", PASSWORD + "-org")
        s.commit()
        return org.id, actor_for(user)


def submit(platform: Platform, actor: Actor, org_id: int | None, rows: list[dict[str, Any]],
           source: str = regs.ORGANISATION) -> regs.SubmitReport:  # fmt: skip
    with platform.sessions() as s:
        report = regs.submit_rows(s, actor, rows, organisation_id=org_id, source=source)
        s.commit()
        return report


# -- priority groups -----------------------------------------------------------------------


def test_priority_groups_load_once_and_keep_an_edit(platform: Platform) -> None:
    with platform.sessions() as s:
        assert priority.load_priority_groups(s) == 13
        priority.save_priority_group(s, CENTRAL, "NQ21-03", priority.GroupChanges(name_en="Army"))
        assert priority.load_priority_groups(s) == 0
        s.commit()
        assert s.get(PriorityGroup, "NQ21-03").name_en == "Army"  # type: ignore[union-attr]
        assert s.get(PriorityGroup, "NQ21-01").name_vi.startswith("Người làm việc")  # type: ignore[union-attr]
        events = s.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "priority_group.update")
        ).all()
        assert events == [{"name_en": ["The armed forces", "Army"]}]


def test_only_central_edits_priority_groups(platform: Platform) -> None:
    with platform.sessions() as s:
        priority.load_priority_groups(s)
        with pytest.raises(ServiceError) as exc:
            priority.save_priority_group(s, WARD_A1, "NQ21-03", priority.GroupChanges(sort=1))
        assert exc.value.status == 403
        with pytest.raises(ServiceError) as exc:
            priority.save_priority_group(s, CENTRAL, "NEW-1", priority.GroupChanges(name_vi="X"))
        assert exc.value.problems[0].rule == "required"
        added = priority.save_priority_group(
            s, CENTRAL, "new-1", priority.GroupChanges(name_vi="Tài xế", name_en="Drivers")
        )
        assert added.code == "NEW-1"


def test_age_bands_and_yes_no() -> None:
    on = date(2021, 7, 1)
    assert priority.age_band("1956-07-01", on) == "65-74"  # 65 that very day
    assert priority.age_band("1956-07-02", on) == "50-64"
    assert priority.age_band("2010-01-01", on) == "0-11"
    assert priority.age_band("1940", on) == "75+"
    assert priority.age_band(None, on) is None
    assert priority.parse_yes_no("Có") is True
    assert priority.parse_yes_no(" x ") is True
    assert priority.parse_yes_no("") is False
    with pytest.raises(ServiceError) as exc:
        priority.parse_yes_no("maybe")
    assert exc.value.problems[0].field == "underlying_condition"


# -- organisations -------------------------------------------------------------------------


def test_apply_refuses_bad_fields_by_name(platform: Platform) -> None:
    with platform.sessions() as s:
        for change, fieldname in (
            ({"code": "??"}, "code"),
            ({"kind": "factory"}, "kind"),
            ({"ward_code": "99999"}, "ward_code"),
            ({"contact_phone": "12"}, "contact_phone"),
            ({"name": "  "}, "name"),
        ):
            app = _app().__dict__ | change
            with pytest.raises(ServiceError) as exc:
                orgs.apply(s, SYSTEM, orgs.Application(**app))
            assert exc.value.problems[0].field == fieldname, change
        org = orgs.apply(s, SYSTEM, _app())
        assert (org.status, org.province_code, org.contact_phone) == ("applied", "01", "0912000111")
        with pytest.raises(ServiceError) as exc:
            orgs.apply(s, SYSTEM, _app())
        assert exc.value.status == 409


def test_only_the_ward_province_or_central_decides(platform: Platform) -> None:
    with platform.sessions() as s:
        org = orgs.apply(s, SYSTEM, _app())
        with pytest.raises(ServiceError) as exc:
            orgs.decide(s, WARD_B1, org.id, approve=True)
        assert exc.value.status == 403
        with pytest.raises(ServiceError) as exc:
            orgs.decide(s, WARD_A1, org.id, approve=False)
        assert exc.value.problems[0].field == "note"
        orgs.decide(s, WARD_A1, org.id, approve=False, note="Thiếu giấy phép")
        assert org.status == "refused"
        orgs.decide(s, WARD_A1, org.id, approve=True)
        assert org.status == "approved"
        actions = s.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.entity == "organisation")
            .order_by(AuditEvent.id)
        ).all()
        assert actions == ["organisation.apply", "organisation.refuse", "organisation.approve"]
        assert [o.id for o in orgs.list_organisations(s, WARD_A1)] == [org.id]
        assert orgs.list_organisations(s, WARD_B1) == []


def test_an_unapproved_organisation_submits_nothing(platform: Platform) -> None:
    with platform.sessions() as s:
        org = orgs.apply(s, SYSTEM, _app())
        with pytest.raises(ServiceError) as exc:
            regs.submit_rows(s, WARD_A1, [AN], organisation_id=org.id)
        assert exc.value.status == 409


# -- lists ---------------------------------------------------------------------------------


def test_each_row_is_answered_and_stored(platform: Platform) -> None:
    org_id, hr = approved_org(platform)
    rows = [
        AN | {"priority_group": "nq21-08", "phone": "0912 345 678"},
        BINH | {"full_name": "Trần Thị Bính"},  # a wrong name: mismatch, the field named
        {"national_id": "001099000001", "full_name": "Không Có Ai", "dob": "1999-01-01"},
        {"full_name": "Ai Đó"},  # neither an ID nor a date of birth: rejected
        AN | {"dob": "1985-12-04"},  # day and month swapped
        {"national_id": "001085123456", "priority_group": "NOPE", "underlying_condition": "?"},
    ]
    report = submit(platform, hr, org_id, rows)
    assert [r.result for r in report.rows] == [
        "verified", "mismatch", "not_found", "rejected", "mismatch", "rejected",
    ]  # fmt: skip
    assert [x["field"] for x in report.rows[1].reasons] == ["full_name"]
    assert report.rows[1].reasons[0]["rule"] == "diacritics"
    assert report.rows[4].reasons[0]["rule"] == "day_month_swapped"
    assert {x["field"] for x in report.rows[5].reasons} == {
        "priority_group",
        "underlying_condition",
    }
    assert report.rows[3].reasons[0]["field"] == "national_id"
    # an organisation never learns the register's values
    assert all("in_register" not in x for r in report.rows for x in r.reasons)
    with platform.sessions() as s:
        sources = s.scalars(select(RegistrationSource).order_by(RegistrationSource.id)).all()
        assert len(sources) == 6 and sources[3].submitted == {"full_name": "Ai Đó"}
        registered = s.scalars(select(Registration).order_by(Registration.id)).all()
        # An (verified) and the not-found row with an ID; never the mismatches or rejected
        assert [(r.national_id, r.check_status) for r in registered] == [
            ("001085123456", "verified"),
            ("001099000001", "not_found"),
        ]
        assert registered[0].priority_group == "NQ21-08"
        assert registered[0].phone == "0912345678"
        assert registered[0].person_id is not None


def test_rows_without_an_id_are_found_by_name_and_date_of_birth(platform: Platform) -> None:
    org_id, hr = approved_org(platform)
    rows = [
        {"full_name": "Nguyễn Văn An", "dob": "12/04/1985"},
        {"full_name": "Lê Mạnh Cường", "dob": "1978-05-05"},  # the register knows 1978 only
        {"full_name": "Lê Mạnh Cường", "dob": "1978-06-06"},  # the same person again
        {"full_name": "Nguyễn Văn An", "dob": "1985-04-13"},  # nobody born that day
    ]
    report = submit(platform, hr, org_id, rows)
    assert [r.result for r in report.rows] == ["verified", "verified", "verified", "not_found"]
    assert report.rows[1].registration_id == report.rows[2].registration_id
    assert report.registrations_new == 2


def test_a_person_named_twice_is_one_registration_with_two_sources(platform: Platform) -> None:
    org1, hr1 = approved_org(platform, "0101234567")
    org2, hr2 = approved_org(platform, "0109999999")
    submit(platform, hr1, org1, [AN])
    second = submit(platform, hr2, org2, [AN | {"underlying_condition": "có"}])
    assert (second.registrations_new, second.registrations_joined) == (0, 1)
    self_rep = submit(platform, SYSTEM, None, [AN | {"phone": "0912000001"}], source=regs.SELF)
    assert self_rep.registrations_joined == 1
    with platform.sessions() as s:
        reg = s.scalars(select(Registration)).one()
        assert reg.underlying_condition is True  # a later source completes
        assert reg.phone == "0912000001"
        n = s.scalar(select(func.count()).where(RegistrationSource.registration_id == reg.id))
        assert n == 3


def test_withdraw_and_fix(platform: Platform) -> None:
    org1, hr1 = approved_org(platform, "0101234567")
    org2, hr2 = approved_org(platform, "0109999999")
    a = submit(platform, hr1, org1, [AN, BINH | {"full_name": "Trần Thị Bính"}])
    b = submit(platform, hr2, org2, [AN])
    with platform.sessions() as s:
        regs.withdraw_row(s, hr1, a.rows[0].source_id)
        s.commit()
        reg = s.scalars(select(Registration)).one()
        assert reg.status == "active"  # the other organisation still names An
        regs.withdraw_row(s, hr2, b.rows[0].source_id)
        s.commit()
        s.refresh(reg)
        assert reg.status == "withdrawn"
        fixed = regs.fix_row(s, hr1, a.rows[1].source_id, {"full_name": "Trần Thị Bình"})
        s.commit()
        assert fixed.result == "verified" and fixed.registration_id is not None
        assert fixed.submitted["full_name"] == "Trần Thị Bình"
        with pytest.raises(ServiceError) as exc:
            regs.fix_row(s, hr1, a.rows[1].source_id, {"email": "x"})
        assert exc.value.problems[0].field == "email"
        # another organisation's user cannot see, fix or withdraw the row
        with pytest.raises(ServiceError) as exc:
            regs.withdraw_row(s, hr2, a.rows[1].source_id)
        assert exc.value.status == 404
        assert regs.result_counts(s, hr1, org1) == {"verified": 1}
        rows = regs.list_rows(s, hr1, org1, result="verified")
        # a withdrawn row is still listed (nothing is lost), marked withdrawn
        assert [(r.id, r.withdrawn_at is not None) for r in rows] == [
            (a.rows[0].source_id, True),
            (a.rows[1].source_id, False),
        ]


def test_a_batch_over_the_limit_is_refused_whole(platform: Platform) -> None:
    org_id, hr = approved_org(platform)
    with platform.sessions() as s:
        with pytest.raises(ServiceError) as exc:
            regs.submit_rows(s, hr, [AN] * (regs.MAX_BATCH + 1), organisation_id=org_id)
        assert exc.value.status == 413
        assert s.scalar(select(func.count()).select_from(RegistrationSource)) == 0


def test_an_org_user_acts_for_its_own_organisation_only(platform: Platform) -> None:
    org1, hr1 = approved_org(platform, "0101234567")
    org2, _hr2 = approved_org(platform, "0109999999")
    with platform.sessions() as s:
        with pytest.raises(ServiceError) as exc:
            regs.submit_rows(s, hr1, [AN], organisation_id=org2)
        assert exc.value.status == 404
        with pytest.raises(ServiceError) as exc:
            regs.submit_rows(s, WARD_B1, [AN], organisation_id=org1)
        assert exc.value.status == 404
        assert [o.id for o in orgs.list_organisations(s, hr1)] == [org1]


def test_an_org_user_is_given_from_its_organisation_only(platform: Platform) -> None:
    from tiemchung.auth.users import create_user

    with platform.sessions() as s, pytest.raises(ServiceError) as exc:
        create_user(s, CENTRAL, "stray-org", PASSWORD + "-org", Role.ORGANISATION)
    assert exc.value.problems[0].rule == "organisation_user"
