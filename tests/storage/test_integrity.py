"""Hash chain over chunks and `verify` of a day, on both backends with the real S3 server."""
from __future__ import annotations

import datetime as dt

import pytest
from ops_helpers import RATE, cli, stack_env, store_chunks
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from domain.timezones import day_bounds
from services.catalog import Catalog
from services.integrity import GENESIS, chain_link, verify_day
from storage.engine import make_engine
from storage.tables import Chunk

TZ = "Asia/Shanghai"
DAY = dt.date(2026, 3, 10)


@pytest.fixture()
def catalog(db_url):
    eng = make_engine(db_url)
    c = Catalog(eng)
    c.add_counter("hall", "c1")
    yield c
    eng.dispose()


@pytest.fixture()
def day(catalog, object_store):
    """Two sessions on DAY, one the evening before and one the morning after."""
    start, end = day_bounds(DAY, TZ)
    before = store_chunks(catalog, object_store, wall0=start - 600, n=2)
    s1 = store_chunks(catalog, object_store, wall0=start + 9 * 3600, n=4)
    s2 = store_chunks(catalog, object_store, wall0=start + 14 * 3600, n=3)
    after = store_chunks(catalog, object_store, wall0=end + 600, n=2)
    return start, end, before, s1 + s2, after


def _verify(catalog, object_store, start, end):
    return verify_day(catalog.engine, object_store, counter_id=catalog.counter("hall", "c1").id, start_s=start, end_s=end)


def test_chain_links_every_chunk_to_the_one_before(catalog, object_store, day):
    start, end, before, keys, after = day
    with Session(catalog.engine) as s:
        rows = {c.key: c for c in s.scalars(select(Chunk))}
    assert rows[before[0]].prev_chain_sha256 == GENESIS
    order = before + keys + after
    for a, b in zip(order, order[1:]):
        assert rows[b].prev_chain_sha256 == rows[a].chain_sha256
        c = rows[b]
        assert c.chain_sha256 == chain_link(c.prev_chain_sha256, c.sha256, c.key, c.start_sample, c.samples)


def test_a_clean_day_verifies(catalog, object_store, day):
    start, end, _, keys, _ = day
    report = _verify(catalog, object_store, start, end)
    assert report.ok, report.problems
    assert report.chunks == len(keys) == 7 and report.samples == 7 * RATE


def test_an_altered_object_is_the_first_broken_link(catalog, object_store, day):
    start, end, _, keys, _ = day
    object_store.put_bytes(keys[2], b"other bytes", content_type="audio/flac")
    report = _verify(catalog, object_store, start, end)
    assert not report.ok
    assert report.first.key == keys[2] and "altered" in report.first.what


def test_a_deleted_object_is_reported(catalog, object_store, day):
    start, end, _, keys, _ = day
    object_store.delete(keys[5], evidence=True)
    report = _verify(catalog, object_store, start, end)
    assert report.first.key == keys[5] and "missing" in report.first.what


def test_a_deleted_catalog_row_is_reported_where_it_was(catalog, object_store, day):
    start, end, _, keys, _ = day
    with Session(catalog.engine) as s, s.begin():
        s.execute(delete(Chunk).where(Chunk.key == keys[1]))
    report = _verify(catalog, object_store, start, end)
    assert report.first.key == keys[1] and "no catalog row" in report.first.what
    # The chunk after it no longer links either.
    assert any(p.key == keys[2] and "link broken" in p.what for p in report.problems)


def test_a_deleted_row_and_object_still_break_the_chain(catalog, object_store, day):
    start, end, _, keys, _ = day
    with Session(catalog.engine) as s, s.begin():
        s.execute(delete(Chunk).where(Chunk.key == keys[1]))
    object_store.delete(keys[1], evidence=True)
    report = _verify(catalog, object_store, start, end)
    assert report.first.key == keys[2] and "link broken" in report.first.what


def test_the_last_row_of_the_day_deleted_with_its_object(catalog, object_store, day):
    start, end, _, keys, after = day
    with Session(catalog.engine) as s, s.begin():
        s.execute(delete(Chunk).where(Chunk.key == keys[-1]))
    object_store.delete(keys[-1], evidence=True)
    report = _verify(catalog, object_store, start, end)
    assert report.first.key == after[0] and "next chunk after this day" in report.first.what


