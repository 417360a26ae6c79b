"""signage: the screen's own picture, the last screenshot each screen sent (issue 24)

Revision ID: e24_screenshots
Revises: h21_hall_systems
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = 'e24_screenshots'
down_revision = 'h21_hall_systems'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'signage_screenshots',
        sa.Column('screen_id', sa.Integer(), sa.ForeignKey('signage_screens.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('taken_s', sa.Float(), nullable=False),
        sa.Column('received_s', sa.Float(), nullable=False),
        sa.Column('content_type', sa.String(length=30), nullable=False),
        sa.Column('width_px', sa.Integer(), nullable=False),
        sa.Column('height_px', sa.Integer(), nullable=False),
        sa.Column('state', sa.JSON(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('signage_screenshots')
