"""Transcript correction (issue 20 item 5) through the API on the real stack (SQLite and
PostgreSQL): the correction is kept beside the recognised text, the rules re-judge the corrected
text (a cleared missing greeting stays as superseded with its review; a forbidden phrase in a
correction raises a flag marked as from it), a second correction is a new version, search
finds both texts, and only supervisors and admins of the site may correct."""
from __future__ import annotations

import time

from services.accounts import add_user
from tests.support.stack import PASSWORD, AppEnv

GREETING = "嗯，请问办什么业务？"        # the recogniser heard 您好 as a filler: C-GREETING is missing


def _seed(app_env: AppEnv, *, counter: str = "c1", site: str = "hall") -> int:
    return app_env.add_interaction(site=site, counter=counter, staff="张三", wall_start_s=time.time() - 3600,
                                   duration_s=30, segments=[
                                       (0.0, 3.0, "staff", GREETING), (3.0, 6.0, "customer", "我想办社保卡"),
                                       (6.0, 9.0, "staff", "好的谢谢，材料都齐了"), (9.0, 12.0, "staff", "再见，您慢走")],
                                   flags=[dict(type="missing_courtesy", rule="C-GREETING", start_s=0.0, end_s=12.0,
                                               confidence=0.95)])


def _correct(client, iid: int, segment_id: int, text: str, reason: str):
    return client.post(f"/api/v1/interactions/{iid}/corrections",
                       json={"segment_id": segment_id, "text": text, "reason": reason})


def _lines(view: dict) -> list[tuple[int, str]]:
    return [(g["id"], g["text"]) for g in view["segments"]]


def test_a_corrected_greeting_clears_the_flag_whose_review_stays_and_the_original_is_kept(app_env: AppEnv):
    iid = _seed(app_env)
    sup_token = app_env.make_user("supervisor", ["hall"])
    sup = app_env.client(sup_token)
    view = sup.get(f"/api/v1/interactions/{iid}").json()
    (greeting,) = [f for f in view["flags"] if f["rule"] == "C-GREETING"]
    r = sup.post(f"/api/v1/flags/{greeting['id']}/review", json={"state": "confirmed", "note": "未听到问候"})
    assert r.status_code == 200, r.text
    first = view["segments"][0]["id"]

    r = _correct(sup, iid, first, "您好，请问办什么业务？", "录音里说的是“您好”")
    assert r.status_code == 201, r.text
    done = r.json()
    assert done["superseded"] == [greeting["id"]] and done["raised"] == []
    c = done["correction"]
    assert (c["recognised"], c["text"], c["version"], c["current"], c["by"]) == \
        (GREETING, "您好，请问办什么业务？", 1, True, app_env.names[sup_token])

    # The recognised text stays in the evidence and its exports; the flag stays with its review.
    after = sup.get(f"/api/v1/interactions/{iid}").json()
    assert _lines(after) == _lines(view)
    kept = next(f for f in after["flags"] if f["id"] == greeting["id"])
    assert (kept["review_state"], kept["review_note"]) == ("confirmed", "未听到问候")
    assert kept["superseded_by"] == f"correction:{c['id']}" and kept["superseded_s"] is not None
    assert greeting["id"] not in {f["id"] for f in sup.get("/api/v1/flags").json()}
    txt = sup.get(f"/api/v1/interactions/{iid}/transcript", params={"format": "txt"}).text
    assert GREETING in txt
    score = sup.get(f"/api/v1/interactions/{iid}/score").json()["score"]
    assert score["score"] == 100.0

    listed = sup.get(f"/api/v1/interactions/{iid}/corrections").json()
    assert [(x["segment_id"], x["recognised"], x["text"], x["reason"]) for x in listed] == \
        [(first, GREETING, "您好，请问办什么业务？", "录音里说的是“您好”")]
    read = app_env.audit_rows("transcript.view")[-1]
    assert (read.target, read.detail) == (f"interaction:{iid}", "查看转写更正记录 1 条")
    (row,) = app_env.audit_rows("transcript.correct")
    assert row.target == f"interaction:{iid}" and "第 1 版" in row.detail and "不再检出 1 项" in row.detail
    assert "办什么业务" not in row.detail        # the audit says what was done and why, not the words


