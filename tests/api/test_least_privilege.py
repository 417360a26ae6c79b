"""Least privilege as documented (issue 18): agent tokens write their own counter's audio only,
queue and rating systems have their own event-source token, tickets cannot carry markup, a
person (not the agent) clears ``chunk-conflict``, a site's admin reads its own site's audit."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.names import BadName
from services.tokens import issue_agent_token, issue_event_token
from storage.tables import Alarm
from tests.support.stack import AppEnv

EVENTS = "/api/v1/events"


def _agent(app_env: AppEnv, counter: str = "c1"):
    return app_env.client(issue_agent_token(app_env.engine, site="hall", counter=counter, actor="test").token)


def test_an_agent_token_posts_no_ratings_queue_calls_or_pauses(app_env: AppEnv):
    agent = _agent(app_env)
    for body in ({"kind": "rating", "level": "满意"}, {"kind": "queue_call", "ticket": "A012"}, {"kind": "pause"}):
        r = agent.post(EVENTS, json={"site": "hall", "counter": "c1", **body})
        assert r.status_code == 403 and r.json()["detail"]["code"] == "role_forbidden", r.text


def test_an_event_source_records_its_own_sites_or_counters_events_only(app_env: AppEnv):
    site = app_env.client(issue_event_token(app_env.engine, site="hall", actor="test").token)
    assert site.post(EVENTS, json={"site": "hall", "counter": "c2", "kind": "queue_call", "ticket": "A012"}).status_code == 201
    assert site.post(EVENTS, json={"site": "hall", "counter": "c1", "kind": "rating", "level": "满意"}).status_code == 201
    assert site.post(EVENTS, json={"site": "annex", "counter": "a1", "kind": "pause"}).status_code == 403
    one = app_env.client(issue_event_token(app_env.engine, site="hall", counter="c1", actor="test").token)
    assert one.post(EVENTS, json={"site": "hall", "counter": "c1", "kind": "pause"}).status_code == 201
    r = one.post(EVENTS, json={"site": "hall", "counter": "c2", "kind": "pause"})
    assert r.status_code == 403 and r.json()["detail"]["code"] == "event_source_binding"
    # it reads nothing and sends no audio
    for path in ("/api/v1/events/now-serving", "/api/v1/counters", "/api/v1/interactions", "/api/v1/agent/hello"):
        assert one.get(path).status_code == 403, path


@pytest.mark.parametrize("ticket", ["<svg onload=x>", "A1<b>", "A 12", "A012\u202e", "\"'><script>"])
def test_a_ticket_that_could_be_markup_is_refused(app_env: AppEnv, ticket: str):
    admin = app_env.client(app_env.token("admin", []))
    r = admin.post(EVENTS, json={"site": "hall", "counter": "c1", "kind": "queue_call", "ticket": ticket})
    assert r.status_code == 422 and ticket not in r.text
    with pytest.raises(BadName):       # the CLI's path (`counterwatch event`) follows the same rule
        app_env.catalog.add_event("hall", "c1", kind="queue_call", at_s=time.time(), payload={"ticket": ticket})
    assert admin.get("/api/v1/events/now-serving").json()[0]["ticket"] is None


def test_a_heartbeat_does_not_clear_chunk_conflict_a_person_does(app_env: AppEnv):
    agent = _agent(app_env)
    beat = {"level_dbfs": -30, "status": "ok"}
    assert agent.post("/api/v1/agent/heartbeat", json={**beat, "quarantined_chunks": 2}).status_code == 204
    assert agent.post("/api/v1/agent/heartbeat", json={**beat, "quarantined_chunks": 0}).status_code == 204

    def open_conflicts() -> int:
        with Session(app_env.engine) as s:
            return len(list(s.scalars(select(Alarm).where(Alarm.kind == "chunk-conflict", Alarm.cleared_s.is_(None)))))

    assert open_conflicts() == 1
    cid = app_env.counter_id("hall", "c1")
    url = f"/api/v1/counters/{cid}/alarms/chunk-conflict/clear"
    assert agent.post(url, json={"note": "x"}).status_code == 403
    annex = app_env.client(app_env.token("supervisor", ["annex"]))
    assert annex.post(url, json={"note": "x"}).status_code == 404
    sup = app_env.client(app_env.token("supervisor"))
    assert sup.post(url, json={"note": "对比了两份录音，保留已存的一份"}).status_code == 204
    assert open_conflicts() == 0
    (row,) = app_env.audit_rows("alarm.clear")
    assert row.target == f"counter:{cid}" and "保留已存的一份" in row.detail
    assert sup.post(url, json={"note": "again"}).status_code == 404
    assert sup.post(f"/api/v1/counters/{cid}/alarms/agent-gone/clear", json={"note": "x"}).status_code == 422


def test_an_agent_pushes_no_live_audio_into_another_counters_session(app_env: AppEnv):
    iid = app_env.add_interaction(counter="c2")
    with Session(app_env.engine) as s:
        from storage.tables import Interaction

        session = s.get(Interaction, iid).session_id
    agent = _agent(app_env, "c1")
    r = agent.post("/api/v1/agent/live", params={"recording": session, "seq": 0, "start_sample": 0, "samples": 16000,
                                                 "recording_start_s": time.time()}, content=b"fLaC")
    assert r.status_code == 403 and r.json()["detail"]["code"] == "agent_binding", r.text
    assert app_env.audit_rows("access.refused")


def test_a_sites_admin_reads_only_its_own_sites_audit_rows(app_env: AppEnv):
    hall_iid = app_env.add_interaction(site="hall", counter="c1")
    annex_iid = app_env.add_interaction(site="annex", counter="a1")
    sup_all = app_env.client(app_env.token("admin", []))
    for iid in (hall_iid, annex_iid):
        assert sup_all.get(f"/api/v1/interactions/{iid}/transcript").status_code == 200
    hall_admin = app_env.client(app_env.token("admin", ["hall"]))
    rows = hall_admin.get("/api/v1/audit").json()
    targets = {r["target"] for r in rows}
    assert f"interaction:{hall_iid}" in targets and f"interaction:{annex_iid}" not in targets
    assert all(r["site"] == "hall" for r in rows), rows
    everything = {r["target"] for r in sup_all.get("/api/v1/audit").json()}
    assert f"interaction:{annex_iid}" in everything
    csv = hall_admin.get("/api/v1/audit/export").text
    assert f"interaction:{hall_iid}" in csv and f"interaction:{annex_iid}" not in csv
