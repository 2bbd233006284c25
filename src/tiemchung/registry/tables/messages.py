"""The SMS outbox and the opt-out list (issue 18).

A message is written in the same transaction as what it announces (an invitation, a reminder,
a one-time code), so a rolled-back invitation never texts anyone and a committed one always
does; the sender (``registry/messages``) then takes it from here. ``message_id`` is ours and
travels to the gateway, which is how a resend after a crash is recognised as the same message.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from tiemchung.registry.models import Base, BigId

#: A message's life: ``queued`` → ``sending`` (claimed by a sender) → ``sent`` (the gateway
#: took it) → ``delivered`` or ``undelivered`` (its delivery receipt); ``failed`` after the
#: last retry; ``invalid`` (the number cannot be texted) and ``opted_out`` are never sent;
#: ``cancelled`` by a person with the right (e.g. the session was cancelled).
STATUSES = (
    "queued",
    "sending",
    "sent",
    "delivered",
    "undelivered",
    "failed",
    "invalid",
    "opted_out",
    "cancelled",
)


class OutboxMessage(Base):
    """One text to one phone number, and what became of it."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # ours, unique, sent with the message: a gateway (or our simulator) drops a second copy
    message_id: Mapped[str] = mapped_column(String(36), unique=True)
    # a caller's own key ("invitation:42"): enqueueing the same thing twice stores it once
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    # the national form (identity.phones.normalize_phone); the raw text when it is invalid
    phone: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    # True: sent with its accents (its template keeps them, registry/messages/templates);
    # null: as the installation's TIEMCHUNG_SMS_KEEP_ACCENTS says
    keep_accents: Mapped[bool | None] = mapped_column(Boolean)
    # invitation, reminder, otp, result, other: what the message is for (counts and lists)
    kind: Mapped[str] = mapped_column(String(20))
    ref_type: Mapped[str | None] = mapped_column(String(30))
    ref_id: Mapped[str | None] = mapped_column(String(60))
    person_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("persons.id"))
    # the area the message belongs to, for scoping its lists (the ward of whoever sent it)
    province_code: Mapped[str | None] = mapped_column(String(8))
    ward_code: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(12), default="queued", server_default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # not before this time (quiet hours, retry backoff); null: as soon as possible
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    gateway: Mapped[str | None] = mapped_column(String(40))
    gateway_message_id: Mapped[str | None] = mapped_column(String(80))
    segments: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        # the sender's claim: the oldest due messages of a status
        Index("ix_messages_status_due", "status", "next_attempt_at", "id"),
        Index("ix_messages_ref", "ref_type", "ref_id"),
        Index("ix_messages_phone", "phone"),
        Index("ix_messages_ward", "ward_code"),
        Index("ix_messages_gateway_id", "gateway_message_id"),
    )


class SmsOptOut(Base):
    """A phone number that asked not to be texted (the "TC HUY" keyword or the link)."""

    __tablename__ = "sms_opt_outs"

    phone: Mapped[str] = mapped_column(String(32), primary_key=True)
    # keyword, link or staff: how the request came
    source: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
