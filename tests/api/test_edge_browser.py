"""Issue 11, items 4, 5 and 7 in a real browser (Debian's chromium, Playwright) over the real API
on a loopback port: the login page shows the throttle's 429 in Chinese with the wait, then the
right password works; a page of another port of the same host (so the SameSite cookie goes
along) posts a form and a ``no-cors`` fetch and frames the console, all while a supervisor is
logged in: nothing is created, the refusals are audited, the frame stays empty."""
from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from browser_support import ARGS, CHROMIUM, PASSWORD, new_page, serve_app
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from api.app import create_app
from services.accounts import add_user
from services.catalog import Catalog
from services.login import ACCOUNT_FREE_FAILURES
from storage.engine import make_engine, sqlite_url
from storage.schema import upgrade

pytestmark = pytest.mark.slow
SUPERVISOR = "主管乙"
EVIL = """<!doctype html><meta charset="utf-8"><title>evil</title>
<form id="f" method="POST" action="{base}/api/v1/complaints" enctype="text/plain" target="sink">
<input name='{{"site":"hall","summary":"form","x":"' value='"}}'></form>
<iframe name="sink"></iframe><iframe id="framed" src="{base}/"></iframe>
<script>
window.done = fetch("{base}/api/v1/complaints", {{method: "POST", mode: "no-cors", credentials: "include",
  headers: {{"Content-Type": "text/plain"}}, body: JSON.stringify({{site: "hall", summary: "fetch"}})}})
  .then(() => "sent", (e) => "failed " + e);
document.getElementById("f").submit();
</script>"""


def _evil_app(base: str) -> FastAPI:
    app = FastAPI()

    @app.get("/")
    def page() -> HTMLResponse:
        return HTMLResponse(EVIL.format(base=base))

    return app


def test_throttled_login_in_chinese_and_another_ports_page_changes_nothing(tmp_path: Path):
    from playwright.sync_api import expect, sync_playwright

    engine = make_engine(sqlite_url(tmp_path / "cw.db"))
    upgrade(engine)
    Catalog(engine).add_counter("hall", "c1")
    add_user(engine, SUPERVISOR, role="supervisor", sites=["hall"], password=PASSWORD)
    admin = add_user(engine, "admin-edge", role="admin").token
    try:
        with serve_app(create_app(engine=engine, store=None)) as base, serve_app(_evil_app(base)) as evil:
            api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {admin}"}, timeout=10)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                try:
                    page, errors = new_page(browser)
                    page.goto(base + "/")
                    page.fill("#login-form input[name=name]", SUPERVISOR)
                    for _ in range(ACCOUNT_FREE_FAILURES):
                        page.fill("#login-form input[name=password]", "wrong password")
                        page.click("#login-form button[type=submit]")
                        expect(page.locator("#login-error")).to_contain_text("用户名或密码错误")
                        page.evaluate("document.getElementById('login-error').textContent = ''")
                    page.fill("#login-form input[name=password]", PASSWORD)
                    page.click("#login-form button[type=submit]")
                    expect(page.locator("#login-error")).to_have_text("登录失败次数过多，请 1 秒后再试。")
                    page.wait_for_timeout(1300)
                    page.click("#login-form button[type=submit]")
                    expect(page.locator("#whoami")).to_contain_text(SUPERVISOR)   # the console sends its header

                    assert errors == [], errors
                    page.goto(evil + "/")                         # same browser, same cookie jar
                    # The request goes out with the cookie; its answer is blocked from the page
                    # (Cross-Origin-Resource-Policy), so the fetch may read as failed.
                    assert page.evaluate("window.done") in ("sent", "failed TypeError: Failed to fetch")
                    page.wait_for_timeout(1000)                   # the form's answer lands in its frame
                    framed = page.frame_locator("#framed")
                    expect(framed.locator("#login-form, #whoami")).to_have_count(0)   # frame-ancestors 'none'
                    assert api.get("/api/v1/complaints").json() == []
                    refused = [r for r in api.get("/api/v1/audit", params={"action": "csrf.refused"}).json()]
                    assert len(refused) >= 2 and all(r["target"] == "POST /api/v1/complaints" for r in refused)
                    assert all("x-counterwatch" in r["detail"] for r in refused), refused

                    # The console itself still changes things.
                    errors.clear()                                # (the attack page's blocked answers)
                    page.goto(base + "/")
                    expect(page.locator("#whoami")).to_contain_text(SUPERVISOR)
                    made = page.evaluate("""() => fetch('/api/v1/complaints', {method: 'POST',
                        headers: {'Content-Type': 'application/json', 'X-Counterwatch': '1'},
                        body: JSON.stringify({site: 'hall', summary: '控制台'})}).then((r) => r.status)""")
                    assert made == 201
                    assert [c["summary"] for c in api.get("/api/v1/complaints").json()] == ["控制台"]
                    assert errors == [], errors
                finally:
                    browser.close()
    finally:
        engine.dispose()
