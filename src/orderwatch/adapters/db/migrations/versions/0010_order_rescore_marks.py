"""orders.rescore_marks: milestones queue their order for the delay model's re-score (D2)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("rescore_marks", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.create_index(
            "ix_orders_rescore",
            ["id"],
            unique=False,
            sqlite_where=sa.text("rescore_marks > 0"),
            postgresql_where=sa.text("rescore_marks > 0"),
        )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_rescore")
        batch_op.drop_column("rescore_marks")
