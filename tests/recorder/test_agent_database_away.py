"""An agent never exits on a busy or down database (issue 12, item 1): a real ``counterwatch
record`` process, holding only the API's address and its own token (issue 11), records a
dialogue played in real time while the API's database is away for about 5 s mid-recording
(SQLite: another process holds the write lock, the API's busy timeout is 0.5 s; PostgreSQL:
the server is stopped hard and restarted). The API answers 503, the agent logs the retries
with their backoff and keeps recording, and when the database is back every spooled chunk
reaches the catalog and heartbeats resume."""
from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from recorder.sources import decode_file
from services.catalog import Catalog
from storage.engine import make_engine, read_session
from storage.schema import upgrade
from storage.tables import Chunk, Counter
from tests.support.agents import agent_env, serve_agent_api
from tests.support.postgres import PgCluster


@pytest.mark.slow      # a database stopped and restarted under a running agent: seconds each, in the full suite, not the fast loop
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_agent_rides_out_a_database_that_is_away(backend: str, tmp_path: Path, s3_server, object_store,
                                                 data_dir: Path):
    pg = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'cw.db'}"
    else:
        pg = PgCluster()
        pg.start()
        url = pg.url
    try:
        eng = make_engine(url, sqlite_busy_timeout_s=0.5)
        upgrade(eng)
        Catalog(eng).add_counter("hall", "c1")
        api_ctx = serve_agent_api(eng, object_store, site="hall", counter="c1")
        api = api_ctx.__enter__()
        token_file = tmp_path / "agent.token"
        token_file.write_text(api.token + "\n")
        token_file.chmod(0o600)
        wav = tmp_path / "in.wav"
        pcm = decode_file(data_dir / "dev05-stereo-clean.flac", channels=2)[: 16 * 16000]
        with wave.open(str(wav), "wb") as w:
            w.setnchannels(2)
            w.setsampwidth(2)
            w.setframerate(16000)
            w.writeframes(np.ascontiguousarray(pcm).tobytes())
        env = agent_env(api.url, token_file, COUNTERWATCH_HEARTBEAT_S="1", COUNTERWATCH_LOG_LEVEL="INFO",
                        PYTHONUNBUFFERED="1")
        log = tmp_path / "agent.log"
        with open(log, "wb") as f:
            agent = subprocess.Popen([sys.executable, "-m", "counterwatch", "record", "--counter", "c1", "--source",
                                      f"ffmpeg:{wav}", "--chunk-s", "2", "--spool-dir", str(tmp_path / "spool"),
                                      "--data", str(tmp_path / "data")], env=env, stdout=f, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while " recording from " not in log.read_text(errors="replace"):
                assert agent.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
                time.sleep(0.1)
            time.sleep(3.0)
            if pg is None:
                holder = sqlite3.connect(tmp_path / "cw.db", isolation_level=None, check_same_thread=False)
                holder.execute("BEGIN IMMEDIATE")
                time.sleep(5.0)
                holder.execute("COMMIT")
                holder.close()
            else:
                pg.stop_immediate()
                time.sleep(5.0)
                pg.start()
            assert agent.poll() is None, "the agent exited while the database was away"
            assert agent.wait(90) == 0
        finally:
            if agent.poll() is None:
                agent.kill()
            api_ctx.__exit__(None, None, None)
        text = log.read_text(errors="replace")
        assert re.search(r"retry \d+ in [\d.]+ s", text), text[-3000:]              # logged backoff
        m = re.search(r"session ([0-9a-f]{32}) done: \d+ frames, (\d+) chunk\(s\) spooled, (\d+) uploaded", text)
        assert m, text[-3000:]
        with read_session(eng) as s:
            n = s.scalar(select(func.count()).select_from(Chunk).where(Chunk.session_id == m.group(1)))
            beat = s.scalar(select(Counter.last_heartbeat_s).where(Counter.name == "c1"))
        assert n == int(m.group(2)) == int(m.group(3)) >= 7                           # no chunk lost
        assert beat is not None and beat > time.time() - 30                          # heartbeats resumed
        eng.dispose()
    finally:
        if pg is not None:
            pg.stop_immediate()
            pg.remove()
