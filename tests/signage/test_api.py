"""The signage API: screens and tokens, content upload rules, schedules with reasons,
interrupts, manifest, preview, reports; who may do what."""
from __future__ import annotations

import hashlib
import time
import uuid

import pytest
from sqlalchemy import update

from storage.tables import SignageInterrupt


def _setup(env, media):  # noqa: ANN001, ANN202
    sup = env.make_user("supervisor")
    c = env.client(sup)
    r = c.post("/api/v1/signage/screens", json={"site": "hall", "name": "lobby", "groups": ["hall-a"]})
    assert r.status_code == 201, r.text
    screen_token = r.json()["token"]
    data = media["red"].read_bytes()
    r = c.post("/api/v1/signage/content", params={"site": "hall", "name": "red.mp4"}, content=data)
    assert r.status_code == 201, r.text
    video = r.json()
    assert video["kind"] == "video" and video["sha256"] == hashlib.sha256(data).hexdigest()
    assert env.store.stat(f"signage/content/{video['sha256']}") is not None
    r = c.post("/api/v1/signage/content/text", json={"site": "hall", "name": "guide", "title": "办事指南",
                                                     "body": "请携带身份证原件。"})
    text = r.json()
    r = c.post("/api/v1/signage/playlists", json={"site": "hall", "name": "morning",
                                                  "items": [{"content_id": video["id"], "duration_s": 10},
                                                            {"content_id": text["id"], "duration_s": 20}]})
    assert r.status_code == 201, r.text
    return c, screen_token, video, text, r.json()


def test_content_schedule_manifest_preview(app_env, media) -> None:  # noqa: ANN001
    env = app_env
    c, screen_token, video, text, playlist = _setup(env, media)
    r = c.post("/api/v1/signage/schedules", json={"site": "hall", "playlist_id": playlist["id"], "screens": ["lobby"],
                                                  "weekdays": [0, 1, 2, 3, 4], "start_time": "08:00",
                                                  "end_time": "12:00"})
    assert r.status_code == 201, r.text
    first = r.json()
    # same priority, same screen through its group, overlapping hours: both named
    r = c.post("/api/v1/signage/schedules", json={"site": "hall", "playlist_id": playlist["id"], "groups": ["hall-a"],
                                                  "start_time": "11:00", "end_time": "13:00"})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail["code"] == "conflict" and str(first["id"]) in detail["reason"] and "lobby" in detail["reason"]
    assert sorted(detail["schedule_ids"]) == sorted([0, first["id"]])
    for bad, code in [({"start_time": "12:00", "end_time": "12:00"}, "bad_range"),
                      ({"playlist_id": 999}, "unknown_playlist")]:
        body = {"site": "hall", "playlist_id": playlist["id"], "screens": ["lobby"], "priority": 3, **bad}
        r = c.post("/api/v1/signage/schedules", json=body)
        assert r.status_code == 422 and r.json()["detail"]["code"] == code, r.text
    r = c.post("/api/v1/signage/playlists", json={"site": "hall", "name": "empty", "items": []})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "empty_playlist"

    # manifest: the screen's own token
    s = env.client(screen_token)
    m = s.get("/api/v1/signage/screens/lobby/manifest")
    assert m.status_code == 200, m.text
    m = m.json()
    assert {x["id"] for x in m["schedule"]["contents"]} == {video["id"], text["id"]}
    vid = next(x for x in m["schedule"]["contents"] if x["id"] == video["id"])
    assert vid["sha256"] == video["sha256"]
    assert [x["counter"] for x in m["now_serving"]] == ["c1", "c2", "c3"]
    got = s.get(vid["url"])
    assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == video["sha256"]

    # preview: Monday 2026-11-23 08:00:15 local -> the text item; Saturday -> board
    p = c.get("/api/v1/signage/screens/lobby/preview", params={"at": "2026-11-23T08:00:15"}).json()
    assert p["kind"] == "playlist" and p["content"]["id"] == text["id"] and p["item_index"] == 1
    assert c.get("/api/v1/signage/screens/lobby/preview",
                 params={"at": "2026-11-28T09:00:00"}).json()["kind"] == "default"

    # interrupt pre-empts until cleared
    r = c.post("/api/v1/signage/interrupts", json={"site": "hall", "title": "紧急通知", "body": "请有序离场"})
    assert r.status_code == 201
    assert s.get("/api/v1/signage/screens/lobby/manifest").json()["schedule"]["interrupts"][0]["title"] == "紧急通知"
    assert c.get("/api/v1/signage/screens/lobby/preview").json()["kind"] == "interrupt"
    assert [i["title"] for i in c.get("/api/v1/signage/interrupts", params={"site": "hall"}).json()] == ["紧急通知"]
    c.post(f"/api/v1/signage/interrupts/{r.json()['id']}/clear")
    assert s.get("/api/v1/signage/screens/lobby/manifest").json()["schedule"]["interrupts"] == []
    assert c.get("/api/v1/signage/interrupts", params={"site": "hall"}).json() == []
    closed = c.get("/api/v1/signage/interrupts", params={"site": "hall", "open": "false"}).json()
    assert [(i["title"], i["cleared_s"] is not None) for i in closed] == [("紧急通知", True)]
    assert s.get("/api/v1/signage/interrupts", params={"site": "hall"}).status_code == 403

    # reports
    rows = [{"uid": "a" * 32, "kind": "playlist", "status": "played", "content_id": video["id"], "started_s": 1.0,
             "ended_s": 2.0}]
    assert s.post("/api/v1/signage/screens/lobby/plays", json=rows).json() == {"received": 1, "added": 1}
    assert s.post("/api/v1/signage/screens/lobby/plays", json=rows).json() == {"received": 1, "added": 0}
    assert s.post("/api/v1/signage/screens/lobby/heartbeat",
                  json={"playing": "x", "offline_periods": [[1.0, 5.0]]}).status_code == 204
    assert [p["uid"] for p in c.get("/api/v1/signage/screens/lobby/plays").json()] == ["a" * 32]
    st = c.get("/api/v1/signage/screens").json()[0]
    assert st["status"]["offline_periods"] == [[1.0, 5.0]] and st["last_heartbeat_s"]


