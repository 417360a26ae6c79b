"""Staff see and answer (issue 20 item 4), the score per interaction (item 3) and the
supervisor's override (issue 19 item 4), through the API on the real stack (SQLite and
PostgreSQL)."""
from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from services.accounts import add_user
from storage.engine import writer
from storage.tables import Flag, Interaction, Site
from tests.support.stack import PASSWORD


def _staff_user(app_env, staff: str, *, name: str | None = None) -> str:
    u = add_user(app_env.engine, name or f"staff-{staff}", role="staff", sites=["hall"], staff=staff, password=PASSWORD)
    app_env.names[u.token] = u.name
    return u.token


def _dataset(app_env) -> tuple[int, int, int]:
    """张三's interaction with a forbidden phrase (high) and a missing greeting, and 李四's."""
    now = time.time()
    mine = app_env.add_interaction(staff="张三", wall_start_s=now - 3600, duration_s=30,
                                   segments=[(0.0, 3.0, "staff", "你烦不烦啊"), (3.0, 6.0, "customer", "我想办社保卡")],
                                   flags=[dict(type="forbidden", rule="F-RUDE", phrase="烦不烦", evidence="你烦不烦啊",
                                               start_s=0.0, end_s=3.0, severity="high"),
                                          dict(type="missing_courtesy", rule="C-GREETING"),
                                          dict(type="forbidden", rule="F-IMPATIENT", confidence=0.3, start_s=4.0)])
    other = app_env.add_interaction(staff="李四", counter="c2", wall_start_s=now - 3000, duration_s=30,
                                    flags=[dict(type="forbidden", rule="F-RUDE")])
    with Session(app_env.engine) as s:
        fid = s.query(Flag.id).filter(Flag.interaction_id == mine, Flag.rule == "F-RUDE").scalar()
    return mine, other, fid


