"""Issue 20 item 2: sampling (抽检) in Debian's chromium over the real API (SQLite and
PostgreSQL, the rclone S3 server). A supervisor defines a plan in the form, draws the day, finds
the interaction in 我的抽检任务 (one the machine found nothing in), opens it, sees that it was
sampled, records its score with a note, and sees the score in the list. The plan's 审核人 are
picked by name from the site's supervisors and admins (GET /sampling/reviewers), another site's
supervisor not among them."""
from __future__ import annotations

import datetime as dt
import re
import time
from zoneinfo import ZoneInfo

import pytest
from browser_support import shoot, supervisor_console

from tests.support.recordings import RATE, noise, store_session
from tests.support.stack import PASSWORD, make_app_env

pytestmark = pytest.mark.slow
SUPERVISOR, SECOND, ELSEWHERE = "督导员王", "督导员李", "分厅督导员"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)   # PostgreSQL: API tests + 3 browser tests
def test_a_supervisor_samples_and_scores_a_clean_interaction(db_url, object_store):
    from playwright.sync_api import expect

    env = make_app_env(db_url, object_store, counters={"hall": ("c1",)})
    env.make_user("supervisor", ["hall"], name=SUPERVISOR, password=PASSWORD)
    env.make_user("supervisor", ["hall"], name=SECOND)
    env.make_user("supervisor", ["annex"], name=ELSEWHERE)
    admin = env.make_user("admin", [])
    wall0 = time.time() - 600
    stored = store_session(env.catalog, object_store, noise(20.0, channels=2, seed=1), counter="c1", wall0=wall0,
                           chunk_s=10.0, end=True)
    clean = env.add_interaction(session=stored.id, counter="c1", staff="张三", start_sample=0, end_sample=20 * RATE,
                                segments=[(1.0, 4.0, "staff", "您好，请问您办理什么业务")])
    day = dt.datetime.fromtimestamp(wall0, ZoneInfo("Asia/Shanghai")).date().isoformat()

    with supervisor_console(env.app, admin, SUPERVISOR) as (base, api, page):
        page.click("a[data-page=sampling]")
        expect(page).to_have_title(re.compile("^抽检 · "))
        expect(page.locator("#my-tasks")).to_contain_text("暂无分配给您的抽检录音")
        form = page.locator("#plan-form")
        form.locator("#pf-name").fill("每日每人抽两条")
        expect(form).to_contain_text(SUPERVISOR)        # the reviewer: me by default
        # more reviewers are picked by name from the site's list (no free text)
        expect(form.get_by_role("combobox", name="审核人")).to_have_count(1)          # its accessible name
        form.locator(".el-select__wrapper:has(#pf-reviewers)").click()
        options = page.locator(".el-select-dropdown:visible .el-select-dropdown__item")
        expect(options.filter(has_text=SECOND)).to_have_count(1)
        expect(options.filter(has_text=ELSEWHERE)).to_have_count(0)
        options.filter(has_text=SECOND).click()
        page.keyboard.press("Escape")
        expect(form.locator(".el-select__wrapper:has(#pf-reviewers) .el-tag")).to_have_count(2)
        form.locator("button.save-plan").click()
        plan = page.locator("#plans article.plan").first
        expect(plan).to_contain_text("每日每人抽两条")
        expect(plan).to_contain_text(f"审核人：{SUPERVISOR}、{SECOND}")
        expect(plan).to_contain_text("每天每名人员抽 2 条")
        plan.locator(".draw-day input").fill(day)
        plan.locator(".draw-day input").press("Enter")
        plan.locator("button.draw").click()
        expect(page.locator("#draw-result")).to_contain_text("1 条录音中抽出 1 条")
        expect(page.locator("#draw-result")).to_contain_text(f"审核人 {SUPERVISOR}")
        task = page.locator("#my-tasks tr[data-assignment]")
        expect(task).to_have_count(1)
        expect(task.locator(".task-outcome")).to_have_text("待评分")
        expect(task).to_contain_text("无")                                        # no flags
        shoot(page, "sampling")

        task.locator("a.task-open").click()
        expect(page).to_have_url(re.compile(rf"/interaction/{clean}$"))
        card = page.locator("#inter-sampling")
        expect(card).to_contain_text("本录音已被抽检计划“每日每人抽两条”")
        card.locator(".sample-note input").fill("服务规范，问候到位")
        card.locator("button.sample-record").click()
        expect(card.locator(".sample-result")).to_contain_text("100 分，达标")
        expect(card.locator(".sample-result")).to_contain_text("服务规范，问候到位")

        page.click("a[data-page=sampling]")
        expect(page.locator("#my-tasks tr[data-assignment] .task-outcome")).to_have_text("100 分，达标")
        expect(page.locator("#my-tasks h2")).to_contain_text("0 条待评分")

    rows = env.audit_rows("sampling.score")
    assert len(rows) == 1 and rows[0].target == f"interaction:{clean}" and "100 分，达标" in rows[0].detail
    assert len(env.audit_rows("sampling.draw")) == 1 and len(env.audit_rows("sampling.plan.create")) == 1
    assert env.audit_rows("sampling.reviewers")[0].target == "site:hall"
