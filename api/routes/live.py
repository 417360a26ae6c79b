"""Live listen: a counter's audio as an open-ended WAV stream, for supervisors.

How live it is
--------------
Agents publish best-effort ~1 s live segments next to their evidence chunks
(:mod:`recorder.live`) and record the newest on the counter row. When that feed is fresh
(newest segment at most ``LIVE_STALE_S`` old), the stream starts with the newest live segment
and then polls the row every ``LIVE_SEGMENT_POLL_S`` for newer ones (:mod:`services.live`):
about 1.2-1.5 s behind the microphone (docs/live.md has the measurements).

Without a fresh live feed (an agent with ``live_s=0``, an older agent, a store that refused the
segments) the stream follows the stored chunks instead, as before: the delay is then about one
chunk, since a chunk can be sent once its last sample is recorded, then it is uploaded,
registered, and seen here at the next catalog poll (``LIVE_POLL_S``); with the default 10 s
chunks a listener is about 10-12 s behind. That stream starts with the newest stored chunk
(``backlog_chunks``), so something plays at once and the player has a chunk of buffer.

On demand
---------
An agent publishes live segments only while someone listens (issue 23): opening the stream
claims the counter's live audio in the database (:func:`services.live.want_live`) and the
stream renews the claim every ``LIVE_RENEW_S`` while it plays. The agent, long-polling the API
(:mod:`api.live_demand`), hears of the claim within about half a second and sends the last
second it has at once; so when the counter's agent asks for claims, the route waits up to
``LIVE_START_WAIT_S`` for that first segment before falling back to the stored chunks. The
claim lapses ``LIVE_LEASE_S`` after the last listener left, and the agent stops.

Many API processes
------------------
Nothing is kept per process: each stream holds its own cursor (session, last chunk or
segment number) and polls the database for newer ones, reading their audio from the object
store. Any
process behind a load balancer can serve any listener, and a process restart only ends the
streams it was serving (the player reconnects).

Measured delay
--------------
A listener may name its stream (``listen``, an id the console draws at random). The process
serving it then keeps the stream's :class:`services.live.LiveLedger` (where each segment sent
sits in the stream and when its first sample was captured) for the stream's life, and
``GET /counters/{id}/live/delay`` answers how far behind capture a player at ``position_s`` of
that stream is, by this API's clock. That ledger is the one thing kept per process: a delay
request that reaches another process (several processes without sticky routing) is answered
``delay_s: null``, and the console says the delay is being measured. docs/console.md
says what the figure includes.

The stream ends after ``max_s`` seconds, after ``LIVE_IDLE_S`` without a new chunk (agent
paused or gone), when the agent starts a session in another audio format, or when the
client goes away.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import numpy as np
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from api.deps import ReadDb, RowId, StoreDep, Supervisor, Writer, audit
from domain.audio import wav_header
from domain.errors import NotFound
from services.audio import AudioUnavailable, ChunkRef, decode_chunk
from services.catalog import CounterNotFound
from services.live import (
    LIVE_RENEW_S,
    LIVE_STALE_S,
    LiveFollower,
    LiveLedger,
    LiveLedgers,
    LiveSegmentFollower,
    Segment,
    live_state,
    want_live,
)
from storage.engine import read_session
from storage.objects import ObjectStore
from storage.store_errors import StoreUnavailable
from storage.tables import Counter, Site

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/counters", tags=["live"])

LIVE_POLL_S = 0.25
LIVE_SEGMENT_POLL_S = 0.2
LIVE_IDLE_S = 60.0
#: How long a new listener waits for an on-demand agent's first segment (it usually comes
#: within a second) before following the stored chunks instead.
LIVE_START_WAIT_S = 4.0
LIVE_START_POLL_S = 0.1
#: A listener's name for its stream (``listen``): the console draws it at random.
LISTEN_ID = r"^[A-Za-z0-9_-]{8,64}$"


def live_ledgers(app: FastAPI) -> LiveLedgers:
    """The app's :class:`LiveLedgers` (one per process, made on first use)."""
    ledgers = getattr(app.state, "live_ledgers", None)
    if ledgers is None:
        ledgers = app.state.live_ledgers = LiveLedgers()
    return ledgers


def _poll(engine: Engine, follower: LiveFollower) -> list[ChunkRef]:
    with read_session(engine) as s:
        return follower.poll(s)


def _pcm_bytes(store: ObjectStore, ref: ChunkRef, channels: int) -> bytes:
    return decode_chunk(store, ref, channels=channels).astype("<i2").tobytes()


