"""Adverse events following immunisation (issue 17 point 5): one report per event, against a
dose; the dose's site, product and lot copied beside it for the lists and the cluster flag.

Revision ID: 0010_aefi
Revises: 0009_sessions
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_aefi"
down_revision = "0009_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "aefi_reports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("dose_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("site_id", sa.String(length=20), nullable=False),
        sa.Column("product_code", sa.String(length=20), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=True),
        sa.Column("dose_date", sa.Date(), nullable=False),
        sa.Column("onset_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("symptoms", sa.JSON(), nullable=False),
        sa.Column("symptoms_other", sa.Text(), nullable=True),
        sa.Column("serious", sa.Boolean(), nullable=False),
        sa.Column("seriousness", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("death_date", sa.Date(), nullable=True),
        sa.Column("reporter_name", sa.String(length=200), nullable=False),
        sa.Column("reporter_role", sa.String(length=80), nullable=True),
        sa.Column("reporter_contact", sa.String(length=120), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(["dose_id"], ["doses.id"]),
        sa.ForeignKeyConstraint(["site_id"], ["sites.site_id"]),
        sa.ForeignKeyConstraint(["product_code"], ["products.code"]),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("aefi_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_aefi_reports_dose_id"), ["dose_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_aefi_reports_site_id"), ["site_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_aefi_reports_lot_id"), ["lot_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_aefi_reports_onset_at"), ["onset_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("aefi_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aefi_reports_onset_at"))
        batch_op.drop_index(batch_op.f("ix_aefi_reports_lot_id"))
        batch_op.drop_index(batch_op.f("ix_aefi_reports_site_id"))
        batch_op.drop_index(batch_op.f("ix_aefi_reports_dose_id"))
    op.drop_table("aefi_reports")
