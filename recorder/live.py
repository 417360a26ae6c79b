"""Best-effort live segments: ~1 s FLAC objects a supervisor can hear within seconds.

The evidence path (chunk -> spool -> uploader) waits for whole chunks (10 s by default) and
never gives up a sample. Live listening wants the opposite trade: little delay, and losing
audio is fine. So the capture thread also hands every block to a :class:`LivePublisher`
(a non-blocking put into a bounded queue: when the publisher falls behind, blocks are
dropped, never waited for). The publisher's own thread gathers ``segment_s`` of audio,
encodes it and sends it to the API (``POST /api/v1/agent/live``), which stores it under
``_live/{site}/{counter}/{session}/{seq:08d}.flac``, points the counter row at it (every API
process polls that row; issue 4, item 4), keeps only the newest segments and clears what older
sessions left (:func:`services.ingest.receive_live`); ``on_live`` is told of each one sent.

Live on demand (issue 23): segments are sent only while someone listens. A watcher thread
long-polls the API (``GET /api/v1/agent/live/wanted``, :meth:`LiveSink.live_wanted`) and hears
of a listener within about half a second; until then the publisher only keeps the newest
``segment_s`` of audio in memory (no encoding, no network), and when a listener comes it sends
that at once, so the listener hears something within about a second. An API without the route
(404/405: older than the agent) gets segments all the time, as before.

While the API (or its store) is down, segments are skipped (with a short, capped pause between
attempts); nothing is spooled, and the evidence upload is not affected.
"""
from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from domain.chunks import live_key
from domain.flac import CodecError, encode_flac
from domain.names import check_name, check_session
from recorder.client import ApiRefused, ApiUnavailable, TransportError

logger = logging.getLogger("recorder")


class LiveSink(Protocol):
    """Where live segments go: :class:`recorder.client.AgentClient`."""

    def send_live(self, *, session: str, seq: int, start_sample: int, samples: int, session_wall_start_s: float,
                  data: bytes) -> None: ...

    def live_wanted(self, *, wanted: bool, wait_s: float) -> bool: ...


@dataclass(frozen=True)
class LiveMeta:
    """One published live segment: ``samples`` frames from ``start_sample`` of the session.

    ``seq`` numbers published segments without gaps (a skipped segment takes no number), so
    a follower fetches ``seq + 1`` next; ``start_sample`` shows where audio was dropped.
    ``published_s`` is the wall time the object was stored.
    """

    site: str
    counter: str
    session: str
    seq: int
    start_sample: int
    samples: int
    sample_rate_hz: int
    channels: int
    session_wall_start_s: float
    published_s: float
    sha256: str
    size_bytes: int

    @property
    def wall_start_s(self) -> float:
        """Wall time of the first sample, from the agent's sample clock."""
        return self.session_wall_start_s + self.start_sample / self.sample_rate_hz

    @property
    def key(self) -> str:
        return live_key(site=self.site, counter=self.counter, session=self.session, seq=self.seq)


OnLive = Callable[[LiveMeta], None]


@dataclass
class LiveStats:
    segments: int = 0
    skipped_segments: int = 0          # encoded but not stored (API down or refusing)
    dropped_blocks: int = 0            # not taken from the capture thread (queue full)
    demand_changes: int = 0            # times a listener came or the last one left


