"""screen layouts: regions of a screen (main playlist, clock, ticker, queue board), chosen by a schedule

Revision ID: s29_layouts
Revises: e20_inspection
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = 's29_layouts'
down_revision = 'h27_staff_photo'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'signage_layouts',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('site_id', sa.Integer(), sa.ForeignKey('sites.id'), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('regions', sa.JSON(), nullable=False),
    )
    op.create_index('ix_signage_layouts_site_id', 'signage_layouts', ['site_id'])
    with op.batch_alter_table('signage_schedules') as b:
        b.add_column(sa.Column('layout_id', sa.Integer(), nullable=True))
        b.create_foreign_key('fk_signage_schedules_layout_id', 'signage_layouts', ['layout_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('signage_schedules') as b:
        b.drop_constraint('fk_signage_schedules_layout_id', type_='foreignkey')
        b.drop_column('layout_id')
    op.drop_index('ix_signage_layouts_site_id', table_name='signage_layouts')
    op.drop_table('signage_layouts')
