"""The agent's long poll for live on demand (issue 23): ``GET /api/v1/agent/live/wanted`` answers
the counter's state at once when it differs from the agent's, as soon as a listener's claim
appears while the agent waits (the claim written by another process, here another thread and
connection), after ``wait_s`` when nothing changed; agents only, their own counter."""
from __future__ import annotations

import threading
import time

from sqlalchemy.orm import Session

from services import live
from services.tokens import issue_agent_token
from storage.tables import Counter
from tests.support.stack import AppEnv

URL = "/api/v1/agent/live/wanted"


def test_the_long_poll_answers_when_a_listener_claims_the_counter(app_env: AppEnv) -> None:
    env = app_env
    cid, other = env.counter_id("hall", "c1"), env.counter_id("hall", "c2")
    agent = env.client(issue_agent_token(env.engine, site="hall", counter="c1", actor="test").token, console=False)
    r = agent.get(URL, params={"wanted": "false", "wait_s": 0})
    assert r.status_code == 200 and r.json() == {"wanted": False}
    with Session(env.engine) as s:
        assert s.get(Counter, cid).live_asked_s is not None        # this agent asks: it sends on demand
        assert s.get(Counter, other).live_asked_s is None
    t0 = time.monotonic()
    assert agent.get(URL, params={"wanted": "false", "wait_s": 1}).json() == {"wanted": False}
    assert time.monotonic() - t0 >= 0.9                              # waited: nothing changed
    live.want_live(env.engine, other)                                 # another counter's listener
    claim = threading.Timer(1.0, live.want_live, args=(env.engine, cid))
    claim.start()
    t0 = time.monotonic()
    assert agent.get(URL, params={"wanted": "false", "wait_s": 20}).json() == {"wanted": True}
    waited = time.monotonic() - t0
    assert 0.9 <= waited < 10, waited                                 # woken by the claim, not the timeout
    claim.join()
    # The claim lapses (no listener renews it): the agent waiting in the "wanted" state hears it.
    with Session(env.engine) as s, s.begin():
        s.get(Counter, cid).live_wanted_until_s = time.time() + 1.0
    t0 = time.monotonic()
    assert agent.get(URL, params={"wanted": "true", "wait_s": 20}).json() == {"wanted": False}
    assert time.monotonic() - t0 < 10


def test_the_long_poll_is_for_agents_only_and_bounded(app_env: AppEnv) -> None:
    env = app_env
    agent = env.client(issue_agent_token(env.engine, site="hall", counter="c1", actor="test").token, console=False)
    assert agent.get(URL, params={"wait_s": 31}).status_code == 422
    assert agent.get(URL, params={"wait_s": -1}).status_code == 422
    assert env.client(env.token("supervisor"), console=False).get(URL).status_code == 403
    assert env.client(None, console=False).get(URL).status_code == 401
