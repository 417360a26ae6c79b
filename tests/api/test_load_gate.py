"""Many clients at once never run the connection pool dry (issue 12, item 1).

A request holds a pooled connection for its read session and, while it audits, a second one;
FastAPI runs a request's dependencies and its route as separate thread-pool calls. Before the
read sessions were gated (api.db_gate), more concurrent requests than connections deadlocked
until the pool timeout: bench/load.py saw every request of 100 clients time out on SQLite.
Here the pool is 2 + 2 connections and 60 clients send transcript reads, searches and
review listings at once through a real uvicorn: every one is answered, on both backends.
"""
from __future__ import annotations

import concurrent.futures
import time

import httpx
import pytest

from api.app import create_app
from api.db_gate import slots
from storage.engine import make_engine
from tests.support.net import serve_app
from tests.support.stack import AppEnv

CLIENTS = 60


@pytest.mark.slow     # over 10 s on the loaded box: the full suite's, not the fast loop's
def test_sixty_clients_over_a_pool_of_four_are_all_answered(app_env: AppEnv, db_url: str):
    inter = app_env.add_interaction(segments=[(0.0, 2.0, "staff", "您好，请问办理什么业务")],
                                    flags=[{"type": "forbidden", "rule": "F-OFF-DUTY", "phrase": "下班"}])
    token = app_env.token("supervisor")
    engine = make_engine(db_url, pool_size=2, max_overflow=2, pool_timeout_s=10.0)
    assert slots(engine) == 2
    app = create_app(engine=engine, store=app_env.store)
    paths = [f"/api/v1/interactions/{inter}", "/api/v1/interactions/search?q=办理什么", "/api/v1/flags?review_state=open"]
    with serve_app(app) as url:
        def client(i: int) -> list[int]:
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
                return [c.get(paths[(i + k) % len(paths)]).status_code for k in range(3)]

        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(CLIENTS) as ex:
            codes = [code for codes in ex.map(client, range(CLIENTS)) for code in codes]
        took = time.monotonic() - t0
    engine.dispose()
    assert codes == [200] * (3 * CLIENTS)
    # Without the gate, requests deadlock until the pool timeout (10 s) and then answer 500.
    print(f"{3 * CLIENTS} requests in {took:.1f} s")
