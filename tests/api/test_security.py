"""Authentication, roles, site scope, the append-only audit log and token hygiene."""
from __future__ import annotations

import logging
import re
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.app import CONSOLE
from storage.tables import AuditLog

PASSWORD = "correct horse battery"

PUBLIC = {("post", "/api/v1/auth/login")}


def _operations(app) -> list[tuple[str, str]]:
    ops = []
    for path, item in app.openapi()["paths"].items():
        for method in item:
            if method in ("get", "post", "put", "patch", "delete") and (method, path) not in PUBLIC:
                ops.append((method, re.sub(r"\{[^}]+\}", "1", path)))
    return ops


def test_every_route_needs_a_token(app_env):
    ops = _operations(app_env.app)
    assert len(ops) >= 10
    anon = app_env.client()
    forged = app_env.client("cw_not-a-real-token")
    for method, path in ops:
        for client in (anon, forged):
            r = client.request(method, path)
            assert r.status_code == 401, (method, path, r.status_code, r.text)
            assert r.headers.get("www-authenticate") == "Bearer"


def test_viewer_cannot_review_or_handle_complaints(app_env):
    app_env.add_interaction(wall_start_s=time.time() - 60, flags=[dict(type="forbidden", rule="F-RUDE")])
    viewer = app_env.client(app_env.make_user("viewer", ["hall"]))
    fid = viewer.get("/api/v1/flags").json()[0]["id"]
    assert viewer.post(f"/api/v1/flags/{fid}/review", json={"state": "dismissed"}).status_code == 403
    assert viewer.get("/api/v1/complaints").status_code == 403
    assert viewer.post("/api/v1/complaints", json={"site": "hall", "summary": "x"}).status_code == 403
    assert viewer.get("/api/v1/reports/monthly", params={"month": "2026-03"}).status_code == 403


def test_supervisor_sees_only_own_sites(app_env):
    app_env.add_interaction(wall_start_s=time.time() - 60, flags=[dict(type="forbidden", rule="F-RUDE")])
    app_env.add_interaction(site="annex", counter="a1", wall_start_s=time.time() - 60,
                            flags=[dict(type="forbidden", rule="F-CLOSING")])
    hall = app_env.client(app_env.make_user("supervisor", ["hall"]))
    annex = app_env.client(app_env.make_user("supervisor", ["annex"]))
    hall_flag = hall.get("/api/v1/flags").json()
    assert [f["site"] for f in hall_flag] == ["hall"]
    assert [f["site"] for f in annex.get("/api/v1/flags").json()] == ["annex"]
    assert annex.get("/api/v1/flags", params={"site": "hall"}).status_code == 403
    r = annex.post(f"/api/v1/flags/{hall_flag[0]['id']}/review", json={"state": "dismissed"})
    assert r.status_code == 404                     # another site's flag reads as missing

    complaint = hall.post("/api/v1/complaints", json={"site": "hall", "summary": "态度差"}).json()
    assert annex.get("/api/v1/complaints").json() == []
    assert annex.get("/api/v1/complaints", params={"site": "hall"}).status_code == 403
    assert annex.patch(f"/api/v1/complaints/{complaint['id']}", json={"finding": "x"}).status_code == 404
    assert annex.post("/api/v1/complaints", json={"site": "hall", "summary": "x"}).status_code == 403

    month = time.strftime("%Y-%m")
    assert annex.get("/api/v1/reports/monthly", params={"month": month, "site": "hall"}).status_code == 403
    rep = annex.get("/api/v1/reports/monthly", params={"month": month}).json()
    assert rep["sites"] == ["annex"] and {r["site"] for r in rep["by_counter"]} <= {"annex"}
    assert {c["site"] for c in annex.get("/api/v1/counters").json()} == {"annex"}
    admin = app_env.client(app_env.make_user("admin"))
    assert {f["site"] for f in admin.get("/api/v1/flags").json()} == {"hall", "annex"}


