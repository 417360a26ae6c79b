"""Live listening: following a counter's live segments, or its newest stored chunks.

The agent stores ~1 s FLAC segments under ``_live/{site}/{counter}/{session}/{seq:08d}.flac``
and records the newest one on the counter row (``live_session``, ``live_seq``,
``live_wall_start_s``, ``live_at_s``). A :class:`LiveSegmentFollower` keeps only a cursor
(session, next segment number) and reads that row on every poll, so any API process can serve
any listener (issue 4, item 4: no per-process state behind a load balancer).

Live on demand (issue 23): an agent publishes segments only while someone listens. A listening
stream claims the counter's live audio with :func:`want_live` (``live_wanted_until_s``, a lease
of :data:`LIVE_LEASE_S` renewed every :data:`LIVE_RENEW_S`), so the claim lapses by itself a
grace period after the last listener leaves, in whichever API process it listened. Agents learn
the claims from :func:`wanted_counters` (one query per API process and poll, for all of them).

Where an agent publishes no fresh live segments, :class:`LiveFollower` follows the newest
stored chunks of the counter's newest session instead (one chunk length behind).

An :class:`~services.audio.AudioUnavailable` from either ends a live stream.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np
from sqlalchemy import or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from domain.chunks import live_key
from domain.flac import CodecError, decode_flac, flac_streaminfo
from services.audio import AudioUnavailable, ChunkRef, refs
from storage.engine import write_session
from storage.objects import ObjectStore
from storage.store_errors import StoreError
from storage.tables import Chunk, Counter, RecordingSession, Site

logger = logging.getLogger(__name__)

LIVE_STALE_S = 5.0          # a feed whose newest segment is older than this is not live
# Where a new listener starts, behind the agent's sample clock: about the steady-state delay of
# a segment's first sample (segment length + PUT + row update + poll + GET, ~1.3 s at 1 s).
START_DELAY_S = 1.5
MIN_START_S = 0.1           # the first segment is cut to no less than this
MAX_BEHIND_SEGMENTS = 3     # a listener further behind skips ahead instead of falling back
#: A listener's claim on a counter's live audio lasts this long unless renewed: the agent goes
#: on publishing this long after the last listener left (a reconnecting player finds it live).
LIVE_LEASE_S = 10.0
LIVE_RENEW_S = 2.0          # a listening stream renews its claim this often
#: An agent that asked whether live audio is wanted this recently publishes on demand: a new
#: listener waits for its first segment instead of falling back to the stored chunks.
LIVE_ASKED_FRESH_S = 60.0


def want_live(engine: Engine, counter_id: int, *, now_s: float | None = None) -> None:
    """Claim the counter's live audio for :data:`LIVE_LEASE_S` from now (a claim already
    reaching further stays)."""
    until = (time.time() if now_s is None else now_s) + LIVE_LEASE_S
    with write_session(engine) as s:
        s.execute(update(Counter).where(Counter.id == counter_id, or_(Counter.live_wanted_until_s.is_(None),
                                                                      Counter.live_wanted_until_s < until))
                  .values(live_wanted_until_s=until))


def wanted_counters(db: Session, *, now_s: float | None = None) -> set[int]:
    """The counters whose live audio someone listens to now."""
    now = time.time() if now_s is None else now_s
    return set(db.scalars(select(Counter.id).where(Counter.live_wanted_until_s > now)))


@dataclass(frozen=True)
class LiveFormat:
    session_id: str
    sample_rate_hz: int
    channels: int


class LiveFollower:
    """Follows a counter's newest recording session through the catalog.

    Holds only a cursor (session and last chunk number), so any number of API processes can
    serve listeners of the same counter; everything else is read from the database on each
    :meth:`poll`.
    """

    def __init__(self, counter_id: int) -> None:
        self.counter_id = counter_id
        self.format: LiveFormat | None = None
        self.last_seq = -1

    def _newest_session(self, db: Session) -> RecordingSession | None:
        return db.scalar(select(RecordingSession).where(RecordingSession.counter_id == self.counter_id)
                         .order_by(RecordingSession.wall_start_s.desc()).limit(1))

    def start(self, db: Session, *, backlog_chunks: int = 1) -> LiveFormat | None:
        """Begin at the newest ``backlog_chunks`` stored chunks of the newest session (so a
        listener hears something at once); None if the counter has never recorded."""
        sess = self._newest_session(db)
        if sess is None:
            return None
        self.format = LiveFormat(sess.id, sess.sample_rate_hz, sess.channels)
        newest = db.scalar(select(Chunk.seq).where(Chunk.session_id == sess.id).order_by(Chunk.seq.desc()).limit(1))
        self.last_seq = -1 if newest is None else newest - max(backlog_chunks, 0)
        return self.format

    def poll(self, db: Session) -> list[ChunkRef]:
        """Chunks stored since the last poll, in order. When the agent has started a newer
        session with the same format, switch to it from its first chunk; a session in another
        format ends the stream (:class:`AudioUnavailable`)."""
        assert self.format is not None, "start() first"
        rows = refs(db.scalars(select(Chunk).where(Chunk.session_id == self.format.session_id,
                                                    Chunk.seq > self.last_seq).order_by(Chunk.seq)))
        if rows:
            self.last_seq = rows[-1].seq
            return list(rows)
        sess = self._newest_session(db)
        if sess is not None and sess.id != self.format.session_id:
            if (sess.sample_rate_hz, sess.channels) != (self.format.sample_rate_hz, self.format.channels):
                raise AudioUnavailable(f"counter {self.counter_id}", "new session has another audio format")
            logger.info("live: counter %s: following new session %s", self.counter_id, sess.id)
            self.format = LiveFormat(sess.id, sess.sample_rate_hz, sess.channels)
            self.last_seq = -1
            return self.poll(db)
        return []


@dataclass(frozen=True)
class LiveState:
    """A counter's live feed as its row says: newest segment ``seq`` of ``session``."""

    site: str
    counter: str
    session: str | None
    seq: int | None
    wall_start_s: float | None
    at_s: float | None
    asked_s: float | None = None

    def on_demand(self, now_s: float) -> bool:
        """The counter's agent publishes on demand (it asked lately)."""
        return self.asked_s is not None and now_s - self.asked_s <= LIVE_ASKED_FRESH_S

    def fresh(self, now_s: float, stale_s: float = LIVE_STALE_S) -> bool:
        return (self.session is not None and self.seq is not None and self.at_s is not None
                and now_s - self.at_s <= stale_s)


