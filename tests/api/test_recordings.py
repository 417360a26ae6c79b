"""The recordings browser (GET /api/v1/interactions): filters by site, counter (display name),
staff, time, rule, review state, rating and assessability, sorting, pages with their total;
sound-alike phrase search ranked exact first, with the matched span, and a rule's phrase finding
that rule's flags; display names; the dictionary; transcript export; Chinese messages for bad
input. Real SQLite and PostgreSQL (``app_env``)."""
from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.tables import Counter

CST = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 11, 3)


def _t(hour: int, minute: int = 0, day: dt.date = DAY) -> float:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=CST).timestamp()


def _dataset(env) -> dict[str, int]:
    ids = {
        "morning": env.add_interaction(counter="c1", staff="张三", wall_start_s=_t(9, 30), duration_s=120,
                                       segments=[(0, 3, "staff", "您好，请问办理什么业务？")]),
        "rude": env.add_interaction(counter="c1", staff="张三", wall_start_s=_t(15, 10), duration_s=200,
                                    segments=[(0, 3, "customer", "我的材料齐了吗"), (3, 6, "staff", "你反不妨案，自己看")],
                                    flags=[dict(type="forbidden", rule="F-RUDE", phrase="烦不烦", evidence="反不妨",
                                                start_s=3.0, end_s=5.0, confidence=0.8)]),
        "exact": env.add_interaction(counter="c2", staff="李四", wall_start_s=_t(14, 0), duration_s=60,
                                     segments=[(0, 2, "staff", "烦不烦啊你")]),
        "rule_only": env.add_interaction(counter="c2", staff="李四", wall_start_s=_t(16, 0), duration_s=90,
                                         segments=[(0, 4, "staff", "你有完没完")],
                                         flags=[dict(type="forbidden", rule="F-RUDE", phrase="有病吧", evidence="有完没完",
                                                     start_s=0.5, end_s=3.0, confidence=0.6)]),
        "muddled": env.add_interaction(counter="c3", wall_start_s=_t(15, 30), duration_s=30,
                                       segments=[(0, 2, "staff", "……")], assessable=False,
                                       assessable_reason="语音无法识别"),
        "annex": env.add_interaction(site="annex", counter="a1", staff="赵六", wall_start_s=_t(15, 0),
                                     segments=[(0, 2, "staff", "烦不烦")]),
    }
    return ids


def test_browse_filters_sort_and_pages(app_env):
    ids = _dataset(app_env)
    admin = app_env.client(app_env.make_user("admin", []))
    c1 = app_env.counter_id("hall", "c1")
    r = admin.patch(f"/api/v1/counters/{c1}", json={"display_name": "1号窗口"})
    assert r.status_code == 200 and r.json()["label"] == "1号窗口", r.text
    assert admin.patch("/api/v1/sites/hall", json={"display_name": "市民服务中心一楼"}).status_code == 200
    sup = app_env.client(app_env.make_user("supervisor", ["hall"]))

    page = sup.get("/api/v1/interactions").json()
    assert page["total"] == 5 and [i["id"] for i in page["items"]][0] == ids["rule_only"]      # newest first
    afternoon = {"counter": "1号窗口", "since_s": _t(12), "until_s": _t(18)}
    got = sup.get("/api/v1/interactions", params=afternoon).json()
    assert got["total"] == 1
    [row] = got["items"]
    assert row["id"] == ids["rude"] and row["counter_label"] == "1号窗口" and row["site_label"] == "市民服务中心一楼"
    assert row["staff"] == "张三" and row["flags"]["forbidden"] == 1 and row["flags"]["worst_severity"] == "high"
    assert row["flags"]["rules"] == ["F-RUDE"] and row["flags"]["open"] == 1
    assert sup.get("/api/v1/interactions", params={"counter": "c1"}).json()["total"] == 2     # the id works too
    assert sup.get("/api/v1/interactions", params={"staff": "李四"}).json()["total"] == 2
    assert [i["id"] for i in sup.get("/api/v1/interactions", params={"rule": "F-RUDE", "sort": "time"}).json()["items"]] \
        == [ids["rude"], ids["rule_only"]]
    muddled = sup.get("/api/v1/interactions", params={"assessable": "false"}).json()
    assert [i["id"] for i in muddled["items"]] == [ids["muddled"]] and muddled["items"][0]["assessable_reason"] == "语音无法识别"
    longest = sup.get("/api/v1/interactions", params={"sort": "-duration", "limit": 2}).json()
    assert [i["id"] for i in longest["items"]] == [ids["rude"], ids["morning"]] and longest["total"] == 5
    second = sup.get("/api/v1/interactions", params={"sort": "-duration", "limit": 2, "offset": 2}).json()
    assert [i["id"] for i in second["items"]] == [ids["rule_only"], ids["exact"]]
    assert sup.get("/api/v1/interactions", params={"sort": "-flags", "limit": 1}).json()["items"][0]["flags"]["forbidden"] == 1

    # bad input: a clear 4xx with a Chinese message, nothing changed
    bad = sup.get("/api/v1/interactions", params={"since_s": _t(18), "until_s": _t(12)})
    assert bad.status_code == 422 and bad.json()["detail"]["code"] == "bad_time_range"
    assert "结束时间" in bad.json()["detail"]["message"]
    bad = sup.get("/api/v1/interactions", params={"limit": 0, "sort": "loudest"})
    assert bad.status_code == 422
    assert {e["message"] for e in bad.json()["detail"]} == {"每页条数：不能小于 1", "排序：应为以下之一：'-time', 'time', "
                                                                                 "'-duration', 'duration' or '-flags'"}
    assert sup.get("/api/v1/interactions", params={"site": "annex"}).status_code == 403
    assert admin.patch(f"/api/v1/counters/{c1}", json={"display_name": "  "}).json()["detail"]["code"] == "bad_display_name"
    assert sup.patch(f"/api/v1/counters/{c1}", json={"display_name": "x"}).status_code == 403
    with Session(app_env.engine) as s:
        assert s.scalar(select(Counter.display_name).where(Counter.id == c1)) == "1号窗口"


