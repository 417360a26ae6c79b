"""stereo turns and recognition signals of each interaction

* ``interactions.turns``: [[speaker, start_s, end_s, level_db], ...] from the stereo channels,
  what the audio rules (冷场, 抢话, raised voice) judge and the rule bench re-judges.
* ``interactions.signals``: the measurements behind ``assessable`` (SNR, average
  log-probability, characters per second of voiced audio, ...).

Revision ID: 0040
Revises: 0010
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = '0040'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('interactions') as batch:
        batch.add_column(sa.Column('turns', sa.JSON(), nullable=False, server_default='[]'))
        batch.add_column(sa.Column('signals', sa.JSON(), nullable=False, server_default='{}'))


def downgrade() -> None:
    with op.batch_alter_table('interactions') as batch:
        batch.drop_column('signals')
        batch.drop_column('turns')
