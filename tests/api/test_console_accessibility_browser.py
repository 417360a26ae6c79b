"""Issue 20 item 9: every console page is usable on a phone and by assistive technology. axe-core
(api/console/package.json's devDependency, vendored as tests/api/vendor/axe.min.js so this test
needs no Node) runs in Debian's chromium on each page at 1440 and 390 px over the real API
(SQLite and PostgreSQL, the rclone S3 server) with enough data that every page shows its real
content: no serious or critical violation is allowed. At 390 px the main controls of the
recordings list, the recording page, the kiosk and the rating terminal are at least 44 px tall
and wide (WCAG 2.5.5), and the recordings list keeps its key columns visible as cards.

The counts by impact are printed per page (``-s``), the figures docs/console.md quotes."""
from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from browser_support import csp_violations, launch, login, new_page, serve_app
from playwright.sync_api import expect, sync_playwright

from services.accounts import add_user
from services.devices import issue
from tests.support.recordings import RATE, noise, store_session
from tests.support.stack import PASSWORD, make_app_env

pytestmark = pytest.mark.slow
expect.set_options(timeout=30000)
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
LOCK = Path(__file__).resolve().parents[2] / "api" / "console" / "package-lock.json"
SUPERVISOR, SECOND, STAFF, ADMIN = "督导员王", "督导员李", "窗口人员张三", "管理员赵"
BLOCKING = ("serious", "critical")
MIN_TAP = 44
# What axe is asked: WCAG 2.x A and AA and its best practices.
RUN = "(o) => axe.run(document, o).then((r) => r.violations.map((v) => ({id: v.id, impact: v.impact, " \
      "help: v.help, nodes: v.nodes.slice(0, 4).map((n) => n.target.join(' ') + ' ' + (n.failureSummary || '').slice(0, 160))," \
      " count: v.nodes.length})))"
OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
           "resultTypes": ["violations"]}


def test_vendored_axe_is_the_locked_version():
    """The copy the tests read is the one package-lock.json pins (scripts/update_axe.sh refreshes it)."""
    locked = json.loads(LOCK.read_text())["packages"]["node_modules/axe-core"]["version"]
    head = AXE.read_text(encoding="utf-8")[:200]
    assert f"axe v{locked}" in head and "Deque Systems" in head


def _axe(page, name: str, found: dict) -> None:  # noqa: ANN001 - playwright Page
    """axe's violations of the page as it is, at 1440 and 390 px, into ``found[name@width]``."""
    before = page.viewport_size
    try:
        for width, height in ((1440, 900), (390, 844)):
            page.set_viewport_size({"width": width, "height": height})
            page.wait_for_timeout(300)
            # colours mid-way through a fade are not the page's colours
            page.evaluate("() => document.getAnimations().forEach((a) => { try { a.finish() } catch (e) { /* endless */ } })")
            if not page.evaluate("typeof window.axe === 'object'"):
                page.evaluate(AXE.read_text(encoding="utf-8"))
            found[f"{name}@{width}"] = page.evaluate(RUN, OPTIONS)
    finally:
        page.set_viewport_size(before)


def _small_targets(page, selector: str) -> list[str]:  # noqa: ANN001 - playwright Page
    """The visible elements matching ``selector`` smaller than 44 x 44 px."""
    return page.evaluate("""([sel, min]) => [...document.querySelectorAll(sel)]
      .filter((e) => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
      .map((e) => [e, e.getBoundingClientRect()])
      .filter(([, r]) => r.width < min - 0.5 || r.height < min - 0.5)
      .map(([e, r]) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${[...e.classList].join('.')}`
                       + ` "${(e.innerText || e.getAttribute('aria-label') || '').trim().slice(0, 20)}"`
                       + ` ${Math.round(r.width)}x${Math.round(r.height)}`)""",
                         [selector, MIN_TAP])


