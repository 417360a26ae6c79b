"""Complaints with counter, staff and incident time (filled in from the recording), editable after
their answer with every change kept, and drafts kept on the server for their author; real SQLite
and PostgreSQL."""
from __future__ import annotations

import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.tables import Complaint, ComplaintDraft


def test_complaint_about_a_recording_edited_after_its_answer_keeps_history(app_env):
    wall = time.time() - 3600
    iid = app_env.add_interaction(counter="c2", staff="李四", wall_start_s=wall)
    app_env.catalog.add_counter("hall", "c1", display_name="1号窗口")
    app_env.add_interaction(counter="c1", staff="张三")
    sup_token = app_env.make_user("supervisor", ["hall"])
    c = app_env.client(sup_token)
    r = c.post("/api/v1/complaints", json={"site": "hall", "summary": "态度生硬", "complainant": "王女士 13800000000",
                                           "interaction_id": iid})
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["counter"], made["counter_label"], made["staff"], made["incident_s"]) == ("c2", "c2 号窗口", "李四", wall)
    by_name = c.post("/api/v1/complaints", json={"site": "hall", "summary": "不耐烦", "counter": "1号窗口", "staff": "张三",
                                                 "incident_s": wall + 60}).json()
    assert (by_name["counter"], by_name["staff"], by_name["incident_s"]) == ("c1", "张三", wall + 60)

    bad = c.post("/api/v1/complaints", json={"site": "hall", "summary": "x", "staff": "无此人"})
    assert bad.status_code == 404 and bad.json()["detail"]["message"] == "该服务点没有这名工作人员"
    bad = c.post("/api/v1/complaints", json={"site": "hall", "summary": "x", "counter": "9号窗口"})
    assert bad.status_code == 404 and bad.json()["detail"]["code"] == "unknown_counter"
    bad = c.post("/api/v1/complaints", json={"site": "hall", "summary": "", "incident_s": -1})
    assert bad.status_code == 422
    assert {e["message"] for e in bad.json()["detail"]} == {"投诉内容：不能为空", "事发时间：不能小于 0"}

    cid = made["id"]
    answered = c.patch(f"/api/v1/complaints/{cid}", json={"finding": "经回放核实，已约谈。"}).json()
    assert answered["state"] == "answered" and answered["answered_s"]
    first_answer = answered["answered_s"]
    edited = c.patch(f"/api/v1/complaints/{cid}", json={"finding": "经回放核实，已约谈并回电致歉。", "staff": "张三",
                                                          "counter": "c1"}).json()
    assert edited["state"] == "answered" and edited["answered_s"] == first_answer and edited["staff"] == "张三"
    assert edited["finding"] == "经回放核实，已约谈并回电致歉。" and edited["revisions"] == 2
    hist = c.get(f"/api/v1/complaints/{cid}/history").json()
    assert [h["action"] for h in hist] == ["create", "answer", "edit"]
    assert hist[1]["changes"]["state"] == ["open", "answered"]
    assert hist[2]["changes"] == {"finding": ["经回放核实，已约谈。", "经回放核实，已约谈并回电致歉。"],
                                  "staff": ["李四", "张三"], "counter": ["c2", "c1"]}
    assert hist[2]["user_name"] == app_env.names[sup_token]
    assert c.patch(f"/api/v1/complaints/{cid}", json={"staff": "无此人"}).status_code == 404
    assert c.get(f"/api/v1/complaints/{cid}/history").json() == hist                # the refused edit left no trace
    other = app_env.client(app_env.make_user("supervisor", ["annex"]))
    assert other.get(f"/api/v1/complaints/{cid}/history").status_code == 404
    assert other.patch(f"/api/v1/complaints/{cid}", json={"summary": "x"}).status_code == 404
    assert app_env.client(app_env.make_user("viewer", ["hall"])).get(f"/api/v1/complaints/{cid}/history").status_code == 403


def test_drafts_are_their_authors_and_go_when_filed(app_env):
    a = app_env.client(app_env.make_user("supervisor", ["hall"]))
    b = app_env.client(app_env.make_user("supervisor", ["hall"]))
    assert a.get("/api/v1/complaints/drafts/new").json() is None
    form = {"site": "hall", "complainant": "李先生 13912345678", "summary": "让我明天再来"}
    saved = a.put("/api/v1/complaints/drafts/new", json={"data": form})
    assert saved.status_code == 200 and saved.json()["data"] == form
    assert a.get("/api/v1/complaints/drafts/new").json()["data"] == form
    assert b.get("/api/v1/complaints/drafts/new").json() is None                    # another user's
    assert a.put("/api/v1/complaints/drafts/other", json={"data": {}}).status_code == 422
    big = a.put("/api/v1/complaints/drafts/new", json={"data": {"summary": "长" * 20000}})
    assert big.status_code == 413 and big.json()["detail"]["message"] == "草稿过长，请精简后再保存"
    assert a.get("/api/v1/complaints/drafts/new").json()["data"] == form           # unchanged by the refusal
    assert a.post("/api/v1/complaints", json=form).status_code == 201
    assert a.get("/api/v1/complaints/drafts/new").json() is None                    # filed: the draft is gone
    a.put("/api/v1/complaints/drafts/complaint-1", json={"data": {"finding": "核实中"}})
    assert a.delete("/api/v1/complaints/drafts/complaint-1").status_code == 204
    with Session(app_env.engine) as s:
        assert s.scalar(select(func.count(ComplaintDraft.id))) == 0
        assert s.scalar(select(func.count(Complaint.id))) == 1


def test_a_complaint_is_tied_to_the_recordings_flags_and_a_second_one_points_to_the_first(app_env):
    iid = app_env.add_interaction(counter="c1", staff="张三", flags=[
        dict(type="forbidden", rule="F-RUDE", review_state="confirmed", review_note="属实")])
    c = app_env.client(app_env.make_user("supervisor", ["hall"]))
    first = c.post("/api/v1/complaints", json={"site": "hall", "summary": "态度生硬", "interaction_id": iid}).json()
    assert first["revisions"] == 0                             # filed, not yet changed
    assert [(f["rule"], f["review_state"], f["review_note"]) for f in first["flags"]] == [("F-RUDE", "confirmed", "属实")]
    assert first["same_recording"] == []
    second = c.post("/api/v1/complaints", json={"site": "hall", "summary": "又投诉", "interaction_id": iid}).json()
    assert second["same_recording"] == [first["id"]]
    on_recording = c.get("/api/v1/complaints", params={"interaction_id": iid}).json()
    assert sorted(x["id"] for x in on_recording) == [first["id"], second["id"]]
    assert on_recording[0]["same_recording"] in ([second["id"]], [first["id"]])
