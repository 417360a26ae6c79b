"""live listen: newest live segment per counter (issue 4, item 4)

The agent publishes ~1 s live segments to the object store and records the newest one on the
counter row, so every API process can follow a counter's live feed through the shared database.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('counters') as batch:
        batch.add_column(sa.Column('live_session', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('live_seq', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('live_wall_start_s', sa.Float(), nullable=True))
        batch.add_column(sa.Column('live_at_s', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('counters') as batch:
        batch.drop_column('live_at_s')
        batch.drop_column('live_wall_start_s')
        batch.drop_column('live_seq')
        batch.drop_column('live_session')
