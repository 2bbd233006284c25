"""The throttles' shared failure counts (issue 20 point 2): ``throttle_failures`` starts empty.

The sign-in, token and look-up throttles counted in each server process's memory, so several
workers multiplied every limit; they now count here (or in Redis when configured).

Revision ID: 0023_throttle_failures
Revises: 0022_clients_more
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023_throttle_failures"
down_revision = "0022_clients_more"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "throttle_failures",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index(
        "ix_throttle_failures_expires_at", "throttle_failures", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_throttle_failures_expires_at", table_name="throttle_failures")
    op.drop_table("throttle_failures")
