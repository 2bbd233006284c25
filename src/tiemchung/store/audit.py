"""Append-only audit trail: every change and every read of a person's data.

Audit rows are written in the same transaction as the change they describe, so a change
without its audit event (or the reverse) cannot be committed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from tiemchung.registry.models import AuditEvent
from tiemchung.registry.scope import Actor


def audit(
    session: Session,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: str | int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one event (``action`` such as ``dose.create`` or ``person.read``)."""
    session.execute(
        insert(AuditEvent).values(
            user_id=actor.user_id,
            username=actor.username,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            detail=detail,
        )
    )
