"""remedy offers and the demo mailbox (issue 6: D5, U6, D4)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 15:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orderwatch.adapters.db.tables

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "demo_mailbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("message_key", sa.String(length=200), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("recipient", sa.String(length=500), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("delivered_at", orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_demo_mailbox_order_id_orders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demo_mailbox")),
        sa.UniqueConstraint("message_key", name=op.f("uq_demo_mailbox_message_key")),
    )
    op.create_index(op.f("ix_demo_mailbox_delivered_at"), "demo_mailbox", ["delivered_at"], unique=False)
    op.create_index(op.f("ix_demo_mailbox_order_id"), "demo_mailbox", ["order_id"], unique=False)
    op.create_table(
        "remedy_offers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("incident_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rule", sa.String(length=120), nullable=True),
        sa.Column("offered_by", sa.String(length=64), nullable=False),
        sa.Column("offered_at", orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("cause_key", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_remedy_offers_incident_id_incidents")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_remedy_offers_order_id_orders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remedy_offers")),
        sa.UniqueConstraint("cause_key", name=op.f("uq_remedy_offers_cause_key")),
    )
    op.create_index("ix_remedy_offers_due", "remedy_offers", ["status", "expires_at"], unique=False)
    op.create_index(op.f("ix_remedy_offers_order_id"), "remedy_offers", ["order_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_remedy_offers_order_id"), table_name="remedy_offers")
    op.drop_index("ix_remedy_offers_due", table_name="remedy_offers")
    op.drop_table("remedy_offers")
    op.drop_index(op.f("ix_demo_mailbox_order_id"), table_name="demo_mailbox")
    op.drop_index(op.f("ix_demo_mailbox_delivered_at"), table_name="demo_mailbox")
    op.drop_table("demo_mailbox")
