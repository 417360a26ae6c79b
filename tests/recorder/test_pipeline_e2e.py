"""The whole chain with real parts: speech played into a PulseAudio null sink, captured by
the agent through PyAudio from the sink's monitor, sent through the API into the S3 server and the
database (SQLite and PostgreSQL), cut into an interaction and analysed by the worker."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from recorder_helpers import write_wav
from sqlalchemy import select
from sqlalchemy.orm import Session

from recorder.agent import Agent
from recorder.sources import parse_source
from storage.engine import make_engine
from storage.tables import Flag, Interaction
from tests.support.agents import serve_agent_api
from transcribe.worker import Worker, WorkerOptions

pytestmark = pytest.mark.slow


def test_speech_in_a_counter_sink_becomes_a_searchable_flagged_interaction(
        pulse_env, tmp_path: Path, db_url: str, object_store, analyzer, speech_rude_mono: np.ndarray):
    eng = make_engine(db_url)
    wav = write_wav(tmp_path / "speech.wav", speech_rude_mono)
    source = parse_source("pyaudio:pulse", channels=1)
    with serve_agent_api(eng, object_store, site="hall", counter="c1", channels="mono") as api:
        client = api.client()
        agent = Agent(site="hall", counter="c1", source=source, spool_dir=tmp_path / "spool", sink=client,
                      chunk_s=10.0, quota_bytes=50_000_000, heartbeat_s=1.0)
        stop = threading.Event()
        result: dict = {}
        thread = threading.Thread(target=lambda: result.setdefault("stats", agent.run(stop)))
        thread.start()
        try:
            pulse_env.play_when_recording(wav, lambda: agent.stats.frames_captured)
        finally:
            stop.set()
            thread.join(60)
        stats = result["stats"]
        assert stats.leftover_chunks == 0 and stats.dropped_samples == 0
        client.end_session(agent.session)

    worker = Worker(engine=eng, store=object_store, analyzer=analyzer, name="e2e", options=WorkerOptions(lease_s=30))
    worker.work(threading.Event(), burst=True)
    with Session(eng) as s:
        inters = s.scalars(select(Interaction)).all()
        assert len(inters) == 1
        text = inters[0].text
        rules = set(s.scalars(select(Flag.rule).where(Flag.type == "forbidden")))
    assert "一天到晚" in text, text
    assert rules & {"F-RUDE", "F-NOT-MINE"}, (rules, text)
    eng.dispose()
