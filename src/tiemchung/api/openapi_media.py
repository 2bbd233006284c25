"""Every success answer in the OpenAPI document says what its body is (issue 20 point 11).

FastAPI writes a schema only for what a ``response_model`` declares; a route that sends a
file (CSV, a workbook, a PDF, NDJSON) or a FHIR resource built as a dict is documented with an
empty ``{}``, which tells a client's generator nothing. This fills those in by media type, in
one place, after every other OpenAPI hook has run: files as ``{"type": "string",
"format": "binary"}`` (CSV and NDJSON as text), FHIR JSON as a resource named by its
``resourceType``. JSON answers get their own models on their routes (``certificates_schemas``).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

BINARY: dict[str, Any] = {"type": "string", "format": "binary"}
_TEXT: dict[str, Any] = {"type": "string"}

#: The schema of a body sent with each media type, when its route did not say more.
BY_MEDIA_TYPE: dict[str, dict[str, Any]] = {
    "text/csv": _TEXT | {"description": "CSV, UTF-8, a header row first"},
    "text/csv; charset=utf-8": _TEXT | {"description": "CSV, UTF-8, a header row first"},
    "application/fhir+ndjson": _TEXT | {"description": "NDJSON: one FHIR resource a line"},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": BINARY,
    "application/pdf": BINARY,
    "image/png": BINARY,
    "application/octet-stream": BINARY,
    "application/fhir+json": {"$ref": "#/components/schemas/FhirResource"},
}

FHIR_RESOURCE: dict[str, Any] = {
    "title": "FhirResource",
    "description": "A FHIR R4 resource (a Bundle for a search), as the R4 specification "
    "defines it for the type its resourceType names.",
    "type": "object",
    "required": ["resourceType"],
    "properties": {"resourceType": {"type": "string", "examples": ["Patient"]}},
    "additionalProperties": True,
}


def complete(spec: dict[str, Any]) -> dict[str, Any]:
    """Fill the empty body schemas of ``spec``'s 2xx answers by media type (in place)."""
    used = False
    for methods in spec.get("paths", {}).values():
        for op in methods.values():
            for status, resp in op.get("responses", {}).items():
                if not status.startswith("2"):
                    continue
                for media, body in resp.get("content", {}).items():
                    if body.get("schema") and body["schema"] != {}:
                        continue
                    schema = BY_MEDIA_TYPE.get(media)
                    if schema is not None:
                        body["schema"] = dict(schema)
                        used = used or media == "application/fhir+json"
    if used:
        spec.setdefault("components", {}).setdefault("schemas", {})["FhirResource"] = FHIR_RESOURCE
    return spec


def install(app: FastAPI) -> None:
    """Wrap ``app.openapi`` (last, so the other hooks' documents are completed too)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
