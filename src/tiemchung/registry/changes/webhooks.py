"""Webhook subscriptions: add, list, pause, resume, the dead letters and their replay; the
Standard Webhooks signature (issue 19 point 3).

Who manages a partner's subscriptions: central, or a province or commune user whose area
covers the partner client's own area (``Actor.covers_area`` on the client's province and
ward: a province's user manages its province's clients and its communes', never a central
client). Sites, citizens and organisations never do. Every change here is audited.

The delivering itself (claim, read, POST, cursor, retries, dead letters) is
``registry/changes/delivery.py``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import Session

from tiemchung.registry.errors import (
    ServiceError,
    not_found,
    role_not_allowed,
    rule_error,
)
from tiemchung.registry.scope import Actor, Role
from tiemchung.registry.tables.changes import RESOURCES, ApiClient
from tiemchung.registry.tables.webhooks import WebhookDeadLetter, WebhookSubscription
from tiemchung.store.audit import audit

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh signing secret in the Standard Webhooks form: ``whsec_`` + base64 of 32 bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: ``v1,`` + base64 HMAC-SHA256 over
    ``<webhook-id>.<webhook-timestamp>.<body>`` with the secret's decoded key."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def verify(secret: str, headers: dict[str, str], body: bytes, *, tolerance: int = 300) -> bool:
    """A receiver's check (the docs' snippet, and our tests' receiver): the signature
    matches one of the header's ``v1,`` entries and the timestamp is within 5 minutes."""
    low = {k.lower(): v for k, v in headers.items()}
    try:
        msg_id, ts = low["webhook-id"], int(low["webhook-timestamp"])
        given = low["webhook-signature"].split()
    except (KeyError, ValueError):
        return False
    if abs(datetime.now(UTC).timestamp() - ts) > tolerance:
        return False
    want = sign(secret, msg_id, ts, body)
    return any(hmac.compare_digest(want, g) for g in given)


@dataclass(frozen=True)
class SubscriptionView:
    """What a listing shows of a subscription (never its secret)."""

    id: int
    client_id: str
    url: str
    resources: list[str] | None
    status: str
    paused_reason: str | None
    cursor: int
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    dead_in_row: int
    dead_total: int
    delivered_events: int
    last_delivered_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class Added:
    """A new subscription and its secret: the only time the secret is shown."""

    subscription: SubscriptionView
    secret: str


@dataclass(frozen=True)
class DeadView:
    id: int
    subscription_id: int
    first_seq: int
    last_seq: int
    count: int
    attempts: int
    last_error: str | None
    status: str
    created_at: datetime
    replayed_at: datetime | None


def _view(sub: WebhookSubscription, client: ApiClient) -> SubscriptionView:
    return SubscriptionView(
        id=sub.id,
        client_id=client.client_id,
        url=sub.url,
        resources=sub.resources,
        status=sub.status,
        paused_reason=sub.paused_reason,
        cursor=sub.cursor,
        attempts=sub.attempts,
        next_attempt_at=sub.next_attempt_at,
        last_error=sub.last_error,
        dead_in_row=sub.dead_in_row,
        dead_total=sub.dead_total,
        delivered_events=sub.delivered_events,
        last_delivered_at=sub.last_delivered_at,
        created_at=sub.created_at,
    )


def _dead_view(d: WebhookDeadLetter) -> DeadView:
    return DeadView(
        id=d.id,
        subscription_id=d.subscription_id,
        first_seq=d.first_seq,
        last_seq=d.last_seq,
        count=len(d.events),
        attempts=d.attempts,
        last_error=d.last_error,
        status=d.status,
        created_at=d.created_at,
        replayed_at=d.replayed_at,
    )


def _check_role(actor: Actor) -> None:
    if actor.role not in (Role.CENTRAL, Role.PROVINCE, Role.COMMUNE):
        raise role_not_allowed(
            "Chỉ cán bộ trung ương, tỉnh hoặc xã quản lý webhook của đối tác",
            "only central, province or commune staff manage partners' webhooks",
        )


