"""One search pipeline (issue 22): the CLI (``counterwatch search``), ``GET /interactions/search``
and the recordings browser (``GET /interactions?q=``) give the same hits in the same order for
the same phrase and filters, on SQLite and PostgreSQL: 烦不烦 finds the line as written first,
then the sound-alike 反不妨, then a flag of the rule the phrase names; a line a reviewer corrected
is found by its corrected text too."""
from __future__ import annotations

import json

import pytest
from sqlalchemy.orm import Session

from services.search import SearchFilters, search_segments
from tests.api.test_recordings import _dataset, _t
from tests.support.cli import run_cli
from tests.support.stack import AppEnv
from transcribe.rules import load_rulebook


def _browser(client, **params) -> list[tuple[int, int, str]]:
    page = client.get("/api/v1/interactions", params={**params, "limit": 200}).json()
    return [(i["id"], i["line"]["segment_id"], i["match"]) for i in page["items"]]


def _search(client, **params) -> list[dict]:
    r = client.get("/api/v1/interactions/search", params={**params, "limit": 500})
    assert r.status_code == 200, r.text
    return r.json()


def _first_per_interaction(hits: list[dict]) -> list[tuple[int, int, str]]:
    seen: dict[int, tuple[int, int, str]] = {}
    for h in hits:
        seen.setdefault(h["interaction_id"], (h["interaction_id"], h["segment_id"], h["match"]))
    return list(seen.values())


@pytest.mark.slow     # over 10 s on the loaded box: the full suite's, not the fast loop's
def test_cli_search_and_browser_give_the_same_hits_in_the_same_order(app_env: AppEnv):
    ids = _dataset(app_env)
    # a second line as written in the same interaction, and one more sound-alike
    ids["twice"] = app_env.add_interaction(counter="c3", staff="王五", wall_start_s=_t(11, 0), segments=[
        (0, 2, "staff", "烦不烦"), (2, 4, "customer", "我等了很久"), (4, 6, "staff", "真是烦不烦")])
    ids["heard"] = app_env.add_interaction(counter="c1", staff="张三", wall_start_s=_t(10, 0),
                                           segments=[(0, 2, "staff", "反不反呀")])
    sup = app_env.client(app_env.make_user("supervisor", ["hall"]))
    admin = app_env.client(app_env.make_user("admin", []))

    hits = _search(sup, q="烦不烦")
    assert [(h["interaction_id"], h["match"]) for h in hits] == [
        (ids["exact"], "exact"), (ids["twice"], "exact"), (ids["twice"], "exact"),
        (ids["rude"], "sound"), (ids["heard"], "sound"), (ids["rule_only"], "rule")]
    sound = hits[3]
    assert sound["text"] == "你反不妨案，自己看" and sound["snippet"] == "你【反不妨】案，自己看"
    assert hits[-1]["rule"] == "F-RUDE" and hits[-1]["snippet"] == "你【有完没完】"
    assert _first_per_interaction(hits) == _browser(sup, q="烦不烦")

    # a reviewer's correction of a line (issue 20 item 5): found by its corrected text on every path
    line = sup.get(f"/api/v1/interactions/{ids['morning']}").json()["segments"][0]["id"]
    r = sup.post(f"/api/v1/interactions/{ids['morning']}/corrections",
                 json={"segment_id": line, "text": "您好，请问是预约取号吗？", "reason": "识别错误"})
    assert r.status_code == 201, r.text
    assert _browser(sup, q="预约取号") == [(ids["morning"], line, "corrected")]

    cases = [dict(q="烦不烦"), dict(q="烦不烦", counter="c1"), dict(q="烦不烦", since_s=_t(12)),
             dict(q="烦不烦", site="hall", staff="张三"), dict(q="粗鲁"), dict(q="您好"), dict(q="自己看"),
             dict(q="社保卡"), dict(q="预约取号"), dict(q="请问", counter="c1")]
    rulebook = load_rulebook()
    for params in cases:
        for client, role in ((sup, "supervisor"), (admin, "admin")):
            api = _search(client, **params)
            assert _first_per_interaction(api) == _browser(client, **params), (role, params)
        f = SearchFilters(site=params.get("site"), counter=params.get("counter"), staff=params.get("staff"),
                          since_s=params.get("since_s"))
        with Session(app_env.engine) as s:
            service = search_segments(s, params["q"], filters=f, limit=500, role="admin", rulebook=rulebook)
        assert [(h.interaction_id, h.segment_id, h.match) for h in service] == \
            [(h["interaction_id"], h["segment_id"], h["match"]) for h in _search(admin, **params)], params
    assert _browser(sup, q="社保卡") == [] and _search(sup, q="粗鲁")[0]["match"] == "rule"

    # the CLI: the same hits as the API for an operator (it reads everything), in the same order
    env = {"COUNTERWATCH_DATABASE_URL": app_env.engine.url.render_as_string(hide_password=False)}
    r = run_cli("search", "烦不烦", "--json", "--limit", "500", env=env)
    assert r.returncode == 0, r.stderr
    cli = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(c["interaction"], c["match"], c["snippet"]) for c in cli] == \
        [(h["interaction_id"], h["match"], h["snippet"]) for h in _search(admin, q="烦不烦")]
    assert {c["interaction"] for c in cli} >= {ids["annex"], ids["rude"]}       # all sites


def test_a_viewer_finds_no_hidden_number_on_any_path(app_env: AppEnv):
    """One PII rule: a phrase matching only inside a masked number finds nothing for a viewer,
    in the line list and in the browser alike; the digits that stay shown are found."""
    iid = app_env.add_interaction(segments=[(0, 3, "customer", "我的手机号是13812345678")])
    viewer = app_env.client(app_env.make_user("viewer", ["hall"]))
    sup = app_env.client(app_env.make_user("supervisor", ["hall"]))
    assert _search(viewer, q="1381234") == [] and _browser(viewer, q="1381234") == []
    assert [h["interaction_id"] for h in _search(sup, q="1381234")] == [iid] == [i for i, _, _ in _browser(sup, q="1381234")]
    [hit] = _search(viewer, q="5678")
    assert hit["text"] == "我的手机号是*******5678" and _first_per_interaction([hit]) == _browser(viewer, q="5678")
