"""The screen-gone alarm: a registered screen whose heartbeats stop raises an alarm in the same
table, sweep and ``counterwatch status`` as the counters' alarms; heartbeats clear it."""
from __future__ import annotations

import time

from click.testing import CliRunner

from counterwatch.cli import cli
from storage.catalog import Catalog


def test_screen_gone_raised_and_cleared(signage_env, db_url, monkeypatch) -> None:  # noqa: ANN001
    env = signage_env
    sup = env.client(env.make_user("supervisor"))
    token = sup.post("/api/v1/signage/screens", json={"site": "hall", "name": "lobby"}).json()["token"]
    sup.post("/api/v1/signage/screens", json={"site": "hall", "name": "never-on"})   # no heartbeat yet: no alarm
    screen = env.client(token)
    assert screen.post("/api/v1/signage/screens/lobby/heartbeat", json={"playing": "board"}).status_code == 204
    cat = Catalog(env.engine)
    now = time.time()
    assert cat.evaluate_alarms(now=now + 60) == []                                   # default 120 s
    assert cat.evaluate_alarms(now=now + 130, screen_gone_after_s=500) == []          # configurable
    alarms = cat.evaluate_alarms(now=now + 130)
    assert [(w, k) for w, k, _ in alarms] == [("hall/screen:lobby", "screen-gone")], alarms
    assert "no heartbeat for 13" in alarms[0][2]
    assert cat.evaluate_alarms(now=now + 200) == cat.open_alarms() and len(cat.open_alarms()) == 1   # not twice
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
    assert cat.open_alarms() == []
    assert cat.evaluate_alarms() == []
    assert {s["name"]: s["alarms"] for s in sup.get("/api/v1/signage/screens").json()}["lobby"] == []


def test_two_sweeps_at_once_raise_one_alarm(signage_env) -> None:  # noqa: ANN001
    """The worker sweep and `up`'s health loop evaluating at the same moment: one alarm, not two."""
    import threading

    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from signage.catalog import evaluate_screen_alarms
    from storage.db import Alarm

    env = signage_env
    sup = env.client(env.make_user("supervisor"))
    token = sup.post("/api/v1/signage/screens", json={"site": "hall", "name": "lobby"}).json()["token"]
    assert env.client(token).post("/api/v1/signage/screens/lobby/heartbeat", json={}).status_code == 204
    later = time.time() + 300
    first = Session(env.engine)
    first.begin()
    evaluate_screen_alarms(first, now_s=later)          # raised, not committed yet
    second_done = threading.Event()

    def second() -> None:
        with Session(env.engine) as s, s.begin():
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
