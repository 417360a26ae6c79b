"""Free loopback ports, waiting for a condition, and an ASGI app served by uvicorn in a thread."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from storage.s3server import free_port

__all__ = ["free_port", "wait_for", "serve_app", "AppServer"]


def wait_for(check: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Poll ``check`` until it is true; return how long that took, or fail naming ``what``."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if check():
            return time.monotonic() - t0
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout_s} s")


class AppServer:
    """uvicorn serving ``app`` on 127.0.0.1 from a daemon thread; ``port`` 0 takes a free one."""

    def __init__(self, app: Any, port: int = 0) -> None:
        import uvicorn

        self.port = port or free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None,
                                                    access_log=False, lifespan="off",
                                                    timeout_graceful_shutdown=3))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> AppServer:
        self.thread.start()
        wait_for(lambda: self.server.started, 15, "uvicorn started")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@contextmanager
def serve_app(app: Any, port: int = 0) -> Iterator[str]:
    """Serve ``app`` until the block ends; yields its base URL."""
    server = AppServer(app, port).start()
    try:
        yield server.url
    finally:
        server.stop()
