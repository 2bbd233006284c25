"""Tokens: a cached, verified token still expires on time; a tampered one never passes."""

from __future__ import annotations

import jwt
import pytest

from tiemchung.auth import security
from tiemchung.registry.models import User
from tiemchung.registry.scope import Role

SECRET = b"0" * 64


def _user() -> User:
    return User(
        id=7,
        username="nurse",
        role="site",
        site_id="S-1",
        province_code="01",
        ward_code="00001",
        person_pk=None,
    )


def test_a_cached_token_expires_on_time(monkeypatch: pytest.MonkeyPatch) -> None:
    token, ttl = security.create_token(SECRET, _user(), ttl_minutes=10)
    actor = security.actor_from_token(SECRET, token)
    assert (actor.user_id, actor.role, actor.site_id) == (7, Role.SITE, "S-1")
    assert security.actor_from_token(SECRET, token) == actor  # served from the cache
    real = security.time.time
    monkeypatch.setattr(security.time, "time", lambda: real() + ttl + 1)
    with pytest.raises(jwt.ExpiredSignatureError):
        security.actor_from_token(SECRET, token)


def test_tampered_or_foreign_tokens_are_refused() -> None:
    token, _ = security.create_token(SECRET, _user(), ttl_minutes=10)
    header, payload, signature = token.split(".")
    forged = jwt.encode(
        {
            "sub": "nurse",
            "uid": 7,
            "role": "central",
            "aud": security.AUDIENCE,
            "exp": 9_999_999_999,
        },
        b"another-secret",
        algorithm="HS256",
    )
    for bad in (f"{header}.{payload}.{signature[:-2]}xx", forged):
        with pytest.raises(jwt.PyJWTError):
            security.actor_from_token(SECRET, bad)