@pytest.mark.parametrize("column,value", [("samples", RATE - 1), ("sha256", "f" * 64), ("start_sample", 5)])
def test_an_edited_catalog_row_is_reported(catalog, object_store, day, column, value):
    start, end, _, keys, _ = day
    with Session(catalog.engine) as s, s.begin():
        s.execute(update(Chunk).where(Chunk.key == keys[3]).values({column: value}))
    report = _verify(catalog, object_store, start, end)
    assert report.first.key == keys[3] and "row edited" in report.first.what


def test_a_rechained_edit_still_breaks_the_next_link(catalog, object_store, day):
    """Someone who edits a row and recomputes its chain hash breaks the next chunk's link."""
    start, end, _, keys, _ = day
    with Session(catalog.engine) as s, s.begin():
        c = s.scalars(select(Chunk).where(Chunk.key == keys[3])).one()
        c.samples = RATE - 1
        c.chain_sha256 = chain_link(c.prev_chain_sha256, c.sha256, c.key, c.start_sample, c.samples)
    report = _verify(catalog, object_store, start, end)
    assert report.first.key == keys[4] and "link broken" in report.first.what


@pytest.mark.slow     # a CLI in subprocesses: the full suite runs it, the fast loop does not
def test_verify_command(catalog, object_store, day, db_url, s3_server):
    start, end, _, keys, _ = day
    env = stack_env(db_url, s3_server, object_store)
    args = ["verify", "--counter", "c1", "--site", "hall", "--date", DAY.isoformat()]
    ok = cli(*args, env=env)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("OK hall/c1") and "7 chunks" in ok.stdout
    object_store.delete(keys[4], evidence=True)
    bad = cli(*args, env=env)
    assert bad.returncode == 1, bad.stderr
    assert bad.stdout.startswith("BROKEN") and f"first broken link at {keys[4]}: object missing" in bad.stdout


def test_migration_chains_chunks_stored_before_it(tmp_path, object_store):
    """Chunks registered before 0006 get their links when it runs, and verify passes."""
    from sqlalchemy import text

    from storage.schema import upgrade

    eng = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    # Register at head (the catalog code needs the current schema, e.g. jobs columns newer
    # than 0006), then go back to 0005 and upgrade to 0006 as an old database would.
    upgrade(eng)
    catalog = Catalog(eng)
    counter_id = catalog.add_counter("hall", "c1").id    # looked up now: the ORM reads today's columns
    start, end = day_bounds(DAY, TZ)
    keys = store_chunks(catalog, object_store, wall0=start + 3600, n=3)
    with eng.begin() as c:
        c.execute(text("UPDATE chunks SET prev_chain_sha256 = NULL, chain_sha256 = NULL"))
    # Re-run the 0006 data step the way an upgrade from 0005 would.

    from alembic import command
    from alembic.config import Config

    import storage.schema as schema

    cfg = Config()
    cfg.set_main_option("script_location", str(schema.MIGRATIONS))
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0006")
    upgrade(eng)        # and on to today's schema, as `counterwatch db upgrade` does; the links stay
    report = verify_day(eng, object_store, counter_id=counter_id, start_s=start, end_s=end)
    assert report.ok and report.chunks == 3, report.problems
    with Session(eng) as s:
        assert s.scalars(select(Chunk.prev_chain_sha256).where(Chunk.key == keys[0])).one() == GENESIS
    eng.dispose()


def test_an_overlap_is_reported_as_an_overlap_not_a_gap(catalog, object_store, day):
    """Issue 11: a chunk starting 48,000 samples (3 s) before the previous one ended."""
    start, end, _, keys, _ = day
    with Session(catalog.engine) as s, s.begin():
        c = s.scalars(select(Chunk).where(Chunk.key == keys[3])).one()
        prev = s.scalars(select(Chunk).where(Chunk.key == keys[2])).one()
        c.start_sample = prev.start_sample + prev.samples - 48_000
        c.chain_sha256 = chain_link(c.prev_chain_sha256, c.sha256, c.key, c.start_sample, c.samples)
    report = _verify(catalog, object_store, start, end)
    assert report.first.key == keys[3], report.problems
    assert f"overlap of 48000 samples after {keys[2]}" in report.first.what and "gap" not in report.first.what
