"""The agent end to end with real parts: ffmpeg and PulseAudio capture, the spool on disk, the
real API (uvicorn on loopback, SQLite) and a real S3 server (rclone serve s3) behind it; the S3
server and the API each go away and come back."""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from recorder_helpers import best_correlation, write_wav
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.chunks import ChunkMeta
from domain.flac import decode_flac
from recorder.agent import STATUS_SPOOL_FULL, STATUS_STORE_UNREACHABLE, Agent, Heartbeat, handle_signals
from recorder.client import AgentClient
from recorder.sources import FfmpegSource, parse_source
from recorder.uploader import Backoff
from storage.objects import ObjectStore
from storage.tables import Chunk
from tests.support.agents import AgentApi, agent_api
from tests.support.net import wait_for
from tests.support.stores import store_on

QUICK = Backoff(initial_s=0.1, max_s=0.5)


class Recorded:
    """on_stored / on_heartbeat sinks."""

    def __init__(self) -> None:
        self.stored: list[ChunkMeta] = []
        self.beats: list[Heartbeat] = []

    def on_stored(self, meta: ChunkMeta) -> None:
        self.stored.append(meta)

    def on_heartbeat(self, beat: Heartbeat) -> None:
        self.beats.append(beat)

    @property
    def metas(self) -> list[ChunkMeta]:
        return self.stored


#: Nothing listens there: an API that is down.
DEAD_API = "http://127.0.0.1:9"


def fetch_session(store: ObjectStore, metas: list[ChunkMeta]) -> np.ndarray:
    """Download one session's chunks from the store, check they tile the session exactly
    (dense seq, each chunk starting where the previous ended), and join their samples."""
    assert metas, "no chunks stored"
    assert [m.seq for m in metas] == list(range(len(metas)))
    assert [m.start_sample for m in metas] == [0] + list(np.cumsum([m.samples for m in metas[:-1]]))
    prefix = "/".join(metas[0].key.split("/")[:-1]) + "/"
    assert sorted(store.iter_keys(prefix)) == [m.key for m in metas]
    parts = []
    for m in metas:
        pcm = decode_flac(store.get_bytes(m.key, expected_sha256=m.sha256))
        assert pcm.shape == (m.samples, m.channels)
        parts.append(pcm)
    return np.concatenate(parts)


def registered(api: AgentApi) -> int:
    with Session(api.engine) as s:
        return s.scalar(select(func.count()).select_from(Chunk))


def agent_for(source, tmp_path: Path, sink: AgentClient, rec: Recorded, **kw) -> Agent:
    options = dict(site="s1", counter="c1", source=source, spool_dir=tmp_path / "spool", sink=sink,
                   quota_bytes=50_000_000, on_stored=rec.on_stored, on_heartbeat=rec.on_heartbeat,
                   heartbeat_s=0.2, backoff=QUICK, drain_timeout_s=10.0)
    options.update(kw)
    return Agent(**options)


def run_in_thread(agent: Agent, stop: threading.Event) -> tuple[threading.Thread, dict]:
    result: dict = {}

    def target() -> None:
        try:
            result["stats"] = agent.run(stop)
        except BaseException as e:  # noqa: BLE001 - handed to the test
            result["error"] = e

    t = threading.Thread(target=target)
    t.start()
    return t, result


