"""The measured live delay (issue 20 item 7): a listener that names its stream (``listen``) asks
``GET /counters/{id}/live/delay`` how far behind capture its player is at a position of that
stream. Segments are sent by a real agent client through the API into the S3 server and the
database (SQLite and PostgreSQL), captured 30 s before they are sent (a link holding them back),
so the delay measured is that old: it is the capture time's, not an estimate."""
from __future__ import annotations

import time
import uuid

import httpx
import numpy as np
import pytest

from api.app import create_app
from domain.flac import encode_flac
from recorder.client import AgentClient
from services.live import LiveLedger, LiveSegmentFollower
from services.tokens import issue_agent_token
from storage.engine import read_session
from tests.api.test_live import Listener
from tests.support.stack import RATE, AppEnv

HELD_S = 30.0               # the segments are captured this long before they are sent
LISTEN = "dock0123456789ab"
FRAME_BYTES = 4             # stereo int16


def _send(agent: AgentClient, speech: np.ndarray, *, session: str, wall0: float, seq: int) -> None:
    part = speech[seq * RATE:(seq + 1) * RATE]
    agent.send_live(session=session, seq=seq, start_sample=seq * RATE, samples=len(part),
                    session_wall_start_s=wall0, data=encode_flac(part, RATE))


def _delay(url: str, token: str, cid: int, position_s: float, listen: str = LISTEN) -> httpx.Response:
    return httpx.get(f"{url}/api/v1/counters/{cid}/live/delay", params={"listen": listen, "position_s": position_s},
                     headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_the_delay_is_measured_from_the_capture_time_of_what_plays(app_env: AppEnv, live_server,
                                                                    speech: np.ndarray):
    env = app_env
    url = live_server()
    agent = AgentClient(api_url=live_server(create_app(engine=env.engine, store=env.store)),
                        token=issue_agent_token(env.engine, site="hall", counter="c1", actor="test").token)
    session, wall0 = uuid.uuid4().hex, time.time() - HELD_S
    _send(agent, speech, session=session, wall0=wall0, seq=0)
    cid = env.counter_id("hall", "c1")
    tok = env.token("supervisor")
    listener = Listener(f"{url}/api/v1/counters/{cid}/live?max_s=60&listen={LISTEN}", tok)
    listener.start()
    listener.wait_for(44 + 1)           # the header and the start of the newest segment
    _send(agent, speech, session=session, wall0=wall0, seq=1)
    first_s = 0.1                      # the newest segment is cut to start ~1.5 s before now: its last 0.1 s
    listener.wait_for(44 + int((first_s + 1.0) * RATE) * FRAME_BYTES)

    # In segment 1, 0.5 s into it: captured at wall0 + 1.5 (the agent's sample clock)
    t0 = time.time()
    r = _delay(url, tok, cid, first_s + 0.5)
    t1 = time.time()
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["captured_s"] == pytest.approx(wall0 + 1.5, abs=0.01)
    assert t0 - 0.01 <= got["measured_s"] <= t1 + 0.01
    assert got["delay_s"] == pytest.approx(got["measured_s"] - got["captured_s"], abs=0.002)
    assert HELD_S - 1.5 <= got["delay_s"] <= HELD_S + (t1 - wall0 - HELD_S) + 0.1
    # In the cut first segment: its first sample was the segment's 0.9 s
    first = _delay(url, tok, cid, 0.05).json()
    assert first["captured_s"] == pytest.approx(wall0 + 0.95, abs=0.01)
    # The delay goes on growing while the position stands still (a stalled player)
    time.sleep(0.3)
    assert _delay(url, tok, cid, first_s + 0.5).json()["delay_s"] > got["delay_s"] + 0.2

    # Not measured (delay_s null, not an error: the console asks every second): a position not
    # sent yet, another listener's id, another supervisor asking with this one's id
    assert _delay(url, tok, cid, first_s + 30).json()["delay_s"] is None
    assert _delay(url, tok, cid, 0.5, listen="someoneelse1").json()["delay_s"] is None
    assert _delay(url, env.token("supervisor"), cid, 0.5).json()["delay_s"] is None
    assert _delay(url, tok, env.counter_id("hall", "c2"), 0.5).json()["delay_s"] is None
    # Role- and site-checked; the field is named when the input is bad
    assert _delay(url, env.token("viewer"), cid, 0.5).status_code == 403
    r = _delay(url, env.token("supervisor", ["annex"]), cid, 0.5)
    assert r.status_code == 404 and r.json()["detail"]["code"] == "counter_not_found"
    assert httpx.get(f"{url}/api/v1/counters/{cid}/live/delay", params={"listen": LISTEN, "position_s": 1},
                     timeout=30).status_code == 401
    for bad in ({"listen": "x", "position_s": 1}, {"listen": "a/b../c%00defgh", "position_s": 1},
                {"listen": LISTEN, "position_s": -1}, {"listen": LISTEN, "position_s": "nan"}, {"listen": LISTEN}):
        r = httpx.get(f"{url}/api/v1/counters/{cid}/live/delay", params=bad, timeout=30,
                      headers={"Authorization": f"Bearer {tok}"})
        assert r.status_code == 422, (bad, r.text)
        assert {e["loc"][-1] for e in r.json()["detail"]} <= {"listen", "position_s"}
    # The stream (and its id) is audited when opened
    (row,) = env.audit_rows("audio.live")
    assert row.detail.endswith(f"收听编号 {LISTEN}") and row.target == f"counter:{cid}"
    assert env.audit_rows("audio.live_delay") == []
    listener.join(0)


def test_a_segment_not_the_newest_takes_its_capture_time_from_the_store(app_env: AppEnv, live_server,
                                                                       speech: np.ndarray):
    env = app_env
    agent = AgentClient(api_url=live_server(),
                        token=issue_agent_token(env.engine, site="hall", counter="c1", actor="test").token)
    session, wall0 = uuid.uuid4().hex, time.time() - HELD_S
    for seq in range(3):
        _send(agent, speech, session=session, wall0=wall0, seq=seq)
    follower = LiveSegmentFollower(env.counter_id("hall", "c1"))
    with read_session(env.engine) as s:
        newest = follower.start(s, env.store)
    assert newest is not None and newest.seq == 2
    assert newest.wall_start_s == pytest.approx(wall0 + 2 + (RATE - len(newest.pcm)) / RATE, abs=1e-6)
    older = follower.fetch(env.store, session, 0)      # not the row's newest: from its metadata
    assert older is not None and older.wall_start_s == pytest.approx(wall0, abs=1e-6)


def test_a_ledger_maps_stream_positions_to_capture_times():
    ledger = LiveLedger(counter_id=1, user_id=1, keep=3)
    assert ledger.captured_s(0.0) is None
    ledger.add(seconds=0.5, wall_start_s=100.5)
    ledger.add(seconds=1.0, wall_start_s=None)        # a segment whose capture time the store did not say
    ledger.add(seconds=1.0, wall_start_s=110.0)       # the listener skipped ahead
    assert ledger.captured_s(0.25) == 100.75
    assert ledger.captured_s(1.0) is None
    assert ledger.captured_s(2.0) == 110.5
    assert ledger.captured_s(2.6) is None             # not sent yet
    ledger.add(seconds=1.0, wall_start_s=111.0)
    assert ledger.captured_s(0.25) is None            # no longer kept
    assert ledger.captured_s(2.75) == 111.25
