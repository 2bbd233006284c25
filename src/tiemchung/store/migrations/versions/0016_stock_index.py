"""The dose path's stock count from an index alone (issue 17 point 1: stock at the desk).

Every group of dose writes counts what a site gave from a lot (``stock_left`` in
``registry/catalog/stock.py``, double entries not counted) since the last count's dose id.
``ix_doses_lot_site`` (0007) found the pair's doses, but each one's status had to be read
from the table and there was no seeking to an id; with the dose id and the status in the
index, the count reads only the index entries since that id. It replaces the old index,
whose columns are its first two.

Revision ID: 0016_stock_index
Revises: 0015_invitations
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0016_stock_index"
down_revision = "0015_invitations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("doses", schema=None) as batch_op:
        batch_op.create_index("ix_doses_stock", ["lot_id", "site_id", "id", "status"], unique=False)
        batch_op.drop_index("ix_doses_lot_site")


def downgrade() -> None:
    with op.batch_alter_table("doses", schema=None) as batch_op:
        batch_op.create_index("ix_doses_lot_site", ["lot_id", "site_id"], unique=False)
        batch_op.drop_index("ix_doses_stock")
