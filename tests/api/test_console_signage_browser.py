"""The console's 屏幕节目 pages in a real browser (Debian's chromium, driven by Playwright) over
the real API served by uvicorn, on SQLite and the real rclone S3 server: a supervisor registers a
screen, uploads an image, writes a text announcement, builds and edits a playlist, schedules it,
sees a conflicting schedule refused with its reason, previews the screen inside the schedule,
starts and clears an emergency notice, and reads proof of play; every effect is checked through
the API as well. Every tab is photographed at 1440 and 390 px; no console error, failed request or
CSP violation is allowed."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from browser_support import ARGS, CHROMIUM, PASSWORD, csp_violations, el_confirm, el_select, new_page, serve_app, shoot

from api.app import create_app
from services.accounts import add_user
from services.catalog import Catalog
from storage.engine import make_engine, sqlite_url
from storage.schema import upgrade

pytestmark = pytest.mark.slow
SUPERVISOR = "主管乙"
SITE_TZ = ZoneInfo("Asia/Shanghai")     # the default time zone of a site
V1 = "/api/v1/signage"


@pytest.fixture()
def signage_served(tmp_path: Path, object_store):
    """The API on a loopback port over SQLite + S3 with site ``hall`` (counter c1), a supervisor of
    hall with a password, a viewer, and an admin; yields (base URL, admin token, viewer name)."""
    engine = make_engine(sqlite_url(tmp_path / "cw.db"))
    upgrade(engine)
    Catalog(engine).add_counter("hall", "c1")
    add_user(engine, SUPERVISOR, role="supervisor", sites=["hall"], password=PASSWORD)
    add_user(engine, "查看员丙", role="viewer", sites=["hall"], password=PASSWORD)
    admin = add_user(engine, "admin-signage-ui", role="admin").token
    app = create_app(engine=engine, store=object_store)
    try:
        with serve_app(app) as base:
            yield base, admin, "查看员丙"
    finally:
        engine.dispose()


def _png(path: Path) -> Path:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (640, 360), (0, 70, 200))
    ImageDraw.Draw(img).rectangle((40, 40, 600, 320), outline=(255, 255, 255), width=12)
    img.save(path)
    return path


def _login(page, base: str, name: str) -> None:  # noqa: ANN001
    page.goto(base + "/")
    page.fill("#login-form input[name=name]", name)
    page.fill("#login-form input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")


def open_signage(page, base: str) -> None:  # noqa: ANN001
    """Log in as the supervisor and open 屏幕节目 on its 屏幕 tab, its data loaded."""
    _login(page, base, SUPERVISOR)
    page.click("a[data-page=signage]")
    page.wait_for_selector("#page-signage[data-ready=screens]", state="attached")


def _tab(page, name: str) -> None:  # noqa: ANN001
    """Open a tab of 屏幕节目 and wait until it shows fresh data."""
    page.click(f"#sg-tabs a[data-tab={name}]")
    page.wait_for_selector(f"#page-signage[data-ready={name}]", state="attached")


def _at(form, iso: str) -> None:  # noqa: ANN001 - playwright Locator
    """Type a site-local time (YYYY-MM-DDTHH:MM:SS) into the preview's date-time picker."""
    box = form.locator("input[name=at]")
    box.fill(iso.replace("T", " "))
    box.press("Enter")


