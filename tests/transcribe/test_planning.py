"""Incremental planning: the VAD stream over a session, chunk by chunk, finds what one pass over
the whole recording finds, and the worker's plan jobs close the same interactions whether they
see the session chunk by chunk or all at once, reading every chunk once."""
from __future__ import annotations

import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.catalog import Catalog
from storage.engine import make_engine
from storage.tables import Job, RecordingSession
from tests.support import recordings
from tests.support.recordings import RATE, join_speech
from transcribe.planning import FRAME, MIN_SILENCE_MS, PlanOptions, PlanState, close_interactions
from transcribe.worker import Worker, WorkerOptions


def _mono(pcm: np.ndarray) -> np.ndarray:
    return pcm.astype(np.float32).T.mean(axis=0) / 32768.0


@pytest.fixture(scope="module")
def shift(data_dir: Path) -> np.ndarray:
    """Three dialogues with silences between them (two long enough to end an interaction, one
    not), as int16 (frames, 2)."""
    a = join_speech(data_dir, "dev01-stereo-clean.flac", "dev05-stereo-clean.flac", gap_s=12.0)
    b = join_speech(data_dir, "dev07-stereo-clean.flac", gap_s=0)
    return np.concatenate([a, np.zeros((int(5.0 * RATE), 2), np.int16), b, np.zeros((int(11.0 * RATE), 2), np.int16)])


def test_the_stream_finds_the_regions_of_one_pass(shift: np.ndarray):
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    mono = _mono(shift)
    mono = mono[:len(mono) // FRAME * FRAME]
    whole = [(r["start"], r["end"]) for r in get_speech_timestamps(
        mono, VadOptions(min_silence_duration_ms=MIN_SILENCE_MS, speech_pad_ms=0))]
    rng = np.random.default_rng(3)
    for _ in range(3):
        state, pos = PlanState.start_at(0), 0
        while pos < len(mono):
            step = int(rng.integers(1, 12 * RATE))    # pieces of any length, most not whole frames
            state.feed(mono[pos:pos + step], sample_rate_hz=RATE)
            pos += step
            state = PlanState.from_json(state.to_json())   # as stored between plan jobs
        assert state.fed == len(mono)
        # faster-whisper ends speech still going on at the end of the audio there; so does the stream
        assert state.speech() == whole, (state.speech()[:4], whole[:4])
    assert len(whole) > 10


def test_close_interactions_piece_by_piece_equals_at_once(shift: np.ndarray):
    mono = _mono(shift)
    opts = PlanOptions(gap=8 * RATE, pad=RATE // 2, max_len=900 * RATE)
    bounds = [int(20.0 * RATE)]          # a queue call inside the first dialogue

    at_once = PlanState.start_at(0)
    at_once.feed(mono, sample_rate_hz=RATE)
    whole, _ = close_interactions(at_once, cursor=0, boundaries=bounds, tail_closed=True, opts=opts)

    state, cursor, got = PlanState.start_at(0), 0, []
    n = int(7.3 * RATE)
    for pos in range(0, len(mono), n):
        state.feed(mono[pos:pos + n], sample_rate_hz=RATE)
        closed, cursor = close_interactions(state, cursor=cursor, boundaries=[b for b in bounds if b >= cursor],
                                            tail_closed=pos + n >= len(mono), opts=opts)
        got += closed
    assert got == whole
    assert len(whole) == 4     # the queue call splits the first dialogue; 5 s of silence do not split
    assert cursor == len(mono)


@pytest.mark.slow
def test_plan_jobs_chunk_by_chunk_close_what_one_plan_closes(db_url: str, object_store, analyzer, shift: np.ndarray):
    eng = make_engine(db_url)
    catalog = Catalog(eng)
    catalog.add_counter("hall", "c1")
    worker = Worker(engine=eng, store=object_store, analyzer=analyzer, name="w-plan",
                    options=WorkerOptions(lease_s=30.0))
    loads: list[tuple[int, int]] = []
    real_load = worker.load

    def load(session_id: str, start: int, end: int) -> np.ndarray:
        loads.append((start, end))
        return real_load(session_id, start, end)
    worker.load = load   # type: ignore[method-assign]  # the real load, with its ranges noted

    def plan_all() -> None:
        while (job := worker.queue.claim(worker.name, lease_s=30.0, kinds=("plan",))) is not None:
            worker.run_jobs([job])

    def analyze_spans(sid: str) -> list[tuple[int, int]]:
        with Session(eng) as s:
            payloads = s.scalars(select(Job.payload).where(Job.kind == "analyze")).all()
        return sorted((p["start"], p["end"]) for p in payloads if p["session"] == sid)

    # the whole session stored, then planned once
    wall0 = time.time() - 3600
    whole = recordings.store_session(catalog, object_store, shift, wall0=wall0, chunk_s=10.0, end=True)
    plan_all()
    expected = analyze_spans(whole.id)
    assert len(expected) == 3 and loads == [(0, len(shift))]

    # the same audio arriving chunk by chunk (7.7 s chunks: frames and chunks never line up)
    loads.clear()
    session, n = uuid.uuid4().hex, int(7.7 * RATE)
    for seq, start in enumerate(range(0, len(shift), n)):
        recordings.store_chunk(catalog, object_store, site="hall", counter="c1", session=session, wall0=wall0,
                               seq=seq, start=start, part=shift[start:start + n])
        plan_all()
        with Session(eng) as s:
            state = s.get(RecordingSession, session).plan_state
        assert state["fed"] == min(start + n, len(shift))
    catalog.end_session(session)
    plan_all()
    assert analyze_spans(session) == expected
    # every sample was read once, in order, each plan only what had arrived since the last one
    assert [a for a, _ in loads] == [b for _, b in [(0, 0), *loads[:-1]]] and loads[-1][1] == len(shift)
    with Session(eng) as s:
        assert s.get(RecordingSession, session).planned_until_sample == len(shift)
    eng.dispose()
