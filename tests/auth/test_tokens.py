"""One token module for every door: what it accepts and what it refuses (expired, another
kind, another key, tampered, another algorithm, claims missing) — and each door uses it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from tiemchung.auth import lookup, security, session, tokens
from tiemchung.auth.tokens import Kind, TokenError, TokenExpiredError
from tiemchung.registry.models import Person, User
from tiemchung.registry.scope import Role

KEY = b"k" * 64
OTHER_KEY = b"o" * 64
HOUR = timedelta(hours=1)


def _user() -> User:
    return User(id=7, username="nurse", role="site", site_id="S-1", province_code="01")


def _person() -> Person:
    return Person(id=42, person_id="P-AN")


def _reencode_payload(token: str, change: dict[str, object]) -> str:
    """``token`` with its payload changed and its signature kept (a tampered token)."""
    header, payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raw = json.dumps(body | change).encode()
    return f"{header}.{base64.urlsafe_b64encode(raw).rstrip(b'=').decode()}.{signature}"


@pytest.mark.parametrize("kind", list(Kind))
def test_a_token_of_its_kind_is_accepted(kind: Kind) -> None:
    token, ttl = tokens.encode(KEY, kind, {"sub": "x", "n": 3}, HOUR)
    claims = tokens.decode(KEY, kind, token, require=("sub", "n"))
    assert (claims["sub"], claims["n"], claims["aud"], ttl) == ("x", 3, kind.value, 3600)
    assert abs(tokens.expires_at(claims) - (datetime.now(UTC) + HOUR)) < timedelta(seconds=5)


@pytest.mark.parametrize(
    ("kind", "other"), [(a, b) for a in Kind for b in Kind if a is not b], ids=str
)
def test_a_token_of_another_kind_is_refused(kind: Kind, other: Kind) -> None:
    token, _ = tokens.encode(KEY, kind, {"sub": "x"}, HOUR)
    with pytest.raises(TokenError) as info:
        tokens.decode(KEY, other, token)
    assert not isinstance(info.value, TokenExpiredError)


def test_an_expired_token_is_refused_as_expired() -> None:
    token, _ = tokens.encode(KEY, Kind.WEB, {"sub": "x"}, HOUR, now=datetime.now(UTC) - 2 * HOUR)
    with pytest.raises(TokenExpiredError):
        tokens.decode(KEY, Kind.WEB, token)
    # both PyJWT's errors too, for callers that catch those
    with pytest.raises(jwt.ExpiredSignatureError):
        tokens.decode(KEY, Kind.WEB, token)
    # the sign-in page may still read whose session ran out: the signature is still checked
    assert tokens.decode(KEY, Kind.WEB, token, verify_exp=False)["sub"] == "x"
    with pytest.raises(TokenError):
        tokens.decode(OTHER_KEY, Kind.WEB, token, verify_exp=False)


def test_a_token_signed_with_another_key_is_refused() -> None:
    token, _ = tokens.encode(OTHER_KEY, Kind.API, {"sub": "x"}, HOUR)
    with pytest.raises(TokenError):
        tokens.decode(KEY, Kind.API, token)


def test_a_tampered_token_is_refused() -> None:
    token, _ = tokens.encode(KEY, Kind.API, {"sub": "nurse", "role": "site"}, HOUR)
    header, payload, signature = token.split(".")
    for bad in (
        _reencode_payload(token, {"role": "central"}),  # payload changed, signature kept
        f"{header}.{payload}.{signature[:-4]}AAAA",  # signature changed
        f"{header}.{payload}.",  # signature removed
        "not.a.token",
        "",
    ):
        with pytest.raises(TokenError):
            tokens.decode(KEY, Kind.API, bad)


def test_only_the_platforms_algorithm_is_accepted() -> None:
    claims = {"sub": "x", "aud": Kind.API.value, "exp": datetime.now(UTC) + HOUR}
    unsigned = jwt.encode(claims, "", algorithm="none")
    other_alg = jwt.encode(claims, KEY, algorithm="HS512")
    for bad in (unsigned, other_alg):
        with pytest.raises(TokenError):
            tokens.decode(KEY, Kind.API, bad)
    assert tokens.decode(KEY, Kind.API, jwt.encode(claims, KEY, algorithm="HS256"))["sub"] == "x"


def test_expiry_and_the_asked_claims_are_required() -> None:
    no_exp = jwt.encode({"sub": "x", "aud": Kind.API.value}, KEY, algorithm="HS256")
    with pytest.raises(TokenError):
        tokens.decode(KEY, Kind.API, no_exp)
    token, _ = tokens.encode(KEY, Kind.API, {"sub": "x"}, HOUR)
    with pytest.raises(TokenError):
        tokens.decode(KEY, Kind.API, token, require=("uid",))


def test_each_door_refuses_the_others_tokens() -> None:
    """The bearer token, the session cookie and the look-up capability are one encoder's
    tokens of three kinds: none opens another door."""
    bearer, _ = security.create_token(KEY, _user(), ttl_minutes=10)
    cookie, _ = session.create_cookie(KEY, _user(), ttl_minutes=10)
    capability, _ = lookup.issue(KEY, _person())
    # each is accepted at its own door
    assert security.actor_from_token(KEY, bearer).role is Role.SITE
    assert session.read_cookie(KEY, cookie).actor.site_id == "S-1"
    found = lookup.read(KEY, capability)
    assert found is not None and (found.person_pk, found.person_id) == (42, "P-AN")
    # and refused at the others
    for value in (cookie, capability):
        with pytest.raises(TokenError):
            security.actor_from_token(KEY, value)
    for value in (bearer, capability):
        with pytest.raises(session.NoSessionError):
            session.read_cookie(KEY, value)
    assert lookup.read(KEY, bearer) is None and lookup.read(KEY, cookie) is None
    assert session.username_hint(KEY, cookie) == "nurse"
    assert session.username_hint(KEY, bearer) == ""  # a bearer token prefills nothing


def test_doors_tell_expired_from_invalid() -> None:
    expired, _ = session.create_cookie(KEY, _user(), ttl_minutes=-1)
    with pytest.raises(session.SessionExpiredError):
        session.read_cookie(KEY, expired)
    assert session.username_hint(KEY, expired) == "nurse"
    with pytest.raises(session.NoSessionError):
        session.read_cookie(OTHER_KEY, expired)
    old_bearer, _ = security.create_token(KEY, _user(), ttl_minutes=-1)
    with pytest.raises(TokenExpiredError):
        security.actor_from_token(KEY, old_bearer)


def test_a_signed_token_with_a_bad_claim_names_no_actor() -> None:
    bad_role, _ = tokens.encode(KEY, Kind.WEB, {"sub": "x", "uid": 1, "role": "king"}, HOUR)
    with pytest.raises(session.NoSessionError):
        session.read_cookie(KEY, bad_role)
    bad_pk, _ = tokens.encode(KEY, Kind.LOOKUP, {"pk": "many", "pid": "P-AN"}, HOUR)
    assert lookup.read(KEY, bad_pk) is None


def test_a_signed_blob_verifies_only_unchanged_with_its_key_and_purpose() -> None:
    """The worklist import's report travels through the browser signed (auth.tokens.sign_blob);
    a changed payload, another key, another purpose or garbage never verifies."""
    payload = '[{"row":2,"outcome":"failed","message":"Mục đã quyết định"}]'
    sig = tokens.sign_blob(KEY, "import-report", payload)
    # the very signature the worklist page wrote before it moved here
    assert sig == hmac.new(KEY, b"import-report|" + payload.encode(), hashlib.sha256).hexdigest()
    assert tokens.verify_blob(KEY, "import-report", payload, sig)
    assert not tokens.verify_blob(KEY, "import-report", payload.replace("2", "3"), sig)
    assert not tokens.verify_blob(OTHER_KEY, "import-report", payload, sig)
    assert not tokens.verify_blob(KEY, "other-use", payload, sig)
    foreign = tokens.sign_blob(OTHER_KEY, "import-report", payload)
    assert not tokens.verify_blob(KEY, "import-report", payload, foreign)
    for bad in ("", "00" * 32, sig[:-1], sig.upper(), "é" * 64):
        assert not tokens.verify_blob(KEY, "import-report", payload, bad)