def _seed(env, store) -> dict:  # noqa: ANN001
    """Counters with names, recordings with findings (one reviewed, one appealed), a complaint,
    a work order, a queue service, a screen, device tokens; returns what the pages need."""
    env.make_user("supervisor", ["hall"], name=SUPERVISOR, password=PASSWORD)
    second = env.make_user("supervisor", ["hall"], name=SECOND, password=PASSWORD)
    admin = env.make_user("admin", [], name=ADMIN, password=PASSWORD)
    staff = add_user(env.engine, STAFF, role="staff", sites=["hall"], staff="张三", password=PASSWORD).token
    env.catalog.add_counter("hall", "c1", display_name="1号窗口")
    env.catalog.add_counter("hall", "c2", display_name="2号窗口")
    env.catalog.start_shift("hall", "c1", "张三", at_s=1.0)
    wall0 = time.time() - 3 * 3600
    stored = store_session(env.catalog, store, noise(20.0, channels=2), counter="c1", wall0=wall0, end=True)
    first = env.add_interaction(session=stored.id, counter="c1", staff="张三", start_sample=0, end_sample=20 * RATE,
                                segments=[(1.0, 4.0, "staff", "你烦不烦啊"), (5.0, 8.0, "customer", "我来办社保卡"),
                                          (9.0, 12.0, "staff", "请您稍等，我帮您查一下")],
                                flags=[dict(type="forbidden", rule="F-RUDE", phrase="烦不烦", evidence="你烦不烦啊",
                                            start_s=1.0, end_s=4.0, severity="high"),
                                       dict(type="missing_courtesy", rule="C-GREETING")])
    for k in range(6):
        env.add_interaction(counter="c2" if k % 2 else "c1", staff="李四" if k % 2 else "张三",
                            wall_start_s=wall0 + 600 * (k + 1), duration_s=45,
                            segments=[(1.0, 3.0, "staff", "您好，请问办理什么业务"), (4.0, 6.0, "customer", "我来交费")],
                            flags=[dict(type="forbidden", rule="F-RUDE", phrase="烦不烦", evidence="烦不烦",
                                        start_s=1.0, end_s=3.0, severity="high")] if k % 3 == 0 else [])
    env.add_interaction(counter="c2", staff="李四", wall_start_s=wall0 + 5000, duration_s=30, assessable=False,
                        assessable_reason="估计信噪比 8 dB，低于可判定标准",
                        segments=[(1.0, 4.0, "staff", "您好，欢迎光临")])
    sup = env.client(env.make_user("supervisor", ["hall"]))
    rude = next(f["id"] for f in sup.get("/api/v1/flags", params={"rule": "F-RUDE", "staff": "张三"}).json()
                if f["interaction_id"] == first)
    assert sup.post(f"/api/v1/flags/{rude}/review", json={"state": "confirmed", "note": "属实"}).status_code == 200
    assert sup.post("/api/v1/complaints", json={"site": "hall", "complainant": "王女士", "summary": "态度冷淡",
                                                "interaction_id": first}).status_code == 201
    sup.post("/api/v1/work-orders/departments", json={"site": "hall", "name": "综合科", "supervisor": SUPERVISOR})
    assert sup.post("/api/v1/work-orders", json={"site": "hall", "title": "电话反映排队时间长",
                                                 "detail": "市民来电", "department": "综合科"}).status_code == 201
    service = sup.post("/api/v1/queue/services", json={"site": "hall", "name": "综合业务", "prefix": "A",
                                                       "counters": ["c1"]})
    assert service.status_code == 201, service.text
    assert sup.post("/api/v1/signage/screens", json={"site": "hall", "name": "lobby"}).status_code in (200, 201)
    kiosk = issue(env.engine, role="kiosk", site="hall", name="k1", actor="t").token
    ticket = env.client(kiosk).post("/api/v1/queue/tickets", json={"site": "hall", "service_id": service.json()["id"]})
    assert ticket.status_code == 201, ticket.text
    # a second ticket called and served at c1: the rating terminal there asks for a rating
    waiting = env.client(kiosk).post("/api/v1/queue/tickets", json={"site": "hall", "service_id": service.json()["id"]})
    c1 = env.counter_id("hall", "c1")
    assert sup.post(f"/api/v1/queue/counters/{c1}/call-next").status_code == 200
    assert sup.post(f"/api/v1/queue/counters/{c1}/finish").status_code == 200
    r = env.client(staff).post(f"/api/v1/my/findings/{rude}/appeal", json={"reason": "当时是顾客先骂人"})
    assert r.status_code == 201, r.text        # 张三 appeals the confirmed finding: 申诉处理 has one
    return {"first": first, "rude": rude, "second": second, "admin": admin, "kiosk": kiosk,
            "rater": issue(env.engine, role="rater", site="hall", name="c1", actor="t").token,
            "ticket_url": waiting.json()["status_url"], "c1": c1, "sup": sup}


