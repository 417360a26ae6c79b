"""The screen-gone alarm: a registered screen whose heartbeats stop raises an alarm in the same
table, sweep and ``counterwatch status`` as the counters' alarms; heartbeats clear it."""
from __future__ import annotations

import time

from click.testing import CliRunner

from counterwatch.cli import cli
from services import alarms as health
from services.alarms import AlarmOptions


def test_screen_gone_raised_and_cleared(app_env, db_url, monkeypatch) -> None:  # noqa: ANN001
    env = app_env
    sup = env.client(env.make_user("supervisor"))
    token = sup.post("/api/v1/signage/screens", json={"site": "hall", "name": "lobby"}).json()["token"]
    sup.post("/api/v1/signage/screens", json={"site": "hall", "name": "never-on"})   # no heartbeat yet: no alarm
    screen = env.client(token)
    assert screen.post("/api/v1/signage/screens/lobby/heartbeat", json={"playing": "board"}).status_code == 204
    eng = env.engine
    now = time.time()
    assert health.evaluate(eng, now=now + 60) == []                                   # default 120 s
    assert health.evaluate(eng, AlarmOptions(screen_gone_after_s=500), now=now + 130) == []          # configurable
    alarms = health.evaluate(eng, now=now + 130)
    assert [(w, k) for w, k, _ in alarms] == [("hall/screen:lobby", "screen-gone")], alarms
    assert "已 13" in alarms[0][2] and alarms[0][2].endswith("秒没有收到心跳"), alarms[0][2]
    assert health.evaluate(eng, now=now + 200) == health.open_alarms(eng) and len(health.open_alarms(eng)) == 1   # not twice
    listed = {s["name"]: s["alarms"] for s in sup.get("/api/v1/signage/screens").json()}
    assert listed == {"lobby": ["screen-gone"], "never-on": []}

    # `counterwatch status` (the operators' view) names it and exits 1, as for a counter's alarm
    monkeypatch.setenv("COUNTERWATCH_DATABASE_URL", db_url)
    monkeypatch.setenv("COUNTERWATCH_SCREEN_GONE_AFTER_S", "0.5")
    time.sleep(0.6)
    out = CliRunner().invoke(cli, ["status"])
    assert out.exit_code == 1 and "ALARM hall/screen:lobby screen-gone" in out.output, out.output

    # heartbeats resume: cleared at once by the heartbeat, and the sweep keeps it cleared
    assert screen.post("/api/v1/signage/screens/lobby/heartbeat", json={"playing": "board"}).status_code == 204
    assert health.open_alarms(eng) == []
    assert health.evaluate(eng) == []
    assert {s["name"]: s["alarms"] for s in sup.get("/api/v1/signage/screens").json()}["lobby"] == []


def test_two_sweeps_at_once_raise_one_alarm(app_env) -> None:  # noqa: ANN001
    """The worker sweep and `up`'s health loop evaluating at the same moment: one alarm, not two."""
    import threading

    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from services.alarms import evaluate_screen_alarms
    from storage.engine import writer
    from storage.tables import Alarm

    env = app_env
    sup = env.client(env.make_user("supervisor"))
    token = sup.post("/api/v1/signage/screens", json={"site": "hall", "name": "lobby"}).json()["token"]
    assert env.client(token).post("/api/v1/signage/screens/lobby/heartbeat", json={}).status_code == 204
    later = time.time() + 300
    first = Session(writer(env.engine))     # sweeps write: on SQLite, BEGIN IMMEDIATE
    first.begin()
    evaluate_screen_alarms(first, now_s=later)          # raised, not committed yet
    second_done = threading.Event()

    def second() -> None:
        with Session(writer(env.engine)) as s, s.begin():
            evaluate_screen_alarms(s, now_s=later + 1)
        second_done.set()
    t = threading.Thread(target=second)
    t.start()
    time.sleep(1.0)           # the second one is waiting for the first one's transaction
    first.commit()
    first.close()
    t.join(30)
    assert second_done.is_set()
    with Session(env.engine) as s:
        assert s.scalar(select(func.count()).select_from(Alarm).where(Alarm.kind == "screen-gone",
                                                                      Alarm.cleared_s.is_(None))) == 1
