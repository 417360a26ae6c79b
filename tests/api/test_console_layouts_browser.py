"""The console's 屏幕节目 · 版式 tab in a real browser (Debian's chromium via Playwright) over the
real API: a supervisor makes a layout from a template (main, clock, queue board, ticker), sees
an overlapping region refused with the region named, makes a data-feed region (a file: URL
refused, an http one kept), and chooses the layout for a schedule; every
effect is checked through the API. No console error, failed request or CSP violation is allowed."""
from __future__ import annotations

import httpx
import pytest
from browser_support import ARGS, CHROMIUM, csp_violations, el_select, new_page, shoot
from test_console_signage_browser import V1, _tab, open_signage, signage_served  # noqa: F401 - the fixture

pytestmark = pytest.mark.slow


def test_layouts_tab_makes_a_layout_refuses_an_overlap_and_a_schedule_chooses_it(signage_served) -> None:  # noqa: ANN001, F811
    from playwright.sync_api import expect, sync_playwright

    base, admin, _viewer = signage_served
    api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {admin}"}, timeout=10)
    assert api.post(f"{V1}/screens", json={"site": "hall", "name": "lobby"}).status_code == 201
    text = api.post(f"{V1}/content/text", json={"site": "hall", "name": "n", "title": "通知", "body": "今日办理时间调整"}).json()
    pl = api.post(f"{V1}/playlists", json={"site": "hall", "name": "通知",
                                           "items": [{"content_id": text["id"], "duration_s": 30}]}).json()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page, errors = new_page(browser)
            open_signage(page, base)
            _tab(page, "layouts")
            form = page.locator("#sg-layout-form")
            form.locator("input[name=name]").fill("大厅四区")
            el_select(page, form.locator(".el-select__wrapper:has(#sg-layout-template)"), "排队看板")
            expect(form.locator("#sg-layout-regions tbody tr")).to_have_count(4)
            expect(form.locator("#sg-layout-sketch .sg-sketch-region")).to_have_count(4)
            form.locator("button[type=submit]").click()
            expect(page.locator("#sg-layout-rows tr:has([data-layout])")).to_have_count(1)
            [lay] = api.get(f"{V1}/layouts", params={"site": "hall"}).json()
            assert lay["name"] == "大厅四区"
            assert [r["kind"] for r in lay["regions"]] == ["main", "clock", "queue_board", "ticker"]

            # an added region over the main one is refused, the region named
            form.locator("input[name=name]").fill("重叠")
            form.locator("button.add-region").click()
            form.locator("button[type=submit]").click()
            refusal = page.locator("#sg-layout-error")
            expect(refusal).to_contain_text("第 3 个区域与第 1 个区域重叠")
            assert len(api.get(f"{V1}/layouts", params={"site": "hall"}).json()) == 1
            shoot(page, "signage-layouts")

            # the added region as a data feed beside a narrower main one: a file: URL is refused,
            # the region named; an http one is kept with its refresh interval
            rows = form.locator("#sg-layout-regions tbody tr")
            el_select(page, rows.nth(2).locator(".sg-region-kind .el-select__wrapper"), "数据源")
            for n, field, value in ((0, "w", "700"), (2, "x", "700"), (2, "w", "300"), (2, "h", "850")):
                box = rows.nth(n).locator(f".sg-region-{field} input")
                box.fill(value)
                box.press("Tab")
            feed = rows.nth(2)
            feed.locator(".sg-region-text input").fill("大厅通知")
            feed.locator(".sg-region-url input").fill("file:///etc/passwd")
            form.locator("input[name=name]").fill("带数据源")
            form.locator("button[type=submit]").click()
            expect(refusal).to_contain_text("第 3 个区域的数据源地址无效")
            feed.locator(".sg-region-url input").fill("http://notices.hall.lan/feed.json")
            refresh = feed.locator(".sg-region-refresh input")
            refresh.fill("600")
            refresh.press("Tab")
            form.locator("button[type=submit]").click()
            expect(page.locator("#sg-layout-rows tr:has([data-layout])")).to_have_count(2)
            made = next(x for x in api.get(f"{V1}/layouts", params={"site": "hall"}).json() if x["name"] == "带数据源")
            assert [(r["kind"], r["x"], r["w"], r["h"]) for r in made["regions"]] == [
                ("main", 0, 700, 850), ("ticker", 0, 1000, 150), ("feed", 700, 300, 850)]
            assert (made["regions"][2]["url"], made["regions"][2]["refresh_s"], made["regions"][2]["text"]) == (
                "http://notices.hall.lan/feed.json", 600, "大厅通知")

            # a schedule shows on its screens with the layout
            _tab(page, "schedules")
            sform = page.locator("#sg-schedule-form")
            sform.locator("#sg-schedule-screens label:has(input[value=lobby])").click()
            el_select(page, sform.locator(".el-select__wrapper:has(#sg-schedule-layout)"), "大厅四区")
            sform.locator("button[type=submit]").click()
            expect(page.locator("#sg-schedule-rows tr:has([data-schedule])")).to_contain_text("大厅四区")
            [sched] = api.get(f"{V1}/schedules", params={"site": "hall"}).json()
            assert sched["layout_id"] == lay["id"] and sched["playlist_id"] == pl["id"]
            assert csp_violations(page) == []
            assert errors == []
        finally:
            browser.close()
