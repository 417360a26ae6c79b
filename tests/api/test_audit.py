"""The admins' audit page API: filters by user, action and time, pages with the total, each row
with its target's site and its time in that site's zone (real SQLite and PostgreSQL)."""
from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.orm import Session

from storage.tables import Site


def test_audit_filters_pages_and_local_times(app_env):
    with Session(app_env.engine) as s, s.begin():
        s.execute(update(Site).where(Site.name == "annex").values(timezone="Asia/Tokyo"))
    hall = app_env.add_interaction(site="hall", counter="c1")
    annex = app_env.add_interaction(site="annex", counter="a1")
    sup_token = app_env.make_user("supervisor", ["hall", "annex"])
    sup = app_env.client(sup_token)
    t0 = time.time()
    for iid in (hall, annex, hall):
        assert sup.get(f"/api/v1/interactions/{iid}").status_code == 200
    admin = app_env.client(app_env.make_user("admin", []))
    name = app_env.names[sup_token]
    r = admin.get("/api/v1/audit", params={"user": name, "action": "transcript.view", "limit": 2})
    assert r.status_code == 200 and r.headers["x-total-count"] == "3"
    newest, middle = r.json()
    assert newest["target"] == f"interaction:{hall}" and newest["site"] == "hall" and newest["timezone"] == "Asia/Shanghai"
    assert middle["site"] == "annex" and middle["timezone"] == "Asia/Tokyo"
    assert middle["at"] == dt.datetime.fromtimestamp(middle["at_s"], ZoneInfo("Asia/Tokyo")).strftime("%Y-%m-%d %H:%M:%S")
    rest = admin.get("/api/v1/audit", params={"user": name, "action": "transcript.view", "limit": 2, "offset": 2}).json()
    assert [x["target"] for x in rest] == [f"interaction:{hall}"]
    assert admin.get("/api/v1/audit", params={"since_s": t0 + 3600}).headers["x-total-count"] == "0"
    assert admin.get("/api/v1/audit", params={"until_s": t0 - 3600}).json() == []
    bad = admin.get("/api/v1/audit", params={"since_s": "yesterday"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["message"] == "开始时间：应为数字"
    assert sup.get("/api/v1/audit").status_code == 403
