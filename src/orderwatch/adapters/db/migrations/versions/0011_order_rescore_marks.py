"""orders.rescore_marks: milestones queue their order for the delay model's re-score (D2)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 18:40:00

Plain ``ALTER TABLE ... ADD COLUMN`` and ``CREATE INDEX``, which SQLite supports, not batch
mode: batch mode copies ``orders`` and drops the old table, and with ``PRAGMA foreign_keys=ON``
(``adapters/db/engine.py``) SQLite's DROP TABLE first deletes every row, cascading into order
lines, shipments, tracking events, payments ... (found on a full Olist import).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "orders", sa.Column("rescore_marks", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )
    op.create_index(
        "ix_orders_rescore",
        "orders",
        ["id"],
        unique=False,
        sqlite_where=sa.text("rescore_marks > 0"),
        postgresql_where=sa.text("rescore_marks > 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_orders_rescore", table_name="orders")
    # SQLite ≥ 3.35 drops a column in place (no table copy, so no cascade either).
    op.execute("ALTER TABLE orders DROP COLUMN rescore_marks")
