"""Issue 24 in a real X window (Xvfb), proven by screenshots: a 20,000-character announcement
being laid out does not hold up an emergency notice (on screen within 2 s of its POST), and
deleting the schedule that is on screen ends it cleanly while proof of play and heartbeats keep
flowing (the deleted schedule's play row arrives without the gone reference and leaves the
on-disk journal)."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from signage_helpers import serve, wait_for

from signage import slides
from signage.player import Player, PlayerOptions
from signage.sync import ApiClient, ContentCache, Syncer
from storage.engine import make_engine
from storage.schema import upgrade

GREEN = (0, 200, 0)
LONG = ("请携带身份证原件及复印件、近期一寸免冠照片两张到三号窗口办理居住证。Please bring your ID card. " * 400)[:20000]


def near(px: tuple[int, int, int], rgb: tuple[int, int, int], tol: int = 40) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(px, rgb))


@pytest.mark.slow
def test_notice_shows_while_a_long_text_renders_and_a_deleted_schedule_does_not_jam(
        tmp_path: Path, object_store, media, shoot) -> None:  # noqa: ANN001
    eng = make_engine(f"sqlite:///{tmp_path / 'cw.db'}")
    upgrade(eng)
    from api.app import create_app
    from services.accounts import add_user
    from services.catalog import Catalog

    Catalog(eng).add_counter("hall", "c1")
    app = create_app(engine=eng, store=object_store)
    server, thread, port = serve(app, 0)
    base = f"http://127.0.0.1:{port}"
    sup = TestClient(app, headers={
        "Authorization": f"Bearer {add_user(eng, 'sup', role='supervisor', sites=['hall']).token}"})
    token = sup.post("/api/v1/signage/screens", json={"site": "hall", "name": "lobby"}).json()["token"]
    text = sup.post("/api/v1/signage/content/text", json={"site": "hall", "name": "guide", "title": "办事指南",
                                                           "body": LONG})
    assert text.status_code == 201, text.text[:300]
    text_id = text.json()["id"]
    green = sup.post("/api/v1/signage/content", params={"site": "hall", "name": "green.mp4"},
                     content=media["green"].read_bytes()).json()["id"]
    pl = sup.post("/api/v1/signage/playlists", json={"site": "hall", "name": "guide",
                                                     "items": [{"content_id": text_id, "duration_s": 3600}]}).json()
    sched = sup.post("/api/v1/signage/schedules", json={"site": "hall", "playlist_id": pl["id"],
                                                         "screens": ["lobby"]}).json()

    cache = ContentCache(tmp_path / "cache")
    syncer = Syncer(client=ApiClient(base_url=base, token=token), screen="lobby", cache=cache, poll_s=0.5,
                    heartbeat_s=1.0, max_backoff_s=1.0)
    player = Player(screen="lobby", cache=cache, syncer=syncer, options=PlayerOptions(tick_s=0.25))
    stop = threading.Event()
    threads = [threading.Thread(target=syncer.run, args=(stop,)), threading.Thread(target=player.run, args=(stop,))]
    threads[0].start()
    wait_for(lambda: syncer.snapshot()[0] is not None, 10, "first manifest")
    threads[1].start()
    shots = tmp_path / "shots"
    shots.mkdir()
    n = [0]

    def pixel(xy=(20, 300)):  # noqa: ANN001, ANN202 - the left margin of the video area
        n[0] += 1
        return shoot(shots / f"{n[0]:03d}.png").getpixel(xy)

    try:
        wait_for(lambda: near(pixel(), slides.ANNOUNCE_BG, 12), 20, "the long announcement's first page")

        def notice(title: str) -> tuple[float, float]:
            """POST a notice: (seconds to the player drawing it, to a screenshot showing it); then clear it."""
            drawn: list[float] = []

            def watch() -> None:   # when the player put the notice up (Tk drawn), without a screenshot's delay
                while not stop.is_set() and not drawn:
                    if player.stats.current == f"interrupt:{title}":
                        drawn.append(time.monotonic())
                    time.sleep(0.02)
            watcher = threading.Thread(target=watch)
            t_post = time.monotonic()
            watcher.start()
            it = sup.post("/api/v1/signage/interrupts", json={"site": "hall", "title": title,
                                                              "body": LONG[:5000]})   # a notice's longest
            assert it.status_code == 201, it.text[:300]
            wait_for(lambda: near(pixel(), slides.INTERRUPT_BG), 8, f"the notice {title} on screen")
            seen = time.monotonic() - t_post
            watcher.join(5)
            assert drawn, "the player never said it shows the notice"
            assert sup.post(f"/api/v1/signage/interrupts/{it.json()['id']}/clear").status_code == 200
            wait_for(lambda: near(pixel(), slides.ANNOUNCE_BG, 12), 20, "the announcement back")
            return drawn[0] - t_post, seen

        # the same run's baseline: a notice while nothing else is being drawn
        base_drawn, base_seen = notice("紧急通知")
        # a new text of the same length: laid out and drawn again while the next notice is posted
        assert sup.patch(f"/api/v1/signage/content/{text_id}", json={"body": LONG[::-1]}).status_code == 200
        drawn_s, seen_s = notice("消防演练")
        print(f"notice: POST to drawn {drawn_s:.2f} s (baseline {base_drawn:.2f}), to a screenshot {seen_s:.2f} s "
              f"(baseline {base_seen:.2f}) while a 20,000-character text renders; load {os.getloadavg()[0]:.1f}")
        # within 2 s; on a box so loaded that even the baseline notice is slow, at most 0.75 s beyond it:
        # the text being drawn must not hold the notice up
        assert drawn_s <= 2.0 or drawn_s <= base_drawn + 0.75, (drawn_s, base_drawn)
        assert seen_s <= 4.0 or seen_s <= base_seen + 1.0, (seen_s, base_seen)   # a screenshot takes up to ~1 s
        pages = sorted(p.name for p in (cache.root / "slides").glob(f"text-{text_id}-*.png"))
        assert 1 <= len(pages) <= slides.MAX_TEXT_PAGES, pages      # one text's pages, within the budget

        # the schedule on screen is deleted: the board, and plays and heartbeats go on
        t_deleting = time.time()    # the player's rows end by its clock (this machine's), after this
        assert sup.delete(f"/api/v1/signage/schedules/{sched['id']}").status_code in (200, 204)
        t_deleted = time.time()
        wait_for(lambda: near(pixel((640, 300)), slides.BOARD_BG, 12), 6, "the board after the delete")

        def plays() -> list[dict]:
            return sup.get("/api/v1/signage/screens/lobby/plays").json()
        # the text's row, ended by the delete, arrives without the gone schedule (before a new schedule
        # is made: SQLite may give the new one the deleted one's id); the row the notice ended, a
        # moment before, keeps its schedule
        def ended_by_the_delete() -> list[dict]:
            return [r for r in plays() if r["content_id"] == text_id and r["ended_s"] >= t_deleting]
        wait_for(ended_by_the_delete, 10, "the deleted schedule's row")
        [row] = ended_by_the_delete()
        assert row["schedule_id"] is None and row["playlist_id"] == pl["id"], row
        pl2 = sup.post("/api/v1/signage/playlists", json={"site": "hall", "name": "video",
                                                          "items": [{"content_id": green, "duration_s": 3600}]}).json()
        assert sup.post("/api/v1/signage/schedules", json={"site": "hall", "playlist_id": pl2["id"],
                                                           "screens": ["lobby"]}).status_code == 201
        wait_for(lambda: near(pixel((640, 300)), GREEN), 10, "the new schedule's video")
        wait_for(lambda: any(r["kind"] == "default" for r in plays()), 10, "the board's play row (after the bad one)")
        wait_for(lambda: cache.unsent()[1] == [], 10, "the journal emptied")
        wait_for(lambda: (sup.get("/api/v1/signage/screens").json()[0]["last_heartbeat_s"] or 0) > t_deleted + 1.5,
                 10, "heartbeats after the delete")
        assert sup.get("/api/v1/signage/screens").json()[0]["alarms"] == []

        # the screen's own picture, on demand: what the public sees (the video) and what plays
        asked = sup.post("/api/v1/signage/screens/lobby/screenshot/request")
        assert asked.status_code == 202, asked.text
        asked_s = asked.json()["requested_s"]

        def fresh() -> bool:
            r = sup.get("/api/v1/signage/screens/lobby/screenshot")
            return r.status_code == 200 and r.json()["taken_s"] >= asked_s - 1 and r.json()["requested_s"] is None
        wait_for(fresh, 10, "the screenshot asked for")
        info = sup.get("/api/v1/signage/screens/lobby/screenshot").json()
        assert info["state"]["playing"] == "playlist:green.mp4" and info["state"]["loop_late_s"] < 5, info
        img = sup.get("/api/v1/signage/screens/lobby/screenshot.img")
        assert img.headers["content-type"] == "image/jpeg"
        import io

        from PIL import Image
        pic = Image.open(io.BytesIO(img.content)).convert("RGB")
        assert pic.size == (info["width_px"], info["height_px"]) == (1280, 720)
        assert near(pic.getpixel((640, 300)), GREEN), pic.getpixel((640, 300))          # the video, as on screen
        assert near(pic.getpixel((640, 700)), slides.TICKER_BG, 30), pic.getpixel((640, 700))   # and the ticker
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        server.should_exit = True
        thread.join(10)
        eng.dispose()
