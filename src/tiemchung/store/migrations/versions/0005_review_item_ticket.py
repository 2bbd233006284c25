"""A worklist item names the citizen's ticket it was opened for.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ticket_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_review_items_ticket_id", "tickets", ["ticket_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_review_items_ticket_id"), ["ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_items_ticket_id"))
        batch_op.drop_constraint("fk_review_items_ticket_id", type_="foreignkey")
        batch_op.drop_column("ticket_id")