def live_state(db: Session, counter_id: int) -> LiveState | None:
    """The counter's live columns, or None for an unknown counter."""
    row = db.execute(select(Site.name, Counter.name, Counter.live_session, Counter.live_seq,
                            Counter.live_wall_start_s, Counter.live_at_s, Counter.live_asked_s)
                     .join(Site, Counter.site_id == Site.id).where(Counter.id == counter_id)).first()
    return None if row is None else LiveState(*row)


@dataclass(frozen=True)
class Segment:
    session: str
    seq: int
    pcm: np.ndarray             # int16 (frames, channels)
    #: When its first sample was captured (the agent's sample clock: session_wall_start_s +
    #: start_sample / rate); None where the store did not say.
    wall_start_s: float | None = None


class LiveSegmentFollower:
    """A cursor over one counter's live segments: the session followed and the next number."""

    def __init__(self, counter_id: int, *, stale_s: float = LIVE_STALE_S, start_delay_s: float = START_DELAY_S,
                 max_behind: int = MAX_BEHIND_SEGMENTS) -> None:
        self.counter_id = counter_id
        self.stale_s = stale_s
        self.start_delay_s = start_delay_s
        self.max_behind = max_behind
        self.site = self.counter = ""
        self.format: LiveFormat | None = None
        self.next_seq = 0
        self.skipped = 0
        self._newest: tuple[str, int, float | None] | None = None    # the row's newest segment

    def start(self, db: Session, store: ObjectStore, *, now_s: float | None = None) -> Segment | None:
        """Begin at the newest live segment and return it; None when the feed is absent,
        stale (newest segment older than ``stale_s``) or its newest segment cannot be read.

        The segment is cut to start about ``start_delay_s`` behind now (by the agent's sample
        clock): a player keeps the delay it starts with, and the newest segment can be up to one
        segment length older than the ones that follow it.
        """
        now = time.time() if now_s is None else now_s
        st = live_state(db, self.counter_id)
        if st is None or not st.fresh(now, self.stale_s):
            return None
        session, seq = st.session, st.seq
        assert session is not None and seq is not None  # fresh() says both are set
        self.site, self.counter = st.site, st.counter
        try:
            pcm, rate = self._get(store, session, seq)
        except (StoreError, CodecError) as e:
            logger.info("live: counter %s: newest live segment unreadable (%s); using stored chunks",
                        self.counter_id, e)
            return None
        self.format = LiveFormat(session, rate, pcm.shape[1])
        self.next_seq = seq + 1
        if st.wall_start_s is None:
            return Segment(session, seq, pcm)
        cut = int((now - self.start_delay_s - st.wall_start_s) * rate)
        cut = max(0, min(cut, pcm.shape[0] - int(MIN_START_S * rate)))
        return Segment(session, seq, pcm[cut:], st.wall_start_s + cut / rate)

    def poll(self, db: Session) -> list[tuple[str, int]]:
        """The (session, seq) of segments published since the last poll, in order. A new
        agent session is followed from its newest segment; a listener more than
        ``max_behind`` segments behind skips ahead."""
        assert self.format is not None, "start() first"
        st = live_state(db, self.counter_id)
        if st is None or st.session is None or st.seq is None:
            return []
        if st.session != self.format.session_id:
            logger.info("live: counter %s: following new session %s", self.counter_id, st.session)
            self.format = LiveFormat(st.session, self.format.sample_rate_hz, self.format.channels)
            self.next_seq = st.seq
        self._newest = (st.session, st.seq, st.wall_start_s)
        if st.seq < self.next_seq:
            return []
        first = max(self.next_seq, st.seq - self.max_behind + 1)
        self.skipped += first - self.next_seq
        self.next_seq = st.seq + 1
        return [(st.session, n) for n in range(first, st.seq + 1)]

    def fetch(self, store: ObjectStore, session: str, seq: int) -> Segment | None:
        """One segment (samples and capture time); None if it is gone or the store is
        unreachable (live audio skips what it cannot get). The capture time of the newest
        segment comes from the counter row, of an earlier one from the object's metadata.

        Raises:
            AudioUnavailable: the segment has another audio format than the stream.
        """
        assert self.format is not None, "start() first"
        try:
            pcm, rate = self._get(store, session, seq)
        except (StoreError, CodecError) as e:  # StoreUnavailable included
            logger.warning("live: counter %s: skipping live segment %s/%d: %s", self.counter_id, session, seq, e)
            self.skipped += 1
            return None
        if (rate, pcm.shape[1]) != (self.format.sample_rate_hz, self.format.channels):
            raise AudioUnavailable(f"counter {self.counter_id}", "the live feed changed its audio format")
        if self._newest is not None and self._newest[:2] == (session, seq):
            return Segment(session, seq, pcm, self._newest[2])
        return Segment(session, seq, pcm, self._capture_s(store, session, seq, rate))

    def _capture_s(self, store: ObjectStore, session: str, seq: int, rate: int) -> float | None:
        try:
            info = store.stat(live_key(site=self.site, counter=self.counter, session=session, seq=seq))
            meta = info.metadata if info is not None else {}
            return float(meta["session-wall-start-s"]) + int(meta["start-sample"]) / rate
        except (StoreError, KeyError, ValueError):   # not measured for this segment
            return None

    def _get(self, store: ObjectStore, session: str, seq: int) -> tuple[np.ndarray, int]:
        data = store.get_bytes(live_key(site=self.site, counter=self.counter, session=session, seq=seq))
        return decode_flac(data), flac_streaminfo(data).sample_rate_hz


