"""Issue 21: the hall's queue, rating terminal and supervision work orders, through the API as
the kiosk, the counter, the screen, the terminal, the supervisor and the handler use them; the
deadline counted in working days across a statutory holiday (a fixed 'today' on the app)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.timezones import site_zone
from services.devices import issue
from services.tokens import issue_agent_token
from storage.tables import Interaction, WorkOrder
from tests.support.stack import AppEnv
from transcribe.judge import Judge
from transcribe.rules import load_rulebook
from transcribe.stored import as_flag, judge_stored, stored_calls

ZONE = site_zone("Asia/Shanghai")


def at(*args: int) -> float:
    return dt.datetime(*args, tzinfo=ZONE).timestamp()


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _hall(env: AppEnv, clock: Clock) -> dict:
    env.app.state.clock = clock
    sup = env.client(env.make_user("supervisor", name="督导甲"))
    admin = env.client(env.make_user("admin"))
    a = sup.post("/api/v1/queue/services", json={"site": "hall", "name": "综合业务", "prefix": "A", "counters": ["c1"]})
    g = sup.post("/api/v1/queue/services", json={"site": "hall", "name": "绿色通道", "prefix": "G", "counters": ["c1"],
                                                "priority": 1})
    assert a.status_code == g.status_code == 201, (a.text, g.text)
    kiosk = env.client(admin.post("/api/v1/devices", json={"role": "kiosk", "site": "hall", "name": "k1"}).json()["token"])
    rater = env.client(admin.post("/api/v1/devices", json={"role": "rater", "site": "hall", "name": "c1"}).json()["token"])
    env.catalog.start_shift("hall", "c1", "王芳", at_s=clock.t - 3600)
    assert sup.put("/api/v1/ratings/staff-no", json={"site": "hall", "name": "王芳", "staff_no": "0307"}).status_code == 204
    handler_token = env.make_user("handler", name="李承办")
    sup.post("/api/v1/work-orders/departments", json={"site": "hall", "name": "综合科", "supervisor": "督导甲"})
    return {"sup": sup, "admin": admin, "kiosk": kiosk, "rater": rater, "a": a.json()["id"], "g": g.json()["id"],
            "handler": env.client(handler_token), "c1": env.counter_id("hall", "c1")}


def _served_and_rated_bad(env: AppEnv, h: dict, clock: Clock) -> dict:
    """A customer takes a ticket, staff call it, the recording of the service has a high-severity
    finding, the customer rates 不满意: returns the work order that opened."""
    t = h["kiosk"].post("/api/v1/queue/tickets", json={"site": "hall", "service_id": h["a"]})
    assert t.status_code == 201, t.text
    ticket = t.json()
    assert ticket["service"] == "综合业务" and ticket["waiting_before"] == 0 and "<svg" in ticket["qr_svg"]
    call = h["sup"].post(f"/api/v1/queue/counters/{h['c1']}/call-next")
    assert call.status_code == 200 and call.json()["code"] == ticket["code"], call.text
    # the QR code's status page, read without an account (a customer's phone)
    status = env.client().get("/t/" + ticket["status_url"].rsplit("/t/", 1)[1])
    assert status.status_code == 200 and "请到 c1 号窗口 办理" in status.text and ticket["code"] in status.text
    assert "default-src 'none'" in status.headers["content-security-policy"]
    assert env.client().get("/t/" + "x" * 24).status_code == 404
    inter = env.add_interaction(counter="c1", wall_start_s=clock.t, duration_s=120, staff="王芳",
                                segments=[(0.0, 2.0, "staff", "快下班了，明天再来吧")],
                                flags=[{"type": "forbidden", "rule": "near-closing", "severity": "high"}])
    clock.t += 130
    assert h["sup"].post(f"/api/v1/queue/counters/{h['c1']}/finish").status_code == 200
    term = h["rater"].get("/api/v1/ratings/terminal").json()
    assert term["staff_name"] == "王芳" and term["staff_no"] == "0307" and term["pending"]["ticket"] == ticket["code"]
    press = {"key": term["pending"]["key"], "level": "不满意", "reasons": ["态度不好"], "waited_s": 2.0}
    first = h["rater"].post("/api/v1/ratings/presses", json=press).json()
    again = h["rater"].post("/api/v1/ratings/presses", json=press).json()      # the terminal's resend
    assert first["new"] and not again["new"] and again["event_id"] == first["event_id"] and first["work_order_id"]
    assert h["rater"].get("/api/v1/ratings/terminal").json()["pending"] is None
    wo = h["sup"].get(f"/api/v1/work-orders/{first['work_order_id']}").json()
    assert wo["kind"] == "rating" and wo["interaction_id"] == inter and wo["rating"]["level"] == "不满意"
    assert [f["severity"] for f in wo["findings"]] == ["high"] and wo["working_days"] == 15
    return wo


def test_ticket_call_announce_rate_and_work_order_answered_on_time(app_env: AppEnv):
    clock = Clock(at(2026, 11, 10, 9, 0))
    h = _hall(app_env, clock)
    # the screen: a queue board and the spoken call
    screen = app_env.client(app_env.make_user("screen"))
    wo = _served_and_rated_bad(app_env, h, clock)
    stats = screen.get("/api/v1/queue/stats", params={"site": "hall"}).json()
    c1 = next(c for c in stats["counters"] if c["counter"] == "c1")
    assert c1["ticket"] == "A001" and not c1["paused"]
    text = screen.get(f"/api/v1/queue/calls/{c1['call_event_id']}/announcement").json()
    assert text["text"] == "请 A 0 0 1 号到 c1 号窗口 办理"
    wav = screen.get(text["audio_url"])
    assert wav.status_code == 200 and wav.content[:4] == b"RIFF"
    assert wav.headers["x-announcement-source"] == "espeak-ng"    # installed by scripts/install.sh
    # the handler gets it, answers within the deadline; the supervisor calls back
    sup, handler = h["sup"], h["handler"]
    assert handler.get(f"/api/v1/work-orders/{wo['id']}").status_code == 404     # not theirs yet
    moved = sup.post(f"/api/v1/work-orders/{wo['id']}/transfer", json={"department": "综合科", "owner": "李承办"})
    assert moved.status_code == 200, moved.text
    assert [w["id"] for w in handler.get("/api/v1/work-orders").json()] == [wo["id"]]
    clock.t += 3 * 86400
    replied = handler.post(f"/api/v1/work-orders/{wo['id']}/reply", json={"text": "已约谈王芳，整改服务态度"}).json()
    assert replied["state"] == "replied" and replied["on_time"] is True
    assert handler.post(f"/api/v1/work-orders/{wo['id']}/callback", json={"text": "满意"}).status_code == 403
    closed = sup.post(f"/api/v1/work-orders/{wo['id']}/callback", json={"text": "群众表示满意"}).json()
    assert closed["state"] == "closed"
    rep = sup.get("/api/v1/work-orders/report", params={"site": "hall", "month": "2026-11"}).json()
    assert rep == [{"department": "综合科", "total": 1, "replied": 1, "on_time": 1, "overdue": 0, "callbacks": 1,
                    "on_time_rate": 1.0, "callback_rate": 1.0}]
    ratings = sup.get("/api/v1/ratings/report", params={"site": "hall", "month": "2026-11"}).json()
    assert ratings["by_staff"][0]["name"] == "王芳" and ratings["by_staff"][0]["counts"]["不满意"] == 1
    assert ratings["by_service"][0]["name"] == "综合业务" and ratings["total"]["satisfaction_rate"] == 0.0
    assert ratings["by_staff"][0]["high_findings"] == 1
    actions = {r.action for r in app_env.audit_rows()}
    assert {"queue.ticket", "queue.call", "rating.press", "workorder.transfer", "workorder.reply",
            "workorder.callback", "device.issue"} <= actions


def test_deadline_missed_across_national_day(app_env: AppEnv):
    # Rated 不满意 on Tuesday 2026-09-29: 15 working days skip 国庆 (10-01..10-07, as the package
    # has the 2026 notice) and count the 调休 Saturday 10-10 as a working day.
    clock = Clock(at(2026, 9, 29, 10, 0))
    h = _hall(app_env, clock)
    wo = _served_and_rated_bad(app_env, h, clock)
    due = dt.datetime.fromtimestamp(wo["due_s"], ZONE)
    assert due.date() == dt.date(2026, 10, 26), due      # Monday to Friday alone would give 10-20
    h["sup"].post(f"/api/v1/work-orders/{wo['id']}/transfer", json={"department": "综合科", "owner": "李承办"})
    clock.t = at(2026, 10, 20, 18, 0)
    assert h["sup"].get(f"/api/v1/work-orders/{wo['id']}").json()["urgency"] == "ok"
    clock.t = at(2026, 10, 23, 9, 0)
    assert h["sup"].get(f"/api/v1/work-orders/{wo['id']}").json()["urgency"] == "near"
    clock.t = at(2026, 10, 27, 9, 0)
    listed = h["sup"].get("/api/v1/work-orders", params={"site": "hall"}).json()
    assert listed[0]["id"] == wo["id"] and listed[0]["urgency"] == "overdue"
    assert h["sup"].post("/api/v1/work-orders/escalate", params={"site": "hall"}).json() == [wo["id"]]
    assert h["sup"].get(f"/api/v1/work-orders/{wo['id']}").json()["escalated_to"] == "督导甲"
    late = h["handler"].post(f"/api/v1/work-orders/{wo['id']}/reply", json={"text": "已整改"}).json()
    assert late["on_time"] is False
    rep = h["sup"].get("/api/v1/work-orders/report", params={"site": "hall", "month": "2026-09"}).json()
    assert rep[0]["overdue"] == 1 and rep[0]["on_time"] == 0 and rep[0]["on_time_rate"] == 0.0


def test_site_holiday_moves_the_deadline(app_env: AppEnv):
    clock = Clock(at(2026, 11, 2, 10, 0))      # a Monday
    h = _hall(app_env, clock)
    body = {"site": "hall", "title": "电话反映窗口排队久", "channel": "phone", "working_days": 3}
    plain = h["sup"].post("/api/v1/work-orders", json=body).json()
    assert dt.datetime.fromtimestamp(plain["due_s"], ZONE).date() == dt.date(2026, 11, 5)
    h["sup"].post("/api/v1/work-orders/calendar", json={"site": "hall", "day": "2026-11-04", "working": False,
                                                         "note": "停电闭厅"})
    moved = h["sup"].post("/api/v1/work-orders", json=body).json()
    assert dt.datetime.fromtimestamp(moved["due_s"], ZONE).date() == dt.date(2026, 11, 6)


def test_devices_do_only_their_job(app_env: AppEnv):
    clock = Clock(at(2026, 11, 10, 9, 0))
    h = _hall(app_env, clock)
    c1 = h["c1"]
    c2 = app_env.counter_id("hall", "c2")
    kiosk, rater = h["kiosk"], h["rater"]
    assert kiosk.post(f"/api/v1/queue/counters/{c1}/call-next").status_code == 403
    assert kiosk.get("/api/v1/interactions").status_code == 403
    assert kiosk.post("/api/v1/queue/tickets", json={"site": "annex", "service_id": h["a"]}).status_code == 403
    assert rater.post("/api/v1/queue/tickets", json={"site": "hall", "service_id": h["a"]}).status_code == 403
    assert rater.post("/api/v1/ratings/presses", json={"key": "press:abcdefgh", "level": "好"}).status_code == 422
    # the hardware call button: the agent of c1 calls for c1, never for c2
    agent = app_env.client(issue_agent_token(app_env.engine, site="hall", counter="c1", actor="t").token)
    kiosk.post("/api/v1/queue/tickets", json={"site": "hall", "service_id": h["a"]})
    g = kiosk.post("/api/v1/queue/tickets", json={"site": "hall", "service_id": h["g"]}).json()
    assert agent.post(f"/api/v1/queue/counters/{c2}/call-next").status_code == 403
    called = agent.post(f"/api/v1/queue/counters/{c1}/call-next").json()
    assert called["code"] == g["code"]          # 绿色通道 first
    assert agent.post(f"/api/v1/queue/counters/{c1}/pause").status_code == 204
    assert app_env.client(app_env.make_user("screen")).get(
        "/api/v1/events/now-serving").json()[0]["paused"] is True
    # a rater's key for a ticket served at another counter is refused
    other = issue(app_env.engine, role="rater", site="hall", name="c2", actor="t").token
    key = f"ticket:{called['id']}"
    assert app_env.client(other).post("/api/v1/ratings/presses", json={"key": key, "level": "满意"}).status_code == 422


def test_complaints_are_work_orders(app_env: AppEnv):
    sup = app_env.client(app_env.make_user("supervisor"))
    c = sup.post("/api/v1/complaints", json={"site": "hall", "summary": "窗口人员态度差"}).json()
    with Session(app_env.engine) as s:
        wo = s.scalar(select(WorkOrder).where(WorkOrder.complaint_id == c["id"]))
        assert wo is not None and wo.kind == "complaint" and wo.due_s == c["due_s"]
    sup.patch(f"/api/v1/complaints/{c['id']}", json={"finding": "属实，已批评教育"})
    got = sup.get(f"/api/v1/work-orders/{wo.id}").json()
    assert got["state"] == "replied" and got["reply"] == "属实，已批评教育"
    assert sup.get("/api/v1/complaints").json()[0]["state"] == "answered"


def test_confirmed_high_severity_finding_opens_a_work_order_once(app_env: AppEnv):
    sup = app_env.client(app_env.make_user("supervisor"))
    inter = app_env.add_interaction(counter="c1", segments=[(0.0, 2.0, "staff", "快下班了，明天再来吧")],
                                    flags=[{"type": "forbidden", "rule": "near-closing", "severity": "high",
                                            "phrase": "快下班了"},
                                           {"type": "missing_courtesy", "rule": "greeting", "severity": "low"}])
    flags = app_env.client(app_env.make_user("admin")).get(f"/api/v1/interactions/{inter}").json()["flags"]
    for f in flags:
        for _ in range(2):          # a second confirmation opens no second work order
            r = sup.post(f"/api/v1/flags/{f['id']}/review", json={"state": "confirmed", "note": "属实"})
            assert r.status_code == 200, r.text
    orders = sup.get("/api/v1/work-orders").json()
    assert [(o["kind"], o["interaction_id"], o["title"]) for o in orders] == [("finding", inter, "严重问题整改：快下班了")]


def _judged_as_the_worker_does(env: AppEnv, interaction_id: int) -> None:
    """Store the rulebook's findings on a stored interaction, judged with its queue calls as the
    worker judges a new recording (transcribe.stored; the worker's path with audio is in
    tests/transcribe/test_worker.py)."""
    with Session(env.engine) as s, s.begin():
        inter = s.get(Interaction, interaction_id)
        found = judge_stored(Judge(load_rulebook()), inter, mono=True, calls=stored_calls(s, inter))
        inter.flags.extend(as_flag(f) for f in found)


def test_coverage_of_called_tickets_explains_gaps_and_uses_queue_facts(app_env: AppEnv):
    clock = Clock(at(2026, 11, 10, 9, 0))
    h = _hall(app_env, clock)
    for _ in range(4):
        h["kiosk"].post("/api/v1/queue/tickets", json={"site": "hall", "service_id": h["a"]})
    clock.t += 40 * 60          # everyone has waited 40 minutes
    said = {"A001": ("对不起，让您久等了，请问办理什么业务", True), "A002": ("请问办理什么业务", True),
            "A003": ("嗯", False), "A004": None}
    for code, spoken in said.items():
        called = h["sup"].post(f"/api/v1/queue/counters/{h['c1']}/call-next").json()
        assert called["code"] == code
        if spoken is not None:
            iid = app_env.add_interaction(counter="c1", wall_start_s=clock.t, duration_s=60,
                                          segments=[(0.0, 2.0, "staff", spoken[0])], assessable=spoken[1])
            _judged_as_the_worker_does(app_env, iid)
        clock.t += 120
    got = h["sup"].get("/api/v1/queue/coverage", params={"site": "hall", "day": "2026-11-10"}).json()
    assert (got["calls"], got["covered"], got["share"]) == (4, 2, 0.5)
    assert {r["ticket"]: r["gap"] for r in got["rows"]} == {"A001": None, "A002": None, "A003": "unassessable",
                                                             "A004": "agent_down"}
    # 久等未致歉 is the rule's finding (C-WAIT-APOLOGY, judged with the queue calls), with its reason
    [late] = got["missing_apology"]
    assert (late["ticket"], late["rule"], late["review_state"]) == ("A002", "C-WAIT-APOLOGY", "open")
    assert late["reason"] == "A002 号取号后等候 42 分钟，超过 15 分钟" and late["waited_s"] == 42 * 60
    flag = late["flag_id"]
    # the page's limit narrows the list to longer waits only; it never decides by itself
    assert h["sup"].get("/api/v1/queue/coverage", params={"site": "hall", "day": "2026-11-10",
                                                          "wait_limit_min": 50}).json()["missing_apology"] == []
    # a reviewer who dismisses the finding takes the call off the list, and confirming it brings it back
    for state, listed in (("dismissed", []), ("confirmed", ["A002"])):
        assert h["sup"].post(f"/api/v1/flags/{flag}/review", json={"state": state, "note": "复听"}).status_code == 200
        got = h["sup"].get("/api/v1/queue/coverage", params={"site": "hall", "day": "2026-11-10"}).json()
        assert [r["ticket"] for r in got["missing_apology"]] == listed, state
    # a correction that hears the apology re-judges the rule with the queue facts: the finding is
    # superseded and the call leaves the list
    line = h["sup"].get(f"/api/v1/interactions/{late['interaction_id']}").json()["segments"][0]["id"]
    r = h["sup"].post(f"/api/v1/interactions/{late['interaction_id']}/corrections",
                      json={"segment_id": line, "text": "让您久等了，请问办理什么业务", "reason": "识别漏字"})
    assert r.status_code == 201 and flag in r.json()["superseded"], r.text
    assert h["sup"].get("/api/v1/queue/coverage", params={"site": "hall", "day": "2026-11-10"}).json()[
        "missing_apology"] == []
    assert h["kiosk"].get("/api/v1/queue/coverage", params={"site": "hall", "day": "2026-11-10"}).status_code == 403


def test_five_level_scale_with_dimensions_and_satisfaction_rate(app_env: AppEnv):
    clock = Clock(at(2026, 11, 10, 9, 0))
    h = _hall(app_env, clock)
    assert h["sup"].put("/api/v1/ratings/scale", json={"site": "hall", "scale": "five"}).status_code == 204
    term = h["rater"].get("/api/v1/ratings/terminal").json()
    assert term["levels"] == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    assert term["dimensions"] == ["整体满意度", "服务效率", "服务水平", "服务态度"]
    dims = {"整体满意度": "基本满意", "服务效率": "满意", "服务水平": "基本满意", "服务态度": "非常满意"}
    for key, level in (("press:aaaaaaaa1", "基本满意"), ("press:aaaaaaaa2", "非常不满意"),
                       ("press:aaaaaaaa3", "满意"), ("press:aaaaaaaa4", "一般")):
        r = h["rater"].post("/api/v1/ratings/presses", json={"key": key, "level": level, "dimensions": dims})
        assert r.status_code == (422 if level == "一般" else 200), (level, r.text)      # 一般 is not on this scale
    bad = h["rater"].post("/api/v1/ratings/presses", json={"key": "press:aaaaaaaa5", "level": "满意",
                                                            "dimensions": {"颜值": "满意"}})
    assert bad.status_code == 422
    today = h["sup"].get("/api/v1/ratings/today", params={"site": "hall"}).json()
    assert today["total"]["total"] == 3 and abs(today["total"]["satisfaction_rate"] - 2 / 3) < 1e-9
    kinds = [o["kind"] for o in h["sup"].get("/api/v1/work-orders").json()]
    assert kinds == ["rating"]          # only the 非常不满意 press opened one


def _picture(fmt: str, colour: tuple[int, int, int], size: tuple[int, int] = (60, 80)) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format=fmt)
    return buf.getvalue()


def test_staff_photo_on_the_terminal_of_their_counter_only(app_env: AppEnv):
    clock = Clock(at(2026, 11, 10, 9, 0))
    h = _hall(app_env, clock)
    sup, rater = h["sup"], h["rater"]
    url = "/api/v1/ratings/staff-photo"
    who = {"site": "hall", "name": "王芳"}
    assert rater.get("/api/v1/ratings/terminal").json()["staff_photo"] is False
    assert rater.get("/api/v1/ratings/terminal/photo").json()["detail"]["code"] == "no_photo"
    # not a picture, a truncated one, a GIF, too large: refused, naming the field
    png = _picture("PNG", (200, 30, 30))
    for body in (b"%PDF-1.4 not a photo", png[: len(png) // 2], _picture("GIF", (1, 2, 3))):
        r = sup.put(url, params=who, content=body, headers={"Content-Type": "image/png"})
        assert r.status_code == 422, r.text
        assert r.json()["detail"]["code"] == "bad_photo" and r.json()["detail"]["what"] == "photo"
        assert "PNG 或 JPEG" in r.json()["detail"]["message"]
    big = sup.put(url, params=who, content=b"\xff\xd8\xff" + b"0" * (3 * 1024 * 1024 + 10))
    assert big.status_code == 413 and big.json()["detail"]["code"] == "photo_too_large"
    assert sup.put(url, params={"site": "hall", "name": "无此人"}, content=png).status_code == 404
    assert sup.put(url, params={"site": "annex", "name": "王芳"}, content=png).status_code in (403, 404)
    # the rater and the other devices may not upload
    assert rater.put(url, params=who, content=png).status_code == 403
    assert h["kiosk"].get(url, params=who).status_code == 403
    jpeg = _picture("JPEG", (30, 30, 200))
    up = sup.put(url, params=who, content=jpeg)
    assert up.status_code == 200 and up.json()["content_type"] == "image/jpeg", up.text
    assert (up.json()["width_px"], up.json()["height_px"]) == (60, 80)
    sha = up.json()["sha256"]
    assert app_env.store.get_bytes(f"staff/photos/{sha}") == jpeg            # kept in the object store
    assert rater.get("/api/v1/ratings/terminal").json()["staff_photo"] is True
    got = rater.get("/api/v1/ratings/terminal/photo")
    assert got.status_code == 200 and got.content == jpeg and got.headers["content-type"] == "image/jpeg"
    assert "sandbox" in got.headers["content-security-policy"]
    assert sup.get(url, params=who).content == jpeg
    # the terminal of c2 has nobody on duty: it reads no photo, and names no one to ask for
    other = app_env.client(issue(app_env.engine, role="rater", site="hall", name="c2", actor="t").token)
    assert other.get("/api/v1/ratings/terminal/photo").status_code == 404
    assert other.get(url, params=who).status_code == 403
    # 王芳 moves to c2: c2's terminal shows her photo, c1's none
    app_env.catalog.end_shift("hall", "c1", at_s=clock.t - 10)
    app_env.catalog.start_shift("hall", "c2", "王芳", at_s=clock.t - 5)
    assert other.get("/api/v1/ratings/terminal/photo").content == jpeg
    assert rater.get("/api/v1/ratings/terminal/photo").status_code == 404
    assert rater.get("/api/v1/ratings/terminal").json()["staff_photo"] is False
    assert [r.detail for r in app_env.audit_rows("staff.photo")] == [f"照片 60×80（image/jpeg），sha256 {sha}"]


def test_device_tokens_listed_and_revoked_by_an_admin(app_env: AppEnv):
    from services.tokens import issue_event_token

    admin = app_env.client(app_env.make_user("admin"))
    rater = admin.post("/api/v1/devices", json={"role": "rater", "site": "hall", "name": "c1"}).json()
    agent = admin.post("/api/v1/devices", json={"role": "agent", "site": "hall", "name": "c2"}).json()
    assert agent["name"] == "agent:hall/c2" and agent["counter"] == "c2" and agent["token"]
    assert admin.post("/api/v1/devices", json={"role": "agent", "site": "hall", "name": "c9"}).status_code == 404
    admin.post("/api/v1/devices", json={"role": "kiosk", "site": "annex", "name": "k1"})
    issue_event_token(app_env.engine, site="hall", actor="t")
    assert app_env.client(rater["token"]).get("/api/v1/ratings/terminal").status_code == 200    # used once
    rows = admin.get("/api/v1/devices/tokens", params={"site": "hall"}).json()
    assert [(r["role"], r["counter"]) for r in rows] == [("events", None), ("agent", "c2"), ("rater", "c1")]
    assert rows[2]["last_used_s"] and rows[1]["last_used_s"] is None and rows[0]["site"] == "hall"
    assert "token" not in rows[0] and all(r["created_s"] > 0 for r in rows)
    assert [r["role"] for r in admin.get("/api/v1/devices/tokens", params={"site": "annex"}).json()] == ["kiosk"]
    # only admins; a person's token is no device's
    sup = app_env.client(app_env.make_user("supervisor"))
    assert sup.get("/api/v1/devices/tokens", params={"site": "hall"}).status_code == 403
    assert sup.delete(f"/api/v1/devices/tokens/{rows[2]['token_id']}").status_code == 403
    assert admin.delete("/api/v1/devices/tokens/999999").status_code == 404
    assert admin.get("/api/v1/devices/tokens", params={"site": "nowhere"}).status_code == 404
    # revoked: the terminal is refused from its next request, the others keep working
    assert admin.delete(f"/api/v1/devices/tokens/{rows[2]['token_id']}").status_code == 204
    assert app_env.client(rater["token"]).get("/api/v1/ratings/terminal").status_code == 401
    assert admin.delete(f"/api/v1/devices/tokens/{rows[2]['token_id']}").status_code == 404
    assert [r["role"] for r in admin.get("/api/v1/devices/tokens", params={"site": "hall"}).json()] == ["events", "agent"]
    assert app_env.client(agent["token"]).post("/api/v1/agent/heartbeat", json={}).status_code != 401
    assert [r.target for r in app_env.audit_rows("token.revoke")] == ["user:rater:hall/c1"]
    assert [r.detail for r in app_env.audit_rows("token.revoke")] == [f"令牌 #{rows[2]['token_id']}（评价器）"]
