"""Every request gives its database connections back (issue 22, item 3).

A route gets its read session from one dependency (api.deps.ReadDb), closed as the route
function returns, before a body is streamed, and writes through services on the engine
(api.deps.Writer). Here a real uvicorn serves an app over a pool of its own, and after each kind
of request (a read, a write, a streamed recording, a long poll the client cuts short) the pool
has every connection back and the gate of read sessions (api.db_gate) every slot; while a
recording streams and while an agent's long poll waits, the request holds no slot.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from api.app import create_app
from api.db_gate import slots
from services.tokens import issue_agent_token
from storage.engine import make_engine
from tests.support.net import serve_app
from tests.support.stack import RATE, AppEnv

API = "/api/v1"
#: Generous for a loaded box: the longest any wait here polls for a state.
PATIENCE_S = 30.0


def _until(what: str, ok: Callable[[], bool]) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while not ok():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _free_slots(app: FastAPI) -> int:
    gate = getattr(app.state, "db_gate", None)      # made at the first read session
    return -1 if gate is None else gate._value       # asyncio.Semaphore keeps its count there


class Served:
    def __init__(self, app: FastAPI, engine: Engine, url: str) -> None:
        self.app, self.engine, self.url = app, engine, url

    def all_back(self) -> bool:
        return self.engine.pool.checkedout() == 0 and _free_slots(self.app) == slots(self.engine)

    def assert_all_back(self, after: str) -> None:
        _until(f"after {after}: {self.engine.pool.checkedout()} connections out, "
               f"{_free_slots(self.app)} of {slots(self.engine)} slots free", self.all_back)


@pytest.fixture()
def served(app_env: AppEnv, db_url: str) -> Iterator[Served]:
    engine = make_engine(db_url, pool_size=4, max_overflow=4, pool_timeout_s=10.0)
    app = create_app(engine=engine, store=app_env.store)
    try:
        with serve_app(app) as url:
            yield Served(app, engine, url)
    finally:
        engine.dispose()


def _client(served: Served, token: str, **kw: object) -> httpx.Client:
    return httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {token}"}, **kw)


def test_reads_and_writes_give_back_every_connection(app_env: AppEnv, served: Served) -> None:
    iid = app_env.add_interaction(segments=[(0.0, 2.0, "staff", "您好，请问办理什么业务")],
                                  flags=[{"type": "forbidden", "rule": "F-OFF-DUTY", "phrase": "下班"}])
    with _client(served, app_env.token("supervisor"), timeout=60) as c:
        r = c.get(f"{API}/interactions/{iid}")                            # a read, audited
        assert r.status_code == 200
        served.assert_all_back("a read")
        flag_id = r.json()["flags"][0]["id"]
        r = c.post(f"{API}/flags/{flag_id}/review", json={"state": "confirmed", "note": "已听录音"})   # a write
        assert r.status_code == 200 and r.json()["review_state"] == "confirmed"
        served.assert_all_back("a write")
        r = c.get(f"{API}/interactions/{iid + 1000}")                      # not there: audited by the error handler
        assert r.status_code == 404
        served.assert_all_back("a refusal")
    with _client(served, app_env.token("admin"), timeout=60) as c:      # a write that reads what it wrote
        r = c.post(f"{API}/signage/screens", json={"site": "hall", "name": "lobby"})
        assert r.status_code == 201 and r.json()["name"] == "lobby"
        r = c.patch(f"{API}/signage/screens/lobby", json={"display_name": "一楼大厅屏"})
        assert r.status_code == 200 and r.json()["label"] == "一楼大厅屏"
        served.assert_all_back("a write read back")


def test_a_streamed_recording_holds_no_connection_while_it_is_sent(app_env: AppEnv, served: Served,
                                                                   speech: np.ndarray) -> None:
    sess = app_env.store_session(speech, chunk_s=2.0)
    iid = app_env.add_interaction(session=sess.id, start_sample=0, end_sample=int(20 * RATE))
    with _client(served, app_env.token("supervisor"), timeout=60) as c:
        with c.stream("GET", f"{API}/interactions/{iid}/audio", headers={"Range": "bytes=0-"}) as r:
            assert r.status_code == 206
            parts = r.iter_bytes(4096)
            first = next(parts)
            assert first[:4] == b"RIFF"
            # The body is still being sent: the read session was closed before it.
            assert _free_slots(served.app) == slots(served.engine)
            body = first + b"".join(parts)
        assert len(body) == int(r.headers["content-length"])
        served.assert_all_back("a streamed recording")
        r = c.get(f"{API}/interactions/{iid}/evidence", params={"format": "wav"})   # released early
        assert r.status_code == 200 and r.content[:4] == b"RIFF"
        served.assert_all_back("an evidence file")


def test_a_long_poll_cut_short_holds_and_leaves_no_connection(app_env: AppEnv, served: Served) -> None:
    token = issue_agent_token(app_env.engine, site="hall", counter="c1", actor="test").token
    outcome: list[BaseException | int] = []

    def poll() -> None:
        try:
            with _client(served, token, timeout=httpx.Timeout(60, read=2.0)) as c:
                outcome.append(c.get(f"{API}/agent/live/wanted", params={"wanted": "false", "wait_s": 8}).status_code)
        except httpx.ReadTimeout as e:      # the client gives up while the server waits
            outcome.append(e)

    t = threading.Thread(target=poll)
    t.start()
    try:
        demand = lambda: getattr(served.app.state, "live_demand", None)    # noqa: E731
        _until("the agent waits", lambda: demand() is not None and len(demand()._waiters) == 1)
        # Waiting: no read session open (the demand's own poll takes a connection now and then).
        assert _free_slots(served.app) == slots(served.engine)
    finally:
        t.join(PATIENCE_S)
    assert len(outcome) == 1 and isinstance(outcome[0], httpx.ReadTimeout), outcome
    served.assert_all_back("a long poll cut short")


def test_a_slow_upload_holds_no_connection_while_its_body_comes(app_env: AppEnv, served: Served) -> None:
    """An agent's chunk (and a live segment, a screenshot, a staff photo: the same early release)
    whose body trickles in holds neither a pooled connection nor a slot of the gate meanwhile."""
    token = issue_agent_token(app_env.engine, site="hall", counter="c1", actor="test").token
    sent_first, go_on = threading.Event(), threading.Event()

    def body() -> Iterator[bytes]:
        yield b"fLaC"
        sent_first.set()
        go_on.wait(PATIENCE_S)
        yield b"\0" * 60        # not a FLAC chunk: refused once it has all come
    outcome: list[int] = []

    def upload() -> None:
        params = {"recording": "a" * 32, "seq": 0, "start_sample": 0, "samples": 16000, "sample_rate_hz": 16000,
                  "channels": 1, "sha256": "0" * 64, "size_bytes": 64, "recording_start_s": time.time() - 10,
                  "rms_dbfs": -30.0, "peak_dbfs": -10.0}
        with _client(served, token, timeout=60) as c:
            r = c.post(f"{API}/agent/chunks", params=params, content=body(), headers={"Content-Type": "audio/flac"})
            outcome.append(r.status_code)

    t = threading.Thread(target=upload)
    t.start()
    try:
        assert sent_first.wait(PATIENCE_S)
        # The route reads the body now: its read session (the token check's) was closed first.
        _until("the route waits for the body with no read session open", lambda: bool(outcome) or (
            _free_slots(served.app) == slots(served.engine) and served.engine.pool.checkedout() == 0))
        assert not outcome, f"the upload ended before its body had all come: {outcome}"
    finally:
        go_on.set()
        t.join(PATIENCE_S)
    assert outcome and outcome[0] == 422, outcome
    served.assert_all_back("a slow upload")
