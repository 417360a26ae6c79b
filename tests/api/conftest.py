"""API fixtures beside the shared ones (``app_env`` in tests/conftest.py): real stereo speech,
and a real HTTP server for streaming responses (TestClient buffers whole responses)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi import FastAPI

from domain.flac import decode_flac
from tests.support.net import AppServer
from tests.support.stack import AppEnv

DATA = Path(__file__).parents[1] / "data"


@pytest.fixture(scope="session")
def speech() -> np.ndarray:
    """About 25 s of real stereo speech, int16 (frames, 2)."""
    pcm = decode_flac((DATA / "dev01-stereo-clean.flac").read_bytes())
    assert pcm.shape[1] == 2
    return pcm


@pytest.fixture()
def live_server(app_env: AppEnv) -> Iterator[Callable[[FastAPI | None], str]]:
    """``live_server(app=None)``: serve ``app`` (default: ``app_env.app``) with a real uvicorn
    server on a free loopback port and return its base URL. All are stopped at the end of the test."""
    started: list[AppServer] = []

    def serve(app: FastAPI | None = None) -> str:
        server = AppServer(app or app_env.app).start()
        started.append(server)
        return server.url

    try:
        yield serve
    finally:
        for server in started:
            server.stop()


@pytest.fixture()
def auth_headers() -> Callable[[str], dict[str, str]]:
    return lambda token: {"Authorization": f"Bearer {token}"}
