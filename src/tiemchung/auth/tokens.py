"""Every signed token the platform issues: one encoder, one decoder, one set of checks.

Four kinds of token are signed with the platform's key (``Platform.token_secret``): the API's
bearer token, the pages' session cookie, the public look-up's capability cookie and a partner
client's token (issue 19). Each is an
HS256 JWT whose audience (``aud``) names its :class:`Kind`, so none is ever accepted as
another — a bearer token opens no page, a look-up capability is neither a session nor a token.

Why one module: each door used to call ``jwt.decode`` itself, each with its own list of
options, and a check forgotten in one of them (the algorithm list, the audience, a required
claim) would be a door left open. Here every decode pins the algorithm (never the token's own
``alg`` header, so neither ``none`` nor another key type passes), requires ``exp`` and the
token's kind, and checks the expiry with no leeway. Failures are :class:`TokenError` (or
:class:`TokenExpiredError`, which a caller may answer differently: "sign in again");
both subclass PyJWT's own errors, so a caller catching those still catches them.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt

ALGORITHM = "HS256"


class Kind(StrEnum):
    """What a token is for: its ``aud`` claim."""

    API = "tiemchung-api"  # the API's bearer token
    WEB = "tiemchung-web"  # the pages' session cookie
    LOOKUP = "tiemchung-lookup"  # the public look-up's capability for one person
    CLIENT = "tiemchung-client"  # a partner system's OAuth2 client-credentials token


class TokenError(jwt.InvalidTokenError):
    """Not a valid token of the kind asked for: absent claims, another kind, a bad signature,
    another key, a token that is not a JWT at all."""


class TokenExpiredError(TokenError, jwt.ExpiredSignatureError):
    """A valid token whose time is up."""


def encode(
    secret: bytes,
    kind: Kind,
    claims: Mapping[str, Any],
    ttl: timedelta,
    *,
    now: datetime | None = None,
) -> tuple[str, int]:
    """A signed token of ``kind`` carrying ``claims``, valid for ``ttl``; and its lifetime in
    whole seconds (what a cookie's ``max_age`` or the token answer's ``expires_in`` says)."""
    issued = now or datetime.now(UTC)
    body = {**claims, "iat": issued, "exp": issued + ttl, "aud": kind.value}
    return jwt.encode(body, secret, algorithm=ALGORITHM), int(ttl.total_seconds())


def decode(
    secret: bytes,
    kind: Kind,
    token: str,
    *,
    require: Iterable[str] = (),
    verify_exp: bool = True,
) -> dict[str, Any]:
    """The claims of ``token`` if it is a valid, unexpired token of ``kind`` signed with
    ``secret`` and carrying every claim in ``require``; raises :class:`TokenExpiredError` or
    :class:`TokenError`.

    ``verify_exp=False`` reads an expired token's claims (the sign-in page prefills the user
    name of a session that ran out); signature, algorithm and kind are still checked."""
    needed = ["exp", "aud", *require] if verify_exp else ["aud", *require]
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=kind.value,
            leeway=0,
            options={"require": needed, "verify_exp": verify_exp},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenExpiredError(str(exc)) from exc
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise TokenError(str(exc) or type(exc).__name__) from exc
    return claims


def expires_at(claims: Mapping[str, Any]) -> datetime:
    """When a decoded token expires; raises :class:`TokenError` for a malformed ``exp``."""
    try:
        return datetime.fromtimestamp(float(claims["exp"]), UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
        raise TokenError("malformed exp") from exc


def sign_blob(secret: bytes, purpose: str, payload: str) -> str:
    """An HMAC-SHA256 (hex) of ``payload`` for ``purpose``, with the platform's key: for data a
    page hands the browser and takes back unchanged (the worklist import's report), where a
    JWT's claims and expiry would add nothing. ``purpose`` is part of what is signed, so a
    signature made for one use never verifies for another."""
    return hmac.new(secret, f"{purpose}|".encode() + payload.encode(), hashlib.sha256).hexdigest()


def verify_blob(secret: bytes, purpose: str, payload: str, signature: str) -> bool:
    """Whether ``signature`` is :func:`sign_blob`'s for this payload, purpose and key
    (compared in constant time; a signature that is not even ASCII is simply not it)."""
    return hmac.compare_digest(sign_blob(secret, purpose, payload).encode(), signature.encode())


def peek_kind(token: str) -> str | None:
    """The kind (``aud``) a token *claims*, read without checking its signature: only to
    choose which door's :func:`decode` to ask, which then checks everything. Raises
    :class:`TokenError` when the text is not a JWT at all."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise TokenError(str(exc) or type(exc).__name__) from exc
    aud = claims.get("aud")
    return aud if isinstance(aud, str) else None
