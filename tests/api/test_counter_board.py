"""The counters page's today counts (issue 23: counted with one grouped query per site day, not
two per counter): interactions and counted forbidden flags of each counter's own site day, in
each site's time zone."""
from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from storage.tables import Site
from tests.support.stack import AppEnv

FORBIDDEN = {"type": "forbidden", "rule": "F-OFF-DUTY", "phrase": "下班", "confidence": 1.0}


def test_today_counts_per_counter_in_each_sites_day(app_env: AppEnv) -> None:
    env = app_env
    with Session(env.engine) as s, s.begin():
        s.execute(update(Site).where(Site.name == "annex").values(timezone="America/New_York"))
    api = env.client(env.token("admin", []))
    days = {c["name"]: (c["today_since_s"], c["today_until_s"]) for c in api.get("/api/v1/counters").json()}
    assert days["c1"] == days["c2"] != days["a1"]          # two sites, two days
    (h0, h1), a0 = days["c1"], days["a1"][0]
    env.add_interaction(counter="c1", wall_start_s=h0 + 60, duration_s=30, flags=[FORBIDDEN])
    env.add_interaction(counter="c1", wall_start_s=h1 - 120, duration_s=30,
                        flags=[{**FORBIDDEN, "review_state": "dismissed"}, {**FORBIDDEN, "type": "courtesy_missing"}])
    env.add_interaction(counter="c1", wall_start_s=h0 - 3600, duration_s=30, flags=[FORBIDDEN])   # yesterday
    env.add_interaction(counter="c3", wall_start_s=h1 + 10, duration_s=30, flags=[FORBIDDEN])     # tomorrow
    env.add_interaction(site="annex", counter="a1", wall_start_s=a0 + 5, duration_s=30, flags=[FORBIDDEN, FORBIDDEN])
    got = {c["name"]: (c["today_interactions"], c["today_forbidden"]) for c in api.get("/api/v1/counters").json()}
    assert got == {"c1": (2, 1), "c2": (0, 0), "c3": (0, 0), "a1": (1, 2)}
    # a supervisor of one site sees that site's counters only, with the same counts
    sup = env.client(env.token("supervisor", ["annex"]))
    assert {c["name"]: c["today_interactions"] for c in sup.get("/api/v1/counters").json()} == {"a1": 1}