def test_permissions(app_env, media) -> None:  # noqa: ANN001
    env = app_env
    c, screen_token, video, *_ = _setup(env, media)
    other = c.post("/api/v1/signage/screens", json={"site": "hall", "name": "door"}).json()["token"]
    s = env.client(screen_token)
    assert env.client(other).get("/api/v1/signage/screens/lobby/manifest").status_code == 403
    assert s.post("/api/v1/signage/schedules", json={"site": "hall", "playlist_id": 1}).status_code == 403
    assert s.get("/api/v1/signage/screens/lobby/preview").status_code == 403
    assert env.client(env.make_user("viewer")).post("/api/v1/signage/content/text", json={
        "site": "hall", "name": "x", "title": "x"}).status_code == 403
    annex = env.client(env.make_user("supervisor", ["annex"]))
    assert annex.get("/api/v1/signage/screens/lobby/manifest").status_code == 404
    assert annex.get(f"/api/v1/signage/content/{video['id']}").status_code == 404
    assert env.client().get("/api/v1/signage/screens/lobby/manifest").status_code == 401
    annex_screen = env.client(annex.post("/api/v1/signage/screens",
                                         json={"site": "annex", "name": "annex-door"}).json()["token"])
    assert annex_screen.get(f"/api/v1/signage/content/{video['id']}").status_code == 404


def test_upload_rules(app_env, media) -> None:  # noqa: ANN001
    c = app_env.client(app_env.make_user("supervisor"))
    png = media["blue_png"].read_bytes()
    ok = c.post("/api/v1/signage/content", params={"site": "hall", "name": "蓝色.png"}, content=png)
    assert ok.status_code == 201 and ok.json()["kind"] == "image"
    huge = b"\x89PNG\r\n\x1a\n" + b"\0" * (3 * 1024 * 1024)
    assert c.post("/api/v1/signage/content", params={"site": "hall", "name": "big.png"},
                  content=huge).status_code == 413

    def chunks():  # noqa: ANN202 - no Content-Length: the stream itself is counted
        for _ in range(4):
            yield b"\0" * (1024 * 1024)
    assert c.post("/api/v1/signage/content", params={"site": "hall", "name": "big.mp4"},
                  content=chunks()).status_code == 413
    for name in ("../../etc/passwd", "a/b.png", "..png", ".hidden", "a\\b.png", "x\ny.png"):
        r = c.post("/api/v1/signage/content", params={"site": "hall", "name": name}, content=png)
        assert r.status_code == 422, name
    assert c.post("/api/v1/signage/content", params={"site": "hall", "name": "x.exe"},
                  content=b"MZ\x90\0" * 100).status_code == 415


