"""Webhook subscriptions of partner clients and their dead letters (issue 19 point 3).

Both tables start empty.

Revision ID: 0020_webhooks
Revises: 0019_export_jobs
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_webhooks"
down_revision = "0019_export_jobs"
branch_labels = None
depends_on = None

_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_NOW = sa.text("(CURRENT_TIMESTAMP)")


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", _BIG, autoincrement=True, nullable=False),
        sa.Column("client_id", _BIG, nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("resources", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=10), server_default="active", nullable=False),
        sa.Column("paused_reason", sa.Text(), nullable=True),
        sa.Column("cursor", _BIG, server_default="0", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("batch_end", _BIG, nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("dead_in_row", sa.Integer(), server_default="0", nullable=False),
        sa.Column("dead_total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("delivered_events", _BIG, server_default="0", nullable=False),
        sa.Column("last_delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_by", sa.String(length=80), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["api_clients.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_webhook_subscriptions_client", "webhook_subscriptions", ["client_id"])
    op.create_table(
        "webhook_dead_letters",
        sa.Column("id", _BIG, autoincrement=True, nullable=False),
        sa.Column("subscription_id", _BIG, nullable=False),
        sa.Column("first_seq", _BIG, nullable=False),
        sa.Column("last_seq", _BIG, nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=10), server_default="dead", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replayed_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["subscription_id"], ["webhook_subscriptions.id"]),
        sa.ForeignKeyConstraint(["replayed_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_webhook_dead_letters_sub",
        "webhook_dead_letters",
        ["subscription_id", "status", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_dead_letters_sub", table_name="webhook_dead_letters")
    op.drop_table("webhook_dead_letters")
    op.drop_index("ix_webhook_subscriptions_client", table_name="webhook_subscriptions")
    op.drop_table("webhook_subscriptions")
