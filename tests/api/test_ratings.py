"""One rule decides which interaction a rating press belongs to (domain.vocab.RATING_WINDOW_S,
storage.queries.rating_of): the interaction page, the search's rating filter and the monthly
report agree on every case."""
from __future__ import annotations

import datetime as dt

from domain.timezones import site_zone
from domain.vocab import RATING_WINDOW_S
from tests.support.stack import AppEnv

T = dt.datetime(2026, 11, 10, 10, 0, tzinfo=site_zone("Asia/Shanghai")).timestamp()


def _seed(env: AppEnv) -> dict[str, int]:
    seg = [(0.0, 2.0, "staff", "您好，请问办理什么业务")]
    ids = {
        "a": env.add_interaction(counter="c1", wall_start_s=T, duration_s=60, segments=seg),
        "b": env.add_interaction(counter="c1", wall_start_s=T + 200, duration_s=60, segments=seg),
        "c": env.add_interaction(counter="c2", wall_start_s=T, duration_s=60, segments=seg),
        "d": env.add_interaction(counter="c2", wall_start_s=T + 80, duration_s=60, segments=seg),
    }
    for counter, at, level in (("c1", T + 60 + RATING_WINDOW_S - 10, "满意"),      # a: inside the window
                               ("c1", T + 260 + RATING_WINDOW_S + 30, "不满意"),   # b: too late for b
                               ("c2", T + 90, "一般")):                             # d started before it: d's
        env.catalog.add_event("hall", counter, kind="rating", at_s=at, payload={"level": level})
    return ids


def test_interaction_search_and_report_agree_on_ratings(app_env: AppEnv):
    ids = _seed(app_env)
    c = app_env.client(app_env.make_user("supervisor"))
    got = {k: c.get(f"/api/v1/interactions/{i}").json()["rating"] for k, i in ids.items()}
    assert got == {"a": "满意", "b": None, "c": None, "d": "一般"}

    for level, expected in (("满意", {ids["a"]}), ("一般", {ids["d"]}), ("不满意", set())):
        hits = c.get("/api/v1/interactions/search", params={"q": "办理什么", "rating": level}).json()
        assert {h["interaction_id"] for h in hits} == expected, level

    report = c.get("/api/v1/reports/monthly", params={"month": "2026-11", "site": "hall"}).json()
    by_counter = {r["name"]: r["ratings"] for r in report["by_counter"]}
    assert by_counter["c1"] == {"非常满意": 0, "满意": 1, "一般": 0, "不满意": 0}
    assert by_counter["c2"] == {"非常满意": 0, "满意": 0, "一般": 1, "不满意": 0}


def test_a_rating_of_an_interaction_that_was_not_judged_counts_nowhere(app_env: AppEnv):
    # Issue 19: a 1-second noise "interaction" rated 不满意 counted as a perfect 100 and as a rating.
    seg = [(0.0, 1.0, "staff", "嗯")]
    noise = app_env.add_interaction(counter="c3", wall_start_s=T, duration_s=1, segments=seg, assessable=False,
                                    assessable_reason="非服务对话（只有一方说话，对话只有 1 秒）")
    app_env.catalog.add_event("hall", "c3", kind="rating", at_s=T + 5, payload={"level": "不满意"})
    c = app_env.client(app_env.make_user("supervisor"))
    assert c.get(f"/api/v1/interactions/{noise}").json()["rating"] == "不满意"     # kept and shown
    report = c.get("/api/v1/reports/monthly", params={"month": "2026-11", "site": "hall"}).json()
    (row,) = [r for r in report["by_counter"] if r["name"] == "c3"]
    assert row["ratings"] == {"非常满意": 0, "满意": 0, "一般": 0, "不满意": 0}
    assert row["score"] is None and row["assessable"] == 0 and row["satisfaction_rate"] is None