def test_sound_alike_phrase_search_ranks_exact_first_and_finds_rule_flags(app_env):
    ids = _dataset(app_env)
    sup = app_env.client(app_env.make_user("supervisor", ["hall"]))
    got = sup.get("/api/v1/interactions", params={"q": "烦不烦"}).json()
    assert got["rules"] == ["F-RUDE"]
    order = [(i["id"], i["match"]) for i in got["items"]]
    assert order == [(ids["exact"], "exact"), (ids["rude"], "sound"), (ids["rule_only"], "rule")] and got["total"] == 3
    exact, sound, rule = (i["line"] for i in got["items"])
    assert exact["text"][slice(*exact["hits"][0])] == "烦不烦"
    assert sound["text"] == "你反不妨案，自己看" and sound["text"][slice(*sound["hits"][0])] == "反不妨"
    assert sound["offset_s"] == 3.0 and sound["speaker"] == "staff"
    assert rule["rule"] == "F-RUDE" and rule["text"][slice(*rule["hits"][0])] == "有完没完"
    # a phrase that sounds like nothing stored, and one only the rule's label names
    assert sup.get("/api/v1/interactions", params={"q": "社保卡"}).json()["total"] == 0
    assert {i["id"] for i in sup.get("/api/v1/interactions", params={"q": "粗鲁"}).json()["items"]} == \
        {ids["rude"], ids["rule_only"]}
    # filters apply to phrase search too
    after = sup.get("/api/v1/interactions", params={"q": "烦不烦", "since_s": _t(15)}).json()
    assert [i["id"] for i in after["items"]] == [ids["rude"], ids["rule_only"]]
    assert sup.get("/api/v1/interactions", params={"q": " "}).json()["detail"]["code"] == "bad_query"


def test_viewer_phrase_with_digits_cannot_find_masked_numbers(app_env):
    iid = app_env.add_interaction(segments=[(0, 3, "customer", "我的手机号是13812345678")])
    viewer = app_env.client(app_env.make_user("viewer", ["hall"]))
    sup = app_env.client(app_env.make_user("supervisor", ["hall"]))
    assert [i["id"] for i in sup.get("/api/v1/interactions", params={"q": "1381234"}).json()["items"]] == [iid]
    assert viewer.get("/api/v1/interactions", params={"q": "1381234"}).json() == \
        {"total": 0, "offset": 0, "limit": 20, "sort": "-time", "items": [], "rules": [], "total_capped": False}
    [row] = viewer.get("/api/v1/interactions", params={"q": "5678"}).json()["items"]
    assert row["line"]["text"] == "我的手机号是*******5678"


def test_dictionary_and_sites(app_env):
    app_env.add_interaction(counter="c1", staff="张三")
    sup = app_env.client(app_env.make_user("supervisor", ["hall"]))
    d = sup.get("/api/v1/dictionary").json()
    assert d["labels"]["review_state"]["open"] == "待审核" and d["labels"]["certainty"]["uncertain"] == "待确认"
    rude = next(r for r in d["rules"] if r["id"] == "F-RUDE")
    assert rude["label"] == "粗鲁、侮辱性语言" and rude["severity"] == "high" and "烦不烦" in rude["phrases"]
    assert d["score"]["severity_points"] == {"high": 30, "medium": 15, "low": 5}
    [hall] = sup.get("/api/v1/sites").json()
    assert hall["name"] == "hall" and [c["name"] for c in hall["counters"]] == ["c1", "c2", "c3"]
    assert hall["counters"][0]["label"] == "c1 号窗口" and hall["staff"] == ["张三"]
    assert app_env.client().get("/api/v1/dictionary").status_code == 401


