"""The messages of an area, for `GET /messages` and `tiemchung messages list` (issue 18).

A message belongs to the area that sent it (its ward and province, set by ``enqueue``): a
commune sees its ward's, a province its province's, central all. A site sees none: the texts
of a ward carry the phone numbers of people the site never vaccinated and the invitations'
signed links (a site follows its own session's texts in its invitations' statuses, which
show no phone number). Filters:
status (``invalid`` lists the numbers that could not be texted), kind, phone (any written
form), ref (``type:id`` or an id). Newest first, keyset pages by id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import Session

from tiemchung.identity.errors import IdentityError
from tiemchung.identity.phones import normalize_phone
from tiemchung.registry.errors import role_not_allowed, rule_error
from tiemchung.registry.messages.outbox import KINDS
from tiemchung.registry.scope import Actor, Role
from tiemchung.registry.tables.messages import STATUSES, OutboxMessage

MAX_PAGE = 500
READERS = (Role.CENTRAL, Role.PROVINCE, Role.COMMUNE)


@dataclass(frozen=True)
class MessageQuery:
    status: str | None = None
    kind: str | None = None
    phone: str | None = None
    ref: str | None = None


def area_filter(actor: Actor) -> ColumnElement[bool]:
    """The messages of the caller's area (a message with no area: central only)."""
    match actor.role:
        case Role.CENTRAL:
            return true()
        case Role.PROVINCE:
            return OutboxMessage.province_code == actor.province_code
        case Role.COMMUNE:
            return OutboxMessage.ward_code == actor.ward_code
    return false()


def _checked(q: MessageQuery) -> MessageQuery:
    if q.status is not None and q.status not in STATUSES:
        raise rule_error(
            "status",
            "unknown_status",
            f"Trạng thái không có: '{q.status}'; một trong {', '.join(STATUSES)}",
            f"no such status '{q.status}'; one of {', '.join(STATUSES)}",
            status=400,
        )
    if q.kind is not None and q.kind not in KINDS:
        raise rule_error(
            "kind",
            "unknown_kind",
            f"Loại tin không có: '{q.kind}'; một trong {', '.join(KINDS)}",
            f"no such kind '{q.kind}'; one of {', '.join(KINDS)}",
            status=400,
        )
    return q


def list_messages(
    session: Session, actor: Actor, q: MessageQuery, *, before: int | None = None, limit: int = 100
) -> tuple[list[OutboxMessage], int | None]:
    """A page of the area's messages, newest first, and the ``before`` of the next page."""
    if actor.role not in READERS:
        raise role_not_allowed(
            "Chỉ cán bộ y tế được xem tin nhắn", "only health staff may see the messages"
        )
    q = _checked(q)
    stmt = select(OutboxMessage).where(area_filter(actor))
    if q.status:
        stmt = stmt.where(OutboxMessage.status == q.status)
    if q.kind:
        stmt = stmt.where(OutboxMessage.kind == q.kind)
    if q.phone:
        try:
            number = normalize_phone(q.phone)
        except IdentityError:
            number = q.phone.strip()  # an invalid number is stored as typed
        stmt = stmt.where(OutboxMessage.phone == number)
    if q.ref:
        ref_type, sep, ref_id = q.ref.rpartition(":")
        stmt = stmt.where(OutboxMessage.ref_id == ref_id)
        if sep:
            stmt = stmt.where(OutboxMessage.ref_type == ref_type)
    if before is not None:
        stmt = stmt.where(OutboxMessage.id < before)
    rows = list(session.scalars(stmt.order_by(OutboxMessage.id.desc()).limit(limit + 1)))
    nxt = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], nxt


FIELDS = (
    "id",
    "message_id",
    "phone",
    "kind",
    "status",
    "body",
    "ref_type",
    "ref_id",
    "ward_code",
    "province_code",
    "attempts",
    "segments",
    "gateway",
    "gateway_message_id",
    "last_error",
    "created_at",
    "sent_at",
    "delivered_at",
)


def as_dict(m: OutboxMessage) -> dict[str, Any]:
    """A message as the API and the CLI show it."""
    return {f: getattr(m, f) for f in FIELDS}
