"""The opt-out link in a text (``/tc-huy/<phone>/<signature>``): no account needed.

GET shows what the link will do and a button; only the POST (with the CSRF token) changes
anything, so a link preview or a mail scanner fetching the page stops nobody's texts. Both
ways in (this link, the "TC HUY" keyword) go through ``registry/messages/optout.opt_out``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from tiemchung.auth import optout_link
from tiemchung.registry.messages.optout import opt_out
from tiemchung.registry.scope import Actor
from tiemchung.web import pages
from tiemchung.web.guard import Csrf, platform_of

router = APIRouter(include_in_schema=False)


def _masked(phone: str) -> str:
    return phone[:3] + "****" + phone[-3:] if len(phone) >= 8 else "****"


@router.get("/tc-huy/{phone}/{sig}")
async def opt_out_page(request: Request, phone: str, sig: str) -> Response:
    ok = optout_link.valid(platform_of(request).token_secret, phone, sig)
    return pages.render(
        request,
        "sms/stop.html",
        {"state": "ask" if ok else "bad", "phone": _masked(phone), "action": request.url.path},
        status=200 if ok else 404,
    )


@router.post("/tc-huy/{phone}/{sig}", dependencies=[Csrf])
async def opt_out_confirm(request: Request, phone: str, sig: str) -> Response:
    platform = platform_of(request)
    if not optout_link.valid(platform.token_secret, phone, sig):
        return pages.render(
            request, "sms/stop.html", {"state": "bad", "phone": "", "action": ""}, status=404
        )
    actor = Actor.anonymous("opt-out-link")
    await run_in_threadpool(
        platform.in_transaction, lambda s: opt_out(s, phone, source="link", actor=actor)
    )
    return pages.render(
        request, "sms/stop.html", {"state": "done", "phone": _masked(phone), "action": ""}
    )
