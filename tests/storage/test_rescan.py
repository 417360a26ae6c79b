"""Re-registering chunks after a database restore (issue 6): real agents store chunks in a real
rclone S3 server and SQLite; the database is backed up with SQLite's backup API, more audio is
recorded, the backup is restored, and `catalog rescan` puts back exactly what was lost."""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from ops_helpers import cli, stack_env
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.audio import level_dbfs
from domain.chunks import ChunkMeta, object_metadata
from domain.flac import decode_flac, encode_flac
from recorder.agent import Agent
from recorder.sources import FfmpegSource
from services import retention
from services.catalog import Catalog
from services.integrity import verify_day
from services.rescan import FROM_KEY_AND_FLAC, FROM_METADATA, rescan
from storage.engine import make_engine
from storage.objects import ObjectStore
from storage.schema import upgrade
from storage.tables import Alarm, AuditLog, Chunk, ChunkClaim, ChunkTombstone, Interaction, Job
from tests.support.agents import serve_agent_api
from tests.support.stores import store_on
from transcribe.worker import Worker, WorkerOptions

pytestmark = pytest.mark.slow

SAMPLES = Path(__file__).resolve().parents[2] / "counterwatch" / "samples"
RATE = 16000


def _record(catalog: Catalog, object_store: ObjectStore, spool: Path, audio: Path, *, chunk_s: float = 4.0) -> str:
    """One agent session from ``audio`` (decoded as fast as it goes); returns the session id."""
    with serve_agent_api(catalog.engine, object_store, site="hall", counter="c1") as api:
        client = api.client()
        agent = Agent(site="hall", counter="c1", source=FfmpegSource(str(audio), channels=1, realtime=False),
                      spool_dir=spool, sink=client, chunk_s=chunk_s, quota_bytes=50_000_000, live_s=0, heartbeat_s=1.0)
        stats = agent.run(threading.Event())
        assert stats.leftover_chunks == 0 and stats.chunks_uploaded > 1
        client.end_session(agent.session)
    return agent.session


def _rows(engine) -> dict[str, tuple]:
    with Session(engine) as s:
        return {c.key: (c.session_id, c.seq, c.sha256, c.start_sample, c.samples, c.size_bytes, c.wall_start_s,
                        c.prev_chain_sha256, c.chain_sha256) for c in s.scalars(select(Chunk))}


def _backup(db: Path, to: Path) -> None:
    """An online copy with SQLite's backup API, as docs/operations.md tells operators."""
    src, dst = sqlite3.connect(db), sqlite3.connect(to)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()


def _fresh(tmp_path: Path, server):  # noqa: ANN001, ANN202
    """A migrated SQLite catalog with counter hall/c1 (mono) and an empty bucket on ``server``."""
    db = tmp_path / "cw.db"
    eng = make_engine(f"sqlite:///{db}")
    upgrade(eng)
    catalog = Catalog(eng)
    counter_id = catalog.add_counter("hall", "c1", channels="mono").id
    object_store = store_on(server)
    object_store.ensure_bucket()
    return db, eng, catalog, counter_id, object_store


def _restore(backup: Path, db: Path) -> None:
    shutil.copyfile(backup, db)
    for extra in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        extra.unlink(missing_ok=True)


def _verify_all_days(engine, object_store, counter_id: int, rows: dict[str, tuple]) -> None:
    days = {dt.datetime.fromtimestamp(r[6], dt.UTC).date() for r in rows.values()}
    for day in days:
        start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp()
        report = verify_day(engine, object_store, counter_id=counter_id, start_s=start, end_s=start + 86400)
        assert report.ok, report.problems
        assert report.chunks > 0


