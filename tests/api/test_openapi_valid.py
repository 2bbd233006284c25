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
