"""findings keep their history across re-analysis; the server's clock and the audio's own hash
on every chunk (issue 18)

* ``flags.rulebook_version``: the rulebook version that raised the finding ('' before).
* ``flags.superseded_s`` / ``flags.superseded_by``: when a later analysis (rulebook version
  ``superseded_by``) no longer raised it; the finding and its review stay, counted nowhere.
* ``chunk_claims.pcm_sha256``: sha256 of the chunk's decoded samples, to recognise audio
  replayed under another recording (indexed).
* ``sessions.received_s``: when the server received the session's first chunk;
  ``sessions.late_s``: the longest a chunk of it reached the server after its claimed end
  (an upload after an outage, 补传).

Revision ID: e18_evidence
Revises: 0020
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = 'e18_evidence'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('flags', sa.Column('rulebook_version', sa.String(length=100), server_default='', nullable=False))
    op.add_column('flags', sa.Column('superseded_s', sa.Float(), nullable=True))
    op.add_column('flags', sa.Column('superseded_by', sa.String(length=100), server_default='', nullable=False))
    op.add_column('chunk_claims', sa.Column('pcm_sha256', sa.String(length=64), nullable=True))
    op.create_index('ix_chunk_claims_pcm', 'chunk_claims', ['pcm_sha256'])
    op.add_column('sessions', sa.Column('received_s', sa.Float(), nullable=True))
    op.add_column('sessions', sa.Column('late_s', sa.Float(), server_default='0', nullable=False))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+), as in 0020: a batch copy of a table others refer to
    # would be refused by the foreign keys.
    op.drop_column('sessions', 'late_s')
    op.drop_column('sessions', 'received_s')
    op.drop_index('ix_chunk_claims_pcm', table_name='chunk_claims')
    op.drop_column('chunk_claims', 'pcm_sha256')
    op.drop_column('flags', 'superseded_by')
    op.drop_column('flags', 'superseded_s')
    op.drop_column('flags', 'rulebook_version')