def test_a_forbidden_phrase_in_a_correction_raises_a_flag_from_it_and_a_second_correction_is_a_version(
        app_env: AppEnv):
    iid = _seed(app_env)
    sup = app_env.client(app_env.make_user("supervisor", ["hall"]))
    admin = app_env.client(app_env.make_user("admin", []))
    line = sup.get(f"/api/v1/interactions/{iid}").json()["segments"][2]["id"]
    r = _correct(sup, iid, line, "好的谢谢，我们快下班了", "识别漏了后半句")
    assert r.status_code == 201, r.text
    first = r.json()
    (raised,) = first["raised"]
    flag = next(f for f in sup.get(f"/api/v1/interactions/{iid}").json()["flags"] if f["id"] == raised)
    assert flag["rule"] == "F-CLOSING" and flag["correction_id"] == first["correction"]["id"]
    assert flag["superseded_by"] == "" and 6.0 <= flag["start_s"] <= 9.0

    # The admin corrects the same line again: a second version; the flag from the first is superseded.
    r = _correct(admin, iid, line, "好的谢谢，材料都齐了，请收好", "复听后更正")
    assert r.status_code == 201, r.text
    second = r.json()
    assert second["correction"]["version"] == 2 and second["superseded"] == [raised]
    history = [(x["version"], x["current"], x["text"]) for x in sup.get(f"/api/v1/interactions/{iid}/corrections").json()]
    assert history == [(2, True, "好的谢谢，材料都齐了，请收好"), (1, False, "好的谢谢，我们快下班了")]
    again = _correct(sup, iid, line, "好的谢谢，材料都齐了，请收好", "再次提交")
    assert again.status_code == 422 and again.json()["detail"]["code"] == "correction_text"
    gone = next(f for f in sup.get(f"/api/v1/interactions/{iid}").json()["flags"] if f["id"] == raised)
    assert gone["superseded_by"] == f"correction:{second['correction']['id']}"


def test_search_finds_the_recognised_and_the_corrected_text(app_env: AppEnv):
    iid = _seed(app_env)
    sup = app_env.client(app_env.make_user("supervisor", ["hall"]))
    line = sup.get(f"/api/v1/interactions/{iid}").json()["segments"][2]["id"]
    assert _correct(sup, iid, line, "好的谢谢，证件请收好", "识别错误").status_code == 201
    for q, match, text in (("材料都齐", "exact", "好的谢谢，材料都齐了"), ("证件请收好", "corrected", "好的谢谢，证件请收好"),
                           ("证件", "corrected", "好的谢谢，证件请收好")):      # FTS and LIKE paths
        hits = sup.get("/api/v1/interactions/search", params={"q": q}).json()
        assert [(h["interaction_id"], h["segment_id"], h["match"], h["text"]) for h in hits] == \
            [(iid, line, match, text)], q
        page = sup.get("/api/v1/interactions", params={"q": q}).json()
        assert [(i["id"], i["match"], i["line"]["segment_id"]) for i in page["items"]] == [(iid, match, line)], q
    assert sup.get("/api/v1/interactions/search", params={"q": "快下班"}).json() == []


def test_sound_alike_search_finds_the_corrected_and_the_recognised_text(app_env: AppEnv):
    """A sound-alike query (拼音 the same, characters not) finds a line by its correction, and
    the recognised text by sound still, through the one search path (CLI, /search, the browser)."""
    iid = _seed(app_env)
    other = _seed(app_env, counter="c2")           # the same words, not corrected: found only by what it says
    sup = app_env.client(app_env.make_user("supervisor", ["hall"]))
    line = sup.get(f"/api/v1/interactions/{iid}").json()["segments"][2]["id"]
    assert _correct(sup, iid, line, "好的谢谢，证件请收好", "识别错误").status_code == 201
    # 正见请收 sounds like 证件请收 (zheng jian qing shou): in the correction only
    hits = sup.get("/api/v1/interactions/search", params={"q": "正见请收"}).json()
    assert [(h["interaction_id"], h["segment_id"], h["match"], h["text"], h["snippet"]) for h in hits] == \
        [(iid, line, "corrected_sound", "好的谢谢，证件请收好", "好的谢谢，【证件请收】好")]
    page = sup.get("/api/v1/interactions", params={"q": "正见请收"}).json()
    assert [(i["id"], i["match"], i["line"]["segment_id"]) for i in page["items"]] == [(iid, "corrected_sound", line)]
    assert page["total"] == 1
    # 才料都齐 sounds like the recognised 材料都齐 (cai liao dou qi): both interactions, by sound
    hits = sup.get("/api/v1/interactions/search", params={"q": "才料都齐"}).json()
    assert sorted((h["interaction_id"], h["match"], h["text"]) for h in hits) == \
        sorted([(iid, "sound", "好的谢谢，材料都齐了"), (other, "sound", "好的谢谢，材料都齐了")])
    # scoped like every search: another site's supervisor finds nothing
    annex = app_env.client(app_env.make_user("supervisor", ["annex"]))
    assert annex.get("/api/v1/interactions/search", params={"q": "正见请收"}).json() == []