def test_overnight_schedule_through_the_api(app_env, media) -> None:  # noqa: ANN001
    c, _, video, text, playlist = _setup(app_env, media)
    night = c.post("/api/v1/signage/schedules", json={"site": "hall", "playlist_id": playlist["id"],
                                                      "screens": ["lobby"], "weekdays": [4],
                                                      "start_time": "22:00", "end_time": "06:00"})
    assert night.status_code == 201, night.text
    assert night.json()["end_time"] == "06:00:00"
    # Saturday 01:00 belongs to Friday's window
    p = c.get("/api/v1/signage/screens/lobby/preview", params={"at": "2026-11-28T01:00:05"}).json()
    assert p["kind"] == "playlist" and p["schedule_id"] == night.json()["id"]
    r = c.post("/api/v1/signage/schedules", json={"site": "hall", "playlist_id": playlist["id"], "screens": ["lobby"],
                                                  "weekdays": [5], "start_time": "05:00", "end_time": "07:00"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "conflict", r.text
    assert "Saturday from 05:00 to 06:00" in r.json()["detail"]["reason"]


def test_preview_honours_interrupts_open_at_that_time(app_env, media) -> None:  # noqa: ANN001
    env = app_env
    c, _, video, text, playlist = _setup(env, media)
    assert c.post("/api/v1/signage/schedules", json={"site": "hall", "playlist_id": playlist["id"],
                                                     "screens": ["lobby"]}).status_code == 201
    # a notice that was open from 2026-11-23 10:00 to 10:30 (Shanghai) and one open since 11:00, never cleared
    t0 = 1795399200.0     # 2026-11-23T10:00:00+08:00
    past = c.post("/api/v1/signage/interrupts", json={"site": "hall", "title": "停电通知", "body": "x"}).json()
    still = c.post("/api/v1/signage/interrupts", json={"site": "hall", "title": "消防演练", "body": "y",
                                                       "screens": ["lobby"]}).json()
    c.post(f"/api/v1/signage/interrupts/{past['id']}/clear")
    with env.engine.begin() as conn:
        conn.execute(update(SignageInterrupt).where(SignageInterrupt.id == past["id"])
                     .values(started_s=t0, cleared_s=t0 + 1800))
        conn.execute(update(SignageInterrupt).where(SignageInterrupt.id == still["id"])
                     .values(started_s=t0 + 3600, cleared_s=None))

    def at(when: str) -> dict:
        r = c.get("/api/v1/signage/screens/lobby/preview", params={"at": when})
        assert r.status_code == 200, r.text
        return r.json()
    assert at("2026-11-23T09:59:59")["kind"] == "playlist"                     # before: the scheduled item
    p = at("2026-11-23T10:15:00")
    assert p["kind"] == "interrupt" and p["interrupt"]["title"] == "停电通知" and p["content"] is None
    assert at("2026-11-23T10:30:00")["kind"] == "playlist"                     # cleared by then
    assert at("2026-11-23T02:15:00Z")["interrupt"]["id"] == past["id"]         # the same moment in UTC
    assert at("2026-11-23T11:00:00")["interrupt"]["id"] == still["id"]         # open from its start on
    assert at("2026-12-25T11:00:00")["interrupt"]["id"] == still["id"]         # not cleared: still pre-empts
    assert at("2026-11-23T10:59:00")["kind"] == "playlist"
    # the scheduled item is what the player would show: the text item 15 s into the 30 s loop
    assert at("2026-11-23T00:00:15")["content"]["id"] == text["id"]
    # nothing scheduled for another screen: the default board
    c.post("/api/v1/signage/screens", json={"site": "hall", "name": "door"})
    assert c.get("/api/v1/signage/screens/door/preview",
                 params={"at": "2026-11-23T09:00:00"}).json()["kind"] == "default"
    assert c.get("/api/v1/signage/screens/door/preview",
                 params={"at": "2026-11-23T10:10:00"}).json()["kind"] == "interrupt"   # site-wide notice


def test_reregistering_revokes_the_old_token(app_env, media) -> None:  # noqa: ANN001
    env = app_env
    c = env.client(env.make_user("supervisor"))
    first = c.post("/api/v1/signage/screens", json={"site": "hall", "name": "lobby"}).json()["token"]
    assert env.client(first).get("/api/v1/signage/screens/lobby/manifest").status_code == 200
    second = c.post("/api/v1/signage/screens", json={"site": "hall", "name": "lobby"}).json()["token"]
    assert env.client(first).get("/api/v1/signage/screens/lobby/manifest").status_code == 401
    assert env.client(second).get("/api/v1/signage/screens/lobby/manifest").status_code == 200
    # the CLI's embedded-mode registration (counterwatch signage --data DIR) goes the same way
    from services.signage import register_screen

    _, third = register_screen(env.engine, site="hall", name="lobby")
    assert env.client(second).post("/api/v1/signage/screens/lobby/heartbeat", json={}).status_code == 401
    assert env.client(third).post("/api/v1/signage/screens/lobby/heartbeat", json={}).status_code == 204
    # other screens' tokens are untouched
    door = c.post("/api/v1/signage/screens", json={"site": "hall", "name": "door"}).json()["token"]
    c.post("/api/v1/signage/screens", json={"site": "hall", "name": "lobby"})
    assert env.client(door).get("/api/v1/signage/screens/door/manifest").status_code == 200


def test_update_and_delete(app_env, media) -> None:  # noqa: ANN001
    env = app_env
    c, screen_token, video, text, playlist = _setup(env, media)
    key = f"signage/content/{video['sha256']}"
    twin = c.post("/api/v1/signage/content", params={"site": "hall", "name": "red-again.mp4"},
                  content=media["red"].read_bytes()).json()
    assert twin["sha256"] == video["sha256"] and twin["id"] != video["id"]

    # content used by a playlist: 409 naming it
    r = c.delete(f"/api/v1/signage/content/{video['id']}")
    assert r.status_code == 409, r.text
    d = r.json()["detail"]
    assert d["code"] == "in_use" and d["playlist_ids"] == [playlist["id"]] and "'morning'" in d["reason"]

    # PUT replaces name and items, validated like a create
    bad = c.put(f"/api/v1/signage/playlists/{playlist['id']}", json={"site": "hall", "name": "m", "items": []})
    assert bad.status_code == 422 and bad.json()["detail"]["code"] == "empty_playlist"
    bad = c.put(f"/api/v1/signage/playlists/{playlist['id']}",
                json={"site": "hall", "name": "m", "items": [{"content_id": 99999, "duration_s": 5}]})
    assert bad.status_code == 422 and bad.json()["detail"]["code"] == "unknown_content"
    moved = env.client(env.make_user("admin")).put(
        f"/api/v1/signage/playlists/{playlist['id']}",
        json={"site": "annex", "name": "m", "items": [{"content_id": text["id"], "duration_s": 5}]})
    assert moved.status_code == 422 and "cannot move" in moved.json()["detail"]["reason"], moved.text
    r = c.put(f"/api/v1/signage/playlists/{playlist['id']}",
              json={"site": "hall", "name": "text only", "items": [{"content_id": text["id"], "duration_s": 7}]})
    assert r.status_code == 200, r.text
    got = next(p for p in c.get("/api/v1/signage/playlists", params={"site": "hall"}).json()
               if p["id"] == playlist["id"])
    assert got["name"] == "text only" and got["items"] == [{"content_id": text["id"], "duration_s": 7.0}]

    # now the video is unused: deleting it keeps the file (its twin has the same sha256) ...
    assert c.delete(f"/api/v1/signage/content/{video['id']}").status_code == 204
    assert env.store.stat(key) is not None
    assert c.get(f"/api/v1/signage/content/{video['id']}").status_code == 404
    # ... and deleting the twin removes it from the store
    assert c.delete(f"/api/v1/signage/content/{twin['id']}").status_code == 204
    assert env.store.stat(key) is None

    # PATCH a text announcement: the manifest carries the new text (screens render it again)
    r = c.patch(f"/api/v1/signage/content/{text['id']}", json={"title": "收费标准", "body": "工本费 10 元。"})
    assert r.status_code == 200 and r.json()["title"] == "收费标准", r.text
    sched = c.post("/api/v1/signage/schedules", json={"site": "hall", "playlist_id": playlist["id"],
                                                      "screens": ["lobby"]}).json()
    m = env.client(screen_token).get("/api/v1/signage/screens/lobby/manifest").json()
    assert [(x["title"], x["body"]) for x in m["schedule"]["contents"]] == [("收费标准", "工本费 10 元。")]
    assert c.patch(f"/api/v1/signage/content/{text['id']}", json={"name": "../x"}).status_code == 422
    png = c.post("/api/v1/signage/content", params={"site": "hall", "name": "b.png"},
                 content=media["blue_png"].read_bytes()).json()
    r = c.patch(f"/api/v1/signage/content/{png['id']}", json={"title": "x"})
    assert r.status_code == 422 and "only text" in r.json()["detail"]["reason"]

    # a playlist played by a schedule: 409 naming it; after deleting the schedule it goes
    r = c.delete(f"/api/v1/signage/playlists/{playlist['id']}")
    assert r.status_code == 409 and r.json()["detail"]["schedule_ids"] == [sched["id"]], r.text
    assert str(sched["id"]) in r.json()["detail"]["reason"]
    assert c.delete(f"/api/v1/signage/schedules/{sched['id']}").status_code == 204
    assert c.delete(f"/api/v1/signage/playlists/{playlist['id']}").status_code == 204
    assert c.delete(f"/api/v1/signage/content/{text['id']}").status_code == 204
    assert c.get("/api/v1/signage/playlists", params={"site": "hall"}).json() == []

    # supervisors only, their sites only
    other = c.post("/api/v1/signage/content/text", json={"site": "hall", "name": "n", "title": "t"}).json()
    annex = env.client(env.make_user("supervisor", ["annex"]))
    assert annex.delete(f"/api/v1/signage/content/{other['id']}").status_code == 404
    assert annex.patch(f"/api/v1/signage/content/{other['id']}", json={"title": "x"}).status_code == 404
    assert env.client(screen_token).delete(f"/api/v1/signage/content/{other['id']}").status_code == 403
    assert env.client(env.make_user("viewer")).patch(f"/api/v1/signage/content/{other['id']}",
                                                     json={"title": "x"}).status_code == 403
    pl = c.post("/api/v1/signage/playlists", json={"site": "hall", "name": "p", "items": [
        {"content_id": other["id"], "duration_s": 5}]}).json()
    assert annex.put(f"/api/v1/signage/playlists/{pl['id']}", json={"site": "annex", "name": "p", "items": [
        {"content_id": other["id"], "duration_s": 5}]}).status_code == 404
    assert annex.delete(f"/api/v1/signage/playlists/{pl['id']}").status_code == 404
    assert c.delete("/api/v1/signage/playlists/424242").status_code == 404


def test_big_upload_streams_in_and_out(app_env, media, monkeypatch) -> None:  # noqa: ANN001
    """A 12 MiB video goes through a temporary file to the store (in 5 MiB parts here) and comes
    back streamed, byte for byte; one byte over the limit is refused with the limit named."""
    import services.signage_content

    monkeypatch.setattr(services.signage_content, "PART_BYTES", 5 * 1024 * 1024)   # multipart: 3 parts
    env = app_env
    env.app.state.signage_max_upload_bytes = 12 * 1024 * 1024
    c = env.client(env.make_user("supervisor"))
    head = media["red"].read_bytes()
    big = head + bytes(range(256)) * ((12 * 1024 * 1024 - len(head)) // 256)
    big += b"\0" * (12 * 1024 * 1024 - len(big))

    def pieces(data: bytes):  # noqa: ANN202 - chunked, no Content-Length
        for i in range(0, len(data), 1 << 20):
            yield data[i:i + (1 << 20)]
    t0 = time.monotonic()
    r = c.post("/api/v1/signage/content", params={"site": "hall", "name": "big.mp4"}, content=pieces(big))
    assert r.status_code == 201, r.text
    up_s = time.monotonic() - t0
    got = r.json()
    assert got["size_bytes"] == len(big) and got["sha256"] == hashlib.sha256(big).hexdigest()
    assert got["kind"] == "video"
    info = env.store.stat(f"signage/content/{got['sha256']}")
    assert info is not None and info.size_bytes == len(big)
    with c.stream("GET", f"/api/v1/signage/content/{got['id']}") as resp:
        assert resp.status_code == 200 and resp.headers["content-length"] == str(len(big))
        sha, n, parts = hashlib.sha256(), 0, 0
        for piece in resp.iter_raw():
            sha.update(piece)
            n += len(piece)
            parts += 1
    assert n == len(big) and sha.hexdigest() == got["sha256"] and parts > 1
    # over the limit: refused while streaming (no Content-Length), the limit named
    r = c.post("/api/v1/signage/content", params={"site": "hall", "name": "over.mp4"},
               content=pieces(big + b"x"))
    assert r.status_code == 413 and str(12 * 1024 * 1024) in r.json()["detail"]["reason"], r.text
    r = c.post("/api/v1/signage/content", params={"site": "hall", "name": "over.mp4"}, content=big + b"x")
    assert r.status_code == 413 and "12 MiB" in r.json()["detail"]["reason"]
    print(f"12 MiB upload {up_s:.2f} s")


def test_a_screen_name_of_another_site_cannot_be_taken_over(app_env) -> None:  # noqa: ANN001
    """Screen names are unique across sites: a supervisor of the annex registering 'lobby' (the
    hall's) gets 409 and neither moves the screen nor revokes its player's token."""
    env = app_env
    hall = env.client(env.make_user("supervisor", ["hall"]))
    token = hall.post("/api/v1/signage/screens", json={"site": "hall", "name": "lobby"}).json()["token"]
    player = env.client(token)
    rows = [{"uid": "b" * 32, "kind": "default", "status": "played", "started_s": 1.0, "ended_s": 2.0}]
    assert player.post("/api/v1/signage/screens/lobby/plays", json=rows).status_code == 200

    annex = env.client(env.make_user("supervisor", ["annex"]))
    r = annex.post("/api/v1/signage/screens", json={"site": "annex", "name": "lobby"})
    assert r.status_code == 409, r.text
    detail = r.json()["detail"]
    assert detail["code"] == "name_taken" and "in use" in detail["reason"] and "hall" not in detail["reason"]
    from services.signage import SignageError, register_screen  # the CLI's embedded registration too
    with pytest.raises(SignageError) as err:
        register_screen(env.engine, site="annex", name="lobby")
    assert err.value.code == "name_taken"

    # the hall's player goes on; the annex sees nothing of it
    assert player.get("/api/v1/signage/screens/lobby/manifest").status_code == 200
    assert player.post("/api/v1/signage/screens/lobby/heartbeat", json={}).status_code == 204
    assert annex.get("/api/v1/signage/screens/lobby/plays").status_code == 404
    assert annex.get("/api/v1/signage/screens").json() == []
    assert [(s["name"], s["site"]) for s in hall.get("/api/v1/signage/screens").json()] == [("lobby", "hall")]
    assert [p["uid"] for p in hall.get("/api/v1/signage/screens/lobby/plays").json()] == ["b" * 32]
    # at its own site, registering again still works (and revokes the old token)
    again = hall.post("/api/v1/signage/screens", json={"site": "hall", "name": "lobby"})
    assert again.status_code == 201, again.text
    assert player.get("/api/v1/signage/screens/lobby/manifest").status_code == 401


def test_upload_racing_the_delete_of_its_twin_keeps_the_file(app_env, media, monkeypatch) -> None:  # noqa: ANN001
    """An upload finds the file already stored (another row has the same SHA-256) and skips the
    put; the other row is deleted, with the file, before the upload commits its row. The upload
    stores the file again from its temporary file: no row without a file."""
    env = app_env
    c = env.client(env.make_user("supervisor"))
    data = media["blue_png"].read_bytes()
    first = c.post("/api/v1/signage/content", params={"site": "hall", "name": "a.png"}, content=data).json()
    key = f"signage/content/{first['sha256']}"
    real_stat, raced = env.store.stat, []

    def stat_then_delete(k: str):  # noqa: ANN202 - the real stat; the real delete lands right after it
        info = real_stat(k)
        if k == key and not raced:
            raced.append(k)
            assert c.delete(f"/api/v1/signage/content/{first['id']}").status_code == 204
            assert real_stat(key) is None
        return info
    monkeypatch.setattr(env.store, "stat", stat_then_delete)
    r = c.post("/api/v1/signage/content", params={"site": "hall", "name": "b.png"}, content=data)
    assert r.status_code == 201 and raced, r.text
    monkeypatch.undo()
    assert env.store.stat(key) is not None
    got = c.get(f"/api/v1/signage/content/{r.json()['id']}")
    assert got.status_code == 200 and got.content == data


def test_upload_holds_no_transaction_while_the_body_streams(app_env, media, db_url) -> None:  # noqa: ANN001
    """While a slow upload's body is on its way, the database is not held: other writes go
    through at once (SQLite: no write lock), and PostgreSQL shows no "idle in transaction"."""
    import threading

    import httpx
    from signage_helpers import serve
    from sqlalchemy import create_engine, text

    env = app_env
    sup = env.make_user("supervisor")
    server, thread, port = serve(env.app, 0)
    go_on, answer = threading.Event(), {}
    data = media["blue_png"].read_bytes()

    def slow_body():  # noqa: ANN202
        yield data[:1024]
        go_on.wait(30)
        yield data[1024:]

    def upload() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {sup}"},
                          timeout=60) as h:
            answer["r"] = h.post("/api/v1/signage/content", params={"site": "hall", "name": "slow.png"},
                                 content=slow_body())
    t = threading.Thread(target=upload)
    t.start()
    try:
        time.sleep(1.5)   # the route is waiting for the rest of the body
        assert "r" not in answer
        t0 = time.monotonic()
        r = env.client(sup).post("/api/v1/signage/content/text", json={"site": "hall", "name": "n", "title": "t"})
        assert r.status_code == 201 and time.monotonic() - t0 < 5, r.text
        if db_url.startswith("postgresql"):
            probe = create_engine(db_url)
            with probe.connect() as conn:
                idle = conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                        "AND state LIKE 'idle in transaction%'"))
            probe.dispose()
            assert idle == 0
    finally:
        go_on.set()
        t.join(30)
        server.should_exit = True
        thread.join(10)
    assert answer["r"].status_code == 201, answer["r"].text


