"""The SMS outbox and the opt-out list (issue 18): messages written in the transaction of
what they announce, sent at least once by ``tiemchung worker``.

Revision ID: 0011_outbox
Revises: 0010_aefi
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_outbox"
down_revision = "0010_aefi"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("id", BIG, nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("dedupe_key", sa.String(length=120), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ref_type", sa.String(length=30), nullable=True),
        sa.Column("ref_id", sa.String(length=60), nullable=True),
        sa.Column("person_id", BIG, nullable=True),
        sa.Column("province_code", sa.String(length=8), nullable=True),
        sa.Column("ward_code", sa.String(length=8), nullable=True),
        sa.Column("status", sa.String(length=12), server_default="queued", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=80), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("gateway", sa.String(length=40), nullable=True),
        sa.Column("gateway_message_id", sa.String(length=80), nullable=True),
        sa.Column("segments", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_status_due", ["status", "next_attempt_at", "id"], unique=False
        )
        batch_op.create_index("ix_messages_ref", ["ref_type", "ref_id"], unique=False)
        batch_op.create_index("ix_messages_phone", ["phone"], unique=False)
        batch_op.create_index("ix_messages_ward", ["ward_code"], unique=False)
        batch_op.create_index("ix_messages_gateway_id", ["gateway_message_id"], unique=False)
    op.create_table(
        "sms_opt_outs",
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("phone"),
    )


def downgrade() -> None:
    op.drop_table("sms_opt_outs")
    op.drop_table("messages")
