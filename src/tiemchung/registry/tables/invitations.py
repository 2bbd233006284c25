"""Invitations to a planned session (issue 18 point 4).

One row per person invited to one session: a slot of the session (its index in the plan's
``time_slots``), or the wait list (``slot_index`` null, ``wait_position`` set). The rule
"never double-booked" is the database's, not only the selection's: a partial unique index
allows ONE live invitation (invited, confirmed or wait-listed) per person per session day,
so two communes inviting the same person to two sessions of one day cannot both succeed even
when they race. Across days the selection itself skips anyone with a live invitation to a
session today or later (an upcoming appointment is kept, not doubled); a
declined or cancelled invitation frees the person again.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from tiemchung.registry.models import Base, BigId
from tiemchung.registry.tables.messages import OutboxMessage

INVITED, CONFIRMED, WAITLISTED, DECLINED, CANCELLED = (
    "invited",
    "confirmed",
    "waitlisted",
    "declined",
    "cancelled",
)
#: the statuses that hold a place (or a place in the queue) for the person on the day
LIVE = (INVITED, CONFIRMED, WAITLISTED)
STATUSES = (INVITED, CONFIRMED, WAITLISTED, DECLINED, CANCELLED)
_LIVE_SQL = "status IN ('invited', 'confirmed', 'waitlisted')"


class Invitation(Base):
    """One person invited to one session, in a slot or on the wait list."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    # copied from the session: the day the one-live-invitation rule is about
    session_date: Mapped[date] = mapped_column(Date)
    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("persons.id"))
    # the registration the person was found through, if any (group, organisation)
    registration_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("registrations.id"))
    # index into the session's time_slots (0 for a session planned without slots); null on
    # the wait list
    slot_index: Mapped[int | None] = mapped_column(Integer)
    # 1, 2, ... on the wait list (the first gets the next freed place); null in a slot
    wait_position: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))
    # the number texted (the registration's, else the register's), as stored there
    phone: Mapped[str | None] = mapped_column(String(32))
    ward_code: Mapped[str | None] = mapped_column(String(8))
    province_code: Mapped[str | None] = mapped_column(String(8))
    # what selected the person (group, due-by...), for the list and the audit log
    reason: Mapped[str | None] = mapped_column(String(120))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("session_id", "person_id", name="uq_invitations_session_person"),
        Index(
            "uq_invitations_live_person_day",
            "person_id",
            "session_date",
            unique=True,
            postgresql_where=text(_LIVE_SQL),
            sqlite_where=text(_LIVE_SQL),
        ),
        Index("ix_invitations_session_status", "session_id", "status", "slot_index"),
        Index("ix_invitations_person", "person_id", "session_date"),
    )


# The last contact made with a person (the overdue list's column) is the newest message to
# them: an index on the outbox by person, declared here (with this capability's migration)
# because the invitations and reminders are what read the outbox by person.
Index(
    "ix_messages_person_created",
    OutboxMessage.__table__.c.person_id,
    OutboxMessage.__table__.c.created_at,
)
