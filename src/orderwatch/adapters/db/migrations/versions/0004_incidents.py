"""incidents: cases, timeline, SLA ledger, teams, on-call rota, tasks, backup-carrier marks (U2–U8, U14)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 12:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orderwatch.adapters.db.tables

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('teams',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teams')),
    sa.UniqueConstraint('code', name=op.f('uq_teams_code'))
    )
    op.create_table('on_call_shifts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('team_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('starts_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_on_call_shifts_team_id_teams'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_on_call_shifts'))
    )
    op.create_index('ix_on_call_shifts_team_time', 'on_call_shifts', ['team_id', 'starts_at'], unique=False)
    op.create_table('team_members',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('team_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('is_lead', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_team_members_team_id_teams'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team_members')),
    sa.UniqueConstraint('team_id', 'username', name=op.f('uq_team_members_team_id_username'))
    )
    op.create_index(op.f('ix_team_members_username'), 'team_members', ['username'], unique=False)
    op.create_table('incidents',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ref', sa.String(length=80), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('open_order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('scope', sa.String(length=160), nullable=True),
    sa.Column('open_scope', sa.String(length=160), nullable=True),
    sa.Column('parent_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('risk_flag_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('cause', sa.String(length=32), nullable=False),
    sa.Column('party', sa.String(length=32), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('order_ref', sa.String(length=64), nullable=False),
    sa.Column('customer_name', sa.String(length=200), nullable=True),
    sa.Column('customer_email', sa.String(length=254), nullable=True),
    sa.Column('customer_phone', sa.String(length=40), nullable=True),
    sa.Column('address', sa.String(length=400), nullable=True),
    sa.Column('region', sa.String(length=64), nullable=True),
    sa.Column('lane', sa.String(length=140), nullable=True),
    sa.Column('carrier_code', sa.String(length=64), nullable=True),
    sa.Column('tracking_number', sa.String(length=64), nullable=True),
    sa.Column('order_value_cents', sa.BigInteger(), nullable=False),
    sa.Column('reported_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('reported_by', sa.String(length=64), nullable=False),
    sa.Column('detected_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('assessed_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('assigned_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('first_contact_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('resolving_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('waiting_on', sa.String(length=16), nullable=True),
    sa.Column('waiting_since', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('pauses', sa.JSON(), nullable=False),
    sa.Column('escalation_level', sa.Integer(), nullable=False),
    sa.Column('sla_state', sa.String(length=16), nullable=False),
    sa.Column('next_sla_check_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('root_cause', sa.Text(), nullable=True),
    sa.Column('lessons', sa.Text(), nullable=True),
    sa.Column('updated_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_incidents_order_id_orders')),
    sa.ForeignKeyConstraint(['parent_id'], ['incidents.id'], name=op.f('fk_incidents_parent_id_incidents')),
    sa.ForeignKeyConstraint(['risk_flag_id'], ['risk_flags.id'], name=op.f('fk_incidents_risk_flag_id_risk_flags')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents')),
    sa.UniqueConstraint('open_order_id', name=op.f('uq_incidents_open_order_id')),
    sa.UniqueConstraint('open_scope', name=op.f('uq_incidents_open_scope')),
    sa.UniqueConstraint('ref', name=op.f('uq_incidents_ref'))
    )
    op.create_index('ix_incidents_board', 'incidents', ['status', 'reported_at'], unique=False)
    op.create_index(op.f('ix_incidents_cause'), 'incidents', ['cause'], unique=False)
    op.create_index(op.f('ix_incidents_detected_at'), 'incidents', ['detected_at'], unique=False)
    op.create_index(op.f('ix_incidents_order_id'), 'incidents', ['order_id'], unique=False)
    op.create_index(op.f('ix_incidents_parent_id'), 'incidents', ['parent_id'], unique=False)
    op.create_index('ix_incidents_sla_due', 'incidents', ['next_sla_check_at'], unique=False)
    op.create_table('backup_carrier_marks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('scope', sa.String(length=160), nullable=False),
    sa.Column('incident_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('marked_by', sa.String(length=64), nullable=False),
    sa.Column('marked_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('cleared_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_backup_carrier_marks_incident_id_incidents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_backup_carrier_marks')),
    sa.UniqueConstraint('scope', name=op.f('uq_backup_carrier_marks_scope'))
    )
    op.create_table('incident_tasks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('incident_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('team', sa.String(length=32), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('due_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('done_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_tasks_incident_id_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_tasks'))
    )
    op.create_index(op.f('ix_incident_tasks_incident_id'), 'incident_tasks', ['incident_id'], unique=False)
    op.create_index('ix_incident_tasks_owner', 'incident_tasks', ['owner', 'status', 'due_at'], unique=False)
    op.create_table('incident_timeline',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('incident_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('from_status', sa.String(length=32), nullable=True),
    sa.Column('to_status', sa.String(length=32), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_timeline_incident_id_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_timeline'))
    )
    op.create_index('ix_incident_timeline_incident', 'incident_timeline', ['incident_id', 'at', 'id'], unique=False)
    op.create_table('sla_ledger',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('incident_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('metric', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', orderwatch.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_sla_ledger_incident_id_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_ledger')),
    sa.UniqueConstraint('incident_id', 'metric', 'kind', 'at', name=op.f('uq_sla_ledger_incident_id_metric_kind_at'))
    )


def downgrade() -> None:
    op.drop_table('sla_ledger')
    op.drop_index('ix_incident_timeline_incident', table_name='incident_timeline')
    op.drop_table('incident_timeline')
    op.drop_index('ix_incident_tasks_owner', table_name='incident_tasks')
    op.drop_index(op.f('ix_incident_tasks_incident_id'), table_name='incident_tasks')
    op.drop_table('incident_tasks')
    op.drop_table('backup_carrier_marks')
    op.drop_index('ix_incidents_sla_due', table_name='incidents')
    op.drop_index(op.f('ix_incidents_parent_id'), table_name='incidents')
    op.drop_index(op.f('ix_incidents_order_id'), table_name='incidents')
    op.drop_index(op.f('ix_incidents_detected_at'), table_name='incidents')
    op.drop_index(op.f('ix_incidents_cause'), table_name='incidents')
    op.drop_index('ix_incidents_board', table_name='incidents')
    op.drop_table('incidents')
    op.drop_index(op.f('ix_team_members_username'), table_name='team_members')
    op.drop_table('team_members')
    op.drop_index('ix_on_call_shifts_team_time', table_name='on_call_shifts')
    op.drop_table('on_call_shifts')
    op.drop_table('teams')
