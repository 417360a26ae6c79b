"""Review of flags, complaints, the monthly report and hall events, through the API on the
real stack (SQLite and PostgreSQL)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.tables import AuditLog, Flag

CST = ZoneInfo("Asia/Shanghai")


def _t(*args: int) -> float:
    return dt.datetime(*args, tzinfo=CST).timestamp()


def test_review_flow(app_env):
    iid = app_env.add_interaction(wall_start_s=time.time() - 600, staff="张三",
                                  segments=[(0.0, 3.0, "staff", "你自己去网上办")],
                                  flags=[dict(type="forbidden", rule="F-SELF-SERVE", phrase="你自己去网上办",
                                              start_s=0.0, end_s=3.0),
                                         dict(type="missing_courtesy", rule="C-THANKS")])
    sup = app_env.make_user("supervisor", ["hall"])
    viewer = app_env.client(app_env.make_user("viewer", ["hall"]))
    c = app_env.client(sup)
    queue = c.get("/api/v1/flags", params={"review_state": "open"}).json()
    assert {f["rule"] for f in queue} == {"F-SELF-SERVE", "C-THANKS"}
    assert all(f["interaction_id"] == iid and f["site"] == "hall" and f["counter"] == "c1" for f in queue)
    forbidden = c.get("/api/v1/flags", params={"type": "forbidden"}).json()
    assert [f["rule"] for f in forbidden] == ["F-SELF-SERVE"]
    fid = forbidden[0]["id"]

    assert viewer.get("/api/v1/flags").status_code == 200          # viewers may read ...
    r = viewer.post(f"/api/v1/flags/{fid}/review", json={"state": "confirmed"})
    assert r.status_code == 403                                    # ... but not judge
    assert c.post(f"/api/v1/flags/{fid}/review", json={"state": "maybe"}).status_code == 422
    assert c.post("/api/v1/flags/999999/review", json={"state": "dismissed"}).status_code == 404

    before = time.time()
    r = c.post(f"/api/v1/flags/{fid}/review", json={"state": "confirmed", "note": "录音核实，属实"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["review_state"] == "confirmed" and body["review_note"] == "录音核实，属实"
    assert body["reviewed_by"] == app_env.names[sup] and body["reviewed_s"] >= before - 1
    assert [f["rule"] for f in c.get("/api/v1/flags", params={"review_state": "open"}).json()] == ["C-THANKS"]
    assert [f["id"] for f in c.get("/api/v1/flags", params={"review_state": "confirmed"}).json()] == [fid]
    assert c.get("/api/v1/flags", params={"rule": "F-SELF-SERVE", "counter": "c2"}).json() == []
    with Session(app_env.engine) as s:
        f = s.get(Flag, fid)
        assert f.reviewed_by is not None and f.review_state == "confirmed"
        assert s.scalar(select(AuditLog.detail).where(AuditLog.action == "flag.review",
                                                      AuditLog.target == f"flag:{fid}")) == "已确认：录音核实，属实"


def test_complaints_are_listed_overdue_first_and_answered(app_env):
    iid = app_env.add_interaction(wall_start_s=time.time() - 3600)
    other = app_env.add_interaction(site="annex", counter="a1", wall_start_s=time.time() - 3600)
    c = app_env.client(app_env.make_user("supervisor", ["hall"]))
    now = time.time()
    later = c.post("/api/v1/complaints", json={"site": "hall", "complainant": "王女士", "summary": "态度冷淡",
                                               "due_s": now + 86400, "interaction_id": iid})
    assert later.status_code == 201, later.text
    overdue = c.post("/api/v1/complaints", json={"site": "hall", "summary": "让我明天再来", "due_s": now - 60}).json()
    default = c.post("/api/v1/complaints", json={"site": "hall", "summary": "排队太久"}).json()
    assert default["due_s"] > now + 4 * 86400 and default["state"] == "open"
    assert c.post("/api/v1/complaints", json={"site": "hall", "summary": "x", "interaction_id": other}).status_code == 404
    assert c.post("/api/v1/complaints", json={"site": "hall", "summary": ""}).status_code == 422

    listed = c.get("/api/v1/complaints").json()
    assert [x["id"] for x in listed] == [overdue["id"], later.json()["id"], default["id"]]
    assert [x["overdue"] for x in listed] == [True, False, False]
    assert listed[1]["interaction_id"] == iid and listed[1]["complainant"] == "王女士"

    assert c.patch(f"/api/v1/complaints/{overdue['id']}", json={"finding": ""}).status_code == 422
    r = c.patch(f"/api/v1/complaints/{overdue['id']}", json={"finding": "已回放录音，属实，已约谈并回电", "state": "answered"})
    assert r.status_code == 200 and r.json()["state"] == "answered" and r.json()["answered_s"] >= now - 1
    assert not r.json()["overdue"]
    assert [x["id"] for x in c.get("/api/v1/complaints", params={"state": "answered"}).json()] == [overdue["id"]]
    assert [x["id"] for x in c.get("/api/v1/complaints").json()][-1] == overdue["id"]
    assert c.patch("/api/v1/complaints/999999", json={"finding": "x"}).status_code == 404


def _report_dataset(app_env) -> None:
    """March 2026 at site hall (Asia/Shanghai): 张三 at c1 three times, 李四 at c2 once and once
    not assessable; one interaction in February and one at the annex that the report must leave out."""
    i1 = _t(2026, 3, 2, 10, 0)
    app_env.add_interaction(counter="c1", staff="张三", wall_start_s=i1, duration_s=60, flags=[
        dict(type="missing_courtesy", rule="C-THANKS"),
        dict(type="forbidden", rule="F-RUDE", review_state="confirmed")])
    app_env.add_interaction(counter="c1", staff="张三", wall_start_s=i1 + 300, duration_s=60, flags=[
        dict(type="forbidden", rule="F-IMPATIENT", confidence=0.3)])      # uncertain: waits in 待确认
    app_env.add_interaction(counter="c1", staff="张三", wall_start_s=_t(2026, 3, 31, 23, 50), duration_s=60,
                            flags=[dict(type="missing_courtesy", rule="C-FAREWELL")])
    app_env.add_interaction(counter="c2", staff="李四", wall_start_s=i1, duration_s=60, flags=[
        dict(type="missing_courtesy", rule="C-GREETING", review_state="dismissed"),
        dict(type="forbidden", rule="F-CLOSING"),
        dict(type="forbidden", rule="F-CLOSING", review_state="dismissed")])
    app_env.add_interaction(counter="c2", staff="李四", wall_start_s=_t(2026, 3, 15, 9), duration_s=60,
                            assessable=False, flags=[dict(type="missing_courtesy", rule="C-THANKS")])
    app_env.add_interaction(counter="c2", staff="李四", wall_start_s=_t(2026, 2, 28, 23, 30), duration_s=60,
                            flags=[dict(type="forbidden", rule="F-RUDE")])
    app_env.add_interaction(site="annex", counter="a1", staff="赵六", wall_start_s=i1, duration_s=60,
                            flags=[dict(type="forbidden", rule="F-RUDE")])
    agent = app_env.client(app_env.make_user("events", ["hall"]))  # the queue and rating system (issue 18)
    for counter, at, level in (("c1", i1 + 70, "满意"),          # 10 s after the first one ended
                               ("c1", i1 + 330, "非常满意"),     # during the second
                               ("c2", i1 + 20, "不满意"),        # during 李四's
                               ("c2", i1 + 60 + 400, "一般"),    # long after: attached to nothing
                               ("c1", _t(2026, 2, 28, 12), "不满意")):
        r = agent.post("/api/v1/events", json={"site": "hall", "counter": counter, "kind": "rating",
                                               "at_s": at, "level": level})
        assert r.status_code == 201, r.text


def test_monthly_report_json_csv_xlsx(app_env):
    from openpyxl import load_workbook

    _report_dataset(app_env)
    c = app_env.client(app_env.make_user("supervisor", ["hall"]))
    r = c.get("/api/v1/reports/monthly", params={"month": "2026-03", "site": "hall"})
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["sites"] == ["hall"]
    staff = {row["name"]: row for row in rep["by_staff"]}
    assert [row["name"] for row in rep["by_staff"]] == ["张三", "李四"]          # ranked by score
    zs, ls = staff["张三"], staff["李四"]
    # 张三: 100 - 30 (F-RUDE, high, confirmed) - 10 (C-THANKS) = 60; 100 (the uncertain flag does
    # not count); 100 - 10 (C-FAREWELL) = 90: mean 83.3
    assert (zs["interactions"], zs["score"], zs["rank"]) == (3, 83.3, 1)
    # 达标: an interaction scoring 90 or more (60, 100, 90: two of three)
    assert zs["compliance_rate"] == 0.6667 and zs["courtesy_rate"] == 0.3333
    assert zs["courtesy_by_rule"] == {"C-FAREWELL": 0.6667, "C-GREETING": 1.0, "C-THANKS": 0.6667}
    assert zs["forbidden_by_rule"] == {"F-RUDE": 1} and zs["forbidden_by_severity"] == {"high": 1, "medium": 0, "low": 0}
    assert (zs["flags_open"], zs["flags_uncertain"], zs["flags_confirmed"], zs["flags_dismissed"]) == (3, 1, 1, 0)
    assert zs["ratings"] == {"非常满意": 1, "满意": 1, "一般": 0, "不满意": 0} and zs["satisfaction_rate"] == 1.0
    # 李四: 100 - 30 (F-CLOSING, high); the dismissed flags do not count; the 无法判定 one counts apart
    assert (ls["interactions"], ls["assessable"], ls["not_assessable"], ls["score"], ls["rank"]) == (2, 1, 1, 70.0, 2)
    assert ls["courtesy_rate"] == 1.0 and ls["compliance_rate"] == 0.0
    assert ls["forbidden_by_rule"] == {"F-CLOSING": 1}
    assert (ls["flags_open"], ls["flags_confirmed"], ls["flags_dismissed"]) == (1, 0, 2)
    assert ls["ratings"] == {"非常满意": 0, "满意": 0, "一般": 0, "不满意": 1} and ls["satisfaction_rate"] == 0.0
    counters = {row["name"]: row for row in rep["by_counter"]}
    assert {k: v["interactions"] for k, v in counters.items()} == {"c1": 3, "c2": 2}
    assert counters["c1"]["ratings"] == zs["ratings"] and counters["c1"]["label"] == "c1 号窗口"
    total = rep["total"]
    assert (total["interactions"], total["assessable"], total["score"], total["compliance_rate"]) == (5, 4, 80.0, 0.5)
    assert total["forbidden_by_rule"] == {"F-CLOSING": 1, "F-RUDE": 1}
    assert rep["rule_labels"]["F-RUDE"] == "粗鲁、侮辱性语言"

    r = c.get("/api/v1/reports/monthly", params={"month": "2026-03", "site": "hall", "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "report-2026-03.csv" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert list(rows[0])[:10] == ["月份", "服务点", "分组", "名称", "排名", "服务次数", "可判定", "无法判定", "文明服务得分",
                                  "达标率"]
    by = {(row["分组"], row["名称"]): row for row in rows}
    assert set(by) == {("人员", "张三"), ("人员", "李四"), ("窗口", "c1 号窗口"), ("窗口", "c2 号窗口"), ("合计", "合计")}
    z = by["人员", "张三"]
    assert (z["服务次数"], z["文明服务得分"], z["达标率"], z["服务忌语（严重）"]) == ("3", "83.3", "66.7%", "1")
    assert (z["服务忌语·粗鲁、侮辱性语言"], z["服务忌语·以下班时间为由拒绝办理"], z["满意"], z["非常满意"]) == ("1", "0", "1", "1")
    assert z["文明用语达标率·致谢"] == "66.7%" and by["合计", "合计"]["服务次数"] == "5"

    r = c.get("/api/v1/reports/monthly", params={"month": "2026-03", "site": "hall", "format": "xlsx"})
    assert r.status_code == 200 and "report-2026-03.xlsx" in r.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(r.content))
    sheet = wb["月度报表"]
    header = [cell.value for cell in sheet[1]]
    assert header[:4] == ["月份", "服务点", "分组", "名称"] and "达标率" in header
    first = {h: cell for h, cell in zip(header, sheet[2], strict=True)}
    assert first["名称"].value == "张三" and first["达标率"].value == 0.6667 and first["达标率"].number_format == "0.0%"
    assert "文明服务得分" in wb["计分说明"]["A1"].value

    feb = c.get("/api/v1/reports/monthly", params={"month": "2026-02"}).json()
    assert feb["total"]["interactions"] == 1 and feb["total"]["forbidden_by_rule"] == {"F-RUDE": 1}
    # The press at 12:00 on 28 February came before that day's only interaction (23:30).
    assert feb["total"]["ratings"]["不满意"] == 0
    trend = c.get("/api/v1/reports/trend", params={"month": "2026-03", "months": 3, "site": "hall"}).json()
    assert [(p["month"], p["interactions"], p["score"]) for p in trend] == \
        [("2026-01", 0, None), ("2026-02", 1, 70.0), ("2026-03", 5, 80.0)]
    assert c.get("/api/v1/reports/trend", params={"month": "2026-13"}).json()["detail"][0]["message"] == "月份：格式不正确"


def test_events_validation_and_now_serving(app_env):
    agent = app_env.client(app_env.make_user("events", ["hall"]))  # the queue and rating system (issue 18)
    r = agent.post("/api/v1/events", json={"site": "hall", "counter": "c1", "kind": "queue_call", "ticket": "A012"})
    assert r.status_code == 201 and r.json()["payload"] == {"ticket": "A012"}
    at = time.time()
    agent.post("/api/v1/events", json={"site": "hall", "counter": "c1", "kind": "queue_call", "ticket": "A011",
                                       "at_s": at - 120})                     # arrives late: not the latest
    r = agent.post("/api/v1/events", json={"site": "hall", "counter": "c9", "kind": "queue_call", "ticket": "A1"})
    assert r.status_code == 404 and "hall/c9" in r.json()["detail"]["what"] and "not registered" in r.json()["detail"]["reason"]
    for bad in ({"kind": "rating", "level": "很好"}, {"kind": "rating"}, {"kind": "pause", "level": "满意"},
                {"kind": "dance"}, {"kind": "queue_call", "at_s": -5}):
        r = agent.post("/api/v1/events", json={"site": "hall", "counter": "c1", **bad})
        assert r.status_code == 422, (bad, r.text)
    assert agent.post("/api/v1/events", json={"site": "hall", "counter": "c2", "kind": "pause"}).status_code == 201

    screen = app_env.client(app_env.make_user("screen", ["hall"]))
    board = {x["counter"]: x for x in screen.get("/api/v1/events/now-serving", params={"site": "hall"}).json()}
    assert set(board) == {"c1", "c2", "c3"}        # every counter of the site
    assert board["c1"]["ticket"] == "A012" and not board["c1"]["paused"]
    assert board["c2"]["ticket"] is None and board["c2"]["paused"]
    assert screen.get("/api/v1/events/now-serving", params={"site": "annex"}).status_code == 403
    sup = app_env.client(app_env.make_user("supervisor", ["hall"]))
    assert {c["name"]: c["paused"] for c in sup.get("/api/v1/counters").json()} == {"c1": False, "c2": True, "c3": False}
    assert agent.post("/api/v1/events", json={"site": "hall", "counter": "c2", "kind": "resume"}).status_code == 201
    assert not {x["counter"]: x for x in sup.get("/api/v1/events/now-serving").json()}["c2"]["paused"]
