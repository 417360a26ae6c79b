"""Issue 20 item 8: a rule edited through a form, in Debian's chromium over the real API. The
form builds the same one-rule draft as the YAML editor (now the admins' 高级 tab) and sends it
through the same rule bench: an admin changes a phrase of 一问三不知, adds one, tries it and
applies it, and the API's rulebook has them (its other patterns kept); bad input shows a Chinese
message (the form's own, or the server's 422), never a 500. A supervisor gets the form, no
高级 tab, and may try a draft."""
from __future__ import annotations

import re

import pytest
from browser_support import el_confirm, el_select, launch, login, new_page, serve_app, shoot, supervisor_console

from tests.support.stack import PASSWORD, make_app_env

pytestmark = pytest.mark.slow
ADMIN = "管理员李"
SUPERVISOR = "督导员赵"


def _source(api, rule_id: str) -> dict:  # noqa: ANN001 - httpx Client
    rules = api.get("/api/v1/rules").json()["rules"]
    return next(r for r in rules if r["id"] == rule_id)["source"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)   # PostgreSQL: API tests + 3 browser tests
def test_a_phrase_changed_in_the_form_is_in_the_rulebook(db_url, object_store):
    from playwright.sync_api import expect, sync_playwright

    env = make_app_env(db_url, object_store, counters={"hall": ("c1",)})
    admin = env.make_user("admin", [], name=ADMIN, password=PASSWORD)
    env.make_user("supervisor", ["hall"], name=SUPERVISOR, password=PASSWORD)
    with supervisor_console(env.app, admin, ADMIN) as (base, api, page):
        before = _source(api, "F-DONT-KNOW")
        assert before["phrases"][0] == "不知道" and before["patterns"]
        page.goto(base + "/#/rules")
        expect(page.locator("#bench-tabs .el-tabs__item", has_text="高级")).to_be_visible()   # admins keep YAML
        form = page.locator("#rule-form")
        el_select(page, page.locator(".rule-pick"), "一问三不知")
        expect(page.locator("#rule-id")).to_have_value("F-DONT-KNOW")
        expect(page.locator("#rule-id")).to_be_disabled()
        expect(form).to_contain_text("另有 1 个句式或正则表达式保持不变")
        first = form.locator(".phrase-input input").first
        expect(first).to_have_value("不知道")
        first.fill("我不知道")
        page.click("#rule-phrase-add")
        form.locator(".phrase-input input").last.fill("不清楚啊")
        page.click("#bench-run")
        expect(page.locator("#bench-result")).to_be_visible(timeout=60_000)
        expect(page.locator("#bench-error")).to_have_text("")
        page.click("#bench-apply")
        el_confirm(page, "应用")
        expect(page.locator(".el-message--success")).to_contain_text("已应用规则版本", timeout=60_000)
        after = _source(api, "F-DONT-KNOW")
        assert after["phrases"] == ["我不知道", *before["phrases"][1:], "不清楚啊"], after
        assert after["patterns"] == before["patterns"] and after["severity"] == before["severity"]
        rule = next(r for r in api.get("/api/v1/rules").json()["rules"] if r["id"] == "F-DONT-KNOW")
        assert rule["label"] == "一问三不知" and rule["type"] == "forbidden"
        shoot(page, "rules-form")

        # bad input: an empty phrase (the form's own message, nothing sent) ...
        page.click("#rule-phrase-add")
        page.click("#bench-run")
        expect(page.locator("#bench-error")).to_have_text("词句不能为空，请填写或删除空行")
        form.locator(".phrase-remove").last.click()
        # ... and a new rule whose number the server refuses: its Chinese message, a 422
        el_select(page, page.locator(".rule-pick"), "新建规则")
        page.fill("#rule-id", "不是编号")
        page.fill("#rule-label", "试验")
        form.locator(".phrase-input input").first.fill("烦死了")
        with page.expect_response(re.compile(r"/api/v1/rules/bench$")) as answer:
            page.click("#bench-run")
        assert answer.value.status == 422
        expect(page.locator("#bench-error")).to_contain_text("试验失败：规则无效")
        assert "500" not in page.locator("#bench-error").inner_text()
        assert _source(api, "F-DONT-KNOW") == after            # nothing applied

    # A supervisor: the form only, and a trial of a courtesy rule drafted in it
    with serve_app(env.app) as base, sync_playwright() as p:
        browser = launch(p)
        try:
            page, errors = new_page(browser)
            login(page, base, SUPERVISOR)
            page.goto(base + "/#/rules")
            expect(page.locator("#rule-form")).to_be_visible()
            expect(page.locator("#bench-tabs .el-tabs__item", has_text="高级")).to_have_count(0)
            page.fill("#rule-id", "C-THANKS-2")
            page.locator("#rule-kind label", has_text="文明用语").click()
            page.locator("#rule-form .phrase-input input").first.fill("谢谢您的耐心")
            page.click("#bench-run")
            expect(page.locator("#bench-result")).to_contain_text("试验规则", timeout=60_000)
            expect(page.locator("#bench-apply")).to_have_count(0)          # applying is an admin's
            assert errors == [], errors
        finally:
            browser.close()
