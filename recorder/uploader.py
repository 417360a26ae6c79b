"""Drain a :class:`~recorder.spool.Spool` through the API, in order, never losing a chunk.

A chunk leaves the spool only after the API confirmed it (the server checked its sha256, size
and FLAC header, stored it once and registered it: :mod:`services.ingest`) and the
``on_stored`` callback returned. Failures are retried with capped exponential backoff on the
same chunk, so chunks arrive in spool order (oldest session first, then by sequence number)
however long the API, its store or its database are away. A chunk the API refuses for good
(another chunk holds its number, or it is not what its metadata says) is moved to the spool's
quarantine folder, logged, and counted in the heartbeat; it is never sent again (issue 11).
"""
from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from domain.chunks import ChunkMeta
from recorder.client import ApiRefused, ApiUnavailable, ChunkRefused
from recorder.spool import Spool

logger = logging.getLogger("recorder")

OnStored = Callable[[ChunkMeta], None]


class ChunkSink(Protocol):
    """Where chunks go: :class:`recorder.client.AgentClient` (tests use scripted ones)."""

    timeout_s: float

    def send_chunk(self, meta: ChunkMeta, path: Path) -> bool: ...


@dataclass(frozen=True)
class Backoff:
    """Retry delays: ``initial_s`` doubling up to ``max_s``."""

    initial_s: float = 0.5
    max_s: float = 30.0
    factor: float = 2.0

    def delay_s(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (1-based)."""
        return min(self.max_s, self.initial_s * self.factor ** (attempt - 1))


class Uploader:
    """Uploads a spool's chunks in order; one instance per spool, driven by one thread."""

    def __init__(self, spool: Spool, sink: ChunkSink, *, on_stored: OnStored | None = None,
                 backoff: Backoff = Backoff()) -> None:
        self.spool = spool
        self.sink = sink
        self.on_stored = on_stored
        self.backoff = backoff
        self.uploaded = 0
        self.retries = 0
        self.quarantined = 0    # refused for good during this run
        self.failing = False    # True from a failed attempt until the next success
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def counter(self) -> str:
        return self.spool.counter

    def notify(self) -> None:
        """Tell a running :meth:`run` loop that a new chunk was spooled."""
        self._wake.set()

    def upload_pending(self, stop_event: threading.Event) -> int:
        """Upload every chunk pending now, oldest first; return how many were stored.

        Retries each chunk until it is stored, refused for good (quarantined), or ``stop_event``
        is set (the backoff waits on it, so a stop takes effect at once). Never raises for
        transport or callback failures.
        """
        done = 0
        for meta in self.spool.pending():
            if stop_event.is_set():
                break
            stored = self._retrying(stop_event, meta, functools.partial(self._store_one, meta))
            if stored is None:
                break
            done += stored
        return done

    def _store_one(self, meta: ChunkMeta) -> bool:
        try:
            self.sink.send_chunk(meta, self.spool.path_of(meta))
        except ChunkRefused as e:
            where = self.spool.quarantine(meta, f"{e} {e.detail}")
            self.quarantined += 1
            logger.error("counter %s: the API refused chunk %s for good (%s); moved to %s, not sent again",
                         self.counter, meta.key, e, where)
            return False
        if self.on_stored is not None:
            self.on_stored(meta)
        self.spool.remove(meta)
        self.uploaded += 1
        logger.debug("counter %s: stored %s (%d bytes)", self.counter, meta.key, meta.size_bytes)
        return True

    def _retrying(self, stop_event: threading.Event, meta: ChunkMeta, action: Callable[[], bool]) -> bool | None:
        """Run ``action`` until it returns (its answer) or ``stop_event`` is set (None)."""
        attempt = 0
        while not stop_event.is_set():
            try:
                result = action()
            except ApiUnavailable as e:
                level, reason = logging.WARNING, f"API unavailable ({e})"
            except ApiRefused as e:
                # A revoked token or a wrong binding needs an operator, but the chunk must not be
                # lost meanwhile: keep it and keep trying, loudly.
                level, reason = logging.ERROR, f"API refused ({e})"
            except OSError as e:
                level, reason = logging.ERROR, f"local error ({e})"
            except Exception as e:  # noqa: BLE001 - on_stored is caller code; keep the chunk
                level, reason = logging.ERROR, f"on_stored failed ({e.__class__.__name__}: {e})"
            else:
                if self.failing:
                    logger.info("counter %s: API reachable again after %d retries", self.counter, attempt)
                self.failing = False
                return result
            attempt += 1
            self.retries += 1
            self.failing = True
            delay = self.backoff.delay_s(attempt)
            logger.log(level, "counter %s: %s: %s; retry %d in %.1f s", self.counter, meta.key, reason,
                       attempt, delay)
            stop_event.wait(delay)
        return None

    def run(self, stop_event: threading.Event, *, poll_s: float = 5.0) -> None:
        """Upload until ``stop_event`` is set, waking on :meth:`notify` or every ``poll_s``."""
        while not stop_event.is_set():
            self._wake.clear()
            self.upload_pending(stop_event)
            if not len(self.spool):
                self._wake.wait(poll_s)  # join() sets it too, so a stop does not wait poll_s

    def start(self, stop_event: threading.Event, *, name: str | None = None) -> threading.Thread:
        """Run :meth:`run` in a new thread; setting ``stop_event`` and calling :meth:`notify`
        ends it."""
        self._thread = threading.Thread(target=self.run, args=(stop_event,),
                                        name=name or f"uploader-{self.counter}", daemon=True)
        self._thread.start()
        return self._thread

    def join(self, timeout_s: float | None = None) -> None:
        if self._thread is not None:
            self._wake.set()
            self._thread.join(timeout_s)
