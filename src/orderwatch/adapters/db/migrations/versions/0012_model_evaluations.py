"""model_evaluations: stored ``orderwatch model evaluate`` runs, shown on the model pages (D2)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23 18:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orderwatch.adapters.db.tables

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "model_evaluations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("model_version", sa.String(length=40), nullable=True),
        sa.Column("train_until", orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("test_from", orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("test_until", orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("retrain", sa.String(length=16), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_at", orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_evaluations")),
    )
    op.create_index(
        op.f("ix_model_evaluations_model_version"), "model_evaluations", ["model_version"], unique=False
    )
    op.create_index(
        op.f("ix_model_evaluations_created_at"), "model_evaluations", ["created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_model_evaluations_created_at"), table_name="model_evaluations")
    op.drop_index(op.f("ix_model_evaluations_model_version"), table_name="model_evaluations")
    op.drop_table("model_evaluations")
