"""The signage API: screens and tokens, content upload rules, schedules with reasons,
interrupts, manifest, preview, reports; who may do what."""
from __future__ import annotations

import hashlib




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


def test_content_schedule_manifest_preview(signage_env, media) -> None:  # noqa: ANN001
    env = signage_env
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
    for bad, code in [({"start_time": "13:00", "end_time": "12:00"}, "bad_range"),
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
    c.post(f"/api/v1/signage/interrupts/{r.json()['id']}/clear")
    assert s.get("/api/v1/signage/screens/lobby/manifest").json()["schedule"]["interrupts"] == []

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


def test_permissions(signage_env, media) -> None:  # noqa: ANN001
    env = signage_env
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


def test_upload_rules(signage_env, media) -> None:  # noqa: ANN001
    c = signage_env.client(signage_env.make_user("supervisor"))
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
