"""/api/v1/users, /auth/password and /audit over the real app (both backends): grants within
the caller's own area, disable and reset end tokens at once, the forced change, the policy,
and the audit log's search, pages and CSV."""

from __future__ import annotations

import csv
import io

from tests.api.conftest import Api
from tests.factories import PASSWORD, PROVINCE_A, payload, world

NEW = "Hoa-sen-no-7-giua-dam"
NEWER = "Cau-vong-sau-mua-42"


def _ids(api: Api, as_: str) -> dict[str, int]:
    r = api.get("/users?limit=500", as_)
    assert r.status_code == 200, r.text
    return {u["username"]: u["id"] for u in r.json()["items"]}


def _token(api: Api, username: str, password: str) -> object:
    return api.client.post("/api/v1/auth/token", data={"username": username, "password": password})


def test_a_province_creates_within_its_area_and_is_told_why_not_beyond(api: Api) -> None:
    ward = world().wards["a2"]
    r = api.post(
        "/users",
        "prov_a",
        json={"username": "nurse_a2", "password": NEW, "role": "commune", "ward_code": ward},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["province_code"] == PROVINCE_A and body["must_change_password"] is True
    assert "password" not in body and "password_hash" not in body
    r = api.post("/users", "prov_a", json={"username": "boss", "password": NEW, "role": "central"})
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["errors"][0]["rule"] == "grant_out_of_area"
    assert "central" in problem["errors"][0]["message_en"]
    assert problem["errors"][0]["message_vi"]
    other = world().wards["b2"]
    r = api.post(
        "/users",
        "prov_a",
        json={"username": "nurse_b2", "password": NEW, "role": "commune", "ward_code": other},
    )
    assert r.status_code == 403 and r.json()["errors"][0]["rule"] == "grant_out_of_area"
    r = api.post(
        "/users",
        "ward_a1",
        json={"username": "x1", "password": NEW, "role": "site", "site_id": world().sites["a1"]},
    )
    assert r.status_code == 403 and r.json()["errors"][0]["rule"] == "role_not_allowed"
    r = api.post(
        "/users",
        "central",
        json={"username": "weak", "password": "weak", "role": "central"},
    )
    assert r.status_code == 422
    assert {e["rule"] for e in r.json()["errors"]} == {"too_short", "contains_username"}
    r = api.post(
        "/users", "central", json={"username": "prov_a", "password": NEW, "role": "central"}
    )
    assert r.status_code == 409
    assert "boss" not in _ids(api, "central") and "nurse_b2" not in _ids(api, "central")


def test_the_list_is_scoped_and_paged(api: Api) -> None:
    assert set(_ids(api, "prov_a")) == {"prov_a", "ward_a1", "site_a1", "citizen_an"}
    assert api.get("/users", "site_a1").status_code == 403
    first = api.get("/users?limit=3", "central").json()
    assert len(first["items"]) == 3 and first["next_after"] == first["items"][-1]["id"]
    rest = api.get(f"/users?limit=100&after={first['next_after']}", "central").json()
    assert rest["next_after"] is None and len(rest["items"]) == 5
    sites = api.get("/users?role=site", "central").json()["items"]
    assert {u["username"] for u in sites} == {"site_a1", "site_b1"}


def test_a_new_user_must_change_the_password_before_a_token(api: Api) -> None:
    site = world().sites["a1"]
    r = api.post(
        "/users",
        "prov_a",
        json={"username": "desk_2", "password": NEW, "role": "site", "site_id": site},
    )
    assert r.status_code == 201
    r = _token(api, "desk_2", NEW)
    assert r.status_code == 403  # type: ignore[attr-defined]
    assert r.json()["errors"][0]["rule"] == "password_change_required"  # type: ignore[attr-defined]
    r = api.client.post(
        "/api/v1/auth/password",
        json={"username": "desk_2", "old_password": NEW, "new_password": "desk_2-pass-word"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["rule"] == "contains_username"
    r = api.client.post(
        "/api/v1/auth/password",
        json={"username": "desk_2", "old_password": "wrong-one-here", "new_password": NEWER},
    )
    assert r.status_code == 401
    r = api.client.post(
        "/api/v1/auth/password",
        json={"username": "desk_2", "old_password": NEW, "new_password": NEWER},
    )
    assert r.status_code == 200 and r.json()["role"] == "site"
    token = r.json()["access_token"]
    r = api.client.get("/api/v1/sessions", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert _token(api, "desk_2", NEWER).status_code == 200  # type: ignore[attr-defined]


def test_disable_refuses_sign_in_and_the_token_already_held(api: Api) -> None:
    assert api.get("/sessions", "site_a1").status_code == 200  # holds a token
    uid = _ids(api, "prov_a")["site_a1"]
    r = api.client.patch(
        f"/api/v1/users/{uid}", json={"disabled": True}, headers=api.headers("prov_a")
    )
    assert r.status_code == 200 and r.json()["active"] is False
    r = api.get("/sessions", "site_a1")
    assert r.status_code == 401 and r.json()["errors"][0]["rule"] == "inactive_user"
    assert _token(api, "site_a1", PASSWORD).status_code == 401  # type: ignore[attr-defined]
    r = api.client.patch(
        f"/api/v1/users/{uid}", json={"disabled": False}, headers=api.headers("prov_a")
    )
    assert r.status_code == 200 and r.json()["active"] is True
    assert _token(api, "site_a1", PASSWORD).status_code == 200  # type: ignore[attr-defined]
    other = _ids(api, "central")["site_b1"]
    r = api.client.patch(
        f"/api/v1/users/{other}", json={"disabled": True}, headers=api.headers("prov_a")
    )
    assert r.status_code == 404
    me = _ids(api, "prov_a")["prov_a"]
    r = api.client.patch(
        f"/api/v1/users/{me}", json={"disabled": True}, headers=api.headers("prov_a")
    )
    assert r.status_code == 409 and r.json()["errors"][0]["rule"] == "self"


def test_a_role_change_ends_the_old_token_and_a_reset_forces_a_change(api: Api) -> None:
    assert api.get("/tickets", "ward_a1").status_code == 200
    uid = _ids(api, "central")["ward_a1"]
    r = api.client.patch(
        f"/api/v1/users/{uid}",
        json={"role": "central"},
        headers=api.headers("prov_a"),
    )
    assert r.status_code == 403 and r.json()["errors"][0]["rule"] == "grant_out_of_area"
    r = api.client.patch(
        f"/api/v1/users/{uid}",
        json={"role": "site", "site_id": world().sites["a1"]},
        headers=api.headers("prov_a"),
    )
    assert r.status_code == 200 and r.json()["role"] == "site"
    r = api.get("/tickets", "ward_a1")
    assert r.status_code == 401 and r.json()["errors"][0]["rule"] == "token_revoked"
    r = api.post(f"/users/{uid}:reset-password", "prov_a", json={"password": "1234567890"})
    assert r.status_code == 422 and r.json()["errors"][0]["rule"] == "too_common"
    r = api.post(f"/users/{uid}:reset-password", "prov_a", json={"password": NEW})
    assert r.status_code == 200 and r.json()["must_change_password"] is True
    assert _token(api, "ward_a1", PASSWORD).status_code == 401  # type: ignore[attr-defined]
    r = _token(api, "ward_a1", NEW)
    assert r.json()["errors"][0]["rule"] == "password_change_required"  # type: ignore[attr-defined]


def test_the_audit_log_api_searches_pages_and_exports(api: Api) -> None:
    uid = _ids(api, "prov_a")["site_a1"]
    for disabled in (True, False, True):
        r = api.client.patch(
            f"/api/v1/users/{uid}", json={"disabled": disabled}, headers=api.headers("prov_a")
        )
        assert r.status_code == 200
    r = api.get("/audit?action=user&limit=2", "prov_a")
    assert r.status_code == 200, r.text
    page = r.json()
    assert [e["action"] for e in page["items"]] == ["user.disable", "user.enable"]
    assert page["items"][0]["at"].endswith("Z") or "+00:00" in page["items"][0]["at"]
    older = api.get(f"/audit?action=user&limit=2&before={page['next_before']}", "prov_a").json()
    assert [e["action"] for e in older["items"]] == ["user.disable"]
    assert older["next_before"] is None
    assert api.get("/audit?action=user.create", "prov_a").json()["items"] == []  # system's
    assert api.get("/audit", "ward_a1").status_code == 403
    r = api.get("/audit?from=2026-02-01&to=2026-01-01", "central")
    assert r.status_code == 422 and r.json()["errors"][0]["rule"] == "range_reversed"
    r = api.get("/audit?user=prov_a&action=user.disable&format=csv", "central")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["action"] for row in rows] == ["user.disable", "user.disable"]
    assert {row["entity_id"] for row in rows} == {str(uid)}
    r = api.get("/audit?action=audit.export", "central")
    assert [e["username"] for e in r.json()["items"]] == ["central"]


def test_a_wrong_old_password_counts_as_a_failed_sign_in(api: Api) -> None:
    """/auth/password checks a password too: it shares the sign-in throttle, so it is no
    way around it."""
    body = {"username": "site_a1", "old_password": "not-the-password", "new_password": NEWER}
    for _ in range(5):
        r = api.client.post("/api/v1/auth/password", json=body)
        assert r.status_code == 401
    r = api.client.post("/api/v1/auth/password", json=body | {"old_password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert _token(api, "site_a1", PASSWORD).status_code == 429  # type: ignore[attr-defined]


def test_the_audit_log_finds_a_person_by_their_doses_too(api: Api) -> None:
    r = api.post("/doses", "central", json=payload("an", site_id=world().sites["a1"]))
    assert r.status_code == 201, r.text
    dose_id = str(r.json()["id"])
    assert api.get("/persons/P-AN", "prov_a").status_code == 200  # a read, audited
    found = api.get("/audit?person=P-AN", "central").json()["items"]
    assert {(e["action"], e["entity_id"]) for e in found} == {
        ("dose.create", dose_id),
        ("person.read", "P-AN"),
    }
    assert api.get("/audit?person=P-BINH", "central").json()["items"] == []
