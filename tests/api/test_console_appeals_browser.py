"""Issue 20 item 4 and issue 19 item 4 in Debian's chromium over the real API (SQLite and
PostgreSQL, the rclone S3 server): a member of the counter staff logs in, sees only their own
page with their score and findings, plays the recording, marks a finding 已阅 and appeals it;
the supervisor who confirmed the finding is refused the ruling, a second supervisor overturns
it with a note, and the score follows on the recording page and in the monthly report; the
supervisor then marks the interaction 无法判定 and back, and adds a finding by hand at a time in
the recording. Each step is checked on the page and in the API; every page is photographed at
1440 and 390 px, with no console error, failed request or CSP violation."""
from __future__ import annotations

import datetime as dt
import re
import time
from zoneinfo import ZoneInfo

import pytest
from browser_support import el_select, login, shoot, supervisor_console

from services.accounts import add_user
from tests.support.recordings import RATE, noise, store_session
from tests.support.stack import PASSWORD, make_app_env

pytestmark = pytest.mark.slow
CST = ZoneInfo("Asia/Shanghai")
FIRST, SECOND, STAFF = "督导员王", "督导员李", "窗口人员张三"


def _logout_login(page, base: str, name: str) -> None:  # noqa: ANN001 - playwright Page
    # Until the request has finished (body included), so the next page's load cannot abort it.
    with page.expect_request_finished(lambda r: r.url.endswith("/api/v1/auth/logout")):
        page.click("#logout")
    page.wait_for_url(re.compile("#/login"))
    login(page, base, name)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)   # PostgreSQL: API tests + 3 browser tests
