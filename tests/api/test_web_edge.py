"""Issue 11, item 5: the web edge. A cookie session's change without the console's header, or from
another origin (another port of the same host), is refused with 403 ``csrf_refused``, audited,
and changes nothing; bearer clients need no header. Every answer has the security headers; the
proxy headers count only from a configured proxy, and then HTTPS brings HSTS and the
``__Host-`` cookie."""
from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from tests.support.stack import PASSWORD, AppEnv

COMPLAINT = {"site": "hall", "summary": "窗口态度差"}
OTHER_PORT = "http://testserver:8081"


def _complaints(app_env: AppEnv) -> int:
    return len(app_env.client(app_env.make_user("admin")).get("/api/v1/complaints").json())


def test_a_cookie_session_changes_nothing_without_the_header_or_from_another_origin(app_env: AppEnv):
    app_env.make_user("supervisor", ["hall"], name="csrf-sup", password=PASSWORD)
    browser = app_env.client(console=False)              # what a page of another origin can make it send
    r = browser.post("/api/v1/auth/login", json={"name": "csrf-sup", "password": PASSWORD})
    assert r.status_code == 403 and r.json()["detail"]["code"] == "csrf_refused", r.text   # no login CSRF either
    r = browser.post("/api/v1/auth/login", json={"name": "csrf-sup", "password": PASSWORD},
                     headers={"X-Counterwatch": "1"})
    assert r.status_code == 200 and "cw_session" in browser.cookies
    assert browser.get("/api/v1/auth/me").status_code == 200            # reading needs no header

    refused = [
        browser.post("/api/v1/complaints", json=COMPLAINT),                                   # a fetch or form
        browser.post("/api/v1/complaints", content='{"site": "hall", "summary": "x"}',
                     headers={"Content-Type": "text/plain"}),                              # a no-cors fetch
        browser.post("/api/v1/complaints", json=COMPLAINT, headers={"X-Counterwatch": "1", "Origin": OTHER_PORT}),
        browser.post("/api/v1/complaints", json=COMPLAINT,
                     headers={"X-Counterwatch": "1", "Referer": f"{OTHER_PORT}/evil.html"}),
        browser.post("/api/v1/complaints", json=COMPLAINT, headers={"X-Counterwatch": "1", "Origin": "null"}),
        browser.post("/api/v1/auth/logout"),
    ]
    for r in refused:
        assert r.status_code == 403, (r.request.headers, r.status_code, r.text)
        assert r.json()["detail"]["code"] == "csrf_refused", r.text
        assert r.json()["detail"]["message"] == "无法确认请求来自本系统页面，已拒绝；请在控制台页面中操作", r.text
    assert _complaints(app_env) == 0
    rows = app_env.audit_rows("csrf.refused")
    assert len(rows) == len(refused) + 1 and rows[-1].target == "POST /api/v1/auth/logout"
    assert any(OTHER_PORT in row.detail for row in rows)
    assert all("请求" in row.detail for row in rows), [r.detail for r in rows]    # in words a supervisor reads

    ok = browser.post("/api/v1/complaints", json=COMPLAINT,
                      headers={"X-Counterwatch": "1", "Origin": "http://testserver"})
    assert ok.status_code == 201, ok.text
    assert browser.post("/api/v1/complaints", json=COMPLAINT, headers={"X-Counterwatch": "1"}).status_code == 201
    assert _complaints(app_env) == 2
    assert browser.get("/api/v1/auth/me").status_code == 200            # the session survived the refused logout

    bearer = app_env.client(app_env.make_user("supervisor", ["hall"]), console=False)
    assert bearer.post("/api/v1/complaints", json=COMPLAINT).status_code == 201


def test_every_answer_has_the_security_headers(app_env: AppEnv):
    anon = app_env.client()
    for r in (anon.get("/api/v1/flags"), anon.get("/healthz"), anon.get("/"),
              app_env.client(app_env.make_user("admin")).get("/api/v1/counters")):
        h = r.headers
        assert h["x-content-type-options"] == "nosniff" and h["x-frame-options"] == "DENY", r.url
        assert h["referrer-policy"] == "same-origin", r.url
        assert "frame-ancestors 'none'" in h["content-security-policy"], r.url
        assert "unsafe-inline" not in h["content-security-policy"].split("script-src")[-1].split(";")[0], r.url
        assert "strict-transport-security" not in h, r.url                 # plain HTTP: no HSTS
    assert anon.get("/api/v1/flags").headers["cache-control"] == "no-store"


def test_forwarded_headers_count_only_from_a_configured_proxy(app_env: AppEnv):
    app_env.make_user("viewer", ["hall"], name="edge-viewer", password=PASSWORD)
    body = {"name": "edge-viewer", "password": PASSWORD}
    forwarded = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https", "X-Counterwatch": "1"}
    app = create_app(engine=app_env.engine, store=app_env.store, trusted_proxies=("10.0.0.0/24",))

    stranger = TestClient(app, client=("192.0.2.50", 40000))
    r = stranger.post("/api/v1/auth/login", json=body, headers=forwarded)
    assert r.status_code == 200 and "strict-transport-security" not in r.headers
    assert r.headers["set-cookie"].startswith("cw_session=")
    proxy = TestClient(app, client=("10.0.0.5", 40000), base_url="http://cw.hall.local")
    r = proxy.post("/api/v1/auth/login", json=body, headers={**forwarded, "Origin": "https://cw.hall.local"})
    assert r.status_code == 200, r.text
    assert r.headers["strict-transport-security"].startswith("max-age=")
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("__Host-cw_session=") and "secure" in cookie.lower() and "domain" not in cookie.lower()
    assert [row.client for row in app_env.audit_rows("login")] == ["192.0.2.50", "203.0.113.7"]
