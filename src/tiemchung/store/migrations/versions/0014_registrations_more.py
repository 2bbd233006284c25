"""Organisations' users and self registration's one-time codes (issue 18).

Revision ID: 0014_registrations_more
Revises: 0013_import_jobs
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_registrations_more"
down_revision = "0013_import_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organisation_users",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("user_id"),
    )
    with op.batch_alter_table("organisation_users", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organisation_users_organisation_id"), ["organisation_id"], unique=False
        )
    op.create_table(
        "registration_codes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("registration_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registration_codes_phone"), ["phone"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("registration_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registration_codes_phone"))
    op.drop_table("registration_codes")
    with op.batch_alter_table("organisation_users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organisation_users_organisation_id"))
    op.drop_table("organisation_users")
