"""Error answers a person can read: browser routes get an HTML page, the API keeps RFC 9457.

The API's handlers (installed first, by the API) answer every error as
``application/problem+json`` — right for a site's software, wrong for a nurse whose browser
followed a stale link: she saw a raw JSON document in English. :func:`install` wraps those
handlers: a request under ``/api/`` still gets the problem document unchanged; any other path
(the pages, ``/static``, an unknown URL) gets a page in the visitor's language (Vietnamese
unless ``?lang=en`` or the language cookie says otherwise) that says what went wrong and how
to go back. Both answer with the same status code.

An unexpected exception (a server bug) is answered by :class:`Unexpected`, not by Starlette's
outermost middleware: that one answers and then raises the exception again for the server to
log, and uvicorn, seeing an exception after the answer started, closes the connection — the
browser's next request on that keep-alive connection failed with "connection reset by peer".
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import WebSocketRequestValidationError
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tiemchung.logmask import request_id
from tiemchung.registry.errors import ServiceError
from tiemchung.store.db import is_unavailable
from tiemchung.web import pages
from tiemchung.web.guard import is_htmx

log = logging.getLogger(__name__)

Handler = Callable[[Request, Any], Response | Awaitable[Response]]

#: Headers of the API's answer worth keeping on the page (405's Allow, 429's Retry-After).
KEPT_HEADERS = ("allow", "retry-after")


def is_api(request: Request) -> bool:
    path = request.url.path
    return path == "/api" or path.startswith("/api/")


def _kind(status: int) -> str:
    """Which explanation the page gives (see error.html)."""
    if status in (400, 404, 405, 422, 403, 429, 503):
        return str(status)
    return "500" if status >= 500 else "400"


def error_page(
    request: Request, status: int, details: list[str], headers: dict[str, str] | None = None
) -> Response:
    return pages.render(
        request,
        "error.html",
        {
            "status": status,
            "kind": _kind(status),
            "details": details,
            "path": request.url.path,
            "fragment": is_htmx(request),
            "request_id": request_id.get(),
        },
        status=status,
        headers=headers,
    )


def _details(request: Request, exc: Exception) -> list[str]:
    """The service's own words (in the page's language) for what was refused; nothing for
    routing errors, whose English ``detail`` ("Not Found") the page already says better."""
    if isinstance(exc, ServiceError):
        lang = pages.lang_of(request)
        return [p.message.in_lang(lang) for p in exc.problems]
    return []


class Unexpected:
    """Answer an exception no handler took with the app's ``Exception`` handler (the error
    page, or problem+json under ``/api/``; both log it) and do not raise it again, so the
    server keeps the connection open. Once an answer has started it can no longer be
    replaced: the exception goes on to the server, which must close the connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            handler: Handler | None = scope["app"].exception_handlers.get(Exception)
            if started or handler is None:
                raise
            answer = handler(Request(scope, receive), exc)
            response = answer if isinstance(answer, Response) else await answer
            await response(scope, receive, send)


def install(app: FastAPI) -> None:
    """Wrap the API's error handlers (installed before the pages) for browser routes."""

    def wrap(kind: type[Exception] | int) -> None:
        api_handler: Handler | None = app.exception_handlers.get(kind)
        if api_handler is None:
            return

        async def api_answer(request: Request, exc: Exception) -> Response:
            assert api_handler is not None
            answer = api_handler(request, exc)
            return answer if isinstance(answer, Response) else await answer

        async def handler(request: Request, exc: Exception) -> Response:
            if is_api(request):
                return await api_answer(request, exc)
            if kind is Exception and not is_unavailable(exc):
                log.exception("unhandled error on %s", request.url.path)
                return error_page(request, 500, [])
            answer = await api_answer(request, exc)  # the status and headers the API gives
            headers = {k: v for k, v in answer.headers.items() if k.lower() in KEPT_HEADERS}
            return error_page(request, answer.status_code, _details(request, exc), headers)

        app.add_exception_handler(kind, handler)

    # every handler the API installed (a new one, like DataError's, is wrapped without a
    # change here), so no browser route ever answers a problem document
    for kind in list(app.exception_handlers):
        if kind is not WebSocketRequestValidationError:  # no websocket routes: not a page
            wrap(kind)
    app.add_middleware(Unexpected)  # the outermost of the app's own: sees every exception
