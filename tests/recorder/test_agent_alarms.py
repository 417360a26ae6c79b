"""An agent's own alarms reach the catalog: with a spool too small for one chunk, `counterwatch
record` drops audio, its heartbeats say spool-full, and `counterwatch status` shows the alarm
while it records (the process imports only what `record` imports: the alarms table's foreign key
to the screens table must resolve there too)."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.catalog import Catalog
from storage.engine import make_engine
from storage.tables import Alarm
from tests.support.cli import popen_cli, run_cli
from tests.support.net import wait_for

SAMPLE = Path(__file__).resolve().parents[2] / "counterwatch" / "samples" / "counter-polite-mono.flac"
pytestmark = pytest.mark.slow


def test_full_spool_raises_the_alarm_and_status_shows_it(db_url, s3_server, object_store, tmp_path: Path):
    eng = make_engine(db_url)
    Catalog(eng).add_counter("hall", "c1", channels="mono")
    env = {"COUNTERWATCH_DATABASE_URL": db_url, "COUNTERWATCH_S3_ENDPOINT": s3_server.endpoint,
           "COUNTERWATCH_S3_ACCESS_KEY": s3_server.access_key, "COUNTERWATCH_S3_SECRET_KEY": s3_server.secret_key,
           "COUNTERWATCH_S3_BUCKET": object_store.bucket, "COUNTERWATCH_HEARTBEAT_S": "0.5",
           "COUNTERWATCH_LOG_LEVEL": "INFO"}
    agent = popen_cli("record", "--counter", "c1", "--source", f"ffmpeg:{SAMPLE}", "--chunk-s", "2",
                      "--quota-mb", "0.01", "--spool-dir", str(tmp_path / "spool"), env=env,
                      stdout=-1, stderr=-1, text=True)

    def raised() -> bool:
        with Session(eng) as s:
            return s.scalar(select(Alarm.id).where(Alarm.kind == "spool-full", Alarm.cleared_s.is_(None))) is not None

    try:
        wait_for(raised, 30, "spool-full alarm stored")
        status = run_cli("status", env=env)
        assert status.returncode == 1 and "ALARM hall/c1 spool-full" in status.stdout, status.stdout + status.stderr
        assert "ALARM hall/c1 spool-near-quota" in status.stdout        # a full spool is also near its quota
    finally:
        agent.terminate()
        _, err = agent.communicate(timeout=60)
        eng.dispose()
    assert "NoReferencedTableError" not in err and "heartbeat callback failed" not in err, err[-3000:]
    assert "LOST" in err          # the drop is reported, once, when the episode ends
