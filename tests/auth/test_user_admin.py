"""User administration through the service (both backends): who may grant what, disable,
reset, the password policy, and whether a token still holds after each change."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.factories import PASSWORD, PROVINCE_A, PROVINCE_B, world
from tiemchung.auth import admin
from tiemchung.auth.auditlog import AuditQuery, export_csv, search_audit
from tiemchung.auth.passwords import password_problems
from tiemchung.auth.users import (
    Refusal,
    actor_for,
    authenticate,
    change_own_password,
    create_user,
    load_user_state,
    refusal,
)
from tiemchung.core import Platform
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.models import AuditEvent, User
from tiemchung.registry.scope import Actor, Role

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NEW = "Hoa-sen-no-7-giua-dam"


def actor(platform: Platform, username: str) -> Actor:
    with platform.sessions() as s:
        user = s.scalar(select(User).where(User.username == username))
        assert user is not None
        return actor_for(user)


def user_id(platform: Platform, username: str) -> int:
    with platform.sessions() as s:
        found = s.scalar(select(User.id).where(User.username == username))
        assert found is not None
        return int(found)


def rules(exc: pytest.ExceptionInfo[ServiceError]) -> list[str]:
    return [p.rule for p in exc.value.problems]


def test_the_policy_names_each_rule_broken() -> None:
    assert [p.rule for p in password_problems("short", "nurse")] == ["too_short"]
    assert [p.rule for p in password_problems("my-nurse7-password", "Nurse7")] == [
        "contains_username"
    ]
    assert [p.rule for p in password_problems("Password 123", "x")] == ["too_common"]
    assert [p.rule for p in password_problems("aaaaaaaaaaaa", "x")] == ["too_common"]
    assert password_problems("Hoa-sen-no-7", "nurse") == []
    # a short username is refused only as the whole password, not inside one
    assert password_problems("Thanh-an-binh-7", "an") == []
    assert [p.rule for p in password_problems("anananananan", "anananananan")] == [
        "contains_username"
    ]
    both = password_problems("nurse", "nurse")
    assert {p.rule for p in both} == {"too_short", "contains_username"}
    assert all(p.message_vi and p.message_en and p.field == "password" for p in both)


def test_a_province_grants_only_within_its_province(platform: Platform) -> None:
    prov_a = actor(platform, "prov_a")
    w = world()
    with platform.sessions() as s:
        user = create_user(s, prov_a, "nurse_a2", NEW, Role.COMMUNE, ward_code=w.wards["a2"])
        assert user.province_code == PROVINCE_A and user.must_change_password
        with pytest.raises(ServiceError) as central:
            create_user(s, prov_a, "boss", NEW, Role.CENTRAL)
        assert central.value.status == 403 and rules(central) == ["grant_out_of_area"]
        assert "central" in central.value.problems[0].message_en
        with pytest.raises(ServiceError) as other:
            create_user(s, prov_a, "nurse_b2", NEW, Role.COMMUNE, ward_code=w.wards["b2"])
        assert other.value.status == 403 and rules(other) == ["grant_out_of_area"]
        assert PROVINCE_A in other.value.problems[0].message_en
        with pytest.raises(ServiceError) as other_prov:
            create_user(s, prov_a, "prov_b2", NEW, Role.PROVINCE, province_code=PROVINCE_B)
        assert other_prov.value.status == 403
        with pytest.raises(ServiceError) as commune:
            create_user(s, actor(platform, "ward_a1"), "n3", NEW, Role.SITE, site_id=w.sites["a1"])
        assert commune.value.status == 403 and rules(commune) == ["role_not_allowed"]
        with pytest.raises(ServiceError) as weak:
            create_user(s, prov_a, "n4", "n4", Role.SITE, site_id=w.sites["a1"])
        assert weak.value.status == 422 and "too_short" in rules(weak)
        s.commit()
        created = s.scalars(select(AuditEvent).where(AuditEvent.action == "user.create")).all()
        assert [e.username for e in created if e.entity_id == str(user.id)] == ["prov_a"]


def test_a_province_sees_and_changes_only_its_own_users(platform: Platform) -> None:
    prov_a = actor(platform, "prov_a")
    with platform.sessions() as s:
        items, more = admin.list_users(s, prov_a)
        names = {u["username"] for u in items}
        assert names == {"prov_a", "ward_a1", "site_a1", "citizen_an"} and more is None
        with pytest.raises(ServiceError) as hidden:
            admin.update_user(
                s, prov_a, user_id(platform, "ward_b1"), admin.UserChange(disabled=True)
            )
        assert hidden.value.status == 404
        with pytest.raises(ServiceError) as up:
            admin.update_user(
                s, prov_a, user_id(platform, "ward_a1"), admin.UserChange(role=Role.CENTRAL)
            )
        assert up.value.status == 403 and rules(up) == ["grant_out_of_area"]
        with pytest.raises(ServiceError) as away:
            admin.update_user(
                s,
                prov_a,
                user_id(platform, "ward_a1"),
                admin.UserChange(ward_code=world().wards["b1"]),
            )
        assert away.value.status == 403
        with pytest.raises(ServiceError) as site:
            admin.list_users(s, actor(platform, "site_a1"))
        assert site.value.status == 403
        page, after = admin.list_users(s, actor(platform, "central"), limit=3)
        assert len(page) == 3 and after == page[-1]["id"]
        rest, last = admin.list_users(s, actor(platform, "central"), after=after, limit=50)
        assert last is None and {u["id"] for u in rest}.isdisjoint({u["id"] for u in page})
        assert len(page) + len(rest) == 8


def test_a_role_change_moves_the_area_and_revokes_tokens(platform: Platform) -> None:
    prov_a = actor(platform, "prov_a")
    uid = user_id(platform, "ward_a1")
    a2 = world().wards["a2"]
    with platform.sessions() as s:
        before = load_user_state(s, uid)
        view = admin.update_user(s, prov_a, uid, admin.UserChange(ward_code=a2))
        assert view["ward_code"] == a2 and view["role"] == "commune"
        view = admin.update_user(
            s, prov_a, uid, admin.UserChange(role=Role.SITE, site_id=world().sites["a1"])
        )
        assert view["role"] == "site" and view["ward_code"] == world().wards["a1"]
        s.commit()
        after = load_user_state(s, uid)
        assert after.version == before.version + 2
        assert refusal(after, before.version) is Refusal.REVOKED
        assert refusal(after, after.version) is None
        actions = s.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.entity_id == str(uid))
            .order_by(AuditEvent.id)
        ).all()
        assert actions[-2:] == ["user.update", "user.update"]


def test_disable_blocks_sign_in_and_tokens_and_enable_restores(platform: Platform) -> None:
    prov_a = actor(platform, "prov_a")
    uid = user_id(platform, "site_a1")
    with platform.sessions() as s:
        version = load_user_state(s, uid).version
        admin.update_user(s, prov_a, uid, admin.UserChange(disabled=True))
        s.commit()
        assert authenticate(s, "site_a1", PASSWORD) is None
        assert refusal(load_user_state(s, uid), version) is Refusal.INACTIVE
        with pytest.raises(ServiceError) as self_:
            admin.update_user(
                s, prov_a, user_id(platform, "prov_a"), admin.UserChange(disabled=True)
            )
        assert self_.value.status == 409 and rules(self_) == ["self"]
        admin.update_user(s, prov_a, uid, admin.UserChange(disabled=False))
        s.commit()
        assert authenticate(s, "site_a1", PASSWORD) is not None
        actions = s.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.entity_id == str(uid))
            .order_by(AuditEvent.id)
        ).all()
        assert actions[-2:] == ["user.disable", "user.enable"]


def test_reset_forces_a_change_that_the_policy_checks(platform: Platform) -> None:
    central = actor(platform, "central")
    uid = user_id(platform, "ward_a1")
    with platform.sessions() as s:
        version = load_user_state(s, uid).version
        with pytest.raises(ServiceError) as weak:
            admin.reset_password(s, central, uid, "1234567890")
        assert rules(weak) == ["too_common"]
        admin.reset_password(s, central, uid, NEW)
        s.commit()
        state = load_user_state(s, uid)
        assert state.must_change and refusal(state, version) is Refusal.REVOKED
        assert refusal(state, state.version) is Refusal.MUST_CHANGE
        assert authenticate(s, "ward_a1", PASSWORD) is None
        with pytest.raises(ServiceError) as same:
            change_own_password(s, "ward_a1", NEW, NEW)
        assert rules(same) == ["unchanged"]
        with pytest.raises(ServiceError) as named:
            change_own_password(s, "ward_a1", NEW, "ward_a1-is-me")
        assert rules(named) == ["contains_username"]
        with pytest.raises(ServiceError) as wrong:
            change_own_password(s, "ward_a1", "not-the-password", "Another-fine-one-9")
        assert wrong.value.status == 401
        change_own_password(s, "ward_a1", NEW, "Another-fine-one-9")
        s.commit()
        done = load_user_state(s, uid)
        assert not done.must_change and refusal(done, done.version) is None
        assert done.version == state.version + 1


def test_the_audit_log_is_searched_within_the_area_and_paged(platform: Platform) -> None:
    central, prov_a, prov_b = (actor(platform, n) for n in ("central", "prov_a", "prov_b"))
    with platform.sessions() as s:
        a_uid, b_uid = user_id(platform, "site_a1"), user_id(platform, "site_b1")
        admin.update_user(s, prov_a, a_uid, admin.UserChange(disabled=True))
        admin.update_user(s, prov_b, b_uid, admin.UserChange(disabled=True))
        s.commit()
        mine, _ = search_audit(s, prov_a, AuditQuery(action="user"), tz=TZ)
        assert [(e["username"], e["entity_id"]) for e in mine] == [("prov_a", str(a_uid))]
        everyone, _ = search_audit(s, central, AuditQuery(action="user.disable"), tz=TZ)
        assert {e["username"] for e in everyone} == {"prov_a", "prov_b"}
        # the seeded users were created by the command line's system actor: central only
        assert search_audit(s, prov_a, AuditQuery(action="user.create"), tz=TZ)[0] == []
        assert len(search_audit(s, central, AuditQuery(action="user.create"), tz=TZ)[0]) == 8
        first, before = search_audit(s, central, AuditQuery(action="user.create"), tz=TZ, limit=5)
        second, end = search_audit(
            s, central, AuditQuery(action="user.create"), tz=TZ, before=before, limit=5
        )
        assert len(first) == 5 and len(second) == 3 and end is None
        ids = [e["id"] for e in first + second]
        assert ids == sorted(ids, reverse=True) and len(set(ids)) == 8
        by_user, _ = search_audit(s, central, AuditQuery(username="prov_b"), tz=TZ)
        assert {e["action"] for e in by_user} >= {"user.disable"}
        assert all(e["username"] == "prov_b" for e in by_user)
        future = AuditQuery(since=date(2999, 1, 1))
        assert search_audit(s, central, future, tz=TZ)[0] == []
        with pytest.raises(ServiceError) as reversed_:
            AuditQuery(since=date(2026, 2, 1), until=date(2026, 1, 1))
        assert reversed_.value.problems[0].rule == "range_reversed"
        with pytest.raises(ServiceError) as site:
            search_audit(s, actor(platform, "site_a1"), AuditQuery(), tz=TZ)
        assert site.value.status == 403
        s.commit()
        searches = s.scalars(
            select(AuditEvent.username).where(AuditEvent.action == "audit.search")
        ).all()
        assert "prov_a" in searches and "central" in searches


def test_the_audit_log_finds_a_persons_reads_and_exports_csv(platform: Platform) -> None:
    central = actor(platform, "central")
    with platform.sessions() as s:
        from tiemchung.store.audit import audit

        audit(s, central, "person.read", "person", "P-AN")
        audit(s, central, "person.read", "person", "P-OTHER")
        s.commit()
        found, _ = search_audit(s, central, AuditQuery(person_id="P-AN"), tz=TZ)
        assert [(e["action"], e["entity_id"]) for e in found] == [("person.read", "P-AN")]
        text = "".join(export_csv(s, central, AuditQuery(action="person.read"), tz=TZ, chunk=1))
        lines = text.strip().splitlines()
        assert lines[0] == "id,at,username,user_id,action,entity,entity_id,detail"
        assert [line.split(",")[6] for line in lines[1:]] == ["P-OTHER", "P-AN"]
        assert "+07:00" in lines[1]
