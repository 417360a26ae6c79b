"""An agent's own alarms reach the catalog through the API: with a spool too small for one chunk,
`counterwatch record` (given only the API's address and its token file: no database URL, no store
key) drops audio, its heartbeats say spool-full, and `counterwatch status` shows the alarm while
it records."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.catalog import Catalog
from storage.engine import make_engine
from storage.tables import Alarm
from tests.support.agents import AgentApi, agent_env
from tests.support.cli import popen_cli, run_cli
from tests.support.net import wait_for

SAMPLE = Path(__file__).resolve().parents[2] / "counterwatch" / "samples" / "counter-polite-mono.flac"
pytestmark = pytest.mark.slow


def test_full_spool_raises_the_alarm_and_status_shows_it(db_url, s3_server, object_store, tmp_path: Path):
    eng = make_engine(db_url)
    Catalog(eng).add_counter("hall", "c1", channels="mono")
    server_env = {"COUNTERWATCH_DATABASE_URL": db_url, "COUNTERWATCH_S3_ENDPOINT": s3_server.endpoint,
                  "COUNTERWATCH_S3_ACCESS_KEY": s3_server.access_key, "COUNTERWATCH_S3_SECRET_KEY": s3_server.secret_key,
                  "COUNTERWATCH_S3_BUCKET": object_store.bucket}
    token_file = tmp_path / "agent" / "c1.token"
    issued = run_cli("agent", "token", "--counter", "c1", "--out", str(token_file), env=server_env)
    assert issued.returncode == 0, issued.stderr
    assert token_file.stat().st_mode & 0o777 == 0o600 and "hall/c1" in issued.stdout
    api = AgentApi(engine=eng, store=object_store, site="hall", counter="c1", token="").start()
    env = agent_env(api.url, token_file, COUNTERWATCH_HEARTBEAT_S="0.5", COUNTERWATCH_LOG_LEVEL="INFO")
    agent = popen_cli("record", "--counter", "c1", "--source", f"ffmpeg:{SAMPLE}", "--chunk-s", "2",
                      "--quota-mb", "0.01", "--spool-dir", str(tmp_path / "spool"), env=env,
                      stdout=-1, stderr=-1, text=True)

    def raised() -> bool:
        with Session(eng) as s:
            return s.scalar(select(Alarm.id).where(Alarm.kind == "spool-full", Alarm.cleared_s.is_(None))) is not None

    try:
        wait_for(raised, 30, "spool-full alarm stored")
        status = run_cli("status", env=server_env)
        assert status.returncode == 1 and "ALARM hall/c1 spool-full" in status.stdout, status.stdout + status.stderr
        assert "ALARM hall/c1 spool-near-quota" in status.stdout        # a full spool is also near its quota
    finally:
        agent.terminate()
        _, err = agent.communicate(timeout=60)
        api.stop()
        eng.dispose()
    assert "heartbeat not delivered" not in err and "heartbeat callback failed" not in err, err[-3000:]
    assert "LOST" in err          # the drop is reported, once, when the episode ends


def test_record_refuses_a_token_file_others_can_read_and_a_token_of_another_counter(tmp_path: Path):
    token_file = tmp_path / "c1.token"
    token_file.write_text("cw_something\n")
    token_file.chmod(0o644)
    r = run_cli("record", "--counter", "c1", "--source", f"ffmpeg:{SAMPLE}",
                env=agent_env("http://127.0.0.1:9", token_file))
    assert r.returncode == 2 and "readable by others" in r.stderr and "chmod 600" in r.stderr
    r = run_cli("record", "--counter", "c9", "--source", f"ffmpeg:{SAMPLE}",
                env=agent_env("http://127.0.0.1:9", tmp_path / "none.token"))
    assert r.returncode == 2 and "no agent token for counter c9" in r.stderr
