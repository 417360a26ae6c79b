"""transcript search index: FTS5 trigram (SQLite) or pg_trgm GIN (PostgreSQL)

Substring search over ``segments.text`` that works for Chinese, which has no spaces to split
words on: both backends index character trigrams, so 下班了 finds 你们是不是快下班了.

* SQLite: an external-content FTS5 table ``segments_fts`` (``tokenize='trigram'``) over
  ``segments.text``, kept in step by three triggers. A later batch migration that rebuilds
  ``segments`` (Alembic's "move and copy" on SQLite) drops the triggers with the old table and
  must create them again (see ``TRIGGERS``).
* Both: ``ix_interactions_wall_start`` for newest-first scans.
* PostgreSQL: the ``pg_trgm`` extension and a GIN trigram index, used by ``ILIKE '%...%'``.
  pg_trgm only takes letters and digits of the database's ``LC_CTYPE`` into trigrams: give the
  database a UTF-8 ctype (``C.UTF-8``, ``zh_CN.UTF-8``) or the index skips Chinese and the
  query falls back to scanning (still correct, slower).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

FTS_TABLE = "segments_fts"
TRIGGERS = (
    f"""CREATE TRIGGER segments_fts_ai AFTER INSERT ON segments BEGIN
        INSERT INTO {FTS_TABLE}(rowid, text) VALUES (new.id, new.text);
    END""",
    f"""CREATE TRIGGER segments_fts_ad AFTER DELETE ON segments BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text) VALUES ('delete', old.id, old.text);
    END""",
    f"""CREATE TRIGGER segments_fts_au AFTER UPDATE OF id, text ON segments BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO {FTS_TABLE}(rowid, text) VALUES (new.id, new.text);
    END""",
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    # Newest-first listing and the newest-first substring scan of common phrases walk this.
    op.create_index("ix_interactions_wall_start", "interactions", ["wall_start_s", "id"])
    if dialect == "sqlite":
        op.execute(f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(text, content='segments', content_rowid='id', "
                   "tokenize='trigram')")
        for sql in TRIGGERS:
            op.execute(sql)
        # Index the segments that exist already.
        op.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
    elif dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_segments_text_trgm ON segments USING gin (text gin_trgm_ops)")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_index("ix_interactions_wall_start", table_name="interactions")
    if dialect == "sqlite":
        for name in ("segments_fts_ai", "segments_fts_ad", "segments_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_segments_text_trgm")
        # The extension stays: other objects may use it, and dropping it needs ownership.