async def _stream(engine: Engine, store: ObjectStore, follower: LiveFollower, first: list[ChunkRef], *,
                  max_s: float, idle_s: float, poll_s: float) -> AsyncIterator[bytes]:
    fmt = follower.format
    assert fmt is not None  # live() streams only a started follower
    yield wav_header(sample_rate_hz=fmt.sample_rate_hz, channels=fmt.channels, data_bytes=None)
    t0 = last_new = time.monotonic()
    pending, sent = first, 0
    try:
        while True:
            for ref in pending:
                try:
                    # fmt's channels hold for the whole stream: the follower only follows sessions of one format
                    yield await run_in_threadpool(_pcm_bytes, store, ref, fmt.channels)
                    sent += 1
                except (AudioUnavailable, StoreUnavailable) as e:
                    # Live audio skips what it cannot get; the recording itself is intact or
                    # is reported by the worker.
                    logger.warning("live: counter %s: skipping chunk %s: %s", follower.counter_id, ref.key, e)
            now = time.monotonic()
            if pending:
                last_new = now
            if now - t0 >= max_s or now - last_new >= idle_s:
                break
            await asyncio.sleep(poll_s)
            try:
                pending = await run_in_threadpool(_poll, engine, follower)
            except AudioUnavailable as e:
                logger.info("live: counter %s: %s; ending the stream", follower.counter_id, e)
                break
    finally:
        logger.info("live: counter %s: stream ended after %.1f s, %d chunks", follower.counter_id,
                    time.monotonic() - t0, sent)


async def _measured(body: AsyncIterator[bytes], ledgers: LiveLedgers, listen: str,
                    ledger: LiveLedger) -> AsyncIterator[bytes]:
    """``body``, with ``ledger`` answerable under ``listen`` while it is streamed."""
    ledgers.open(listen, ledger)
    try:
        async for part in body:
            yield part
    finally:
        ledgers.close(listen, ledger)


def _poll_segments(engine: Engine, follower: LiveSegmentFollower) -> list[tuple[str, int]]:
    with read_session(engine) as s:
        return follower.poll(s)


def _want(engine: Engine, counter_id: int) -> None:
    try:
        want_live(engine, counter_id)
    except SQLAlchemyError as e:    # the database is away: the agent stops when the claim lapses
        logger.warning("live: counter %s: claim not renewed: %s", counter_id, e.__class__.__name__)


def _first_segment(engine: Engine, store: ObjectStore, follower: LiveSegmentFollower) -> Segment | None:
    """Wait up to ``LIVE_START_WAIT_S`` for the on-demand agent's first segment."""
    deadline = time.monotonic() + LIVE_START_WAIT_S
    while time.monotonic() < deadline:
        time.sleep(LIVE_START_POLL_S)
        with read_session(engine) as s:
            first = follower.start(s, store)
        if first is not None:
            return first
    return None


def _pcm_le(pcm: np.ndarray) -> bytes:
    return pcm.astype("<i2").tobytes()


async def _stream_segments(engine: Engine, store: ObjectStore, follower: LiveSegmentFollower, first: Segment, *,
                           max_s: float, idle_s: float, poll_s: float,
                           ledger: LiveLedger | None = None) -> AsyncIterator[bytes]:
    fmt = follower.format
    assert fmt is not None  # live() streams only a follower that started with a segment
    yield wav_header(sample_rate_hz=fmt.sample_rate_hz, channels=fmt.channels, data_bytes=None)
    if ledger is not None:
        ledger.add(seconds=first.pcm.shape[0] / fmt.sample_rate_hz, wall_start_s=first.wall_start_s)
    yield _pcm_le(first.pcm)
    t0 = last_new = renewed = time.monotonic()
    sent = 1
    try:
        while True:
            now = time.monotonic()
            if now - t0 >= max_s or now - last_new >= idle_s:
                break
            if now - renewed >= LIVE_RENEW_S:
                renewed = now
                await run_in_threadpool(_want, engine, follower.counter_id)
            await asyncio.sleep(poll_s)
            pending = await run_in_threadpool(_poll_segments, engine, follower)
            if pending:
                last_new = time.monotonic()
            for session, seq in pending:
                try:
                    segment = await run_in_threadpool(follower.fetch, store, session, seq)
                except AudioUnavailable as e:
                    logger.info("live: counter %s: %s; ending the stream", follower.counter_id, e)
                    return
                if segment is not None:
                    if ledger is not None:       # noted before it is sent: a player cannot be past it
                        ledger.add(seconds=segment.pcm.shape[0] / fmt.sample_rate_hz,
                                   wall_start_s=segment.wall_start_s)
                    yield _pcm_le(segment.pcm)
                    sent += 1
    finally:
        logger.info("live: counter %s: live stream ended after %.1f s, %d segments, %d skipped",
                    follower.counter_id, time.monotonic() - t0, sent, follower.skipped)


@router.get("/{counter_id}/live", response_class=StreamingResponse,
            responses={200: {"content": {"audio/wav": {}}}})