def test_signage_pages_manage_schedule_preview_and_interrupt(signage_served, object_store, tmp_path: Path):
    from playwright.sync_api import expect, sync_playwright

    base, admin, viewer = signage_served
    api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {admin}"}, timeout=10)
    image = _png(tmp_path / "blue-guide.png")
    today = dt.datetime.now(SITE_TZ).date()
    past = today - dt.timedelta(days=1)          # inside the schedule, before any notice of this test
    future = today + dt.timedelta(days=1)        # inside the schedule, after the notice starts
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page, errors = new_page(browser)
            page.on("dialog", lambda d: d.accept())

            # a viewer does not see the section, and its address leads back to the counters
            _login(page, base, viewer)
            expect(page.locator("#whoami")).to_contain_text(viewer)
            expect(page.locator("a[data-page=signage]")).to_be_hidden()
            page.goto(base + "/#/signage/content")
            expect(page.locator("#page-counters")).to_be_visible()
            expect(page.locator("#page-signage")).to_be_hidden()
            with page.expect_request_finished(lambda r: r.url.endswith("/api/v1/auth/logout")):   # finished: not cut short
                page.click("#logout")
            expect(page.locator("#login-form")).to_be_visible()       # logged out on the server first

            _login(page, base, SUPERVISOR)
            expect(page.locator("#whoami")).to_contain_text(SUPERVISOR)
            page.click("a[data-page=signage]")
            page.wait_for_selector("#page-signage[data-ready=screens]", state="attached")
            expect(page.locator(".sg-site")).to_contain_text("hall")

            # -- screens: register one, read its token once, see it online after a heartbeat
            page.fill("#sg-screen-form input[name=name]", "lobby")
            page.fill("#sg-screen-form input[name=groups]", "hall-a")
            page.click("#sg-screen-form button[type=submit]")
            token = page.locator("#sg-screen-token code").inner_text()
            assert token.startswith("cw_")
            screen_api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10)
            row = page.locator("#sg-screen-rows tr:has([data-screen=lobby])")
            expect(row).to_contain_text("hall-a")
            expect(row).to_contain_text("未连接")
            assert screen_api.post(f"{V1}/screens/lobby/heartbeat",
                                   json={"playing": "默认画面", "cache_items": 3}).status_code == 204
            _tab(page, "content")
            _tab(page, "screens")
            expect(row).to_contain_text("在线")
            expect(row).to_contain_text("默认画面")
            shoot(page, "signage-screens")
            [lobby] = [s for s in api.get(f"{V1}/screens").json() if s["name"] == "lobby"]
            assert lobby["site"] == "hall" and lobby["groups"] == ["hall-a"] and lobby["last_heartbeat_s"]

            # -- content: upload an image file, create a text announcement, edit its body
            _tab(page, "content")
            page.set_input_files("#sg-upload-form input[name=file]", str(image))
            page.fill("#sg-upload-form input[name=name]", "蓝色指引.png")
            page.click("#sg-upload-form button[type=submit]")
            img_row = page.locator("#sg-content-rows tr", has_text="蓝色指引.png")
            expect(img_row).to_contain_text("图片")
            page.wait_for_function("() => { const i = document.querySelector('#sg-content-rows img.thumb');"
                                   " return i && i.complete && i.naturalWidth === 640; }")   # fetched with the cookie
            page.fill("#sg-text-form input[name=name]", "办事指南-户籍")
            page.fill("#sg-text-form input[name=title]", "办事指南")
            page.fill("#sg-text-form textarea[name=body]", "请携带身份证原件。")
            page.click("#sg-text-form button[type=submit]")
            text_row = page.locator("#sg-content-rows tr", has_text="办事指南-户籍")
            expect(text_row).to_contain_text("文字公告")
            text_row.locator("button.edit").click()
            text_row.locator("textarea[name=body]").fill("请携带身份证原件和户口簿。")
            text_row.locator("button[type=submit]").click()
            expect(page.locator("#sg-content-rows tr", has_text="办事指南-户籍")).to_contain_text("户口簿")
            page.screenshot(path=str(tmp_path / "signage-content.png"), full_page=True)
            shoot(page, "signage-content")
            content = {c["name"]: c for c in api.get(f"{V1}/content", params={"site": "hall"}).json()}
            img, text = content["蓝色指引.png"], content["办事指南-户籍"]
            assert img["kind"] == "image" and img["sha256"] == hashlib.sha256(image.read_bytes()).hexdigest()
            assert object_store.stat(f"signage/content/{img['sha256']}") is not None
            assert text["kind"] == "text" and text["title"] == "办事指南" and text["body"] == "请携带身份证原件和户口簿。"

            # -- playlist: two items added in the wrong order, the image moved up, then edited
            _tab(page, "playlists")
            page.fill("#sg-playlist-form input[name=name]", "上午")
            page.click("#sg-playlist-add")
            page.click("#sg-playlist-add")
            items = page.locator("#sg-playlist-items tr.pl-item")
            el_select(page, items.nth(0).locator(".pl-content"), "办事指南-户籍（文字公告）")
            items.nth(0).locator(".pl-duration input").fill("20")
            el_select(page, items.nth(1).locator(".pl-content"), "蓝色指引.png（图片）")
            items.nth(1).locator(".pl-duration input").fill("10")
            items.nth(1).locator("button.up").click()
            page.click("#sg-playlist-save")
            pl_row = page.locator("#sg-playlist-rows tr", has_text="上午")
            expect(pl_row).to_contain_text("30 秒")
            [playlist] = api.get(f"{V1}/playlists", params={"site": "hall"}).json()
            assert [(i["content_id"], i["duration_s"]) for i in playlist["items"]] == [(img["id"], 10), (text["id"], 20)]
            pl_row.locator("button.edit").click()
            expect(page.locator("#sg-playlist-title")).to_contain_text(f"#{playlist['id']}")
            page.locator("#sg-playlist-items tr.pl-item").nth(1).locator(".pl-duration input").fill("25")
            page.screenshot(path=str(tmp_path / "signage-playlist.png"), full_page=True)
            shoot(page, "signage-playlists")
            page.click("#sg-playlist-save")
            expect(pl_row).to_contain_text("35 秒")
            [playlist] = api.get(f"{V1}/playlists", params={"site": "hall"}).json()
            assert [(i["content_id"], i["duration_s"]) for i in playlist["items"]] == [(img["id"], 10), (text["id"], 25)]

            # -- content in a playlist cannot be deleted: the reason is on the page
            _tab(page, "content")
            page.locator("#sg-content-rows tr", has_text="蓝色指引.png").locator("button.delete").click()
            el_confirm(page, "删除")
            expect(page.locator("#sg-error")).to_contain_text("仍有排期在播放此项")
            expect(page.locator("#sg-error")).to_contain_text(f"播放列表 #{playlist['id']}")
            assert api.get(f"{V1}/content/{img['id']}").status_code == 200

            # -- schedules: one for the screen, then one through its group that conflicts
            _tab(page, "schedules")
            form = page.locator("#sg-schedule-form")
            el_select(page, form.locator(".sg-playlist-select"), f"上午（#{playlist['id']}）")
            form.locator("#sg-schedule-screens label:has(input[value=lobby])").click()
            expect(form.locator("#sg-schedule-screens input[value=lobby]")).to_be_checked()
            form.locator("input[name=start_time]").fill("08:00")
            form.locator("input[name=end_time]").fill("18:00")
            form.locator("input[name=start_date]").fill(past.isoformat())
            form.locator("input[name=start_date]").press("Enter")
            form.locator("input[name=end_date]").fill((today + dt.timedelta(days=7)).isoformat())
            form.locator("input[name=end_date]").press("Enter")
            form.locator("button[type=submit]").click()
            expect(page.locator("#sg-schedule-rows tr:has([data-schedule])")).to_have_count(1)
            [sched] = api.get(f"{V1}/schedules", params={"site": "hall"}).json()
            assert (sched["screens"], sched["start_time"][:5], sched["end_time"][:5], sched["weekdays"],
                    sched["priority"]) == (["lobby"], "08:00", "18:00", list(range(7)), 0)
            expect(page.locator(f"#sg-schedule-rows tr:has([data-schedule='{sched['id']}'])")).to_contain_text("08:00–18:00")
            assert sched["start_date"] == past.isoformat()
            # the form starts afresh after an add: no screen ticked, no dates
            expect(form.locator("#sg-schedule-screens input[value=lobby]")).not_to_be_checked()
            expect(form.locator("input[name=start_date]")).to_have_value("")
            form.locator("input[name=groups]").fill("hall-a")
            form.locator("input[name=start_time]").fill("11:00")
            form.locator("input[name=end_time]").fill("13:00")
            form.locator("button[type=submit]").click()
            refusal = page.locator("#sg-schedule-error")
            expect(refusal).to_contain_text("排期被拒绝")
            expect(refusal).to_contain_text("排期时间冲突")
            expect(refusal).to_contain_text(f"#{sched['id']}、新排期在屏幕或分组“lobby”上")   # in Chinese, naming both
            assert "both play" not in refusal.inner_text()
            expect(page.locator(f"#sg-calendar [data-schedule='{sched['id']}']").first).to_have_class(re.compile(r"\bconflict\b"))
            expect(page.locator(f"#sg-schedule-rows tr:has([data-schedule='{sched['id']}'])")).to_have_class(
                re.compile(r"\bconflict\b"))
            page.screenshot(path=str(tmp_path / "signage-conflict.png"), full_page=True)
            shoot(page, "signage-schedules")
            assert [s["id"] for s in api.get(f"{V1}/schedules", params={"site": "hall"}).json()] == [sched["id"]]

            # -- preview inside the schedule: the image first, the announcement after 10 s
            posted = [{"uid": uuid.uuid4().hex, "kind": "playlist", "status": "played", "content_id": img["id"],
                       "playlist_id": playlist["id"], "schedule_id": sched["id"], "started_s": time.time() - 40,
                       "ended_s": time.time() - 30},
                      {"uid": uuid.uuid4().hex, "kind": "playlist", "status": "skipped", "content_id": text["id"],
                       "playlist_id": playlist["id"], "schedule_id": sched["id"], "started_s": time.time() - 30,
                       "reason": "no picture after 3 s"}]
            assert screen_api.post(f"{V1}/screens/lobby/plays", json=posted).json()["added"] == 2
            _tab(page, "preview")
            pv = page.locator("#sg-preview-form")
            expect(pv.locator(".sg-preview-screen")).to_contain_text("lobby")
            _at(pv, f"{past.isoformat()}T08:00:05")
            pv.locator("button[type=submit]").click()
            info = page.locator("#sg-preview-info")
            expect(info).to_contain_text("第 1/2 项：蓝色指引.png")
            expect(info).to_contain_text("上午")
            page.wait_for_function("() => { const i = document.querySelector('#sg-preview-img');"
                                   " return i && i.complete && i.naturalWidth === 1280; }")   # the player's renderer
            _at(pv, f"{past.isoformat()}T08:00:15")
            pv.locator("button[type=submit]").click()
            expect(info).to_contain_text("第 2/2 项：办事指南-户籍")
            expect(page.locator("#sg-preview-img")).to_have_attribute("alt", re.compile("排期节目"))
            got = api.get(f"{V1}/screens/lobby/preview", params={"at": f"{past.isoformat()}T08:00:15"}).json()
            assert got["kind"] == "playlist" and got["content"]["id"] == text["id"] and got["item_index"] == 1
            expect(page.locator("#sg-plays-report tr", has_text="蓝色指引.png")).to_contain_text("0:00:10")
            plays = page.locator("#sg-play-rows tr:has([data-play])")
            expect(plays).to_have_count(2)
            expect(plays.first).to_contain_text("已跳过")
            expect(plays.first).to_contain_text("no picture after 3 s")
            expect(plays.nth(1)).to_contain_text("蓝色指引.png")
            # -- the screen's own picture beside the preview: none yet; 立即截图 asks, the screen answers
            expect(page.locator("#sg-screenshot")).to_contain_text("该屏幕尚未发来实拍画面")

            def screen_answers() -> None:   # what the player does at its next manifest poll
                import io

                from PIL import Image
                for _ in range(100):
                    asked = screen_api.get(f"{V1}/screens/lobby/manifest").json().get("screenshot_requested_s")
                    if asked:
                        buf = io.BytesIO()
                        Image.new("RGB", (640, 360), (0, 0, 230)).save(buf, "JPEG")
                        screen_api.post(f"{V1}/screens/lobby/screenshot", content=buf.getvalue(), params={
                            "taken_s": asked + 0.2, "playing": "playlist:蓝色指引.png", "loop_late_s": 7.5})
                        return
                    time.sleep(0.1)
            answering = threading.Thread(target=screen_answers)
            answering.start()
            page.locator("#sg-screenshot-ask").click()
            answering.join(20)
            page.wait_for_function("() => { const i = document.querySelector('#sg-screenshot-img');"
                                   " return i && i.complete && i.naturalWidth === 640; }")
            expect(page.locator("#sg-screenshot")).to_contain_text("正在播放：排期节目：蓝色指引.png")
            expect(page.locator("#sg-screenshot")).to_contain_text("画面可能卡住（8 秒未刷新）")
            page.screenshot(path=str(tmp_path / "signage-preview.png"), full_page=True)
            shoot(page, "signage-preview")

            # -- an emergency notice pre-empts the schedule until it is cleared
            at_future = f"{future.isoformat()}T08:00:05"
            _at(pv, at_future)
            pv.locator("button[type=submit]").click()
            expect(page.locator("#sg-preview-slide")).to_have_attribute("data-kind", "playlist")
            _tab(page, "interrupts")
            page.fill("#sg-interrupt-form input[name=title]", "紧急通知")
            page.fill("#sg-interrupt-form textarea[name=body]", "消防演练，请听从工作人员指挥")
            el_select(page, page.locator(".sg-expiry"), "直到手动解除")
            page.click("#sg-interrupt-form button[type=submit]")
            expect(page.locator(".el-message-box")).to_contain_text("本服务点全部屏幕")
            el_confirm(page, "立即发布")
            notice = page.locator("#sg-interrupt-list li[data-interrupt]")
            expect(notice).to_have_count(1)
            expect(notice).to_contain_text("消防演练")
            shoot(page, "signage-interrupts")
            manifest = screen_api.get(f"{V1}/screens/lobby/manifest").json()
            assert [i["title"] for i in manifest["schedule"]["interrupts"]] == ["紧急通知"]
            assert api.get(f"{V1}/screens/lobby/preview").json()["kind"] == "interrupt"

            _tab(page, "preview")
            expect(pv.locator("input[name=at]")).to_have_value(at_future.replace("T", " "))
            pv.locator("button[type=submit]").click()
            expect(page.locator("#sg-preview-slide")).to_have_attribute("data-kind", "interrupt")
            expect(page.locator("#sg-preview-img")).to_have_attribute("alt", re.compile("紧急通知"))
            expect(info).to_contain_text("紧急通知")
            pv.locator(".sg-now").click()
            expect(pv.locator("input[name=now]")).to_be_checked()
            pv.locator("button[type=submit]").click()
            expect(page.locator("#sg-preview-slide")).to_have_attribute("data-kind", "interrupt")
            page.screenshot(path=str(tmp_path / "signage-interrupt.png"), full_page=True)
            assert api.get(f"{V1}/screens/lobby/preview", params={"at": at_future}).json()["kind"] == "interrupt"

            _tab(page, "interrupts")
            notice.locator("button.clear").click()
            el_confirm(page, "解除")
            expect(page.locator("#sg-interrupt-list li[data-interrupt]")).to_have_count(0)
            expect(page.locator("#sg-interrupt-history tr", has_text="紧急通知")).to_contain_text("已解除")
            assert screen_api.get(f"{V1}/screens/lobby/manifest").json()["schedule"]["interrupts"] == []
            assert api.get(f"{V1}/screens/lobby/preview").json()["kind"] != "interrupt"
            _tab(page, "preview")
            pv.locator("button[type=submit]").click()
            expect(page.locator("#sg-preview-slide")).not_to_have_attribute("data-kind", "interrupt")
            pv.locator(".sg-now").click()
            expect(pv.locator("input[name=now]")).not_to_be_checked()
            pv.locator("button[type=submit]").click()
            expect(page.locator("#sg-preview-slide")).to_have_attribute("data-kind", "playlist")
            expect(info).to_contain_text("第 1/2 项：蓝色指引.png")
            assert api.get(f"{V1}/screens/lobby/preview", params={"at": at_future}).json()["kind"] == "playlist"

            # -- the playlist is played by the schedule: refused; delete the schedule, then both go
            _tab(page, "playlists")
            pl_row.locator("button.delete").click()
            el_confirm(page, "删除")
            expect(page.locator("#sg-error")).to_contain_text(f"排期 #{sched['id']}")
            _tab(page, "schedules")
            page.locator(f"#sg-schedule-rows tr:has([data-schedule='{sched['id']}']) button.delete").click()
            el_confirm(page, "删除")
            expect(page.locator("#sg-schedule-rows tr:has([data-schedule])")).to_have_count(0)
            assert api.get(f"{V1}/schedules", params={"site": "hall"}).json() == []
            _tab(page, "playlists")
            pl_row.locator("button.delete").click()
            el_confirm(page, "删除")
            expect(page.locator("#sg-playlist-rows tr:has([data-playlist])")).to_have_count(0)
            assert api.get(f"{V1}/playlists", params={"site": "hall"}).json() == []
            _tab(page, "content")
            page.locator("#sg-content-rows tr", has_text="蓝色指引.png").locator("button.delete").click()
            el_confirm(page, "删除")
            expect(page.locator("#sg-content-rows tr:has([data-content])")).to_have_count(1)
            assert [c["id"] for c in api.get(f"{V1}/content", params={"site": "hall"}).json()] == [text["id"]]
            assert api.get(f"{V1}/content/{img['id']}").status_code == 404
            assert csp_violations(page) == []
            assert errors == []
        finally:
            browser.close()
    for shot in ("signage-content.png", "signage-playlist.png", "signage-conflict.png", "signage-preview.png",
                 "signage-interrupt.png"):
        assert (tmp_path / shot).stat().st_size > 10_000
