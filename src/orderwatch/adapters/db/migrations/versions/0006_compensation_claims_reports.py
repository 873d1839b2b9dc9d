"""compensation ledger, carrier claims, reshipment links, close-out fields (issue 5: U6-U8, D5)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 15:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orderwatch.adapters.db.tables

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('carrier_claims',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('incident_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('carrier_code', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('amount_claimed_cents', sa.BigInteger(), nullable=False),
    sa.Column('amount_recovered_cents', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('carrier_reference', sa.String(length=120), nullable=True),
    sa.Column('file_by', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('filed_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('answer_due_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('answered_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_carrier_claims_incident_id_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_carrier_claims'))
    )
    op.create_index('ix_carrier_claims_carrier', 'carrier_claims', ['carrier_code', 'status'], unique=False)
    op.create_index(op.f('ix_carrier_claims_incident_id'), 'carrier_claims', ['incident_id'], unique=False)
    op.create_table('incident_compensations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('incident_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('approver_role', sa.String(length=32), nullable=False),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('requested_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('linked_order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_compensations_incident_id_incidents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['linked_order_id'], ['orders.id'], name=op.f('fk_incident_compensations_linked_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_compensations'))
    )
    op.create_index(op.f('ix_incident_compensations_incident_id'), 'incident_compensations', ['incident_id'], unique=False)
    op.create_index('ix_incident_compensations_status', 'incident_compensations', ['status', 'requested_at'], unique=False)
    op.add_column('incidents', sa.Column('follow_ups', sa.Text(), nullable=True))
    op.add_column('incidents', sa.Column('reopened_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reshipment_of_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_index(batch_op.f('ix_orders_reshipment_of_id'), ['reshipment_of_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_orders_reshipment_of_id_orders'), 'orders', ['reshipment_of_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_orders_reshipment_of_id_orders'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_orders_reshipment_of_id'))
        batch_op.drop_column('reshipment_of_id')
    op.drop_column('incidents', 'reopened_at')
    op.drop_column('incidents', 'follow_ups')
    op.drop_index('ix_incident_compensations_status', table_name='incident_compensations')
    op.drop_index(op.f('ix_incident_compensations_incident_id'), table_name='incident_compensations')
    op.drop_table('incident_compensations')
    op.drop_index(op.f('ix_carrier_claims_incident_id'), table_name='carrier_claims')
    op.drop_index('ix_carrier_claims_carrier', table_name='carrier_claims')
    op.drop_table('carrier_claims')
