"""The pages' shell: the landing page at ``/`` and the icon browsers ask for.

``/`` sends a signed-in user to their role's home, as it always did; a visitor without a
session gets a short page saying what the platform is and where each role starts (it used to
send everyone straight to the sign-in form, which told a citizen nothing). The icon is a
static file served by the app itself, so sites offline from the internet still get one.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from tiemchung.web import STATIC_DIR, pages
from tiemchung.web.guard import SignInRequiredError, web_actor
from tiemchung.web.routes.auth import HOME

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(request: Request) -> Response:
    try:
        actor = await web_actor(request)
    except SignInRequiredError:
        return pages.render(request, "landing.html")
    return RedirectResponse(HOME[actor.role], status_code=303)


@router.get("/favicon.ico")
async def favicon() -> Response:
    return FileResponse(
        STATIC_DIR / "favicon.ico",
        media_type="image/vnd.microsoft.icon",
        headers={"Cache-Control": "public, max-age=86400"},
    )
