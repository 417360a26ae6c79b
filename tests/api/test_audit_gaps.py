"""Issue 11, item 3: every access and change the issue found unaudited now leaves its row, with
who, what and the detail (the review note included): opening a transcript, a search, a CSV
export, the flag list, a refused cross-site attempt, an emergency notice, deleting content,
registering a screen (which issues a token), logout."""
from __future__ import annotations

import re
import time

from tests.support.stack import AppEnv


def _last(app_env: AppEnv, action: str):
    rows = app_env.audit_rows(action)
    assert rows, f"no {action} row"
    return rows[-1]


def test_each_access_and_change_is_audited_with_its_detail(app_env: AppEnv):
    iid = app_env.add_interaction(wall_start_s=time.time() - 60, segments=[(0.0, 2.0, "staff", "您好，请坐")],
                                  flags=[dict(type="forbidden", rule="F-RUDE")])
    annex_iid = app_env.add_interaction(site="annex", counter="a1", wall_start_s=time.time() - 60)
    token = app_env.make_user("supervisor", ["hall"])
    who = app_env.names[token]
    sup = app_env.client(token)

    assert sup.get(f"/api/v1/interactions/{iid}").status_code == 200
    row = _last(app_env, "transcript.view")
    assert (row.user_name, row.target) == (who, f"interaction:{iid}")

    assert sup.get("/api/v1/interactions/search", params={"q": "请坐", "site": "hall"}).status_code == 200
    assert "请坐" in _last(app_env, "search").detail and "hall" in _last(app_env, "search").detail

    assert sup.get("/api/v1/flags", params={"rule": "F-RUDE"}).status_code == 200
    assert "F-RUDE" in _last(app_env, "flags.list").detail

    fid = sup.get("/api/v1/flags").json()[0]["id"]
    assert sup.post(f"/api/v1/flags/{fid}/review", json={"state": "dismissed", "note": "误报，已听录音"}).status_code == 200
    assert _last(app_env, "flag.review").detail == "已驳回：误报，已听录音"

    r = sup.get("/api/v1/reports/monthly", params={"month": time.strftime("%Y-%m"), "format": "csv"})
    assert r.status_code == 200
    assert _last(app_env, "report.export").user_name == who

    assert sup.get(f"/api/v1/interactions/{annex_iid}").status_code == 404      # another site's
    assert sup.get("/api/v1/flags", params={"site": "annex"}).status_code == 403
    refused = [r.target for r in app_env.audit_rows("access.refused") if r.user_name == who]
    assert refused == ["GET /api/v1/flags"]
    # A 404 is an object not there (or not in the caller's sites), not an authorisation failure
    # (issue 20): its own action, its Chinese message as the detail, no error code.
    assert sup.get("/api/v1/interactions/2147483000").status_code == 404                  # no such one
    missing = [(r.target, r.detail) for r in app_env.audit_rows("access.missing") if r.user_name == who]
    assert missing == [(f"GET /api/v1/interactions/{annex_iid}", "录音不存在，或不在您可查看的服务点"),
                       ("GET /api/v1/interactions/2147483000", "录音不存在，或不在您可查看的服务点")], missing
    from domain.vocab import LABELS
    assert LABELS["audit_action"]["access.missing"] == "访问的对象不存在或不在本人服务点"

    r = sup.post("/api/v1/signage/screens", json={"site": "hall", "name": "lobby"})
    assert r.status_code == 201
    row = _last(app_env, "screen.register")
    assert "lobby" in row.target and r.json()["token"] not in f"{row.target} {row.detail}"
    assert re.fullmatch(r"服务点 hall：已签发新令牌，旧令牌作废；(\d+ 天后失效|长期有效)", row.detail), row.detail
    # token expiries in the audit log: a date on the sites' clock, not Unix seconds (issue 20)
    from services.audit import expiry_detail
    from services.devices import issue
    issue(app_env.engine, role="kiosk", site="hall", name="k9", actor="t", ttl_s=86400)
    assert re.fullmatch(r"有效期至 \d{4}-\d\d-\d\d \d\d:\d\d", _last(app_env, "device.issue").detail)
    assert expiry_detail(None) == "长期有效" and expiry_detail(0.0) == "有效期至 1970-01-01 08:00"

    r = sup.post("/api/v1/signage/interrupts", json={"site": "hall", "title": "系统维护", "body": "暂停取号"})
    assert r.status_code == 201, r.text
    assert _last(app_env, "interrupt.create").user_name == who
    assert re.fullmatch(r"紧急通知 #\d+（全部信息屏）：系统维护", _last(app_env, "interrupt.create").detail)

    content = sup.post("/api/v1/signage/content/text", json={"site": "hall", "name": "guide", "title": "办事指南"})
    assert content.status_code == 201, content.text
    assert sup.delete(f"/api/v1/signage/content/{content.json()['id']}").status_code == 204
    assert _last(app_env, "content.delete").target == f"content:{content.json()['id']}"

    assert sup.post("/api/v1/auth/logout").status_code == 204
    assert _last(app_env, "logout").user_name == who
    # in plain Chinese, the token's number kept for a search (issue 20 item 8)
    assert re.fullmatch(r"令牌 #\d+", _last(app_env, "logout").detail), _last(app_env, "logout").detail
