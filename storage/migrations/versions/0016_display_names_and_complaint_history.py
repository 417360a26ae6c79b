"""display names; complaints about a counter, staff member and time, with their history and drafts

* ``counters.display_name``, ``signage_screens.display_name``: what people call them (3号窗口,
  一楼大厅屏); ``sites.title`` already holds a site's display name.
* ``complaints.counter_id``, ``staff_id``, ``incident_s``, ``updated_s``.
* ``complaint_revisions``: every change to a complaint, who and when, old and new values.
* ``complaint_drafts``: a complaint form being typed, per user (kept across a session expiry).

Revision ID: 0030
Revises: 0050
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = '0030'
down_revision = '0050'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('counters', sa.Column('display_name', sa.String(length=100), nullable=False, server_default=''))
    op.add_column('signage_screens', sa.Column('display_name', sa.String(length=100), nullable=False,
                                               server_default=''))
    with op.batch_alter_table('complaints') as batch:
        batch.add_column(sa.Column('counter_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('staff_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('incident_s', sa.Float(), nullable=True))
        batch.add_column(sa.Column('updated_s', sa.Float(), nullable=True))
        batch.create_foreign_key('fk_complaints_counter_id', 'counters', ['counter_id'], ['id'])
        batch.create_foreign_key('fk_complaints_staff_id', 'staff', ['staff_id'], ['id'])
    op.create_table(
        'complaint_revisions',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('complaint_id', sa.Integer(), sa.ForeignKey('complaints.id', ondelete='CASCADE'), nullable=False),
        sa.Column('at_s', sa.Float(), nullable=False),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('user_name', sa.String(length=100), nullable=False),
        sa.Column('action', sa.String(length=20), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
    )
    op.create_index('ix_complaint_revisions_complaint_id', 'complaint_revisions', ['complaint_id'])
    op.create_table(
        'complaint_drafts',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='CASCADE'), nullable=False),
        sa.Column('key', sa.String(length=40), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('updated_s', sa.Float(), nullable=False),
        sa.UniqueConstraint('user_id', 'key'),
    )


def downgrade() -> None:
    op.drop_table('complaint_drafts')
    op.drop_index('ix_complaint_revisions_complaint_id', table_name='complaint_revisions')
    op.drop_table('complaint_revisions')
    with op.batch_alter_table('complaints') as batch:
        batch.drop_constraint('fk_complaints_staff_id', type_='foreignkey')
        batch.drop_constraint('fk_complaints_counter_id', type_='foreignkey')
        batch.drop_column('updated_s')
        batch.drop_column('incident_s')
        batch.drop_column('staff_id')
        batch.drop_column('counter_id')
    op.drop_column('signage_screens', 'display_name')
    op.drop_column('counters', 'display_name')
