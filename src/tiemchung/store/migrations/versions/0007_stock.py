"""Sites' kind, products' active flag, stock movements (issue 17: a fresh install records doses).

A site gets its kind (commune health station, hospital, mobile team, workplace; the sites
made before are commune health stations, as every one of them was) and a product an
``active`` flag. ``stock_movements`` holds what was received, transferred and wasted per lot
and site; ``ix_doses_lot_site`` lets the dose path count what a site administered from a lot.

Revision ID: 0007_stock
Revises: 0006_audit_replace
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_stock"
down_revision = "0006_audit_replace"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch (SQLite's batch copies the table, and dropping a table
    # that doses and lots point at fails with the foreign keys on).
    op.add_column(
        "sites",
        sa.Column(
            "kind", sa.String(length=24), server_default="commune_health_station", nullable=False
        ),
    )
    op.add_column(
        "products", sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False)
    )
    op.create_table(
        "stock_movements",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("other_site_id", sa.String(length=20), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"]),
        sa.ForeignKeyConstraint(["site_id"], ["sites.site_id"]),
        sa.ForeignKeyConstraint(["other_site_id"], ["sites.site_id"]),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stock_movements_lot_id"), ["lot_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_stock_movements_site_id"), ["site_id"], unique=False)
    with op.batch_alter_table("doses", schema=None) as batch_op:
        batch_op.create_index("ix_doses_lot_site", ["lot_id", "site_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("doses", schema=None) as batch_op:
        batch_op.drop_index("ix_doses_lot_site")
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_movements_site_id"))
        batch_op.drop_index(batch_op.f("ix_stock_movements_lot_id"))
    op.drop_table("stock_movements")
    op.drop_column("products", "active")
    op.drop_column("sites", "kind")
