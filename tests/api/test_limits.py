"""Limits before trust (issue 18): body limits enforced while the body streams, before
authentication and JSON parsing; 422 answers never echo the input."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from api.limits import JSON_LIMIT_BYTES, LIMITS, limit_for
from tests.support.stack import AppEnv

MB = 1024 * 1024


def _rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


class RssPeak:
    """The largest resident size of this process (the uvicorn server runs in it) while running."""

    def __init__(self) -> None:
        self.peak = self.start = _rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, _rss_bytes())

    def __enter__(self) -> RssPeak:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)


def _junk(total: int, part: int = 64 * 1024) -> Iterator[bytes]:
    block = b'{"name": "' + b"x" * (part - 10)
    sent = 0
    while sent < total:
        yield block
        sent += len(block)


def test_every_route_has_a_limit_and_json_bodies_a_few_hundred_kb():
    assert 100 * 1024 <= JSON_LIMIT_BYTES <= 512 * 1024
    assert limit_for("POST", "/api/v1/auth/login") == JSON_LIMIT_BYTES
    assert limit_for("POST", "/api/v1/agent/chunks") > 32 * MB
    assert limit_for("POST", "/api/v1/agent/live") < limit_for("POST", "/api/v1/agent/chunks")
    assert all(limit > JSON_LIMIT_BYTES for _m, _p, limit in LIMITS)


@pytest.mark.slow
def test_100_mb_streamed_to_login_is_refused_413_with_memory_flat(app_env: AppEnv, live_server):
    url = live_server()
    with RssPeak() as rss, httpx.Client(timeout=120) as client:
        t0 = time.monotonic()
        # chunked: no Content-Length, so only counting the stream can stop it
        r = client.post(f"{url}/api/v1/auth/login", content=_junk(100 * MB),
                        headers={"Content-Type": "application/json", "X-Counterwatch": "1"})
        took_s = time.monotonic() - t0
    assert r.status_code == 413, r.text[:300]
    detail = r.json()["detail"]
    assert detail["code"] == "body_too_large" and "过大" in detail["message"]
    assert len(r.content) < 2000 and b"xxxxxxxx" not in r.content
    # the server held at most a few of the 64 KB parts, never the 100 MB
    assert rss.peak - rss.start < 40 * MB, f"RSS grew by {(rss.peak - rss.start) / MB:.0f} MB"
    assert took_s < 100


@pytest.mark.slow
def test_a_forged_bearer_token_gets_413_not_a_read_body(app_env: AppEnv, live_server):
    url = live_server()
    with RssPeak() as rss, httpx.Client(timeout=120) as client:
        r = client.post(f"{url}/api/v1/complaints", content=_junk(20 * MB),
                        headers={"Authorization": "Bearer cw_forged", "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["detail"]["code"] == "body_too_large"
    assert rss.peak - rss.start < 40 * MB


def test_a_declared_length_over_the_limit_is_refused_before_authentication(app_env: AppEnv):
    body = b"{" + b" " * (JSON_LIMIT_BYTES + 10) + b"}"
    r = app_env.client().post("/api/v1/auth/login", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["detail"]["code"] == "body_too_large"
    # a body within the limit still reaches the route (and its validation)
    r = app_env.client().post("/api/v1/auth/login", json={"name": "nobody", "password": "x" * 1000})
    assert r.status_code == 422
    # an agent route: its own limit, far above JSON's, still refused past it
    token = app_env.token("agent", [])
    r = app_env.client(token).post("/api/v1/agent/live", content=b"\0" * (limit_for("POST", "/api/v1/agent/live") + 1))
    assert r.status_code == 413


def test_a_422_never_echoes_the_input(app_env: AppEnv):
    secret = "s3cret-" + "p" * 5000
    r = app_env.client().post("/api/v1/auth/login", json={"name": ["not", "a", "string", secret], "password": secret * 20})
    assert r.status_code == 422
    assert secret[:20] not in r.text and len(r.content) < 3000
    for e in r.json()["detail"]:
        assert set(e) <= {"loc", "msg", "type", "message"}