class LiveLedger:
    """Where a live stream's audio was captured: for each piece sent, its position in the
    stream (seconds from the first sample) and the wall time its first sample was captured.

    The console's measured delay (docs/console.md, "实时监听"): a player at ``position_s`` is
    playing audio captured at :meth:`captured_s`; the delay is the API's clock now minus that.
    Only the newest ``keep`` pieces are kept (a player is never minutes behind what it was sent).
    """

    def __init__(self, *, counter_id: int, user_id: int, keep: int = 120) -> None:
        self.counter_id = counter_id
        self.user_id = user_id
        self._pieces: deque[tuple[float, float | None]] = deque(maxlen=keep)
        self.sent_s = 0.0

    def add(self, *, seconds: float, wall_start_s: float | None) -> None:
        """A piece of ``seconds`` of audio captured from ``wall_start_s`` was sent."""
        self._pieces.append((self.sent_s, wall_start_s))
        self.sent_s += seconds

    def captured_s(self, position_s: float) -> float | None:
        """When the audio at ``position_s`` of the stream was captured; None when that is not
        known (a position not sent yet or no longer kept, or a piece without a capture time)."""
        if position_s > self.sent_s:
            return None
        for start, wall in reversed(self._pieces):
            if start <= position_s:
                return None if wall is None else wall + (position_s - start)
        return None


class LiveLedgers:
    """The ledgers of the live streams one API process serves, by the listener's id."""

    def __init__(self, *, limit: int = 1000) -> None:
        self.limit = limit
        self._ledgers: dict[str, LiveLedger] = {}
        self._lock = threading.Lock()

    def open(self, listen_id: str, ledger: LiveLedger) -> None:
        with self._lock:
            if len(self._ledgers) >= self.limit and listen_id not in self._ledgers:
                self._ledgers.pop(next(iter(self._ledgers)))    # the oldest stream stops being measured
            self._ledgers[listen_id] = ledger

    def close(self, listen_id: str, ledger: LiveLedger) -> None:
        with self._lock:
            if self._ledgers.get(listen_id) is ledger:
                del self._ledgers[listen_id]

    def get(self, listen_id: str) -> LiveLedger | None:
        with self._lock:
            return self._ledgers.get(listen_id)
