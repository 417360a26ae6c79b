"""interactions that cannot be judged, and why a flag has its confidence

* ``interactions.assessable`` / ``assessable_reason``: the recogniser could not follow the speech
  (无法判定); such an interaction gets no courtesy flags and counts in no score.
* ``flags.severity``: the rule's severity when the flag was made.
* ``flags.confidence_reasons``: [{"kind", "value", "text"}] behind the flag's confidence.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('interactions') as batch:
        batch.add_column(sa.Column('assessable', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column('assessable_reason', sa.Text(), nullable=False, server_default=''))
    with op.batch_alter_table('flags') as batch:
        batch.add_column(sa.Column('severity', sa.String(length=10), nullable=False, server_default=''))
        batch.add_column(sa.Column('confidence_reasons', sa.JSON(), nullable=False, server_default='[]'))


def downgrade() -> None:
    with op.batch_alter_table('flags') as batch:
        batch.drop_column('confidence_reasons')
        batch.drop_column('severity')
    with op.batch_alter_table('interactions') as batch:
        batch.drop_column('assessable_reason')
        batch.drop_column('assessable')