def test_rescan_after_a_restore_registers_lost_chunks_once_and_the_worker_transcribes_them(
        tmp_path: Path, own_s3_server, analyzer):
    db, eng, catalog, counter_id, object_store = _fresh(tmp_path, own_s3_server)

    before = _record(catalog, object_store, tmp_path / "spool", SAMPLES / "counter-polite-mono.flac")
    _backup(db, tmp_path / "backup.db")
    # One counter records one session at a time: the next starts once the first's claimed time
    # (decoded faster than real time) has passed, or verify rightly calls it an insertion.
    claimed_end = max(r[6] + r[4] / RATE for r in _rows(eng).values())
    time.sleep(max(0.0, claimed_end - time.time() + 0.5))
    after = _record(catalog, object_store, tmp_path / "spool", SAMPLES / "counter-rude-stereo.flac")
    truth = _rows(eng)
    lost = {k for k, r in truth.items() if r[0] == after}
    assert lost and len(lost) < len(truth)
    eng.dispose()

    _restore(tmp_path / "backup.db", db)
    eng = make_engine(f"sqlite:///{db}")
    assert set(_rows(eng)) == set(truth) - lost

    preview = rescan(eng, object_store, dry_run=True)
    assert {r.meta.key for r in preview.found} == lost and preview.registered == 0 and not preview.problems
    assert set(_rows(eng)) == set(truth) - lost

    # The command, as an operator runs it after a restore.
    env = stack_env(f"sqlite:///{db}", own_s3_server, object_store)
    done = cli("catalog", "rescan", env=env)
    assert done.returncode == 0, done.stderr
    assert f"{len(lost)} registered in 1 session(s) queued for transcription, 0 problem(s)" in done.stdout, done.stdout
    again = rescan(eng, object_store)
    assert again.registered == 0 and not again.found and again.known == len(truth) and not again.problems

    # Every chunk once, with the very rows (and hash chain) the agent had registered.
    rows = _rows(eng)
    assert rows.keys() == truth.keys()
    for key, row in rows.items():
        assert row[:6] == truth[key][:6], key
        assert row[6] == pytest.approx(truth[key][6], abs=1e-6)
        assert row[7:] == truth[key][7:], f"{key}: chain differs"
    _verify_all_days(eng, object_store, counter_id, rows)
    with Session(eng) as s:
        assert s.scalar(select(func.count()).select_from(Job).where(Job.key == f"plan:{after}")) == 1

    # The worker plans and transcribes the re-registered session (its end was lost with the
    # restore: it closes once nothing new came for session_idle_end_s).
    time.sleep(1.5)
    worker = Worker(engine=eng, store=object_store, analyzer=analyzer, name="rescan",
                    options=WorkerOptions(lease_s=30, session_idle_end_s=1.0))
    worker.work(threading.Event(), burst=True)
    with Session(eng) as s:
        texts = {sid: "".join(t for t in s.scalars(select(Interaction.text).where(Interaction.session_id == sid)))
                 for sid in (before, after)}
        assert s.scalar(select(func.count()).select_from(Job).where(Job.state != "done")) == 0
    assert texts[after], "the re-registered session was not transcribed"
    assert texts[before]
    eng.dispose()


def _chunk(session: str, seq: int, wall0: float, *, seconds: float = 1.0) -> tuple[ChunkMeta, bytes]:
    n = int(seconds * RATE)
    pcm = (np.random.default_rng([int(session, 16) % 2**32, seq]).standard_normal((n, 1)) * 1500).astype(np.int16)
    data = encode_flac(pcm, RATE)
    meta = ChunkMeta(site="hall", counter="c1", session=session, seq=seq, start_sample=seq * n, samples=n,
                     sample_rate_hz=RATE, channels=1, codec="flac", sha256=hashlib.sha256(data).hexdigest(),
                     size_bytes=len(data), session_wall_start_s=wall0, rms_dbfs=-30.0, peak_dbfs=-6.0)
    return meta, data