class LivePublisher:
    """Publishes one agent session's audio as live segments, from a thread of its own."""

    def __init__(self, *, site: str, counter: str, session: str, sink: LiveSink | None, sample_rate_hz: int,
                 channels: int, segment_s: float = 1.0, on_live: OnLive | None = None,
                 queue_blocks: int = 100, retry_initial_s: float = 1.0, retry_max_s: float = 5.0,
                 clock: Callable[[], float] = time.time, demand_wait_s: float = 15.0) -> None:
        self.site = check_name("site", site)
        self.counter = check_name("counter", counter)
        self.session = check_session(session)
        self.sink = sink
        self.sample_rate_hz = sample_rate_hz
        self.channels = channels
        self.segment_samples = round(segment_s * sample_rate_hz)
        if self.segment_samples <= 0:
            raise ValueError(f"segment_s must be positive, not {segment_s}")
        self.on_live = on_live
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self.clock = clock
        self.stats = LiveStats()
        self.failing = False
        self._queue: queue.Queue[tuple[np.ndarray, int, float]] = queue.Queue(maxsize=queue_blocks)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seq = 0
        self._failures = 0
        self._retry_at = 0.0
        self.demand_wait_s = demand_wait_s
        self._wanted = threading.Event()
        self._sending = False
        self._watcher: threading.Thread | None = None

    @property
    def wanted(self) -> bool:
        """Whether someone listens now (segments are sent only then)."""
        return self._wanted.is_set()

    # -- capture side ----------------------------------------------------------------------

    def offer(self, block: np.ndarray, *, start_sample: int, session_wall_start_s: float) -> bool:
        """Hand a captured block over without waiting; False if it was dropped (queue full)."""
        try:
            self._queue.put_nowait((block, start_sample, session_wall_start_s))
        except queue.Full:
            self.stats.dropped_blocks += 1
            return False
        return True

    # -- control -----------------------------------------------------------------------------

    def start(self) -> threading.Thread:
        """Start the publisher and, with a sink, the watcher asking whether anyone listens."""
        if self.sink is not None:
            self._watcher = threading.Thread(target=self._watch, name=f"live-demand-{self.counter}", daemon=True)
            self._watcher.start()
        self._thread = threading.Thread(target=self.run, name=f"live-{self.counter}", daemon=True)
        self._thread.start()
        return self._thread

    # -- watcher thread ------------------------------------------------------------------------

    def _ask(self, *, wait_s: float) -> bool:
        """Update :attr:`wanted` from the API; False when it need not be asked again (no
        sink, or an API without the route: then segments are always sent)."""
        if self.sink is None:
            return False
        try:
            wanted = self.sink.live_wanted(wanted=self.wanted, wait_s=wait_s)
        except ApiRefused as e:
            if e.status in (404, 405):
                logger.info("counter %s: the API does not say when live audio is wanted; sending it always",
                            self.counter)
                self._wanted.set()
                return False
            raise
        if wanted != self.wanted:
            self.stats.demand_changes += 1
            logger.info("counter %s: live audio %s", self.counter, "wanted: sending" if wanted else "not wanted: idle")
            (self._wanted.set if wanted else self._wanted.clear)()
        return True

    def _watch(self) -> None:
        failures = 0
        wait_s = 0.0        # the first question at once: a listener may be waiting already
        while not self._stop.is_set():
            try:
                if not self._ask(wait_s=wait_s):
                    return
                failures, wait_s = 0, self.demand_wait_s
            except RuntimeError:        # the agent closed its client on the way out
                return
            except TransportError as e:
                failures += 1
                delay = min(self.retry_max_s, self.retry_initial_s * 2 ** (failures - 1))
                if failures == 1 or delay >= self.retry_max_s and failures % 12 == 0:
                    logger.warning("counter %s: cannot ask whether live audio is wanted (%s); next try in %.1f s",
                                   self.counter, e, delay)
                self._stop.wait(delay)

    def stop(self, timeout_s: float | None = None) -> None:
        """End the thread after the segment in hand (a partial segment is not published)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                logger.warning("counter %s: live publisher still busy after %.1f s; leaving it",
                               self.counter, timeout_s or 0.0)

    def run(self) -> None:
        """Gather blocks into segments and publish them while someone listens, until :meth:`stop`.

        While nobody listens only the newest ``segment_s`` is kept; when a listener comes, that
        goes at once (so the listener hears the last second within about a second).
        """
        blocks: list[np.ndarray] = []
        have = 0
        first_sample, wall0 = 0, 0.0
        was_wanted = False
        while not self._stop.is_set():
            wanted = self.wanted
            if wanted and not was_wanted and have >= self.segment_samples:
                self._publish(blocks, first_sample, wall0)
                blocks, have = [], 0
            was_wanted = wanted
            try:
                block, start, wall0_in = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if have and start != first_sample + have:
                # Blocks were dropped (queue full): a segment holds contiguous audio only.
                if wanted:
                    self._publish(blocks, first_sample, wall0)
                blocks, have = [], 0
            if not have:
                first_sample, wall0 = start, wall0_in
            blocks.append(block)
            have += block.shape[0]
            if have < self.segment_samples:
                continue
            if self.wanted:     # asked again: the listener may have left while this block came
                self._publish(blocks, first_sample, wall0)
                blocks, have = [], 0
            else:       # nobody listens: keep the newest segment's worth only
                while have - blocks[0].shape[0] >= self.segment_samples:
                    have -= blocks[0].shape[0]
                    first_sample += blocks.pop(0).shape[0]
        logger.info("counter %s: live publisher stopped: %d segment(s), %d skipped, %d block(s) dropped",
                    self.counter, self.stats.segments, self.stats.skipped_segments, self.stats.dropped_blocks)

    # -- publisher thread --------------------------------------------------------------------

    @property
    def sending(self) -> bool:
        """True while a segment is being encoded and sent."""
        return self._sending

    def _publish(self, blocks: list[np.ndarray], start_sample: int, session_wall_start_s: float) -> None:
        self._sending = True
        try:
            self._send_segment(blocks, start_sample, session_wall_start_s)
        finally:
            self._sending = False

    def _send_segment(self, blocks: list[np.ndarray], start_sample: int, session_wall_start_s: float) -> None:
        now = time.monotonic()
        if now < self._retry_at:
            self.stats.skipped_segments += 1
            return
        pcm = np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
        try:
            data = encode_flac(pcm, self.sample_rate_hz)
        except CodecError as e:
            logger.error("counter %s: live segment not encoded: %s", self.counter, e)
            self.stats.skipped_segments += 1
            return
        sha = hashlib.sha256(data).hexdigest()
        assert self.sink is not None  # a publisher without a sink is only offered blocks (tests)
        try:
            self.sink.send_live(session=self.session, seq=self._seq, start_sample=start_sample, samples=pcm.shape[0],
                                session_wall_start_s=session_wall_start_s, data=data)
        except TransportError as e:
            self._failed(e)
            return
        if self.failing:
            logger.info("counter %s: live segments stored again after %d failure(s)", self.counter, self._failures)
        self.failing, self._failures = False, 0
        meta = LiveMeta(site=self.site, counter=self.counter, session=self.session, seq=self._seq,
                        start_sample=start_sample, samples=pcm.shape[0], sample_rate_hz=self.sample_rate_hz,
                        channels=self.channels, session_wall_start_s=session_wall_start_s,
                        published_s=self.clock(), sha256=sha, size_bytes=len(data))
        self._seq += 1
        self.stats.segments += 1
        if self.on_live is not None:
            try:
                self.on_live(meta)
            except Exception:
                logger.exception("counter %s: live callback failed for segment %d", self.counter, meta.seq)

    def _failed(self, error: TransportError) -> None:
        self.stats.skipped_segments += 1
        self._failures += 1
        delay = min(self.retry_max_s, self.retry_initial_s * 2 ** (self._failures - 1))
        self._retry_at = time.monotonic() + delay
        level = logging.WARNING if isinstance(error, ApiUnavailable) else logging.ERROR
        # One line per attempt, but the attempts are capped at one every retry_max_s.
        logger.log(level, "counter %s: live segment skipped (%s); next try in %.1f s (attempt %d)",
                   self.counter, error, delay, self._failures)
        self.failing = True
