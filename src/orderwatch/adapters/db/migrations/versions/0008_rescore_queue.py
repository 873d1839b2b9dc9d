"""shipments.rescore_pending: the delay model's re-score queue, filled by ingestion (D2)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 15:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Not batch mode: on SQLite it copies shipments and drops the old table, and with foreign
    # keys on that DROP first deletes every row, cascading into tracking_events (see 0010).
    op.add_column(
        "shipments", sa.Column("rescore_pending", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.create_index(
        "ix_shipments_rescore",
        "shipments",
        ["id"],
        unique=False,
        sqlite_where=sa.text("rescore_pending"),
        postgresql_where=sa.text("rescore_pending"),
    )


def downgrade() -> None:
    op.drop_index("ix_shipments_rescore", table_name="shipments")
    op.execute("ALTER TABLE shipments DROP COLUMN rescore_pending")  # in place on SQLite ≥ 3.35
