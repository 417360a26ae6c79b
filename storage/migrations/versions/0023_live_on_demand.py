"""live on demand: listeners' claim on a counter's live audio, and when its agent last asked

An agent publishes live segments only while a listener wants them (issue 23, item 3): every
listening stream keeps ``live_wanted_until_s`` a few seconds ahead of now, so the claim lapses
by itself when the last listener leaves (or its API process dies); ``live_asked_s`` says the
counter's agent asks for that claim, so a new listener waits for its first segment.

Revision ID: scale_live_on_demand
Revises: e24_screenshots
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = 'scale_live_on_demand'
down_revision = 'e24_screenshots'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no table copy: other tables point at counters).
    op.add_column('counters', sa.Column('live_wanted_until_s', sa.Float(), nullable=True))
    op.add_column('counters', sa.Column('live_asked_s', sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column('counters', 'live_asked_s')
    op.drop_column('counters', 'live_wanted_until_s')
