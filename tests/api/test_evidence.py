"""Issue 18, item 2 through the real API (both backends, the rclone S3 server, FLAC from the
project's own encoder): the server is the clock and the judge of evidence. Each attack from the
issue is refused or isolated, and a refused chunk leaves nothing behind (no object, no row)."""
from __future__ import annotations

import datetime as dt
import hashlib
import time
import uuid

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.flac import encode_flac
from domain.timezones import day_bounds, site_zone
from services import retention
from services.evidence import EvidenceLimits
from services.integrity import verify_day
from services.tokens import issue_agent_token
from storage.tables import Alarm, Chunk, ChunkClaim, ChunkTombstone, RecordingSession, Site
from tests.support.cli import run_cli
from tests.support.recordings import RATE, agent_upload, chunk_params, noise
from tests.support.stack import AppEnv

DAY_S = 86400.0


def _agent(app_env: AppEnv, counter: str = "c1"):
    token = issue_agent_token(app_env.engine, site="hall", counter=counter, actor="test").token
    return app_env.client(token, console=False)


def _post(client, *, session: str, seq: int, start: int, pcm: np.ndarray, wall0: float, data: bytes | None = None,
          **change):
    data = encode_flac(pcm, RATE) if data is None else data
    params = {**chunk_params(session=session, seq=seq, start=start, pcm=pcm, data=data, wall0=wall0), **change}
    return client.post("/api/v1/agent/chunks", params=params, content=data, headers={"Content-Type": "audio/flac"})


def _nothing_stored(app_env: AppEnv, session: str) -> None:
    with Session(app_env.engine) as s:
        for table, col in ((Chunk, Chunk.session_id), (ChunkClaim, ChunkClaim.session_id),
                           (RecordingSession, RecordingSession.id)):
            assert s.scalar(select(func.count()).select_from(table).where(col == session)) == 0, table
    assert not [k for k in app_env.store.iter_keys("") if f"/{session}/" in k]


def _stack_env(db_url: str, s3_server, app_env: AppEnv) -> dict[str, str]:
    return {"COUNTERWATCH_DATABASE_URL": db_url, "COUNTERWATCH_S3_ENDPOINT": s3_server.endpoint,
            "COUNTERWATCH_S3_ACCESS_KEY": s3_server.access_key, "COUNTERWATCH_S3_SECRET_KEY": s3_server.secret_key,
            "COUNTERWATCH_S3_BUCKET": app_env.store.bucket}


def _patched_samples(data: bytes, samples: int) -> bytes:
    """``data`` with STREAMINFO's total-samples field set to ``samples`` (a header that lies)."""
    b = bytearray(data)
    bits = int.from_bytes(b[18:26], "big")
    b[18:26] = ((bits & ~((1 << 36) - 1)) | samples).to_bytes(8, "big")
    return bytes(b)


def test_audio_replayed_under_a_new_recording_is_refused_alarmed_and_audited(app_env: AppEnv):
    agent = _agent(app_env)
    pcm, wall0 = noise(2.0, channels=2, seed=11), time.time() - 600
    first = uuid.uuid4().hex
    assert _post(agent, session=first, seq=0, start=0, pcm=pcm, wall0=wall0).status_code == 201
    # The same audio, encoded otherwise (other bytes, same samples), as a new recording.
    replay = uuid.uuid4().hex
    again = encode_flac(pcm, RATE, compression_level=8)
    assert again != encode_flac(pcm, RATE)
    r = _post(agent, session=replay, seq=0, start=0, pcm=pcm, wall0=wall0 + 120, data=again)
    assert r.status_code == 409, r.text
    detail = r.json()["detail"]
    assert detail["code"] == "chunk_replay" and detail["stored_recording"] == first and detail["stored_seq"] == 0
    _nothing_stored(app_env, replay)
    with Session(app_env.engine) as s:
        alarm = s.scalar(select(Alarm).where(Alarm.kind == "chunk-replay", Alarm.cleared_s.is_(None)))
        assert alarm is not None and first in alarm.detail and replay in alarm.detail
    # ... and under another number of the same recording.
    r = _post(agent, session=first, seq=1, start=len(pcm), pcm=pcm, wall0=wall0)
    assert r.status_code == 409 and r.json()["detail"]["code"] == "chunk_replay", r.text
    with Session(app_env.engine) as s:
        assert s.scalar(select(func.count()).select_from(Chunk).where(Chunk.session_id == first)) == 1
    rows = app_env.audit_rows("chunk.replay")
    assert len(rows) == 2 and first in rows[0].detail and rows[0].user_name
    # The retry of the stored chunk itself is no replay.
    assert _post(agent, session=first, seq=0, start=0, pcm=pcm, wall0=wall0).status_code == 200


