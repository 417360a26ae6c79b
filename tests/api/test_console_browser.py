"""The web console in a real browser (Debian's chromium, driven by Playwright) over the real
API served by uvicorn, on a real stack with one interaction analysed by the real worker: login,
counters, search and jump-to-hit playback through the waveform player, review, complaints, the
monthly report and its CSV, an expired session; every page under its CSP, without console errors
or failed requests, photographed at 1440 and 390 px."""
from __future__ import annotations

import re
import threading
from pathlib import Path

import httpx
import pytest
from browser_support import ARGS, CHROMIUM, PASSWORD, csp_violations, new_page, serve_app, shoot

from api.app import create_app
from services.accounts import add_user
from services.catalog import Catalog
from storage.engine import make_engine, sqlite_url
from storage.schema import upgrade
from tests.support.recordings import join_speech, store_session
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
    store_session(catalog, object_store, join_speech(data_dir, "dev05-stereo-clean.flac"), end=True)
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
    shots: list[Path] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page, errors = new_page(browser)
            answer = page.goto(base + "/")
            csp = answer.headers["content-security-policy"]
            assert "script-src 'self';" in csp and "unsafe-eval" not in csp and "frame-ancestors 'none'" in csp
            expect(page.locator("#login-form")).to_be_visible()
            expect(page).to_have_title(re.compile("^登录 · 窗口服务录音管理台"))
            expect(page.locator("#top")).to_have_count(0)             # no navigation before login
            shots += shoot(page, "login")
            page.fill("#login-form input[name=name]", SUPERVISOR)
            page.fill("#login-form input[name=password]", "wrong password")
            page.click("#login-form button[type=submit]")
            expect(page.locator("#login-error")).to_contain_text("用户名或密码错误")
            page.fill("#login-form input[name=password]", PASSWORD)
            page.click("#login-form button[type=submit]")
            expect(page.locator("#whoami")).to_contain_text(SUPERVISOR)
            expect(page.locator(".counter")).to_contain_text("c1")
            expect(page).to_have_title(re.compile("^窗口状态 · "))
            assert page.evaluate("document.cookie") == ""          # HttpOnly: invisible to scripts
            assert page.evaluate("JSON.stringify(localStorage) + JSON.stringify(sessionStorage)") == "{}{}"
            shots += shoot(page, "counters")

            page.click("a[data-page=recordings]")
            page.fill("#rec-filters-q", "多少遍")
            page.click("#rec-filters button.filter-submit")
            first = page.locator("#rec-rows tbody tr").first
            expect(first.locator("mark")).to_have_text("多少遍")
            expect(page.locator("#rec-status")).to_contain_text("共 1 条录音")
            shots += shoot(page, "recordings")
            first.locator("a.rec-link").click()
            expect(page).to_have_url(re.compile(rf"#/interaction/{hit['interaction_id']}\?t="))
            assert "token" not in page.url and "cw_" not in page.url
            page.wait_for_function("(o) => { const a = document.querySelector('#player');"
                                   " return !!a && a.readyState >= 1 && a.currentTime >= o - 0.05; }", arg=offset,
                                   timeout=20000)
            if page.evaluate("document.querySelector('#player').paused"):
                page.evaluate("document.querySelector('#player').play()")
            t1 = page.evaluate("document.querySelector('#player').currentTime")
            assert t1 >= offset - 0.05
            page.wait_for_function("(t) => document.querySelector('#player').currentTime > t + 0.5", arg=t1,
                                   timeout=15000)
            expect(page.locator("#transcript li.playing")).to_have_count(1)
            expect(page.locator("#transcript li.flagged").first).to_be_visible()
            # the waveform (wavesurfer.js) with the flags as regions; a region plays from its start
            wave = page.locator(".waveform > div")
            page.wait_for_function("() => { const h = document.querySelector('.waveform > div');"
                                   " return h && h.shadowRoot && h.shadowRoot.querySelectorAll('[part~=region]').length > 0; }",
                                   timeout=20000)
            regions = wave.locator("[part~=region]")
            flags = {f["id"]: f for f in api.get(f"/api/v1/interactions/{hit['interaction_id']}").json()["flags"]}
            region = regions.last                                   # drawn last: on top where regions overlap
            region_flag = flags[int(region.get_attribute("part").split()[-1])]
            page.evaluate("document.querySelector('#player').pause()")
            region.click()
            page.wait_for_function("(s) => Math.abs(document.querySelector('#player').currentTime - s) < 1.0",
                                   arg=region_flag["start_s"], timeout=10000)
            # a transcript line plays from its start too
            line = page.locator("#transcript li").nth(0)
            line.locator("button").first.click()     # the line's play button (更正 comes after it)
            start0 = float(line.get_attribute("data-start"))
            page.wait_for_function("(s) => Math.abs(document.querySelector('#player').currentTime - s) < 1.0",
                                   arg=start0, timeout=10000)
            expect(page).to_have_title(re.compile(rf"^录音 #{hit['interaction_id']} · "))
            page.evaluate("document.querySelector('#player').pause()")
            shots += shoot(page, "interaction")

            page.click("a[data-page=review]")
            row = page.locator("#review-groups li.review-flag", has_text="指责群众听不懂").first
            expect(row).to_be_visible()
            assert "F-REPEAT-BLAME" not in page.locator("#review-groups").inner_text()     # rule names, not ids
            flag_id = int(row.get_attribute("data-flag"))
            shots += shoot(page, "review")
            row.click()                                  # the workbench shows it beside the list
            expect(page.locator("#wb-detail #wb-rule")).to_contain_text("指责群众听不懂")
            page.locator("#wb-detail .review-note input").fill("回放核实，属实")
            page.click("#wb-confirm")
            expect(page.locator(f"#review-groups [data-flag='{flag_id}']")).to_have_count(0)

            # complaints: one about this interaction, then its answer; the "已确认" toast over the navigation
            # does not block the click (Element Plus holds a toast open while the pointer rests on it)
            expect(page.locator(".el-message").first).to_be_visible()
            page.click("a[data-page=complaints]", timeout=5000)
            form = page.locator("#complaint-form")
            expect(form.locator(".el-select").first).to_contain_text("hall")
            form.locator("input[name=interaction_id]").fill(str(hit["interaction_id"]))
            form.locator("input[name=complainant]").fill("李先生")
            form.locator("textarea[name=summary]").fill("工作人员态度生硬")
            form.locator("button[type=submit]").click()
            item = page.locator("#complaint-list li[data-complaint]", has_text="工作人员态度生硬")
            expect(item).to_contain_text("待答复")
            expect(item.locator("a")).to_have_text(re.compile(rf"回放录音 #{hit['interaction_id']}"))
            shots += shoot(page, "complaints")
            item.locator("textarea.el-textarea__inner").fill("经回放核实，已批评教育并向投诉人致歉。")
            item.locator("button.answer-submit").click()
            expect(item).to_contain_text("已答复")
            expect(item).to_contain_text("已批评教育")

            page.click("a[data-page=reports]")
            expect(page.locator("#report-charts figure")).to_have_count(6)
            expect(page.locator("#report-charts canvas")).to_have_count(6)
            expect(page.locator("#report-table")).to_contain_text("合计")
            shots += shoot(page, "reports")
            href = page.locator("#report-csv").get_attribute("href")
            assert href.startswith("/api/v1/reports/monthly?") and "format=csv" in href
            csv = page.request.get(base + href)                    # the session cookie, as a click would send
            assert csv.status == 200 and csv.headers["content-type"].startswith("text/csv")
            assert csv.text().lstrip("\ufeff").startswith("月份,服务点,分组,名称,排名")

            # a month picked in the date picker (Element Plus, zh-CN) gives that month's report
            page.locator("#report-month").click()
            expect(page.locator(".el-picker-panel:visible")).to_contain_text("一月")
            page.keyboard.press("Escape")

            # the session ends (the cookie is gone): the next call says so and login returns here
            page.context.clear_cookies()
            page.click("a[data-page=review]")
            expect(page.locator("#login-expired")).to_contain_text("会话已过期")
            expect(page).to_have_url(re.compile(r"#/login\?redirect=(/|%2F)review"))
            page.fill("#login-form input[name=name]", SUPERVISOR)
            page.fill("#login-form input[name=password]", PASSWORD)
            page.click("#login-form button[type=submit]")
            expect(page).to_have_url(re.compile(r"#/review$"))
            expect(page.locator("#page-review")).to_be_visible()

            # keyboard: the skip link and the navigation are reachable, with a visible focus ring
            page.evaluate("document.activeElement && document.activeElement.blur()")
            page.locator(".skip-link").focus()
            assert page.locator(".skip-link").bounding_box()["x"] >= 0        # shown while focused
            page.keyboard.press("Tab")
            focused = page.evaluate("(() => { const e = document.activeElement;"
                                    " return [e.tagName, e.dataset.page, getComputedStyle(e).outlineStyle]; })()")
            assert focused[0] == "A" and focused[1] == "counters" and focused[2] != "none"
            assert csp_violations(page) == []
            assert errors == []
        finally:
            browser.close()
    confirmed = {f["id"]: f for f in api.get("/api/v1/flags", params={"review_state": "confirmed"}).json()}
    assert flag_id in confirmed
    assert confirmed[flag_id]["reviewed_by"] == SUPERVISOR and confirmed[flag_id]["review_note"] == "回放核实，属实"
    plays = api.get("/api/v1/audit", params={"action": "audio.play"}).json()
    assert any(a["user_name"] == SUPERVISOR for a in plays)
    [complaint] = api.get("/api/v1/complaints").json()
    assert (complaint["interaction_id"], complaint["complainant"], complaint["state"]) == \
        (hit["interaction_id"], "李先生", "answered")
    assert complaint["finding"] == "经回放核实，已批评教育并向投诉人致歉。"
    assert len(shots) == 2 * 7 and all(s.stat().st_size > 5_000 for s in shots)
