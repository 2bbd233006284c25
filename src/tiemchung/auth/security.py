"""The API's bearer tokens: signed tokens (:mod:`tiemchung.auth.tokens`) carrying the caller's
role and area scope."""

from __future__ import annotations

import time
from datetime import timedelta
from functools import lru_cache
from typing import Any

from tiemchung.auth import tokens
from tiemchung.auth.tokens import Kind, TokenError, TokenExpiredError
from tiemchung.registry.models import User
from tiemchung.registry.scope import Actor, Role

AUDIENCE = Kind.API.value
#: The claims a token (or session cookie) needs to name an actor.
ACTOR_CLAIMS = ("sub", "uid", "role")


def create_token(
    secret: bytes, user: User, ttl_minutes: int, kind: Kind = Kind.API
) -> tuple[str, int]:
    """A token for ``user`` and its lifetime in seconds. The web session cookie is the same
    token of another kind, so neither is ever accepted as the other."""
    claims = {
        "sub": user.username,
        "uid": user.id,
        "role": user.role,
        "prov": user.province_code,
        "ward": user.ward_code,
        "site": user.site_id,
        "pk": user.person_pk,
        # the user's token version: a disable, reset or new role bumps it (auth/users.refusal)
        "ver": user.token_version or 0,
    }
    return tokens.encode(secret, kind, claims, timedelta(minutes=ttl_minutes))


def actor_from_token(secret: bytes, token: str) -> Actor:
    """Decode and check a bearer token; raises :class:`~tiemchung.auth.tokens.TokenExpiredError`
    or :class:`~tiemchung.auth.tokens.TokenError` (both PyJWT errors too)."""
    return token_actor(secret, token)[0]


def token_actor(secret: bytes, token: str) -> tuple[Actor, int]:
    """The caller a bearer token names and the token version it was issued at (checked
    against the user's by :func:`tiemchung.auth.users.refusal`); raises as
    :func:`actor_from_token`.

    A site sends the same token all shift: the verified claims are cached, and the expiry is
    checked again on every call, so a cached token stops working the second it expires.
    """
    actor, expires, version = _verified(secret, token)
    if time.time() >= expires:
        raise TokenExpiredError("Signature has expired")
    return actor, version


@lru_cache(maxsize=8192)
def _verified(secret: bytes, token: str) -> tuple[Actor, float, int]:
    c = tokens.decode(secret, Kind.API, token, require=ACTOR_CLAIMS)
    return actor_from_claims(c), tokens.expires_at(c).timestamp(), version_of(c)


def version_of(c: dict[str, Any]) -> int:
    """The token version a token's claims carry (0 for tokens issued before versions)."""
    try:
        return int(c.get("ver") or 0)
    except (TypeError, ValueError) as exc:
        raise TokenError(f"bad claim: {exc}") from exc


def actor_from_claims(c: dict[str, Any]) -> Actor:
    """The caller a verified token's (or session cookie's) claims describe; raises
    :class:`~tiemchung.auth.tokens.TokenError` on a claim of the wrong kind."""
    try:
        return Actor(
            user_id=int(c["uid"]),
            username=str(c["sub"]),
            role=Role(c["role"]),
            province_code=c.get("prov"),
            ward_code=c.get("ward"),
            site_id=c.get("site"),
            person_pk=c.get("pk"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise TokenError(f"bad claim: {exc}") from exc
