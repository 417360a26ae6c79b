"""transcript corrections: a reviewer's text kept beside the recognised one, and searched too

``transcript_corrections`` holds each correction of a transcript line (who, when, why, the
recognised text it corrects, a version per line; the ``current`` row is in force); the
recognised ``segments.text`` is never changed. ``flags.correction_id`` marks a finding raised
by a correction's text. The corrected text is indexed as the recognised text is (migration
0003):

* SQLite: an external-content FTS5 table ``transcript_corrections_fts``
  (``tokenize='trigram'``) over ``transcript_corrections.text``, kept in step by three triggers.
* PostgreSQL: a pg_trgm GIN index, used by ``ILIKE '%...%'``.

Revision ID: i26_corrections
Revises: e20_inspection
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = 'i26_corrections'
down_revision = 'i25_sampling'
branch_labels = None
depends_on = None

FTS_TABLE = "transcript_corrections_fts"
TRIGGERS = (
    f"""CREATE TRIGGER transcript_corrections_fts_ai AFTER INSERT ON transcript_corrections BEGIN
        INSERT INTO {FTS_TABLE}(rowid, text) VALUES (new.id, new.text);
    END""",
    f"""CREATE TRIGGER transcript_corrections_fts_ad AFTER DELETE ON transcript_corrections BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text) VALUES ('delete', old.id, old.text);
    END""",
    f"""CREATE TRIGGER transcript_corrections_fts_au AFTER UPDATE OF id, text ON transcript_corrections BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO {FTS_TABLE}(rowid, text) VALUES (new.id, new.text);
    END""",
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        'transcript_corrections',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('interaction_id', sa.Integer(), sa.ForeignKey('interactions.id', ondelete='CASCADE'), nullable=False),
        sa.Column('segment_id', sa.Integer(), nullable=False),
        sa.Column('line_start_s', sa.Float(), nullable=False),
        sa.Column('line_end_s', sa.Float(), nullable=False),
        sa.Column('speaker', sa.String(length=10), nullable=False),
        sa.Column('recognised', sa.Text(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('current', sa.Boolean(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('at_s', sa.Float(), nullable=False),
    )
    op.create_index('ix_transcript_corrections_interaction_current', 'transcript_corrections',
                    ['interaction_id', 'current'])
    op.create_index('ix_transcript_corrections_segment_id', 'transcript_corrections', ['segment_id'])
    op.add_column('flags', sa.Column('correction_id', sa.Integer(), nullable=True))
    if dialect == "sqlite":
        op.execute(f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(text, content='transcript_corrections', "
                   "content_rowid='id', tokenize='trigram')")
        for sql in TRIGGERS:
            op.execute(sql)
    elif dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_transcript_corrections_text_trgm ON transcript_corrections "
                   "USING gin (text gin_trgm_ops)")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("transcript_corrections_fts_ai", "transcript_corrections_fts_ad", "transcript_corrections_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_transcript_corrections_text_trgm")
    with op.batch_alter_table('flags') as b:
        b.drop_column('correction_id')
    op.drop_table('transcript_corrections')
