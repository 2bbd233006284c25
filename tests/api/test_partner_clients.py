"""Partner clients over HTTP with real tokens (issue 19 point 4): the token endpoint as RFC
6749 writes it, scopes per FHIR resource, the client's area scoping what it reads, its rate
limit (429, then recovery; shared through the database), revocation on disable and rotate,
and an audit row per read naming the client. Both backends."""

from __future__ import annotations

import base64
import time
from datetime import date
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from sqlalchemy import select

from tests.api.conftest import Api
from tests.factories import PROVINCE_A, submission, world
from tiemchung.auth import clients
from tiemchung.auth.clientgate import ClientGate
from tiemchung.core import Platform
from tiemchung.registry.doses.record import record_doses
from tiemchung.registry.models import AuditEvent
from tiemchung.registry.scope import Actor

SYSTEM = Actor.system("tests")
FHIR_JSON = "application/fhir+json"


def add(platform: Platform, scopes: str, area: str = "central", **kw: Any) -> tuple[str, str]:
    with platform.sessions() as s:
        made = clients.add_client(s, SYSTEM, "Sổ sức khoẻ (thử)", scopes, area, **kw)
        s.commit()
    return made.client["client_id"], made.secret


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def token_of(api: Api, client_id: str, secret: str, scope: str | None = None) -> str:
    form = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
    r = api.client.post("/oauth/token", data=form, headers=basic(client_id, secret))
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def fhir(api: Api, path: str, token: str, **params: Any) -> Any:
    return api.client.get(
        f"/fhir/R4{path}", headers={"Authorization": f"Bearer {token}"}, params=params
    )


def outcome(r: Any, status: int) -> OperationOutcome:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(FHIR_JSON)
    return OperationOutcome.model_validate(r.json())


