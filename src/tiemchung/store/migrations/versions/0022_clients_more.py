"""Partner clients' token version and the shared request counters (issue 19 point 4).

``api_clients.token_version`` starts at 0 (no client existed before); ``rate_counters``
starts empty.

Revision ID: 0022_clients_more
Revises: 0021_register_pull
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022_clients_more"
down_revision = "0021_register_pull"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_clients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("token_version", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "rate_counters",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("window", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window"),
    )


def downgrade() -> None:
    op.drop_table("rate_counters")
    with op.batch_alter_table("api_clients", schema=None) as batch_op:
        batch_op.drop_column("token_version")
