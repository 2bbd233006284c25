"""The change log that partner apps read, and the partner clients that read it (issue 19).

Every create, update or correction of a dose or a person appends one row to ``changes`` in the
transaction of the change itself, so a partner never sees a change that was rolled back and
never misses one that was committed. ``seq`` is the partners' cursor: it must grow in commit
order, which ``registry/changes/log.append`` makes true on PostgreSQL too (see there).

``api_clients`` are the partner systems (the health-book app, PC-Covid, VNeID, a province's
warehouse) that authenticate with OAuth2 client credentials; their webhooks and cursors refer
to them by ``client_id``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from tiemchung.registry.models import Base, BigId

#: What a change row is about: the FHIR resource type a partner re-reads.
RESOURCES = ("Immunization", "Patient")

#: What happened: ``created``; ``updated`` (fields of the record changed); ``linked`` (a dose's
#: register person set or changed: verified, reconciled, reviewed); ``corrected`` (a register
#: person's or a dose's fields fixed by a worklist, a ticket or ``reconcile apply``);
#: ``deleted`` (a double entry or a rejected record: the partner drops it).
ACTIONS = ("created", "updated", "linked", "corrected", "deleted")


class ChangeEntry(Base):
    """One change of one resource; a partner re-reads the resource by ``resource_id``."""

    __tablename__ = "changes"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    resource: Mapped[str] = mapped_column(String(20))
    # the dose's id (as text) for an Immunization, the register person_id for a Patient
    resource_id: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(12))
    # where the change came from: desk, api, import, review, ticket, reconcile, register
    source: Mapped[str] = mapped_column(String(20))
    # the register person the resource belongs to, when known (a Patient's own id)
    person_id: Mapped[str | None] = mapped_column(String(40))
    # the area the resource belongs to, for scoping a partner's feed (a dose: its area_*)
    ward_code: Mapped[str | None] = mapped_column(String(8))
    province_code: Mapped[str | None] = mapped_column(String(8))

    __table_args__ = (
        Index("ix_changes_province_seq", "province_code", "seq"),
        Index("ix_changes_resource", "resource", "resource_id"),
    )


class ApiClient(Base):
    """A partner system: OAuth2 client credentials, its scopes, area and rate limit."""

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # public identifier the partner sends as ``client_id``
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    # never the secret itself: a salted hash (auth/), shown once when the client is added
    secret_hash: Mapped[str] = mapped_column(String(200))
    # e.g. ["system/Immunization.read", "system/Patient.read", "changes.read"]
    scopes: Mapped[list[str]] = mapped_column(JSON)
    # the area it may read, as a staff member's: central (none), a province or a ward
    role: Mapped[str] = mapped_column(String(12))
    province_code: Mapped[str | None] = mapped_column(String(8))
    ward_code: Mapped[str | None] = mapped_column(String(8))
    # requests per minute; null: the installation's default
    rate_per_minute: Mapped[int | None] = mapped_column(Integer)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # bumped when the client is disabled or its secret rotated: older tokens stop working
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