def test_schedule_for_an_unknown_screen_is_refused_and_dots_inside_a_name_are_fine(app_env, media) -> None:  # noqa: ANN001
    """Issue 24: a schedule naming a screen not registered at the site (a typo) was stored and
    played nowhere; `a..b.png` was refused as a content name although it is no path."""
    c, _, video, _, playlist = _setup(app_env, media)
    body = {"site": "hall", "playlist_id": playlist["id"], "screens": ["lobby", "lobyy"]}
    r = c.post("/api/v1/signage/schedules", json=body)
    assert r.status_code == 422 and r.json()["detail"]["code"] == "unknown_screen", r.text
    assert r.json()["detail"]["positions"] == [1] and "lobyy" not in r.text
    assert c.get("/api/v1/signage/schedules", params={"site": "hall"}).json() == []     # nothing stored
    ok = c.post("/api/v1/signage/schedules", json={**body, "screens": ["lobby"]})
    assert ok.status_code == 201, ok.text
    r = c.put(f"/api/v1/signage/schedules/{ok.json()['id']}", json={**body, "screens": ["ghost"]})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "unknown_screen", r.text
    # groups may name screens still to come
    assert c.post("/api/v1/signage/schedules", json={"site": "hall", "playlist_id": playlist["id"], "groups": ["later"],
                                                     "priority": 1}).status_code == 201
    png = media["blue_png"].read_bytes()
    r = c.post("/api/v1/signage/content", params={"site": "hall", "name": "a..b.png"}, content=png)
    assert r.status_code == 201 and r.json()["name"] == "a..b.png", r.text
    for name in ("../x", "..", "a/../b.png"):
        assert c.post("/api/v1/signage/content", params={"site": "hall", "name": name}, content=png).status_code == 422


