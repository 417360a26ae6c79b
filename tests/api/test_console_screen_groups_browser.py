"""The console's 屏幕节目 in a real browser (Debian's chromium via Playwright) over the real API:
a supervisor changes a screen's display groups (the schedule aimed at the new group reaches the
screen's manifest; a change that would overlap two schedules is refused with the reason shown
and nothing changed), marks a schedule as interrupt content (seconds of each hour), and makes a
ticker scroll a playlist of text announcements. Every
effect is checked through the API. No console error, failed request or CSP violation is allowed."""
from __future__ import annotations

import httpx
import pytest
from browser_support import ARGS, CHROMIUM, csp_violations, el_select, new_page, shoot
from test_console_signage_browser import V1, _tab, open_signage, signage_served  # noqa: F401 - the fixture

pytestmark = pytest.mark.slow


def test_groups_are_edited_in_the_console_and_a_schedule_gets_a_share_of_each_hour(signage_served) -> None:  # noqa: ANN001, F811
    from playwright.sync_api import expect, sync_playwright

    base, admin, _viewer = signage_served
    api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {admin}"}, timeout=10)
    assert api.post(f"{V1}/screens", json={"site": "hall", "name": "lobby", "groups": ["hall-a"]}).status_code == 201
    text = api.post(f"{V1}/content/text", json={"site": "hall", "name": "n", "title": "通知", "body": "今日办理时间调整"}).json()
    pl = api.post(f"{V1}/playlists", json={"site": "hall", "name": "通知",
                                           "items": [{"content_id": text["id"], "duration_s": 30}]}).json()
    to_b = api.post(f"{V1}/schedules", json={"site": "hall", "playlist_id": pl["id"], "groups": ["hall-b"],
                                             "start_time": "08:00", "end_time": "12:00"}).json()
    to_c = api.post(f"{V1}/schedules", json={"site": "hall", "playlist_id": pl["id"], "groups": ["hall-c"],
                                             "start_time": "11:00", "end_time": "13:00"}).json()

    def manifest_entries() -> set[int]:
        return {e["id"] for e in api.get(f"{V1}/screens/lobby/manifest").json()["schedule"]["entries"]}

    assert manifest_entries() == set()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page, errors = new_page(browser)
            open_signage(page, base)
            row = page.locator("#sg-screen-rows tr:has([data-screen=lobby])")
            expect(row.locator(".sg-screen-groups")).to_have_text("hall-a")
            row.locator("button.regroup").click()
            field = row.locator("#screen-groups-lobby")
            expect(field).to_have_value("hall-a")
            field.fill("hall-b")
            row.get_by_role("button", name="保存分组").click()
            expect(row.locator(".sg-screen-groups")).to_have_text("hall-b")
            assert [s["groups"] for s in api.get(f"{V1}/screens").json() if s["name"] == "lobby"] == [["hall-b"]]
            assert manifest_entries() == {to_b["id"]}        # the schedule aimed at hall-b reaches it

            # both groups would overlap the two schedules 11:00-12:00: refused, the reason shown, nothing changed
            row.locator("button.regroup").click()
            row.locator("#screen-groups-lobby").fill("hall-b，hall-c")
            row.get_by_role("button", name="保存分组").click()
            expect(row.locator("p.error[role=alert]")).to_contain_text("排期时间冲突")
            shoot(page, "signage-screen-groups")
            assert manifest_entries() == {to_b["id"]}
            row.get_by_role("button", name="取消").click()
            expect(row.locator(".sg-screen-groups")).to_have_text("hall-b")

            # a schedule marked as interrupt content: 600 s of each hour, beside the one of hall-b
            _tab(page, "schedules")
            sform = page.locator("#sg-schedule-form")
            sform.locator("#sg-schedule-groups").fill("hall-b")
            sform.locator("#sg-schedule-share").fill("600")
            sform.locator("#sg-schedule-start").fill("08:00")
            sform.locator("#sg-schedule-end").fill("12:00")
            sform.locator("button[type=submit]").click()
            expect(page.locator("#sg-schedule-error")).to_have_text("")
            expect(page.locator("#sg-schedule-rows tr:has([data-schedule])")).to_have_count(3)
            expect(page.locator("#sg-schedule-rows .sg-share")).to_contain_text(["每小时 600 秒（16.7%）"])
            shares = {s["id"]: s["share_s_per_hour"] for s in api.get(f"{V1}/schedules", params={"site": "hall"}).json()}
            [new] = set(shares) - {to_b["id"], to_c["id"]}
            assert shares == {to_b["id"]: None, to_c["id"]: None, new: 600}
            assert manifest_entries() == {to_b["id"], new}

            # a ticker that scrolls the text announcements of a playlist
            _tab(page, "layouts")
            lform = page.locator("#sg-layout-form")
            lform.locator("input[name=name]").fill("公告字幕")
            el_select(page, lform.locator(".sg-region-ticker-playlist .el-select__wrapper"), "公告：通知")
            lform.locator("button[type=submit]").click()
            expect(page.locator("#sg-layout-rows tr:has([data-layout])")).to_have_count(1)
            [lay] = api.get(f"{V1}/layouts", params={"site": "hall"}).json()
            assert [(r["kind"], r["playlist_id"]) for r in lay["regions"]] == [("main", None), ("ticker", pl["id"])]
            assert csp_violations(page) == []
            assert errors == []
        finally:
            browser.close()
