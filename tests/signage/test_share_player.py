"""Interrupt content on a real player under Xvfb (issue 24 item 5): an ordinary image all hour
and a 10 s advert with 600 s of each hour (60 blocks of 10 s, one at the start of each minute).
The player's clock is injected to start four seconds before a minute; the advert must take the
screen at the minute, for its block (timed by the player's own proof of play, not by screenshot
latency), and give it back."""
from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from signage_helpers import ScreenBox, serve, wait_for
from test_layouts import BLUE, YELLOW, _app, _png, near

SITE_TZ = ZoneInfo("Asia/Shanghai")     # a site's default zone


@pytest.mark.slow
def test_player_gives_interrupt_content_its_block_of_the_minute(tmp_path: Path, object_store, shoot) -> None:  # noqa: ANN001
    eng, app, sup = _app(tmp_path, object_store)
    server, thread, port = serve(app, 0)
    token = sup.post("/api/v1/signage/screens", json={"site": "hall", "name": "lobby"}).json()["token"]
    blue = sup.post("/api/v1/signage/content", params={"site": "hall", "name": "blue.png"}, content=_png(BLUE)).json()
    ad = sup.post("/api/v1/signage/content", params={"site": "hall", "name": "ad.png"}, content=_png(YELLOW)).json()
    ordinary = sup.post("/api/v1/signage/playlists", json={"site": "hall", "name": "p", "items": [
        {"content_id": blue["id"], "duration_s": 3600}]}).json()
    adverts = sup.post("/api/v1/signage/playlists", json={"site": "hall", "name": "ad", "items": [
        {"content_id": ad["id"], "duration_s": 10}]}).json()
    assert sup.post("/api/v1/signage/schedules", json={"site": "hall", "playlist_id": ordinary["id"],
                                                       "screens": ["lobby"]}).status_code == 201
    share = sup.post("/api/v1/signage/schedules", json={"site": "hall", "playlist_id": adverts["id"],
                                                        "screens": ["lobby"], "share_s_per_hour": 600})
    assert share.status_code == 201, share.text

    base = dt.datetime(2026, 11, 23, 9, 0, 56, tzinfo=SITE_TZ).timestamp()
    t0 = time.monotonic()

    def clock() -> float:
        return base + (time.monotonic() - t0)

    box = ScreenBox(port, token, tmp_path / "cache", clock=clock).start()
    shots = tmp_path / "shots"
    shots.mkdir()
    minute = dt.datetime(2026, 11, 23, 9, 1, tzinfo=SITE_TZ).timestamp()

    def ad_plays() -> list[dict]:
        return [p for p in sup.get("/api/v1/signage/screens/lobby/plays").json()
                if p["schedule_id"] == share.json()["id"] and p["status"] == "played" and p["ended_s"] is not None]
    try:
        # the ad on screen (its yellow in the middle), then the ordinary image again
        wait_for(lambda: near(shoot(shots / "ad.png").getpixel((640, 300)), YELLOW), 60, "the advert on screen")
        wait_for(lambda: near(shoot(shots / "back.png").getpixel((640, 300)), BLUE), 60, "the ordinary image back")
        # the player's own record of the block: from the minute, 10 s (a loaded box may start it a tick or two late)
        wait_for(lambda: bool(ad_plays()), 60, "the advert's proof of play")
        [first, *_] = ad_plays()
        print(f"advert block: started {first['started_s'] - minute:+.3f} s after the minute, "
              f"played {first['ended_s'] - first['started_s']:.3f} s")
        assert first["content_id"] == ad["id"] and first["playlist_id"] == adverts["id"]
        assert minute - 0.01 <= first["started_s"] <= minute + 3, first
        assert 7 <= first["ended_s"] - first["started_s"] <= 12, first
        assert minute + 9.5 <= first["ended_s"] <= minute + 14, first
    finally:
        box.stop()
        server.should_exit = True
        thread.join(10)
        eng.dispose()