def test_screenshot_rules(app_env, media) -> None:  # noqa: ANN001
    """The screen's own picture: only the screen sends it, only a PNG or JPEG within the limits,
    staff read it and ask for a new one (the manifest carries the request until it is answered)."""
    import io

    from PIL import Image

    from services.signage_screenshots import MAX_SCREENSHOT_BYTES

    env = app_env
    c, screen_token, *_ = _setup(env, media)
    screen = env.client(screen_token, console=False)
    url = "/api/v1/signage/screens/lobby/screenshot"
    assert c.get(url).status_code == 404 and c.get(url).json()["detail"]["code"] == "no_screenshot"
    buf = io.BytesIO()
    Image.new("RGB", (640, 360), (0, 200, 0)).save(buf, "JPEG")
    jpeg = buf.getvalue()
    params = {"taken_s": 1_800_000_000, "playing": "playlist:red.mp4", "loop_late_s": 0.1, "skipped": ["3: corrupt"]}
    assert c.post(url, params=params, content=jpeg).status_code == 403           # staff do not send pictures
    assert screen.post(url, params=params, content=b"<svg onload=alert(1)>").status_code == 422
    assert screen.post(url, params=params, content=b"\xff" * (MAX_SCREENSHOT_BYTES + 1)).status_code == 413
    huge = io.BytesIO()
    Image.new("L", (5000, 10)).save(huge, "PNG")
    assert screen.post(url, params=params, content=huge.getvalue()).status_code == 422
    asked = c.post(f"{url}/request")
    assert asked.status_code == 202
    assert screen.get("/api/v1/signage/screens/lobby/manifest").json()["screenshot_requested_s"] == asked.json()["requested_s"]
    # a heartbeat meanwhile keeps the request open
    assert screen.post("/api/v1/signage/screens/lobby/heartbeat", json={"playing": "x"}).status_code == 204
    assert screen.get("/api/v1/signage/screens/lobby/manifest").json()["screenshot_requested_s"]
    r = screen.post(url, params={**params, "taken_s": asked.json()["requested_s"] + 0.5}, content=jpeg)
    assert r.status_code == 204, r.text
    info = c.get(url).json()
    assert (info["width_px"], info["height_px"], info["content_type"]) == (640, 360, "image/jpeg")
    assert info["state"] == {"playing": "playlist:red.mp4", "loop_late_s": 0.1, "skipped": ["3: corrupt"]}
    assert info["requested_s"] is None
    assert screen.get("/api/v1/signage/screens/lobby/manifest").json()["screenshot_requested_s"] is None
    img = c.get(f"{url}.img")
    assert img.status_code == 200 and img.content == jpeg and img.headers["content-type"] == "image/jpeg"
    assert screen.get(f"{url}.img").status_code == 403                        # staff read it, not the screen


