"""Catalog on both backends: counters, chunks, events, health alarms."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.chunks import ChunkMeta
from domain.names import BadName
from services import alarms as health
from services.alarms import AlarmOptions
from services.catalog import Catalog, CatalogError, UnknownCounter
from storage.engine import make_engine
from storage.tables import Job


@pytest.fixture()
def catalog(db_url):
    eng = make_engine(db_url)
    c = Catalog(eng)
    c.add_counter("hall", "c1")
    yield c
    eng.dispose()


def _meta(seq: int = 0, sha: str = "a" * 64, counter: str = "c1") -> ChunkMeta:
    return ChunkMeta(site="hall", counter=counter, session="0" * 32, seq=seq, start_sample=seq * 160000,
                     samples=160000, sample_rate_hz=16000, channels=2, codec="flac", sha256=sha, size_bytes=1000,
                     session_wall_start_s=1_700_000_000.0, rms_dbfs=-30, peak_dbfs=-3)


def test_chunks_register_once_and_queue_one_plan(catalog):
    assert catalog.register_chunk(_meta(0))
    assert not catalog.register_chunk(_meta(0))             # the same chunk again: no-op
    assert catalog.register_chunk(_meta(1))
    with pytest.raises(CatalogError, match="different content"):
        catalog.register_chunk(_meta(1, sha="b" * 64))
    with Session(catalog.engine) as s:
        assert [j.key for j in s.scalars(select(Job))] == ["plan:" + "0" * 32]


def test_unknown_counters_and_bad_names_are_refused(catalog):
    with pytest.raises(UnknownCounter, match="hall/c9"):
        catalog.register_chunk(_meta(counter="c9"))
    with pytest.raises(BadName):
        catalog.add_counter("hall", "../c1")
    with pytest.raises(CatalogError, match="channels"):
        catalog.add_counter("hall", "c2", channels="left")
    with pytest.raises(CatalogError, match="kind"):
        catalog.add_event("hall", "c1", kind="lunch", at_s=time.time())


def test_silent_microphone_and_gone_agent_raise_and_clear_alarms(catalog):
    t0 = 1_800_000_000.0
    catalog.heartbeat("hall", "c1", level_dbfs=-20.0, status="ok", at_s=t0)
    assert health.evaluate(catalog.engine, AlarmOptions(silent_after_s=60, gone_after_s=30), now=t0 + 5) == []
    for k in range(1, 8):   # a quiet microphone, agent alive
        catalog.heartbeat("hall", "c1", level_dbfs=-80.0, status="ok", at_s=t0 + 10 * k)
    alarms = health.evaluate(catalog.engine, AlarmOptions(silent_after_s=60, gone_after_s=30), now=t0 + 75)
    assert [(w, k) for w, k, _ in alarms] == [("hall/c1", "silent-microphone")]
    catalog.heartbeat("hall", "c1", level_dbfs=-25.0, status="ok", at_s=t0 + 80)
    assert health.evaluate(catalog.engine, AlarmOptions(silent_after_s=60, gone_after_s=30), now=t0 + 85) == []
    alarms = health.evaluate(catalog.engine, AlarmOptions(silent_after_s=60, gone_after_s=30), now=t0 + 200)
    assert [k for _, k, _ in alarms] == ["agent-gone"]
    catalog.heartbeat("hall", "c1", level_dbfs=-25.0, status="spool-near-quota", at_s=t0 + 210)
    assert [k for _, k, _ in health.evaluate(catalog.engine, AlarmOptions(silent_after_s=60, gone_after_s=30), now=t0 + 211)] == \
        ["spool-near-quota"]


def test_paused_counter_and_closed_hall_raise_no_silence_alarm(catalog):
    t0 = 1_800_000_000.0
    catalog.heartbeat("hall", "c1", level_dbfs=-80.0, status="ok", at_s=t0)
    catalog.heartbeat("hall", "c1", level_dbfs=-80.0, status="ok", at_s=t0 + 100)
    catalog.add_event("hall", "c1", kind="pause", at_s=t0 + 1)
    assert health.evaluate(catalog.engine, AlarmOptions(silent_after_s=60, gone_after_s=30), now=t0 + 101) == []
    catalog.add_event("hall", "c1", kind="resume", at_s=t0 + 102)
    from domain.timezones import local_time

    hour = local_time(t0 + 103, None).hour   # opening hours are the site's (default zone)
    closed = ((hour + 1) % 24, (hour + 1) % 24 + 1)
    assert health.evaluate(catalog.engine, AlarmOptions(silent_after_s=60, gone_after_s=30, opening_hours=closed), now=t0 + 103) == []
    assert health.evaluate(catalog.engine, AlarmOptions(silent_after_s=60, gone_after_s=30), now=t0 + 103) != []


def test_events_bound_interactions(catalog):
    catalog.add_event("hall", "c1", kind="queue_call", at_s=100.0, payload={"ticket": "A012"})
    catalog.add_event("hall", "c1", kind="rating", at_s=150.0, payload={"level": "满意"})
    catalog.add_event("hall", "c1", kind="pause", at_s=160.0)
    info = catalog.counter("hall", "c1")
    assert catalog.boundaries(info.id, 0, 1000) == [100.0, 150.0]


def test_shifts_attribute_staff(catalog):
    from storage.tables import Shift

    first = catalog.start_shift("hall", "c1", "王芳", at_s=100.0)
    second = catalog.start_shift("hall", "c1", "李强", at_s=200.0)
    assert catalog.end_shift("hall", "c1", at_s=300.0) == 1
    with Session(catalog.engine) as s:
        rows = {sh.id: (sh.start_s, sh.end_s) for sh in s.scalars(select(Shift))}
    assert rows == {first: (100.0, 200.0), second: (200.0, 300.0)}
    with pytest.raises(UnknownCounter):
        catalog.start_shift("hall", "c9", "王芳")
