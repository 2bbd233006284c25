"""The partner clients' token endpoint and SMART discovery (issue 19 point 4): thin over
:mod:`tiemchung.auth.clientgate`.

``POST /oauth/token`` speaks OAuth 2.0 as RFC 6749 writes it, not the API's problem
documents: a form in, ``{access_token, token_type, expires_in, scope}`` or an
``{error, error_description}`` (§5.2) out, since that is what an integrator's OAuth library
parses. ``/.well-known/smart-configuration`` names the endpoint and the scopes, as the SMART
App Launch guide's discovery document does for backend services.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tiemchung.api.deps import PlatformDep
from tiemchung.auth.clientgate import OAuthAnswer, client_gate, oauth_error
from tiemchung.auth.scopes import SCOPES

router = APIRouter(tags=["oauth"])
TOKEN_PATH = "/oauth/token"

_TOKEN_EXAMPLE = {
    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9…",
    "token_type": "bearer",
    "expires_in": 3600,
    "scope": "system/Immunization.read system/Patient.read",
}
_ERROR_EXAMPLE = {
    "error": "invalid_client",
    "error_description": "Sai client_id hoặc client_secret, hoặc ứng dụng đã bị khoá / "
    "unknown client, wrong secret or disabled client",
}


def _error_doc(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {"type": "string"},
                        "error_description": {"type": "string"},
                    },
                },
                "example": _ERROR_EXAMPLE,
            }
        },
    }


_TOKEN_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A client token (RFC 6749 §5.1)",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["access_token", "token_type", "expires_in", "scope"],
                    "properties": {
                        "access_token": {"type": "string"},
                        "token_type": {"type": "string", "enum": ["bearer"]},
                        "expires_in": {"type": "integer"},
                        "scope": {"type": "string"},
                    },
                },
                "example": _TOKEN_EXAMPLE,
            }
        },
    },
    400: _error_doc("invalid_request, unsupported_grant_type or invalid_scope (§5.2)"),
    401: _error_doc("invalid_client: unknown, wrong secret or disabled (§5.2)"),
    429: _error_doc("Too many failed authentications of this client id (Retry-After)"),
}


def document(app: FastAPI) -> None:
    """Keep the token endpoint's errors documented as ``application/json``, the media type
    RFC 6749 §5.2 sends them as (the API's other errors are problem documents, which
    :mod:`tiemchung.api.problems` writes into the OpenAPI for every 4xx)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = build()
            op = spec.get("paths", {}).get(TOKEN_PATH, {}).get("post", {})
            for status, resp in op.get("responses", {}).items():
                content = resp.get("content", {})
                if status[:1] == "4" and "application/problem+json" in content:
                    content["application/json"] = content.pop("application/problem+json")
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _basic(request: Request) -> tuple[str, str] | OAuthAnswer | None:
    """The HTTP Basic client credentials (RFC 6749 §2.3.1: each part form-url-encoded)."""
    header = request.headers.get("authorization", "")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raw = ""
    if ":" not in raw:
        return oauth_error(
            401,
            "invalid_client",
            "Tiêu đề Basic không hợp lệ",
            "malformed Basic authorization header",
            **{"WWW-Authenticate": 'Basic realm="tiemchung"'},
        )
    client_id, _, secret = raw.partition(":")
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))


@router.post(
    TOKEN_PATH,
    response_class=JSONResponse,
    responses=_TOKEN_RESPONSES,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["grant_type"],
                        "properties": {
                            "grant_type": {"type": "string", "enum": ["client_credentials"]},
                            "scope": {"type": "string"},
                            "client_id": {"type": "string"},
                            "client_secret": {"type": "string"},
                        },
                    },
                    "example": {
                        "grant_type": "client_credentials",
                        "scope": "system/Immunization.read",
                    },
                }
            },
        }
    },
)
async def token(request: Request, platform: PlatformDep) -> JSONResponse:
    """OAuth 2.0 client credentials (RFC 6749 §4.4): the client authenticates by HTTP Basic
    or by ``client_id``/``client_secret`` in the form; ``scope`` asks for a subset of its
    scopes (none: all of them). Failed authentications of a client id slow down."""
    basic = _basic(request)
    if isinstance(basic, OAuthAnswer):
        answer = basic
    else:
        form = await request.form()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        if any("\x00" in k or "\x00" in v for k, v in fields.items()):
            return _answer(
                oauth_error(
                    400,
                    "invalid_request",
                    "Biểu mẫu chứa ký tự NUL (\\u0000)",
                    "the form contains a NUL character (\\u0000)",
                )
            )
        source = request.client.host if request.client else "unknown"
        gate = client_gate(request.app.state, platform.settings)
        answer = await run_in_threadpool(
            gate.exchange, platform.sessions, platform.token_secret, fields, basic, source
        )
    return _answer(answer)


def _answer(answer: OAuthAnswer) -> JSONResponse:
    return JSONResponse(answer.body, status_code=answer.status, headers=answer.headers or None)


_STRINGS: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
#: The discovery document's shape (SMART App Launch 2.x, the fields this server sends).
_SMART_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["issuer", "token_endpoint", "grant_types_supported", "scopes_supported"],
    "properties": {
        "issuer": {"type": "string"},
        "token_endpoint": {"type": "string"},
        "grant_types_supported": _STRINGS,
        "token_endpoint_auth_methods_supported": _STRINGS,
        "scopes_supported": _STRINGS,
        "capabilities": _STRINGS,
    },
}


@router.get(
    "/.well-known/smart-configuration",
    response_class=JSONResponse,
    responses={
        200: {
            "description": "SMART discovery: the token endpoint and the scopes",
            "content": {
                "application/json": {
                    "schema": _SMART_SCHEMA,
                    "example": {
                        "token_endpoint": "https://tiemchung.example/oauth/token",
                        "grant_types_supported": ["client_credentials"],
                        "scopes_supported": list(SCOPES),
                    },
                }
            },
        }
    },
)
async def smart_configuration(request: Request) -> JSONResponse:
    """Where a partner gets a token, how it authenticates and which scopes exist (no token
    needed)."""
    base = str(request.base_url).rstrip("/")
    return JSONResponse(
        {
            "issuer": base,
            "token_endpoint": base + TOKEN_PATH,
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
            ],
            "scopes_supported": list(SCOPES),
            "capabilities": ["client-confidential-symmetric"],
        }
    )
