"""The registration routes end to end (both backends): an organisation applies without
signing in, its ward approves it, its user posts one row and a batch, reads each row's
result, fixes and withdraws; a batch over 10,000 rows is a 413 problem in both languages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from tests.api.conftest import Api
from tests.factories import PASSWORD, world
from tiemchung.auth.orgusers import add_organisation_user
from tiemchung.core import Platform
from tiemchung.registry.models import AuditEvent
from tiemchung.registry.people.registration.priority import load_priority_groups
from tiemchung.registry.scope import Actor
from tiemchung.registry.tables.registrations import RegistrationSource

AN = {"national_id": "001085123456", "full_name": "Nguyễn Văn An", "dob": "12/04/1985"}
APP = {"name": "Trường Tiểu học Giả Định", "code": "0101234567", "kind": "school"}


def _approved(api: Api, platform: Platform) -> int:
    with platform.sessions() as s:
        load_priority_groups(s)
        s.commit()
    r = api.post("/organisations", None, json=APP | {"ward_code": world().wards["a1"]})
    assert r.status_code == 201, r.text
    org = r.json()
    assert (org["status"], org["province_code"]) == ("applied", "01")
    assert api.post(f"/organisations/{org['id']}:approve", "ward_b1", json={}).status_code == 403
    r = api.post(f"/organisations/{org['id']}:approve", "ward_a1", json={"note": "ok"})
    assert r.json()["status"] == "approved"
    with platform.sessions() as s:
        add_organisation_user(s, Actor.system("tests"), org["id"], "school-hr", PASSWORD)
        s.commit()
    return int(org["id"])


def test_apply_approve_submit_and_read_results(api: Api, platform: Platform) -> None:
    org_id = _approved(api, platform)
    r = api.post("/registrations", "school-hr", json=AN | {"organisation_id": org_id})
    assert r.status_code == 201, r.text
    assert r.json()["result"] == "verified" and r.json()["registration_id"] is not None
    rows: list[dict[str, Any]] = [
        AN | {"full_name": "Nguyen Van An"},  # no diacritics: named
        {"full_name": "Ai Đó", "underlying_condition": "có"},
    ]
    r = api.post(
        "/registrations:batch", "school-hr", json={"organisation_id": org_id, "rows": rows}
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["counts"] == {"mismatch": 1, "rejected": 1}
    assert body["rows"][0]["reasons"][0]["field"] == "full_name"
    # the organisation reads every row with its result
    page = api.get(f"/organisations/{org_id}/registrations", "school-hr").json()
    assert [i["result"] for i in page["items"]] == ["verified", "mismatch", "rejected"]
    assert page["counts"] == {"verified": 1, "mismatch": 1, "rejected": 1}
    # fix the mismatch: it is the same person, already registered: joined, not doubled
    sid = body["rows"][0]["source_id"]
    r = api.client.patch(
        f"/api/v1/registrations/sources/{sid}",
        headers=api.headers("school-hr"),
        json={"full_name": "Nguyễn Văn An"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["result"] == "verified"
    first = page["items"][0]
    assert r.json()["registration_id"] == first["registration_id"]
    r = api.post(f"/registrations/sources/{first['source_id']}:withdraw", "school-hr")
    assert r.json()["withdrawn"] is True
    # another ward's user sees nothing of it
    assert api.get(f"/organisations/{org_id}/registrations", "ward_b1").status_code == 404
    with platform.sessions() as s:
        actions = set(s.scalars(select(AuditEvent.action)))
        assert {"organisation.apply", "organisation.approve", "registration.batch",
                "registration.fix", "registration.withdraw"} <= actions  # fmt: skip


def test_a_batch_over_10000_rows_is_a_413(api: Api, platform: Platform) -> None:
    org_id = _approved(api, platform)
    rows = [AN] * 10_001
    r = api.post(
        "/registrations:batch", "school-hr", json={"organisation_id": org_id, "rows": rows}
    )
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("application/problem+json")
    err = r.json()["errors"][0]
    assert err["rule"] == "batch_too_large" and "10,000" in err["message_en"]
    assert "10,000" in err["message_vi"]
    with platform.sessions() as s:
        assert s.scalar(select(func.count()).select_from(RegistrationSource)) == 0


def test_bad_application_and_group_edit(api: Api, platform: Platform) -> None:
    r = api.post("/organisations", None, json=APP | {"ward_code": "99999"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "ward_code"
    with platform.sessions() as s:
        load_priority_groups(s)
        s.commit()
    groups = api.get("/priority-groups", None).json()
    assert [g["code"] for g in groups][:2] == ["NQ21-01", "NQ21-02"]
    put = api.client.put(
        "/api/v1/priority-groups/NQ21-03",
        headers=api.headers("ward_a1"),
        json={"name_en": "Army"},
    )
    assert put.status_code == 403
    put = api.client.put(
        "/api/v1/priority-groups/NQ21-03", headers=api.headers("central"), json={"name_en": "Army"}
    )
    assert put.status_code == 200 and put.json()["name_en"] == "Army"
