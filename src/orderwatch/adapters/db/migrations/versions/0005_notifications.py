"""notifications: messages, webhook endpoints, preferences, worker jobs

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orderwatch.adapters.db.tables

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('webhook_endpoints',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('secret', sa.String(length=256), nullable=False),
    sa.Column('events', sa.String(length=500), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('disabled_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints')),
    sa.UniqueConstraint('name', name=op.f('uq_webhook_endpoints_name'))
    )
    op.create_table('notification_preferences',
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channels', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('updated_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_notification_preferences_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_notification_preferences'))
    )
    op.create_table('notification_messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('endpoint_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('recipient', sa.String(length=500), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=True),
    sa.Column('context', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_notification_messages_customer_id_customers')),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoints.id'], name=op.f('fk_notification_messages_endpoint_id_webhook_endpoints')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_notification_messages_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_messages')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_notification_messages_idempotency_key'))
    )
    op.create_index('ix_notification_messages_customer_time', 'notification_messages', ['customer_id', 'created_at'], unique=False)
    op.create_index('ix_notification_messages_due', 'notification_messages', ['status', 'next_attempt_at', 'id'], unique=False)
    op.create_index(op.f('ix_notification_messages_order_id'), 'notification_messages', ['order_id'], unique=False)
    op.create_table('worker_jobs',
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('next_run_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('holder', sa.String(length=120), nullable=True),
    sa.Column('last_started_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_finished_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_worker_jobs'))
    )


def downgrade() -> None:
    op.drop_table('worker_jobs')
    op.drop_index(op.f('ix_notification_messages_order_id'), table_name='notification_messages')
    op.drop_index('ix_notification_messages_due', table_name='notification_messages')
    op.drop_index('ix_notification_messages_customer_time', table_name='notification_messages')
    op.drop_table('notification_messages')
    op.drop_table('notification_preferences')
    op.drop_table('webhook_endpoints')
