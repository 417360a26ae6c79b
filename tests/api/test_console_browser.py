"""The web console in a real browser (Debian's chromium, driven by Playwright) over the real
API served by uvicorn, on a real stack with one interaction analysed by the real worker."""
from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path

import httpx
import pytest
from browser_support import ARGS, CHROMIUM, PASSWORD, new_page, serve_app

from api.app import create_app
from services.accounts import add_user
from services.catalog import Catalog
from storage.engine import make_engine, sqlite_url
from storage.schema import upgrade
from tests.transcribe.test_worker import _pcm, store_session
from transcribe.worker import Worker, WorkerOptions

pytestmark = pytest.mark.slow
SUPERVISOR = "主管甲"


@pytest.fixture()
def served(tmp_path: Path, object_store, analyzer, data_dir: Path):
    """The API on a loopback port over SQLite + S3, with dev05 (which has forbidden phrases)
    recorded at hall/c1 and analysed; yields (base URL, admin token)."""
    engine = make_engine(sqlite_url(tmp_path / "cw.db"))
    upgrade(engine)
    catalog = Catalog(engine)
    catalog.add_counter("hall", "c1")
    store_session(catalog, object_store, _pcm(data_dir, "dev05-stereo-clean.flac"))
    worker = Worker(engine=engine, store=object_store, analyzer=analyzer, name="w-console",
                    options=WorkerOptions(lease_s=6.0, poll_s=0.2))
    assert worker.work(threading.Event(), burst=True) >= 2
    add_user(engine, SUPERVISOR, role="supervisor", sites=["hall"], password=PASSWORD)
    admin = add_user(engine, "admin-ui", role="admin").token
    try:
        with serve_app(create_app(engine=engine, store=object_store)) as base:
            yield base, admin
    finally:
        engine.dispose()


def test_login_search_play_and_confirm_a_flag(served, tmp_path: Path):
    from playwright.sync_api import expect, sync_playwright

    base, admin = served
    api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {admin}"}, timeout=10)
    hit = api.get("/api/v1/interactions/search", params={"q": "多少遍"}).json()[0]
    offset = hit["offset_s"]
    assert offset > 5
    shots = Path("/tmp/cw-console")
    shots.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page, errors = new_page(browser)
            page.goto(base + "/")
            page.fill("#login-form input[name=name]", SUPERVISOR)
            page.fill("#login-form input[name=password]", "wrong password")
            page.click("#login-form button")
            expect(page.locator("#login-error")).to_contain_text("用户名或密码错误")
            page.fill("#login-form input[name=password]", PASSWORD)
            page.click("#login-form button")
            expect(page.locator("#whoami")).to_contain_text(SUPERVISOR)
            expect(page.locator(".counter")).to_contain_text("c1")
            assert page.evaluate("document.cookie") == ""          # HttpOnly: invisible to scripts

            page.click("a[data-page=search]")
            page.fill("#search-q", "多少遍")
            page.click("#search-form button")
            first = page.locator("#search-results li.hit").first
            expect(first.locator("mark")).to_have_text("多少遍")
            first.click()
            expect(page).to_have_url(re.compile(rf"#/interaction/{hit['interaction_id']}\?t="))
            assert "token" not in page.url and "cw_" not in page.url
            page.wait_for_function("(o) => { const a = document.querySelector('#player');"
                                   " return a.readyState >= 1 && a.currentTime >= o - 0.05; }", arg=offset,
                                   timeout=20000)
            if page.evaluate("document.querySelector('#player').paused"):
                page.evaluate("document.querySelector('#player').play()")
            t1 = page.evaluate("document.querySelector('#player').currentTime")
            assert t1 >= offset - 0.05
            page.wait_for_function("(t) => document.querySelector('#player').currentTime > t + 0.5", arg=t1,
                                   timeout=15000)
            expect(page.locator("#transcript li.playing")).to_have_count(1)
            expect(page.locator("#transcript li.flagged").first).to_be_visible()
            page.screenshot(path=str(shots / "interaction.png"), full_page=True)
            page.evaluate("document.querySelector('#player').pause()")

            page.click("a[data-page=review]")
            row = page.locator("#review-rows tr", has_text="F-REPEAT-BLAME").first
            expect(row).to_be_visible()
            flag_id = int(row.get_attribute("data-flag"))
            page.screenshot(path=str(shots / "review.png"), full_page=True)
            row.locator("input.review-note").fill("回放核实，属实")
            row.locator("button.confirm").click()
            expect(page.locator(f"#review-rows tr[data-flag='{flag_id}']")).to_have_count(0)

            page.click("a[data-page=reports]")
            expect(page.locator("#report-charts figure")).to_have_count(3)
            page.screenshot(path=str(shots / "reports.png"), full_page=True)
            assert errors == []
        finally:
            browser.close()
    confirmed = {f["id"]: f for f in api.get("/api/v1/flags", params={"review_state": "confirmed"}).json()}
    assert flag_id in confirmed
    assert confirmed[flag_id]["reviewed_by"] == SUPERVISOR and confirmed[flag_id]["review_note"] == "回放核实，属实"
    plays = api.get("/api/v1/audit", params={"action": "audio.play"}).json()
    assert any(a["user_name"] == SUPERVISOR for a in plays)
    for path in shots.glob("*.png"):
        shutil.copy(path, tmp_path / path.name)
