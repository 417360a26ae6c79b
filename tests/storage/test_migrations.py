"""The migrations are checked against the tables: one head, file order is chain order, an
empty database upgraded on each backend has exactly the tables, columns and indexes of
``storage.tables`` (the full-text indexes excepted by name), and no migration imports product
code outside ``storage`` (a migration must not change when live code changes)."""
from __future__ import annotations

import ast
import importlib.util
import json
import re
from pathlib import Path

from sqlalchemy import create_engine

from storage.schema import MIGRATIONS

VERSIONS = MIGRATIONS / "versions"
#: Full-text search lives outside the tables' metadata: SQLite's FTS5 virtual tables and their
#: shadow tables (migrations 0003 and 0017), PostgreSQL's pg_trgm GIN indexes in their place.
SEARCH_INDEXES = re.compile(r"^((segments(_sound)?|transcript_corrections)_fts(_(data|idx|docsize|config|content))?"
                            r"|ix_segments_(text|sound)_trgm|ix_transcript_corrections_text_trgm)$")
PRODUCT = ("domain", "services", "transcribe", "recorder", "signage", "api", "counterwatch")


def _script():
    from alembic.script import ScriptDirectory

    from storage.schema import _config

    return ScriptDirectory.from_config(_config())


def test_one_head_and_file_order_is_chain_order():
    script = _script()
    assert len(script.get_heads()) == 1, f"several heads: {script.get_heads()}"
    chain = [Path(r.path).name for r in reversed(list(script.walk_revisions()))]
    files = sorted(p.name for p in VERSIONS.glob("*.py"))
    assert chain == files, "rename the files so that their sorted names follow the chain:\n" + "\n".join(
        f"{f:50} {c}" for f, c in zip(files, chain, strict=True))
    # file names are not revision ids (those are kept: databases store them); each docstring says which
    for r in script.walk_revisions():
        assert f"Revision ID: {r.revision}" in Path(r.path).read_text(encoding="utf-8"), r.path


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module)
    return out


def test_no_migration_imports_product_code_outside_storage():
    found = {p.name: sorted(m for m in _imports(p) if m.split(".")[0] in PRODUCT) for p in sorted(VERSIONS.glob("*.py"))}
    assert not {k: v for k, v in found.items() if v}, found
    # the check sees imports inside functions too (0017 used to import transcribe in upgrade())
    assert "functools" in _imports(VERSIONS / "0017_sound_alike_index.py")


def test_the_frozen_sound_key_is_the_live_one(data_dir: Path):
    """0017 keys existing segments with its own copy of the sound-alike key. If the live key
    (transcribe.soundalike) changes, stored keys no longer match queries: add a migration that
    rebuilds ``segments.sound`` with a copy of the new key, and point this test at it."""
    from transcribe.soundalike import sound_key

    spec = importlib.util.spec_from_file_location("frozen_0017", VERSIONS / "0017_sound_alike_index.py")
    frozen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(frozen)
    texts = [u["text"] for e in json.loads((data_dir / "labels.json").read_text(encoding="utf-8"))
             for u in e["utterances"]]
    texts += ["烦不烦", "反不妨案", "嗯，您好！请问办什么业务？", "ABC 123", "", "着急什么呀，下班了", "龘𠀀"]
    assert len(texts) > 50
    for text in texts:
        assert frozen.sound_key(text) == sound_key(text), text
    assert frozen.sound_key("烦不烦") == frozen.sound_key("反不妨")


def test_an_upgraded_empty_database_matches_the_tables(db_url: str):
    """``db_url`` is an empty database upgraded to head (SQLite and PostgreSQL)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.tables import Base

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()

    def name(op) -> str:
        obj = op[1] if isinstance(op, tuple) else op[0][3]
        return getattr(obj, "name", str(obj))

    drift = [op for op in diff if not (isinstance(op, tuple) and op[0] in ("remove_table", "remove_index")
                                       and SEARCH_INDEXES.match(name(op)))]
    assert drift == [], "migrations and storage/tables.py differ:\n" + "\n".join(map(str, drift))
    # the exception is by name only: the search tables and indexes are there
    kinds = {op[0] for op in diff}
    assert kinds <= {"remove_table", "remove_index"} and len(diff) >= 2
