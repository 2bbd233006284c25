"""Users can be administered (issue 17): a forced password change, and revocable sessions.

``must_change_password``: a password an administrator chose (a reset, a user created through
the API or the pages) is known to two people, so its owner must replace it at the next
sign-in before doing anything else. ``token_version``: tokens and session cookies carry the
version they were issued at; disabling a user, resetting the password or changing the role or
area bumps it, so every token issued before stops working at once (a token carries the role
and area it was issued with, and must not outlive a change of them).

Revision ID: 0008_users
Revises: 0007_stock
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_users"
down_revision = "0007_stock"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch.add_column(
            sa.Column("token_version", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_index("ix_audit_user_id", "audit_log", ["user_id", "id"])
    op.create_index("ix_audit_action", "audit_log", ["action", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_action", "audit_log")
    op.drop_index("ix_audit_user_id", "audit_log")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("token_version")
        batch.drop_column("must_change_password")
