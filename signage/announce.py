"""Queue calls heard in the waiting area: for each new call, the chime (if the screen has one) and
then the call spoken in Mandarin, fetched from the API (``/queue/calls/{id}/announcement.wav``,
espeak-ng on the API host; issue 21).

One call at a time, in the order the calls came, on a thread of its own with its own libVLC
audio player: the display loop only queues a call (:meth:`Announcer.submit` never blocks). At
most :data:`MAX_PENDING` calls wait; a call that waited longer than :data:`STALE_S` (a burst of
calls, a slow server) is left out rather than said late. A fetch that fails leaves the chime.
"""
from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from signage import metrics

logger = logging.getLogger(__name__)

#: calls waiting to be said, at most (the oldest is left out beyond)
MAX_PENDING = 8
#: a call not said within this long of its arrival is left out
STALE_S = 60.0
#: a sound plays at most this long (a broken file, a stuck output)
MAX_SOUND_S = 20.0
#: an announcement larger than this is refused (speech is ~45 kB/s)
MAX_WAV_BYTES = 4 * 1024 * 1024

#: (WAV bytes, what made it: ``espeak-ng`` | ``chime``) of queue call ``call_event_id``
Fetch = Callable[[int], tuple[bytes, str]]


class Announcer:
    """Says queue calls through ``instance`` (a ``vlc.Instance`` with audio): ``chime_path`` first
    (None: no chime), then the call's announcement from ``fetch`` (None: none) written into
    ``spool_dir``. ``start()`` the thread; ``close()`` stops it and releases the player."""

    def __init__(self, *, instance: Any, screen: str, spool_dir: Path, chime_path: Path | None,
                 fetch: Fetch | None) -> None:
        self.screen, self._instance, self._chime, self._fetch = screen, instance, chime_path, fetch
        self._spool = spool_dir
        self._pending: collections.deque[tuple[int | None, float]] = collections.deque()
        self._cv = threading.Condition()
        self._closed = False
        self._mp = instance.media_player_new()    # audio only: never touches the window
        self._ended = threading.Event()
        import vlc

        events = self._mp.event_manager()
        for kind in (vlc.EventType.MediaPlayerEndReached, vlc.EventType.MediaPlayerEncounteredError):
            events.event_attach(kind, lambda _e: self._ended.set())
        self._thread = threading.Thread(target=self._run, name="signage-announce", daemon=True)
        #: calls said (chime and/or speech), spoken announcements played
        self.calls = 0
        self.spoken = 0

    def start(self) -> None:
        self._thread.start()

    def submit(self, call_event_id: int | None) -> None:
        """Queue a new call (its event id; None from a server that does not send it: chime only)."""
        with self._cv:
            if len(self._pending) >= MAX_PENDING:
                dropped, _ = self._pending.popleft()
                metrics.observe_announcement("dropped")
                logger.warning("screen %s: too many queue calls waiting to be said: call %s left out",
                               self.screen, dropped)
            self._pending.append((call_event_id, time.monotonic()))
            self._cv.notify()

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify()
        self._ended.set()
        if self._thread.is_alive():
            self._thread.join(MAX_SOUND_S + 5)
        self._mp.release()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._pending and not self._closed:
                    self._cv.wait()
                if self._closed:
                    return
                call, queued = self._pending.popleft()
            if time.monotonic() - queued > STALE_S:
                metrics.observe_announcement("dropped")
                logger.warning("screen %s: queue call %s waited %.0f s to be said: left out", self.screen, call,
                               time.monotonic() - queued)
                continue
            try:
                self._say(call)
            except Exception:   # noqa: BLE001 - a sound must never end the thread (or the player)
                logger.exception("screen %s: saying queue call %s failed", self.screen, call)

    def _say(self, call: int | None) -> None:
        self.calls += 1
        if self._chime is not None:
            self._play(self._chime)
            logger.info("screen %s: chime for a new queue call", self.screen)
        if call is None or self._fetch is None:
            return
        try:
            data, source = self._fetch(call)
        except Exception as e:   # noqa: BLE001 - offline, refused, too big: the chime was it
            metrics.observe_announcement("failed")
            logger.warning("screen %s: announcement of queue call %s not fetched: %s", self.screen, call, e)
            return
        if source == "chime" and self._chime is not None:
            return           # the server has no speech either: one chime is enough
        path = self._spool / f"announcement-{call}.wav"
        path.write_bytes(data)
        try:
            t0 = time.monotonic()
            ended = self._play(path)
        finally:
            path.unlink(missing_ok=True)
        self.spoken += 1
        metrics.observe_announcement("spoken" if source == "espeak-ng" else source)
        logger.info("screen %s: announced queue call %s (%s, %.1f s%s)", self.screen, call, source,
                    time.monotonic() - t0, "" if ended else ", cut off")

    def _play(self, path: Path) -> bool:
        """Play ``path`` to its end (True) or for at most :data:`MAX_SOUND_S` (False)."""
        m = self._instance.media_new_path(str(path))
        self._mp.set_media(m)
        m.release()
        self._ended.clear()
        self._mp.play()
        ended = self._ended.wait(MAX_SOUND_S)
        self._mp.stop()
        return ended
