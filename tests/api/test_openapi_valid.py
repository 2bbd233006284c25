"""The OpenAPI document is valid OpenAPI 3.1 and every reference in it resolves (issue 20
point 11): ReDoc refused to render it while one route's 422 named FastAPI's
``HTTPValidationError``, a schema the problem documents had replaced."""

from __future__ import annotations

import json
import re

from openapi_spec_validator import validate

from tests.api.conftest import Api


def test_openapi_document_validates(api: Api) -> None:
    doc = api.get("/openapi.json", None).json()
    validate(doc)  # raises with the path of the first error


def test_every_schema_reference_resolves(api: Api) -> None:
    doc = api.get("/openapi.json", None).json()
    named = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(doc)))
    assert named, "no references at all: the check would prove nothing"
    assert named <= set(doc["components"]["schemas"]), named - set(doc["components"]["schemas"])


#: Answers with no body at all (FHIR Bulk Data's kick-off, poll-in-progress and cancel).
_BODILESS = {"202", "204"}


def test_every_success_answer_says_what_its_body_is(api: Api) -> None:
    """Issue 20 point 11: each 2xx names a media type with a non-empty schema (files as
    binary strings), or is an answer without a body."""
    doc = api.get("/openapi.json", None).json()
    missing, checked = [], 0
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            success = {s: r for s, r in op["responses"].items() if s.startswith("2")}
            assert success, f"{method} {path} documents no success answer"
            for status, resp in success.items():
                content = resp.get("content")
                if not content:
                    if status not in _BODILESS:
                        missing.append(f"{method} {path} {status}: no content")
                    continue
                for media, body in content.items():
                    checked += 1
                    if not body.get("schema"):
                        missing.append(f"{method} {path} {status} {media}")
    assert checked > 100, checked  # the walk found the document's answers
    assert not missing, missing


def test_files_are_documented_as_binary(api: Api) -> None:
    doc = api.get("/openapi.json", None).json()
    pdf = doc["paths"]["/api/v1/persons/{person_id}/certificate"]["get"]["responses"]["200"]
    assert pdf["content"]["application/pdf"]["schema"] == {"type": "string", "format": "binary"}
    xlsx = doc["paths"]["/api/v1/worklist.xlsx"]["get"]["responses"]["200"]["content"]
    assert set(xlsx) == {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    assert next(iter(xlsx.values()))["schema"]["format"] == "binary"


def test_problem_answers_are_declared(api: Api) -> None:
    """Every operation that takes input (parameters, a body) or a token declares its 4xx
    answers, and every 4xx under /api/v1 is a problem document."""
    doc = api.get("/openapi.json", None).json()
    undeclared, not_problem = [], []
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            responses = op["responses"]
            takes_input = op.get("parameters") or op.get("requestBody") or op.get("security")
            if takes_input and not any(s.startswith("4") for s in responses):
                undeclared.append(f"{method} {path}")
            if path.startswith("/api/v1/"):
                for status, resp in responses.items():
                    if status.startswith("4") and "application/problem+json" not in resp.get(
                        "content", {}
                    ):
                        not_problem.append(f"{method} {path} {status}")
    assert not undeclared, undeclared
    assert not not_problem, not_problem
