"""`counterwatch record --metrics-port`: a real agent (file source played in real time) records
through the real API into the real S3 server and SQLite while Prometheus-format metrics are scraped from it; the
numbers must be there and agree with what the spool, the store and the catalog hold."""
from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
import wave
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from test_agent_alarms import agent_env

from counterwatch.stack import write_secret
from domain.flac import decode_flac
from storage.engine import make_engine
from storage.schema import upgrade
from storage.tables import Chunk
from tests.support.agents import serve_agent_api

pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).resolve().parents[2] / "counterwatch" / "samples" / "counter-polite-mono.flac"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _scrape(port: int) -> dict[str, float]:
    """{'name{label=value,...}': value} of every sample, labels sorted."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            out[f"{s.name}{{{labels}}}"] = s.value
    return out


def test_agent_metrics_count_what_the_spool_store_and_catalog_hold(tmp_path: Path, object_store, s3_server):
    wav = tmp_path / "six-seconds.wav"
    pcm = decode_flac(SAMPLE.read_bytes())[: 6 * 16000]
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm.tobytes())
    db = f"sqlite:///{tmp_path / 'cw.db'}"
    eng = make_engine(db)
    upgrade(eng)
    api_ctx = serve_agent_api(eng, object_store, site="hall", counter="c1", channels="mono")
    api = api_ctx.__enter__()
    token_file = tmp_path / "c1.token"
    write_secret(token_file, api.token)
    port = _free_port()
    env = agent_env(api.url, token_file, COUNTERWATCH_CHUNK_S="1", COUNTERWATCH_HEARTBEAT_S="0.5",
                    COUNTERWATCH_SPOOL_DIR=str(tmp_path / "spool"))
    started = time.time()
    agent = subprocess.Popen([sys.executable, "-m", "counterwatch", "record", "--counter", "c1",
                              "--source", f"ffmpeg:{wav}", "--metrics-port", str(port)],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lab = "{counter=c1}"
    try:
        seen: dict[str, float] = {}
        deadline = time.monotonic() + 30
        consistent = None
        while time.monotonic() < deadline and agent.poll() is None:
            try:
                a = _scrape(port)
            except OSError:
                time.sleep(0.2)
                continue
            seen = a
            if a.get(f"counterwatch_agent_chunks_uploaded_total{lab}", 0) >= 3:
                with Session(eng) as s:
                    rows = s.scalar(select(func.count()).select_from(Chunk))
                objects = sum(1 for _ in object_store.iter_keys("hall/c1/"))
                b = _scrape(port)
                moving = [k for k in a if k.endswith("_total" + lab) or "_count" in k]
                if all(a[k] == b.get(k) for k in moving):       # nothing happened in between
                    consistent = (a, rows, objects)
                    break
            time.sleep(0.1)
        assert consistent is not None, (agent.poll(), seen)
        m, rows, objects = consistent
        uploaded = m[f"counterwatch_agent_chunks_uploaded_total{lab}"]
        captured = m[f"counterwatch_agent_chunks_captured_total{lab}"]
        spooled = m[f"counterwatch_agent_chunks_spooled_total{lab}"]
        pending = m[f"counterwatch_agent_spool_pending_chunks{lab}"]
        assert uploaded >= 3 and uploaded == rows == objects
        assert captured == spooled + m[f"counterwatch_agent_chunks_dropped_total{lab}"]
        assert spooled == uploaded + pending        # a fresh spool: every chunk is in one place
        assert m[f"counterwatch_agent_chunks_dropped_total{lab}"] == 0
        assert (m[f"counterwatch_agent_spool_pending_bytes{lab}"] > 0) == (pending > 0)
        assert m[f"counterwatch_agent_spool_quota_bytes{lab}"] == 2048 * 2**20
        assert m[f"counterwatch_agent_captured_audio_seconds_total{lab}"] >= uploaded
        assert m[f"counterwatch_agent_upload_retries_total{lab}"] == 0
        assert m[f"counterwatch_agent_upload_lag_seconds_count{lab}"] == uploaded
        lag = m[f"counterwatch_agent_upload_lag_seconds_sum{lab}"] / uploaded
        assert 0 < lag < 5, lag
        # issue 23: live audio is published only while someone listens, and nobody does here
        assert m[f"counterwatch_agent_live_segments_published_total{lab}"] == 0
        assert started < m[f"counterwatch_agent_last_heartbeat_timestamp_seconds{lab}"] <= time.time()
        assert m["counterwatch_agent_status{counter=c1,status=ok}"] == 1
        assert m["counterwatch_agent_status{counter=c1,status=store-unreachable}"] == 0
    finally:
        if agent.poll() is None:
            agent.send_signal(signal.SIGTERM)
        out, err = agent.communicate(timeout=60)
        api_ctx.__exit__(None, None, None)
    assert agent.returncode == 0, err
    with Session(eng) as s:
        final_rows = s.scalar(select(func.count()).select_from(Chunk))
    assert "c1: session" in out and f"{final_rows} chunks stored" in out, out
    eng.dispose()