@pytest.mark.slow
def test_file_source_every_sample_reaches_the_store(tmp_path: Path, own_s3_server, speech_stereo: np.ndarray) -> None:
    original = speech_stereo[:5 * 16000 + 123]  # 5 s and a partial last chunk
    wav = write_wav(tmp_path / "in.wav", original)
    store, rec = store_on(own_s3_server), Recorded()
    with agent_api(store, tmp_path=tmp_path) as api:
        agent = agent_for(parse_source(f"ffmpeg:{wav}", channels=2), tmp_path, api.client(), rec, chunk_s=1.5)
        t0 = time.monotonic()
        stats = agent.run(threading.Event())  # returns by itself: the file ends, the spool drains
        assert registered(api) == 4
    assert time.monotonic() - t0 > 4.0  # played in real time
    assert [m.samples for m in rec.metas] == [24000, 24000, 24000, 8123]
    assert np.array_equal(fetch_session(store, rec.metas), original)
    assert stats.frames_captured == agent.source.frames_read == original.shape[0]
    assert (stats.chunks_spooled, stats.chunks_uploaded, stats.leftover_chunks, stats.dropped_samples) == (4, 4, 0, 0)
    assert len(agent.spool) == 0 and agent.spool.usage_bytes == 0
    assert {m.session for m in rec.metas} == {agent.session}
    assert all(store.stat(m.key).metadata["sha256"] == m.sha256 for m in rec.stored)
    assert rec.beats and rec.beats[-1].status == "ok" and rec.beats[-1].pending_chunks == 0
    assert any(b.rms_dbfs is not None and b.rms_dbfs > -60 for b in rec.beats)


@pytest.mark.slow
def test_pulseaudio_capture_reaches_the_store(pulse_env, tmp_path: Path, own_s3_server, speech_mono: np.ndarray) -> None:
    """The key path: speech played into a PulseAudio sink, captured through PyAudio from the
    sink's monitor, chunked, spooled and uploaded; the store holds every captured sample."""
    played = speech_mono[:4 * 16000]
    wav = write_wav(tmp_path / "speech.wav", played)
    store, rec = store_on(own_s3_server), Recorded()
    source = parse_source("pyaudio:pulse", channels=1)
    with agent_api(store, tmp_path=tmp_path, channels="mono") as api:
        agent = agent_for(source, tmp_path, api.client(), rec, chunk_s=1.0)
        stop = threading.Event()
        thread, result = run_in_thread(agent, stop)
        try:
            pulse_env.play_when_recording(wav, lambda: agent.stats.frames_captured, timeout_s=15)
        finally:
            stop.set()
            thread.join(30)
    assert not thread.is_alive() and "error" not in result, result
    stats = result["stats"]
    captured = fetch_session(store, rec.metas)
    # Sample-exact: every frame the device delivered is in exactly one stored chunk.
    assert captured.shape[0] == source.frames_read == stats.frames_captured
    assert all(m.samples == 16000 for m in rec.metas[:-1])
    assert stats.leftover_chunks == 0 and stats.dropped_samples == 0
    # The speech is in there, intact.
    corr, lag = best_correlation(captured, played)
    assert corr > 0.99, (corr, lag)
    assert 0 <= lag <= captured.shape[0] - played.shape[0]
    heard = captured[lag:lag + played.shape[0]].astype(np.float64)
    assert np.sqrt(np.mean(heard ** 2)) == pytest.approx(np.sqrt(np.mean(played.astype(np.float64) ** 2)), rel=0.05)


