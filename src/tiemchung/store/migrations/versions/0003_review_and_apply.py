"""Reconciliation applied to the registry: runs, review items (commune worklists), the link's
provenance on each dose, and what a citizen's ticket saw.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "reconcile_runs",
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("model_hash", sa.String(length=64), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=True),
        sa.Column("applied_by", sa.Integer(), nullable=True),
        sa.Column(
            "applied_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["applied_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("run_id"),
    )
    op.create_table(
        "review_items",
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("dose_id", BIG, nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("ward_code", sa.String(length=8), nullable=True),
        sa.Column("province_code", sa.String(length=8), nullable=True),
        sa.Column("person_pk", BIG, nullable=True),
        sa.Column("match_probability", sa.Float(), nullable=True),
        sa.Column("mismatches", sa.Text(), nullable=True),
        sa.Column("candidates", sa.JSON(), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision", sa.JSON(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["dose_id"], ["doses.id"]),
        sa.ForeignKeyConstraint(["person_pk"], ["persons.id"]),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_items_dose_id"), ["dose_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_items_ward_code"), ["ward_code"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_review_items_province_code"), ["province_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_review_items_status"), ["status"], unique=False)
        batch_op.create_index("ix_review_items_ward_status", ["ward_code", "status"], unique=False)
    with op.batch_alter_table("doses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("link_source", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("run_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("match_probability", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("duplicate_of", BIG, nullable=True))
        batch_op.create_foreign_key("fk_doses_duplicate_of", "doses", ["duplicate_of"], ["id"])
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("current_value", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("channel", sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("channel")
        batch_op.drop_column("current_value")
    with op.batch_alter_table("doses", schema=None) as batch_op:
        batch_op.drop_constraint("fk_doses_duplicate_of", type_="foreignkey")
        batch_op.drop_column("duplicate_of")
        batch_op.drop_column("match_probability")
        batch_op.drop_column("run_id")
        batch_op.drop_column("link_source")
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.drop_index("ix_review_items_ward_status")
        batch_op.drop_index(batch_op.f("ix_review_items_status"))
        batch_op.drop_index(batch_op.f("ix_review_items_province_code"))
        batch_op.drop_index(batch_op.f("ix_review_items_ward_code"))
        batch_op.drop_index(batch_op.f("ix_review_items_dose_id"))
    op.drop_table("review_items")
    op.drop_table("reconcile_runs")