# Each console page: (name, URL fragment, what shows once its real content is there).
SUPERVISOR_PAGES = [
    ("counters", "#/counters", "#counter-grid"),
    ("recordings", "#/recordings", "#rec-rows"),
    ("review", "#/review", "#review-tabs"),
    ("appeals", "#/appeals", "#page-appeals"),
    ("complaints", "#/complaints", "#page-complaints"),
    ("work-orders", "#/work-orders", "#wo-list li"),
    ("ratings", "#/ratings", "#ratings-total"),
    ("rules", "#/rules", "#page-rule-bench"),
    ("reports", "#/reports", "#page-reports"),
    ("queue-counter", "#/queue-counter", "#qc-site"),
    ("sg-screens", "#/signage/screens", "#sg-screen-rows"),
    ("sg-content", "#/signage/content", "#sg-tab-content"),
    ("sg-playlists", "#/signage/playlists", "#sg-tab-playlists"),
    ("sg-schedules", "#/signage/schedules", "#sg-tab-schedules"),
    ("sg-interrupts", "#/signage/interrupts", "#sg-tab-interrupts"),
    ("sg-preview", "#/signage/preview", "#sg-tab-preview"),
]


def _report(found: dict) -> str:
    lines = []
    for where, violations in found.items():
        by = Counter()
        for v in violations:
            by[v["impact"]] += v["count"]
        lines.append(f"{where}: " + (", ".join(f"{k} {n}" for k, n in sorted(by.items())) or "none")
                     + "".join(f"\n    {v['impact']} {v['id']} x{v['count']}: {v['nodes'][:2]}" for v in violations
                               if v["impact"] in BLOCKING))
    return "\n".join(lines)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)   # PostgreSQL: API tests + 3 browser tests
