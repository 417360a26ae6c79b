"""/healthz, /readyz and /metrics of the API, on both backends with the real S3 server."""
from __future__ import annotations

import socket
import time

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session

from api.app import create_app
from storage.engine import make_engine
from storage.jobs import enqueue
from storage.objects import ObjectStore


def _samples(body: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(body) for s in fam.samples}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_health_and_ready_need_no_auth(app_env):
    c = app_env.client()
    assert c.get("/healthz").json() == {"ok": True}
    r = c.get("/readyz")
    assert r.status_code == 200 and r.json() == {"ready": True}


def test_not_ready_when_the_store_is_down(app_env):
    dead = ObjectStore(endpoint=f"127.0.0.1:{_closed_port()}", access_key="k", secret_key="s" * 8, bucket="cw-dead",
                       timeout_s=1.0)
    r = TestClient(create_app(engine=app_env.engine, store=dead)).get("/readyz")
    assert r.status_code == 503 and r.json() == {"ready": False, "reasons": ["object store unreachable"]}
    assert "127.0.0.1" not in r.text


def test_not_ready_when_the_database_is_down(app_env, tmp_path):
    gone = make_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'cw.db'}")
    r = TestClient(create_app(engine=gone, store=app_env.store)).get("/readyz")
    assert r.status_code == 503 and r.json()["reasons"] == ["database unreachable"]
    m = TestClient(create_app(engine=gone, store=app_env.store)).get("/metrics")
    assert m.status_code == 200 and _samples(m.text)[("counterwatch_metrics_db_up", ())] == 0


def test_metrics_count_flags_jobs_and_latency(app_env):
    now = time.time()
    iid = app_env.add_interaction(wall_start_s=now - 100, segments=[(0, 3, "staff", "您好")],
                                  flags=[{"type": "forbidden", "rule": "F-CLOSING"},
                                         {"type": "forbidden", "rule": "F-CLOSING"},
                                         {"type": "missing_courtesy", "rule": "C-THANKS"}])
    with Session(app_env.engine) as s, s.begin():
        enqueue(s, kind="plan", key="plan:x", payload={})
    time.sleep(0.2)
    viewer = app_env.make_user("viewer")
    c = app_env.client(viewer)
    assert c.get(f"/api/v1/interactions/{iid}").status_code == 200
    assert c.get("/api/v1/interactions/2147483000").status_code == 404
    m = app_env.client().get("/metrics")       # no token needed
    assert m.status_code == 200 and m.headers["content-type"].startswith("text/plain")
    got = _samples(m.text)
    assert got[("counterwatch_flags", (("review_state", "open"), ("rule", "F-CLOSING"), ("type", "forbidden")))] == 2
    assert got[("counterwatch_flags", (("review_state", "open"), ("rule", "C-THANKS"),
                                       ("type", "missing_courtesy")))] == 1
    assert got[("counterwatch_jobs", (("kind", "plan"), ("state", "queued")))] == 1
    assert 0.2 <= got[("counterwatch_job_queue_oldest_age_seconds", ())] < 60
    route = "/api/v1/interactions/{interaction_id}"
    ok = (("method", "GET"), ("route", route), ("status", "200"))
    missing = (("method", "GET"), ("route", route), ("status", "404"))
    assert got[("counterwatch_api_request_duration_seconds_count", ok)] == 1
    assert got[("counterwatch_api_request_duration_seconds_count", missing)] == 1
    # Raw paths (with ids) and transcript text never become labels.
    routes = {dict(labels)["route"] for name, labels in got if name.startswith("counterwatch_api_request")}
    assert all("{" in r or r in ("/healthz", "/metrics", "/readyz", "unmatched") for r in routes), routes
    assert "您好" not in m.text
