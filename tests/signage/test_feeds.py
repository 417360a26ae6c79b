"""Data-feed regions (issue 24 item 5): the screen box reads an RSS 2.0 or JSON URL on the hall's
network (signage.feeds) with a timeout and a size cap, keeps the last good copy, and draws the
titles in the region (signage.widgets.feed); the API checks the URL, and the server's preview
only shows the placeholder (it never fetches). Real http.server on 127.0.0.1, real player under Xvfb."""
from __future__ import annotations

import http.server
import io
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from signage_helpers import ScreenBox, serve, wait_for
from test_layouts import BLUE, _app, _png, near

from signage import feeds, layout, widgets
from signage.feeds import FeedCache, FeedError, parse, read_feed
from signage.layout import Layout, LayoutError, Region, rects, validate_layout

RSS = ("<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel><title>大厅</title>"
       "<item><title>今日多云 18℃</title></item><item><title> 下午三点 暂停\n出入境业务 </title></item>"
       "<item><description>no title</description></item></channel></rss>").encode()
FEED = {"kind": "feed", "x": 700, "y": 0, "w": 300, "h": 800, "text": "大厅通知"}


class _Feeds:
    """A real HTTP server on 127.0.0.1 answering ``routes[path]``: (status, body, delay_s)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes, float]] = {}
        self.hits = 0
        routes, owner = self.routes, self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                owner.hits += 1
                status, body, delay = routes.get(self.path, (404, b"", 0.0))
                time.sleep(delay)
                self.send_response(status)
                if not self.path.startswith("/nolength"):   # else the body ends when the connection closes
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

            def log_message(self, *_a: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread: threading.Thread | None = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        if self.thread is None:
            return
        self.thread, thread = None, self.thread
        self.server.shutdown()
        thread.join(10)
        self.server.server_close()


@pytest.fixture()
def feed_server() -> Iterator[_Feeds]:
    s = _Feeds()
    try:
        yield s
    finally:
        s.close()


def test_rss_and_json_titles_are_read_garbage_oversize_and_slow_feeds_refused(feed_server: _Feeds) -> None:
    f = feed_server
    f.routes.update({
        "/rss": (200, RSS, 0.0),
        "/list.json": (200, json.dumps(["晴", {"title": "空气质量 良"}, {"no": 1}, 7, "  "]).encode(), 0.0),
        "/items.json": (200, json.dumps({"items": [{"title": "通知一"}, {"title": "通知二"}]}).encode(), 0.0),
        "/garbage": (200, b"\x00\xffnot a feed", 0.0),
        "/html": (200, b"<html><body>hello</body></html>", 0.0),
        "/dtd": (200, b"<?xml version='1.0'?><!DOCTYPE r [<!ENTITY a 'aaaa'>]><rss><channel><item><title>&a;</title>"
                 b"</item></channel></rss>", 0.0),
        "/big": (200, json.dumps(["很长" * 70_000]).encode(), 0.0),
        "/nolength-big": (200, json.dumps(["很长" * 70_000]).encode(), 0.0),
        "/slow": (200, json.dumps(["迟到"]).encode(), 3.0),
        "/gone": (500, b"", 0.0),
    })
    assert read_feed(f.url("/rss")) == ["今日多云 18℃", "下午三点 暂停 出入境业务"]
    assert read_feed(f.url("/list.json")) == ["晴", "空气质量 良"]     # neither strings nor titled objects: left out
    assert read_feed(f.url("/items.json")) == ["通知一", "通知二"]
    expected = {"/garbage": "unparseable", "/html": "unparseable", "/dtd": "unparseable", "/big": "too_large",
                "/nolength-big": "too_large",
                "/gone": "status", "/missing": "status"}
    for path, code in expected.items():
        with pytest.raises(FeedError) as e:
            read_feed(f.url(path))
        assert e.value.code == code, (path, e.value)
    t0 = time.monotonic()
    with pytest.raises(FeedError) as e:
        read_feed(f.url("/slow"), timeout_s=0.5)
    assert e.value.code == "timeout" and time.monotonic() - t0 < 2.5
    with pytest.raises(FeedError) as e:
        read_feed("http://127.0.0.1:1/rss")   # nothing listens on port 1
    assert e.value.code == "unreachable"
    # a title longer than a region could show is cut
    assert parse(json.dumps(["字" * 500]).encode()) == ["字" * feeds.MAX_TITLE_CHARS]


def test_feed_cache_keeps_the_last_good_copy_and_logs_a_failure_streak_once(
        tmp_path: Path, feed_server: _Feeds, caplog: pytest.LogCaptureFixture) -> None:
    f = feed_server
    f.routes["/rss"] = (200, RSS, 0.0)
    cache = FeedCache(tmp_path / "feeds")
    url = f.url("/rss")
    assert cache.titles(url, 0.2) == []        # never waits: the first fetch runs in the background
    wait_for(lambda: cache.titles(url, 3600) == ["今日多云 18℃", "下午三点 暂停 出入境业务"], 30, "the feed's titles")
    f.routes["/rss"] = (200, b"garbage", 0.0)
    caplog.set_level(logging.INFO, logger="signage.feeds")
    hits = f.hits
    wait_for(lambda: cache.titles(url, 0.2) is not None and f.hits >= hits + 4, 60, "four failed refreshes")
    assert cache.titles(url, 3600) == ["今日多云 18℃", "下午三点 暂停 出入境业务"]     # the last good copy
    wait_for(lambda: not cache._feeds[url].busy, 30, "the last refresh to end")
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and "unparseable" in warned[0].getMessage(), [r.getMessage() for r in caplog.records]
    # a box restarting without network shows the copy kept on disk
    f.close()
    again = FeedCache(tmp_path / "feeds")
    assert again.titles(url, 3600) == ["今日多云 18℃", "下午三点 暂停 出入境业务"]


def test_feed_regions_need_an_http_url_and_the_api_names_the_field_in_chinese(tmp_path: Path, object_store) -> None:  # noqa: ANN001
    main = Region("main", 0, 0, 700, 1000)
    validate_layout([main, Region("feed", 700, 0, 300, 1000, url="https://weather.hall.lan/today.json")])
    for url in ("", "ftp://hall.lan/x", "file:///etc/passwd", "http://", "javascript:alert(1)", "http://a b/",
                "http://hall.lan/" + "x" * 500):
        with pytest.raises(LayoutError) as e:
            validate_layout([main, Region("feed", 700, 0, 300, 1000, url=url)])
        assert e.value.field == "regions[1].url", url
    with pytest.raises(LayoutError) as e:
        validate_layout([main, Region("clock", 700, 0, 300, 1000, url="http://hall.lan/")])
    assert e.value.field == "regions[1].url"
    eng, _a, sup = _app(tmp_path, object_store)
    try:
        regions = [{"kind": "main", "x": 0, "y": 0, "w": 700, "h": 1000}, {**FEED, "h": 1000}]
        bad = sup.post("/api/v1/signage/layouts", json={"site": "hall", "name": "坏", "regions": [
            regions[0], {**regions[1], "url": "file:///etc/passwd"}]})
        assert bad.status_code == 422 and bad.json()["detail"]["field"] == "regions[1].url", bad.text
        assert "第 2 个区域的数据源地址无效" in bad.json()["detail"]["message"] and "passwd" not in bad.text
        long = sup.post("/api/v1/signage/layouts", json={"site": "hall", "name": "坏", "regions": [
            regions[0], {**regions[1], "url": "http://hall.lan/" + "x" * 600}]})
        assert long.status_code == 422 and long.json()["detail"][0]["message"].startswith("数据源地址"), long.text
        ok = sup.post("/api/v1/signage/layouts", json={"site": "hall", "name": "天气", "regions": [
            regions[0], {**regions[1], "url": "http://weather.hall.lan/rss", "refresh_s": 600, "max_items": 3}]})
        assert ok.status_code == 201, ok.text
        assert ok.json()["regions"][1] == {**regions[1], "url": "http://weather.hall.lan/rss", "refresh_s": 600,
                                               "max_items": 3, "playlist_id": None}
    finally:
        eng.dispose()


def _feed_rect() -> tuple[int, int, int, int]:
    lay = Layout(1, "x", layout.regions_from_list([{"kind": "main", "x": 0, "y": 0, "w": 700, "h": 800}, FEED]))
    return next(rect for r, rect in rects(lay, (1280, 656)) if r.kind == "feed")


@pytest.mark.slow
def test_player_draws_the_feed_and_keeps_it_when_the_feed_goes_away(
        tmp_path: Path, object_store, shoot, feed_server: _Feeds) -> None:  # noqa: ANN001
    feed_server.routes["/rss"] = (200, RSS, 0.0)
    url = feed_server.url("/rss")
    eng, app, sup = _app(tmp_path, object_store)
    server, thread, port = serve(app, 0)
    token = sup.post("/api/v1/signage/screens", json={"site": "hall", "name": "lobby"}).json()["token"]
    pic = sup.post("/api/v1/signage/content", params={"site": "hall", "name": "blue.png"}, content=_png(BLUE)).json()["id"]
    pl = sup.post("/api/v1/signage/playlists", json={"site": "hall", "name": "p",
                                                     "items": [{"content_id": pic, "duration_s": 3600}]}).json()
    made = sup.post("/api/v1/signage/layouts", json={"site": "hall", "name": "通知", "regions": [
        {"kind": "main", "x": 0, "y": 0, "w": 700, "h": 800}, {**FEED, "url": url, "refresh_s": 5}]})
    assert made.status_code == 201, made.text
    assert sup.post("/api/v1/signage/schedules", json={"site": "hall", "playlist_id": pl["id"], "screens": ["lobby"],
                                                       "layout_id": made.json()["id"]}).status_code == 201
    x, y, w, h = _feed_rect()
    hits = feed_server.hits
    # the server's preview never fetches: it shows the region's heading and the placeholder
    preview = Image.open(io.BytesIO(sup.get("/api/v1/signage/screens/lobby/preview.png").content)).convert("RGB")
    placeholder = widgets.feed(FEED["text"], (), (w, h))
    assert preview.crop((x, y, x + w, y + h)).tobytes() == placeholder.tobytes()
    assert feed_server.hits == hits

    box = ScreenBox(port, token, tmp_path / "cache").start()
    player = box.player
    shots = tmp_path / "shots"
    shots.mkdir()
    titles = ("今日多云 18℃", "下午三点 暂停 出入境业务")
    drawn = widgets.feed(FEED["text"], titles, (w, h))

    def feed_shows() -> bool:
        return any(r["region"].kind == "feed" and r["sig"] == ("feed", titles) for r in list(player._regions))

    def on_screen(n: str) -> bool:
        shot = shoot(shots / f"{n}.png")
        got = shot.crop((x, y, x + w, y + h))
        return (near(shot.getpixel((x // 2, y + h // 2)), BLUE)
                and sum(a != b for a, b in zip(got.tobytes(), drawn.tobytes(), strict=True)) < len(got.tobytes()) // 100)

    try:
        wait_for(feed_shows, 30, "the feed's titles in the player")
        n = iter(range(1000))
        wait_for(lambda: on_screen(f"{next(n):03d}"), 30, "the feed's titles on screen")
        assert drawn.tobytes() != placeholder.tobytes()
        # the feed's server goes away: refreshes fail, the titles stay on screen
        before = feed_server.hits
        feed_server.close()
        state = player._feeds._feeds[url]
        wait_for(lambda: state.failing and not state.busy, 60, "a failed refresh")
        assert before >= 1 and feed_shows()
        wait_for(lambda: on_screen(f"gone-{next(n):03d}"), 30, "the last good titles still on screen")
    finally:
        box.stop()
        server.should_exit = True
        thread.join(10)
        eng.dispose()