@pytest.mark.slow
def test_store_outage_loses_nothing_and_keeps_order(tmp_path: Path, own_s3_server, speech_stereo: np.ndarray,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    """The S3 server behind the API is down for 20 s in the middle of a 27 s capture: the API
    answers 503, nothing is lost, and the chunks reach the store in order once it is back."""
    wav = write_wav(tmp_path / "in.wav", speech_stereo)
    store, rec = store_on(own_s3_server, timeout_s=2.0), Recorded()
    with agent_api(store, tmp_path=tmp_path) as api, caplog.at_level(logging.WARNING, logger="recorder"):
        agent = agent_for(FfmpegSource(str(wav), channels=2), tmp_path, api.client(timeout_s=5.0), rec, chunk_s=2.0,
                          backoff=Backoff(initial_s=0.5, max_s=2.0))
        stop = threading.Event()
        thread, result = run_in_thread(agent, stop)
        try:
            wait_for(lambda: len(rec.stored) >= 1, 15, "the first chunk stored")   # (a loaded machine is slow)
            own_s3_server.stop()
            uploaded_before = len(rec.stored)
            time.sleep(20.0)
            pending_during = len(agent.spool)
            own_s3_server.start()
            thread.join(60)
        finally:
            stop.set()
            thread.join(30)
        assert registered(api) == len(rec.metas)
    assert "error" not in result, result
    stats = result["stats"]
    assert uploaded_before >= 1 and pending_during >= 8  # chunks piled up in the spool meanwhile
    assert np.array_equal(fetch_session(store, rec.metas), speech_stereo)
    assert stats.frames_captured == speech_stereo.shape[0]
    assert stats.leftover_chunks == 0 and stats.dropped_samples == 0 and stats.upload_retries > 0
    assert [m.seq for m in rec.metas] == list(range(len(rec.metas)))  # stored in order
    assert STATUS_STORE_UNREACHABLE in {b.status for b in rec.beats}
    assert rec.beats[-1].status == "ok"
    retries = [r for r in caplog.records if r.levelno == logging.WARNING and "retry" in r.getMessage()]
    assert retries and all(r.getMessage().startswith("counter c1:") for r in retries)
    assert any("API unavailable (HTTP 503" in r.getMessage() for r in retries)


@pytest.mark.slow
def test_api_outage_loses_nothing_and_keeps_order(tmp_path: Path, own_s3_server, speech_stereo: np.ndarray,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """The API itself is down for 12 s (stopped, then started again on its port) while the agent
    records: capture goes on into the spool, sending retries with a logged, capped backoff, and
    every chunk arrives once, in order."""
    original = speech_stereo[:16 * 16000]
    wav = write_wav(tmp_path / "in.wav", original)
    store, rec = store_on(own_s3_server), Recorded()
    with agent_api(store, tmp_path=tmp_path) as api, caplog.at_level(logging.WARNING, logger="recorder"):
        agent = agent_for(FfmpegSource(str(wav), channels=2), tmp_path, api.client(timeout_s=2.0), rec, chunk_s=2.0,
                          backoff=Backoff(initial_s=0.5, max_s=2.0))
        stop = threading.Event()
        thread, result = run_in_thread(agent, stop)
        try:
            time.sleep(2.5)
            api.stop()
            time.sleep(12.0)
            pending_during = len(agent.spool)
            api.start()
            thread.join(60)
        finally:
            stop.set()
            thread.join(30)
        assert registered(api) == len(rec.metas)
    assert "error" not in result, result
    stats = result["stats"]
    assert pending_during >= 4
    assert np.array_equal(fetch_session(store, rec.metas), original)
    assert stats.leftover_chunks == 0 and stats.dropped_samples == 0 and stats.upload_retries > 0
    assert STATUS_STORE_UNREACHABLE in {b.status for b in rec.beats} and rec.beats[-1].status == "ok"
    delays = [float(r.getMessage().rsplit(" in ", 1)[1].split()[0]) for r in caplog.records
              if "API unavailable" in r.getMessage()]
    assert delays and max(delays) == 2.0          # doubling from 0.5 s, capped


@pytest.mark.slow     # two agents capturing in real time: the full suite runs it, the fast loop does not
def test_restarted_agent_uploads_leftovers_first(tmp_path: Path, own_s3_server, speech_mono: np.ndarray) -> None:
    wav1 = write_wav(tmp_path / "one.wav", speech_mono[:3 * 16000])
    wav2 = write_wav(tmp_path / "two.wav", speech_mono[3 * 16000:5 * 16000])
    store = store_on(own_s3_server)
    with agent_api(store, tmp_path=tmp_path, channels="mono") as api:
        # First run: the API is unreachable (nothing listens there); stop gives up after 0.3 s.
        dead = AgentClient(api_url=DEAD_API, token=api.token, timeout_s=1.0)
        rec1 = Recorded()
        first = agent_for(FfmpegSource(str(wav1), channels=1, realtime=False), tmp_path, dead, rec1,
                          chunk_s=1.0, drain_timeout_s=0.3)
        stop = threading.Event()
        threading.Timer(1.0, stop.set).start()
        stats1 = first.run(stop)
        assert stats1.chunks_spooled == 3 and stats1.leftover_chunks == 3 and rec1.stored == []
        assert STATUS_STORE_UNREACHABLE in {b.status for b in rec1.beats}
        # Second run on the same spool, API reachable: the old session goes up first.
        rec2 = Recorded()
        second = agent_for(FfmpegSource(str(wav2), channels=1, realtime=False), tmp_path, api.client(), rec2,
                           chunk_s=1.0)
        stats2 = second.run(threading.Event())
        assert registered(api) == 5
    assert [(m.session, m.seq) for m in rec2.metas] == (
        [(first.session, s) for s in range(3)] + [(second.session, s) for s in range(2)])
    assert stats2.leftover_chunks == 0
    old = fetch_session(store, [m for m in rec2.metas if m.session == first.session])
    new = fetch_session(store, [m for m in rec2.metas if m.session == second.session])
    assert np.array_equal(np.concatenate([old, new]), speech_mono[:5 * 16000])


def test_full_spool_keeps_old_audio_and_drops_new(tmp_path: Path, speech_mono: np.ndarray,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    wav = write_wav(tmp_path / "in.wav", speech_mono[:5 * 16000])
    dead = AgentClient(api_url=DEAD_API, token="cw_test-token", timeout_s=1.0)
    rec = Recorded()
    agent = agent_for(FfmpegSource(str(wav), channels=1, realtime=False), tmp_path, dead, rec,
                      chunk_s=1.0, quota_bytes=40_000, heartbeat_s=0.05, drain_timeout_s=0.2)
    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()
    with caplog.at_level(logging.WARNING, logger="recorder"):
        stats = agent.run(stop)
    # ~13 kB per second of noisy mono speech: the first chunks fit, the rest is dropped.
    kept = stats.chunks_spooled
    assert 1 <= kept < 5 and stats.chunks_spooled + stats.dropped_chunks == 5
    assert stats.dropped_samples == (5 - kept) * 16000 and stats.drop_episodes == 1
    assert [(m.seq, m.start_sample) for m in agent.spool.pending()] == [(s, s * 16000) for s in range(kept)]
    assert STATUS_SPOOL_FULL in {b.status for b in rec.beats}
    assert max(b.dropped_s for b in rec.beats) == 5.0 - kept
    critical = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert len(critical) == 1 and f"LOST {5.0 - kept:.1f} s" in critical[0].getMessage()
    assert "counter c1" in critical[0].getMessage()


@pytest.mark.slow
def test_first_sigint_finishes_chunk_and_uploads(tmp_path: Path, own_s3_server, speech_mono: np.ndarray) -> None:
    wav = write_wav(tmp_path / "in.wav", speech_mono[:8 * 16000])
    store, rec = store_on(own_s3_server), Recorded()
    source = FfmpegSource(str(wav), channels=1)
    with agent_api(store, tmp_path=tmp_path, channels="mono") as api:
        agent = agent_for(source, tmp_path, api.client(), rec, chunk_s=1.0)
        stop = threading.Event()
        old_int, old_term = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
        try:
            handle_signals(agent, stop)
            threading.Timer(1.5, os.kill, args=(os.getpid(), signal.SIGINT)).start()
            stats = agent.run(stop)
        finally:
            signal.signal(signal.SIGINT, old_int)
            signal.signal(signal.SIGTERM, old_term)
    assert stop.is_set()
    stored = fetch_session(store, rec.metas)
    # The chunks before the signal and the one in progress when it came (partial, or full when the signal landed
    # on a chunk's boundary, as it can on a loaded box); nothing after.
    assert 1 <= len(rec.metas) <= 4 and all(m.samples <= 16000 for m in rec.metas)
    assert stored.shape[0] == source.frames_read == stats.frames_captured < 4 * 16000
    assert np.array_equal(stored, speech_mono[:stored.shape[0]])
    assert stats.leftover_chunks == 0
    alive = {t.name for t in threading.enumerate()}
    assert not alive & {"capture-c1", "uploader-c1", "ffmpeg-stderr"}