def test_audio_that_retention_deleted_is_refused_when_it_comes_back(app_env: AppEnv):
    """Retention keeps a tombstone (the samples' hash, counter, recording time; no audio, no
    text) of what it deletes, so the same audio sent again is still a replay."""
    agent = _agent(app_env)
    pcm, wall0 = noise(2.0, channels=2, seed=21), time.time() - 600
    first = uuid.uuid4().hex
    assert _post(agent, session=first, seq=0, start=0, pcm=pcm, wall0=wall0).status_code == 201
    with Session(app_env.engine) as s:
        days = s.scalar(select(Site.retention_days).where(Site.name == "hall"))
    later = time.time() + (days + 1) * DAY_S
    result = retention.apply(app_env.engine, app_env.store, retention.plan(app_env.engine, now=later))
    assert result.chunks == 1 and not result.errors
    _nothing_stored(app_env, first)
    with Session(app_env.engine) as s:
        tomb = s.scalars(select(ChunkTombstone)).one()
        assert tomb.wall_start_s == pytest.approx(wall0, abs=1e-3) and tomb.deleted_s == pytest.approx(later)
    # The very bytes again, under a new recording and under the old one: refused, nothing stored.
    data = encode_flac(pcm, RATE)
    for session in (uuid.uuid4().hex, first):
        r = _post(agent, session=session, seq=0, start=0, pcm=pcm, wall0=time.time() - 60, data=data)
        assert r.status_code == 409, r.text
        assert r.json()["detail"]["code"] == "chunk_replay", r.text
        _nothing_stored(app_env, session)
    rows = app_env.audit_rows("chunk.replay")
    assert len(rows) == 2 and "已按保存期限删除" in rows[0].detail and rows[0].user_name
    with Session(app_env.engine) as s:
        alarm = s.scalar(select(Alarm).where(Alarm.kind == "chunk-replay", Alarm.cleared_s.is_(None)))
        assert alarm is not None and "已按保存期限删除" in alarm.detail
    # New audio is taken; a tombstone is kept a year after its chunk, then pruned (the new
    # chunk, deleted by that same run, leaves its own).
    fresh, fresh_wall = uuid.uuid4().hex, time.time() - 60
    assert _post(agent, session=fresh, seq=0, start=0, pcm=noise(2.0, channels=2, seed=22),
                 wall0=fresh_wall).status_code == 201
    retention.apply(app_env.engine, app_env.store,
                    retention.plan(app_env.engine, now=later + retention.TOMBSTONE_KEEP_S + DAY_S))
    with Session(app_env.engine) as s:
        assert s.scalars(select(ChunkTombstone.wall_start_s)).all() == [pytest.approx(fresh_wall, abs=1e-3)]


def test_silence_from_a_dead_microphone_repeats_legitimately(app_env: AppEnv):
    agent = _agent(app_env)
    wall0 = time.time() - 900
    silence = np.zeros((RATE * 2, 2), dtype=np.int16)
    hiss = np.tile(np.array([[3, -2], [-5, 4]], dtype=np.int16), (RATE, 1))     # about -76 dBFS, repeating
    dc = np.full((RATE * 2, 2), 400, dtype=np.int16)                               # a stuck converter
    a, b = uuid.uuid4().hex, uuid.uuid4().hex
    for seq, pcm in enumerate((silence, silence, hiss, hiss, dc, dc)):
        r = _post(agent, session=a, seq=seq, start=seq * RATE * 2, pcm=pcm, wall0=wall0)
        assert r.status_code == 201, (seq, r.text)
    assert _post(agent, session=b, seq=0, start=0, pcm=silence, wall0=wall0 + 60).status_code == 201
    assert not app_env.audit_rows("chunk.replay")


def test_audio_backdated_40_days_is_refused(app_env: AppEnv):
    agent, session = _agent(app_env), uuid.uuid4().hex
    r = _post(agent, session=session, seq=0, start=0, pcm=noise(1.0, channels=2, seed=12),
              wall0=time.time() - 40 * DAY_S)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail["code"] == "chunk_time" and detail["problem"] == "too_old" and "14.0 days" in r.text, detail
    _nothing_stored(app_env, session)


