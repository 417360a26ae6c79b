"""One counter's recording agent: capture -> chunk -> FLAC -> spool, and spool -> API.

Two threads per agent. The capture thread reads the source, cuts chunks, encodes and spools
them; it never touches the network, so a slow or absent API (or store) cannot make it miss
audio. The
uploader thread drains the spool in order. :meth:`Agent.run` starts both, sends heartbeats,
and on the way out lets the uploader finish what was captured. With ``live_s`` > 0 a third,
best-effort thread publishes ~1 s live segments (:mod:`recorder.live`); the capture thread
only offers it blocks without waiting, and it never touches the spool.

Stopping: setting ``stop_event`` (the first SIGINT/SIGTERM, see :func:`handle_signals`) ends
capture after the current block, spools the partial chunk, and keeps uploading for up to
``drain_timeout_s``; :meth:`Agent.abort` (the second signal) stops the upload at once. A
chunk not uploaded stays in the spool, and the next agent on the same spool directory sends
it before its own.
"""
from __future__ import annotations

import hashlib
import logging
import math
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from domain.audio import FULL_SCALE, to_dbfs
from domain.chunks import ChunkMeta
from domain.flac import CODEC, encode_flac
from domain.names import check_name
from domain.vocab import AGENT_STATUSES
from recorder.chunker import Chunker, PcmChunk
from recorder.live import LivePublisher, LiveSink, LiveStats, OnLive
from recorder.sources import Source, SourceError
from recorder.spool import Spool, SpoolError, SpoolFull
from recorder.uploader import Backoff, ChunkSink, OnStored, Uploader

logger = logging.getLogger("recorder")

# The agent's health, as reported in heartbeats (domain.vocab.AGENT_STATUSES).
STATUS_OK, STATUS_NEAR_QUOTA, STATUS_SPOOL_FULL, STATUS_STORE_UNREACHABLE = AGENT_STATUSES


@dataclass(frozen=True)
class Heartbeat:
    """What an agent reports every ``heartbeat_s``.

    ``rms_dbfs`` is the level of the audio captured since the previous heartbeat (``None``
    if none came in); ``status`` is one of ``ok``, ``spool-near-quota``, ``spool-full``
    (new audio is being dropped) and ``store-unreachable`` (uploads are being retried: the API
    or its store is away); ``quarantined_chunks``: chunks the API refused for good, kept aside.
    """

    counter: str
    rms_dbfs: float | None
    spool_usage_bytes: int
    pending_chunks: int
    status: str
    dropped_s: float
    quarantined_chunks: int = 0


@dataclass
class AgentStats:
    """Counts for one :meth:`Agent.run`; ``dropped_*`` is audio lost to a full spool."""

    session: str
    frames_captured: int = 0
    chunks_spooled: int = 0
    chunks_uploaded: int = 0
    upload_retries: int = 0
    dropped_chunks: int = 0
    dropped_samples: int = 0
    drop_episodes: int = 0
    leftover_chunks: int = 0  # still in the spool when run() returned
    quarantined_chunks: int = 0  # refused for good by the API during the run, kept aside
    live: LiveStats | None = None  # live segments, when live_s > 0


class LinkSink(ChunkSink, LiveSink, Protocol):
    """What the agent sends through: :class:`recorder.client.AgentClient`."""


