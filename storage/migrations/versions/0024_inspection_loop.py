"""the inspection loop: staff accounts, acknowledgements, appeals, supervisor overrides

Every review of a flag is kept with its note (``flag_review_notes``). A ``staff`` user is linked to their Staff record (``users.staff_id``); each site has an appeal
window (``sites.appeal_window_days``); what people decide about an interaction lives in tables of
its own keyed by the interaction's id, never in the rows re-analysis rewrites (issue 20 item 4,
issue 19 item 4).

Revision ID: e20_inspection
Revises: scale_live_on_demand
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = 'e20_inspection'
down_revision = 'scale_live_on_demand'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sites') as b:
        b.add_column(sa.Column('appeal_window_days', sa.Integer(), nullable=False, server_default='7'))
    with op.batch_alter_table('users') as b:
        b.add_column(sa.Column('staff_id', sa.Integer(), nullable=True))
        b.create_foreign_key('fk_users_staff_id', 'staff', ['staff_id'], ['id'])
    op.create_table(
        'flag_review_notes',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('interaction_id', sa.Integer(), sa.ForeignKey('interactions.id', ondelete='CASCADE'), nullable=False),
        sa.Column('flag_id', sa.Integer(), nullable=False),
        sa.Column('flag_rule', sa.String(length=50), nullable=False),
        sa.Column('flag_start_s', sa.Float(), nullable=False),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('at_s', sa.Float(), nullable=False),
    )
    op.create_index('ix_flag_review_notes_interaction_id', 'flag_review_notes', ['interaction_id'])
    op.create_index('ix_flag_review_notes_flag_id', 'flag_review_notes', ['flag_id'])
    op.create_table(
        'finding_acks',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('interaction_id', sa.Integer(), sa.ForeignKey('interactions.id', ondelete='CASCADE'), nullable=False),
        sa.Column('flag_id', sa.Integer(), nullable=False),
        sa.Column('flag_rule', sa.String(length=50), nullable=False),
        sa.Column('flag_start_s', sa.Float(), nullable=False),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('at_s', sa.Float(), nullable=False),
        sa.UniqueConstraint('user_id', 'flag_id', name='uq_finding_acks_user_flag'),
    )
    op.create_index('ix_finding_acks_interaction_id', 'finding_acks', ['interaction_id'])
    op.create_table(
        'appeals',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('site_id', sa.Integer(), sa.ForeignKey('sites.id'), nullable=False),
        sa.Column('interaction_id', sa.Integer(), sa.ForeignKey('interactions.id', ondelete='CASCADE'), nullable=False),
        sa.Column('flag_id', sa.Integer(), nullable=False),
        sa.Column('flag_rule', sa.String(length=50), nullable=False),
        sa.Column('flag_start_s', sa.Float(), nullable=False),
        sa.Column('staff_id', sa.Integer(), sa.ForeignKey('staff.id'), nullable=False),
        sa.Column('appellant_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('created_s', sa.Float(), nullable=False),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('confirmed_by', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('ruled_by', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('ruled_s', sa.Float(), nullable=True),
        sa.Column('ruling_note', sa.Text(), nullable=False),
    )
    op.create_index('ix_appeals_interaction_id', 'appeals', ['interaction_id'])
    op.create_index('ix_appeals_site_state', 'appeals', ['site_id', 'state'])
    op.create_index('ix_appeals_staff', 'appeals', ['staff_id'])
    op.create_table(
        'interaction_overrides',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('interaction_id', sa.Integer(), sa.ForeignKey('interactions.id', ondelete='CASCADE'), nullable=False),
        sa.Column('assessable', sa.Boolean(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('at_s', sa.Float(), nullable=False),
    )
    op.create_index('ix_interaction_overrides_interaction_id', 'interaction_overrides', ['interaction_id'])
    op.create_table(
        'manual_findings',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('interaction_id', sa.Integer(), sa.ForeignKey('interactions.id', ondelete='CASCADE'), nullable=False),
        sa.Column('type', sa.String(length=20), nullable=False),
        sa.Column('rule', sa.String(length=50), nullable=False),
        sa.Column('severity', sa.String(length=10), nullable=False),
        sa.Column('at_s', sa.Float(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('created_by', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('created_s', sa.Float(), nullable=False),
        sa.Column('withdrawn_by', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('withdrawn_s', sa.Float(), nullable=True),
    )
    op.create_index('ix_manual_findings_interaction_id', 'manual_findings', ['interaction_id'])


def downgrade() -> None:
    op.drop_table('manual_findings')
    op.drop_table('interaction_overrides')
    op.drop_table('appeals')
    op.drop_table('finding_acks')
    op.drop_table('flag_review_notes')
    with op.batch_alter_table('users') as b:
        b.drop_constraint('fk_users_staff_id', type_='foreignkey')
        b.drop_column('staff_id')
    op.drop_column('sites', 'appeal_window_days')     # no batch copy: other tables' keys point at sites
