"""The signed-in session of the pages: a signed cookie carrying the user's role and area.

The cookie is an HS256 JWT signed with the platform's token key, like the API's bearer
tokens, but with its own audience (``tiemchung-web``): a cookie is never accepted as a bearer
token, nor a bearer token as a cookie. It carries the same claims, so the pages build the same
:class:`~tiemchung.registry.scope.Actor` as the API and scope every query the same way. It is
HttpOnly (scripts cannot read it), SameSite=Strict (other sites cannot send it) and expires
with the API token's lifetime (a work shift).

CSRF: every visitor gets a random ``tc_csrf`` cookie; forms and htmx requests send
HMAC(key, that value) in a hidden field or the ``X-CSRF-Token`` header. It does not depend
on the session, so a form typed before the session expired still posts after signing in again
(nothing the nurse typed is lost to a re-sign-in).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from tiemchung.auth import tokens
from tiemchung.auth.security import ACTOR_CLAIMS, actor_from_claims, create_token, version_of
from tiemchung.auth.tokens import Kind, TokenError, TokenExpiredError
from tiemchung.registry.models import User
from tiemchung.registry.scope import Actor

COOKIE = "tc_session"
CSRF_COOKIE = "tc_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
AUDIENCE = Kind.WEB.value


class SessionExpiredError(Exception):
    """The cookie was valid but its time is up: the user must sign in again."""


class NoSessionError(Exception):
    """No cookie, or one that does not verify."""


@dataclass(frozen=True)
class WebSession:
    actor: Actor
    expires: datetime
    version: int = 0  # the token version it was issued at (auth/users.refusal)


def create_cookie(secret: bytes, user: User, ttl_minutes: int) -> tuple[str, int]:
    """The session cookie's value for ``user`` and its lifetime in seconds: the API's token
    of the pages' own kind."""
    return create_token(secret, user, ttl_minutes, kind=Kind.WEB)


def read_cookie(secret: bytes, value: str | None) -> WebSession:
    """The session in ``value``; raises :class:`NoSessionError` or :class:`SessionExpiredError`."""
    if not value:
        raise NoSessionError()
    try:
        c = tokens.decode(secret, Kind.WEB, value, require=ACTOR_CLAIMS)
        return WebSession(actor_from_claims(c), tokens.expires_at(c), version_of(c))
    except TokenExpiredError as exc:
        raise SessionExpiredError() from exc
    except TokenError as exc:
        raise NoSessionError() from exc


def username_hint(secret: bytes, value: str | None) -> str:
    """The user name in a signed but expired cookie, to prefill the sign-in again."""
    if not value:
        return ""
    try:
        c = tokens.decode(secret, Kind.WEB, value, verify_exp=False)
    except TokenError:
        return ""
    return str(c.get("sub") or "")[:80]


def new_csrf_seed() -> str:
    return secrets.token_urlsafe(24)


def csrf_token(secret: bytes, seed: str) -> str:
    """What forms carry: bound to the visitor's CSRF cookie by the platform key."""
    return hmac.new(secret, b"csrf|" + seed.encode(), hashlib.sha256).hexdigest()


def csrf_ok(secret: bytes, seed: str | None, token: str | None) -> bool:
    if not seed or not token:
        return False
    return hmac.compare_digest(csrf_token(secret, seed), token)
