"""claim deadlines per carrier and the escalation marks of overdue claims (issue 5: U7, U4)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 18:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orderwatch.adapters.db.tables

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("carriers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("claim_file_days", sa.Integer(), server_default=sa.text("30"), nullable=False)
        )
        batch_op.add_column(
            sa.Column("claim_answer_days", sa.Integer(), server_default=sa.text("30"), nullable=False)
        )
    with op.batch_alter_table("carrier_claims", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "file_escalated_at", orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "answer_escalated_at", orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("carrier_claims", schema=None) as batch_op:
        batch_op.drop_column("answer_escalated_at")
        batch_op.drop_column("file_escalated_at")
    with op.batch_alter_table("carriers", schema=None) as batch_op:
        batch_op.drop_column("claim_answer_days")
        batch_op.drop_column("claim_file_days")
