"""model versions and predictions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orderwatch.adapters.db.tables

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('model_versions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.String(length=40), nullable=False),
    sa.Column('trained_until', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('n_train', sa.Integer(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('model', sa.LargeBinary(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('activated_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_versions')),
    sa.UniqueConstraint('version', name=op.f('uq_model_versions_version'))
    )
    op.create_index(op.f('ix_model_versions_is_active'), 'model_versions', ['is_active'], unique=False)
    op.create_table('predictions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('model_version', sa.String(length=40), nullable=False),
    sa.Column('p_late', sa.Float(), nullable=False),
    sa.Column('eta_p50_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('eta_p90_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('scored_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_predictions_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_predictions')),
    sa.UniqueConstraint('order_id', 'stage', name=op.f('uq_predictions_order_id_stage'))
    )


def downgrade() -> None:
    op.drop_table('predictions')
    op.drop_index(op.f('ix_model_versions_is_active'), table_name='model_versions')
    op.drop_table('model_versions')
