"""Webhook subscriptions of partner clients and the batches given up on (issue 19 point 3).

A subscription is one partner client's URL that receives the change log (``changes``) as
signed batches, from its own cursor: ``cursor`` is the last ``changes.seq`` the partner
acknowledged with a 2xx (or that its area and filter skip), so a partner never misses a change
and a restart resumes where it stood.

The signing secret is kept **as given** (``whsec_`` + base64, the Standard Webhooks form):
an HMAC key must be readable to sign, so hashing it is not possible, and encrypting it with a
key kept beside the database would protect nothing the database's own access control does
not. It is shown once, when the subscription is added, and never again (no listing, no API
answer carries it); a partner that lost it gets a new subscription.

``lease_by``/``lease_until`` are a deliverer's claim on the subscription (several server
processes or workers never POST the same batch at once); a lease that expired is a crashed
deliverer's and is taken over. ``attempts``/``next_attempt_at``/``batch_end`` describe the
batch being retried; after the last attempt it becomes a ``webhook_dead_letters`` row and the
cursor moves on; ``dead_in_row`` such batches in a row pause the subscription.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from tiemchung.registry.models import Base, BigId

#: ``active`` (delivered), ``paused`` (by a person, or after too many dead batches in a row)
STATUSES = ("active", "paused")

#: A dead letter: ``dead`` (given up), ``replay`` (asked to be sent again), ``replayed``
#: (the receiver acknowledged the replay)
DEAD_STATUSES = ("dead", "replay", "replayed")


class WebhookSubscription(Base):
    """One partner URL receiving the change log from its own cursor."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    client_id: Mapped[int] = mapped_column(BigId, ForeignKey("api_clients.id"))
    url: Mapped[str] = mapped_column(String(500))
    # "whsec_<base64>": kept as given to sign with, shown once (see the module's docstring)
    secret: Mapped[str] = mapped_column(String(200))
    # the resources sent (["Immunization"]); null: every resource
    resources: Mapped[list[str] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="active", server_default="active")
    paused_reason: Mapped[str | None] = mapped_column(Text)
    # the last changes.seq acknowledged (or skipped by the area and filter)
    cursor: Mapped[int] = mapped_column(BigId, default=0, server_default="0")
    # the batch being retried: its attempts so far, its upper seq, not before when
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    batch_end: Mapped[int | None] = mapped_column(BigId)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    # batches given up on in a row (reset by a delivered one); the total
    dead_in_row: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    dead_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    delivered_events: Mapped[int] = mapped_column(BigId, default=0, server_default="0")
    last_delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_by: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (Index("ix_webhook_subscriptions_client", "client_id"),)


class WebhookDeadLetter(Base):
    """A batch given up on after the last attempt: its events as they were sent."""

    __tablename__ = "webhook_dead_letters"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(BigId, ForeignKey("webhook_subscriptions.id"))
    first_seq: Mapped[int] = mapped_column(BigId)
    last_seq: Mapped[int] = mapped_column(BigId)
    # the thin events (seq, resource, id, action, at, url): no personal data
    events: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="dead", server_default="dead")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    replayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replayed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (Index("ix_webhook_dead_letters_sub", "subscription_id", "status", "id"),)
