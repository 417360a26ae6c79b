"""the trust boundary (issue 11): agents bound to one counter, write-once chunk claims, the audit
log's hash chain columns, proof of play unique per screen

* ``users.counter_id``: an agent's one counter; its token writes only that counter's audio.
* ``chunk_claims``: the first upload of (session, seq) claims it with its sha256; no other
  content is ever written under that chunk's key.
* ``audit_log.prev_sha256`` / ``row_sha256``: the chain (filled, and the log made append-only,
  by 0014); indexes for the login throttle's look-ups of recent failures.
* ``signage_plays``: ``uid`` unique per screen instead of across all screens.

Revision ID: 0011
Revises: 0041
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0041'
branch_labels = None
depends_on = None

# Gives the unnamed UNIQUE(uid) of 0004 a name SQLite's batch mode can drop.
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('counter_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_users_counter_id', 'counters', ['counter_id'], ['id'])
    op.create_table('chunk_claims',
                    sa.Column('session_id', sa.String(length=32), nullable=False),
                    sa.Column('seq', sa.Integer(), nullable=False),
                    sa.Column('counter_id', sa.Integer(), nullable=False),
                    sa.Column('sha256', sa.String(length=64), nullable=False),
                    sa.Column('size_bytes', sa.Integer(), nullable=False),
                    sa.Column('start_sample', sa.BigInteger(), nullable=False),
                    sa.Column('claimed_s', sa.Float(), nullable=False),
                    sa.ForeignKeyConstraint(['counter_id'], ['counters.id']),
                    sa.PrimaryKeyConstraint('session_id', 'seq'))
    with op.batch_alter_table('audit_log') as batch:
        batch.add_column(sa.Column('prev_sha256', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('row_sha256', sa.String(length=64), nullable=True))
    op.create_index('ix_audit_action_user', 'audit_log', ['action', 'user_name', 'at_s'])
    op.create_index('ix_audit_action_client', 'audit_log', ['action', 'client', 'at_s'])
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint('signage_plays_uid_key', 'signage_plays', type_='unique')
        op.create_unique_constraint('uq_signage_plays_screen_uid', 'signage_plays', ['screen_id', 'uid'])
    else:
        with op.batch_alter_table('signage_plays', naming_convention=_NAMING) as batch:
            batch.drop_constraint('uq_signage_plays_uid', type_='unique')
            batch.create_unique_constraint('uq_signage_plays_screen_uid', ['screen_id', 'uid'])


def downgrade() -> None:
    # The name the upgrade drops again: PostgreSQL's own for 0004's UNIQUE(uid), SQLite's by _NAMING.
    uid_key = 'signage_plays_uid_key' if op.get_bind().dialect.name == 'postgresql' else 'uq_signage_plays_uid'
    with op.batch_alter_table('signage_plays') as batch:
        batch.drop_constraint('uq_signage_plays_screen_uid', type_='unique')
        batch.create_unique_constraint(uid_key, ['uid'])
    op.drop_index('ix_audit_action_client', table_name='audit_log')
    op.drop_index('ix_audit_action_user', table_name='audit_log')
    with op.batch_alter_table('audit_log') as batch:
        batch.drop_column('row_sha256')
        batch.drop_column('prev_sha256')
    op.drop_table('chunk_claims')
    with op.batch_alter_table('users') as batch:
        batch.drop_constraint('fk_users_counter_id', type_='foreignkey')
        batch.drop_column('counter_id')
