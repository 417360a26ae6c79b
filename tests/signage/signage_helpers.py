"""Helpers of the signage tests: waiting for a condition, the API served by uvicorn, a screen box."""
from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.net import AppServer, wait_for

__all__ = ["JumpClock", "ScreenBox", "near", "serve", "wait_for"]


def serve(app: Any, port: int) -> tuple[Any, Any, int]:
    """uvicorn in a thread on ``port`` (0: any); returns (server, thread, port)."""
    s = AppServer(app, port).start()
    return s.server, s.thread, s.port


class ScreenBox:
    """A screen box as the player tests run it: the syncer (0.5 s poll, 1 s heartbeat) and the
    player (0.25 s tick) of screen ``lobby`` on threads, until :meth:`stop`."""

    def __init__(self, port: int, token: str, cache_dir: Path, *, clock: Callable[[], float] | None = None) -> None:
        from signage.player import Player, PlayerOptions
        from signage.sync import ApiClient, ContentCache, Syncer

        self.cache = ContentCache(cache_dir)
        self.syncer = Syncer(client=ApiClient(base_url=f"http://127.0.0.1:{port}", token=token), screen="lobby",
                             cache=self.cache, poll_s=0.5, heartbeat_s=1.0, max_backoff_s=1.0)
        self.player = Player(screen="lobby", cache=self.cache, syncer=self.syncer,
                             options=PlayerOptions(tick_s=0.25), **({} if clock is None else {"clock": clock}))
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self.syncer.run, args=(self._stop,)),
                         threading.Thread(target=self.player.run, args=(self._stop,))]

    def start(self) -> ScreenBox:
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(10)


class JumpClock:
    """Real seconds passing from a chosen start; ``jump_to`` moves it (tests walk a day)."""

    def __init__(self, start: dt.datetime) -> None:
        self._lock = threading.Lock()
        self.jump_to(start)

    def jump_to(self, at: dt.datetime) -> None:
        with self._lock:
            self._base, self._t0 = at.timestamp(), time.monotonic()

    def __call__(self) -> float:
        with self._lock:
            return self._base + time.monotonic() - self._t0


def near(px: tuple[int, int, int], rgb: tuple[int, int, int], tol: int = 40) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(px, rgb))