def test_rescan_without_object_metadata_falls_back_to_key_and_flac_header(tmp_path: Path, own_s3_server):
    """rclone serve s3 forgets user metadata when it restarts: the rows come back from the key,
    the FLAC header (its MD5 of the samples checked) and the chunk before."""
    db, eng, catalog, counter_id, object_store = _fresh(tmp_path, own_s3_server)
    wall0 = time.time() - 30
    spanning, fresh = "a" * 32, "b" * 32
    metas = [_chunk(spanning, q, wall0) for q in range(5)] + [_chunk(fresh, q, wall0 + 10) for q in range(3)]
    for i, (meta, data) in enumerate(metas):
        if i == 3:      # the backup is taken in the middle of the first session
            _backup(db, tmp_path / "backup.db")
        object_store.put_bytes(meta.key, data, content_type="audio/flac", metadata=object_metadata(meta))
        catalog.register_chunk(meta)
    truth = _rows(eng)
    eng.dispose()
    _restore(tmp_path / "backup.db", db)
    own_s3_server.stop()
    own_s3_server.start()
    assert object_store.stat(metas[0][0].key).metadata.keys() <= {"content-md5"}, "rclone kept the metadata"

    eng = make_engine(f"sqlite:///{db}")
    report = rescan(eng, object_store)
    assert not report.problems, report.problems
    assert report.registered == 5 and report.known == 3
    assert {r.source for r in report.found} == {FROM_KEY_AND_FLAC}
    # The spanning session's start comes from its restored row; the fresh one's is estimated.
    assert {r.meta.session: r.wall_estimated for r in report.found} == {spanning: False, fresh: True}
    rows = _rows(eng)
    assert rows.keys() == truth.keys()
    for key, row in rows.items():
        assert row[:6] == truth[key][:6], key
        # Estimated from the store's date (Last-Modified has whole seconds): the upload
        # happened right after the chunk, here within seconds of its wall time.
        assert abs(row[6] - truth[key][6]) < 45, key
    _verify_all_days(eng, object_store, counter_id, rows)
    assert rescan(eng, object_store).registered == 0

    # A chunk whose predecessor is gone everywhere cannot be placed; a damaged one does not
    # decode; one whose samples do not match the FLAC header's MD5 is altered.
    lone, data = _chunk("c" * 32, 2, wall0 + 20)
    object_store.put_bytes(lone.key, data, content_type="audio/flac")
    bad, bad_data = _chunk("d" * 32, 0, wall0 + 20)
    object_store.put_bytes(bad.key, bad_data[:-40] + bytes(40), content_type="audio/flac")
    forged, forged_data = _chunk("9" * 32, 0, wall0 + 20)
    object_store.put_bytes(forged.key, forged_data[:26] + b"\x11" * 16 + forged_data[42:], content_type="audio/flac")
    report = rescan(eng, object_store, site="hall", counter="c1")
    assert report.registered == 0
    assert {p.key: p.what.split(":")[0] for p in report.problems} == {
        lone.key: "cannot place", bad.key: "unusable", forged.key: "altered"}
    eng.dispose()


def test_rescan_uses_metadata_when_the_store_kept_it(tmp_path: Path, s3_server):
    db = tmp_path / "cw.db"
    eng = make_engine(f"sqlite:///{db}")
    upgrade(eng)
    catalog = Catalog(eng)
    catalog.add_counter("hall", "c1", channels="mono")
    object_store = store_on(s3_server)
    object_store.ensure_bucket()
    _backup(db, tmp_path / "backup.db")
    wall0 = time.time() - 100
    metas = [_chunk("e" * 32, q, wall0) for q in range(3)]
    for meta, data in metas:
        object_store.put_bytes(meta.key, data, content_type="audio/flac", metadata=object_metadata(meta))
        catalog.register_chunk(meta)
    truth = _rows(eng)
    eng.dispose()
    _restore(tmp_path / "backup.db", db)
    eng = make_engine(f"sqlite:///{db}")
    since = dt.datetime.fromtimestamp(metas[0][0].session_wall_start_s, dt.UTC).date()
    assert rescan(eng, object_store, since=since + dt.timedelta(days=1)).listed == 0
    # An object overwritten through S3 with other audio but the original metadata (sha256
    # included) no longer matches the sha256 stored with it, and is refused.
    other, other_data = _chunk("8" * 32, 0, wall0)
    _, swapped = _chunk("8" * 32, 1, wall0)
    object_store._client.put_object(object_store.bucket, other.key, io.BytesIO(swapped), len(swapped),  # noqa: SLF001
                             content_type="audio/flac", metadata=object_metadata(other))
    report = rescan(eng, object_store, since=since)
    assert [(p.key, p.what.split(":")[0]) for p in report.problems] == [(other.key, "altered")]
    assert report.registered == 3 and {r.source for r in report.found} == {FROM_METADATA}
    assert not any(r.wall_estimated for r in report.found)
    rows = _rows(eng)
    for key, row in rows.items():
        assert row[:6] == truth[key][:6] and row[6] == pytest.approx(truth[key][6], abs=1e-6)
    eng.dispose()


def _put(object_store: ObjectStore, meta: ChunkMeta, data: bytes) -> None:
    object_store.put_bytes(meta.key, data, content_type="audio/flac", metadata=object_metadata(meta))


