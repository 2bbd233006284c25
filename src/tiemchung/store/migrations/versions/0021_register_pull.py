"""The cursor of the pull from the remote population register (issue 19, point 5).

Starts empty: the first pull reads the register's changes from its beginning.

Revision ID: 0021_register_pull
Revises: 0020_webhooks
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021_register_pull"
down_revision = "0020_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "register_cursor",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("register_cursor")
