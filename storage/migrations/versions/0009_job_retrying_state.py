"""jobs waiting out a retry get their own state, ``retrying``

Until now a failed job was put back as ``running`` with the owner ``retry:<worker>`` and
``lease_until_s`` at its retry time, so the queue's depth counted it as running. Such rows
become ``retrying`` (claimable again from ``lease_until_s``) with no owner.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE jobs SET state = 'retrying', lease_owner = NULL "
               "WHERE state = 'running' AND lease_owner LIKE 'retry:%'")


def downgrade() -> None:
    op.execute("UPDATE jobs SET state = 'running', lease_owner = 'retry:' WHERE state = 'retrying'")
