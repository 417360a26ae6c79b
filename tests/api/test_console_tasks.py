"""The supervisor's daily tasks in the console, in Debian's chromium over the real API (uvicorn),
on SQLite and PostgreSQL with the rclone S3 server: (a) find the rude interaction by window
(display name) and afternoon, find a misheard phrase by its sound and open the hit at its time,
replay from a transcript line, use the shortcuts and confirm the flag with a note; (b) the month's
scores, two uncertain flags reviewed in the queue (one confirmed with a note, one dismissed in bulk)
and the score that follows, a drill-down from a bar to the recordings behind it, CSV and XLSX
exports with Chinese headers, an empty month;
(d) an emergency notice published with confirmation and expiry, seen on the lobby screen's
preview as the player draws it, ticker included. Each checks the page and the API's state after,
photographs every page at 1440 and 390 px, and allows no console error, failed request or CSP
violation. (c), live listen, is in test_console_live_browser.py."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import threading
import time
from pathlib import Path
from unittest import mock
from zoneinfo import ZoneInfo

import httpx
import pytest
from browser_support import el_confirm, el_select, shoot, supervisor_console
from PIL import Image

from services import search
from signage import slides
from tests.support.recordings import join_speech, store_session
from tests.support.stack import PASSWORD, make_app_env
from transcribe.worker import Worker, WorkerOptions

pytestmark = pytest.mark.slow
CST = ZoneInfo("Asia/Shanghai")
SUPERVISOR = "督导员王"


def _at(day: dt.date, hour: int, minute: int = 0) -> float:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=CST).timestamp()


def _stack(db_url: str, store):  # noqa: ANN001, ANN202
    env = make_app_env(db_url, store, counters={"hall": ("c1", "c2", "c3")})
    env.make_user("supervisor", ["hall"], name=SUPERVISOR, password=PASSWORD)
    admin = env.make_user("admin", [])
    env.client(admin).patch("/api/v1/sites/hall", json={"display_name": "市民服务中心一楼"}).raise_for_status()
    return env, admin


def test_a_find_and_confirm_the_rude_interaction_by_window_and_afternoon(db_url, object_store, analyzer, data_dir: Path):
    from playwright.sync_api import expect

    env, admin = _stack(db_url, object_store)
    env.catalog.add_counter("hall", "c1", channels="mono", display_name="1号窗口")
    env.catalog.add_counter("hall", "c2", display_name="2号窗口")
    today = dt.datetime.now(CST).date()
    afternoon = _at(today, 14, 30)
    env.catalog.start_shift("hall", "c1", "王敏", at_s=afternoon - 3600)
    env.catalog.start_shift("hall", "c2", "刘强", at_s=afternoon - 3600)
    store_session(env.catalog, object_store, join_speech(data_dir, "dev24-mono-noisy.flac"), counter="c1",
                  wall0=afternoon, end=True)
    store_session(env.catalog, object_store, join_speech(data_dir, "dev05-stereo-clean.flac"), counter="c2",
                  wall0=afternoon + 600, end=True)
    worker = Worker(engine=env.engine, store=object_store, analyzer=analyzer, name="w-task-a",
                    options=WorkerOptions(lease_s=6.0, poll_s=0.2))
    assert worker.work(threading.Event(), burst=True) >= 4
    # the same window in the morning, rude as well: the afternoon filter must leave it out
    morning = env.add_interaction(counter="c1", staff="王敏", wall_start_s=_at(today, 9, 40), duration_s=30,
                                  segments=[(0.0, 2.0, "staff", "烦不烦啊")],
                                  flags=[dict(type="forbidden", rule="F-RUDE", phrase="烦不烦", start_s=0.0, end_s=1.5)])
    with supervisor_console(env.app, admin, SUPERVISOR) as (base, api, page):
        [rude] = api.get("/api/v1/interactions", params={"counter": "c1", "since_s": _at(today, 12),
                                                          "until_s": _at(today, 18)}).json()["items"]
        rude_flags = [f for f in api.get(f"/api/v1/interactions/{rude['id']}").json()["flags"] if f["rule"] == "F-RUDE"]
        assert rude_flags, "the worker found no F-RUDE flag in dev24"
        page.click("a[data-page=recordings]")
        expect(page).to_have_title(re.compile("^录音查询 · "))
        el_select(page, page.locator("#rec-filters .filter-counter"), "1号窗口")
        page.click("#rec-filters [data-quick=afternoon]")
        expect(page.locator("#rec-status")).to_contain_text("共 1 条录音")
        assert "counter=c1" in page.url and "since_s=" in page.url          # the filters are in the URL
        row = page.locator("#rec-rows tbody tr").first
        expect(row).to_contain_text("1号窗口")
        expect(row).to_contain_text("王敏")
        expect(row).to_contain_text("服务忌语")
        shots = shoot(page, "task-a-recordings")
        # the rule's phrase finds it too (as written, sounding alike, or through the rule's flag)
        page.fill("#rec-filters-q", "烦不烦")
        page.click("#rec-filters button.filter-submit")
        expect(page.locator("#rec-status")).to_contain_text("共 1 条录音")
        expect(row.locator("a.rec-link")).to_have_attribute("data-interaction", str(rude["id"]))
        expect(row).to_contain_text(re.compile("原文|读音相近|规则命中"))
        shots += shoot(page, "task-a-search")
        # a phrase misheard as written (腿修 for 退休): found by its sound, the span highlighted
        page.fill("#rec-filters-q", "腿修手续")
        page.click("#rec-filters button.filter-submit")
        expect(page.locator("#rec-status")).to_contain_text("共 1 条录音")
        expect(row.locator(".el-tag", has_text="读音相近")).to_be_visible()
        snippet = row.locator(".snippet mark").first.inner_text()
        assert snippet == "退休手续", snippet
        shots += shoot(page, "task-a-sound-alike")
        # a shared link opens the same result
        page.goto(page.url)
        expect(page.locator("#rec-status")).to_contain_text("共 1 条录音")
        # a phrase with more matching lines than the browser ranks: it says so and how to narrow
        with mock.patch.object(search, "CANDIDATE_CAP", 1):
            page.goto(f"{base}/#/recordings?q=烦不烦")
            expect(page.locator("#rec-status")).to_contain_text("匹配很多，列出最近的 1 条录音（可加时间或窗口条件缩小范围）")
        page.go_back()
        expect(page.locator("#rec-status")).to_contain_text("共 1 条录音")

        # the hit opens the recording at the matched line, playing from there
        row.locator("a.rec-link").click()
        expect(page).to_have_url(re.compile(rf"#/interaction/{rude['id']}\?t="))
        hit_s = float(re.search(r"[?&]t=([0-9.]+)", page.url).group(1))
        expect(page.locator("#inter-title")).to_contain_text("1号窗口")
        page.wait_for_function("() => { const a = document.querySelector('#player'); return a && a.readyState >= 1; }",
                               timeout=20000)
        page.wait_for_function("(t) => { const a = document.querySelector('#player');"
                               " return !a.paused && a.currentTime >= t - 0.5; }", arg=hit_s, timeout=10000)
        hit_line = page.locator("#transcript li", has_text=snippet).first
        expect(hit_line).to_be_visible()
        # replay from another transcript line: a click seeks there and plays; the line is read on screen
        line = page.locator("#transcript li").nth(1)
        line_s = float(line.get_attribute("data-start"))
        line.locator("button").first.click()     # the line's play button (更正 comes after it)
        page.wait_for_function("(t) => { const a = document.querySelector('#player');"
                               " return !a.paused && a.currentTime >= t && a.currentTime < t + 5; }",
                               arg=line_s, timeout=10000)
        expect(line).to_have_class(re.compile(r"\bplaying\b"))
        assert line.locator(".tx").inner_text().strip()
        page.locator("#page-interaction h1").click()           # keyboard shortcuts from the page
        page.keyboard.press("?")
        expect(page.locator("#shortcuts")).to_be_visible()
        expect(page.locator("#shortcuts")).to_contain_text("下一条检查结果")
        page.keyboard.press("Escape")
        expect(page.locator("#shortcuts")).to_be_hidden()
        # ← five seconds at a time back to the start
        for _ in range(8):
            page.keyboard.press("ArrowLeft")
        page.wait_for_function("() => document.querySelector('#player').currentTime < 3", timeout=10000)
        page.keyboard.press("j")                # J: the next flag, focused and playing from its start
        page.wait_for_function("() => document.activeElement && document.activeElement.dataset.flag")
        page.wait_for_function("() => !document.querySelector('#player').paused", timeout=10000)
        page.keyboard.press(" ")                # space pauses, and plays again
        page.wait_for_function("() => document.querySelector('#player').paused", timeout=10000)
        page.keyboard.press(" ")
        page.wait_for_function("() => !document.querySelector('#player').paused", timeout=10000)
        page.keyboard.press(" ")
        page.wait_for_function("() => document.querySelector('#player').paused", timeout=10000)
        expect(page.locator(".lane.staff .turn").first).to_be_attached()
        card = page.locator("#inter-flags li[data-flag]", has_text="粗鲁、侮辱性语言").first
        expect(card).to_contain_text("严重")
        flag_id = int(card.get_attribute("data-flag"))
        card.locator(".review-note input").fill("回放核实：下午对群众说烦不烦，属实")
        card.locator("button.confirm").click()
        expect(page.locator(f"#inter-flags li[data-flag='{flag_id}']")).to_contain_text("已确认")
        shots += shoot(page, "task-a-interaction")
        page.goto(base + "/#/interaction/999999")
        expect(page.locator("#inter-missing")).to_contain_text("录音不存在")
        expect(page).to_have_title(re.compile("^录音不存在"))
        flag = next(f for f in api.get(f"/api/v1/interactions/{rude['id']}").json()["flags"] if f["id"] == flag_id)
        assert (flag["review_state"], flag["reviewed_by"], flag["review_note"]) == \
            ("confirmed", SUPERVISOR, "回放核实：下午对群众说烦不烦，属实")
        assert api.get(f"/api/v1/interactions/{morning}").json()["flags"][0]["review_state"] == "open"
        audit = api.get("/api/v1/audit", params={"user": SUPERVISOR}).json()
        assert {"transcript.view", "audio.play", "flag.review"} <= {a["action"] for a in audit}
    env.engine.dispose()
    assert len(shots) == 8 and all(s.stat().st_size > 5_000 for s in shots)


def test_b_monthly_scores_drill_down_and_exports(db_url, object_store, tmp_path: Path):
    from openpyxl import load_workbook
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    env, admin = _stack(db_url, object_store)
    env.catalog.add_counter("hall", "c1", display_name="1号窗口")
    env.catalog.add_counter("hall", "c2", display_name="2号窗口")
    now = dt.datetime.now(CST)
    month = f"{now:%Y-%m}"
    day = now.date().replace(day=1)
    for k in range(3):       # 张三: three clean interactions (100 points each)
        env.add_interaction(counter="c1", staff="张三", wall_start_s=_at(day, 9, 10 * k), duration_s=60)
    env.add_interaction(counter="c2", staff="李四", wall_start_s=_at(day, 10), duration_s=60, flags=[
        dict(type="forbidden", rule="F-CLOSING", phrase="快下班了", review_state="confirmed")])     # 70 points
    env.add_interaction(counter="c2", staff="李四", wall_start_s=_at(day, 11), duration_s=60, assessable=False,
                        assessable_reason="语音无法识别")
    # two uncertain flags (below the certain confidence): not counted until a supervisor confirms one
    unsure = env.add_interaction(counter="c2", staff="李四", wall_start_s=_at(day, 12), duration_s=60, flags=[
        dict(type="forbidden", rule="F-RUDE", phrase="烦不烦", confidence=0.3),
        dict(type="forbidden", rule="F-NOT-MINE", phrase="不归我管", confidence=0.3, start_s=5.0, end_s=6.0)])
    with supervisor_console(env.app, admin, SUPERVISOR) as (base, api, page):
        # 抽检: one interaction of each staff member drawn that day, none scored yet
        plan = api.post("/api/v1/sampling/plans", json={"site": "hall", "name": "每日抽检", "per": "staff", "period": "day",
                                                        "mode": "count", "amount": 1, "reviewers": [SUPERVISOR]})
        assert plan.status_code == 201, plan.text
        assert api.post(f"/api/v1/sampling/plans/{plan.json()['id']}/draws", json={"day": day.isoformat()}).status_code == 200
        report = api.get("/api/v1/reports/monthly", params={"month": month}).json()
        li_before = next(r for r in report["by_staff"] if r["name"] == "李四")
        page.click("a[data-page=reports]")
        expect(page).to_have_title(re.compile("^月度报表 · "))
        kpis = page.locator("#report-kpis")
        expect(kpis).to_contain_text(f"{report['total']['score']:.1f} 分")
        expect(kpis).to_contain_text("无法判定（不计分）1")
        page.locator("#report-formula summary").click()
        expect(page.locator("#report-formula")).to_contain_text("严重 30 分")
        expect(page.locator("#report-charts canvas")).to_have_count(6)
        table = page.locator("#report-table")
        expect(table.locator("tbody tr").first).to_contain_text("张三")
        expect(table.locator("tbody tr").first).to_contain_text("100.0 分")
        expect(table).to_contain_text("2号窗口")
        expect(table.locator("tbody tr", has_text="李四").first).to_contain_text(f"{li_before['score']:.1f} 分")
        # the 抽检 columns, read by their headers, and the note that says what they count
        headers = [t.strip() for t in table.locator("thead th").all_inner_texts()]
        cells = [t.strip() for t in table.locator("tbody tr", has_text="张三").first.locator("td").all_inner_texts()]
        assert [cells[headers.index(h)] for h in ("抽检", "抽检已评分", "抽检平均分")] == ["1", "0", "—"]
        total = [t.strip() for t in table.locator("tbody tr", has_text="合计").first.locator("td").all_inner_texts()]
        assert total[headers.index("抽检")] == str(report["total"]["sampled"]) == "2"
        expect(page.locator("#report-sampling-note")).to_have_text(report["sampling_note"])
        shots = shoot(page, "task-b-reports")

        # review: confirm one uncertain flag with a note, dismiss the other in bulk with one note
        page.click("a[data-page=review]")
        page.click("#review-tabs a[data-tab=uncertain]")
        group = page.locator(f"#review-groups li.review-group[data-interaction='{unsure}']")
        rude = group.locator("li.review-flag", has_text="粗鲁")
        rude.click()                                     # the workbench shows it beside the list
        page.locator("#wb-detail .review-note input").fill("回放核实，属实")
        page.click("#wb-confirm")
        expect(group.locator("li.review-flag")).to_have_count(1)
        group.locator("li.review-flag .pick").first.click()
        expect(page.locator("#review-picked")).to_contain_text("已选 1 条")
        page.locator("#review-bulk .bulk-note input").fill("误识别，驳回")
        page.click("#review-bulk .bulk-dismiss")
        expect(page.locator("#review-groups li.review-group")).to_have_count(0)
        shots += shoot(page, "task-b-review")
        reviewed = api.get("/api/v1/reports/monthly", params={"month": month}).json()
        li_after = next(r for r in reviewed["by_staff"] if r["name"] == "李四")
        assert li_after["score"] < li_before["score"]            # the confirmed flag counts now
        page.click("a[data-page=reports]")
        row = page.locator("#report-table tbody tr", has_text="李四").first
        expect(row).to_contain_text(f"{li_after['score']:.1f} 分")

        # drill-down: the top bar of the staff ranking (张三, 100 points) opens their recordings
        chart = page.locator("#chart-staff-score canvas")
        box = chart.bounding_box()
        for _ in range(20):                # until the chart's entry animation has drawn the bar
            chart.click(position={"x": box["width"] * 0.7, "y": 63})
            try:
                page.wait_for_function("() => location.hash.startsWith('#/recordings')", timeout=500)
                break
            except PlaywrightTimeout:
                pass
        expect(page).to_have_url(re.compile(r"#/recordings\?.*staff=%E5%BC%A0%E4%B8%89"))
        expect(page.locator("#rec-status")).to_contain_text("共 3 条录音")
        page.go_back()
        expect(page.locator("#report-table")).to_be_visible()

        with page.expect_download() as got:
            page.click("#report-csv")
        text = Path(got.value.path()).read_bytes().decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert list(rows[0])[:9] == ["月份", "服务点", "分组", "名称", "排名", "服务次数", "可判定", "无法判定",
                                     "文明服务得分"]
        li = next(r for r in rows if r["名称"] == "李四")
        assert (li["文明服务得分"], li["达标率"], li["无法判定"], li["服务忌语（严重）"]) == \
            ("70.0", "0.0%", "1", "2")                                 # F-CLOSING and the confirmed F-RUDE
        assert next(r for r in rows if r["名称"] == "2号窗口")["服务点"] == "市民服务中心一楼"
        with page.expect_download() as got:
            page.click("#report-xlsx")
        wb = load_workbook(io.BytesIO(Path(got.value.path()).read_bytes()))
        sheet = wb["月度报表"]
        header = [c.value for c in sheet[1]]
        first = dict(zip(header, (c.value for c in sheet[2]), strict=True))
        assert first["名称"] == "张三" and first["文明服务得分"] == 100.0 and first["达标率"] == 1.0
        assert sheet.cell(row=2, column=header.index("达标率") + 1).number_format == "0.0%"

        # an empty month says so instead of drawing empty boxes
        page.goto(base + "/#/reports?month=2020-01")
        expect(page.locator("#report-empty")).to_contain_text("2020年01月没有录音数据")
        expect(page.locator("#report-table")).to_have_count(0)
        shots += shoot(page, "task-b-empty")
        after = api.get("/api/v1/reports/monthly", params={"month": month}).json()
        assert after == reviewed                                     # looking changed nothing
        exports = [a for a in api.get("/api/v1/audit", params={"user": SUPERVISOR}).json()]
        assert all(a["action"] != "report.edit" for a in exports)
        states = {f["rule"]: (f["review_state"], f["reviewed_by"], f["review_note"])
                  for f in api.get(f"/api/v1/interactions/{unsure}").json()["flags"]}
        assert states == {"F-RUDE": ("confirmed", SUPERVISOR, "回放核实，属实"),
                          "F-NOT-MINE": ("dismissed", SUPERVISOR, "误识别，驳回")}
    env.engine.dispose()
    assert len(shots) == 6


def test_d_a_notice_on_the_lobby_preview(db_url, object_store):
    from playwright.sync_api import expect

    env, admin = _stack(db_url, object_store)
    env.catalog.add_counter("hall", "c3", display_name="3号窗口")
    sup = env.client(env.make_user("supervisor", ["hall"]))
    token = sup.post("/api/v1/signage/screens", json={"site": "hall", "name": "lobby", "display_name": "一楼大厅屏"}
                     ).json()["token"]
    sup.post("/api/v1/signage/screens", json={"site": "hall", "name": "annex-door"}).raise_for_status()
    agent = env.client(env.make_user("events", ["hall"]))  # the queue and rating system (issue 18)
    agent.post("/api/v1/events", json={"site": "hall", "counter": "c3", "kind": "queue_call", "ticket": "A439"}
               ).raise_for_status()
    with supervisor_console(env.app, admin, SUPERVISOR) as (base, api, page):
        screen = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        page.click("a[data-page=signage]")
        page.click("#sg-tabs a[data-tab=interrupts]")
        page.wait_for_selector("#page-signage[data-ready=interrupts]", state="attached")
        form = page.locator("#sg-interrupt-form")
        form.locator("input[name=title]").fill("临时停水通知")
        form.locator("textarea[name=body]").fill("今日 15:00 至 17:00 大厅停水，请谅解。")
        el_select(page, page.locator(".sg-expiry"), "1 小时后")
        form.locator("#sg-interrupt-screens label", has_text="一楼大厅屏").click()
        t0 = time.time()
        form.locator("button[type=submit]").click()
        box = page.locator(".el-message-box")
        expect(box).to_contain_text("一楼大厅屏")
        expect(box).to_contain_text("1 小时后自动结束")
        el_confirm(page, "立即发布")
        notice = page.locator("#sg-interrupt-list li[data-interrupt]")
        expect(notice).to_contain_text("临时停水通知")
        expect(notice).to_contain_text("自动结束")
        expect(page.locator("#sg-interrupt-history")).to_contain_text("生效中")
        shots = shoot(page, "task-d-interrupts")

        page.click("#sg-tabs a[data-tab=preview]")
        page.wait_for_selector("#page-signage[data-ready=preview]", state="attached")
        el_select(page, page.locator(".sg-preview-screen"), "lobby")
        page.locator(".sg-now").click()
        page.click("#sg-preview-form button[type=submit]")
        expect(page.locator("#sg-preview-slide")).to_have_attribute("data-kind", "interrupt")
        expect(page.locator("#sg-preview-info")).to_contain_text("临时停水通知")
        page.wait_for_function("() => { const i = document.querySelector('#sg-preview-img');"
                               " return i && i.complete && i.naturalWidth === 1280; }")
        src = page.locator("#sg-preview-img").get_attribute("src")
        png = page.request.get(base + src)                   # what the page shows, with its cookie
        assert png.status == 200 and png.headers["content-type"] == "image/png"
        png_bytes = png.body()
        shots += shoot(page, "task-d-preview")
        img = Image.open(io.BytesIO(png_bytes)).convert("RGB")
        assert img.getpixel((8, 300)) == slides.INTERRUPT_BG         # the notice fills the screen
        manifest = screen.get("/api/v1/signage/screens/lobby/manifest").json()
        rows = [slides.ServingRow(r["counter"], r["ticket"], r["paused"], r["called_s"], r["display_name"])
                for r in manifest["now_serving"]]
        assert "请 A439 号到 3号窗口" in slides.serving_text(rows)   # the ticker uses display names
        assert img.crop((0, 656, 1280, 720)).tobytes() == slides.ticker(rows, width_px=1280, height_px=64).tobytes()
        [wire] = manifest["schedule"]["interrupts"]
        assert wire["title"] == "临时停水通知" and abs(wire["expires_s"] - (t0 + 3600)) < 60
        assert screen.get("/api/v1/signage/screens/annex-door/manifest").status_code == 403   # another screen's
        other = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {admin}"})
        assert other.get("/api/v1/signage/screens/annex-door/preview").json()["kind"] == "default"
        [row] = [a for a in api.get("/api/v1/audit", params={"action": "interrupt.create"}).json()]
        assert row["user_name"] == SUPERVISOR and row["site"] == "hall"
    env.engine.dispose()
    assert len(shots) == 4
