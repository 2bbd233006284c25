"""Partner clients through the service (both backends): the scopes a route needs and a token
gets, who may add which client, the area as a staff reader, and what is refused and why."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import PROVINCE_A, PROVINCE_B, world
from tiemchung.auth import clients, scopes
from tiemchung.auth.users import actor_for
from tiemchung.core import Platform
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.models import User
from tiemchung.registry.scope import Actor, Role

SYSTEM = Actor.system("tests")


def staff(platform: Platform, username: str) -> Actor:
    with platform.sessions() as s:
        user = s.scalar(select(User).where(User.username == username))
        assert user is not None
        return actor_for(user)


def test_scope_cover_and_parse() -> None:
    assert scopes.covers(["system/*.read"], "system/ImmunizationRecommendation.read")
    assert not scopes.covers(["system/*.read"], "changes.read")
    assert not scopes.covers(["system/Patient.read"], "system/Immunization.read")
    assert scopes.missing(["system/Patient.read"], ["system/Patient.read", "changes.read"]) == [
        "changes.read"
    ]
    assert scopes.parse("changes.read, system/Patient.read changes.read") == [
        "changes.read",
        "system/Patient.read",
    ]
    with pytest.raises(ServiceError) as bad:
        scopes.parse("system/Patient.write system/Patient.read")
    (problem,) = bad.value.problems
    assert (problem.field, problem.rule) == ("scopes", "unknown_scope")
    assert "system/Patient.write" in problem.message_vi
    assert "system/Patient.write" in problem.message_en
    with pytest.raises(ServiceError):
        scopes.parse("  ")


def test_area_maps_to_a_staff_reader_and_admin_stays_in_its_province(
    platform: Platform,
) -> None:
    ward = world().wards["a1"]
    prov_a = staff(platform, "prov_a")
    with platform.sessions() as s:
        made = clients.add_client(s, prov_a, "Kho xã", "system/*.read", ward)
        c = made.client
        assert (c["role"], c["province_code"], c["ward_code"], c["area"]) == (
            "commune",
            PROVINCE_A,
            ward,
            ward,
        )
        reader = clients.client_actor(c["client_id"], c["role"], PROVINCE_A, ward)
        assert reader.role is Role.COMMUNE and reader.user_id is None
        assert reader.username == f"client:{c['client_id']}"
        for area in ("central", PROVINCE_B, world().wards["b1"]):
            with pytest.raises(ServiceError) as refused:
                clients.add_client(s, prov_a, "X", "system/*.read", area)
            assert refused.value.status == 403
        with pytest.raises(ServiceError) as refused:
            clients.add_client(s, staff(platform, "ward_a1"), "X", "system/*.read", ward)
        assert refused.value.status == 403
        b = clients.add_client(s, SYSTEM, "Kho B", "changes.read", PROVINCE_B)
        seen = [x["client_id"] for x in clients.list_clients(s, prov_a)]
        assert seen == [c["client_id"]]
        with pytest.raises(ServiceError) as hidden:
            clients.rotate_secret(s, prov_a, b.client["client_id"])
        assert hidden.value.status == 404
        for bad_rate in (0, 2_000_000):
            with pytest.raises(ServiceError) as rate:
                clients.add_client(
                    s, SYSTEM, "Y", "changes.read", "central", rate_per_minute=bad_rate
                )
            assert rate.value.problems[0].field == "rate_per_minute"
        with pytest.raises(ServiceError) as nameless:
            clients.add_client(s, SYSTEM, "   ", "changes.read", "central")
        assert nameless.value.problems[0].field == "name"


def test_a_token_gets_the_asked_subset_only(platform: Platform) -> None:
    with platform.sessions() as s:
        made = clients.add_client(s, SYSTEM, "A", "system/*.read changes.read", "central")
        client = clients.authenticate(s, made.client["client_id"], made.secret)
        assert client is not None
        assert clients.grant(client, None) == ["system/*.read", "changes.read"]
        assert clients.grant(client, "system/Patient.read") == ["system/Patient.read"]
        with pytest.raises(ServiceError) as beyond:
            clients.grant(client, "webhooks.manage")
        assert beyond.value.problems[0].rule == "invalid_scope"
        assert clients.authenticate(s, made.client["client_id"], made.secret + "x") is None
