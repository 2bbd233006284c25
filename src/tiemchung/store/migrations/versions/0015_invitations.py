"""Invitations to planned sessions (issue 18 point 4): one row per person per session, in a
slot or on the wait list, at most one live invitation per person per day (a partial unique
index); and the outbox's index by person for the last contact made.

Revision ID: 0015_invitations
Revises: 0014_registrations_more
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_invitations"
down_revision = "0014_registrations_more"
branch_labels = None
depends_on = None

_LIVE = "status IN ('invited', 'confirmed', 'waitlisted')"
_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "invitations",
        sa.Column("id", _BIG, autoincrement=True, nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("session_date", sa.Date(), nullable=False),
        sa.Column("person_id", _BIG, nullable=False),
        sa.Column("registration_id", _BIG, nullable=True),
        sa.Column("slot_index", sa.Integer(), nullable=True),
        sa.Column("wait_position", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("ward_code", sa.String(length=8), nullable=True),
        sa.Column("province_code", sa.String(length=8), nullable=True),
        sa.Column("reason", sa.String(length=120), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"]),
        sa.ForeignKeyConstraint(["registration_id"], ["registrations.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_id", "person_id", name="uq_invitations_session_person"),
    )
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.create_index(
            "uq_invitations_live_person_day",
            ["person_id", "session_date"],
            unique=True,
            postgresql_where=sa.text(_LIVE),
            sqlite_where=sa.text(_LIVE),
        )
        batch_op.create_index(
            "ix_invitations_session_status", ["session_id", "status", "slot_index"]
        )
        batch_op.create_index("ix_invitations_person", ["person_id", "session_date"])
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_person_created", ["person_id", "created_at"])


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_person_created")
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_index("ix_invitations_person")
        batch_op.drop_index("ix_invitations_session_status")
        batch_op.drop_index("uq_invitations_live_person_day")
    op.drop_table("invitations")
