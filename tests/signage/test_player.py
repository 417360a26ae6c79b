"""The player in a real X window (Xvfb), proven by screenshots: two dayparts, a corrupt video
skipped and reported, a queue call on the ticker, an interrupt and its clearing, the server
stopped and the player going on from cache (and reporting it), and proof-of-play rows that
match what was on screen. One walk through a day with an injected clock."""
from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient
from signage_helpers import JumpClock, near, serve, wait_for

from services.catalog import Catalog
from signage import slides
from signage.player import Player, PlayerOptions
from signage.sync import ApiClient, ContentCache, Syncer
from storage.engine import make_engine
from storage.schema import upgrade

TZ = ZoneInfo("Asia/Shanghai")
BLUE, GREEN, RED_BG = (0, 0, 230), (0, 200, 0), slides.INTERRUPT_BG


@pytest.mark.slow
def test_player_walks_a_day(tmp_path: Path, object_store, media, shoot) -> None:  # noqa: ANN001
    eng = make_engine(f"sqlite:///{tmp_path / 'cw.db'}")
    upgrade(eng)
    cat = Catalog(eng)
    for c in ("c1", "c2"):
        cat.add_counter("hall", c)
    from api.app import create_app
    from services.accounts import add_user

    app = create_app(engine=eng, store=object_store)
    server, thread, port = serve(app, 0)
    base = f"http://127.0.0.1:{port}"
    sup = TestClient(app, headers={
        "Authorization": f"Bearer {add_user(eng, 'sup', role='supervisor', sites=['hall']).token}"})
    r = sup.post("/api/v1/signage/screens", json={"site": "hall", "name": "lobby"})
    token = r.json()["token"]
    agent = add_user(eng, "queue-system", role="events", sites=["hall"]).token

    def upload(name: str, key: str) -> int:
        r = sup.post("/api/v1/signage/content", params={"site": "hall", "name": name},
                     content=media[key].read_bytes())
        assert r.status_code == 201, r.text
        return r.json()["id"]

    blue, green, bad = upload("blue.png", "blue_png"), upload("green.mp4", "green"), upload("bad.mp4", "corrupt")
    morning = sup.post("/api/v1/signage/playlists", json={"site": "hall", "name": "morning",
                                                          "items": [{"content_id": blue, "duration_s": 600}]}).json()
    afternoon = sup.post("/api/v1/signage/playlists", json={
        "site": "hall", "name": "afternoon",
        "items": [{"content_id": bad, "duration_s": 5}, {"content_id": green, "duration_s": 600}]}).json()
    for pl, a, b in ((morning, "08:00", "12:00"), (afternoon, "12:00", "17:00")):
        assert sup.post("/api/v1/signage/schedules", json={"site": "hall", "playlist_id": pl["id"],
                                                           "screens": ["lobby"], "start_time": a,
                                                           "end_time": b}).status_code == 201

    clock = JumpClock(dt.datetime(2026, 11, 23, 11, 59, 56, tzinfo=TZ))   # a Monday, 4 s before noon
    cache = ContentCache(tmp_path / "cache")
    syncer = Syncer(client=ApiClient(base_url=base, token=token), screen="lobby", cache=cache, poll_s=0.5,
                    heartbeat_s=2.0, max_backoff_s=1.0, clock=clock)
    player = Player(screen="lobby", cache=cache, syncer=syncer, clock=clock, options=PlayerOptions(tick_s=0.25))
    stop = threading.Event()
    threads = [threading.Thread(target=syncer.run, args=(stop,)), threading.Thread(target=player.run, args=(stop,))]
    threads[0].start()
    # the first manifest before the window: else a loaded machine shows (and logs) the board first
    wait_for(lambda: syncer.snapshot()[0] is not None, 10, "first manifest")
    threads[1].start()
    shots = tmp_path / "shots"
    shots.mkdir()
    n = [0]

    def pixel(xy=(640, 300)):  # noqa: ANN001, ANN202 - a point in the video area
        n[0] += 1
        return shoot(shots / f"{n[0]:02d}.png").getpixel(xy)

    shown: list[tuple[str, float]] = []
    try:
        wait_for(lambda: near(pixel(), BLUE), 6, "morning daypart (blue image)")
        shown.append(("blue", clock()))
        noon = dt.datetime(2026, 11, 23, 12, tzinfo=TZ).timestamp()
        # when the player put it up, by its own clock (a screenshot can take a second on a loaded box)
        wait_for(lambda: player.stats.current == "playlist:green.mp4", 8, "afternoon daypart (the player)")
        switched = clock() - noon
        wait_for(lambda: near(pixel(), GREEN), 8, "afternoon daypart (green video)")
        assert switched <= 1.5, f"switched {switched:.2f} s after the boundary"
        shown.append(("green", clock()))
        assert bad in player.stats.skipped and "corrupt" in player.stats.skipped[bad]

        # a queue call reaches the ticker within 2 s of its POST
        t_shot = time.monotonic()
        before = shoot(shots / "ticker-before.png").crop((0, 656, 1280, 720))
        shot_s = time.monotonic() - t_shot     # one screenshot's own time, on this machine now
        t_post = time.monotonic()
        r = httpx.post(f"{base}/api/v1/events", headers={"Authorization": f"Bearer {agent}"},
                       json={"site": "hall", "counter": "c1", "kind": "queue_call", "ticket": "A012"})
        assert r.status_code == 201, r.text
        expected = slides.ticker([slides.ServingRow("c1", "A012", False, 1.0), slides.ServingRow("c2", None)],
                                 width_px=1280, height_px=64)

        def ticker_shows_call() -> bool:
            got = shoot(shots / "ticker.png").crop((0, 656, 1280, 720))
            diff = sum(abs(a - b) for a, b in zip(got.tobytes(), expected.tobytes())) / (1280 * 64 * 3)
            return got.tobytes() != before.tobytes() and diff < 2.0
        wait_for(ticker_shows_call, 4, "queue call on the ticker")
        took = time.monotonic() - t_post
        print(f"queue call: POST to ticker in a screenshot {took:.2f} s (one screenshot {shot_s:.2f} s)")
        assert took <= 2.0 + shot_s, (took, shot_s)     # within 2 s, plus the screenshot that shows it
        assert player.stats.chimes == 0    # no chime unless asked for

        # interrupt pre-empts, clearing gives the schedule back
        it = sup.post("/api/v1/signage/interrupts", json={"site": "hall", "title": "紧急通知",
                                                          "body": "消防演练，请有序离场"}).json()
        took = wait_for(lambda: near(pixel((40, 300)), RED_BG), 4, "interrupt on screen")
        shown.append(("interrupt", clock()))
        sup.post(f"/api/v1/signage/interrupts/{it['id']}/clear")
        wait_for(lambda: near(pixel(), GREEN), 4, "back to the afternoon after clearing")
        shown.append(("green", clock()))

        # the server goes away: the player goes on from its cache, through a daypart change
        server.should_exit = True
        thread.join(10)
        clock.jump_to(dt.datetime(2026, 11, 24, 9, 0, 1, tzinfo=TZ))   # Tuesday morning
        wait_for(lambda: near(pixel(), BLUE), 4, "morning from cache while the server is down")
        shown.append(("blue", clock()))
        wait_for(lambda: syncer.state.offline_since_s is not None, 4, "offline noticed")
        time.sleep(1.0)
        assert near(pixel(), BLUE)
        # and reports it when the server is back
        server, thread, _ = serve(app, port)
        wait_for(lambda: syncer.state.online and syncer.state.offline_periods, 6, "back online")
        wait_for(lambda: sup.get("/api/v1/signage/screens").json()[0]["status"].get("offline_periods"), 6,
                 "offline period reported")
    finally:
        stop.set()
        for t in threads:
            t.join(10)

    # proof of play: the rows the API holds tell the same story as the screenshots
    syncer.client = ApiClient(base_url=base, token=token)   # run() closed its own on stopping
    syncer.send_plays()
    rows = sup.get("/api/v1/signage/screens/lobby/plays").json()
    played = [(r["kind"], r["content_id"]) for r in rows if r["status"] == "played"]
    skipped = [r for r in rows if r["status"] == "skipped"]
    assert [s["content_id"] for s in skipped] == [bad] and "corrupt" in skipped[0]["reason"]
    assert played == [("playlist", blue), ("playlist", green), ("interrupt", None), ("playlist", green),
                      ("playlist", blue)], played
    names = {"blue": blue, "green": green}
    for (what, at), row in zip(shown, [r for r in rows if r["status"] == "played"]):
        assert row["started_s"] <= at and (row["ended_s"] is None or at <= row["ended_s"]), (what, at, row)
        assert row["content_id"] == names.get(what), (what, row)
    gaps = player.stats.gaps_ms
    # a gap ends with the new item's first picture; a still stays up until then (issue 24: the
    # first picture counted by libVLC's statistics, every ~250 ms), so a slow start is no blank
    assert gaps and max(gaps) < 2000, gaps
    server.should_exit = True
    thread.join(10)
    eng.dispose()


