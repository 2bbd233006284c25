"""The certificate routes' answers match the schemas the OpenAPI document gives them (issue 20
point 11): the real answers, over the real app, validated by the document's own JSON Schemas
(and by the models, which forbid unknown keys), so the documentation cannot drift."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from tests.api.conftest import Api
from tiemchung.certificates.keys import KeyStore

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _check(doc: dict[str, Any], path: str, method: str, status: str, body: Any) -> None:
    """Validate ``body`` against the OpenAPI's schema of that answer, refs resolved."""
    schema = doc["paths"][path][method]["responses"][status]["content"]["application/json"]
    schema = schema["schema"]
    assert schema, f"{method} {path} {status} has an empty schema"
    # the document is the root the $ref resolves in
    whole = {"$ref": schema["$ref"], "components": doc["components"]}
    jsonschema.validate(body, whole, cls=jsonschema.Draft202012Validator)


def test_certificate_answers_match_their_documented_schemas(
    api: Api, keys: KeyStore, vaccinated: dict
) -> None:
    doc = api.get("/openapi.json", None).json()
    trust = api.get("/trust-list", None)
    assert trust.status_code == 200
    _check(doc, "/api/v1/trust-list", "get", "200", trust.json())

    issued = api.post("/persons/P-AN/certificate", "ward_a1")
    assert issued.status_code == 201, issued.text
    cert = issued.json()
    _check(doc, "/api/v1/persons/{person_id}/certificate", "post", "201", cert)
    read = api.get("/persons/P-AN/certificate", "ward_a1")
    _check(doc, "/api/v1/persons/{person_id}/certificate", "get", "200", read.json())

    verdict = api.post("/certificates/verify", None, json={"text": cert["hc1"]}).json()
    assert verdict["valid"] is True
    _check(doc, "/api/v1/certificates/verify", "post", "200", verdict)
    bad = api.post("/certificates/verify", None, json={"text": "HC1:nonsense"}).json()
    assert bad["valid"] is False and bad["reasons"]
    _check(doc, "/api/v1/certificates/verify", "post", "200", bad)

    revoked = api.post(
        "/certificates/revoke", "prov_a", json={"uvci": cert["uvci"], "reason": "card lost"}
    )
    assert revoked.status_code == 200, revoked.text
    _check(doc, "/api/v1/certificates/revoke", "post", "200", revoked.json())
    listed = api.get("/certificates/revoked", None).json()
    assert listed["count"] == 1
    _check(doc, "/api/v1/certificates/revoked", "get", "200", listed)


def test_a_wrong_shape_is_refused_by_the_documented_schema(api: Api) -> None:
    """The check above can fail: an answer with an unknown key or a missing one is refused."""
    doc = api.get("/openapi.json", None).json()
    with pytest.raises(jsonschema.ValidationError):
        _check(doc, "/api/v1/certificates/revoked", "get", "200", {"country": "VN", "count": 0})
    with pytest.raises(jsonschema.ValidationError):
        _check(
            doc,
            "/api/v1/certificates/revoked",
            "get",
            "200",
            {"country": "VN", "count": 0, "revoked": [], "secret": "x"},
        )