def test_a_site_on_the_five_level_scale_is_counted_at_every_level_with_one_satisfaction_rate(app_env: AppEnv):
    # Issue 21 item 2: the monthly report counted only the seed's four levels, so a 好差评 site's
    # 基本满意 and 非常不满意 vanished and its 满意率 was (非常满意 + 满意) / the four levels' presses.
    from domain.vocab import FIVE_LEVELS, RATING_LEVELS, satisfaction_rate

    sup = app_env.client(app_env.make_user("supervisor", ["hall", "annex"]))
    assert sup.put("/api/v1/ratings/scale", json={"site": "annex", "scale": "five"}).status_code == 204
    seg = [(0.0, 2.0, "staff", "您好，请问办理什么业务")]
    dims = {"整体满意度": "基本满意", "服务效率": "非常不满意"}
    for k, level in enumerate(FIVE_LEVELS):
        start = T + 1000 * k
        app_env.add_interaction(site="annex", counter="a1", wall_start_s=start, duration_s=60, segments=seg)
        app_env.catalog.add_event("annex", "a1", kind="rating", at_s=start + 65,
                                  payload={"level": level, "dimensions": dims})
    expected = dict.fromkeys(FIVE_LEVELS, 1)
    rate = satisfaction_rate(expected)
    assert rate == 3 / 5        # 非常满意 + 满意 + 基本满意 of five presses

    report = sup.get("/api/v1/reports/monthly", params={"month": "2026-11", "site": "annex"}).json()
    assert report["rating_levels"] == list(FIVE_LEVELS)
    assert report["total"]["ratings"] == expected and report["total"]["satisfaction_rate"] == round(rate, 4)
    (row,) = report["by_counter"]
    assert row["ratings"] == expected and row["satisfaction_rate"] == round(rate, 4)
    csv = sup.get("/api/v1/reports/monthly", params={"month": "2026-11", "site": "annex", "format": "csv"}).text
    header = csv.lstrip("\ufeff").splitlines()[0].split(",")
    assert all(lv in header for lv in FIVE_LEVELS) and "一般" not in header

    ratings = sup.get("/api/v1/ratings/report", params={"month": "2026-11", "site": "annex"}).json()
    assert ratings["levels"] == list(FIVE_LEVELS) and ratings["total"]["counts"] == expected
    assert ratings["total"]["satisfaction_rate"] == rate
    by_dim = {d["name"]: d for d in ratings["total"]["dimensions"]}
    assert by_dim["整体满意度"]["counts"]["基本满意"] == 5 and by_dim["整体满意度"]["satisfaction_rate"] == 1.0
    assert by_dim["服务效率"]["counts"]["非常不满意"] == 5 and by_dim["服务效率"]["satisfaction_rate"] == 0.0
    assert [d["name"] for d in ratings["total"]["dimensions"]] == ["整体满意度", "服务效率"]

    # The seed's four-level site next door keeps its four columns and its 满意率.
    _seed(app_env)
    hall = sup.get("/api/v1/reports/monthly", params={"month": "2026-11", "site": "hall"}).json()
    assert hall["rating_levels"] == list(RATING_LEVELS)
    assert hall["total"]["ratings"] == {"非常满意": 0, "满意": 1, "一般": 1, "不满意": 0}
    assert hall["total"]["satisfaction_rate"] == 0.5
    hall_ratings = sup.get("/api/v1/ratings/report", params={"month": "2026-11", "site": "hall"}).json()
    assert hall_ratings["levels"] == list(RATING_LEVELS)


def test_a_halls_own_rater_sends_the_levels_of_its_sites_scale(app_env: AppEnv):
    admin = app_env.client(app_env.make_user("admin", []))
    assert admin.put("/api/v1/ratings/scale", json={"site": "annex", "scale": "five"}).status_code == 204
    seg = [(0.0, 2.0, "staff", "您好，请问办理什么业务")]
    inter = app_env.add_interaction(site="annex", counter="a1", wall_start_s=T, duration_s=60, segments=seg)
    r = admin.post("/api/v1/events", json={"site": "annex", "counter": "a1", "kind": "rating", "at_s": T + 65,
                                           "level": "基本满意"})
    assert r.status_code == 201, r.text
    bad = admin.post("/api/v1/events", json={"site": "hall", "counter": "c1", "kind": "rating", "at_s": T + 65,
                                             "level": "基本满意"})
    assert bad.status_code == 422 and "level" in bad.json()["detail"]["what"]
    assert admin.get(f"/api/v1/interactions/{inter}").json()["rating"] == "基本满意"
    hits = admin.get("/api/v1/interactions/search", params={"q": "办理什么", "rating": "基本满意"}).json()
    assert [h["interaction_id"] for h in hits] == [inter]
