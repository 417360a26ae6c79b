"""Transcript search and interaction detail through the API, on SQLite (FTS5 trigram) and
PostgreSQL (pg_trgm), with site scoping."""
from __future__ import annotations

import time

from sqlalchemy import delete, text, update
from sqlalchemy.orm import Session

from services.search import find_hits, fts_phrase, make_snippet, search_statement
from storage.tables import Interaction, Segment
from tests.support.stack import AppEnv

API = "/api/v1/interactions"
NOW = time.time()


def _seed(env: AppEnv) -> dict[str, int]:
    ids = {}
    ids["old"] = env.add_interaction(wall_start_s=NOW - 7200, staff="王芳", segments=[
        (0.5, 3.0, "S", "您好，请问您办理什么业务？"), (3.5, 6.0, "C", "你们是不是快下班了"),
    ], flags=[{"type": "forbidden", "rule": "F-OFF-WORK", "review_state": "confirmed"}])
    ids["new"] = env.add_interaction(wall_start_s=NOW - 600, counter="c2", staff="李强", segments=[
        (1.0, 2.0, "S", "我们五点下班，请抓紧时间"), (12.25, 15.0, "S", "Please wait, WiFi 密码是 abc_100%"),
    ], flags=[{"type": "missing_courtesy", "rule": "C-THANKS"}])
    ids["annex"] = env.add_interaction(site="annex", counter="a1", wall_start_s=NOW - 60, segments=[
        (2.0, 4.0, "S", "马上就要下班了，明天再来吧"),
    ])
    return ids