def test_transcript_export_txt_srt_docx_audited(app_env):
    from docx import Document

    iid = app_env.add_interaction(counter="c1", staff="张三", wall_start_s=_t(15, 10), segments=[
        (0.0, 2.5, "staff", "您好"), (2.5, 65.25, "customer", "我的电话是13812345678")],
        flags=[dict(type="forbidden", rule="F-RUDE", phrase="烦不烦", start_s=1.0, end_s=2.0)])
    sup = app_env.client(app_env.make_user("supervisor", ["hall"]))
    txt = sup.get(f"/api/v1/interactions/{iid}/transcript", params={"format": "txt"})
    assert txt.status_code == 200 and txt.headers["content-type"].startswith("text/plain")
    body = txt.content.decode("utf-8-sig")
    assert "窗口：c1 号窗口" in body and "开始时间：2026-11-03 15:10:00" in body and "[00:02] 群众：我的电话是13812345678" in body
    assert "服务忌语：粗鲁、侮辱性语言（严重），“烦不烦”，待审核" in body
    srt = sup.get(f"/api/v1/interactions/{iid}/transcript", params={"format": "srt"}).content.decode("utf-8-sig")
    assert srt.startswith("1\r\n00:00:00,000 --> 00:00:02,500\r\n工作人员：您好") and "00:00:02,500 --> 00:01:05,250" in srt
    docx = sup.get(f"/api/v1/interactions/{iid}/transcript", params={"format": "docx"})
    assert docx.status_code == 200 and f"-{iid}.docx" in docx.headers["content-disposition"]
    doc = Document(io.BytesIO(docx.content))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    assert "录音编号" in cells and "张三" in cells and "我的电话是13812345678" in cells
    viewer = app_env.client(app_env.make_user("viewer", ["hall"]))
    masked = viewer.get(f"/api/v1/interactions/{iid}/transcript").content.decode("utf-8-sig")
    assert "*******5678" in masked and "13812345678" not in masked
    assert sup.get(f"/api/v1/interactions/{iid}/transcript", params={"format": "pdf"}).status_code == 422
    assert sup.get("/api/v1/interactions/999999/transcript").json()["detail"]["message"] == "录音不存在，或不在您可查看的服务点"
    rows = app_env.audit_rows("transcript.export")
    assert len(rows) == 4 and all(r.target == f"interaction:{iid}" for r in rows)
    sup.get(f"/api/v1/interactions/{iid}")
    assert app_env.audit_rows("transcript.view")[-1].target == f"interaction:{iid}"


def test_common_phrase_is_ranked_within_its_newest_matches(app_env, monkeypatch):
    """Past CANDIDATE_CAP matching lines of a kind the browser ranks the newest of them and says
    the total is a lower bound; the filters narrow before the cap, so a counter's older match is
    still found, and a misheard phrase still ranks its sound-alike hits."""
    from services import search

    monkeypatch.setattr(search, "CANDIDATE_CAP", 3)
    older = app_env.add_interaction(counter="c2", wall_start_s=_t(8), segments=[(0, 2, "staff", "请稍等一下")])
    newer = [app_env.add_interaction(counter="c1", wall_start_s=_t(9 + h), segments=[(0, 2, "staff", "请稍等一下")])
             for h in range(5)]
    sup = app_env.client(app_env.make_user("supervisor", ["hall"]))

    page = sup.get("/api/v1/interactions", params={"q": "请稍等"}).json()
    assert page["total_capped"] is True and page["total"] == 3
    assert [i["id"] for i in page["items"]] == newer[:1:-1] and {i["match"] for i in page["items"]} == {"exact"}
    heard = sup.get("/api/v1/interactions", params={"q": "请稍灯"}).json()
    assert heard["total_capped"] is True and [i["id"] for i in heard["items"]] == newer[:1:-1]
    assert {i["match"] for i in heard["items"]} == {"sound"}
    scoped = sup.get("/api/v1/interactions", params={"q": "请稍等", "counter": "c2"}).json()
    assert scoped["total_capped"] is False and [i["id"] for i in scoped["items"]] == [older]
    oldest = sup.get("/api/v1/interactions", params={"q": "请稍等", "sort": "time"}).json()
    assert [i["id"] for i in oldest["items"]] == [older, *newer[:2]]

    monkeypatch.setattr(search, "CANDIDATE_CAP", 100)
    every = sup.get("/api/v1/interactions", params={"q": "请稍等", "limit": 4, "offset": 4}).json()
    assert every["total_capped"] is False and every["total"] == 6
    assert [i["id"] for i in every["items"]] == [newer[0], older]
