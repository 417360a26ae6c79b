"""Helpers of the signage tests: waiting for a condition, the API served by uvicorn."""
from __future__ import annotations

from typing import Any

from tests.support.net import AppServer, wait_for

__all__ = ["serve", "wait_for"]


def serve(app: Any, port: int) -> tuple[Any, Any, int]:
    """uvicorn in a thread on ``port`` (0: any); returns (server, thread, port)."""
    s = AppServer(app, port).start()
    return s.server, s.thread, s.port
