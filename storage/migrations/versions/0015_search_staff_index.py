"""search by staff over a time window: index interactions by (staff_id, wall_start_s)

A staff + month search walks that person's interactions newest first instead of sorting every
match of the phrase (issue 12, item 4); the counter + time window path has
``ix_inter_counter_time`` already.

Revision ID: 0050
Revises: 0012
Create Date: 2026-12-02
"""
from alembic import op

revision = '0050'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_inter_staff_time', 'interactions', ['staff_id', 'wall_start_s'])


def downgrade() -> None:
    op.drop_index('ix_inter_staff_time', table_name='interactions')
