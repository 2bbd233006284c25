"""Each request's id, and its access line.

The id is taken from the ``X-Request-ID`` header when it is well-formed (a reverse proxy's
or a partner's own, so one id follows a request through both logs), else made here; it is
echoed in the answer's ``X-Request-ID``, set in :data:`tiemchung.logmask.request_id` for
every log line written while the request is served (threads of the pool copy it), and put
in the problem documents and the error pages, so a nurse can quote it and an operator find
every line of her request.

The middleware wraps the whole app, the error handling included, so even an unexpected
error's traceback and its 500 carry the id. Its access line replaces uvicorn's (``serve``
turns that one off): method, the route's template (``/api/v1/persons/{person_id}``, never
the path with its ID numbers), status and duration.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tiemchung.logmask import request_id

HEADER = "x-request-id"
#: A well-formed id: 1–128 letters, digits and ``-_.:``; anything else is replaced, so a
#: client cannot put a line break or a secret-looking blob into every log line.
WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{1,128}")

access = logging.getLogger("tiemchung.access")


def incoming_id(scope: Scope) -> str:
    """The client's ``X-Request-ID`` when well-formed, else a new random one."""
    for name, value in scope.get("headers", ()):
        if name == HEADER.encode():
            text = value.decode("latin-1")
            if WELL_FORMED.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """The matched route's full template (``/api/v1/persons/{person_id}``), never the path
    with its values: FastAPI's route context when it gives one (a router included with a
    prefix keeps the prefix there), else the route's path under its mount; "-" when none
    matched."""
    found = scope.get("fastapi")
    context = found.get("effective_route_context") if isinstance(found, dict) else None
    full = getattr(context, "path_format", None)
    if isinstance(full, str):
        return full
    path = getattr(scope.get("route"), "path", None)
    return f"{scope.get('root_path', '')}{path}" if isinstance(path, str) else "-"


class RequestId:
    """ASGI middleware: the request id in and out, and one access line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = incoming_id(scope)
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500  # what the server answers if the app raises before answering

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = route_template(scope)
            duration = round((time.perf_counter() - started) * 1000, 1)
            access.info(
                "%s %s %s %.1f ms",
                scope.get("method", "-"),
                route,
                status,
                duration,
                extra={
                    "method": scope.get("method", "-"),
                    "route": route,
                    "status": status,
                    "duration_ms": duration,
                },
            )
            request_id.reset(token)


def install(app: Starlette) -> None:
    """Wrap ``app``'s whole middleware stack (Starlette's error middleware included, which
    ``add_middleware`` would put outside) in :class:`RequestId`."""
    build = app.build_middleware_stack

    def build_wrapped() -> ASGIApp:
        return RequestId(build())

    app.build_middleware_stack = build_wrapped  # type: ignore[method-assign]
