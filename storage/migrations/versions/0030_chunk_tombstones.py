"""what retention deleted is still recognised when it comes back (issue 18)

* ``chunk_tombstones``: per chunk audio that retention deleted, the sha256 of its decoded
  samples (the fingerprint the replay check uses), its counter, when it was recorded and when
  it was deleted. No audio and no text: the same audio sent again is a replay.

Revision ID: e31_tombstones
Revises: s30_share
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = 'e31_tombstones'
down_revision = 's30_share'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'chunk_tombstones',
        sa.Column('pcm_sha256', sa.String(length=64), nullable=False),
        sa.Column('counter_id', sa.Integer(), nullable=False),
        sa.Column('wall_start_s', sa.Float(), nullable=False),
        sa.Column('deleted_s', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['counter_id'], ['counters.id']),
        sa.PrimaryKeyConstraint('pcm_sha256'),
    )
    op.create_index('ix_chunk_tombstones_deleted', 'chunk_tombstones', ['deleted_s'])


def downgrade() -> None:
    op.drop_index('ix_chunk_tombstones_deleted', table_name='chunk_tombstones')
    op.drop_table('chunk_tombstones')
