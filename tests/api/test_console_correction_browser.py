"""Issue 20 item 5 in Debian's chromium over the real API (SQLite and PostgreSQL, the rclone S3
server): on the recording page a supervisor corrects a misrecognised line (更正); 原识别 and 更正
are shown side by side, the missing-greeting flag changes to "按更正后的文字不再检出" and the score
follows; a second correction of another line raises a forbidden phrase marked 来自更正文字, and a
second version of it shows its history (修改记录)."""
from __future__ import annotations

import time

import pytest
from browser_support import shoot, supervisor_console

from tests.support.recordings import RATE, noise, store_session
from tests.support.stack import PASSWORD, make_app_env

pytestmark = pytest.mark.slow
SUPERVISOR = "督导员李"


def _correct(page, segment: int, text: str, reason: str) -> None:  # noqa: ANN001 - playwright Page
    line = page.locator(f"#transcript li[data-segment-id='{segment}']")
    line.locator("button.correct-line").click()
    line.locator(".correct-text input").fill(text)
    line.locator(".correct-reason input").fill(reason)
    line.locator("button.save-correction").click()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)   # PostgreSQL: API tests + 3 browser tests
def test_a_supervisor_corrects_a_line_and_sees_the_flags_change(db_url, object_store):
    from playwright.sync_api import expect

    env = make_app_env(db_url, object_store, counters={"hall": ("c1",)})
    env.make_user("supervisor", ["hall"], name=SUPERVISOR, password=PASSWORD)
    admin = env.make_user("admin", [])
    stored = store_session(env.catalog, object_store, noise(20.0, channels=2), counter="c1",
                           wall0=time.time() - 3600, end=True)
    iid = env.add_interaction(session=stored.id, counter="c1", staff="张三", start_sample=0, end_sample=20 * RATE,
                              segments=[(1.0, 3.0, "staff", "嗯，请问办什么业务？"), (3.0, 6.0, "customer", "我想办社保卡"),
                                        (6.0, 9.0, "staff", "好的谢谢，材料都齐了"), (10.0, 12.0, "staff", "再见，您慢走")],
                              flags=[dict(type="missing_courtesy", rule="C-GREETING", start_s=0.0, end_s=12.0,
                                          confidence=0.95)])

    with supervisor_console(env.app, admin, SUPERVISOR) as (base, api, page):
        segments = api.get(f"/api/v1/interactions/{iid}").json()["segments"]
        (greeting_flag,) = api.get(f"/api/v1/interactions/{iid}").json()["flags"]
        page.goto(f"{base}/#/interaction/{iid}")
        flags = page.locator("#inter-flags")
        expect(flags.locator(f"li[data-flag='{greeting_flag['id']}']")).to_contain_text("问候语")
        expect(page.locator("[data-test=score-value]")).to_have_text("90 分")

        _correct(page, segments[0]["id"], "您好，请问办什么业务？", "复听是“您好”")
        pair = page.locator(f"#transcript .correction[data-segment='{segments[0]['id']}']")
        expect(pair.locator(".was")).to_contain_text("嗯，请问办什么业务？")
        expect(pair.locator(".now")).to_contain_text("您好，请问办什么业务？")
        expect(pair).to_contain_text(f"第 1 版 · {SUPERVISOR}")
        expect(pair).to_contain_text("理由：复听是“您好”")
        expect(flags.locator(f"li[data-flag='{greeting_flag['id']}'] .superseded")).to_have_text(
            "按更正后的文字不再检出，不计分")
        expect(page.locator("[data-test=score-value]")).to_have_text("100 分")
        # the recognised line stays as it was
        expect(page.locator(f"#transcript li[data-segment-id='{segments[0]['id']}'] .tx")).to_have_text(
            "嗯，请问办什么业务？")
        shoot(page, "correction")

        _correct(page, segments[2]["id"], "好的谢谢，我们快下班了", "漏识别后半句")
        raised = flags.locator("li .from-correction")
        expect(raised).to_have_count(1)
        expect(raised.locator("xpath=ancestor::li[1]")).to_contain_text("以下班时间为由拒绝办理")
        _correct(page, segments[2]["id"], "好的谢谢，材料都齐了，请收好", "再次复听")
        line = page.locator(f"#transcript .correction[data-segment='{segments[2]['id']}']")
        expect(line).to_contain_text("第 2 版")
        line.locator("button.history-toggle").click()
        expect(line.locator(".correction-history")).to_contain_text("第 1 版：好的谢谢，我们快下班了")
        expect(flags.locator("li .from-correction").locator("xpath=ancestor::li[1]").locator(".superseded")).to_have_text(
            "按更正后的文字不再检出，不计分")

        # the recordings browser finds the corrected line by its sound too (青收好 sounds like 请收好)
        page.goto(f"{base}/#/recordings?q=青收好")
        expect(page.locator("#rec-status")).to_contain_text("共 1 条录音")
        row = page.locator("#rec-rows tbody tr").first
        expect(row.locator("a.rec-link")).to_have_attribute("data-interaction", str(iid))
        expect(row.locator(".el-tag", has_text="更正后读音相近")).to_be_visible()
        expect(row.locator(".snippet mark").first).to_have_text("请收好")

        stored_rows = api.get(f"/api/v1/interactions/{iid}/corrections").json()
        assert [(c["version"], c["current"]) for c in stored_rows] == [(1, True), (2, True), (1, False)]
        rows = api.get("/api/v1/audit", params={"action": "transcript.correct"}).json()
        assert [a["action"] for a in rows] == ["transcript.correct"] * 3
