"""sampling (抽检): plans, their draws and the assignments to reviewers

A supervisor's plan draws a site's interactions per day or week with a seed (``sampling_plans``);
each draw keeps its seed and the ids it drew (``sample_draws``); each drawn interaction goes to
a reviewer, who records its score (``sample_assignments``) (issue 20 item 2).

Revision ID: i25_sampling
Revises: e20_inspection
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = 'i25_sampling'
down_revision = 'e20_inspection'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'sampling_plans',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('site_id', sa.Integer(), sa.ForeignKey('sites.id'), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('per', sa.String(length=10), nullable=False),
        sa.Column('period', sa.String(length=10), nullable=False),
        sa.Column('mode', sa.String(length=10), nullable=False),
        sa.Column('amount', sa.Integer(), nullable=False),
        sa.Column('flags', sa.String(length=10), nullable=False),
        sa.Column('counter_ids', sa.JSON(), nullable=False),
        sa.Column('staff_ids', sa.JSON(), nullable=False),
        sa.Column('hour_from', sa.Integer(), nullable=False),
        sa.Column('hour_to', sa.Integer(), nullable=False),
        sa.Column('reviewer_ids', sa.JSON(), nullable=False),
        sa.Column('seed', sa.BigInteger(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_by', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('created_s', sa.Float(), nullable=False),
    )
    op.create_index('ix_sampling_plans_site_id', 'sampling_plans', ['site_id'])
    op.create_table(
        'sample_draws',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('plan_id', sa.Integer(), sa.ForeignKey('sampling_plans.id'), nullable=False),
        sa.Column('period_start', sa.String(length=10), nullable=False),
        sa.Column('seed', sa.BigInteger(), nullable=False),
        sa.Column('population', sa.Integer(), nullable=False),
        sa.Column('interaction_ids', sa.JSON(), nullable=False),
        sa.Column('drawn_by', sa.String(length=100), nullable=False),
        sa.Column('drawn_s', sa.Float(), nullable=False),
        sa.UniqueConstraint('plan_id', 'period_start', name='uq_sample_draws_plan_period'),
    )
    op.create_index('ix_sample_draws_plan_id', 'sample_draws', ['plan_id'])
    op.create_table(
        'sample_assignments',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('draw_id', sa.Integer(), sa.ForeignKey('sample_draws.id'), nullable=False),
        sa.Column('interaction_id', sa.Integer(), sa.ForeignKey('interactions.id', ondelete='CASCADE'), nullable=False),
        sa.Column('reviewer_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('scored_s', sa.Float(), nullable=True),
        sa.Column('score', sa.Float(), nullable=True),
        sa.Column('passed', sa.Boolean(), nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        sa.UniqueConstraint('draw_id', 'interaction_id', name='uq_sample_assignments_draw_interaction'),
    )
    op.create_index('ix_sample_assignments_draw_id', 'sample_assignments', ['draw_id'])
    op.create_index('ix_sample_assignments_interaction_id', 'sample_assignments', ['interaction_id'])
    op.create_index('ix_sample_assignments_reviewer', 'sample_assignments', ['reviewer_id', 'scored_s'])


def downgrade() -> None:
    op.drop_table('sample_assignments')
    op.drop_table('sample_draws')
    op.drop_table('sampling_plans')
