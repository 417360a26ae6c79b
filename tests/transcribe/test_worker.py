"""Worker against the real stack: rclone S3 server, SQLite and PostgreSQL, the speech model."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.chunks import ChunkMeta
from domain.flac import encode_flac
from services.catalog import Catalog
from services.interactions import list_flags
from storage.engine import make_engine
from storage.jobs import analyze_key, enqueue
from storage.tables import Flag, Interaction, Job, Segment
from tests.support import recordings
from tests.support.recordings import join_speech
from transcribe.worker import Worker, WorkerOptions

pytestmark = pytest.mark.slow
RATE = 16000


def _pcm(data_dir: Path, *names: str, gap_s: float = 12.0) -> np.ndarray:
    return join_speech(data_dir, *names, gap_s=gap_s)


def store_session(catalog: Catalog, store, pcm: np.ndarray, *, counter: str = "c1", wall0: float | None = None,
                  chunk_s: float = 10.0, end: bool = True) -> str:
    """Store ``pcm`` as an agent would (and, by default, end the session); returns its id."""
    return recordings.store_session(catalog, store, pcm, counter=counter, wall0=wall0, chunk_s=chunk_s, end=end).id


@pytest.fixture()
def stack(db_url, object_store, analyzer):
    eng = make_engine(db_url)
    catalog = Catalog(eng)
    catalog.add_counter("hall", "c1")
    worker = Worker(engine=eng, store=object_store, analyzer=analyzer, name="w-test",
                    options=WorkerOptions(lease_s=6.0, poll_s=0.2))
    yield eng, catalog, object_store, worker
    eng.dispose()


def _rules_by_interaction(eng) -> list[set[tuple[str, str]]]:
    with Session(eng) as s:
        inters = s.scalars(select(Interaction).order_by(Interaction.start_sample)).all()
        return [{(f.type, f.rule) for f in i.flags} for i in inters]


def _counts(eng) -> tuple[int, int, int]:
    with Session(eng) as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (Interaction, Segment, Flag))


def test_session_is_cut_into_interactions_and_flags_are_stored(stack, data_dir: Path):
    eng, catalog, store, worker = stack
    catalog.start_shift("hall", "c1", "王芳", at_s=time.time() - 7200)
    store_session(catalog, store, _pcm(data_dir, "dev01-stereo-clean.flac", "dev05-stereo-clean.flac"))
    assert worker.work(threading.Event(), burst=True) >= 3     # plan + two analyses
    with Session(eng) as s:
        assert all(i.staff_id is not None for i in s.scalars(select(Interaction)))
    polite, rude = _rules_by_interaction(eng)
    assert polite == set()
    assert rude == {("forbidden", "F-SELF-SERVE"), ("forbidden", "F-REPEAT-BLAME"),
                    ("missing_courtesy", "C-THANKS"), ("missing_courtesy", "C-FAREWELL")}
    from services.search import search_segments

    with Session(eng) as s:
        hits = search_segments(s, "多少遍")
    assert len(hits) == 1 and "【多少遍】" in hits[0].snippet and 10 < hits[0].offset_s < 15
    with Session(eng) as s:
        assert {f.rule for f in list_flags(s, None, type="forbidden")} == {"F-SELF-SERVE", "F-REPEAT-BLAME"}

    # Redoing every job replaces results; nothing is duplicated.
    before = _counts(eng)
    with Session(eng) as s, s.begin():
        for a, b, sid in s.execute(select(Interaction.start_sample, Interaction.end_sample, Interaction.session_id)):
            assert enqueue(s, kind="analyze", key=analyze_key(sid, a), payload={"session": sid, "start": a, "end": b},
                           requeue_done=True)
    assert worker.work(threading.Event(), burst=True) == 2
    assert _counts(eng) == before


def test_rulebook_change_reanalyses(stack, data_dir: Path, analyzer):
    import dataclasses

    eng, catalog, store, worker = stack
    store_session(catalog, store, _pcm(data_dir, "dev05-stereo-clean.flac"))
    worker.work(threading.Event(), burst=True)
    old = analyzer.rulebook
    try:
        analyzer.set_rulebook(dataclasses.replace(old, version=old.version + "-site2"))
        worker.work(threading.Event(), burst=True)
        with Session(eng) as s:
            assert set(s.scalars(select(Interaction.rulebook_version))) == {old.version + "-site2"}
        assert _counts(eng)[0] == 1
    finally:
        analyzer.set_rulebook(old)


def test_queue_call_splits_an_interaction(stack, data_dir: Path):
    eng, catalog, store, worker = stack
    wall0 = time.time() - 600
    catalog.add_event("hall", "c1", kind="queue_call", at_s=wall0 + 11.3, payload={"ticket": "A012"})
    store_session(catalog, store, _pcm(data_dir, "dev01-stereo-clean.flac"), wall0=wall0)
    worker.work(threading.Event(), burst=True)
    with Session(eng) as s:
        starts = [a / RATE for a in s.scalars(select(Interaction.start_sample).order_by(Interaction.start_sample))]
    assert len(starts) == 2 and 10.5 < starts[1] < 12.5


def test_corrupt_chunk_fails_the_job_and_keeps_the_worker_going(stack, data_dir: Path):
    eng, catalog, store, worker = stack
    bad = store_session(catalog, store, _pcm(data_dir, "dev05-stereo-clean.flac"))
    with Session(eng) as s:
        key = s.scalar(select(Job.key).where(Job.kind == "plan"))
    # Replace the first chunk's object with other bytes: its checksum no longer matches.
    from storage.tables import Chunk

    with Session(eng) as s:
        chunk_key = s.scalar(select(Chunk.key).where(Chunk.session_id == bad, Chunk.seq == 0))
    store.put_bytes(chunk_key, b"not the audio that was recorded", content_type="audio/flac")
    good = store_session(catalog, store, _pcm(data_dir, "dev01-stereo-clean.flac"))
    worker.work(threading.Event(), burst=True)
    with Session(eng) as s:
        failed = s.scalar(select(Job).where(Job.key == key))
        error = failed.error.lower()
        assert failed.state != "done" and ("sha256" in error or "checksum" in error), failed.error
        assert s.scalar(select(func.count()).select_from(Interaction).where(Interaction.session_id == good)) == 1
        assert s.scalar(select(func.count()).select_from(Interaction).where(Interaction.session_id == bad)) == 0


def test_worker_killed_mid_job_is_taken_over_and_finished_once(stack, data_dir: Path, db_url: str, s3_server,
                                                               tmp_path: Path):
    eng, catalog, store, worker = stack
    store_session(catalog, store, _pcm(data_dir, "dev05-stereo-clean.flac", "dev07-stereo-clean.flac"))
    env = {**os.environ, "COUNTERWATCH_DATABASE_URL": db_url, "COUNTERWATCH_S3_ENDPOINT": s3_server.endpoint,
           "COUNTERWATCH_S3_ACCESS_KEY": s3_server.access_key, "COUNTERWATCH_S3_SECRET_KEY": s3_server.secret_key,
           "COUNTERWATCH_S3_BUCKET": store.bucket, "COUNTERWATCH_LEASE_S": "6", "COUNTERWATCH_CPU_THREADS": "1"}
    victim = subprocess.Popen([sys.executable, "-m", "counterwatch", "worker", "--data", str(tmp_path)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        taken = None
        while taken is None and time.monotonic() < deadline:
            with Session(eng) as s:
                taken = s.scalar(select(Job).where(Job.kind == "analyze", Job.state == "running"))
            time.sleep(0.05)
        assert taken is not None, "the worker never started an analysis"
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
    finally:
        if victim.poll() is None:
            victim.kill()
    t0 = time.monotonic()
    worker.work(threading.Event(), burst=False, max_idle_s=8.0)
    assert time.monotonic() - t0 < 60
    with Session(eng) as s:
        job = s.get(Job, taken.id)
        assert job.state == "done" and job.attempts == 2
        assert s.scalar(select(func.count()).select_from(Job).where(Job.state != "done")) == 0
    assert len(_rules_by_interaction(eng)) == 2
    with Session(eng) as s:
        per = s.execute(select(Segment.interaction_id, Segment.start_s, func.count()).group_by(
            Segment.interaction_id, Segment.start_s)).all()
        assert all(n == 1 for *_, n in per), "segments duplicated"


def test_audio_dropped_by_the_agent_does_not_stall_planning(stack, data_dir: Path):
    """A full spool makes the agent drop chunks: seq stays dense, start_sample jumps."""
    eng, catalog, store, worker = stack
    first = _pcm(data_dir, "dev05-stereo-clean.flac")
    second = _pcm(data_dir, "dev01-stereo-clean.flac")
    session, wall0 = uuid.uuid4().hex, time.time() - 3600
    hole = 30 * RATE
    for seq, (start, part) in enumerate([(0, first), (len(first) + hole, second)]):
        data = encode_flac(part, RATE)
        meta = ChunkMeta(site="hall", counter="c1", session=session, seq=seq, start_sample=start, samples=len(part),
                         sample_rate_hz=RATE, channels=2, codec="flac", sha256=hashlib.sha256(data).hexdigest(),
                         size_bytes=len(data), session_wall_start_s=wall0, rms_dbfs=-30.0, peak_dbfs=-6.0)
        store.put_bytes(meta.key, data, content_type="audio/flac")
        catalog.register_chunk(meta)
    catalog.end_session(session)
    worker.work(threading.Event(), burst=True)
    rude, polite = _rules_by_interaction(eng)
    assert ("forbidden", "F-SELF-SERVE") in rude and polite == set()


def test_analysis_fields_are_stored_and_a_rulebook_applied_in_the_bench_takes_over(stack, data_dir: Path, analyzer):
    """Issue 14: the verdict, turns, signals, severities and reasons are stored; a rulebook applied
    from the rule bench is what the worker judges by after its next sweep."""
    from services import rulebooks
    from services.accounts import add_user, principal_for_token
    from services.rule_bench import Draft, apply

    eng, catalog, store, worker = stack
    store_session(catalog, store, _pcm(data_dir, "dev05-stereo-clean.flac"))
    worker.work(threading.Event(), burst=True)
    with Session(eng) as s:
        (inter,) = s.scalars(select(Interaction))
        assert inter.assessable is True and inter.assessable_reason == ""
        assert {t[0] for t in inter.turns} == {"staff", "customer"} and inter.signals["chars_per_voiced_s"] > 2
        assert inter.flags and all(f.severity and {"match", "speaker", "audio"} <= {
            r["kind"] for r in f.confidence_reasons} <= {"match", "speaker", "audio", "verify"} for f in inter.flags)
        # what the acoustic model heard again is stored with the missing-courtesy flags (transcribe.verify)
        assert any(r["kind"] == "verify" for f in inter.flags for r in f.confidence_reasons)
        period = (inter.wall_start_s - 1, inter.wall_end_s + 1)
    token = add_user(eng, "bench-admin", role="admin", sites=[]).token
    with Session(eng) as s:
        admin = principal_for_token(s, eng, token)
    assert admin is not None
    old = analyzer.rulebook
    try:
        applied = apply(eng, admin, Draft(rule="id: F-SITE-WALL\nphrases: [墙上]\n"), default=old,
                        since_s=period[0], until_s=period[1])
        assert applied.queued == 1
        rulebooks.follow(eng, analyzer, old)
        assert analyzer.rulebook.version == applied.version
        worker.work(threading.Event(), burst=True)
        with Session(eng) as s:
            (inter,) = s.scalars(select(Interaction))
            assert inter.rulebook_version == applied.version
            assert "F-SITE-WALL" in {f.rule for f in inter.flags}      # dev05: 墙上贴着
    finally:
        analyzer.set_rulebook(old)