class Agent:
    """Records one counter from ``source`` through a spool in ``spool_dir`` to ``sink`` (the API)."""

    def __init__(self, *, site: str, counter: str, source: Source, spool_dir: str | Path,
                 sink: LinkSink, chunk_s: float = 10.0, quota_bytes: int,
                 on_stored: OnStored | None = None,
                 on_heartbeat: Callable[[Heartbeat], None] | None = None,
                 heartbeat_s: float = 10.0, clock: Callable[[], float] = time.time,
                 drain_timeout_s: float = 60.0, backoff: Backoff = Backoff(), live_s: float = 1.0,
                 on_live: OnLive | None = None) -> None:
        self.site = check_name("site", site)
        self.counter = check_name("counter", counter)
        self.source = source
        self.sample_rate_hz = source.sample_rate_hz
        self.channels = source.channels
        self.chunk_samples = int(round(chunk_s * self.sample_rate_hz))
        if self.chunk_samples <= 0:
            raise ValueError(f"chunk_s must be positive, not {chunk_s}")
        self.spool = Spool(spool_dir, site=site, counter=counter, quota_bytes=quota_bytes)
        self.sink = sink
        self.uploader = Uploader(self.spool, sink, on_stored=on_stored, backoff=backoff)
        self.on_heartbeat = on_heartbeat
        self.heartbeat_s = heartbeat_s
        self.clock = clock
        self.drain_timeout_s = drain_timeout_s
        self.session = uuid.uuid4().hex
        self.session_wall_start_s: float | None = None
        self.stats = AgentStats(session=self.session)
        if live_s < 0:
            raise ValueError(f"live_s must be 0 (off) or positive, not {live_s}")
        self.live: LivePublisher | None = None
        if live_s > 0:
            self.live = LivePublisher(site=site, counter=counter, session=self.session, sink=sink,
                                      sample_rate_hz=self.sample_rate_hz, channels=self.channels,
                                      segment_s=live_s, on_live=on_live, clock=clock)
            self.stats.live = self.live.stats
        self._abort = threading.Event()
        self._capture_done = threading.Event()
        self._capture_error: BaseException | None = None
        self._seq = 0
        self._dropping = False
        self._episode_samples = 0
        self._episode_start_sample = 0
        self._level_lock = threading.Lock()
        self._level_sumsq = 0.0
        self._level_count = 0

    # -- control -------------------------------------------------------------------------

    def abort(self) -> None:
        """Stop uploading now (the second stop); unsent chunks stay in the spool."""
        self._abort.set()
        self.uploader.notify()

    @property
    def status(self) -> str:
        if self._dropping:
            return STATUS_SPOOL_FULL
        if self.uploader.failing:
            return STATUS_STORE_UNREACHABLE
        if self.spool.near_quota:
            return STATUS_NEAR_QUOTA
        return STATUS_OK

    def run(self, stop_event: threading.Event) -> AgentStats:
        """Record until the source ends or ``stop_event`` is set, then upload and return.

        Raises:
            SourceError: the source cannot be opened, or failed while recording (after what
                was captured has been spooled and, as far as possible, uploaded).
        """
        self.source.start()
        logger.info("counter %s: session %s recording from %s, %d chunk(s) waiting in the spool",
                    self.counter, self.session, self.source.spec, len(self.spool))
        upload_halt = threading.Event()
        capture = threading.Thread(target=self._capture, args=(stop_event,),
                                   name=f"capture-{self.counter}", daemon=True)
        try:
            self.uploader.start(upload_halt)
            if self.live is not None:
                self.live.start()
            capture.start()
            next_beat = time.monotonic() + self.heartbeat_s
            drain_deadline: float | None = None
            while True:
                now = time.monotonic()
                if now >= next_beat:
                    self._heartbeat()
                    next_beat = now + self.heartbeat_s
                if self._capture_done.is_set():
                    if not len(self.spool) or self._abort.is_set():
                        break
                    if stop_event.is_set():
                        if drain_deadline is None:
                            drain_deadline = now + self.drain_timeout_s
                            logger.info("counter %s: stopping; uploading %d chunk(s) for up to %.0f s",
                                        self.counter, len(self.spool), self.drain_timeout_s)
                        elif now >= drain_deadline:
                            logger.warning("counter %s: %d chunk(s) not uploaded in %.1f s; "
                                           "they stay in the spool for the next run",
                                           self.counter, len(self.spool), self.drain_timeout_s)
                            break
                    # Poll the spool while draining; abort() ends the wait at once.
                    self._abort.wait(min(0.1, max(0.0, next_beat - now)))
                else:
                    self._capture_done.wait(max(0.0, next_beat - now))
        finally:
            if capture.is_alive() and not self._capture_done.is_set() and not stop_event.is_set():
                self._abort.set()  # leaving on an exception: stop capturing too
            if capture.ident is not None:
                capture.join()
            else:
                self.source.stop()
            if self.live is not None:
                # The PUT in hand can take up to the store's timeout; live audio is not waited for.
                self.live.stop(timeout_s=self.sink.timeout_s + 1.0)
            upload_halt.set()
            self.uploader.join()
            self._end_drop_episode("agent stopped")
            self.stats.chunks_uploaded = self.uploader.uploaded
            self.stats.upload_retries = self.uploader.retries
            self.stats.leftover_chunks = len(self.spool)
            self.stats.quarantined_chunks = self.uploader.quarantined
            self._heartbeat()
        logger.info("counter %s: session %s done: %d frames, %d chunk(s) spooled, %d uploaded, "
                    "%.1f s dropped, %d left in the spool", self.counter, self.session,
                    self.stats.frames_captured, self.stats.chunks_spooled, self.stats.chunks_uploaded,
                    self.stats.dropped_samples / self.sample_rate_hz, self.stats.leftover_chunks)
        if self._capture_error is not None:
            raise self._capture_error
        return self.stats

    # -- capture thread ------------------------------------------------------------------

    def _capture(self, stop_event: threading.Event) -> None:
        chunker = Chunker(chunk_samples=self.chunk_samples, channels=self.channels)
        try:
            while not (stop_event.is_set() or self._abort.is_set()):
                block = self.source.read()
                if block is None:
                    logger.info("counter %s: source %s ended", self.counter, self.source.spec)
                    break
                if self.session_wall_start_s is None:
                    # read() returns once the block is complete: its first sample is older.
                    self.session_wall_start_s = self.clock() - block.shape[0] / self.sample_rate_hz
                self._add_level(block)
                if self.live is not None:
                    self.live.offer(block, start_sample=self.stats.frames_captured,
                                    session_wall_start_s=self.session_wall_start_s)
                self.stats.frames_captured += block.shape[0]
                for chunk in chunker.push(block):
                    self._store_chunk(chunk)
        except SourceError as e:
            logger.error("counter %s: %s", self.counter, e)
            self._capture_error = e
        except BaseException as e:
            logger.exception("counter %s: capture failed", self.counter)
            self._capture_error = e
        finally:
            try:
                last = chunker.flush()
                if last is not None:
                    self._store_chunk(last)
            finally:
                self.source.stop()
                self._capture_done.set()
                self.uploader.notify()

    def _add_level(self, block: np.ndarray) -> None:
        x = block.astype("float64")
        with self._level_lock:
            self._level_sumsq += float((x * x).sum())
            self._level_count += x.size

    def _store_chunk(self, chunk: PcmChunk) -> None:
        assert self.session_wall_start_s is not None  # set by _capture() with the first block, before any chunk
        data = encode_flac(chunk.pcm, self.sample_rate_hz)
        meta = ChunkMeta(
            site=self.site, counter=self.counter, session=self.session, seq=self._seq,
            start_sample=chunk.start_sample, samples=chunk.samples,
            sample_rate_hz=self.sample_rate_hz, channels=self.channels, codec=CODEC,
            sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data),
            session_wall_start_s=self.session_wall_start_s, rms_dbfs=chunk.rms_dbfs,
            peak_dbfs=chunk.peak_dbfs,
        )
        try:
            self.spool.put(meta, data)
        except SpoolError as e:
            self._drop(chunk, e)
            return
        self._end_drop_episode("spool has room again")
        self._seq += 1
        self.stats.chunks_spooled += 1
        self.uploader.notify()

    def _drop(self, chunk: PcmChunk, error: SpoolError) -> None:
        # Audio already spooled is never given up for new audio: the new chunk goes.
        if not self._dropping:
            self._dropping = True
            self._episode_samples = 0
            self._episode_start_sample = chunk.start_sample
            self.stats.drop_episodes += 1
            why = "quota reached" if isinstance(error, SpoolFull) else "disk error"
            logger.error("counter %s: spool %s (%s): dropping new audio from %.1f s into the "
                         "session until there is room", self.counter, why, error,
                         chunk.start_sample / self.sample_rate_hz)
        self._episode_samples += chunk.samples
        self.stats.dropped_chunks += 1
        self.stats.dropped_samples += chunk.samples

    def _end_drop_episode(self, why: str) -> None:
        # The one CRITICAL line per episode, once its size is known; the ERROR at its start
        # and the 'spool-full' heartbeat status tell of it while it lasts.
        if not self._dropping:
            return
        self._dropping = False
        logger.critical("counter %s: LOST %.1f s of audio to a full spool (session %s, samples "
                        "%d-%d); %s", self.counter, self._episode_samples / self.sample_rate_hz,
                        self.session, self._episode_start_sample,
                        self._episode_start_sample + self._episode_samples, why)

    # -- heartbeat -----------------------------------------------------------------------

    def _heartbeat(self) -> None:
        with self._level_lock:
            sumsq, count = self._level_sumsq, self._level_count
            self._level_sumsq, self._level_count = 0.0, 0
        rms = to_dbfs(math.sqrt(sumsq / count) / FULL_SCALE) if count else None
        beat = Heartbeat(counter=self.counter, rms_dbfs=rms, spool_usage_bytes=self.spool.usage_bytes,
                         pending_chunks=len(self.spool), status=self.status,
                         dropped_s=self.stats.dropped_samples / self.sample_rate_hz,
                         quarantined_chunks=self.spool.quarantined)
        logger.debug("counter %s: heartbeat %s", self.counter, beat)
        if self.on_heartbeat is None:
            return
        try:
            self.on_heartbeat(beat)
        except Exception:  # noqa: BLE001 - a broken monitor must not stop the recording
            logger.exception("counter %s: heartbeat callback failed", self.counter)


def handle_signals(agent: Agent, stop_event: threading.Event) -> None:
    """First SIGINT/SIGTERM: finish the current chunk and upload; second: stop uploading now.

    Call from the main thread (Python only runs signal handlers there).
    """

    def handler(signum: int, frame: object) -> None:
        if not stop_event.is_set():
            logger.warning("counter %s: %s: finishing the current chunk and uploading "
                           "(again to stop now)", agent.counter, signal.Signals(signum).name)
            stop_event.set()
        else:
            logger.warning("counter %s: %s again: stopping now", agent.counter,
                           signal.Signals(signum).name)
            agent.abort()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
