"""the worker's VAD stream over a session, kept between plan jobs

* ``sessions.plan_state``: JSON (``transcribe.planning.PlanState``): the Silero VAD's recurrent
  state, the last samples seen, the speech detector's state and the speech regions not yet in
  a closed interaction. With it each plan job looks only at chunks it has not seen (issue 12);
  NULL for sessions not planned since, which start a new stream at their cursor.

Revision ID: 0020
Revises: 0032
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0032'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('sessions', sa.Column('plan_state', sa.JSON(), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+): a batch copy of ``sessions`` would drop the table its
    # chunks refer to, which the foreign keys refuse.
    op.drop_column('sessions', 'plan_state')