def test_events_need_an_event_source_or_admin(app_env):
    body = {"site": "hall", "counter": "c1", "kind": "queue_call", "ticket": "B007"}
    for role in ("viewer", "supervisor", "screen", "agent"):       # agents send audio only (issue 18)
        r = app_env.client(app_env.make_user(role, ["hall"])).post("/api/v1/events", json=body)
        assert r.status_code == 403, role
    assert app_env.client(app_env.make_user("events", ["hall"])).post("/api/v1/events", json=body).status_code == 201
    assert app_env.client(app_env.make_user("admin", [])).post("/api/v1/events", json=body).status_code == 201
    annex_source = app_env.client(app_env.make_user("events", ["annex"]))
    assert annex_source.post("/api/v1/events", json=body).status_code == 403
    source = app_env.client(app_env.make_user("events", ["hall"]))
    assert source.get("/api/v1/events/now-serving").status_code == 403   # screens read, event sources write
    assert app_env.client(app_env.make_user("viewer", ["hall"])).get("/api/v1/events/now-serving").status_code == 403


def test_audit_log_is_admin_only_and_read_only(app_env):
    admin = app_env.client(app_env.make_user("admin"))
    assert admin.get("/api/v1/audit").status_code == 200
    for role in ("supervisor", "viewer"):
        assert app_env.client(app_env.make_user(role, ["hall"])).get("/api/v1/audit").status_code == 403
    for route in app_env.app.routes:
        path = getattr(route, "path", "")
        if "/audit" in path:
            assert set(getattr(route, "methods", set())) <= {"GET", "HEAD"}, (path, route.methods)
    for path, item in app_env.app.openapi()["paths"].items():
        if "/audit" in path:
            assert set(item) <= {"get"}, path
    for method in ("put", "patch", "delete", "post"):
        assert admin.request(method, "/api/v1/audit").status_code == 405
        assert admin.request(method, "/api/v1/audit/1").status_code in (404, 405)


def test_wrong_password_is_refused_and_audited(app_env):
    app_env.make_user("supervisor", ["hall"], name="王主管", password=PASSWORD)
    anon = app_env.client()
    r = anon.post("/api/v1/auth/login", json={"name": "王主管", "password": "not the password"})
    assert r.status_code == 401 and "cw_session" not in r.cookies
    with Session(app_env.engine) as s:
        assert s.scalar(select(AuditLog.user_name).where(AuditLog.action == "login.failed")) == "王主管"
    r = anon.post("/api/v1/auth/login", json={"name": "王主管", "password": PASSWORD})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert "cw_session=" in cookie and "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    assert anon.get("/api/v1/auth/me").json()["name"] == "王主管"   # the cookie authenticates


def test_tokens_are_not_logged_and_never_in_urls(app_env, caplog):
    caplog.set_level(logging.DEBUG)
    app_env.make_user("supervisor", ["hall"], name="sup-log", password=PASSWORD)
    client = app_env.client()
    r = client.post("/api/v1/auth/login", json={"name": "sup-log", "password": PASSWORD})
    token = r.cookies["cw_session"]
    assert "token" not in r.json() and token not in r.text     # page script cannot read it (issue 18)
    bearer = app_env.make_user("admin")
    admin = app_env.client(bearer)
    for path in ("/api/v1/flags", "/api/v1/complaints", "/api/v1/counters", "/api/v1/audit"):
        client.get(path)
        admin.get(path)
    admin.post("/api/v1/events", json={"site": "hall", "counter": "c1", "kind": "pause"})
    for secret in (token, bearer):
        assert secret not in caplog.text
    with Session(app_env.engine) as s:
        for row in s.scalars(select(AuditLog)):
            assert token not in f"{row.target} {row.detail}" and bearer not in f"{row.target} {row.detail}"
    # No operation takes a credential in its URL.
    for item in app_env.app.openapi()["paths"].values():
        for op in item.values():
            for p in op.get("parameters", []):
                assert not re.search(r"token|key|secret|session|password|auth", p["name"], re.I), p
    # The console keeps no token: it relies on the HttpOnly cookie.
    sources = [f for d in (Path(CONSOLE), Path(CONSOLE).parent / "src") for f in d.rglob("*") if f.is_file()]
    assert any(f.suffix == ".js" for f in sources)
    for f in sources:               # the built console and its sources
        text = f.read_text(encoding="utf-8")
        # The rating terminal (issue 21) keeps its unsent presses, never a credential, in localStorage.
        stored = "localStorage" in text and not f.name.startswith("RaterView")
        assert not stored and "sessionStorage" not in text and "document.cookie" not in text, f
        assert not re.search(r"localStorage[^;]{0,120}token", text), f
        assert not re.search(r"[?&](token|access_token)=", text), f
