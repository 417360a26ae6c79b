"""Helpers of the signage tests: waiting for a condition, the API served by uvicorn."""
from __future__ import annotations

import threading
import time
from typing import Callable


def wait_for(check: Callable[[], bool], timeout_s: float, what: str) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if check():
            return time.monotonic() - t0
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout_s} s")


def serve(app, port: int):  # noqa: ANN001, ANN201
    """uvicorn in a thread on ``port`` (0: any); returns (server, thread, port)."""
    import socket

    import uvicorn

    if port == 0:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False,
                                           lifespan="off"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    wait_for(lambda: server.started, 15, "API started")
    return server, t, port