@pytest.fixture
def gate(api: Api, platform: Platform) -> ClientGate:
    """The app's gate with a clock the test moves, and no cache of clients' standing (a
    change the test makes in the database is seen at the next request)."""
    gate_now[0] = (time.time() // 60 + 1) * 60  # the next minute's turn, before any token expires
    found = ClientGate(platform.settings, clock=lambda: gate_now[0], cache_s=0)
    api.client.app.state.client_gate = found  # type: ignore[attr-defined]
    return found


gate_now = [0.0]  # the gate's clock, epoch seconds


@pytest.fixture
def doses(platform: Platform) -> dict[str, int]:
    subs = {
        "an1": submission("an"),
        "an2": submission("an", dose_number=2, dose_date=date(2021, 10, 25)),
        "dung": submission("dung", site_id=world().sites["b1"], dose_date=date(2021, 10, 2)),
    }
    results = platform.writer.run(
        lambda s: record_doses(
            s, platform.catalog, SYSTEM, list(subs.values()), today=date(2022, 6, 1)
        )
    )
    assert all(r.dose is not None for r in results)
    return {k: int(r.dose["id"]) for k, r in zip(subs, results, strict=True) if r.dose}


# -- the token endpoint -----------------------------------------------------------------------


def test_token_by_basic_or_form_with_all_or_some_scopes(api: Api, platform: Platform) -> None:
    cid, secret = add(platform, "system/Immunization.read system/Patient.read changes.read")
    r = api.client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers=basic(cid, secret)
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "system/Immunization.read system/Patient.read changes.read"
    assert r.headers["cache-control"] == "no-store"
    form = {
        "grant_type": "client_credentials",
        "client_id": cid,
        "client_secret": secret,
        "scope": "system/Patient.read",
    }
    r = api.client.post("/oauth/token", data=form)
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "system/Patient.read"


def test_token_errors_are_rfc6749_json(api: Api, platform: Platform) -> None:
    cid, secret = add(platform, "system/Immunization.read")
    grant = {"grant_type": "client_credentials"}
    wrong = api.client.post("/oauth/token", data=grant, headers=basic(cid, "not-the-secret"))
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert wrong.headers["www-authenticate"].startswith("Basic")
    unknown = api.client.post("/oauth/token", data=grant, headers=basic("tc-nobody", secret))
    assert (unknown.status_code, unknown.json()["error"]) == (401, "invalid_client")
    password = api.client.post(
        "/oauth/token", data={"grant_type": "password"}, headers=basic(cid, secret)
    )
    assert (password.status_code, password.json()["error"]) == (400, "unsupported_grant_type")
    beyond = api.client.post(
        "/oauth/token",
        data=grant | {"scope": "system/Patient.read"},
        headers=basic(cid, secret),
    )
    assert (beyond.status_code, beyond.json()["error"]) == (400, "invalid_scope")
    assert "system/Patient.read" in beyond.json()["error_description"]
    both = api.client.post(
        "/oauth/token",
        data=grant | {"client_id": cid, "client_secret": secret},
        headers=basic(cid, secret),
    )
    assert (both.status_code, both.json()["error"]) == (400, "invalid_request")
    nul = api.client.post(
        "/oauth/token", data=grant | {"scope": "a\x00"}, headers=basic(cid, secret)
    )
    assert (nul.status_code, nul.json()["error"]) == (400, "invalid_request")
    assert "NUL" in nul.json()["error_description"]
    nothing = api.client.post("/oauth/token", data=grant)
    assert (nothing.status_code, nothing.json()["error"]) == (401, "invalid_client")


def test_failed_authentications_of_a_client_slow_down(api: Api, platform: Platform) -> None:
    cid, secret = add(platform, "system/Immunization.read")
    grant = {"grant_type": "client_credentials"}
    for _ in range(5):
        r = api.client.post("/oauth/token", data=grant, headers=basic(cid, "guess"))
        assert r.status_code == 401
    # the sixth attempt waits, even with the right secret
    r = api.client.post("/oauth/token", data=grant, headers=basic(cid, secret))
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    assert r.json()["error"] == "invalid_client"


def test_smart_configuration_names_the_endpoint_and_scopes(api: Api) -> None:
    r = api.client.get("/.well-known/smart-configuration")
    assert r.status_code == 200
    body = r.json()
    assert body["token_endpoint"] == "http://testserver/oauth/token"
    assert "system/Immunization.read" in body["scopes_supported"]
    assert "changes.read" in body["scopes_supported"]
    assert body["grant_types_supported"] == ["client_credentials"]


# -- scopes, area ---------------------------------------------------------------------------


def test_scopes_are_enforced_per_resource(
    api: Api, platform: Platform, gate: ClientGate, doses: dict[str, int]
) -> None:
    cid, secret = add(platform, "system/Immunization.read")
    token = token_of(api, cid, secret)
    r = fhir(api, "/Immunization", token, patient="P-AN")
    assert r.status_code == 200, r.text
    found = Bundle.model_validate(r.json())
    assert sorted(int(e.resource.id) for e in found.entry or []) == sorted(
        [doses["an1"], doses["an2"]]
    )
    # including the patients in a search reads Patients too
    included = fhir(api, "/Immunization", token, patient="P-AN", _include="Immunization:patient")
    assert "system/Patient.read" in (outcome(included, 403).issue[0].diagnostics or "")
    refused = outcome(fhir(api, "/Patient/P-AN", token), 403)
    assert refused.issue[0].code == "forbidden"
    assert "system/Patient.read" in (refused.issue[0].diagnostics or "")
    outcome(fhir(api, "/Patient", token), 403)
    outcome(fhir(api, "/Location/S-A1", token), 403)
    # a token asked for a subset holds only that subset
    every, every_secret = add(platform, "system/*.read")
    wide = token_of(api, every, every_secret)
    assert fhir(api, "/Patient/P-AN", wide).status_code == 200
    assert fhir(api, f"/Immunization/{doses['an1']}", wide).status_code == 200
    both = fhir(api, "/Immunization", wide, patient="P-AN", _include="Immunization:patient")
    assert both.status_code == 200, both.text
    assert {e["resource"]["resourceType"] for e in both.json()["entry"]} == {
        "Immunization",
        "Patient",
    }
    narrow = token_of(api, every, every_secret, scope="system/Patient.read")
    outcome(fhir(api, f"/Immunization/{doses['an1']}", narrow), 403)
    # a client token is no staff token: the rest of the API refuses it
    bearer = {"Authorization": f"Bearer {wide}"}
    assert api.client.get("/api/v1/persons/P-AN", headers=bearer).status_code == 401
    # a staff member's token works as before
    r = api.client.get("/fhir/R4/Patient/P-AN", headers=api.headers("central"))
    assert r.status_code == 200


def test_a_clients_area_scopes_what_it_reads(
    api: Api, platform: Platform, gate: ClientGate, doses: dict[str, int]
) -> None:
    prov, prov_secret = add(platform, "system/*.read", PROVINCE_A)
    token = token_of(api, prov, prov_secret)
    outcome(fhir(api, "/Patient/P-DUNG", token), 404)  # province B
    assert fhir(api, "/Patient/P-CUONG", token).status_code == 200
    listed = Bundle.model_validate(fhir(api, "/Patient", token).json())
    assert sorted(e.resource.id for e in listed.entry or []) == ["P-AN", "P-BINH", "P-CUONG"]
    outcome(fhir(api, f"/Immunization/{doses['dung']}", token), 404)
    ward, ward_secret = add(platform, "system/*.read", world().wards["a1"])
    token = token_of(api, ward, ward_secret)
    listed = Bundle.model_validate(fhir(api, "/Patient", token).json())
    assert sorted(e.resource.id for e in listed.entry or []) == ["P-AN", "P-BINH"]


# -- rate limit, revocation -----------------------------------------------------------------


def test_rate_limit_then_recovery_shared_by_processes(
    api: Api, platform: Platform, gate: ClientGate
) -> None:
    cid, secret = add(platform, "system/Patient.read", rate_per_minute=2)
    token = token_of(api, cid, secret)
    start = gate_now[0]
    gate_now[0] = start + 10
    assert fhir(api, "/Patient/P-AN", token).status_code == 200
    assert fhir(api, "/Patient/P-AN", token).status_code == 200
    limited = outcome(fhir(api, "/Patient/P-AN", token), 429)
    assert limited.issue[0].code == "throttled"
    assert limited.issue[0].expression == ["rate_per_minute"]
    r = fhir(api, "/Patient/P-AN", token)
    assert r.status_code == 429 and r.headers["retry-after"] == "50"
    # another server process (its own gate) counts in the same database: still over
    other = ClientGate(platform.settings, clock=lambda: gate_now[0], cache_s=0)
    with pytest.raises(Exception) as refused:
        other.admit(platform.sessions, platform.token_secret, token, ("system/Patient.read",))
    assert getattr(refused.value, "status", None) == 429
    # the next minute the client reads again
    gate_now[0] = start + 61
    assert fhir(api, "/Patient/P-AN", token).status_code == 200


def test_disable_and_rotate_revoke_tokens(api: Api, platform: Platform, gate: ClientGate) -> None:
    cid, secret = add(platform, "system/Patient.read")
    token = token_of(api, cid, secret)
    assert fhir(api, "/Patient/P-AN", token).status_code == 200
    with platform.sessions() as s:
        rotated = clients.rotate_secret(s, SYSTEM, cid)
        s.commit()
    revoked = outcome(fhir(api, "/Patient/P-AN", token), 401)
    assert revoked.issue[0].code == "login"
    assert "revoked" in (revoked.issue[0].diagnostics or "")
    grant = {"grant_type": "client_credentials"}
    old = api.client.post("/oauth/token", data=grant, headers=basic(cid, secret))
    assert old.status_code == 401
    fresh = token_of(api, cid, rotated.secret)
    assert fhir(api, "/Patient/P-AN", fresh).status_code == 200
    with platform.sessions() as s:
        clients.disable_client(s, SYSTEM, cid)
        s.commit()
    outcome(fhir(api, "/Patient/P-AN", fresh), 401)
    again = api.client.post("/oauth/token", data=grant, headers=basic(cid, rotated.secret))
    assert (again.status_code, again.json()["error"]) == (401, "invalid_client")


# -- audit ------------------------------------------------------------------------------------


def test_every_read_by_a_client_is_audited_under_its_name(
    api: Api, platform: Platform, gate: ClientGate, doses: dict[str, int]
) -> None:
    cid, secret = add(platform, "system/*.read", PROVINCE_A)
    token = token_of(api, cid, secret)
    assert fhir(api, "/Patient/P-AN", token).status_code == 200
    assert fhir(api, "/Immunization", token, patient="P-AN").status_code == 200
    with platform.sessions() as s:
        rows = s.execute(
            select(AuditEvent.action, AuditEvent.entity_id, AuditEvent.user_id).where(
                AuditEvent.username == f"client:{cid}"
            )
        ).all()
    assert sorted((a, e) for a, e, _ in rows) == sorted(
        [
            ("person.read", "P-AN"),
            ("dose.read", str(doses["an1"])),
            ("dose.read", str(doses["an2"])),
        ]
    )
    assert {u for _, _, u in rows} == {None}
    # the audit log finds them by the client, for central and for the client's province
    for reader in ("central", "prov_a"):
        r = api.get("/audit", reader, params={"user": f"client:{cid}"})
        assert r.status_code == 200, r.text
        assert len(r.json()["items"]) == 3
    r = api.get("/audit", "prov_b", params={"user": f"client:{cid}"})
    assert r.status_code == 200 and r.json()["items"] == []


def test_a_client_exports_with_both_read_scopes_and_only_it_reads_the_job(
    api: Api, platform: Platform
) -> None:
    """`$export` for a partner: both types' read scopes (the spec has no export scope), the
    job's status and files only for the client that asked."""
    from tiemchung.fhir.export_runner import runner_for

    cid, secret = add(platform, "system/Patient.read system/Immunization.read", "01")
    token = token_of(api, cid, secret)
    other_id, other_secret = add(platform, "system/*.read", "01")
    other = token_of(api, other_id, other_secret)
    narrow_id, narrow_secret = add(platform, "system/Immunization.read", "01")
    narrow = token_of(api, narrow_id, narrow_secret)
    async_ = {"Prefer": "respond-async"}
    refused = api.client.get(
        "/fhir/R4/$export", headers={"Authorization": f"Bearer {narrow}"} | async_
    )
    assert "system/Patient.read" in outcome(refused, 403).issue[0].diagnostics  # type: ignore[operator]
    kick = api.client.get("/fhir/R4/$export", headers={"Authorization": f"Bearer {token}"} | async_)
    assert kick.status_code == 202, kick.text
    status_url = kick.headers["Content-Location"]
    assert runner_for(platform).wait_idle(60)
    r = api.client.get(status_url, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert {o["type"] for o in r.json()["output"]} <= {"Patient", "Immunization"}
    assert (
        api.client.get(status_url, headers={"Authorization": f"Bearer {other}"}).status_code == 404
    )


def test_a_client_reads_the_change_feed_of_its_area_with_its_scope(
    api: Api, platform: Platform
) -> None:
    """`GET /api/v1/changes` for a partner: `changes.read`, its province's rows only."""
    from tests.factories import payload

    for label in ("an", "dung"):  # province A and province B
        assert api.post("/doses", "central", json=payload(label)).status_code == 201
    cid, secret = add(platform, "changes.read", PROVINCE_A)
    token = token_of(api, cid, secret)
    r = api.client.get("/api/v1/changes", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    rows = r.json()["changes"]
    assert rows and all(c["resource"] in ("Immunization", "Patient") for c in rows)
    with platform.sessions() as s:
        from tiemchung.registry.tables.changes import ChangeEntry

        provinces = dict(s.execute(select(ChangeEntry.seq, ChangeEntry.province_code)).all())
    assert {provinces[c["seq"]] for c in rows} == {PROVINCE_A}
    assert len(rows) < len(provinces)  # province B's change is not among them
    no_id, no_secret = add(platform, "system/Immunization.read", PROVINCE_A)
    other = token_of(api, no_id, no_secret)
    r = api.client.get("/api/v1/changes", headers={"Authorization": f"Bearer {other}"})
    assert r.status_code == 403 and "changes.read" in r.text
