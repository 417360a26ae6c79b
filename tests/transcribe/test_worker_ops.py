"""The worker process: Prometheus metrics on --metrics-port, and no transcript text in its logs."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from sqlalchemy.orm import Session
from test_worker import _pcm, store_session

from services.catalog import Catalog
from storage.engine import make_engine
from storage.tables import Segment

pytestmark = pytest.mark.slow


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _scrape(port: int) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
        body = r.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(body) for s in fam.samples}


def test_worker_metrics_and_logs(db_url, object_store, s3_server, data_dir: Path, tmp_path: Path):
    eng = make_engine(db_url)
    catalog = Catalog(eng)
    catalog.add_counter("hall", "c1")
    store_session(catalog, object_store, _pcm(data_dir, "dev05-stereo-clean.flac"))
    port = _port()
    env = {**os.environ, "COUNTERWATCH_DATABASE_URL": db_url, "COUNTERWATCH_S3_ENDPOINT": s3_server.endpoint,
           "COUNTERWATCH_S3_ACCESS_KEY": s3_server.access_key, "COUNTERWATCH_S3_SECRET_KEY": s3_server.secret_key,
           "COUNTERWATCH_S3_BUCKET": object_store.bucket, "COUNTERWATCH_CPU_THREADS": "2",
           "COUNTERWATCH_LOG_LEVEL": "INFO"}
    proc = subprocess.Popen([sys.executable, "-m", "counterwatch", "worker", "--metrics-port", str(port),
                             "--data", str(tmp_path)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    got: dict = {}
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                got = _scrape(port)
            except OSError:
                got = {}
            if got.get(("counterwatch_worker_jobs_total", (("kind", "analyze"), ("outcome", "done")))):
                break
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    assert got.get(("counterwatch_worker_jobs_total", (("kind", "analyze"), ("outcome", "done")))) == 1, stderr
    assert got[("counterwatch_worker_jobs_total", (("kind", "plan"), ("outcome", "done")))] >= 1
    assert got[("counterwatch_worker_realtime_factor_count", ())] == 1
    assert 0 < got[("counterwatch_worker_realtime_factor_sum", ())] < 5
    assert got[("counterwatch_worker_audio_seconds_total", ())] > 5
    # INFO logs name the interaction and count segments and flags, never what was said.
    with Session(eng) as s:
        texts = [t for t in s.scalars(select(Segment.text)) if len(t) >= 4]
    assert texts and "segments" in stderr
    assert not [t for t in texts if t in stderr]
    assert not any(t[i:i + 4] in stderr for t in texts for i in range(len(t) - 3))
    eng.dispose()
