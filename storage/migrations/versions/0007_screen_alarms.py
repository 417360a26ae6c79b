"""screen alarms: the alarms table also holds waiting-area screens' alarms (issue 5)

* ``alarms.screen_id``: the screen a ``screen-gone`` alarm is about (``signage_screens.id``);
  ``alarms.counter_id`` is now empty for those.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alarms') as batch:
        batch.alter_column('counter_id', existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column('screen_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_alarms_screen_id', 'signage_screens', ['screen_id'], ['id'])
        batch.create_index('ix_alarms_screen_open', ['screen_id', 'kind', 'cleared_s'], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM alarms WHERE counter_id IS NULL")
    with op.batch_alter_table('alarms') as batch:
        batch.drop_index('ix_alarms_screen_open')
        batch.drop_constraint('fk_alarms_screen_id', type_='foreignkey')
        batch.drop_column('screen_id')
        batch.alter_column('counter_id', existing_type=sa.Integer(), nullable=False)
