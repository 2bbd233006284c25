"""The change log for partner apps, the partner clients, and a dose's update time (issue 19).

``changes`` and ``api_clients`` start empty; ``doses.updated_at`` is null for every dose stored
before (its ``created_at`` holds).

Revision ID: 0018_changes
Revises: 0017_sms_templates
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_changes"
down_revision = "0017_sms_templates"
branch_labels = None
depends_on = None

_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column("seq", _BIG, autoincrement=True, nullable=False),
        sa.Column(
            "at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("resource", sa.String(length=20), nullable=False),
        sa.Column("resource_id", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("person_id", sa.String(length=40), nullable=True),
        sa.Column("ward_code", sa.String(length=8), nullable=True),
        sa.Column("province_code", sa.String(length=8), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_changes_province_seq", "changes", ["province_code", "seq"])
    op.create_index("ix_changes_resource", "changes", ["resource", "resource_id"])
    op.create_table(
        "api_clients",
        sa.Column("id", _BIG, autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("secret_hash", sa.String(length=200), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("province_code", sa.String(length=8), nullable=True),
        sa.Column("ward_code", sa.String(length=8), nullable=True),
        sa.Column("rate_per_minute", sa.Integer(), nullable=True),
        sa.Column("disabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id"),
    )
    with op.batch_alter_table("doses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("doses", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
    op.drop_table("api_clients")
    op.drop_index("ix_changes_resource", table_name="changes")
    op.drop_index("ix_changes_province_seq", table_name="changes")
    op.drop_table("changes")
