"""the hall's other systems: queue services and tickets, rating terminals, supervision work orders

* ``queue_services``: a site's service types (name, letter prefix, the counters that serve them,
  绿色通道 priority); ``queue_tickets``: the tickets taken at the kiosk, numbered per service and day.
* ``events.dedup_key``: one rating per service (a terminal's resend is the same row).
* ``staff.staff_no`` (工号), ``sites.rating_scale`` (``four``: the seed's four levels; ``five``: 好差评).
* ``departments``, ``work_orders``, ``work_order_actions``, ``calendar_days`` (a site's own holidays
  and working days over the statutory calendar).
* Every existing complaint gets its work order of kind ``complaint`` (backfill).

Revision ID: h21_hall_systems
Revises: e18_evidence
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = 'h21_hall_systems'
down_revision = 'e18_evidence'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'queue_services',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('site_id', sa.Integer(), sa.ForeignKey('sites.id'), nullable=False, index=True),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('prefix', sa.String(length=2), nullable=False),
        sa.Column('counter_ids', sa.JSON(), nullable=False),
        sa.Column('priority', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.UniqueConstraint('site_id', 'prefix', name='uq_queue_services_site_prefix'),
    )
    op.create_table(
        'queue_tickets',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('site_id', sa.Integer(), sa.ForeignKey('sites.id'), nullable=False),
        sa.Column('service_id', sa.Integer(), sa.ForeignKey('queue_services.id'), nullable=False),
        sa.Column('day', sa.String(length=10), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=8), nullable=False),
        sa.Column('priority', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('status_key', sa.String(length=32), nullable=False, unique=True),
        sa.Column('taken_s', sa.Float(), nullable=False),
        sa.Column('called_s', sa.Float(), nullable=True),
        sa.Column('counter_id', sa.Integer(), sa.ForeignKey('counters.id'), nullable=True),
        sa.Column('call_event_id', sa.Integer(), sa.ForeignKey('events.id'), nullable=True),
        sa.Column('calls', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('finished_s', sa.Float(), nullable=True),
        sa.UniqueConstraint('site_id', 'day', 'code', name='uq_queue_tickets_site_day_code'),
    )
    op.create_index('ix_queue_tickets_waiting', 'queue_tickets', ['site_id', 'day', 'state'])
    op.create_index('ix_queue_tickets_counter', 'queue_tickets', ['counter_id', 'called_s'])
    with op.batch_alter_table('events') as batch:
        batch.add_column(sa.Column('dedup_key', sa.String(length=80), nullable=True))
        batch.create_unique_constraint('uq_events_counter_dedup', ['counter_id', 'dedup_key'])
    op.add_column('staff', sa.Column('staff_no', sa.String(length=40), nullable=False, server_default=''))
    op.add_column('sites', sa.Column('rating_scale', sa.String(length=8), nullable=False, server_default='four'))
    op.create_table(
        'departments',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('site_id', sa.Integer(), sa.ForeignKey('sites.id'), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('supervisor', sa.String(length=100), nullable=False, server_default=''),
        sa.UniqueConstraint('site_id', 'name', name='uq_departments_site_name'),
    )
    op.create_table(
        'work_orders',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('site_id', sa.Integer(), sa.ForeignKey('sites.id'), nullable=False, index=True),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('channel', sa.String(length=12), nullable=False, server_default='window'),
        sa.Column('complaint_id', sa.Integer(), sa.ForeignKey('complaints.id'), nullable=True, unique=True),
        sa.Column('rating_event_id', sa.Integer(), sa.ForeignKey('events.id'), nullable=True, unique=True),
        sa.Column('flag_id', sa.Integer(), sa.ForeignKey('flags.id', ondelete='SET NULL'), nullable=True, unique=True),
        sa.Column('interaction_id', sa.Integer(), sa.ForeignKey('interactions.id', ondelete='SET NULL'),
                  nullable=True),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False, server_default=''),
        sa.Column('department_id', sa.Integer(), sa.ForeignKey('departments.id'), nullable=True),
        sa.Column('owner', sa.String(length=100), nullable=False, server_default=''),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('received_s', sa.Float(), nullable=False),
        sa.Column('working_days', sa.Integer(), nullable=False),
        sa.Column('due_s', sa.Float(), nullable=False),
        sa.Column('replied_s', sa.Float(), nullable=True),
        sa.Column('reply', sa.Text(), nullable=False, server_default=''),
        sa.Column('callback_s', sa.Float(), nullable=True),
        sa.Column('callback_result', sa.Text(), nullable=False, server_default=''),
        sa.Column('escalated_s', sa.Float(), nullable=True),
        sa.Column('escalated_to', sa.String(length=100), nullable=False, server_default=''),
        sa.Column('created_by', sa.String(length=100), nullable=False, server_default=''),
    )
    op.create_index('ix_work_orders_due', 'work_orders', ['site_id', 'state', 'due_s'])
    op.create_table(
        'work_order_actions',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('work_order_id', sa.Integer(), sa.ForeignKey('work_orders.id'), nullable=False, index=True),
        sa.Column('at_s', sa.Float(), nullable=False),
        sa.Column('user_name', sa.String(length=100), nullable=False),
        sa.Column('action', sa.String(length=20), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=False),
    )
    op.create_table(
        'calendar_days',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('site_id', sa.Integer(), sa.ForeignKey('sites.id'), nullable=False),
        sa.Column('day', sa.String(length=10), nullable=False),
        sa.Column('working', sa.Boolean(), nullable=False),
        sa.Column('note', sa.String(length=200), nullable=False, server_default=''),
        sa.UniqueConstraint('site_id', 'day', name='uq_calendar_days_site_day'),
    )
    # Complaints are one kind of work order: the existing ones get theirs (the complaint stays
    # the record of the finding; its work order carries the deadline, owner and callback).
    op.execute(
        "INSERT INTO work_orders (site_id, kind, channel, complaint_id, interaction_id, title, detail, owner, state,"
        " received_s, working_days, due_s, replied_s, reply, callback_result, escalated_to, created_by)"
        " SELECT site_id, 'complaint', 'window', id, interaction_id, substr(summary, 1, 200), summary, '',"
        " CASE WHEN state = 'answered' THEN 'replied' ELSE 'open' END, received_s, 0, due_s, answered_s, finding,"
        " '', '', '' FROM complaints")


def downgrade() -> None:
    op.drop_table('calendar_days')
    op.drop_table('work_order_actions')
    op.drop_index('ix_work_orders_due', table_name='work_orders')
    op.drop_table('work_orders')
    op.drop_table('departments')
    op.drop_column('sites', 'rating_scale')
    op.drop_column('staff', 'staff_no')
    with op.batch_alter_table('events') as batch:
        batch.drop_constraint('uq_events_counter_dedup', type_='unique')
        batch.drop_column('dedup_key')
    op.drop_index('ix_queue_tickets_counter', table_name='queue_tickets')
    op.drop_index('ix_queue_tickets_waiting', table_name='queue_tickets')
    op.drop_table('queue_tickets')
    op.drop_table('queue_services')
