"""rulebooks applied from the rule bench

The newest active row is the rulebook the workers judge by, ahead of the settings' file.

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = '0041'
down_revision = '0040'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'rulebooks',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('version', sa.String(length=100), nullable=False, unique=True),
        sa.Column('name', sa.String(length=200), nullable=False, server_default=''),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column('created_s', sa.Float(), nullable=False),
        sa.Column('created_by', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('period_from_s', sa.Float(), nullable=True),
        sa.Column('period_to_s', sa.Float(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table('rulebooks')
