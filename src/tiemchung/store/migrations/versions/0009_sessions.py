"""Sessions are planned on the platform (issue 17 point 2).

Until now a session was a seeded row (site, day, one product, a count). A site now plans it:
the products and lots, time slots with their capacity, the groups invited and the team; it is
opened and closed, and the closing keeps the reconciliation's figures. All new columns are
nullable (or defaulted) so the sessions stored before keep working as they were.

Revision ID: 0009_sessions
Revises: 0008_users
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_sessions"
down_revision = "0008_users"
branch_labels = None
depends_on = None

_JSON_COLUMNS = ("products", "lot_numbers", "time_slots", "groups", "team")


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        for name in _JSON_COLUMNS:
            batch.add_column(sa.Column(name, sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column("allow_parallel", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("closing", sa.JSON(), nullable=True))
    op.create_index("ix_sessions_site_date", "sessions", ["site_id", "session_date"])


def downgrade() -> None:
    op.drop_index("ix_sessions_site_date", "sessions")
    with op.batch_alter_table("sessions") as batch:
        for name in ("closing", "closed_at", "opened_at", "allow_parallel", *_JSON_COLUMNS):
            batch.drop_column(name)