def test_audio_in_the_year_5107_is_refused_and_a_small_clock_skew_is_not(app_env: AppEnv):
    agent, session = _agent(app_env), uuid.uuid4().hex
    wall0 = dt.datetime(5107, 3, 10, tzinfo=dt.UTC).timestamp()
    r = _post(agent, session=session, seq=0, start=0, pcm=noise(1.0, channels=2, seed=13), wall0=wall0)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["problem"] == "future" and "5107-03-10" in r.text
    _nothing_stored(app_env, session)
    assert not [k for k in app_env.store.iter_keys("") if "/5107/" in k]
    # An hour ahead: refused; a minute ahead (an agent's clock running fast): taken.
    ahead = uuid.uuid4().hex
    r = _post(agent, session=ahead, seq=0, start=0, pcm=noise(1.0, channels=2, seed=14), wall0=time.time() + 3600)
    assert r.status_code == 422 and r.json()["detail"]["problem"] == "future", r.text
    skewed = _post(agent, session=ahead, seq=0, start=0, pcm=noise(1.0, channels=2, seed=14), wall0=time.time() + 60)
    assert skewed.status_code == 201, skewed.text


def test_a_truncated_flac_and_a_lying_header_are_refused_and_nothing_is_stored(app_env: AppEnv):
    agent, wall0 = _agent(app_env), time.time() - 300
    pcm = noise(1.0, channels=2, seed=15)
    whole = encode_flac(pcm, RATE)
    cut = uuid.uuid4().hex
    r = _post(agent, session=cut, seq=0, start=0, pcm=pcm, wall0=wall0, data=whole[:len(whole) // 2])
    assert r.status_code == 422 and r.json()["detail"]["code"] == "chunk_mismatch", r.text
    assert r.json()["detail"]["field"] in ("body", "samples") and "truncated" in r.text, r.text
    _nothing_stored(app_env, cut)
    # The header says 16,000 samples; the body holds 8,000.
    half = pcm[:RATE // 2]
    liar = _patched_samples(encode_flac(half, RATE), RATE)
    lying = uuid.uuid4().hex
    r = _post(agent, session=lying, seq=0, start=0, pcm=pcm, wall0=wall0, data=liar)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["field"] == "samples" and "decodes to samples=8000" in r.text, r.text
    _nothing_stored(app_env, lying)
    # The other way round: the header says 8,000, the body decodes to 16,000 (decoding stops there).
    under = _patched_samples(whole, RATE // 2)
    short = uuid.uuid4().hex
    r = _post(agent, session=short, seq=0, start=0, pcm=half, wall0=wall0, data=under)
    assert r.status_code == 422 and r.json()["detail"]["field"] == "samples", r.text
    assert "more than 8000 frames" in r.text, r.text
    _nothing_stored(app_env, short)
    assert list(app_env.store.iter_keys("")) == []


def test_a_forged_insertion_is_refused_or_isolated_and_the_genuine_recording_still_verifies(
        app_env: AppEnv, db_url: str, s3_server):
    agent = _agent(app_env)
    wall0 = time.time() - 300       # on time: no 补传 line names it either
    genuine = agent_upload(agent, noise(6.0, channels=2, seed=16), wall0=wall0, chunk_s=2.0)
    with Session(app_env.engine) as s:
        genuine_keys = set(s.scalars(select(Chunk.key).where(Chunk.session_id == genuine)))
    # Into the genuine recording: another start time, or samples over a stored chunk: refused.
    extra = noise(2.0, channels=2, seed=17)
    r = _post(agent, session=genuine, seq=3, start=3 * 2 * RATE, pcm=extra, wall0=wall0 - 600)
    assert r.status_code == 422 and r.json()["detail"]["field"] == "recording_start_s", r.text
    r = _post(agent, session=genuine, seq=3, start=2 * 2 * RATE + 100, pcm=extra, wall0=wall0)
    assert r.status_code == 422 and r.json()["detail"]["field"] == "start_sample", r.text
    # A new recording backdated into the genuine one's time: isolated in its own recording.
    forged = agent_upload(agent, noise(2.0, channels=2, seed=18), wall0=wall0 + 1.0, chunk_s=2.0)
    # An agent restarted after its clock was set back a second overlaps its last recording a
    # little: legitimate, not named.
    agent_upload(agent, noise(2.0, channels=2, seed=22), wall0=wall0 + 5.0, chunk_s=2.0)
    with Session(app_env.engine) as s:
        (forged_key,) = s.scalars(select(Chunk.key).where(Chunk.session_id == forged))
    tz = app_env.catalog.counter("hall", "c1").timezone
    day = dt.datetime.fromtimestamp(wall0, site_zone(tz)).date()
    start, end = day_bounds(day, tz)
    report = verify_day(app_env.engine, app_env.store, counter_id=app_env.counter_id("hall", "c1"),
                        start_s=start, end_s=end)
    assert not report.ok and {p.key for p in report.problems} == {forged_key}, report.problems
    assert "forged insertion" in report.first.what and genuine in report.first.what
    assert not genuine_keys & {p.key for p in report.problems}
    # The command says the same.
    env = _stack_env(db_url, s3_server, app_env)
    out = run_cli("verify", "--counter", "c1", "--site", "hall", "--date", day.isoformat(), env=env)
    assert out.returncode == 1, out.stderr
    assert f"first broken link at {forged_key}" in out.stdout and not any(k in out.stdout for k in genuine_keys)


def test_a_backlog_after_an_outage_is_kept_with_both_times_and_shown_as_uploaded_late(
        app_env: AppEnv, db_url: str, s3_server):
    agent = _agent(app_env)
    wall0 = time.time() - 3 * DAY_S - 7200
    session = agent_upload(agent, noise(4.0, channels=2, seed=19), wall0=wall0, chunk_s=2.0)
    with Session(app_env.engine) as s:
        sess = s.get(RecordingSession, session)
        assert sess is not None and sess.received_s is not None and abs(sess.received_s - time.time()) < 600
        assert 3 * DAY_S < sess.late_s < 3 * DAY_S + 7200
        stored = list(s.scalars(select(Chunk).where(Chunk.session_id == session)))
        assert all(c.stored_s - c.wall_start_s > 3 * DAY_S for c in stored)     # both times, per chunk too
    inter = app_env.add_interaction(session=session, start_sample=0, end_sample=4 * RATE,
                                    segments=[(0.0, 2.0, "staff", "您好")])
    view = app_env.client(app_env.make_user("supervisor", ["hall"])).get(f"/api/v1/interactions/{inter}").json()
    assert view["late_label"].startswith("补传（晚 3 天") and view["late_s"] > 3 * DAY_S, view
    tz = app_env.catalog.counter("hall", "c1").timezone
    day = dt.datetime.fromtimestamp(wall0, site_zone(tz)).date()
    env = _stack_env(db_url, s3_server, app_env)
    out = run_cli("verify", "--counter", "c1", "--site", "hall", "--date", day.isoformat(), env=env)
    assert out.returncode == 0, (out.stdout, out.stderr)
    assert out.stdout.startswith("OK hall/c1") and "补传（晚 3 天" in out.stdout and session in out.stdout
    # A timely recording has no label.
    timely = agent_upload(agent, noise(2.0, channels=2, seed=20), wall0=time.time() - 30, chunk_s=2.0)
    inter2 = app_env.add_interaction(session=timely, start_sample=0, end_sample=2 * RATE)
    view = app_env.client(app_env.make_user("supervisor", ["hall"])).get(f"/api/v1/interactions/{inter2}").json()
    assert view["late_label"] == "" and view["late_s"] < 600


def test_the_chunk_body_hash_still_decides_first(app_env: AppEnv):
    """A body whose sha256 is not the metadata's is refused before it is decoded."""
    agent, session = _agent(app_env), uuid.uuid4().hex
    pcm = noise(1.0, channels=2, seed=21)
    r = _post(agent, session=session, seq=0, start=0, pcm=pcm, wall0=time.time() - 60,
              sha256=hashlib.sha256(b"other").hexdigest())
    assert r.status_code == 422 and r.json()["detail"]["field"] == "sha256", r.text
    _nothing_stored(app_env, session)


def test_a_retry_of_a_stored_chunk_is_answered_200_however_late_it_comes(app_env: AppEnv):
    """The answer to a stored chunk was lost; by the retry the chunk is older than the backlog
    window. It is stored: 200, not a refusal that would send it to the agent's quarantine."""
    agent, session, wall0 = _agent(app_env), uuid.uuid4().hex, time.time() - 500
    pcm, more = noise(1.0, channels=2, seed=23), noise(1.0, channels=2, seed=24)
    assert _post(agent, session=session, seq=0, start=0, pcm=pcm, wall0=wall0).status_code == 201
    app_env.app.state.evidence = EvidenceLimits(max_backlog_s=100.0)
    assert _post(agent, session=session, seq=0, start=0, pcm=pcm, wall0=wall0).status_code == 200
    r = _post(agent, session=session, seq=1, start=len(pcm), pcm=more, wall0=wall0)
    assert r.status_code == 422 and r.json()["detail"]["problem"] == "too_old", r.text
