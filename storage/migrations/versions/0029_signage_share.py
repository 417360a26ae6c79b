"""interrupt content with a share of each hour: signage_schedules.share_s_per_hour (issue 24 item 5)

Revision ID: s30_share
Revises: s29_layouts
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = 's30_share'
down_revision = 's29_layouts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('signage_schedules') as b:
        b.add_column(sa.Column('share_s_per_hour', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('signage_schedules') as b:
        b.drop_column('share_s_per_hour')
