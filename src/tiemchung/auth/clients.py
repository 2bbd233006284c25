"""Partner clients (issue 19 point 4): systems such as the health-book app, PC-Covid, VNeID or
a province's warehouse that read the FHIR API with OAuth2 client credentials.

A client is administered as a user is (:meth:`~tiemchung.registry.scope.Actor.may_administer`):
central any, a province its province's clients, nobody else; every change is audited
(``client.create``, ``client.disable``, ``client.rotate``, ``client.scopes``). Its secret is
generated here, shown once, and kept only as an argon2 hash (the passwords' hasher), so a
leaked database gives no secret away.

A client's *area* (central, a province, a ward) gives it the reading rights of a staff member
of that area: :func:`client_actor` maps it to an :class:`~tiemchung.registry.scope.Actor`, so
every existing service scopes a client unchanged. Its *scopes* (:mod:`tiemchung.auth.scopes`)
say which resources it may read at all. Its tokens carry the client's ``token_version``;
disabling the client or rotating its secret bumps it, and every older token stops working.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from tiemchung.auth import scopes as scopes_mod
from tiemchung.auth import tokens
from tiemchung.auth.tokens import Kind, TokenError
from tiemchung.auth.users import Scope, grant_refused, resolve_scope
from tiemchung.registry.errors import FieldProblem, ServiceError, not_found, rule_error
from tiemchung.registry.models import AdminUnit
from tiemchung.registry.scope import Actor, Role
from tiemchung.registry.tables.changes import ApiClient
from tiemchung.store.audit import audit

_hasher = PasswordHasher()
#: a hash no secret matches, verified when the client id is unknown so that an unknown id
#: costs the same time as a wrong secret (nothing learnt from the answer's speed)
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(32))
#: the prefix of a client's name in the audit log (``client:<client_id>``)
AUDIT_PREFIX = "client:"


@dataclass(frozen=True)
class NewSecret:
    """A client as listed, and its secret: shown once, never stored."""

    client: dict[str, Any]
    secret: str


def client_view(c: ApiClient) -> dict[str, Any]:
    """A client as listed (never its secret's hash)."""
    return {
        "client_id": c.client_id,
        "name": c.name,
        "scopes": list(c.scopes or []),
        "area": area_of(c),
        "role": c.role,
        "province_code": c.province_code,
        "ward_code": c.ward_code,
        "rate_per_minute": c.rate_per_minute,
        "disabled": bool(c.disabled),
        "note": c.note,
    }


def area_of(c: ApiClient) -> str:
    """The area as ``--area`` takes it: ``central``, a province code or a ward code."""
    if c.role == Role.COMMUNE.value:
        return c.ward_code or ""
    if c.role == Role.PROVINCE.value:
        return c.province_code or ""
    return "central"


def client_actor(client_id: str, role: str, province: str | None, ward: str | None) -> Actor:
    """The staff reader a client stands for: its area's role and codes, no user, named
    ``client:<client_id>`` (the name its reads carry in the audit log)."""
    return Actor(
        user_id=None,
        username=f"{AUDIT_PREFIX}{client_id}",
        role=Role(role),
        province_code=province,
        ward_code=ward,
    )


def _area_scope(session: Session, area: str) -> tuple[Role, Scope]:
    """``central``, a province code or a ward code (2021 units) as a role and its scope."""
    text = area.strip()
    if text.lower() in ("central", "trung-uong", "tw"):
        return Role.CENTRAL, Scope()
    unit = session.get(AdminUnit, ("2021", text))
    if unit is not None and unit.level == "province":
        return Role.PROVINCE, resolve_scope(session, Role.PROVINCE, province_code=text)
    if unit is not None and unit.level == "ward":
        return Role.COMMUNE, resolve_scope(session, Role.COMMUNE, ward_code=text)
    raise rule_error(
        "area",
        "unknown_area",
        f"Khu vực '{text}' không phải 'central', mã tỉnh hay mã phường/xã",
        f"area '{text}' is not 'central', a province code or a ward code",
    )


def _may(actor: Actor, role: Role, province_code: str | None) -> None:
    if not actor.may_administer(role, province_code):
        raise grant_refused(actor, role, Scope(province_code=province_code))


def _rate(rate_per_minute: int | None) -> int | None:
    if rate_per_minute is not None and not 1 <= rate_per_minute <= 1_000_000:
        raise rule_error(
            "rate_per_minute",
            "out_of_range",
            "Giới hạn mỗi phút phải từ 1 đến 1.000.000",
            "the rate per minute must be between 1 and 1,000,000",
        )
    return rate_per_minute


def add_client(
    session: Session,
    actor: Actor,
    name: str,
    scopes: str | list[str],
    area: str,
    *,
    rate_per_minute: int | None = None,
    note: str | None = None,
) -> NewSecret:
    """Register a partner system: its id and secret generated here (the secret returned once),
    its scopes checked, its area no wider than the creator's (``client.create``)."""
    clean = " ".join(name.split())
    if not clean or len(clean) > 120:
        raise rule_error(
            "name", "required", "Cần tên từ 1 đến 120 ký tự", "a name of 1 to 120 characters"
        )
    granted = scopes_mod.parse(scopes)
    role, scope = _area_scope(session, area)
    _may(actor, role, scope.province_code)
    secret = secrets.token_urlsafe(32)
    client = ApiClient(
        client_id=f"tc-{secrets.token_hex(8)}",
        name=clean,
        secret_hash=_hasher.hash(secret),
        scopes=granted,
        role=role.value,
        province_code=scope.province_code,
        ward_code=scope.ward_code,
        rate_per_minute=_rate(rate_per_minute),
        note=note,
        created_by=actor.user_id,
        token_version=0,
    )
    session.add(client)
    session.flush()
    detail = {"name": clean, "scopes": granted, "area": area_of(client)}
    audit(session, actor, "client.create", "client", client.client_id, detail)
    return NewSecret(client_view(client), secret)


def _reach(actor: Actor) -> Any:
    if actor.role is Role.CENTRAL:
        return select(ApiClient)
    if actor.role is Role.PROVINCE and actor.province_code:
        return select(ApiClient).where(ApiClient.province_code == actor.province_code)
    raise grant_refused(actor, Role.CENTRAL, Scope())


def list_clients(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The clients the caller administers (central all, a province its own), by name."""
    rows = session.scalars(_reach(actor).order_by(ApiClient.name, ApiClient.id))
    return [client_view(c) for c in rows]


def _get(session: Session, actor: Actor, client_id: str) -> ApiClient:
    client = session.scalar(_reach(actor).where(ApiClient.client_id == client_id))
    if client is None:
        raise not_found("client_id", "ứng dụng đối tác", "partner client")
    return client


def disable_client(session: Session, actor: Actor, client_id: str) -> dict[str, Any]:
    """Refuse the client from now on: no new token, and its tokens stop working (within a
    server's ``client_cache_s``) (``client.disable``)."""
    client = _get(session, actor, client_id)
    if not client.disabled:
        client.disabled = True
        client.token_version = (client.token_version or 0) + 1
        audit(session, actor, "client.disable", "client", client.client_id, None)
        session.flush()
    return client_view(client)


def rotate_secret(session: Session, actor: Actor, client_id: str) -> NewSecret:
    """A new secret (returned once); the old one and every token issued with it stop working
    (``client.rotate``)."""
    client = _get(session, actor, client_id)
    secret = secrets.token_urlsafe(32)
    client.secret_hash = _hasher.hash(secret)
    client.token_version = (client.token_version or 0) + 1
    audit(session, actor, "client.rotate", "client", client.client_id, None)
    session.flush()
    return NewSecret(client_view(client), secret)


def set_scopes(
    session: Session, actor: Actor, client_id: str, scopes: str | list[str]
) -> dict[str, Any]:
    """Replace the client's scopes (``client.scopes``, with the scopes before). Tokens already
    issued keep the scopes they were granted until they expire; a narrowing that must act at
    once is a :func:`rotate_secret` too."""
    client = _get(session, actor, client_id)
    granted = scopes_mod.parse(scopes)
    before = list(client.scopes or [])
    if granted != before:
        client.scopes = granted
        detail = {"before": before, "scopes": granted}
        audit(session, actor, "client.scopes", "client", client.client_id, detail)
        session.flush()
    return client_view(client)


# -- the token endpoint's side ---------------------------------------------------------------


@dataclass(frozen=True)
class ClientState:
    """What every request with a client token checks, cached briefly per server process."""

    disabled: bool
    token_version: int
    rate_per_minute: int | None


def authenticate(session: Session, client_id: str, secret: str) -> ApiClient | None:
    """The enabled client these credentials name, or None. The secret is checked by argon2
    (constant time in the secret); an unknown id is checked against a dummy hash, so it costs
    the same as a wrong secret."""
    client = session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    try:
        _hasher.verify(client.secret_hash if client else _DUMMY_HASH, secret)
    except (VerificationError, InvalidHashError):
        return None
    if client is None or client.disabled:
        return None
    return client


def client_state(session: Session, client_id: str) -> ClientState | None:
    """A client's standing for a token check (None: no such client)."""
    row = session.execute(
        select(ApiClient.disabled, ApiClient.token_version, ApiClient.rate_per_minute).where(
            ApiClient.client_id == client_id
        )
    ).first()
    if row is None:
        return None
    return ClientState(bool(row[0]), int(row[1] or 0), row[2])


def grant(client: ApiClient, asked: str | None) -> list[str]:
    """The scopes a token gets: all the client's when none are asked, else the asked ones,
    each of which the client's scopes must cover (RFC 6749 §3.3); raises
    :class:`ServiceError` with the rule ``invalid_scope`` otherwise."""
    held = list(client.scopes or [])
    if not asked or not asked.strip():
        return held
    wanted = list(dict.fromkeys(asked.split()))
    beyond = scopes_mod.missing(held, wanted)  # system/*.read grants any one type's read
    if beyond:
        raise ServiceError(
            400,
            "invalid_scope",
            [
                FieldProblem(
                    "scope",
                    "invalid_scope",
                    f"Ứng dụng không được cấp phạm vi {' '.join(beyond)}",
                    f"the client is not granted the scope {' '.join(beyond)}",
                )
            ],
        )
    return wanted


def create_token(
    secret: bytes, client: ApiClient, granted: list[str], ttl_minutes: int
) -> tuple[str, int]:
    """A client token carrying the client, its area, the granted scopes and its version."""
    claims = {
        "sub": f"{AUDIT_PREFIX}{client.client_id}",
        "cid": client.client_id,
        "role": client.role,
        "prov": client.province_code,
        "ward": client.ward_code,
        "scope": " ".join(granted),
        "ver": client.token_version or 0,
    }
    return tokens.encode(secret, Kind.CLIENT, claims, timedelta(minutes=ttl_minutes))


@dataclass(frozen=True)
class ClientGrant:
    """What a verified client token says: who, as which reader, with which scopes."""

    client_id: str
    actor: Actor
    scopes: tuple[str, ...]
    token_version: int
    expires: float


def is_client_token(token: str) -> bool:
    """Whether a bearer token claims to be a client's (its audience, unverified: the caller
    then verifies it as one, so a forged claim gains nothing)."""
    try:
        return bool(tokens.peek_kind(token) == Kind.CLIENT.value)
    except TokenError:
        return False


@lru_cache(maxsize=4096)
def verify_token(secret: bytes, token: str) -> ClientGrant:
    """A client token's grant; raises :class:`TokenError` (or its expired kind). Cached: the
    caller checks the expiry again on every request (``ClientGrant.expires``)."""
    c = tokens.decode(secret, Kind.CLIENT, token, require=("cid", "role", "scope", "ver"))
    try:
        actor = client_actor(str(c["cid"]), str(c["role"]), c.get("prov"), c.get("ward"))
        return ClientGrant(
            client_id=str(c["cid"]),
            actor=actor,
            scopes=tuple(str(c["scope"]).split()),
            token_version=int(c["ver"]),
            expires=tokens.expires_at(c).timestamp(),
        )
    except (TypeError, ValueError) as exc:
        raise TokenError(f"bad claim: {exc}") from exc
