"""Text the database cannot store is refused at the door: NUL characters.

PostgreSQL's text types cannot hold U+0000 and psycopg raises ``DataError`` for a parameter
holding one — a 500 for ``/sites?ward_code=%00`` or a revoke of ``{"uvci": "\\u0000"}``,
found by bench/api_fuzz.py. No field of the platform has a use for it, so every API route
depends on :func:`reject_nul` (app.py adds it to each router): a NUL in the path, the query
string, a form field or any string of a JSON body is a 422 naming the parameter or field.

The JSON check costs a byte search (``\\u0000`` is how JSON writes it; a raw NUL byte is not
JSON and is answered 400 by the body's own validation); only when it matches is the body
parsed to name the field. Forms are parsed once (starlette keeps the result for the route);
uploaded files are not text and are not checked.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson
from fastapi import Depends, Request

from tiemchung.registry.errors import FieldProblem, ServiceError

_NUL = "\x00"


def _refuse(field: str) -> ServiceError:
    return ServiceError(
        422,
        "Invalid request / Dữ liệu không hợp lệ",
        [
            FieldProblem(
                field,
                "nul_character",
                "Không được chứa ký tự NUL (\\u0000)",
                "must not contain a NUL character (\\u0000)",
            )
        ],
    )


def _nul_path(value: Any, where: str) -> str | None:
    """The dotted path of the first string holding a NUL in a parsed JSON value."""
    if isinstance(value, str):
        return where if _NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if _NUL in key:
                return path
            found = _nul_path(item, path)
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _nul_path(item, f"{where}.{i}" if where else str(i))
            if found:
                return found
    return None


async def reject_nul(request: Request) -> None:
    """Raise a 422 :class:`ServiceError` when the request carries a NUL character in text."""
    for name, value in request.path_params.items():
        if isinstance(value, str) and _NUL in value:
            raise _refuse(name)
    if "%00" in request.url.query or _NUL in request.url.query:
        for name, value in parse_qsl(request.url.query, keep_blank_values=True):
            if _NUL in name or _NUL in value:
                raise _refuse(name.replace(_NUL, "") or "query")
    if request.method in ("GET", "HEAD", "DELETE", "OPTIONS"):
        return
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        # parsed once: starlette keeps the form for the route (the raw stream is gone after)
        for name, value in (await request.form()).multi_items():
            if _NUL in name or (isinstance(value, str) and _NUL in value):
                raise _refuse(name.replace(_NUL, "") or "body")
    elif kind.endswith("json"):
        body = await request.body()
        if b"\\u0000" in body:
            try:
                parsed = orjson.loads(body)
            except orjson.JSONDecodeError:
                return  # the body's own validation answers 400
            found = _nul_path(parsed, "")
            if found is not None:
                raise _refuse(found or "body")


#: The dependency every API router is included with.
NoNul = Depends(reject_nul)
