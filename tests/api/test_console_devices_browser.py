"""Device tokens in the console (issue 21), in Debian's chromium over the real API (uvicorn): an
admin issues a rating terminal's token for 1号窗口 on 设备令牌, copies it from the dialog that shows
it once, binds a terminal with it (which shows the staff member on duty with their photo), sees
the token listed with its last use, revokes it, and the token is refused afterwards."""
from __future__ import annotations

import io
import re

import httpx
import pytest
from browser_support import csp_violations, el_confirm, el_select, launch, login, new_page, serve_app, shoot
from playwright.sync_api import expect, sync_playwright

from services.accounts import add_user
from tests.support.stack import PASSWORD, AppEnv

pytestmark = pytest.mark.slow
expect.set_options(timeout=30000)


def _jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (90, 120), (40, 90, 160)).save(buf, format="JPEG")
    return buf.getvalue()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)   # PostgreSQL: API tests + 3 browser tests
def test_admin_issues_lists_and_revokes_a_rater_token(app_env: AppEnv):
    app_env.catalog.add_counter("hall", "c1", display_name="1号窗口")
    app_env.catalog.start_shift("hall", "c1", "王芳", at_s=1.0)
    add_user(app_env.engine, "管理员甲", role="admin", password=PASSWORD)
    sup = app_env.client(app_env.make_user("supervisor"))
    assert sup.put("/api/v1/ratings/staff-photo", params={"site": "hall", "name": "王芳"}, content=_jpeg()).status_code == 200
    with serve_app(app_env.app) as base, sync_playwright() as p:
        browser = launch(p)
        try:
            page, errors = new_page(browser)
            page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
            login(page, base, "管理员甲")
            page.click("nav a[data-page=devices]")
            expect(page.locator("h1")).to_have_text("设备令牌")
            expect(page.locator("#dev-tokens")).to_contain_text("本服务点还没有设备令牌")
            el_select(page, page.locator(".dev-site"), "hall")
            el_select(page, page.locator(".dev-counter"), "1号窗口")
            page.click("#dev-issue")
            token_box = page.locator("#dev-new-token")
            expect(token_box).to_have_value(re.compile(r"^cw_"))
            token = token_box.input_value()
            page.click("#dev-copy")
            expect(page.get_by_text("已复制")).to_be_visible()
            assert page.evaluate("navigator.clipboard.readText()") == token
            shoot(page, "devices-issued")
            page.click("#dev-close")
            row = page.locator("#dev-tokens .el-table__row")
            expect(row).to_have_count(1)
            expect(row).to_contain_text("评价器")
            expect(row).to_contain_text("1号窗口")
            expect(row).to_contain_text("尚未使用")
            # the terminal bound with it shows who is on duty, with their photo
            rater, rerrors = new_page(browser)
            rater.goto(f"{base}/#/rater")
            rater.fill("#device-token", token)
            rater.click("#device-bind")
            expect(rater.locator("#rater-staff")).to_contain_text("王芳")
            photo = rater.locator("#rater-photo")
            expect(photo).to_be_visible()
            rater.wait_for_function("document.querySelector('#rater-photo').naturalWidth === 90")
            shoot(rater, "rater-photo")
            page.reload()
            el_select(page, page.locator(".dev-site"), "hall")
            expect(page.locator("#dev-tokens .el-table__row")).not_to_contain_text("尚未使用")
            shoot(page, "devices-listed")
            # revoked: the token is refused from its next request
            page.locator(".dev-revoke").first.click()
            el_confirm(page, "吊销")
            expect(page.locator("#dev-tokens")).to_contain_text("本服务点还没有设备令牌")
            refused = httpx.get(f"{base}/api/v1/ratings/terminal", headers={"Authorization": f"Bearer {token}"})
            assert refused.status_code == 401
            assert csp_violations(page) == [] and errors == [], errors
            assert csp_violations(rater) == [] and rerrors == [], rerrors
        finally:
            browser.close()
    revoked = app_env.audit_rows("token.revoke")
    assert len(revoked) == 1 and revoked[0].target == "user:rater:hall/c1" and revoked[0].user_name == "管理员甲"
