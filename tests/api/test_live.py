"""Live listen over a real HTTP server: chunks stored while the stream is open arrive within
a poll interval, across an agent restart and from two API processes at once."""
from __future__ import annotations

import threading
import time
import uuid

import httpx
import numpy as np
import pytest

from api.app import create_app
from api.routes.live import LIVE_POLL_S
from services.audio import WAV_HEADER_BYTES
from storage.engine import make_engine
from tests.support.stack import RATE, AppEnv

CHUNK = RATE            # 1 s chunks: how an agent is set up for live listening
#: Streams are asked for a minute: each test stops reading once it has what it expects, so a
#: loaded machine (slow stores, slow polls) never ends a stream before its chunks arrive.
MAX_S = 60.0
#: How long a test waits for audio it expects (poll-until): generous for a loaded machine, and
#: well below MAX_S, so audio held back until the stream ends cannot pass.
DEADLINE_S = 20.0


class Listener(threading.Thread):
    """Reads a live stream, noting when each byte count arrived."""

    def __init__(self, url: str, token: str, *, until_bytes: int | None = None) -> None:
        super().__init__(daemon=True)
        self.url, self.token, self.until_bytes = url, token, until_bytes
        self.arrivals: list[tuple[float, int]] = []      # (monotonic time, bytes so far)
        self.data = bytearray()
        self.status = None
        self.opened = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with httpx.stream("GET", self.url, headers={"Authorization": f"Bearer {self.token}"},
                              timeout=MAX_S + 10) as r:
                self.status = r.status_code
                self.opened.set()
                for part in r.iter_raw():
                    self.data += part
                    self.arrivals.append((time.monotonic(), len(self.data)))
                    if self.until_bytes is not None and len(self.data) >= self.until_bytes:
                        break       # what the test expects has come: hang up
        except BaseException as e:  # reported by the test
            self.error = e
            self.opened.set()

    def when(self, n_bytes: int) -> float:
        return next(t for t, n in self.arrivals if n >= n_bytes)

    def wait_for(self, n_bytes: int, timeout_s: float = DEADLINE_S) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.data) < n_bytes:
            assert time.monotonic() < deadline, f"only {len(self.data)} of {n_bytes} bytes arrived"
            time.sleep(0.01)


def _pcm(speech: np.ndarray, k: int) -> np.ndarray:
    return speech[k * CHUNK:(k + 1) * CHUNK]


def test_live_stream_delivers_chunks_stored_after_it_started(app_env: AppEnv, live_server, speech: np.ndarray):
    env = app_env
    url = live_server()
    session, wall0 = uuid.uuid4().hex, time.time() - 60
    for k in (0, 1):                                 # recorded before anyone listens
        env.store_chunk(site="hall", counter="c1", session=session, wall0=wall0, seq=k, start=k * CHUNK,
                        part=_pcm(speech, k))
    tok = env.token("supervisor")
    cid = env.counter_id("hall", "c1")
    block = CHUNK * 2 * 2
    listener = Listener(f"{url}/api/v1/counters/{cid}/live?max_s={MAX_S}", tok, until_bytes=WAV_HEADER_BYTES + 4 * block)
    listener.start()
    listener.wait_for(WAV_HEADER_BYTES + block)      # the newest stored chunk comes at once
    stored_at = []
    for k in (2, 3):                                 # the agent goes on recording
        env.store_chunk(site="hall", counter="c1", session=session, wall0=wall0, seq=k, start=k * CHUNK,
                        part=_pcm(speech, k))
        stored_at.append(time.monotonic())
        listener.wait_for(WAV_HEADER_BYTES + k * block)  # comes on the open stream, before the next is stored
    restarted = uuid.uuid4().hex                     # the agent restarts: a new session
    env.store_chunk(site="hall", counter="c1", session=restarted, wall0=time.time(), seq=0, start=0,
                    part=_pcm(speech, 4))
    stored_at.append(time.monotonic())
    listener.join(DEADLINE_S)
    assert not listener.is_alive(), f"only {len(listener.data)} bytes arrived"
    assert listener.error is None and listener.status == 200

    expected = np.concatenate([_pcm(speech, k) for k in (1, 2, 3, 4)])
    head, body = bytes(listener.data[:WAV_HEADER_BYTES]), bytes(listener.data[WAV_HEADER_BYTES:])
    assert head[:4] == b"RIFF" and head[8:16] == b"WAVEfmt " and head[36:40] == b"data"
    assert np.array_equal(np.frombuffer(body, "<i2").reshape(-1, 2), expected)
    # Seen at a next poll (every LIVE_POLL_S, plus fetch and decode; well under 1 s on an idle
    # machine), not when the stream ends: a generous bound, for a loaded machine.
    delays = [listener.when(WAV_HEADER_BYTES + (i + 2) * block) - t for i, t in enumerate(stored_at)]
    assert max(delays) < 40 * LIVE_POLL_S < MAX_S, delays
    (row,) = env.audit_rows("audio.live")
    assert (row.user_name, row.target) == (env.names[tok], f"counter:{cid}")
    assert row.detail.startswith(f"窗口 hall/c1 回放最近录音，录音会话 {session}，")


