"""The dose API: idempotency, batches, problem documents for every kind of bad input."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from tests.api.conftest import Api
from tests.factories import payload, world
from tiemchung.core import Platform
from tiemchung.registry.models import AuditEvent, Dose, ReviewItem


def _doses(platform: Platform) -> int:
    with platform.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Dose)) or 0)


def _problem(r, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["title"]
    return body


def test_retry_returns_the_original_dose(api: Api, platform: Platform) -> None:
    body = payload("an")
    first = api.post("/doses", "site_a1", json=body)
    second = api.post("/doses", "site_a1", json=body)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["status"] == "verified" and first.json()["person_id"] == "P-AN"
    assert _doses(platform) == 1


def test_malformed_json_is_400(api: Api, platform: Platform) -> None:
    r = api.post(
        "/doses",
        "site_a1",
        content=b'{"client_uuid": ',
        headers={"content-type": "application/json"},
    )
    body = _problem(r, 400)
    assert body["errors"][0]["rule"] == "json_invalid"
    assert _doses(platform) == 0


def test_unknown_field_and_wrong_type_are_named(api: Api, platform: Platform) -> None:
    body = payload("an") | {"bogus": 1, "dose_number": "two"}
    problem = _problem(api.post("/doses", "site_a1", json=body), 422)
    named = {(e["field"], e["rule"]) for e in problem["errors"]}
    assert ("bogus", "extra_forbidden") in named
    assert ("dose_number", "int_parsing") in named
    missing = _problem(api.post("/doses", "site_a1", json={"full_name": "A"}), 422)
    assert {"client_uuid", "dose_date", "site_id"} <= {e["field"] for e in missing["errors"]}
    assert _doses(platform) == 0


def test_rule_violations_are_problem_documents(api: Api, platform: Platform) -> None:
    w = world()
    tomorrow = date.today() + timedelta(days=2)
    cases = [
        (payload("an", lot_number="NOPE"), 422, "lot_number", "unknown_lot"),
        (payload("an", dose_date=tomorrow), 422, "dose_date", "future_date"),
        (payload(None, ward_code=w.wards["b1"]), 403, "ward_code", "out_of_area"),
    ]
    for body, status, field, rule in cases:
        problem = _problem(api.post("/doses", "ward_a1", json=body), status)
        assert problem["errors"][0]["field"] == field
        assert problem["errors"][0]["rule"] == rule
        assert problem["type"].endswith(rule)
        assert " / " in problem["errors"][0]["message"]  # Vietnamese / English
    assert _doses(platform) == 0


def test_sequence_rules_answer_201_with_warnings(api: Api, platform: Platform) -> None:
    """Was 422 previous_dose_missing: a dose that was given is stored; the answer says what
    is unusual, in both languages, and the retry repeats it."""
    body = payload("an", dose_number=2)
    r = api.post("/doses", "site_a1", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "verified" and r.json()["person_id"] == "P-AN"
    assert r.json()["warnings"] == [
        {
            "code": "previous_dose_missing",
            "field": "dose_number",
            "message_vi": "Chưa có mũi 1 trong hệ thống — hãy nhập từ phiếu/thẻ tiêm",
            "message_en": "dose 1 missing from the system — enter it from the vaccination card",
        }
    ]
    again = api.post("/doses", "site_a1", json=body)
    assert again.status_code == 200 and again.json()["warnings"] == r.json()["warnings"]
    assert _doses(platform) == 1


def test_a_typed_name_off_with_a_gap_in_history_is_stored(api: Api, platform: Platform) -> None:
    """The issue's API case: a person with doses 1 and 3, dose 4 sent with the name typed
    differently. Was: 422 "dose 3 must be recorded before dose 4", nothing stored."""
    for n, day in ((1, date(2021, 8, 1)), (3, date(2021, 11, 1))):
        ok = api.post("/doses", "site_a1", json=payload("an", dose_number=n, dose_date=day))
        assert ok.status_code == 201, ok.text
    body = payload("an", full_name="Nguyễn Văn Ân", dose_number=4, dose_date=date(2022, 2, 1))
    r = api.post("/doses:batch", "site_a1", json={"doses": [body]})
    (item,) = r.json()["results"]
    assert item["status"] == 201 and item["problem"] is None
    assert item["dose"]["status"] == "unverified"
    assert [(w["code"], w["message_en"]) for w in item["dose"]["warnings"]] == [
        (
            "previous_dose_missing",
            "dose 2 missing from the system — enter it from the vaccination card",
        )
    ]
    assert _doses(platform) == 3
    # one dose, one item: the unverified item carries the warning (was: a dose_check item too)
    with platform.sessions() as s:
        items = s.execute(
            select(ReviewItem.kind, ReviewItem.explanation).where(
                ReviewItem.dose_id == item["dose"]["id"]
            )
        ).all()
    ((kind, explanation),) = items
    assert kind == "unverified" and "dose rule: previous_dose_missing" in explanation


def test_openapi_documents_the_warnings(api: Api) -> None:
    spec = api.client.get("/api/v1/openapi.json").json()
    created = spec["paths"]["/api/v1/doses"]["post"]["responses"]["201"]["content"]
    assert created["application/json"]["schema"]["$ref"].endswith("/DoseRecorded")
    recorded = spec["components"]["schemas"]["DoseRecorded"]
    assert recorded["properties"]["warnings"]["items"]["$ref"].endswith("/DoseWarning")
    (example,) = recorded["examples"]
    assert example["warnings"][0]["code"] == "previous_dose_missing"


def test_batch_answers_each_item(api: Api, platform: Platform) -> None:
    good = payload("an")
    items = [good, payload("binh") | {"bogus": True}, payload("cuong", lot_number="NOPE"), good]
    r = api.post("/doses:batch", "site_a1", json={"doses": items})
    assert r.status_code == 200, r.text
    out = r.json()
    assert [x["status"] for x in out["results"]] == [201, 422, 422, 200]
    assert (out["created"], out["existing"], out["failed"]) == (1, 1, 2)
    assert out["results"][1]["problem"]["errors"][0]["field"] == "doses.1.bogus"
    assert out["results"][2]["problem"]["errors"][0]["field"] == "lot_number"
    assert _doses(platform) == 1


def test_batch_limit(api: Api) -> None:
    r = api.post("/doses:batch", "site_a1", json={"doses": [payload("an")] * 1001})
    assert _problem(r, 422)["errors"][0]["field"] == "doses"


def test_bad_credentials_and_bad_tokens(api: Api) -> None:
    r = api.client.post("/api/v1/auth/token", data={"username": "central", "password": "nope"})
    assert _problem(r, 401)["errors"][0]["rule"] == "bad_credentials"
    r = api.client.get("/api/v1/doses", headers={"Authorization": "Bearer not.a.token"})
    assert _problem(r, 401)["errors"][0]["rule"] == "invalid_token"


def test_expired_token_is_refused(api: Api, platform: Platform) -> None:
    import jwt

    from tiemchung.auth.security import AUDIENCE
    from tiemchung.auth.tokens import ALGORITHM

    old = jwt.encode(
        {"sub": "central", "uid": 1, "role": "central", "aud": AUDIENCE, "exp": 1_600_000_000},
        platform.settings.token_secret(),
        algorithm=ALGORITHM,
    )
    r = api.client.get("/api/v1/doses", headers={"Authorization": f"Bearer {old}"})
    assert _problem(r, 401)["errors"][0]["rule"] == "token_expired"


def test_reads_of_person_data_are_audited(api: Api, platform: Platform) -> None:
    assert api.get("/persons/P-AN", "ward_a1").status_code == 200
    assert (
        api.get("/persons", "ward_a1", params={"national_id": "001190654321"}).json()["total"] == 1
    )
    with platform.sessions() as s:
        reads = s.execute(
            select(AuditEvent.username, AuditEvent.entity_id).where(
                AuditEvent.action == "person.read"
            )
        ).all()
    assert ("ward_a1", "P-AN") in reads and ("ward_a1", "P-BINH") in reads


def test_person_detail_has_dose_history(api: Api) -> None:
    assert api.post("/doses", "site_a1", json=payload("an")).status_code == 201
    detail = api.get("/persons/P-AN", "citizen_an").json()
    assert [d["dose_number"] for d in detail["doses"]] == [1]
    assert detail["full_name"] == "Nguyễn Văn An"


def test_health_and_openapi(api: Api) -> None:
    health = api.client.get("/api/v1/health").json()
    assert health["status"] == "ok" and health["migration"] == health["migration_head"]
    spec = api.client.get("/api/v1/openapi.json").json()
    for path in (
        "/api/v1/doses",
        "/api/v1/doses:batch",
        "/api/v1/persons",
        "/api/v1/persons/{person_id}",
        "/api/v1/sites",
        "/api/v1/products",
        "/api/v1/sessions",
        "/api/v1/auth/token",
        "/api/v1/health",
    ):
        assert path in spec["paths"], path
    schemas = spec["components"]["schemas"]
    assert schemas["DoseCreate"]["examples"][0]["client_uuid"]
    assert schemas["Problem"]["examples"][0]["errors"][0]["field"]
    # every error answer is documented with the media type it is sent as
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            for status, resp in op["responses"].items():
                if status[0] in "45":
                    # the FHIR API's errors are OperationOutcome resources (test_fhir_api.py)
                    fhir = path.startswith("/fhir/R4/")
                    media = "application/fhir+json" if fhir else "application/problem+json"
                    if path == "/oauth/token":  # RFC 6749 §5.2: its errors are plain JSON
                        media = "application/json"
                    if (path, status) == ("/api/v1/health", "503"):  # its Health body
                        media = "application/json"
                    assert list(resp.get("content", {})) == [media], (
                        path,
                        method,
                        status,
                    )
    post = spec["paths"]["/api/v1/doses"]["post"]["responses"]
    assert {"200", "201", "400", "401", "403", "409", "422"} <= set(post)


def test_batch_answers_match_the_published_models(api: Api, platform: Platform) -> None:
    """The batch answer is built as dicts for speed: it must still be exactly what the
    documented models (DoseBatchResult, DosePublic) serialise to."""
    from tiemchung.api.schemas import DoseBatchResult, DoseRecorded

    items = [payload("an"), payload("binh", lot_number="NOPE"), payload(None)]
    r = api.post("/doses:batch", "site_a1", json={"doses": items})
    assert r.status_code == 200, r.text
    sent = r.json()
    assert [x["status"] for x in sent["results"]] == [201, 422, 201]
    assert DoseBatchResult.model_validate(sent).model_dump(mode="json") == sent
    retry = api.post("/doses", "site_a1", json=items[0])
    assert retry.status_code == 200
    assert DoseRecorded.model_validate(retry.json()).model_dump(mode="json") == retry.json()
    assert retry.json() == sent["results"][0]["dose"]
    assert list(retry.json()) == list(DoseRecorded.model_fields)


def test_batch_body_errors_are_problem_documents(api: Api, platform: Platform) -> None:
    malformed = api.post(
        "/doses:batch",
        "site_a1",
        content=b'{"doses": [',
        headers={"content-type": "application/json"},
    )
    assert _problem(malformed, 400)["errors"][0]["rule"] == "json_invalid"
    extra = _problem(api.post("/doses:batch", "site_a1", json={"doses": [], "x": 1}), 422)
    assert {(e["field"], e["rule"]) for e in extra["errors"]} >= {("x", "extra_forbidden")}
    assert _problem(api.post("/doses:batch", "site_a1", json={}), 422)["errors"][0] == {
        "field": "doses",
        "rule": "missing",
        "message": "Thiếu trường bắt buộc / required field missing",
        "message_vi": "Thiếu trường bắt buộc",
        "message_en": "required field missing",
    }
    citizen = api.post("/doses:batch", "citizen_an", json={"doses": [payload("an")]})
    assert _problem(citizen, 403)["errors"][0]["rule"] == "role_not_allowed"
    assert _doses(platform) == 0


def test_batch_item_missing_and_wrong_fields_are_named(api: Api, platform: Platform) -> None:
    items = [payload("an"), {"full_name": "A"}, payload("binh") | {"dose_number": "two"}]
    out = api.post("/doses:batch", "site_a1", json={"doses": items}).json()
    assert [x["status"] for x in out["results"]] == [201, 422, 422]
    missing = {e["field"] for e in out["results"][1]["problem"]["errors"]}
    assert {"doses.1.client_uuid", "doses.1.dose_date", "doses.1.site_id"} <= missing
    wrong = out["results"][2]["problem"]["errors"]
    assert [(e["field"], e["rule"]) for e in wrong] == [("doses.2.dose_number", "int_parsing")]
    assert _doses(platform) == 1


def test_blank_person_query_values_count_as_absent(api: Api) -> None:
    # a blank ID is no identifying query for a site (it must not list everyone without an
    # ID), and a blank date of birth is no filter (it crashed the lookup with a 500)
    r = api.get("/persons", "site_a1", params={"national_id": " ", "full_name": "Nguyễn Văn An"})
    assert r.status_code == 403, r.text
    r = api.get("/persons", "ward_a1", params={"national_id": "001190654321", "dob": "\r"})
    assert r.status_code == 200 and r.json()["total"] == 1, r.text
