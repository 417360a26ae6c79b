"""Chunk times come from the sample clock, not the wall clock, so a clock jump during a
session cannot shift or reorder its chunks."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from recorder_helpers import write_wav

from recorder.agent import Agent
from recorder.sources import FfmpegSource
from tests.support.agents import agent_api
from tests.support.stores import store_on


@pytest.mark.slow
def test_clock_jumps_do_not_move_chunks(tmp_path: Path, own_s3_server, speech_mono: np.ndarray) -> None:
    # Near the server's own clock: the API refuses audio placed in its future or far past (issue 18).
    t0 = time.time() - 600.0
    readings = iter([t0] + [t0 - 3600.0, t0 + 7200.0] * 1000)   # then back an hour, then forward two
    stored = []
    wav = write_wav(tmp_path / "in.wav", speech_mono[:35 * 1600])
    with agent_api(store_on(own_s3_server), tmp_path=tmp_path, channels="mono") as api:
        agent = Agent(site="s1", counter="c1", source=FfmpegSource(str(wav), channels=1, realtime=False),
                      spool_dir=tmp_path / "spool", sink=api.client(), chunk_s=1.0, quota_bytes=10_000_000,
                      on_stored=stored.append, clock=lambda: next(readings), heartbeat_s=0.1)
        agent.run(threading.Event())
    assert len(stored) == 4
    first = stored[0].session_wall_start_s
    assert abs(first - (t0 - stored[0].samples / 16000)) < 1.0 or abs(first - t0) < 1.0
    assert {m.session_wall_start_s for m in stored} == {first}
    assert [m.wall_start_s for m in stored] == [first + k * 1.0 for k in range(4)]
    assert len({m.key.rsplit("/", 2)[0] for m in stored}) == 1     # one date prefix for the session