def test_staff_sees_only_their_own_acknowledges_and_appeals_and_a_second_reviewer_rules(app_env):
    mine, other, fid = _dataset(app_env)
    first_sup, second_sup = app_env.make_user("supervisor", ["hall"]), app_env.make_user("supervisor", ["hall"])
    a, b = app_env.client(first_sup), app_env.client(second_sup)
    assert a.post(f"/api/v1/flags/{fid}/review", json={"state": "confirmed", "note": "录音属实"}).status_code == 200
    score = a.get(f"/api/v1/interactions/{mine}/score").json()["score"]
    assert (score["score"], score["passed"], score["confirmed"], score["machine_counted"], score["uncertain"]) == \
        (60.0, False, 1, 1, 1)           # 100 - 30 (F-RUDE, confirmed) - 10 (C-GREETING, certain)

    staff = app_env.client(_staff_user(app_env, "张三"))
    # Only their own: the reviewers' lists are closed, another person's interaction reads as missing.
    assert staff.get("/api/v1/interactions").status_code == 403
    assert staff.get("/api/v1/flags").status_code == 403
    assert staff.get(f"/api/v1/interactions/{mine}").status_code == 403
    assert staff.get(f"/api/v1/my/interactions/{other}").status_code == 404
    assert staff.get(f"/api/v1/interactions/{other}/audio").status_code == 404
    r = staff.get("/api/v1/my/interactions")
    assert r.status_code == 200 and r.headers["X-Total-Count"] == "1"
    [item] = r.json()
    assert item["id"] == mine and item["score"]["score"] == 60.0 and item["unacknowledged"] == 2
    # The uncertain flag (待确认) is not a finding yet: the staff member does not see it.
    assert sorted(f["rule"] for f in item["findings"]) == ["C-GREETING", "F-RUDE"]
    rude = next(f for f in item["findings"] if f["rule"] == "F-RUDE")
    assert rude["counted"] and rude["review_state"] == "confirmed" and rude["appeal_until_s"] > time.time() + 6 * 86400
    detail = staff.get(f"/api/v1/my/interactions/{mine}").json()
    assert [g["text"] for g in detail["segments"]] == ["你烦不烦啊", "我想办社保卡"]

    r = staff.post(f"/api/v1/my/findings/{fid}/ack")
    assert r.status_code == 200
    again = staff.post(f"/api/v1/my/findings/{fid}/ack").json()
    assert again["acknowledged_s"] == r.json()["acknowledged_s"]           # the first time is kept
    assert staff.get("/api/v1/my/interactions").json()[0]["unacknowledged"] == 1

    assert staff.post(f"/api/v1/my/findings/{fid}/appeal", json={"reason": ""}).status_code == 422
    assert staff.post(f"/api/v1/my/findings/{fid}/appeal", json={"reason": "   "}).json()["detail"]["code"] == \
        "appeal_reason"
    r = staff.post(f"/api/v1/my/findings/{fid}/appeal", json={"reason": "我说的是“您稍等”，不是烦不烦"})
    assert r.status_code == 201, r.text
    appeal = r.json()
    assert (appeal["state"], appeal["staff"], appeal["confirmed_by"]) == ("open", "张三", app_env.names[first_sup])
    r = staff.post(f"/api/v1/my/findings/{fid}/appeal", json={"reason": "再申诉"})
    assert r.status_code == 409 and r.json()["detail"]["message"] == "该检查结果已经申诉过，每条只能申诉一次"

    # The reviewer who confirmed it may not rule; a second one overturns it, with a note.
    listed = a.get("/api/v1/appeals", params={"state": "open"})
    assert [x["id"] for x in listed.json()] == [appeal["id"]] and listed.headers["X-Total-Count"] == "1"
    r = a.post(f"/api/v1/appeals/{appeal['id']}/ruling", json={"verdict": "overturned", "note": "重听"})
    assert r.status_code == 403 and r.json()["detail"]["code"] == "appeal_same_reviewer"
    assert b.post(f"/api/v1/appeals/{appeal['id']}/ruling", json={"verdict": "maybe", "note": "x"}).status_code == 422
    r = b.post(f"/api/v1/appeals/{appeal['id']}/ruling", json={"verdict": "overturned", "note": "重听录音，确为“您稍等”"})
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["ruled_by"]) == ("overturned", app_env.names[second_sup])
    assert b.post(f"/api/v1/appeals/{appeal['id']}/ruling", json={"verdict": "upheld", "note": "x"}).status_code == 409

    # The score follows the ruling, everywhere: the interaction, the staff's page, the report.
    score = b.get(f"/api/v1/interactions/{mine}/score").json()["score"]
    assert (score["score"], score["appeals_overturned"], score["dismissed"]) == (90.0, 1, 1)
    assert staff.get("/api/v1/my/interactions").json()[0]["score"]["score"] == 90.0
    flag = b.get("/api/v1/flags", params={"rule": "F-RUDE", "staff": "张三"}).json()[0]
    assert flag["review_state"] == "dismissed" and flag["review_note"].startswith("申诉裁定（撤销）")
    month = dt.datetime.fromtimestamp(time.time() - 3600, ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    rep = b.get("/api/v1/reports/monthly", params={"month": month, "site": "hall"}).json()
    zs = next(row for row in rep["by_staff"] if row["name"] == "张三")
    assert zs["score"] == 90.0 and zs["compliance_rate"] == 1.0 and zs["forbidden_by_rule"] == {}

    # Listed per staff member, for the reviewers and for the person themself.
    assert [x["state"] for x in b.get("/api/v1/appeals", params={"staff": "张三"}).json()] == ["overturned"]
    assert b.get("/api/v1/appeals", params={"staff": "李四"}).json() == []
    mine_appeals = staff.get("/api/v1/my/appeals").json()
    assert [(x["state"], x["ruling_note"]) for x in mine_appeals] == [("overturned", "重听录音，确为“您稍等”")]
    # Audited, in words a supervisor reads.
    details = {row.action: row.detail for row in app_env.audit_rows()}
    assert details["finding.ack"] == "本人已阅检查结果"
    assert details["appeal.create"].startswith(f"申诉检查结果 #{fid}")
    assert details["appeal.rule"].startswith("撤销检查结果（张三")


def test_appeal_window_and_findings_that_count_nothing(app_env):
    mine, _, fid = _dataset(app_env)
    staff = app_env.client(_staff_user(app_env, "张三"))
    with Session(writer(app_env.engine)) as s, s.begin():
        s.execute(update(Site).where(Site.name == "hall").values(appeal_window_days=0))
    r = staff.post(f"/api/v1/my/findings/{fid}/appeal", json={"reason": "不服"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "appeal_window_closed"
    with Session(writer(app_env.engine)) as s, s.begin():
        s.execute(update(Site).where(Site.name == "hall").values(appeal_window_days=7))
    sup = app_env.client(app_env.make_user("supervisor", ["hall"]))
    assert sup.post(f"/api/v1/flags/{fid}/review", json={"state": "dismissed"}).status_code == 200
    r = staff.post(f"/api/v1/my/findings/{fid}/appeal", json={"reason": "不服"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "appeal_not_counted"
    # A staff account without a roster link, and another person's finding.
    with Session(app_env.engine) as s:
        uncertain = s.query(Flag.id).filter(Flag.interaction_id == mine, Flag.rule == "F-IMPATIENT").scalar()
    assert staff.post(f"/api/v1/my/findings/{uncertain}/ack").status_code == 404      # 待确认: not a finding
    li = app_env.client(_staff_user(app_env, "李四"))
    assert li.post(f"/api/v1/my/findings/{fid}/ack").status_code == 404
    assert li.post(f"/api/v1/my/findings/{fid}/appeal", json={"reason": "x"}).status_code == 404


def test_supervisor_override_and_manual_findings_change_the_score_and_survive_reanalysis(app_env):
    mine, _, fid = _dataset(app_env)
    sup_token = app_env.make_user("supervisor", ["hall"])
    sup, viewer = app_env.client(sup_token), app_env.client(app_env.make_user("viewer", ["hall"]))
    assert sup.get(f"/api/v1/interactions/{mine}/score").json()["score"]["score"] == 60.0
    assert viewer.post(f"/api/v1/interactions/{mine}/assessable",
                       json={"assessable": False, "reason": "x"}).status_code == 403
    r = sup.post(f"/api/v1/interactions/{mine}/assessable", json={"assessable": False, "reason": "背景施工噪声，听不清"})
    assert r.status_code == 200, r.text
    body = sup.get(f"/api/v1/interactions/{mine}/score").json()
    assert (body["score"]["score"], body["score"]["assessable"], body["score"]["assessable_by"]) == \
        (None, False, "supervisor")
    assert sup.post(f"/api/v1/interactions/{mine}/assessable",
                    json={"assessable": True, "reason": "复听可辨，改为可判定"}).status_code == 200
    # A finding added by hand at 12.5 s: a rule of the rulebook, inside the recording.
    assert sup.post(f"/api/v1/interactions/{mine}/findings", json={"type": "forbidden", "rule": "F-NOPE", "at_s": 1,
                                                                   "note": "x"}).json()["detail"]["code"] == "manual_rule"
    assert sup.post(f"/api/v1/interactions/{mine}/findings", json={"type": "forbidden", "rule": "F-CLOSING",
                                                                   "at_s": 99, "note": "x"}).status_code == 422
    r = sup.post(f"/api/v1/interactions/{mine}/findings",
                 json={"type": "forbidden", "rule": "F-CLOSING", "at_s": 12.5, "note": "说“下班了明天再来”"})
    assert r.status_code == 201, r.text
    manual = r.json()
    body = sup.get(f"/api/v1/interactions/{mine}/score").json()
    assert body["score"]["score"] == 30.0 and body["score"]["manual"] == 1      # 100 - 30 - 10 - 30 (high)
    assert [d["source"] for d in body["score"]["deductions"]] == ["machine", "machine", "manual"]
    assert [o["assessable"] for o in body["decided"]["overrides"]] == [True, False]   # newest first, all kept

    # Re-analysis rewrites the interaction's own rows: new flag ids, the recogniser's verdict anew.
    with Session(writer(app_env.engine)) as s, s.begin():
        s.execute(delete(Flag).where(Flag.interaction_id == mine))
        s.add(Flag(interaction_id=mine, type="forbidden", rule="F-RUDE", phrase="烦不烦", evidence="你烦不烦啊",
                   start_s=0.1, end_s=3.0, speaker="staff", confidence=0.9, severity="high"))
        s.execute(update(Interaction).where(Interaction.id == mine).values(assessable=False, assessable_reason="噪声"))
    body = sup.get(f"/api/v1/interactions/{mine}/score").json()
    assert (body["score"]["score"], body["score"]["assessable_by"]) == (40.0, "supervisor")   # 100 - 30 - 30
    r = sup.post(f"/api/v1/manual-findings/{manual['id']}/withdraw")
    assert r.status_code == 200 and r.json()["withdrawn_by"] == app_env.names[sup_token]
    assert sup.get(f"/api/v1/interactions/{mine}/score").json()["score"]["score"] == 70.0
    actions = [row.action for row in app_env.audit_rows()]
    assert actions.count("interaction.assessable") == 2 and "finding.add" in actions and "finding.withdraw" in actions
    assert sup.post("/api/v1/manual-findings/999999/withdraw").status_code == 404


def test_an_appeal_ruling_survives_reanalysis(app_env):
    mine, _, fid = _dataset(app_env)
    staff = app_env.client(_staff_user(app_env, "张三"))
    sup = app_env.client(app_env.make_user("supervisor", ["hall"]))
    appeal = staff.post(f"/api/v1/my/findings/{fid}/appeal", json={"reason": "误判"}).json()
    assert appeal["confirmed_by"] is None                     # the machine's finding: any reviewer rules
    assert sup.post(f"/api/v1/appeals/{appeal['id']}/ruling", json={"verdict": "overturned", "note": "误判"}).status_code == 200
    with Session(writer(app_env.engine)) as s, s.begin():
        s.execute(delete(Flag).where(Flag.interaction_id == mine))
        s.add(Flag(interaction_id=mine, type="forbidden", rule="F-RUDE", phrase="烦不烦", evidence="你烦不烦啊",
                   start_s=0.2, end_s=3.0, speaker="staff", confidence=0.95, severity="high"))
    assert sup.get(f"/api/v1/interactions/{mine}/score").json()["score"]["score"] == 100.0
    [finding] = staff.get("/api/v1/my/interactions").json()[0]["findings"]
    assert finding["review_state"] == "dismissed" and finding["appeal"]["state"] == "overturned"


def test_the_site_sets_its_appeal_window(app_env):
    admin, sup = app_env.client(app_env.make_user("admin")), app_env.client(app_env.make_user("supervisor", ["hall"]))
    assert sup.put("/api/v1/appeals/window/hall", json={"days": 3}).status_code == 403
    assert admin.put("/api/v1/appeals/window/hall", json={"days": 400}).status_code == 422
    assert admin.put("/api/v1/appeals/window/nowhere", json={"days": 3}).status_code == 404
    assert admin.put("/api/v1/appeals/window/hall", json={"days": 3}).json() == {"days": 3}
    assert {s["name"]: s["appeal_window_days"] for s in sup.get("/api/v1/sites").json()} == {"hall": 3}
    assert app_env.audit_rows("site.edit")[-1].detail == "申诉期限由 7 天改为 3 天"


def test_a_re_review_keeps_the_earlier_note_as_history(app_env):
    _, _, fid = _dataset(app_env)
    a, b = app_env.make_user("supervisor", ["hall"]), app_env.make_user("supervisor", ["hall"])
    assert app_env.client(a).post(f"/api/v1/flags/{fid}/review", json={"state": "confirmed", "note": "属实"}).status_code == 200
    r = app_env.client(b).post("/api/v1/flags/review", json={"flag_ids": [fid], "state": "dismissed", "note": "误识别"})
    assert r.status_code == 200 and r.json()[0]["review_note"] == "误识别"
    viewer = app_env.client(app_env.make_user("viewer", ["hall"]))
    history = viewer.get(f"/api/v1/flags/{fid}/history").json()
    assert [(h["state"], h["note"], h["by"]) for h in history] == [("confirmed", "属实", app_env.names[a]),
                                                                   ("dismissed", "误识别", app_env.names[b])]
    other = app_env.client(app_env.make_user("supervisor", ["annex"]))
    assert other.get(f"/api/v1/flags/{fid}/history").status_code == 404
