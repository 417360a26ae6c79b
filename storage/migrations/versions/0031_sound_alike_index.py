"""sound-alike search: ``segments.sound`` (the pinyin key of the text) and its trigram index

``segments.sound`` holds :func:`transcribe.soundalike.sound_key` of the text: one code character
per spoken syllable, with the recogniser's usual confusions folded, so that a substring of the
key is a sound-alike match. It is indexed as the text is (migration 0003):

* SQLite: an external-content FTS5 table ``segments_sound_fts`` (``tokenize='trigram'``) over
  ``segments.sound``, kept in step by three triggers.
* PostgreSQL: a pg_trgm GIN index, used by ``LIKE '%...%'``.

Existing segments are keyed here (in batches), so the migration needs the ``transcribe``
package (always installed with counterwatch).

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None

FTS_TABLE = "segments_sound_fts"
TRIGGERS = (
    f"""CREATE TRIGGER segments_sound_ai AFTER INSERT ON segments BEGIN
        INSERT INTO {FTS_TABLE}(rowid, sound) VALUES (new.id, new.sound);
    END""",
    f"""CREATE TRIGGER segments_sound_ad AFTER DELETE ON segments BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, sound) VALUES ('delete', old.id, old.sound);
    END""",
    f"""CREATE TRIGGER segments_sound_au AFTER UPDATE OF id, sound ON segments BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, sound) VALUES ('delete', old.id, old.sound);
        INSERT INTO {FTS_TABLE}(rowid, sound) VALUES (new.id, new.sound);
    END""",
)
BATCH = 5000


def upgrade() -> None:
    from transcribe.soundalike import sound_key     # the one definition of the key

    conn = op.get_bind()
    dialect = conn.dialect.name
    op.add_column('segments', sa.Column('sound', sa.Text(), nullable=True))
    segments = sa.table('segments', sa.column('id', sa.Integer), sa.column('text', sa.Text),
                        sa.column('sound', sa.Text))
    last = 0
    while True:
        rows = conn.execute(sa.select(segments.c.id, segments.c.text).where(segments.c.id > last)
                            .order_by(segments.c.id).limit(BATCH)).all()
        if not rows:
            break
        conn.execute(segments.update().where(segments.c.id == sa.bindparam('sid')).values(sound=sa.bindparam('key')),
                     [{"sid": i, "key": sound_key(t or "")} for i, t in rows])
        last = rows[-1][0]
    if dialect == "sqlite":
        op.execute(f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(sound, content='segments', content_rowid='id', "
                   "tokenize='trigram')")
        for sql in TRIGGERS:
            op.execute(sql)
        op.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
    elif dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_segments_sound_trgm ON segments USING gin (sound gin_trgm_ops)")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("segments_sound_ai", "segments_sound_ad", "segments_sound_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_segments_sound_trgm")
    op.drop_column('segments', 'sound')
