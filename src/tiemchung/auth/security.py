"""Signed bearer tokens (HS256 JWT) carrying the caller's role and area scope."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import jwt

from tiemchung.registry.models import User
from tiemchung.registry.scope import Actor, Role

ALGORITHM = "HS256"
AUDIENCE = "tiemchung-api"


def create_token(
    secret: bytes, user: User, ttl_minutes: int, audience: str = AUDIENCE
) -> tuple[str, int]:
    """A token for ``user`` and its lifetime in seconds. The web session cookie is the same
    token with another ``audience``, so neither is ever accepted as the other."""
    now = datetime.now(UTC)
    ttl = timedelta(minutes=ttl_minutes)
    claims = {
        "sub": user.username,
        "uid": user.id,
        "role": user.role,
        "prov": user.province_code,
        "ward": user.ward_code,
        "site": user.site_id,
        "pk": user.person_pk,
        "iat": now,
        "exp": now + ttl,
        "aud": audience,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM), int(ttl.total_seconds())


def actor_from_token(secret: bytes, token: str) -> Actor:
    """Decode and check a token; raises ``jwt.PyJWTError`` when invalid or expired.

    A site sends the same token all shift: the verified claims are cached, and the expiry is
    checked again on every call, so a cached token stops working the second it expires.
    """
    actor, expires = _verified(secret, token)
    if time.time() >= expires:
        raise jwt.ExpiredSignatureError("Signature has expired")
    return actor


@lru_cache(maxsize=8192)
def _verified(secret: bytes, token: str) -> tuple[Actor, float]:
    c = jwt.decode(
        token,
        secret,
        algorithms=[ALGORITHM],
        audience=AUDIENCE,
        options={"require": ["exp", "sub", "uid", "role"]},
    )
    return actor_from_claims(c), float(c["exp"])


def actor_from_claims(c: dict[str, Any]) -> Actor:
    """The caller a verified token's (or session cookie's) claims describe; raises
    ``ValueError``/``TypeError`` on a claim of the wrong kind."""
    return Actor(
        user_id=int(c["uid"]),
        username=str(c["sub"]),
        role=Role(c["role"]),
        province_code=c.get("prov"),
        ward_code=c.get("ward"),
        site_id=c.get("site"),
        person_pk=c.get("pk"),
    )
