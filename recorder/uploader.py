"""Drain a :class:`~recorder.spool.Spool` into the object store, in order, never losing a chunk.

A chunk leaves the spool only after the store confirmed it (``put_file`` verifies the
checksum) and the ``on_stored`` callback (e.g. the metadata database insert) returned.
Failures are retried with capped exponential backoff on the same chunk, so chunks arrive in
spool order (oldest session first, then by sequence number) however long the store is away.
"""
from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from domain.chunks import ChunkMeta
from domain.flac import CONTENT_TYPE
from recorder.spool import Spool
from storage.objects import ObjectInfo, ObjectStore
from storage.store_errors import ChecksumMismatch, StoreError, StoreUnavailable

logger = logging.getLogger("recorder")

OnStored = Callable[[ChunkMeta, ObjectInfo], None]


@dataclass(frozen=True)
class Backoff:
    """Retry delays: ``initial_s`` doubling up to ``max_s``."""

    initial_s: float = 0.5
    max_s: float = 30.0
    factor: float = 2.0

    def delay_s(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (1-based)."""
        return min(self.max_s, self.initial_s * self.factor ** (attempt - 1))


def object_metadata(meta: ChunkMeta) -> dict[str, str]:
    """User metadata stored with a chunk object (ASCII strings, lower-case keys)."""
    return {
        "sha256": meta.sha256,
        "site": meta.site,
        "counter": meta.counter,
        "session": meta.session,
        "seq": str(meta.seq),
        "start-sample": str(meta.start_sample),
        "samples": str(meta.samples),
        "sample-rate-hz": str(meta.sample_rate_hz),
        "channels": str(meta.channels),
        "session-wall-start-s": repr(meta.session_wall_start_s),
    }


class Uploader:
    """Uploads a spool's chunks in order; one instance per spool, driven by one thread."""

    def __init__(self, spool: Spool, store: ObjectStore, *, on_stored: OnStored | None = None,
                 backoff: Backoff = Backoff(), ensure_bucket: bool = True,
                 retention_days: float | None = None) -> None:
        """``retention_days``: chunks are written under Object Lock retention until their
        capture time plus this many days, where the store's bucket has Object Lock (issue 6);
        ``None``: never locked."""
        self.spool = spool
        self.store = store
        self.on_stored = on_stored
        self.backoff = backoff
        self.uploaded = 0
        self.retries = 0
        self.failing = False  # True from a failed attempt until the next success
        self.retention_days = retention_days
        self._need_bucket = ensure_bucket
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

        Retries each chunk until it is stored or ``stop_event`` is set (the backoff waits on
        it, so a stop takes effect at once). Never raises for store or callback failures.
        """
        done = 0
        if self._need_bucket and not self._retrying(stop_event, "ensure bucket", self.store.ensure_bucket):
            return 0
        self._need_bucket = False
        for meta in self.spool.pending():
            if stop_event.is_set():
                break
            if self._retrying(stop_event, meta.key, functools.partial(self._store_one, meta)):
                done += 1
            else:
                break
        return done

    def _store_one(self, meta: ChunkMeta) -> None:
        path = self.spool.path_of(meta)
        until = self.retain_until(meta)
        # Only when locking: stores without the keyword (test doubles, older wrappers) keep working.
        lock = {"retain_until": until} if until is not None else {}
        info = self.store.put_file(meta.key, path, content_type=CONTENT_TYPE,
                                   metadata=object_metadata(meta), **lock)
        if info.size_bytes != meta.size_bytes:
            raise ChecksumMismatch("SizeMismatch", f"stored {info.size_bytes} bytes, chunk has "
                                   f"{meta.size_bytes}", object_name=meta.key)
        if self.on_stored is not None:
            self.on_stored(meta, info)
        self.spool.remove(meta)
        self.uploaded += 1
        logger.debug("counter %s: stored %s (%d bytes)", self.counter, meta.key, meta.size_bytes)

    def retain_until(self, meta: ChunkMeta) -> dt.datetime | None:
        """Until when ``meta``'s object stays locked: capture time + the site's retention.

        The date may be past (a chunk captured before the clock was set, or spooled longer
        than the retention period); the store then writes it unlocked rather than sending a
        date the server refuses, which would keep this chunk, and the spool, stuck."""
        if self.retention_days is None:
            return None
        return (dt.datetime.fromtimestamp(meta.wall_start_s, dt.UTC)
                + dt.timedelta(days=self.retention_days))

    def _retrying(self, stop_event: threading.Event, what: str, action: Callable[[], None]) -> bool:
        """Run ``action`` until it succeeds (True) or ``stop_event`` is set (False)."""
        attempt = 0
        while not stop_event.is_set():
            try:
                action()
            except StoreUnavailable as e:
                level, reason = logging.WARNING, f"store unavailable ({e})"
            except ChecksumMismatch as e:
                level, reason = logging.ERROR, f"checksum mismatch ({e})"
            except StoreError as e:
                # Refusals such as AccessDenied need an operator, but the chunk must not be
                # lost meanwhile: keep it and keep trying, loudly.
                level, reason = logging.ERROR, f"store refused ({e})"
            except OSError as e:
                level, reason = logging.ERROR, f"local error ({e})"
            except Exception as e:  # noqa: BLE001 - on_stored is caller code; keep the chunk
                level, reason = logging.ERROR, f"on_stored failed ({e.__class__.__name__}: {e})"
            else:
                if self.failing:
                    logger.info("counter %s: store reachable again after %d retries", self.counter, attempt)
                self.failing = False
                return True
            attempt += 1
            self.retries += 1
            self.failing = True
            delay = self.backoff.delay_s(attempt)
            logger.log(level, "counter %s: %s: %s; retry %d in %.1f s", self.counter, what, reason,
                       attempt, delay)
            stop_event.wait(delay)
        return False

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