def test_rescan_checks_time_and_replay_as_an_upload_and_reports_what_fails(tmp_path: Path, s3_server):
    """An object in the store passes the checks an agent's upload passes before it is
    registered (issue 18): backdated audio, a replay of a stored chunk and a replay of audio
    retention deleted are named, with the exit status, and never registered."""
    db = tmp_path / "cw.db"
    eng = make_engine(f"sqlite:///{db}")
    upgrade(eng)
    Catalog(eng).add_counter("hall", "c1", channels="mono")
    object_store = store_on(s3_server)
    object_store.ensure_bucket()
    now = time.time()
    genuine, data = _chunk("1" * 32, 0, now - 300)
    _put(object_store, genuine, data)
    first = rescan(eng, object_store)
    assert first.registered == 1 and not first.problems
    with Session(eng) as s:
        claim = s.get(ChunkClaim, (genuine.session, 0))
        assert claim is not None and claim.pcm_sha256, "a rescanned chunk is claimed with its audio's hash"

    # The same audio under another recording; audio claiming to be 40 days old.
    copied = dataclasses.replace(genuine, session="2" * 32, session_wall_start_s=now - 120)
    _put(object_store, copied, data)
    old, old_data = _chunk("3" * 32, 0, now - 40 * 86400)
    _put(object_store, old, old_data)
    fresh, fresh_data = _chunk("4" * 32, 0, now - 60)
    _put(object_store, fresh, fresh_data)
    preview = rescan(eng, object_store, dry_run=True)
    assert {r.meta.key for r in preview.found} == {fresh.key}
    assert {p.key: p.what.split(":")[0] for p in preview.problems} == {
        copied.key: "replay", old.key: "refused (chunk_time)"}
    with Session(eng) as s:      # a dry run changes nothing: no alarm, no audit row
        assert s.scalar(select(func.count()).select_from(Alarm)) == 0
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "chunk.replay")) == 0
    env = stack_env(f"sqlite:///{db}", s3_server, object_store)
    done = cli("catalog", "rescan", env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"skip {copied.key}: replay: the same audio is stored as chunk 0 of recording {genuine.session}" \
        in done.stderr, done.stderr
    assert f"skip {old.key}: refused (chunk_time)" in done.stderr and "1 registered" in done.stdout, done.stdout
    with Session(eng) as s:
        assert set(s.scalars(select(Chunk.key))) == {genuine.key, fresh.key}
        # the replay raises the counter's alarm and is audited in Chinese, as an agent's replay is
        alarm = s.scalars(select(Alarm).where(Alarm.kind == "chunk-replay", Alarm.cleared_s.is_(None))).one()
        row = s.scalars(select(AuditLog).where(AuditLog.action == "chunk.replay")).one()
        assert row.target == f"chunk:{copied.key}" and row.user_name.startswith("cli:")     # who ran the command
        assert row.detail == alarm.detail and f"同样的声音已存为录音会话 {genuine.session} 第 0 段" in row.detail
        # levels measured on the one decode equal those of the decoded samples
        stored = s.scalars(select(Chunk).where(Chunk.key == fresh.key)).one()
        assert (stored.rms_dbfs, stored.peak_dbfs) == pytest.approx(level_dbfs(decode_flac(fresh_data)), abs=0.01)

    # Retention deletes the genuine chunk (the clock moved past the site's retention); the same
    # audio found in the store afterwards is a replay of deleted audio.
    object_store.delete(copied.key, evidence=True)
    object_store.delete(old.key, evidence=True)
    later = now + 400 * 86400
    gone = retention.apply(eng, object_store, retention.plan(eng, now=later))
    assert gone.chunks == 2 and not gone.errors
    with Session(eng) as s:
        assert s.scalar(select(func.count()).select_from(ChunkTombstone)) == 2
    again = dataclasses.replace(genuine, session="5" * 32, session_wall_start_s=time.time() - 30)
    _put(object_store, again, data)
    report = rescan(eng, object_store)
    assert report.registered == 0 and [(p.key, p.what.split(";")[0]) for p in report.problems] == [
        (again.key, f"replay: the same audio was recorded at "
                    f"{dt.datetime.fromtimestamp(genuine.wall_start_s, dt.UTC):%Y-%m-%d %H:%M:%SZ} and deleted by retention")]
    with Session(eng) as s:
        assert s.scalar(select(func.count()).select_from(Chunk)) == 0
    eng.dispose()