def test_staff_appeal_second_reviewer_overturns_and_the_score_follows(db_url, object_store):
    from playwright.sync_api import expect

    env = make_app_env(db_url, object_store, counters={"hall": ("c1", "c2")})
    first = env.make_user("supervisor", ["hall"], name=FIRST, password=PASSWORD)
    env.make_user("supervisor", ["hall"], name=SECOND, password=PASSWORD)
    admin = env.make_user("admin", [])
    add_user(env.engine, STAFF, role="staff", sites=["hall"], staff="张三", password=PASSWORD)
    env.catalog.add_counter("hall", "c1", display_name="1号窗口")
    wall0 = time.time() - 2 * 3600
    stored = store_session(env.catalog, object_store, noise(20.0, channels=2), counter="c1", wall0=wall0, end=True)
    mine = env.add_interaction(session=stored.id, counter="c1", staff="张三", start_sample=0,
                               end_sample=20 * RATE, segments=[(1.0, 4.0, "staff", "你烦不烦啊"),
                                                               (5.0, 8.0, "customer", "我来办社保卡")],
                               flags=[dict(type="forbidden", rule="F-RUDE", phrase="烦不烦", evidence="你烦不烦啊",
                                           start_s=1.0, end_s=4.0, severity="high"),
                                      dict(type="missing_courtesy", rule="C-GREETING")])
    other = env.add_interaction(counter="c2", staff="李四", wall_start_s=wall0 + 600, duration_s=30,
                                flags=[dict(type="forbidden", rule="F-RUDE")])
    sup = env.client(first)
    fid = next(f["id"] for f in sup.get("/api/v1/flags", params={"rule": "F-RUDE", "staff": "张三"}).json())
    assert sup.post(f"/api/v1/flags/{fid}/review", json={"state": "confirmed", "note": "属实"}).status_code == 200
    month = dt.datetime.fromtimestamp(wall0, CST).strftime("%Y-%m")

    with supervisor_console(env.app, admin, STAFF) as (base, api, page):
        # The staff member's one page: their own interaction, its score, their findings.
        expect(page).to_have_url(re.compile("#/mine$"))
        expect(page.locator("nav.nav a")).to_have_count(1)
        card = page.locator(f"article.mine-item[data-interaction='{mine}']")
        expect(card.locator("[data-test=mine-score]")).to_have_text("60 分")
        expect(page.locator("article.mine-item")).to_have_count(1)          # not 李四's
        assert page.locator(f"article.mine-item[data-interaction='{other}']").count() == 0
        finding = card.locator(f"li.finding[data-flag='{fid}']")
        expect(finding).to_contain_text("识别到：“你烦不烦啊”")
        card.locator("button.open-recording").click()
        detail = page.locator("#mine-detail")
        expect(detail.locator(".transcript")).to_contain_text("我来办社保卡")
        expect(detail.locator("[data-test=score-card]")).to_contain_text("审核确认")
        page.wait_for_function("() => { const a = document.querySelector('#mine-detail audio');"
                               " return a && a.readyState >= 1 && a.duration > 19 }")
        finding.locator("button.ack").click()
        expect(finding.locator(".acked")).to_contain_text("已阅")
        finding.locator("button.appeal").click()
        page.locator("#appeal-reason textarea, textarea#appeal-reason").first.fill("我当时说的是“您稍等”，不是烦不烦")
        page.click("#appeal-submit")
        expect(finding.locator(".appeal-state")).to_contain_text("待裁定")
        expect(finding.locator("button.appeal")).to_have_count(0)
        shoot(page, "staff-mine")
        # Another page of the console is not theirs: back to their own.
        page.goto(base + "/#/recordings")
        expect(page).to_have_url(re.compile("#/mine$"))
        [appeal] = api.get("/api/v1/appeals", params={"state": "open"}).json()
        assert (appeal["staff"], appeal["flag_id"], appeal["confirmed_by"]) == ("张三", fid, FIRST)

        # The supervisor who confirmed the finding may not rule on its appeal.
        _logout_login(page, base, FIRST)
        page.click("a[data-page=appeals]")
        expect(page.locator("[data-tab=open]")).to_contain_text("（1）")
        item = page.locator(f"article.appeal[data-appeal='{appeal['id']}']")
        expect(item).to_contain_text("我当时说的是“您稍等”")
        item.locator(".ruling-note input").fill("维持")
        item.locator("button.overturn").click()
        expect(page.locator(".el-message--error")).to_contain_text("确认该检查结果的审核人不能裁定其申诉")

        # A second supervisor overturns it with a note; the tabs and the score follow.
        _logout_login(page, base, SECOND)
        page.click("a[data-page=appeals]")
        el_select(page, page.locator("#appeal-staff").locator(".."), "张三")
        item = page.locator(f"article.appeal[data-appeal='{appeal['id']}']")
        item.locator(".ruling-note input").fill("重听录音，确为“您稍等”")
        item.locator("button.overturn").click()
        expect(page.locator("[data-tab=overturned]")).to_contain_text("（1）")
        expect(page.locator("[data-tab=open]")).to_contain_text("（0）")
        shoot(page, "appeals")
        page.click("[data-tab=overturned]")
        ruled = page.locator(f"article.appeal[data-appeal='{appeal['id']}']")
        expect(ruled).to_contain_text(f"裁定（{SECOND}")
        ruled.locator("a.recording-link").click()
        expect(page).to_have_url(re.compile(f"#/interaction/{mine}"))
        score = page.locator("[data-test=score-card]")
        expect(score.locator("[data-test=score-value]")).to_have_text("90 分")
        expect(score).to_contain_text("达标")
        expect(score).to_contain_text("撤销 1")
        rep = api.get("/api/v1/reports/monthly", params={"month": month, "site": "hall"}).json()
        assert next(r for r in rep["by_staff"] if r["name"] == "张三")["score"] == 90.0

        # The supervisor's override: 无法判定 and back, each with a reason; a finding by hand.
        page.fill("#verdict-reason input, input#verdict-reason", "背景施工噪声，听不清")
        page.click("#mark-unassessable")
        expect(score.locator("[data-test=score-value]")).to_have_text("无法判定")
        page.fill("#verdict-reason input, input#verdict-reason", "复听可辨，改为可判定")
        page.click("#mark-assessable")
        expect(score.locator("[data-test=score-value]")).to_have_text("90 分")
        expect(page.locator("#verdict-history li")).to_have_count(2)
        el_select(page, page.locator("#manual-rule").locator(".."), "下班")
        page.fill("#manual-at input, input#manual-at", "12.5")
        page.fill("#manual-note input, input#manual-note", "说“快下班了明天再来”")
        page.click("#manual-add")
        expect(page.locator("#manual-list li")).to_have_count(1)
        expect(score.locator("[data-test=score-value]")).to_have_text("60 分")
        expect(score).to_contain_text("督导员人工添加")
        shoot(page, "interaction-decided")
        body = api.get(f"/api/v1/interactions/{mine}/score").json()
        assert body["score"]["score"] == 60.0 and body["decided"]["manual"][0]["at_s"] == 12.5
        page.click("a[data-page=reports]")
        row = page.locator("#report-table tbody tr", has_text="张三").first
        expect(row).to_contain_text("60.0 分")

        # Complaints tied to the evidence: a second one about the same recording is warned about,
        # the recording page lists them.
        first_c = api.post("/api/v1/complaints", json={"site": "hall", "summary": "态度生硬", "interaction_id": mine},
                           headers={"X-Counterwatch": "1"}).json()
        page.goto(f"{base}/#/complaints?interaction={mine}")
        expect(page.locator("#cp-earlier")).to_contain_text(f"#{first_c['id']}（待答复）")
        filed = page.locator(f"li[data-complaint='{first_c['id']}']")
        expect(filed.locator(".complaint-flags")).to_contain_text("粗鲁、侮辱性语言，已驳回")
        page.goto(f"{base}/#/interaction/{mine}")
        expect(page.locator("#inter-complaints")).to_contain_text(f"#{first_c['id']} · 待答复")

        # The staff member sees the ruling on their page.
        _logout_login(page, base, STAFF)
        finding = page.locator(f"li.finding[data-flag='{fid}']")
        expect(finding.locator(".appeal-state")).to_contain_text("已撤销")
        expect(finding.locator(".appeal-state")).to_contain_text("重听录音，确为“您稍等”")
    actions = {r.action for r in env.audit_rows()}
    assert {"finding.ack", "appeal.create", "appeal.rule", "interaction.assessable", "finding.add"} <= actions
