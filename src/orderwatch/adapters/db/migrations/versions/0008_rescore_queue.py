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
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("rescore_pending", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index(
            "ix_shipments_rescore",
            ["id"],
            unique=False,
            sqlite_where=sa.text("rescore_pending"),
            postgresql_where=sa.text("rescore_pending"),
        )


def downgrade() -> None:
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_index("ix_shipments_rescore")
        batch_op.drop_column("rescore_pending")