@pytest.mark.slow
def test_stills_and_videos_take_turns_without_libvlc_showing_a_still(tmp_path: Path, media, shoot) -> None:  # noqa: ANN001
    """Images and videos alternate, twice round, in a real window: each shows its own colour;
    while an image is up, libVLC holds nothing or a video (never the image: issue 12); every
    switch counts one gap."""
    import hashlib

    from signage.schedule import Content, Playlist, PlaylistItem, Schedule, ScheduleEntry, ScreenRef, resolve, schedule_to_dict

    order = [("blue_png", "image", BLUE), ("green", "video", GREEN), ("yellow_png", "image", (230, 230, 0)),
             ("red", "video", (255, 0, 0))]
    cache = ContentCache(tmp_path / "cache")
    contents = {}
    for i, (key, kind, _) in enumerate(order, 1):
        data = media[key].read_bytes()
        cache.put(hashlib.sha256(data).hexdigest(), data)
        contents[i] = Content(i, kind, media[key].name, hashlib.sha256(data).hexdigest())
    sched = Schedule(contents=contents, playlists={1: Playlist(1, "mixed", tuple(PlaylistItem(i, 10.0) for i in contents))},
                     entries=(ScheduleEntry(1, 1, screens=frozenset({"lobby"})),))
    cache.save_manifest({"screen": "lobby", "timezone": "Asia/Shanghai", "hall": "hall",
                         "schedule": schedule_to_dict(sched), "now_serving": []})
    start = dt.datetime(2026, 11, 23, 9, 0, 0, tzinfo=TZ)
    clock = JumpClock(start)
    player = Player(screen="lobby", cache=cache, clock=clock, options=PlayerOptions(tick_s=0.1))
    stop = threading.Event()
    thread = threading.Thread(target=player.run, args=(stop,))
    thread.start()
    shots = tmp_path / "shots"
    shots.mkdir()
    try:
        at = start.replace(tzinfo=None)      # the player resolves in naive local time
        for n in range(2 * len(order)):
            np = resolve(sched, ScreenRef("lobby"), at)
            assert np.content is not None
            key, kind, rgb = order[np.content.id - 1]
            clock.jump_to((np.item_start + dt.timedelta(seconds=0.2)).replace(tzinfo=TZ))
            wait_for(lambda rgb=rgb, n=n: near(shoot(shots / f"{n:02d}.png").getpixel((640, 300)), rgb), 8,
                     f"item {n}: {key}")
            if kind == "image":     # on screen by Tk; libVLC holds nothing, or the video paused under it
                m = player._mp.get_media()
                assert m is None or np.content.sha256 not in m.get_mrl() and "still-" not in m.get_mrl(), \
                    m.get_mrl()
            at = np.item_end + dt.timedelta(seconds=0.2)
        assert n == 7
    finally:
        stop.set()
        thread.join(10)
    assert player.stats.switches >= 2 * len(order)
    assert len(player.stats.gaps_ms) == player.stats.switches, (player.stats.switches, player.stats.gaps_ms)
    assert max(player.stats.gaps_ms) < 2000, player.stats.gaps_ms    # as in test_player_walks_a_day
