"""RFC 9457 problem documents for every error the API returns.

Each names the field and the rule broken (``errors[].field``, ``errors[].rule``), with a
message in Vietnamese and English, so a site's software can show the nurse what to fix: both
languages in ``message`` ("vi / en", as always) and each apart in ``message_vi`` and
``message_en``, so no client (nor the pages) has to split the joined string.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tiemchung.api.schemas import Problem
from tiemchung.logmask import request_id
from tiemchung.registry.errors import FieldProblem, ServiceError, problem_body
from tiemchung.store.db import (
    RETRY_AFTER_S,
    UNAVAILABLE_ERRORS,
    ValueNotStorable,
    is_unavailable,
)

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"


def error_doc(description: str) -> dict[str, Any]:
    """An error answer for a route's ``responses=`` (documented as a problem document)."""
    return {"description": description, "model": Problem}


#: The error answers every route documents (as ``application/problem+json``, see install).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: error_doc("Malformed JSON"),
    401: error_doc("Not authenticated: missing, invalid or expired token"),
    403: error_doc("Outside the caller's area or role"),
    404: error_doc("Not found, or not visible to the caller"),
    409: error_doc("Client UUID reused for other content, or the dose is already recorded"),
    422: error_doc("A field breaks a rule (named in errors[])"),
    503: error_doc(
        "The database is unreachable for a moment (a restart): nothing was saved; retry "
        "after Retry-After seconds (a dose with the same client_uuid is recorded once)"
    ),
}


def with_request_id(body: dict[str, Any]) -> dict[str, Any]:
    """The document with the id of the request it answers (``request_id``), which the
    server's logs carry too: the one thing a caller needs to quote."""
    rid = request_id.get()
    return {**body, "request_id": rid} if rid else body


def _response(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        with_request_id(body), status_code=body["status"], media_type=MEDIA_TYPE, headers=headers
    )


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def validation_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic's validation errors as problem items, in both languages where the rule is
    one the API words itself (pydantic's own message, in English, otherwise)."""
    out = []
    for e in errors:
        rule = e.get("type", "invalid")
        msg = str(e.get("msg", "invalid"))
        ctx = e.get("ctx", {})
        vi, en = msg, msg
        if rule == "extra_forbidden":
            vi, en = "Trường không được hỗ trợ", "unknown field"
        elif rule == "missing":
            vi, en = "Thiếu trường bắt buộc", "required field missing"
        elif rule == "json_invalid":
            vi, en = "JSON không hợp lệ", f"malformed JSON: {ctx.get('error', '')}"
        elif rule == "less_than_equal":
            bound = ctx.get("le")
            vi, en = f"Giá trị tối đa là {bound}", f"the value is at most {bound}"
        elif rule == "greater_than_equal":
            bound = ctx.get("ge")
            vi, en = f"Giá trị tối thiểu là {bound}", f"the value is at least {bound}"
        elif rule in ("int_parsing", "int_from_float"):
            vi, en = "Phải là số nguyên", "must be a whole number"
        item = FieldProblem(_field_of(tuple(e.get("loc", ()))), rule, vi, en).as_dict()
        if vi == en:  # pydantic's own words: one language, said once (as it always was)
            item["message"] = msg
        out.append(item)
    return out


def _problem_openapi(app: FastAPI) -> None:
    """Document error answers as application/problem+json, the media type they are sent as."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = build()
            for methods in spec.get("paths", {}).values():
                for op in methods.values():
                    for status, resp in op.get("responses", {}).items():
                        content = resp.get("content", {})
                        if status[:1] in "45" and "application/json" in content:
                            content["application/problem+json"] = content.pop("application/json")
                        # FastAPI's own 422 for a route that declared none: the answer is our
                        # problem document (the handler below), so is its schema
                        body = content.get("application/problem+json", {})
                        if body.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                            body["schema"] = {"$ref": "#/components/schemas/Problem"}
                            resp["description"] = "A field breaks a rule (named in errors[])"
            schemas = spec.get("components", {}).get("schemas", {})
            schemas.pop("HTTPValidationError", None)
            schemas.pop("ValidationError", None)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    _problem_openapi(app)

    @app.exception_handler(ServiceError)
    async def _service(request: Request, exc: ServiceError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        retry = getattr(exc, "retry_after", None)  # e.g. the statistics' first snapshot
        if retry is not None:
            headers = {"Retry-After": str(retry)}
        return _response(exc.as_problem(request.url.path), headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(list(exc.errors()))
        malformed = any(e["rule"] == "json_invalid" for e in errors)
        status = 400 if malformed else 422
        title = (
            "Malformed request / Yêu cầu sai định dạng"
            if malformed
            else ("Invalid request / Dữ liệu không hợp lệ")
        )
        return _response(problem_body(status, title, instance=request.url.path, errors=errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _response(
            problem_body(exc.status_code, str(exc.detail), instance=request.url.path),
            getattr(exc, "headers", None),
        )

    @app.exception_handler(ValueNotStorable)
    async def _data(request: Request, exc: ValueNotStorable) -> JSONResponse:
        # The last line of defence: the database refused a value (a NUL character, a number
        # beyond its column). Validation stops the known cases first, naming the field
        # (serving/types.py, api/inputs.py); this keeps any other one from being a 500.
        log.warning("the database refused a value on %s: %s", request.url.path, exc.orig)
        return _response(
            problem_body(
                422,
                "Invalid request / Dữ liệu không hợp lệ",
                instance=request.url.path,
                errors=[
                    FieldProblem(
                        "body",
                        "value_not_storable",
                        "Cơ sở dữ liệu không lưu được một giá trị (ký tự NUL hoặc số quá lớn)",
                        "a value cannot be stored (a NUL character or a number out of range)",
                    ).as_dict()
                ],
            )
        )

    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        # The database restarting or unreachable is not a server bug but a moment to wait:
        # nothing of this request was acknowledged (store/writer.py), so the client retries.
        log.warning(
            "database unreachable on %s: %s", request.url.path, type(exc.__cause__ or exc).__name__
        )
        body = problem_body(
            503,
            "Database unavailable / Cơ sở dữ liệu tạm thời không truy cập được",
            instance=request.url.path,
            errors=[
                FieldProblem(
                    "request",
                    "database_unavailable",
                    f"Chưa lưu gì; vui lòng thử lại sau {RETRY_AFTER_S} giây",
                    f"nothing was saved; retry in {RETRY_AFTER_S} s",
                ).as_dict()
            ],
        )
        return _response(body, {"Retry-After": str(RETRY_AFTER_S)})

    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if is_unavailable(exc):  # e.g. the PendingRollbackError a dropped connection leaves
            return await _unavailable(request, exc)
        log.exception("unhandled error on %s", request.url.path)
        return _response(
            problem_body(500, "Internal error / Lỗi hệ thống", instance=request.url.path)
        )

    # one judge for every error: an OperationalError may be an outage (503) or a fault of the
    # code or schema (SQLite's "no such table": 500), which is_unavailable tells apart
    for kind in (*UNAVAILABLE_ERRORS, Exception):
        app.add_exception_handler(kind, _unexpected)