def test_two_api_processes_serve_the_same_live_audio(app_env: AppEnv, live_server, speech: np.ndarray,
                                                     db_url: str):
    """No per-process state: a second app over the same database and store streams the same."""
    env = app_env
    engine2 = make_engine(db_url)
    try:
        urls = [live_server(), live_server(create_app(engine=engine2, store=env.store))]
        session, wall0 = uuid.uuid4().hex, time.time() - 60
        env.store_chunk(site="hall", counter="c2", session=session, wall0=wall0, seq=0, start=0, part=_pcm(speech, 0))
        cid = env.counter_id("hall", "c2")
        listeners = [Listener(f"{u}/api/v1/counters/{cid}/live?max_s={MAX_S}", env.token("admin", []),
                              until_bytes=WAV_HEADER_BYTES + 2 * CHUNK * 4) for u in urls]
        for li in listeners:
            li.start()
            li.wait_for(WAV_HEADER_BYTES + CHUNK * 4)
        env.store_chunk(site="hall", counter="c2", session=session, wall0=wall0, seq=1, start=CHUNK,
                        part=_pcm(speech, 1))
        for li in listeners:
            li.join(DEADLINE_S)
            assert not li.is_alive() and li.error is None, len(li.data)
        assert listeners[0].data == listeners[1].data
        assert len(listeners[0].data) == WAV_HEADER_BYTES + 2 * CHUNK * 4
        assert len(env.audit_rows("audio.live")) == 2
    finally:
        engine2.dispose()


def test_live_needs_a_supervisor_of_the_site(app_env: AppEnv, speech: np.ndarray):
    env = app_env
    env.store_chunk(site="hall", counter="c1", session=uuid.uuid4().hex, wall0=time.time(), seq=0, start=0,
                    part=_pcm(speech, 0))
    cid = env.counter_id("hall", "c1")
    path = f"/api/v1/counters/{cid}/live"
    assert env.client().get(path).status_code == 401
    assert env.client(env.token("viewer")).get(path).status_code == 403
    r = env.client(env.token("supervisor", ["annex"])).get(path)
    assert r.status_code == 404 and r.json()["detail"]["code"] == "counter_not_found"
    assert r.json()["detail"]["what"] == f"counter {cid}"
    silent = env.counter_id("annex", "a1")
    assert env.client(env.token("supervisor", ["annex"])).get(f"/api/v1/counters/{silent}/live").status_code == 404
    for bad in ("0", "x", "1%2F..", "99999999999"):
        assert env.client(env.token("admin", [])).get(f"/api/v1/counters/{bad}/live").status_code in (404, 422)
    for q in ("max_s=0", "max_s=100000", "backlog_chunks=-1"):
        assert env.client(env.token("admin", [])).get(f"{path}?{q}").status_code == 422
    assert env.audit_rows("audio.live") == []


@pytest.mark.parametrize("backlog", [0, 2])
def test_backlog_chunks(app_env: AppEnv, live_server, speech: np.ndarray, backlog: int):
    env = app_env
    session, wall0 = uuid.uuid4().hex, time.time() - 60
    for k in range(3):
        env.store_chunk(site="hall", counter="c1", session=session, wall0=wall0, seq=k, start=k * CHUNK,
                        part=_pcm(speech, k))
    cid = env.counter_id("hall", "c1")
    li = Listener(f"{live_server()}/api/v1/counters/{cid}/live?max_s=1&backlog_chunks={backlog}", env.token("admin", []))
    li.start()
    li.join(10)
    assert li.error is None
    body = np.frombuffer(bytes(li.data[WAV_HEADER_BYTES:]), "<i2").reshape(-1, 2)
    assert np.array_equal(body, speech[(3 - backlog) * CHUNK:3 * CHUNK])
