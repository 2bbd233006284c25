"""Sign-in, sign-out and the language switch.

Sign-in checks the password exactly as the API's token endpoint does (the same
``authenticate``: argon2, same cost for unknown users) and audits the same events
(``auth.login``, ``auth.failed``); on success it sets the signed session cookie.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from tiemchung.auth.session import COOKIE, create_cookie
from tiemchung.auth.throttle import signin_throttle, wait_words
from tiemchung.auth.users import actor_for, authenticate
from tiemchung.registry.models import User
from tiemchung.registry.scope import Actor, Role
from tiemchung.store.audit import audit
from tiemchung.web import i18n, pages
from tiemchung.web.guard import PASSWORD_PAGE, Csrf, is_htmx, platform_of, safe_next

router = APIRouter(include_in_schema=False)

#: Each role's home page.
HOME = {
    Role.SITE: "/desk",
    Role.COMMUNE: "/worklist",
    Role.CITIZEN: "/me",
    Role.PROVINCE: "/dashboard",
    Role.CENTRAL: "/dashboard",
    Role.ORGANISATION: "/organisation",
}


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/signin")
async def signin_page(
    request: Request, next: str | None = None, expired: int = 0, out: int = 0
) -> Response:
    return pages.render(
        request,
        "signin.html",
        {"next": safe_next(next, ""), "expired": bool(expired), "signed_out": bool(out)},
    )


@router.post("/signin", dependencies=[Csrf])
async def signin(
    request: Request,
    username: str = Form("", max_length=200),
    password: str = Form("", max_length=1000),
    next: str = Form("", max_length=2000),
    inline: int = Form(0),
) -> Response:
    """Check the password; on success set the session cookie and go where the user was."""
    platform = platform_of(request)
    throttle = signin_throttle(request.app.state)
    username = username.strip()
    template = "_reauth.html" if inline and is_htmx(request) else "signin.html"
    ctx = {"next": safe_next(next, ""), "username": username, "expired": False}
    client = _client(request)
    wait = await run_in_threadpool(throttle.wait_seconds, username, client)
    if wait:
        return pages.render(
            request,
            template,
            ctx | {"error": "throttled", "wait": wait_words(wait)},
            status=429,
            headers={"Retry-After": str(wait)},
        )
    if not username or not password:
        return pages.render(request, template, ctx | {"error": "missing"}, status=422)

    def check() -> User | None:
        with platform.sessions() as session:
            return authenticate(session, username, password)

    user = await run_in_threadpool(check)  # argon2 is deliberately slow: keep it off the loop
    if user is None:
        failure = await run_in_threadpool(throttle.failed, username, client)
        name = username[:80]
        await platform.write(
            lambda s: audit(s, Actor.anonymous(name), "auth.failed", "user", name, {"via": "web"})
        )
        warning = {
            "remaining": failure.remaining if failure.warn else None,
            "wait": wait_words(failure.wait) if failure.wait else None,
        }
        return pages.render(
            request, template, ctx | {"error": "bad_credentials"} | warning, status=401
        )
    await run_in_threadpool(throttle.succeeded, username, client)
    actor = actor_for(user)
    await platform.write(lambda s: audit(s, actor, "auth.login", "user", user.id, {"via": "web"}))
    value, ttl = create_cookie(platform.token_secret, user, platform.settings.token_ttl_minutes)
    if template == "_reauth.html":
        response: Response = pages.render(request, "_reauth_done.html", actor=actor)
    elif user.must_change_password:  # an administrator chose it: replace it first
        response = RedirectResponse(PASSWORD_PAGE, status_code=303)
    else:
        response = RedirectResponse(safe_next(next, HOME[actor.role]), status_code=303)
    response.set_cookie(
        COOKIE, value, max_age=ttl, httponly=True, samesite="strict", secure=pages._secure(request)
    )
    return response


@router.post("/signout", dependencies=[Csrf])
async def signout(request: Request) -> Response:
    response = RedirectResponse("/signin?out=1", status_code=303)
    response.delete_cookie(COOKIE, httponly=True, samesite="strict")
    return response


@router.get("/lang/{code}")
async def switch_language(request: Request, code: str, next: str | None = None) -> Response:
    """Set the language cookie and go back to the page the switch was clicked on."""
    lang = i18n.pick(code) or i18n.DEFAULT
    response = RedirectResponse(safe_next(next, "/"), status_code=303)
    pages.set_lang_cookie(response, request, lang)
    return response


def signin_url(next_path: str) -> str:
    return "/signin?next=" + quote(next_path, safe="")