def test_interrupt_content_share_of_each_hour(app_env, media) -> None:  # noqa: ANN001
    """A schedule marked as interrupt content (25 % of the hour, stored as 900 s) plays in its
    blocks on the preview, and the ordinary schedule around them; the screen's manifest carries
    the share, so the player resolves the same blocks (one code path: signage.schedule.resolve)."""
    env = app_env
    c, screen_token, video, _text, playlist = _setup(env, media)
    r = c.post("/api/v1/signage/schedules", json={"site": "hall", "playlist_id": playlist["id"], "screens": ["lobby"]})
    assert r.status_code == 201, r.text
    ordinary = r.json()
    r = c.post("/api/v1/signage/playlists", json={"site": "hall", "name": "ad",
                                                  "items": [{"content_id": video["id"], "duration_s": 10}]})
    ad = r.json()
    for bad, field in [({"share_pct": 25, "share_s_per_hour": 900}, "share_pct"),
                       ({"share_s_per_hour": 3601}, "share_s_per_hour"), ({"share_pct": 0}, "share_pct")]:
        r = c.post("/api/v1/signage/schedules", json={"site": "hall", "playlist_id": ad["id"], "groups": ["hall-a"], **bad})
        assert r.status_code == 422, r.text
        assert field in r.text and "3601" not in r.text     # the field named, the input not echoed
    r = c.post("/api/v1/signage/schedules", json={"site": "hall", "playlist_id": ad["id"], "groups": ["hall-a"],
                                                  "share_pct": 25})
    assert r.status_code == 201, r.text          # interleaves: no conflict with the ordinary schedule
    share = r.json()
    assert share["share_s_per_hour"] == 900
    listed = {s["id"]: s for s in c.get("/api/v1/signage/schedules", params={"site": "hall"}).json()}
    assert listed[share["id"]]["share_s_per_hour"] == 900 and listed[ordinary["id"]]["share_s_per_hour"] is None
    # a 10 s playlist, 900 s an hour: 60 blocks of 15 s, one at the start of each minute
    for at, expected in [("2026-11-23T09:00:05", share["id"]), ("2026-11-23T09:00:14", share["id"]),
                         ("2026-11-23T09:00:20", ordinary["id"]), ("2026-11-23T09:37:03", share["id"]),
                         ("2026-11-23T09:37:59", ordinary["id"])]:
        r = c.get("/api/v1/signage/screens/lobby/preview", params={"at": at})
        assert r.status_code == 200 and r.json()["schedule_id"] == expected, (at, r.text)
    p = c.get("/api/v1/signage/screens/lobby/preview", params={"at": "2026-11-23T09:37:03"}).json()
    # the ad's playlist goes on where the last block left it (555 s played: 5 s into the video), cut to the block
    assert p["item_start"].startswith("2026-11-23T09:37:00") and p["item_end"].startswith("2026-11-23T09:37:05")
    m = env.client(screen_token).get("/api/v1/signage/screens/lobby/manifest").json()
    assert {e["id"]: e["share_s_per_hour"] for e in m["schedule"]["entries"]} == {ordinary["id"]: None, share["id"]: 900}
    r = c.put(f"/api/v1/signage/schedules/{share['id']}", json={"site": "hall", "playlist_id": ad["id"],
                                                                "groups": ["hall-a"], "share_s_per_hour": 120})
    assert r.status_code == 200 and r.json()["share_s_per_hour"] == 120


