"""Sampling and assignment (抽检, issue 20 item 2) through the service, the API and the CLI, on
the real stack (SQLite and PostgreSQL)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from services.sampling import draw, pick
from tests.support.cli import run_cli

ZONE = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 3, 2)          # a Monday


def _at(day: dt.date, hour: int, minute: int = 0, second: int = 0) -> float:
    return dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=ZONE).timestamp()


def _dataset(app_env) -> list[int]:
    """20 interactions on DAY: 张三 at c1 and 李四 at c2, ten each, every third with a flag."""
    ids = []
    for i in range(20):
        staff, counter = ("张三", "c1") if i % 2 == 0 else ("李四", "c2")
        flags = [dict(type="forbidden", rule="F-RUDE", severity="high")] if i % 3 == 0 else []
        ids.append(app_env.add_interaction(staff=staff, counter=counter, wall_start_s=_at(DAY, 9 + i // 4, (i % 4) * 10),
                                           duration_s=60, flags=flags))
    return ids


def _plan(client, **kw) -> dict:
    body = {"site": "hall", "name": "日常抽检", "per": "staff", "period": "day", "mode": "count", "amount": 2,
            "reviewers": [], **kw}
    r = client.post("/api/v1/sampling/plans", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_pick_is_a_function_of_the_seed_alone():
    cands = [(i, i % 3) for i in range(1, 61)]
    a = pick(cands, seed=42, mode="count", amount=4)
    assert a == pick(list(reversed(cands)), seed=42, mode="count", amount=4)      # order of reading does not matter
    assert len(a) == 12 and a != pick(cands, seed=43, mode="count", amount=4)
    assert len(pick(cands, seed=42, mode="percent", amount=10)) == 6              # 10 % of 20 per group, rounded up: 2
    assert len(pick(cands, seed=42, mode="percent", amount=11)) == 9              # 2.2 -> 3 per group
    # an interaction that was not drawn changes nothing by being there (one analysed late)
    undrawn = next(i for i, _ in cands if i not in a)
    assert pick([c for c in cands if c[0] != undrawn], seed=42, mode="count", amount=4) == a

def test_same_seed_draws_the_same_set_and_assigns_in_turn_never_to_the_staff_member(app_env):
    ids = _dataset(app_env)
    sup = app_env.make_user("supervisor", ["hall"], name="王督导")
    app_env.make_user("supervisor", ["hall"], name="赵督导")
    app_env.make_user("supervisor", ["hall"], name="张三")           # a supervisor who also works c1 (on the roster)
    c = app_env.client(sup)
    plan = _plan(c, seed=20261207, reviewers=["王督导", "赵督导", "张三"])
    r = c.post(f"/api/v1/sampling/plans/{plan['id']}/draws", json={"day": DAY.isoformat()})
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["seed"], got["population"], got["existing"], got["period_start"], got["period_end"]) == \
        (20261207, 20, False, "2026-03-02", "2026-03-03")
    # The same on both backends (a fixed seed over the same interactions): positions in the dataset.
    assert [ids.index(i) for i in got["interaction_ids"]] == [1, 9, 14, 18]
    staff_of = {a["interaction_id"]: a["staff"] for a in got["assignments"]}
    assert sorted(staff_of.values()) == ["张三", "张三", "李四", "李四"]
    for a in got["assignments"]:
        assert a["reviewer"] is not None and a["reviewer"] != a["staff"]     # 张三 never reviews 张三
    # in turn by start time: 王, 赵, then 张三's turn falls on 张三's own interactions and passes on
    turns = [(a["staff"], a["reviewer"]) for a in sorted(got["assignments"], key=lambda a: a["wall_start_s"])]
    assert turns == [("李四", "王督导"), ("李四", "赵督导"), ("张三", "王督导"), ("张三", "赵督导")]

    # Drawing again returns the draw unchanged; another seed for the same day is refused.
    again = c.post(f"/api/v1/sampling/plans/{plan['id']}/draws", json={"day": DAY.isoformat()}).json()
    assert again["existing"] and again["interaction_ids"] == got["interaction_ids"]
    r = c.post(f"/api/v1/sampling/plans/{plan['id']}/draws", json={"day": DAY.isoformat(), "seed": 1})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "sampling_seed_differs"
    # A second plan with the same seed and form draws the same set (the seed is the whole draw).
    twin = _plan(c, seed=20261207, reviewers=["王督导"])
    assert c.post(f"/api/v1/sampling/plans/{twin['id']}/draws", json={"day": "2026-03-02"}).json()["interaction_ids"] \
        == got["interaction_ids"]
    [audit_row, _] = app_env.audit_rows("sampling.draw")
    assert audit_row.target == "site:hall" and "随机种子 20261207" in audit_row.detail and "20 条中抽出 4 条" in audit_row.detail
    assert all(str(i) in audit_row.detail for i in got["interaction_ids"])


def test_percent_flags_and_filters(app_env):
    ids = _dataset(app_env)
    c = app_env.client(app_env.make_user("supervisor", ["hall"], name="王督导"))
    flagged = {ids[i] for i in range(20) if i % 3 == 0}
    everyone = _plan(c, per="site", mode="percent", amount=100, reviewers=["王督导"])
    assert set(c.post(f"/api/v1/sampling/plans/{everyone['id']}/draws", json={"day": "2026-03-02"}).json()
               ["interaction_ids"]) == set(ids)
    with_flags = _plan(c, per="site", mode="percent", amount=100, flags="with", reviewers=["王督导"])
    assert set(c.post(f"/api/v1/sampling/plans/{with_flags['id']}/draws", json={"day": "2026-03-02"}).json()
               ["interaction_ids"]) == flagged
    clean = _plan(c, per="counter", mode="percent", amount=30, flags="without", reviewers=["王督导"])
    got = c.post(f"/api/v1/sampling/plans/{clean['id']}/draws", json={"day": "2026-03-02"}).json()
    # c1: 10 interactions, 4 flagged -> 6 clean, 30 % -> 2; c2: 7 clean -> 3 (rounded up)
    assert got["population"] == 13 and len(got["interaction_ids"]) == 5 and not set(got["interaction_ids"]) & flagged
    only = _plan(c, per="staff", mode="count", amount=50, counters=["c2"], staff=["李四"], hour_from=9, hour_to=10,
                 reviewers=["王督导"])
    got = c.post(f"/api/v1/sampling/plans/{only['id']}/draws", json={"day": "2026-03-02"}).json()
    assert set(got["interaction_ids"]) == {ids[1], ids[3]}          # 李四 at c2 from 09:00 to 10:00


def test_periods_on_the_sites_clock(app_env):
    c = app_env.client(app_env.make_user("supervisor", ["hall"], name="王督导"))
    before = app_env.add_interaction(staff="张三", wall_start_s=_at(DAY, 0, 0, 0) - 30)       # Sunday 23:59:30
    first = app_env.add_interaction(staff="张三", wall_start_s=_at(DAY, 0, 0, 0))             # Monday 00:00:00
    last = app_env.add_interaction(staff="张三", wall_start_s=_at(DAY, 23, 59, 59))           # Monday 23:59:59
    sunday = app_env.add_interaction(staff="张三", wall_start_s=_at(DAY + dt.timedelta(days=6), 23, 59, 0))
    after = app_env.add_interaction(staff="张三", wall_start_s=_at(DAY + dt.timedelta(days=7), 0, 0, 0))
    daily = _plan(c, per="site", mode="percent", amount=100, reviewers=["王督导"])
    assert sorted(c.post(f"/api/v1/sampling/plans/{daily['id']}/draws", json={"day": "2026-03-02"}).json()
                  ["interaction_ids"]) == [first, last]
    weekly = _plan(c, per="site", period="week", mode="percent", amount=100, reviewers=["王督导"])
    got = c.post(f"/api/v1/sampling/plans/{weekly['id']}/draws", json={"day": "2026-03-05"}).json()
    assert (got["period_start"], got["period_end"]) == ("2026-03-02", "2026-03-09")
    assert sorted(got["interaction_ids"]) == [first, last, sunday]
    assert before not in got["interaction_ids"] and after not in got["interaction_ids"]


def test_the_assigned_reviewer_scores_a_clean_interaction(app_env):
    clean = app_env.add_interaction(staff="张三", wall_start_s=_at(DAY, 10))
    sup, other = app_env.make_user("supervisor", ["hall"], name="王督导"), app_env.make_user("supervisor", ["hall"])
    c, o = app_env.client(sup), app_env.client(other)
    plan = _plan(c, per="site", reviewers=["王督导"])
    [a] = c.post(f"/api/v1/sampling/plans/{plan['id']}/draws", json={"day": "2026-03-02"}).json()["assignments"]
    assert a["interaction_id"] == clean and a["scored_s"] is None and a["score_now"] == 100.0
    mine = c.get("/api/v1/sampling/assignments", params={"scored": False})
    assert [x["id"] for x in mine.json()] == [a["id"]] and mine.headers["X-Total-Count"] == "1"
    assert o.get("/api/v1/sampling/assignments").json() == []
    r = o.post(f"/api/v1/sampling/assignments/{a['id']}/score", json={"note": "听过"})
    assert r.status_code == 403 and r.json()["detail"]["code"] == "sample_not_yours"
    assert c.post(f"/api/v1/sampling/assignments/{a['id']}/score", json={"note": ""}).status_code == 422
    # the reviewer adds what the machine missed, then records the score
    assert c.post(f"/api/v1/interactions/{clean}/findings",
                  json={"type": "missing_courtesy", "rule": "C-GREETING", "at_s": 1, "note": "未问候"}).status_code == 201
    r = c.post(f"/api/v1/sampling/assignments/{a['id']}/score", json={"note": "未主动问候，其余规范"})
    assert r.status_code == 200, r.text
    assert (r.json()["score"], r.json()["passed"], r.json()["note"]) == (90.0, True, "未主动问候，其余规范")
    [shown] = c.get(f"/api/v1/sampling/interactions/{clean}").json()
    assert shown["score"] == 90.0 and shown["reviewer"] == "王督导" and shown["plan_name"] == "日常抽检"
    [row] = app_env.audit_rows("sampling.score")
    assert row.target == f"interaction:{clean}" and "90 分，达标" in row.detail


def test_scoring_waits_for_uncertain_flags(app_env):
    iid = app_env.add_interaction(staff="张三", wall_start_s=_at(DAY, 10),
                                  flags=[dict(type="forbidden", rule="F-RUDE", confidence=0.3)])
    c = app_env.client(app_env.make_user("supervisor", ["hall"], name="王督导"))
    plan = _plan(c, per="site", reviewers=["王督导"])
    [a] = c.post(f"/api/v1/sampling/plans/{plan['id']}/draws", json={"day": "2026-03-02"}).json()["assignments"]
    r = c.post(f"/api/v1/sampling/assignments/{a['id']}/score", json={"note": "ok"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "sample_flags_open"
    assert a["interaction_id"] == iid


def test_bad_plans_name_the_field_and_sites_are_scoped(app_env):
    sup = app_env.make_user("supervisor", ["hall"], name="王督导")
    app_env.make_user("supervisor", ["annex"], name="annex督导")
    app_env.make_user("viewer", ["hall"], name="只读")
    c = app_env.client(sup)
    base = {"site": "hall", "name": "x", "per": "staff", "period": "day", "mode": "count", "amount": 2,
            "reviewers": ["王督导"]}
    for field, value in (("per", "team"), ("period", "month"), ("mode", "all"), ("amount", 0), ("amount", 5000),
                         ("flags", "some"), ("hour_to", 25), ("reviewers", []), ("name", "")):
        r = c.post("/api/v1/sampling/plans", json={**base, field: value})
        assert r.status_code == 422, (field, r.text)
        assert field in r.text, (field, r.text)
    for field, value, code in (("amount", 101, "sampling_amount"), ("counters", ["a1"], "sampling_counters"),
                               ("staff", ["无此人"], "sampling_staff"), ("reviewers", ["annex督导"], "sampling_reviewers"),
                               ("reviewers", ["只读"], "sampling_reviewers")):
        r = c.post("/api/v1/sampling/plans", json={**base, "mode": "percent", field: value})
        assert r.status_code == 422 and r.json()["detail"]["code"] == code, (field, r.text)
        assert r.json()["detail"]["field"] == field if "field" in r.json()["detail"] else True
    assert c.post("/api/v1/sampling/plans", json={**base, "site": "annex"}).status_code == 403
    plan = _plan(c, reviewers=["王督导"])
    annex = app_env.client(app_env.make_user("supervisor", ["annex"]))
    assert annex.get(f"/api/v1/sampling/plans/{plan['id']}").status_code == 404
    assert annex.post(f"/api/v1/sampling/plans/{plan['id']}/draws", json={"day": "2026-03-02"}).status_code == 404
    assert annex.get("/api/v1/sampling/plans").json() == []
    viewer = app_env.client(app_env.make_user("viewer", ["hall"]))
    assert viewer.get("/api/v1/sampling/plans").status_code == 403
    assert c.post(f"/api/v1/sampling/plans/{plan['id']}/draws", json={"day": "2026-02-30"}).status_code == 422
    assert c.delete(f"/api/v1/sampling/plans/{plan['id']}").json()["active"] is False
    r = c.post(f"/api/v1/sampling/plans/{plan['id']}/draws", json={"day": "2026-03-02"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "sampling_plan_stopped"
    assert app_env.audit_rows("sampling.plan.create") and app_env.audit_rows("sampling.plan.stop")


def test_the_reviewers_a_plan_may_name_are_listed_per_site(app_env):
    """The plan form's 审核人 come from GET /sampling/reviewers: the site's active supervisors and
    admins (an admin of every site too), id and name only; other sites and roles are not listed,
    and a plan naming someone off the list is refused with 422 naming 审核人."""
    from services.accounts import add_user
    from services.tokens import disable_user

    sup = app_env.make_user("supervisor", ["hall"], name="王督导")
    app_env.make_user("supervisor", ["hall", "annex"], name="两站督导")
    admin = app_env.make_user("admin", [], name="总管理员")
    app_env.make_user("admin", ["annex"], name="annex管理员")
    annex_sup = app_env.make_user("supervisor", ["annex"], name="annex督导")
    app_env.make_user("viewer", ["hall"], name="只读")
    app_env.make_user("supervisor", ["hall"], name="已停用督导")
    disable_user(app_env.engine, "已停用督导", actor="test")
    staff = add_user(app_env.engine, "窗口张三", role="staff", sites=["hall"], staff="张三").token

    r = app_env.client(sup).get("/api/v1/sampling/reviewers", params={"site": "hall"})
    assert r.status_code == 200, r.text
    assert [p["name"] for p in r.json()] == sorted(["王督导", "两站督导", "总管理员"])
    assert all(set(p) == {"id", "name"} for p in r.json())                  # no token, no sites, no role
    assert app_env.audit_rows("sampling.reviewers")[-1].target == "site:hall"
    assert app_env.audit_rows("sampling.reviewers")[-1].detail == "查看抽检审核人名单 3 人"
    by_admin = app_env.client(admin).get("/api/v1/sampling/reviewers", params={"site": "annex"})
    assert sorted(p["name"] for p in by_admin.json()) == sorted(["两站督导", "总管理员", "annex管理员", "annex督导"])
    # another site's supervisor: their own site only
    annex = app_env.client(annex_sup)
    assert {p["name"] for p in annex.get("/api/v1/sampling/reviewers", params={"site": "annex"}).json()} == \
        {"两站督导", "总管理员", "annex管理员", "annex督导"}
    r = annex.get("/api/v1/sampling/reviewers", params={"site": "hall"})
    assert r.status_code == 403 and "王督导" not in r.text
    assert app_env.client(sup).get("/api/v1/sampling/reviewers", params={"site": "nowhere"}).status_code == 403
    assert app_env.client(sup).get("/api/v1/sampling/reviewers").status_code == 422          # the site is needed
    assert app_env.client(staff).get("/api/v1/sampling/reviewers", params={"site": "hall"}).status_code == 403
    assert app_env.client().get("/api/v1/sampling/reviewers", params={"site": "hall"}).status_code == 401
    assert len(app_env.audit_rows("sampling.reviewers")) == 3                # only the answered reads

    # everyone listed may be named; anyone else is refused, the field named in Chinese
    c = app_env.client(sup)
    listed = [p["name"] for p in c.get("/api/v1/sampling/reviewers", params={"site": "hall"}).json()]
    assert _plan(c, reviewers=listed)["reviewers"] == listed
    for off in ("annex督导", "只读", "已停用督导", "窗口张三"):
        r = c.post("/api/v1/sampling/plans", json={"site": "hall", "name": "x", "per": "staff", "period": "day",
                                                   "mode": "count", "amount": 2, "reviewers": ["王督导", off]})
        assert r.status_code == 422 and r.json()["detail"]["code"] == "sampling_reviewers", (off, r.text)
        assert "审核人" in r.json()["detail"]["message"] and r.json()["detail"]["what"] == "reviewers"


@pytest.mark.slow     # a CLI in subprocesses: the full suite runs it, the fast loop does not
def test_cli_draws_like_the_console(app_env, db_url):
    ids = _dataset(app_env)
    c = app_env.client(app_env.make_user("supervisor", ["hall"], name="王督导"))
    plan = _plan(c, seed=20261207, reviewers=["王督导"])
    r = run_cli("sampling", "draw", "--plan", str(plan["id"]), "--day", "2026-03-02",
                env={"COUNTERWATCH_DATABASE_URL": db_url})
    assert r.returncode == 0, r.stderr
    assert "seed 20261207: 4 of 20 drawn" in r.stdout
    drawn = [int(line.split()[1]) for line in r.stdout.splitlines() if line.startswith("  interaction ")]
    assert [ids.index(i) for i in drawn] == [1, 9, 14, 18]
    [row] = app_env.audit_rows("sampling.draw")
    assert row.user_name.startswith("cli:") and row.target == "site:hall" and "“日常抽检”" in row.detail
    # the same service: the console's draw of that day is the CLI's
    assert draw(app_env.engine, plan["id"], DAY, user=None, actor="t").existing
    bad = run_cli("sampling", "draw", "--plan", str(plan["id"]), "--day", "03/02",
                  env={"COUNTERWATCH_DATABASE_URL": db_url})
    assert bad.returncode == 2 and "--day" in bad.stderr


def test_monthly_report_counts_the_samples_per_staff_and_counter(app_env):
    """抽检 in the monthly report (JSON and XLSX): per staff member and counter, the interactions
    of the month a plan drew, those their reviewer scored, and the mean score recorded."""
    import io

    from openpyxl import load_workbook

    from services.reports import SAMPLING_NOTE

    ids = _dataset(app_env)
    april = app_env.add_interaction(staff="张三", counter="c1", wall_start_s=_at(dt.date(2026, 4, 1), 10))
    c = app_env.client(app_env.make_user("supervisor", ["hall"], name="王督导"))
    plan = _plan(c, seed=20261207, reviewers=["王督导"])
    got = c.post(f"/api/v1/sampling/plans/{plan['id']}/draws", json={"day": DAY.isoformat()}).json()
    assert [ids.index(i) for i in got["interaction_ids"]] == [1, 9, 14, 18]     # 李四: 1, 9; 张三: 14, 18 (flagged)
    per_iid = {a["interaction_id"]: a["id"] for a in got["assignments"]}
    scores = []
    for pos in (14, 18):            # 张三's two, scored; 李四's left to do
        r = c.post(f"/api/v1/sampling/assignments/{per_iid[ids[pos]]}/score", json={"note": "已听"})
        assert r.status_code == 200, r.text
        scores.append(r.json()["score"])
    assert scores == [100.0, 70.0]                                               # 18 has a high-severity F-RUDE
    # an April draw does not count in March
    assert c.post(f"/api/v1/sampling/plans/{plan['id']}/draws", json={"day": "2026-04-01"}).json()["interaction_ids"] \
        == [april]

    rep = c.get("/api/v1/reports/monthly", params={"month": "2026-03", "site": "hall"}).json()
    sampled = lambda row: (row["sampled"], row["sampled_scored"], row["sampled_score"])      # noqa: E731
    staff = {r["name"]: r for r in rep["by_staff"]}
    counters = {r["name"]: r for r in rep["by_counter"]}
    assert sampled(staff["张三"]) == sampled(counters["c1"]) == (2, 2, 85.0)
    assert sampled(staff["李四"]) == sampled(counters["c2"]) == (2, 0, None)
    assert sampled(rep["total"]) == (4, 2, 85.0)
    assert rep["sampling_note"] == SAMPLING_NOTE and "抽检平均分" in SAMPLING_NOTE
    april_rep = c.get("/api/v1/reports/monthly", params={"month": "2026-04", "site": "hall"}).json()
    assert sampled(april_rep["total"]) == (1, 0, None)

    r = c.get("/api/v1/reports/monthly", params={"month": "2026-03", "site": "hall", "format": "xlsx"})
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.content))
    sheet = wb["月度报表"]
    header = [cell.value for cell in sheet[1]]
    rows = {(row[2], row[3]): dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2, values_only=True)}
    cols = ("抽检", "抽检已评分", "抽检平均分")
    assert [rows["人员", "张三"][h] for h in cols] == [2, 2, 85.0]
    assert [rows["人员", "李四"][h] for h in cols] == [2, 0, None]
    assert [rows["窗口", "c1 号窗口"][h] for h in cols] == [2, 2, 85.0]
    assert [rows["合计", "合计"][h] for h in cols] == [4, 2, 85.0]
    assert SAMPLING_NOTE in [row[0] for row in wb["计分说明"].iter_rows(values_only=True)]