def _get(env: AppEnv, token: str, **params) -> list[dict]:
    r = env.client(token).get(f"{API}/search", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_substring_search_finds_chinese_inside_words_newest_first(app_env: AppEnv):
    ids = _seed(app_env)
    admin = app_env.token("admin", [])
    hits = _get(app_env, admin, q="下班")          # two characters: the LIKE fallback
    assert [h["interaction_id"] for h in hits] == [ids["annex"], ids["new"], ids["old"]]
    old = hits[-1]
    assert old["text"] == "你们是不是快下班了" and old["snippet"] == "你们是不是快【下班】了"
    assert old["hits"] == [[6, 8]] and old["offset_s"] == 3.5 and old["site"] == "hall" and old["counter"] == "c1"
    assert abs(old["wall_start_s"] - (NOW - 7200)) < 1e-3
    hits = _get(app_env, admin, q="快下班")         # three characters: the trigram index
    assert [(h["interaction_id"], h["snippet"]) for h in hits] == [(ids["old"], "你们是不是【快下班】了")]
    assert _get(app_env, admin, q="下班了") and len(_get(app_env, admin, q="下班了")) == 2
    assert _get(app_env, admin, q="没有这句话") == []


def test_latin_text_special_characters_and_case(app_env: AppEnv):
    ids = _seed(app_env)
    admin = app_env.token("admin", [])
    for q in ("wifi", "WIFI", "abc_100%", "c_1", "%", "_"):
        hits = _get(app_env, admin, q=q)
        assert [h["interaction_id"] for h in hits] == [ids["new"]], q
        assert hits[0]["offset_s"] == 12.25
    hit = _get(app_env, admin, q="wifi")[0]
    s, e = hit["hits"][0]
    assert hit["text"][s:e] == "WiFi" and "【WiFi】" in hit["snippet"]
    assert _get(app_env, admin, q='"quoted" OR x') == []          # FTS syntax is not interpreted
    assert _get(app_env, admin, q="a'b") == []


def test_filters(app_env: AppEnv):
    ids = _seed(app_env)
    admin = app_env.token("admin", [])

    def found(**p) -> list[int]:
        return [h["interaction_id"] for h in _get(app_env, admin, q="下班", **p)]

    assert found(site="annex") == [ids["annex"]]
    assert found(counter="c2") == [ids["new"]]
    assert found(staff="王芳") == [ids["old"]]
    assert found(since_s=NOW - 3600) == [ids["annex"], ids["new"]]
    assert found(until_s=NOW - 3600) == [ids["old"]]
    assert found(rule="F-OFF-WORK") == [ids["old"]]
    assert found(review_state="open") == [ids["new"]]
    assert found(review_state="confirmed", rule="C-THANKS") == []
    assert found(limit=1) == [ids["annex"]]
    app_env.catalog.add_event("hall", "c2", kind="rating", at_s=NOW - 600 + 70, payload={"level": "不满意"})
    assert found(rating="不满意") == [ids["new"]]
    assert found(rating="满意") == []
    r = app_env.client(admin).get(f"{API}/search", params={"q": "下班", "rating": "great"})
    assert r.status_code == 422


def test_site_scope_and_roles(app_env: AppEnv):
    ids = _seed(app_env)
    hall = app_env.token("supervisor", ["hall"])
    viewer = app_env.token("viewer", ["annex"])
    assert {h["site"] for h in _get(app_env, hall, q="下班")} == {"hall"}
    assert [h["interaction_id"] for h in _get(app_env, viewer, q="下班")] == [ids["annex"]]
    assert app_env.client(hall).get(f"{API}/search", params={"q": "下班", "site": "annex"}).status_code == 403
    assert app_env.client().get(f"{API}/search", params={"q": "下班"}).status_code == 401
    assert app_env.client("cw_not-a-token").get(f"{API}/search", params={"q": "下班"}).status_code == 401
    agent = app_env.token("agent", [])
    assert app_env.client(agent).get(f"{API}/search", params={"q": "下班"}).status_code == 403
    for bad in ({"q": ""}, {"q": "x" * 201}, {"q": "下班", "limit": 0}, {"q": "   "}):
        assert app_env.client(hall).get(f"{API}/search", params=bad).status_code == 422, bad


def test_detail_and_scope(app_env: AppEnv):
    ids = _seed(app_env)
    hall = app_env.token("viewer", ["hall"])
    r = app_env.client(hall).get(f"{API}/{ids['old']}")
    assert r.status_code == 200, r.text
    d = r.json()
    assert (d["site"], d["counter"], d["staff"], d["duration_s"]) == ("hall", "c1", "王芳", 60.0)
    assert [(g["start_s"], g["speaker"], g["text"]) for g in d["segments"]] == [
        (0.5, "S", "您好，请问您办理什么业务？"), (3.5, "C", "你们是不是快下班了")]
    (f,) = d["flags"]
    assert (f["rule"], f["type"], f["review_state"], f["review_note"]) == ("F-OFF-WORK", "forbidden", "confirmed", "")
    # Another site's interaction and a missing one look the same.
    for i in (ids["annex"], 999999):
        r = app_env.client(hall).get(f"{API}/{i}")
        assert r.status_code == 404 and r.json()["detail"]["code"] == "interaction_not_found"
        assert r.json()["detail"]["what"] == f"interaction {i}"
    assert app_env.client(hall).get(f"{API}/1%2F..%2F2").status_code in (404, 422)
    assert app_env.client(hall).get(f"{API}/99999999999").status_code == 422
    assert app_env.client().get(f"{API}/{ids['old']}").status_code == 401


def test_index_follows_inserts_updates_and_deletes(app_env: AppEnv):
    ids = _seed(app_env)
    admin = app_env.token("admin", [])
    with Session(app_env.engine) as s, s.begin():
        s.execute(update(Segment).where(Segment.text == "你们是不是快下班了").values(text="今天人很多"))
    assert [h["interaction_id"] for h in _get(app_env, admin, q="快下班")] == []
    assert [h["interaction_id"] for h in _get(app_env, admin, q="人很多")] == [ids["old"]]
    with Session(app_env.engine) as s, s.begin():     # segments go with their interaction (cascade)
        s.execute(delete(Interaction).where(Interaction.id == ids["new"]))
    assert [h["interaction_id"] for h in _get(app_env, admin, q="下班了")] == [ids["annex"]]
    assert _get(app_env, admin, q="五点下班") == []
    if app_env.engine.dialect.name == "sqlite":
        with app_env.engine.begin() as c:
            c.execute(text("INSERT INTO segments_fts(segments_fts) VALUES ('integrity-check')"))


def test_the_index_is_used(app_env: AppEnv):
    """The three-character query goes through the trigram index on each backend."""
    eng = app_env.engine
    stmt = search_statement("快下班", dialect=eng.dialect.name)
    sql = str(stmt.compile(eng, compile_kwargs={"literal_binds": True}))
    with eng.connect() as c:
        if eng.dialect.name == "sqlite":
            plan = " ".join(str(r) for r in c.execute(text("EXPLAIN QUERY PLAN " + sql)))
            assert "segments_fts VIRTUAL TABLE INDEX" in plan, plan
        else:
            c.execute(text("SET enable_seqscan = off"))
            plan = " ".join(r[0] for r in c.execute(text("EXPLAIN " + sql)))
            assert "ix_segments_text_trgm" in plan, plan


def test_snippet_helpers():
    assert fts_phrase('a"b') == '"a""b"'
    assert find_hits("下班下班了", "下班") == [(0, 2), (2, 4)]
    long = "甲" * 100 + "下班" + "乙" * 100
    window, spans, snippet, cut_a, cut_b = make_snippet(long, "下班", context_chars=10)
    assert window == "甲" * 10 + "下班" + "乙" * 10 and spans == [(10, 12)] and cut_a and cut_b
    assert snippet == "甲" * 10 + "【下班】" + "乙" * 10


def test_every_search_plan_agrees_with_a_plain_scan(app_env: AppEnv):
    """SQLite scans common phrases newest first and sorts rare ones from the FTS index;
    PostgreSQL uses the trigram index: all must return exactly what a plain scan finds."""
    from sqlalchemy import select

    from storage.tables import Segment

    _seed(app_env)
    dialect = app_env.engine.dialect.name
    with Session(app_env.engine) as s:
        texts = dict(s.execute(select(Segment.id, Segment.text)).all())
        for q in ("快下班", "下班了", "wifi", "abc_100%", "没有这句话"):
            expect = {i for i, t in texts.items() if q.lower() in t.lower()}
            for time_first in ((False, True) if dialect == "sqlite" else (False,)):
                rows = s.execute(search_statement(q, dialect=dialect, time_first=time_first, limit=10_000)).all()
                assert {r[0] for r in rows} == expect, (q, time_first)

def test_counter_and_staff_filters_over_many_matches_agree_with_sorting_them_all(app_env: AppEnv):
    """A counter + last 7 days or staff + month search of a common phrase (more matches than
    the cut-off, so SQLite walks the scope newest first, issue 12): the same hits, in the same
    order, as sorting every match, and only hits in scope; through the API as well."""
    from services.search import SearchFilters, search_segments

    phrases = ("请稍等，我看一下", "您好，请问办理什么业务", "请稍等片刻", "谢谢，请慢走")
    for i in range(90):
        app_env.add_interaction(counter=("c1", "c2")[i % 2], staff=("王芳", "李强", "张伟")[i % 3],
                                wall_start_s=NOW - i * 0.4 * 86400,
                                segments=[(k * 2.0, k * 2.0 + 1.5, "S", phrases[(i + k) % 4]) for k in range(12)])
    dialect = app_env.engine.dialect.name
    cases = [SearchFilters(counter="c2", since_s=NOW - 7 * 86400),
             SearchFilters(staff="王芳", since_s=NOW - 30 * 86400, until_s=NOW + 1)]
    admin = app_env.token("admin", [])
    with Session(app_env.engine) as s:
        for f in cases:
            expect = [r[0] for r in s.execute(search_statement("请稍等", dialect=dialect, filters=f, limit=50))]
            got = search_segments(s, "请稍等", filters=f, limit=50)
            assert len(expect) == 50 and [h.segment_id for h in got] == expect, f
            inter = {h.interaction_id for h in got}
            rows = s.execute(text("SELECT i.id, c.name, st.name, i.wall_start_s FROM interactions i "
                                  "JOIN counters c ON c.id = i.counter_id LEFT JOIN staff st ON st.id = i.staff_id")).all()
            for iid, counter, staff, wall in rows:
                if iid in inter:
                    assert (f.counter in (None, counter)) and (f.staff in (None, staff)) and wall >= f.since_s
            params = {k: v for k, v in (("counter", f.counter), ("staff", f.staff), ("since_s", f.since_s),
                                        ("until_s", f.until_s)) if v is not None}
            assert [h["segment_id"] for h in _get(app_env, admin, q="请稍等", **params)] == expect