def test_share_of_voice_report(app_env, media) -> None:  # noqa: ANN001
    """The share-of-voice report: per interrupt-content schedule, screen and site-local hour, the
    seconds its plays took (clipped to the hour) against the share asked for and the seconds due
    (the blocks resolve() gives it, while the screen played and after the schedule was made); an
    hour well under its due is short; other plays left out."""
    import datetime as dt

    from domain.timezones import site_zone
    env = app_env
    c, screen_token, video, _text, playlist = _setup(env, media)
    screen = env.client(screen_token)
    ordinary = c.post("/api/v1/signage/schedules", json={"site": "hall", "playlist_id": playlist["id"],
                                                         "screens": ["lobby"]}).json()
    ad = c.post("/api/v1/signage/playlists", json={"site": "hall", "name": "广告",
                                                   "items": [{"content_id": video["id"], "duration_s": 10}]}).json()
    share = c.post("/api/v1/signage/schedules", json={"site": "hall", "playlist_id": ad["id"], "groups": ["hall-a"],
                                                      "share_pct": 25}).json()
    now = time.time()
    tz = c.get("/api/v1/signage/plays/share", params={"site": "hall", "since_s": now - 60, "until_s": now}).json()
    zone = site_zone(tz["timezone"])
    # hours after the schedule was made (its audit row): plays from the future, as far as the API cares
    h0 = (dt.datetime.fromtimestamp(now, zone) + dt.timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    t0 = h0.timestamp()

    def row(start: float, length: float, schedule_id: int) -> dict:
        return {"uid": uuid.uuid4().hex, "kind": "playlist", "status": "played", "content_id": video["id"],
                "playlist_id": ad["id"], "schedule_id": schedule_id, "started_s": start, "ended_s": start + length}

    # first hour: each minute's 15 s block as the player reports it (the 10 s video, then 5 s of it again)
    plays = [row(t0 + 60 * m + off, n, share["id"]) for m in range(60) for off, n in ((0, 10), (10, 5))]
    plays += [row(t0 + 3600 + 60 * m, 15, share["id"]) for m in range(30)]          # second hour: half of it
    # the ordinary schedule around the blocks: the screen was on all along (where the ad did not
    # play in the second hour, its blocks were due all the same)
    plays += [row(t0 + 60 * m + 15, 45, ordinary["id"]) for m in range(90)]
    plays += [row(t0 + 60 * m, 60, ordinary["id"]) for m in range(90, 120)]
    # three hours before the schedule was made: the screen played, the ad owed nothing
    past = (dt.datetime.fromtimestamp(now, zone) - dt.timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    plays += [row(past.timestamp() + 60 * m, 60, ordinary["id"]) for m in range(60)]
    plays.append({**row(t0 + 3600 + 1800, 15, share["id"]), "status": "skipped"})   # a skip plays nothing
    for k in range(0, len(plays), 100):
        r = screen.post("/api/v1/signage/screens/lobby/plays", json=plays[k:k + 100])
        assert r.status_code == 200, r.text
    r = c.get("/api/v1/signage/plays/share", params={"site": "hall", "since_s": t0, "until_s": t0 + 7200})
    assert r.status_code == 200, r.text
    rep = r.json()
    assert [(h["schedule_id"], h["screen"], h["hour_s"], h["asked_s"], h["due_s"], h["played_s"], h["plays"],
             h["short"]) for h in rep["hours"]] == \
        [(share["id"], "lobby", t0, 900, 900.0, 900.0, 120, False),
         (share["id"], "lobby", t0 + 3600, 900, 900.0, 450.0, 30, True)]
    assert rep["hours"][0]["hour"] == f"{h0:%Y-%m-%d %H:%M}"
    assert rep["schedules"] == [{"schedule_id": share["id"], "playlist": "广告", "screen": "lobby", "asked_s": 900,
                                 "hours": 2, "due_s": 1800.0, "played_s": 1350.0, "short_hours": 1}]
    # half an hour: due and played both cut to the period
    rep = c.get("/api/v1/signage/plays/share", params={"site": "hall", "since_s": t0 + 1800, "until_s": t0 + 3600}).json()
    assert [(h["due_s"], h["played_s"], h["plays"]) for h in rep["hours"]] == [(450.0, 450.0, 60)]
    rep = c.get("/api/v1/signage/plays/share", params={"site": "hall", "since_s": past.timestamp(),
                                                        "until_s": past.timestamp() + 3600}).json()
    assert rep["hours"] == [] and rep["schedules"] == []
    for params in ({"since_s": t0 + 10, "until_s": t0}, {"since_s": t0, "until_s": t0 + 32 * 86400}):
        r = c.get("/api/v1/signage/plays/share", params={"site": "hall", **params})
        assert r.status_code == 422 and r.json()["detail"]["code"] == "bad_time_range", r.text
    other = env.client(env.make_user("supervisor", ["annex"]))
    assert other.get("/api/v1/signage/plays/share", params={"site": "hall", "since_s": t0,
                                                            "until_s": t0 + 7200}).status_code == 404


def test_display_groups_are_editable(app_env, media) -> None:  # noqa: ANN001
    """PATCH a screen's groups: audited, site-scoped, validated against the schedules (a change
    that would bring two schedules of one priority onto the screen at once is refused), and
    schedules aimed at a group reach the screen, or leave it, from its next manifest."""
    env = app_env
    c, screen_token, _video, _text, playlist = _setup(env, media)     # lobby in group hall-a
    screen = env.client(screen_token)
    to_b = c.post("/api/v1/signage/schedules", json={"site": "hall", "playlist_id": playlist["id"],
                                                     "groups": ["hall-b"], "start_time": "08:00", "end_time": "12:00"})
    assert to_b.status_code == 201, to_b.text
    to_a = c.post("/api/v1/signage/schedules", json={"site": "hall", "playlist_id": playlist["id"],
                                                     "groups": ["hall-a"], "start_time": "11:00", "end_time": "13:00"})
    assert to_a.status_code == 201, to_a.text

    def entries() -> set[int]:
        m = screen.get("/api/v1/signage/screens/lobby/manifest").json()
        return {e["id"] for e in m["schedule"]["entries"]}

    assert entries() == {to_a.json()["id"]}
    # both groups: the two schedules would overlap 11:00-12:00 at priority 0 on lobby
    r = c.patch("/api/v1/signage/screens/lobby", json={"groups": ["hall-a", "hall-b"]})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "conflict", r.text
    assert "lobby" in r.json()["detail"]["reason"]
    assert entries() == {to_a.json()["id"]}                      # unchanged
    r = c.patch("/api/v1/signage/screens/lobby", json={"groups": [" hall-b ", "hall-b"]})
    assert r.status_code == 200, r.text
    assert r.json()["groups"] == ["hall-b"] and r.json()["label"] == "lobby"
    assert entries() == {to_b.json()["id"]}                      # the next manifest follows
    assert screen.get("/api/v1/signage/screens/lobby/manifest").json()["groups"] == ["hall-b"]
    p = c.get("/api/v1/signage/screens/lobby/preview", params={"at": "2026-11-23T09:00:00"}).json()
    assert p["kind"] == "playlist" and p["schedule_id"] == to_b.json()["id"]
    listed = {s["name"]: s for s in c.get("/api/v1/signage/screens").json()}
    assert listed["lobby"]["groups"] == ["hall-b"]
    # name and groups in one go; no groups at all
    r = c.patch("/api/v1/signage/screens/lobby", json={"display_name": "东厅屏", "groups": []})
    assert r.status_code == 200 and r.json()["groups"] == [] and r.json()["label"] == "东厅屏"
    assert entries() == set()
    # audited: who changed what, before and after
    admin = env.client(env.make_user("admin"))
    rows = admin.get("/api/v1/audit", params={"action": "screen.groups"}).json()
    assert sorted(r["detail"] for r in rows) == sorted(["分组：无（原：hall-b）", "分组：hall-b（原：hall-a）"])
    assert all(r["target"] == "screen:lobby" for r in rows)
    # bad input names the field, never echoes it; nothing to change; other sites; other roles
    long = "g" * 64
    r = c.patch("/api/v1/signage/screens/lobby", json={"groups": [long]})
    assert r.status_code == 422 and "groups" in r.text and long not in r.text
    assert c.patch("/api/v1/signage/screens/lobby", json={}).status_code == 422
    other = env.client(env.make_user("supervisor", ["elsewhere"]))
    assert other.patch("/api/v1/signage/screens/lobby", json={"groups": ["x"]}).status_code == 404
    assert c.patch("/api/v1/signage/screens/nope", json={"groups": ["x"]}).status_code == 404
    assert env.client(env.make_user("viewer")).patch("/api/v1/signage/screens/lobby",
                                                     json={"groups": ["x"]}).status_code == 403
    assert screen.patch("/api/v1/signage/screens/lobby", json={"groups": ["x"]}).status_code == 403
    assert entries() == set()
