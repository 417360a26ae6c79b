"""job temporary failures: count them apart from attempts, so a lasting one fails the job

* ``jobs.temp_failures``: temporary failures (store unavailable) since the job last succeeded
  or was (re)queued; sets the retry backoff.
* ``jobs.temp_failing_since_s``: when the first of them happened; a job failing temporarily
  for long enough is failed for good (``storage/jobs.py``), which raises the failed-jobs alarm.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('jobs') as batch:
        batch.add_column(sa.Column('temp_failures', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('temp_failing_since_s', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('jobs') as batch:
        batch.drop_column('temp_failing_since_s')
        batch.drop_column('temp_failures')