def test_only_the_sites_supervisors_and_admins_correct_and_bad_text_is_refused(app_env: AppEnv):
    iid = _seed(app_env)
    other = _seed(app_env, site="annex", counter="a1")
    sup = app_env.client(app_env.make_user("supervisor", ["hall"]))
    segs = sup.get(f"/api/v1/interactions/{iid}").json()["segments"]
    url = f"/api/v1/interactions/{iid}/corrections"
    body = {"segment_id": segs[0]["id"], "text": "您好，请问办什么业务？", "reason": "识别错误"}
    staff = add_user(app_env.engine, "staff-zhang", role="staff", sites=["hall"], staff="张三", password=PASSWORD)
    for token in (app_env.make_user("viewer", ["hall"]), staff.token):
        r = app_env.client(token).post(url, json=body)
        assert r.status_code == 403, r.text
    assert app_env.client(app_env.make_user("supervisor", ["annex"])).post(url, json=body).status_code == 404
    other_seg = app_env.client(app_env.make_user("admin", [])).get(f"/api/v1/interactions/{other}").json()["segments"][0]
    r = sup.post(url, json={**body, "segment_id": other_seg["id"]})
    assert r.status_code == 404 and r.json()["detail"]["code"] == "segment_not_found"
    for bad, field in (({"text": "  ", "reason": "x"}, "text"), ({"text": "您好\u0007", "reason": "x"}, "text"),
                       ({"text": "您好", "reason": ""}, "reason"), ({"text": "您好", "reason": "a\u202eb"}, "reason")):
        r = sup.post(url, json={"segment_id": segs[0]["id"], **bad})
        assert r.status_code == 422 and r.json()["detail"]["field"] == field, (bad, r.text)
        assert "\u0007" not in r.text and "\u202e" not in r.text
    r = sup.post(url, json={**body, "text": "您" * 501})
    assert r.status_code == 422 and "文字：" in r.text and "您" * 501 not in r.text
    # a viewer reads the history (masked as transcripts are); nothing was stored by the refusals
    assert app_env.client(app_env.make_user("viewer", ["hall"])).get(
        f"/api/v1/interactions/{iid}/corrections").json() == []
    assert app_env.audit_rows("transcript.correct") == []


def test_corrections_of_one_line_sent_at_once_get_one_version_each(app_env: AppEnv):
    """Six reviewers correct the same line at the same moment: six versions, 1 to 6, one in force."""
    import threading

    iid = _seed(app_env)
    clients = [app_env.client(app_env.make_user("supervisor", ["hall"])) for _ in range(6)]
    line = clients[0].get(f"/api/v1/interactions/{iid}").json()["segments"][2]["id"]
    start = threading.Barrier(len(clients))
    codes: list[int] = []

    def send(k: int) -> None:
        start.wait()
        codes.append(_correct(clients[k], iid, line, f"好的谢谢，材料都齐了（第 {k} 稿）", "复听").status_code)
    threads = [threading.Thread(target=send, args=(k,)) for k in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert codes == [201] * len(clients)
    history = clients[0].get(f"/api/v1/interactions/{iid}/corrections").json()
    assert sorted(x["version"] for x in history) == list(range(1, len(clients) + 1))
    assert sum(x["current"] for x in history) == 1