def test_every_console_page_passes_axe_and_fits_a_thumb(db_url, object_store):
    env = make_app_env(db_url, object_store, counters={"hall": ("c1", "c2")})
    seeded = _seed(env, object_store)
    found: dict[str, list] = {}
    small: dict[str, list[str]] = {}
    with serve_app(env.app) as base, sync_playwright() as p:
        browser = launch(p)
        problems = []
        try:
            page, errors = new_page(browser)
            problems.append((page, errors))
            page.goto(base + "/#/login")
            expect(page.locator("#login-form")).to_be_visible()
            _axe(page, "login", found)
            login(page, base, SUPERVISOR)
            for name, fragment, ready in SUPERVISOR_PAGES:
                page.goto(f"{base}/{fragment}")
                expect(page.locator(ready).first).to_be_visible()
                page.wait_for_load_state("networkidle")
                _axe(page, name, found)
            # the recordings list on a phone: cards with the key columns, thumb-sized controls
            page.set_viewport_size({"width": 390, "height": 844})
            page.goto(f"{base}/#/recordings")
            cards = page.locator("#rec-cards li.rec-card")
            expect(cards).to_have_count(8)
            expect(page.locator("#rec-rows")).to_be_hidden()
            first = page.locator(f"#rec-cards li.rec-card[data-interaction='{seeded['first']}']")
            for key in ("1号窗口", "张三", "0:20", "服务忌语 1", "缺文明用语 1", "分"):   # the key columns, in view
                expect(first).to_contain_text(key)
            box = first.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
            page.wait_for_load_state("networkidle")
            small["recordings"] = _small_targets(page, "#page-recordings button, #page-recordings a[href],"
                                                       " #page-recordings .el-input__wrapper, #page-recordings .el-select__wrapper")
            # the monthly report on a phone: the name stays at the left, the score and 达标率 beside it
            page.goto(f"{base}/#/reports")
            expect(page.locator("#report-table")).to_be_visible()
            for header in ("名称", "文明服务得分"):
                cell = page.locator("#report-table th", has_text=header).first
                box = cell.bounding_box()
                assert box is not None and box["x"] + box["width"] <= 390 + 1, (header, box)
            page.goto(f"{base}/#/interaction/{seeded['first']}")
            expect(page.locator("#inter-title")).to_be_visible()
            page.wait_for_load_state("networkidle")
            small["interaction"] = _small_targets(page, "#page-interaction button, #page-interaction .el-input__wrapper")
            page.set_viewport_size({"width": 1280, "height": 900})
            _axe(page, "interaction", found)
            staff_page, staff_errors = new_page(browser)
            problems.append((staff_page, staff_errors))
            login(staff_page, base, STAFF)
            expect(staff_page.locator("article.mine-item").first).to_be_visible()
            _axe(staff_page, "mine", found)
            admin_page, admin_errors = new_page(browser)
            problems.append((admin_page, admin_errors))
            login(admin_page, base, ADMIN)
            admin_page.goto(f"{base}/#/audit")
            expect(admin_page.locator("#page-audit table, #page-audit .el-table").first).to_be_visible()
            admin_page.wait_for_load_state("networkidle")
            _axe(admin_page, "audit", found)
            for path, token in (("kiosk", seeded["kiosk"]), ("rater", seeded["rater"])):
                device, device_errors = new_page(browser)
                problems.append((device, device_errors))
                device.goto(f"{base}/#/{path}")
                expect(device.locator("#device-token")).to_be_visible()
                _axe(device, f"{path}-bind", found)
                device.fill("#device-token", token)
                device.click("#device-bind")
                ready = "button[data-service=A]" if path == "kiosk" else "button[data-level]"
                expect(device.locator(ready).first).to_be_visible()
                _axe(device, path, found)
                device.set_viewport_size({"width": 390, "height": 844})
                device.wait_for_timeout(300)
                small[path] = _small_targets(device, "button")
            ticket, ticket_errors = new_page(browser)
            problems.append((ticket, ticket_errors))
            ticket.goto(base + urlsplit(seeded["ticket_url"]).path)
            expect(ticket.locator("#status")).to_contain_text("A002")
            expect(ticket.locator("#status")).to_contain_text("等候中")
            _axe(ticket, "ticket-status", found)
            # the page follows the ticket in place (no <meta> refresh): called, it says so
            assert seeded["sup"].post(f"/api/v1/queue/counters/{seeded['c1']}/call-next").json()["code"] == "A002"
            expect(ticket.locator("#status")).to_contain_text("请到窗口办理", timeout=60000)
            for pg, errs in problems:
                assert csp_violations(pg) == []
                assert errs == [], errs
        finally:
            browser.close()
            print("\naxe-core violations per page (nodes by impact):\n" + _report(found) + f"\nsmall targets: {small}")
    blocking = {k: [v for v in vs if v["impact"] in BLOCKING] for k, vs in found.items()}
    assert {k: vs for k, vs in blocking.items() if vs} == {}, _report(found)
    assert {k: v for k, v in small.items() if v} == {}
    assert len(found) == 2 * (len(SUPERVISOR_PAGES) + 9)       # + login, recording, staff, audit, devices, ticket