def _may_manage(actor: Actor, client: ApiClient) -> bool:
    return actor.covers_area(client.province_code, client.ward_code)


def _managed(actor: Actor) -> ColumnElement[bool]:
    """``_may_manage`` in SQL, over ``api_clients`` (``Actor.covers_area``'s cases)."""
    if actor.role is Role.CENTRAL:
        return true()
    if actor.role is Role.PROVINCE and actor.province_code:
        return ApiClient.province_code == actor.province_code
    if actor.role is Role.COMMUNE and actor.ward_code:
        return ApiClient.ward_code == actor.ward_code
    return false()


def _client(session: Session, actor: Actor, client_id: str) -> ApiClient:
    _check_role(actor)
    client = session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    if client is None or not _may_manage(actor, client):
        # another area's client is not named to the caller: the same 404 as an unknown one
        raise not_found("client_id", f"đối tác {client_id!r}", f"client {client_id!r}")
    return client


def _subscription(
    session: Session, actor: Actor, sub_id: int
) -> tuple[WebhookSubscription, ApiClient]:
    _check_role(actor)
    row = session.execute(
        select(WebhookSubscription, ApiClient)
        .join(ApiClient, ApiClient.id == WebhookSubscription.client_id)
        .where(WebhookSubscription.id == sub_id)
    ).first()
    if row is None or not _may_manage(actor, row[1]):
        raise not_found("id", f"webhook {sub_id}", f"webhook {sub_id}")
    return row[0], row[1]


def check_url(url: str) -> str:
    """An http(s) URL with a host; anything else refused naming the field."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise rule_error(
            "url",
            "invalid_url",
            f"URL {url!r} không hợp lệ: cần dạng http(s)://máy-chủ/đường-dẫn",
            f"URL {url!r} is not valid: http(s)://host/path expected",
        )
    if len(url) > 500:
        raise rule_error("url", "too_long", "URL dài quá 500 ký tự", "URL over 500 characters")
    return url.strip()


def check_resources(resources: Sequence[str] | None) -> list[str] | None:
    """The resource filter: each one of ``RESOURCES``; empty or None: every resource."""
    if not resources:
        return None
    unknown = [r for r in resources if r not in RESOURCES]
    if unknown:
        known = ", ".join(RESOURCES)
        raise rule_error(
            "resources",
            "unknown_resource",
            f"Loại dữ liệu không có: {', '.join(unknown)} (có: {known})",
            f"unknown resource: {', '.join(unknown)} (known: {known})",
        )
    return sorted(set(resources))


def add_subscription(
    session: Session,
    actor: Actor,
    client_id: str,
    url: str,
    resources: Sequence[str] | None = None,
    *,
    from_seq: int = 0,
) -> Added:
    """A new active subscription from ``from_seq`` (0: the whole log), with a fresh secret.

    The caller commits. The secret is returned here once and never again."""
    client = _client(session, actor, client_id)
    if client.disabled:
        raise rule_error(
            "client_id",
            "client_disabled",
            f"Đối tác {client_id!r} đã bị khoá",
            f"client {client_id!r} is disabled",
            status=409,
        )
    if from_seq < 0:
        raise rule_error("from_seq", "negative", "from_seq phải ≥ 0", "from_seq must be ≥ 0")
    secret = new_secret()
    sub = WebhookSubscription(
        client_id=client.id,
        url=check_url(url),
        secret=secret,
        resources=check_resources(resources),
        status="active",
        cursor=from_seq,
        created_by=actor.user_id,
    )
    session.add(sub)
    session.flush()
    session.refresh(sub)
    audit(
        session,
        actor,
        "webhook.create",
        "webhook",
        sub.id,
        {"client_id": client.client_id, "url": sub.url, "resources": sub.resources},
    )
    return Added(_view(sub, client), secret)


def list_subscriptions(
    session: Session, actor: Actor, client_id: str | None = None
) -> list[SubscriptionView]:
    """The subscriptions the caller manages (one client's when named), oldest first."""
    _check_role(actor)
    q = (
        select(WebhookSubscription, ApiClient)
        .join(ApiClient, ApiClient.id == WebhookSubscription.client_id)
        .where(_managed(actor))
    )
    if client_id is not None:
        q = q.where(ApiClient.client_id == client_id)
    rows = session.execute(q.order_by(WebhookSubscription.id)).all()
    return [_view(s, c) for s, c in rows]


def get_subscription(session: Session, actor: Actor, sub_id: int) -> SubscriptionView:
    sub, client = _subscription(session, actor, sub_id)
    return _view(sub, client)


def set_status(
    session: Session, actor: Actor, sub_id: int, status: str, reason: str | None = None
) -> SubscriptionView:
    """Pause or resume (the caller commits). Resuming clears the dead-in-a-row count and any
    retry wait, so the next batch goes at once from the cursor."""
    if status not in ("active", "paused"):
        raise rule_error(
            "status",
            "invalid_status",
            "Trạng thái phải là active hoặc paused",
            "status must be active or paused",
        )
    sub, client = _subscription(session, actor, sub_id)
    if sub.status == status:
        return _view(sub, client)
    sub.status = status
    if status == "paused":
        sub.paused_reason = reason or f"paused by {actor.username}"
    else:
        sub.paused_reason = None
        sub.dead_in_row = 0
        sub.next_attempt_at = None
    session.flush()
    audit(
        session,
        actor,
        f"webhook.{'pause' if status == 'paused' else 'resume'}",
        "webhook",
        sub.id,
        {"client_id": client.client_id, "reason": reason},
    )
    return _view(sub, client)


def list_dead(
    session: Session,
    actor: Actor,
    sub_id: int | None = None,
    *,
    status: str | None = None,
    limit: int = 100,
) -> list[DeadView]:
    """Dead letters of the subscriptions the caller manages, newest first."""
    _check_role(actor)
    q = (
        select(WebhookDeadLetter, ApiClient)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDeadLetter.subscription_id)
        .join(ApiClient, ApiClient.id == WebhookSubscription.client_id)
        .where(_managed(actor))
    )
    if sub_id is not None:
        q = q.where(WebhookDeadLetter.subscription_id == sub_id)
    if status is not None:
        q = q.where(WebhookDeadLetter.status == status)
    rows = session.execute(q.order_by(WebhookDeadLetter.id.desc()).limit(limit)).all()
    return [_dead_view(d) for d, _ in rows]


