"""index on shipments.delivered_at: lane-gap learning reads only recent deliveries (D2 speed)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 16:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_shipments_delivered_at", "shipments", ["delivered_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_shipments_delivered_at", table_name="shipments")
