"""POST /api/v1/verify over the real ASGI app, on SQLite and PostgreSQL; a hypothesis fuzz."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.api.conftest import Api
from tests.factories import payload, world
from tiemchung.core import Platform
from tiemchung.registry.models import AuditEvent

AN_QR = "001085123456||Nguyễn Văn An|12041985|Nam|Thôn 1, Xã Giả, Hà Nội|20042021\r\n"


def _problem(r: Any, status: int, field: str, rule: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status
    assert [(e["field"], e["rule"]) for e in body["errors"]][:1] == [(field, rule)], body


@pytest.mark.parametrize(
    ("user", "allowed"),
    [
        ("central", True),
        ("prov_a", True),
        ("prov_b", True),
        ("ward_a1", True),
        ("ward_b1", True),
        ("site_a1", True),
        ("site_b1", True),
        ("citizen_an", False),
        (None, False),
    ],
)
def test_role_matrix(api: Api, user: str | None, allowed: bool) -> None:
    r = api.post("/verify", user, json={"national_id": "001085123456"})
    if allowed:
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "verified"
    elif user is None:
        _problem(r, 401, "Authorization", "missing_token")
    else:
        _problem(r, 403, "role", "role_not_allowed")


def test_qr_payload_verifies_with_desk_view(api: Api) -> None:
    r = api.post("/verify", "site_b1", json={"qr": AN_QR})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "verified" and body["typed"]["source"] == "qr"
    p = body["person"]
    assert p["person_id"] == "P-AN" and p["national_id"] == "0010******56"
    assert p["view"] == "desk" and "phone" not in p and "address" not in p
    assert body["next_dose"]["dose_number"] == 1


def test_full_view_in_area(api: Api) -> None:
    body = api.post("/verify", "ward_a1", json={"national_id": "001085123456"}).json()
    assert body["person"]["national_id"] == "001085123456"
    assert body["person"]["phone"] == "0912000001" and body["view"] == "full"
    out = api.post("/verify", "ward_b1", json={"national_id": "001085123456"}).json()
    assert out["view"] == "desk" and "phone" not in out["person"]


def test_garbled_qr_is_a_problem_naming_qr(api: Api) -> None:
    r = api.post("/verify", "site_a1", json={"qr": "001085123456|Nguyễn Văn An"})
    _problem(r, 422, "qr", "invalid_qr:qr_field_count")
    assert " / " in r.json()["errors"][0]["message"]  # Vietnamese / English


def test_validation_errors_name_the_field(api: Api) -> None:
    _problem(
        api.post("/verify", "site_a1", json={"ward_code": "12"}),
        422,
        "ward_code",
        ("string_pattern_mismatch"),
    )
    _problem(api.post("/verify", "site_a1", json={"name": "x"}), 422, "name", "extra_forbidden")
    _problem(
        api.post("/verify", "site_a1", json={"full_name": "An"}),
        422,
        "national_id",
        "identifier_required",
    )
    r = api.post("/verify", "site_a1", json={"national_id": "001085123456", "dob": "32/01/1985"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "dob"
    assert r.json()["errors"][0]["rule"].startswith("invalid_dob:")


def test_mismatch_and_ambiguous_answers(api: Api) -> None:
    body = api.post(
        "/verify", "site_a1", json={"national_id": "001085123456", "full_name": "Nguyen Van An"}
    ).json()
    assert body["status"] == "mismatch"
    assert [(m["field"], m["kind"]) for m in body["mismatches"]] == [("full_name", "diacritics")]
    body = api.post("/verify", "site_a1", json={"national_id": "079199000001"}).json()
    assert body["status"] == "not_found" and body["person"] is None


def test_history_in_the_answer_and_reads_audited(api: Api, platform: Platform) -> None:
    r = api.post("/doses", "site_a1", json=payload("an"))
    assert r.status_code == 201, r.text
    body = api.post("/verify", "site_a1", json={"national_id": "001085123456"}).json()
    assert [(d["dose_number"], d["dose_date"], d["product_code"]) for d in body["doses"]] == [
        (1, "2021-10-01", "PFIZER")
    ]
    assert body["next_dose"]["dose_number"] == 2
    assert body["next_dose"]["earliest_date"] == "2021-10-22"
    with platform.sessions() as s:
        reads = s.execute(
            select(AuditEvent.username, AuditEvent.entity_id).where(
                AuditEvent.action == "person.read"
            )
        ).all()
    assert [tuple(r) for r in reads] == [("site_a1", "P-AN")]


def test_verify_then_dose_agree(api: Api) -> None:
    w = world()
    typed = {"national_id": "001190654321", "full_name": "TRẦN THỊ BÌNH", "dob": "02/11/1990"}
    v = api.post("/verify", "site_a1", json=typed).json()
    d = api.post("/doses", "site_a1", json=payload(None, **typed, ward_code=w.wards["a1"]))
    assert v["status"] == "verified" and d.json()["status"] == "verified"
    typed["full_name"] = "Tran Thi Binh"
    v = api.post("/verify", "site_a1", json=typed).json()
    d = api.post("/doses", "site_a1", json=payload(None, **typed, dose_number=1))
    assert v["status"] == "mismatch" and d.status_code == 201
    assert d.json()["status"] == "unverified"


def test_openapi_documents_both_request_forms(api: Api) -> None:
    spec = api.client.get("/api/v1/openapi.json").json()
    op = spec["paths"]["/api/v1/verify"]["post"]
    schema = spec["components"]["schemas"]["DeskVerifyRequest"]
    examples = schema["examples"]
    assert any("qr" in e for e in examples) and any("national_id" in e for e in examples)
    assert "application/problem+json" in op["responses"]["422"]["content"]
    assert "DeskVerifyResponse" in str(op["responses"]["200"])


# -- garbage never becomes a 5xx ------------------------------------------------------------------

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
_FIELDS = ["qr", "national_id", "full_name", "dob", "sex", "ward_code"]
_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_qr_like = st.lists(st.text(max_size=14), min_size=0, max_size=9).map("|".join)


def _check(r: Any) -> None:
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("application/problem+json"), r.text
        body = r.json()
        assert body["status"] == r.status_code and body["title"]
        if r.status_code == 422:  # a field is at fault: it is named
            assert body["errors"] and all(e["field"] and e["rule"] for e in body["errors"])


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@_SETTINGS
@given(body=_json)
def test_fuzz_any_json(api: Api, body: Any) -> None:
    _check(api.post("/verify", "site_a1", json=body))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
@_SETTINGS
@given(
    body=st.dictionaries(
        st.sampled_from(_FIELDS), st.one_of(st.text(max_size=40), _qr_like, _json), max_size=4
    )
)
def test_fuzz_well_shaped_fields(api: Api, body: dict[str, Any]) -> None:
    _check(api.post("/verify", "central", json=body))


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@_SETTINGS
@given(raw=st.binary(max_size=200))
def test_fuzz_any_bytes(api: Api, raw: bytes) -> None:
    _check(
        api.post("/verify", "site_a1", content=raw, headers={"content-type": "application/json"})
    )
