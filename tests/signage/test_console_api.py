"""What the console's 屏幕节目 pages need from the signage API: display names of screens and
counters (in the manifest, so the ticker says 3号窗口), a preview PNG drawn by the player's own
renderer with the ticker, schedule edits validated like new ones, emergency notices with expiry
and history, and a proof-of-play report with totals and CSV. Real SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
import time
import uuid

from PIL import Image

from signage import slides
from signage.schedule import ScreenRef, resolve, schedule_from_dict


def _screen(c, name: str = "lobby") -> str:  # noqa: ANN001
    r = c.post("/api/v1/signage/screens", json={"site": "hall", "name": name, "display_name": "一楼大厅屏"})
    assert r.status_code == 201 and r.json()["display_name"] == "一楼大厅屏", r.text
    return r.json()["token"]


def test_display_names_reach_the_ticker_and_the_preview_png(app_env, media) -> None:  # noqa: ANN001
    env = app_env
    env.catalog.add_counter("hall", "c3", display_name="3号窗口")
    admin = env.client(env.make_user("admin", []))
    assert admin.patch("/api/v1/sites/hall", json={"display_name": "市民服务中心一楼"}).status_code == 200
    sup = env.client(env.make_user("supervisor"))
    token = _screen(sup)
    agent = env.client(env.make_user("events", ["hall"]))  # the queue and rating system (issue 18)
    assert agent.post("/api/v1/events", json={"site": "hall", "counter": "c3", "kind": "queue_call",
                                              "ticket": "A439"}).status_code == 201
    manifest = env.client(token).get("/api/v1/signage/screens/lobby/manifest").json()
    assert manifest["hall"] == "市民服务中心一楼" and manifest["display_name"] == "一楼大厅屏"
    row = next(r for r in manifest["now_serving"] if r["counter"] == "c3")
    assert row["display_name"] == "3号窗口"
    shown = [slides.ServingRow(r["counter"], r["ticket"], r["paused"], r["called_s"], r["display_name"])
             for r in manifest["now_serving"]]
    assert slides.serving_text(shown) == "请 A439 号到 3号窗口"

    r = sup.get("/api/v1/signage/screens/lobby/preview.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    img = Image.open(io.BytesIO(r.content)).convert("RGB")
    assert img.size == (1280, 720)
    assert img.getpixel((2, 700)) == slides.TICKER_BG             # the ticker strip, as on the screen
    assert img.getpixel((2, 300)) == slides.BOARD_BG              # nothing scheduled: the board
    # the same renderer as the player: the ticker strip matches the player's own drawing
    strip = slides.ticker(shown, width_px=1280, height_px=64)
    assert img.crop((0, 656, 1280, 720)).tobytes() == strip.tobytes()

    # an image scheduled now fills the video area as the player shows it
    up = sup.post("/api/v1/signage/content", params={"site": "hall", "name": "guide.png"},
                  content=media["blue_png"].read_bytes()).json()
    pl = sup.post("/api/v1/signage/playlists", json={"site": "hall", "name": "p", "items": [
        {"content_id": up["id"], "duration_s": 30}]}).json()
    assert sup.post("/api/v1/signage/schedules", json={"site": "hall", "playlist_id": pl["id"],
                                                       "screens": ["lobby"]}).status_code == 201
    img = Image.open(io.BytesIO(sup.get("/api/v1/signage/screens/lobby/preview.png").content)).convert("RGB")
    assert img.getpixel((640, 328)) == (0, 0, 230)
    assert sup.patch("/api/v1/signage/screens/lobby", json={"display_name": "东厅屏"}).json()["label"] == "东厅屏"
    assert sup.get("/api/v1/signage/screens/nope/preview.png").status_code == 404
    assert env.client(env.make_user("viewer")).get("/api/v1/signage/screens/lobby/preview.png").status_code == 403


def test_schedule_edit_is_validated_like_a_new_one(app_env) -> None:  # noqa: ANN001
    sup = app_env.client(app_env.make_user("supervisor"))
    _screen(sup)
    text = sup.post("/api/v1/signage/content/text", json={"site": "hall", "name": "t", "title": "通知", "body": "x"}).json()
    pl = sup.post("/api/v1/signage/playlists", json={"site": "hall", "name": "p", "items": [
        {"content_id": text["id"], "duration_s": 10}]}).json()
    base = {"site": "hall", "playlist_id": pl["id"], "screens": ["lobby"], "weekdays": [0, 1, 2]}
    a = sup.post("/api/v1/signage/schedules", json={**base, "start_time": "08:00", "end_time": "10:00"}).json()
    b = sup.post("/api/v1/signage/schedules", json={**base, "start_time": "12:00", "end_time": "14:00"}).json()
    moved = sup.put(f"/api/v1/signage/schedules/{b['id']}", json={**base, "start_time": "10:00", "end_time": "11:30"})
    assert moved.status_code == 200 and moved.json()["start_time"] == "10:00:00" and moved.json()["id"] == b["id"]
    clash = sup.put(f"/api/v1/signage/schedules/{b['id']}", json={**base, "start_time": "09:00", "end_time": "11:00"})
    assert clash.status_code == 422
    detail = clash.json()["detail"]
    assert detail["code"] == "conflict" and sorted(detail["schedule_ids"]) == sorted([a["id"], b["id"]])
    assert detail["message"].startswith("排期时间冲突") and "星期一 09:00–10:00" in detail["message"]
    assert "lobby" in detail["message"]
    kept = {s["id"]: s for s in sup.get("/api/v1/signage/schedules", params={"site": "hall"}).json()}
    assert kept[b["id"]]["start_time"] == "10:00:00"                 # the refused edit changed nothing
    assert sup.put("/api/v1/signage/schedules/99999", json=base).status_code == 404
    other = app_env.client(app_env.make_user("supervisor", ["annex"]))
    assert other.put(f"/api/v1/signage/schedules/{a['id']}", json={**base, "site": "annex"}).status_code == 404


def test_notices_expire_keep_history_and_plays_report(app_env) -> None:  # noqa: ANN001
    env = app_env
    sup_token = env.make_user("supervisor")
    sup = env.client(sup_token)
    token = _screen(sup)
    screen = env.client(token)
    soon = time.time() + 2.0
    r = sup.post("/api/v1/signage/interrupts", json={"site": "hall", "title": "临时停水", "body": "今日下午停水",
                                                     "screens": ["lobby"], "expires_s": soon})
    assert r.status_code == 201, r.text
    notice = r.json()
    assert notice["state"] == "active" and notice["created_by"] == env.names[sup_token]
    manifest = screen.get("/api/v1/signage/screens/lobby/manifest").json()
    [wire] = manifest["schedule"]["interrupts"]
    assert wire["expires_s"] == soon
    sched = schedule_from_dict(manifest["schedule"])
    import datetime as dt
    now = dt.datetime.now()
    assert resolve(sched, ScreenRef("lobby"), now, at_s=time.time()).kind == "interrupt"
    assert resolve(sched, ScreenRef("lobby"), now, at_s=soon + 1).kind == "default"   # the player stops it itself
    assert sup.post("/api/v1/signage/interrupts", json={"site": "hall", "title": "x", "expires_s": time.time() - 5}) \
        .json()["detail"]["code"] == "bad_expiry"
    assert sup.post("/api/v1/signage/interrupts", json={"site": "hall", "title": "x", "screens": ["ghost"]}) \
        .json()["detail"]["code"] == "screen_not_found"
    second = sup.post("/api/v1/signage/interrupts", json={"site": "hall", "title": "火警演练"}).json()
    time.sleep(max(0.0, soon - time.time()) + 0.2)
    assert [i["id"] for i in sup.get("/api/v1/signage/interrupts", params={"site": "hall"}).json()] == [second["id"]]
    assert sup.get("/api/v1/signage/screens/lobby/preview").json()["interrupt"]["id"] == second["id"]
    cleared = sup.post(f"/api/v1/signage/interrupts/{second['id']}/clear").json()
    assert cleared["state"] == "cleared" and cleared["cleared_by"] == env.names[sup_token]
    history = sup.get("/api/v1/signage/interrupts", params={"site": "hall", "open": "false"}).json()
    assert [(i["id"], i["state"]) for i in history] == [(second["id"], "cleared"), (notice["id"], "expired")]
    assert screen.get("/api/v1/signage/screens/lobby/manifest").json()["schedule"]["interrupts"] == []
    assert [r.action for r in env.audit_rows() if r.action.startswith("interrupt.")] == \
        ["interrupt.create", "interrupt.create", "interrupt.clear"]

    # proof of play per content item, with totals and CSV
    text = sup.post("/api/v1/signage/content/text", json={"site": "hall", "name": "guide", "title": "指南", "body": "x"}).json()
    t0 = time.time() - 600
    plays = [{"uid": uuid.uuid4().hex, "kind": "playlist", "status": "played", "content_id": text["id"],
              "started_s": t0 + 20 * k, "ended_s": t0 + 20 * k + 15} for k in range(3)]
    plays += [{"uid": uuid.uuid4().hex, "kind": "playlist", "status": "skipped", "content_id": text["id"],
               "started_s": t0 + 100, "ended_s": t0 + 100, "reason": "missing"},
              {"uid": uuid.uuid4().hex, "kind": "interrupt", "status": "played", "interrupt_id": second["id"],
               "started_s": t0 + 200, "ended_s": t0 + 230},
              {"uid": uuid.uuid4().hex, "kind": "default", "status": "played", "started_s": t0 - 7200,
               "ended_s": t0 - 7100}]
    assert screen.post("/api/v1/signage/screens/lobby/plays", json=plays).json()["added"] == 6
    rep = sup.get("/api/v1/signage/plays/report", params={"site": "hall", "since_s": t0 - 1, "until_s": t0 + 3600}).json()
    by = {i["name"]: i for i in rep["items"]}
    assert set(by) == {"guide", "火警演练"}                         # the board row is outside the period
    assert (by["guide"]["plays"], by["guide"]["skipped"], by["guide"]["seconds"], by["guide"]["screens"]) == \
        (3, 1, 45.0, ["lobby"])
    assert (rep["total"]["plays"], rep["total"]["skipped"], rep["total"]["seconds"]) == (4, 1, 75.0)
    r = sup.get("/api/v1/signage/plays/report", params={"site": "hall", "since_s": t0 - 1, "until_s": t0 + 3600,
                                                         "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert list(rows[0])[:4] == ["素材", "类型", "播放次数", "跳过次数"]
    assert [(x["素材"], x["类型"], x["播放次数"], x["播放时长（时:分:秒）"]) for x in rows] == \
        [("guide", "文字公告", "3", "0:00:45"), ("火警演练", "紧急通知", "1", "0:00:30"), ("合计", "", "4", "0:01:15")]
    assert sup.get("/api/v1/signage/plays/report", params={"site": "hall", "since_s": 10, "until_s": 5}) \
        .json()["detail"]["code"] == "bad_time_range"
