"""SMS templates an installation edited (issue 18 point 6).

No row is the built-in text, so this table starts empty. A message now says whether it keeps
its accents (its template's choice; null: the installation's setting), which the sender reads.

Revision ID: 0017_sms_templates
Revises: 0016_stock_index
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_sms_templates"
down_revision = "0016_stock_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sms_templates",
        sa.Column("key", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("keep_accents", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_by_name", sa.String(length=80), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("keep_accents", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("keep_accents")
    op.drop_table("sms_templates")
