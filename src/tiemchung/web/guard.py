"""Who is signed in, and what a page refuses: no session, an expired one, a forged form.

Pages declare :data:`WebActor` (the signed-in :class:`~tiemchung.registry.scope.Actor`, built
from the session cookie exactly as the API builds it from a token) and
:func:`require_csrf` on every POST. Permission itself is not decided here: routes pass the
actor to the same registry services as the API, whose scoping and errors apply unchanged.
The only check made here is which role a page is for (a nurse has no dashboard), as the API's
``require_roles`` does.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import quote, unquote, urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from tiemchung.auth.session import (
    COOKIE,
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    NoSessionError,
    SessionExpiredError,
    csrf_ok,
    read_cookie,
    username_hint,
)
from tiemchung.auth.users import Refusal, refusal
from tiemchung.core import Platform
from tiemchung.registry.scope import Actor, Role
from tiemchung.web import pages

#: where a user whose password must be changed is sent (web/routes/account.py)
PASSWORD_PAGE = "/password"


class SignInRequiredError(Exception):
    def __init__(self, expired: bool) -> None:
        self.expired = expired


class WrongRoleError(Exception):
    def __init__(self, actor: Actor) -> None:
        self.actor = actor


class CsrfError(Exception):
    pass


def platform_of(request: Request) -> Platform:
    return request.app.state.platform  # type: ignore[no-any-return]


class PasswordChangeRequiredError(Exception):
    """The signed-in user's password was set by an administrator: every page but the
    change-password page sends them there until it is replaced."""


def _signed_in(request: Request, *, allow_change: bool) -> Actor:
    platform = platform_of(request)
    try:
        session = read_cookie(platform.token_secret, request.cookies.get(COOKIE))
    except SessionExpiredError as exc:
        raise SignInRequiredError(expired=True) from exc
    except NoSessionError as exc:
        raise SignInRequiredError(expired=False) from exc
    actor = session.actor
    if actor.user_id is None:
        raise SignInRequiredError(expired=False)
    why = refusal(platform.user_state(actor.user_id), session.version)
    if why is Refusal.MUST_CHANGE:
        if not allow_change:
            raise PasswordChangeRequiredError()
    elif why is not None:  # disabled, or revoked by a reset or a new role: sign in again
        raise SignInRequiredError(expired=False)
    return actor


async def web_actor(request: Request) -> Actor:
    return _signed_in(request, allow_change=False)


async def password_actor(request: Request) -> Actor:
    """The signed-in user on the change-password page, even while a change is required."""
    return _signed_in(request, allow_change=True)


PasswordActor = Annotated[Actor, Depends(password_actor)]
WebActor = Annotated[Actor, Depends(web_actor)]


def require_role(actor: Actor, *roles: Role) -> None:
    if actor.role not in roles:
        raise WrongRoleError(actor)


async def require_csrf(request: Request) -> None:
    """The form field or the htmx header must match the visitor's CSRF cookie."""
    token = request.headers.get(CSRF_HEADER)
    if token is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    if not csrf_ok(platform_of(request).token_secret, request.cookies.get(CSRF_COOKIE), token):
        raise CsrfError()


Csrf = Depends(require_csrf)


#: Characters a return path may never hold, typed or percent-encoded: control characters
#: (browsers drop a tab or newline, so ``/\t/evil.example`` becomes ``//evil.example``) and the
#: backslash (read as ``/`` by browsers: ``/\\evil.example`` is another site).
_NEVER = re.compile(r"[\x00-\x1f\x7f\\]")
#: An encoded slash or backslash in the path: a proxy or framework that decodes it once
#: turns ``/%2F%2Fevil.example`` into a scheme-relative URL.
_ENCODED_SLASH = re.compile(r"%(2f|5c)", re.IGNORECASE)


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to return to after signing in, or ``default``: never another site.

    The function decides by itself rather than trusting the response to escape what it lets
    through (Starlette writes ``/\\evil.example`` as ``/%5Cevil.example`` today, but that is
    an accident of its header encoding, not a promise). Refused: anything not starting with
    exactly one ``/``; a scheme or host; backslashes and control characters, typed or encoded
    (also after one round of decoding, for ``%255C``); encoded slashes in the path."""
    if not value or len(value) > 2048 or not value.startswith("/") or value.startswith("//"):
        return default
    once = unquote(value)
    if _NEVER.search(value) or _NEVER.search(once) or _NEVER.search(unquote(once)):
        return default
    path = value.split("?", 1)[0].split("#", 1)[0]
    if _ENCODED_SLASH.search(path) or _ENCODED_SLASH.search(unquote(path)):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _return_path(request: Request) -> str:
    """Where the user was: this page for a GET, the page that posted for a POST."""
    if request.method == "GET":
        return pages.here(request)
    referer = request.headers.get("referer")
    if referer:
        parts = urlsplit(referer)
        return safe_next(parts.path + (f"?{parts.query}" if parts.query else ""))
    return "/"


def install(app: FastAPI) -> None:
    @app.exception_handler(SignInRequiredError)
    async def _signin(request: Request, exc: SignInRequiredError) -> Response:
        if is_htmx(request):
            # Keep the page (and what was typed in it): ask for the password in place.
            # The answer goes to the page's notice area (HX-Retarget), never over a form.
            username = username_hint(platform_of(request).token_secret, request.cookies.get(COOKIE))
            return pages.render(
                request,
                "_reauth.html",
                {"expired": exc.expired, "next": _return_path(request), "username": username},
                status=401,
                headers={"HX-Retarget": "#notices", "HX-Reswap": "innerHTML"},
            )
        target = "/signin?next=" + quote(_return_path(request), safe="")
        if exc.expired:
            target += "&expired=1"
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(PasswordChangeRequiredError)
    async def _must_change(request: Request, exc: PasswordChangeRequiredError) -> Response:
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": PASSWORD_PAGE})
        return RedirectResponse(PASSWORD_PAGE, status_code=303)

    @app.exception_handler(WrongRoleError)
    async def _role(request: Request, exc: WrongRoleError) -> Response:
        return pages.render(
            request, "forbidden.html", {"fragment": is_htmx(request)}, actor=exc.actor, status=403
        )

    @app.exception_handler(CsrfError)
    async def _csrf(request: Request, exc: CsrfError) -> Response:
        return pages.render(
            request,
            "csrf.html",
            {"next": _return_path(request), "fragment": is_htmx(request)},
            status=403,
        )
