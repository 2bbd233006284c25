"""Write a text to the outbox, in the caller's transaction.

Every capability that texts somebody (invitations, reminders, one-time codes, test results)
calls :func:`enqueue` inside the transaction that creates what the text announces: the message
exists exactly when that thing does. Sending is the sender's work (``tiemchung worker``), never
the caller's, so a slow or absent gateway never holds up a desk or an upload. The caller
audits its own action (the invitation, the reminder run); a queued message is not a separate
event.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tiemchung.identity.errors import IdentityError
from tiemchung.identity.phones import normalize_phone
from tiemchung.registry.tables.messages import OutboxMessage, SmsOptOut

KINDS = ("invitation", "reminder", "otp", "result", "other")


@dataclass(frozen=True)
class Queued:
    """What :func:`enqueue` did: the message (new or the one already queued under the key)
    and, for a message that will never be sent, why (``invalid`` number, ``opted_out``)."""

    message: OutboxMessage
    created: bool

    @property
    def status(self) -> str:
        return self.message.status


def enqueue(
    session: Session,
    *,
    phone: str,
    body: str,
    kind: str,
    ref_type: str | None = None,
    ref_id: str | int | None = None,
    dedupe_key: str | None = None,
    person_id: int | None = None,
    province_code: str | None = None,
    ward_code: str | None = None,
    not_before: datetime | None = None,
    created_by: int | None = None,
) -> Queued:
    """Queue one text (flushed, not committed: the caller's transaction decides).

    The same ``dedupe_key`` twice gives back the first message, so a retried request or a
    re-run of a reminder job never texts twice. A number that is not a Vietnamese mobile
    (``identity.phones``) is stored ``invalid`` with the reason, and one on the opt-out list
    ``opted_out``: listed, never sent.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown message kind {kind!r}; one of {', '.join(KINDS)}")
    if dedupe_key is not None:
        found = session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))
        if found is not None:
            return Queued(found, created=False)
    status, error = "queued", None
    try:
        number = normalize_phone(phone)
        if number[:2] == "02":  # a fixed line takes no text
            status, error = "invalid", "phone_fixed_line"
    except IdentityError as exc:
        number, status, error = phone.strip()[:32], "invalid", f"phone:{exc.code}"
    if status == "queued" and session.get(SmsOptOut, number) is not None:
        status = "opted_out"
    message = OutboxMessage(
        message_id=str(uuid.uuid4()),
        dedupe_key=dedupe_key,
        phone=number,
        body=body,
        kind=kind,
        ref_type=ref_type,
        ref_id=None if ref_id is None else str(ref_id),
        person_id=person_id,
        province_code=province_code,
        ward_code=ward_code,
        status=status,
        last_error=error,
        next_attempt_at=not_before,
        created_by=created_by,
    )
    session.add(message)
    session.flush()
    return Queued(message, created=True)
