"""emergency notices: an expiry, and who started and cleared each

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('signage_interrupts') as batch:
        batch.add_column(sa.Column('expires_s', sa.Float(), nullable=True))
        batch.add_column(sa.Column('created_by', sa.String(length=100), nullable=False, server_default=''))
        batch.add_column(sa.Column('cleared_by', sa.String(length=100), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('signage_interrupts') as batch:
        batch.drop_column('cleared_by')
        batch.drop_column('created_by')
        batch.drop_column('expires_s')
