"""waiting-area screens: screens, content, playlists, schedules, interrupts, proof of play

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('signage_screens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=63), nullable=False),
    sa.Column('groups', sa.JSON(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('last_heartbeat_s', sa.Float(), nullable=True),
    sa.Column('status', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_index('ix_signage_screens_site_id', 'signage_screens', ['site_id'], unique=False)
    op.create_table('signage_content',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_s', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_signage_content_site_id', 'signage_content', ['site_id'], unique=False)
    op.create_table('signage_playlists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_signage_playlists_site_id', 'signage_playlists', ['site_id'], unique=False)
    op.create_table('signage_schedules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('playlist_id', sa.Integer(), nullable=False),
    sa.Column('screens', sa.JSON(), nullable=False),
    sa.Column('groups', sa.JSON(), nullable=False),
    sa.Column('weekdays', sa.JSON(), nullable=False),
    sa.Column('start_time', sa.String(length=8), nullable=False),
    sa.Column('end_time', sa.String(length=8), nullable=False),
    sa.Column('start_date', sa.String(length=10), nullable=True),
    sa.Column('end_date', sa.String(length=10), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['playlist_id'], ['signage_playlists.id'], ),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_signage_schedules_site_id', 'signage_schedules', ['site_id'], unique=False)
    op.create_table('signage_interrupts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('screens', sa.JSON(), nullable=False),
    sa.Column('started_s', sa.Float(), nullable=False),
    sa.Column('cleared_s', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_signage_interrupts_open', 'signage_interrupts', ['site_id', 'cleared_s'], unique=False)
    op.create_table('signage_plays',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=40), nullable=False),
    sa.Column('screen_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('content_id', sa.Integer(), nullable=True),
    sa.Column('playlist_id', sa.Integer(), nullable=True),
    sa.Column('schedule_id', sa.Integer(), nullable=True),
    sa.Column('interrupt_id', sa.Integer(), nullable=True),
    sa.Column('started_s', sa.Float(), nullable=False),
    sa.Column('ended_s', sa.Float(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('received_s', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['screen_id'], ['signage_screens.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('uid')
    )
    op.create_index('ix_signage_plays_screen_time', 'signage_plays', ['screen_id', 'started_s'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_signage_plays_screen_time', table_name='signage_plays')
    op.drop_table('signage_plays')
    op.drop_index('ix_signage_interrupts_open', table_name='signage_interrupts')
    op.drop_table('signage_interrupts')
    op.drop_index('ix_signage_schedules_site_id', table_name='signage_schedules')
    op.drop_table('signage_schedules')
    op.drop_index('ix_signage_playlists_site_id', table_name='signage_playlists')
    op.drop_table('signage_playlists')
    op.drop_index('ix_signage_content_site_id', table_name='signage_content')
    op.drop_table('signage_content')
    op.drop_index('ix_signage_screens_site_id', table_name='signage_screens')
    op.drop_table('signage_screens')