def replay(session: Session, actor: Actor, dead_id: int) -> DeadView:
    """Ask the deliverer to send a dead batch again (the caller commits): the same events
    under the same ``webhook-id``; it goes at the deliverer's next step, before new
    changes, and becomes ``replayed`` on a 2xx (``dead`` again, with the error, otherwise).
    A paused subscription's replay waits for ``resume``."""
    _check_role(actor)
    row = session.execute(
        select(WebhookDeadLetter, ApiClient)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDeadLetter.subscription_id)
        .join(ApiClient, ApiClient.id == WebhookSubscription.client_id)
        .where(WebhookDeadLetter.id == dead_id)
    ).first()
    if row is None or not _may_manage(actor, row[1]):
        raise not_found("id", f"lô hỏng {dead_id}", f"dead letter {dead_id}")
    dead = row[0]
    if dead.status == "replayed":
        raise rule_error(
            "id",
            "already_replayed",
            f"Lô {dead_id} đã được gửi lại thành công",
            f"dead letter {dead_id} was already replayed",
            status=409,
        )
    dead.status = "replay"
    dead.replayed_by = actor.user_id
    session.flush()
    audit(
        session,
        actor,
        "webhook.replay",
        "webhook_dead_letter",
        dead.id,
        {
            "subscription_id": dead.subscription_id,
            "first_seq": dead.first_seq,
            "last_seq": dead.last_seq,
        },
    )
    return _dead_view(dead)


__all__ = [
    "Added",
    "DeadView",
    "ServiceError",
    "SubscriptionView",
    "add_subscription",
    "get_subscription",
    "list_dead",
    "list_subscriptions",
    "replay",
    "set_status",
    "sign",
    "verify",
]