def live(user: Supervisor, db: ReadDb, store: StoreDep, engine: Writer, request: Request,
         counter_id: RowId,
         max_s: float = Query(600.0, gt=0, le=3600, description="end the stream after this long"),
         backlog_chunks: int = Query(1, ge=0, le=6, description="stored chunks to play first"),
         listen: str | None = Query(None, pattern=LISTEN_ID, description="the listener's id for this stream, "
                                    "to ask its measured delay (GET .../live/delay)")) -> StreamingResponse:
    """The counter's audio as it is recorded: an open-ended 16-bit PCM WAV stream. It follows
    the agent's live segments (about 1.5 s behind) when they are fresh, otherwise the stored
    chunks from the newest one (``backlog_chunks``; about one chunk length behind). See the
    module notes."""
    row = db.execute(select(Counter.id, Counter.name, Site.name).join(Site, Counter.site_id == Site.id)
                     .where(Counter.id == counter_id)).first()
    if row is None or not user.can_see(row[2]):
        raise CounterNotFound(counter_id)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    segments = LiveSegmentFollower(counter_id, stale_s=LIVE_STALE_S)
    state = live_state(db, counter_id)
    now = time.time()
    on_demand = state is not None and state.on_demand(now)
    if on_demand or (state is not None and state.fresh(now)):
        want_live(engine, counter_id)
    first_segment = segments.start(db, store)
    if first_segment is None and on_demand:
        db.close()      # early release: hold no connection (nor a slot of the gate) while the agent starts
        first_segment = _first_segment(engine, store, segments)
    if first_segment is not None:
        audit(request, user, action="audio.live", target=f"counter:{counter_id}",
              detail=f"窗口 {row[2]}/{row[1]} 实时监听，录音会话 {first_segment.session}，自第 {first_segment.seq} 段起，"
                     f"最长 {max_s:g} 秒" + (f"，收听编号 {listen}" if listen else ""))
        ledger = None if listen is None else LiveLedger(counter_id=counter_id, user_id=user.id)
        body = _stream_segments(engine, store, segments, first_segment, max_s=max_s,
                                idle_s=LIVE_IDLE_S, poll_s=LIVE_SEGMENT_POLL_S, ledger=ledger)
        if listen is not None and ledger is not None:
            body = _measured(body, live_ledgers(request.app), listen, ledger)
        return StreamingResponse(body, media_type="audio/wav", headers={**headers, "X-Live-Source": "segments"})
    follower = LiveFollower(counter_id)
    with read_session(engine) as s:
        fmt = follower.start(s, backlog_chunks=backlog_chunks)
        if fmt is None:
            raise NotFound(f"counter {counter_id}", "has not recorded anything yet", code="nothing_recorded")
        first = follower.poll(s)
    audit(request, user, action="audio.live", target=f"counter:{counter_id}",
          detail=f"窗口 {row[2]}/{row[1]} 回放最近录音，录音会话 {fmt.session_id}，"
                 f"自第 {follower.last_seq - len(first) + 1} 段起，最长 {max_s:g} 秒")
    body = _stream(engine, store, follower, first, max_s=max_s, idle_s=LIVE_IDLE_S,
                   poll_s=LIVE_POLL_S)
    return StreamingResponse(body, media_type="audio/wav", headers={**headers, "X-Live-Source": "chunks"})


class LiveDelay(BaseModel):
    delay_s: float | None = Field(description="this API's clock now minus the capture time (the agent's sample "
                                  "clock) of the audio at position_s, this request's way here included; null: "
                                  "not measured (not this listener's stream, not on this process, stored chunks, "
                                  "a position not sent yet)")
    captured_s: float | None = Field(description="when the audio at position_s was captured (Unix time, agent clock)")
    measured_s: float = Field(description="this API's clock when measured (Unix time)")


@router.get("/{counter_id}/live/delay", response_model=LiveDelay)
def live_delay(user: Supervisor, db: ReadDb, request: Request, counter_id: RowId,
               listen: str = Query(pattern=LISTEN_ID, description="the id the stream was opened with"),
               position_s: float = Query(ge=0, le=86400, description="the player's position in that stream "
                                         "(an audio element's currentTime)")) -> LiveDelay:
    """How far behind capture the listener's player is: the measured live delay (module
    notes). Only the stream's own listener is answered, and only by the process serving it;
    otherwise ``delay_s`` is null (a console polls this every second: not an error)."""
    row = db.execute(select(Site.name).join(Counter, Counter.site_id == Site.id)
                     .where(Counter.id == counter_id)).first()
    if row is None or not user.can_see(row[0]):
        raise CounterNotFound(counter_id)
    ledger = live_ledgers(request.app).get(listen)
    captured = None
    if ledger is not None and ledger.counter_id == counter_id and ledger.user_id == user.id:
        captured = ledger.captured_s(position_s)
    now = time.time()
    return LiveDelay(delay_s=None if captured is None else round(now - captured, 3), captured_s=captured,
                     measured_s=now)
