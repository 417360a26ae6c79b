"""The scrolling announcement ticker fed by text content (issue 24 item 5): a ticker region that
names a playlist of text announcements scrolls them one after the other (signage.schedule.ticker_text,
used by the player and the preview alike); the API refuses a playlist of other content; a real
player under Xvfb scrolls the announcements and follows an edit of one at its next manifest."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from signage_helpers import ScreenBox, serve, wait_for
from test_layouts import BLUE, _app, _png, near

from signage import layout, widgets
from signage.layout import Layout, LayoutError, Region, rects, validate_layout
from signage.schedule import (
    TICKER_ITEM_CHARS,
    TICKER_SEPARATOR,
    Content,
    Playlist,
    PlaylistItem,
    Schedule,
    ticker_text,
)

TICKER = {"kind": "ticker", "x": 0, "y": 800, "w": 1000, "h": 200, "text": "欢迎光临"}


def test_ticker_text_joins_the_announcements_and_falls_back_to_its_own_text() -> None:
    contents = {1: Content(1, "text", "a", title="停办通知", body="今天下午  暂停\n办理出入境业务"),
                2: Content(2, "image", "p.png"), 3: Content(3, "text", "b", title="", body="请取号" * 200)}
    s = Schedule(contents=contents, playlists={9: Playlist(9, "n", (PlaylistItem(1, 30), PlaylistItem(2, 30),
                                                                         PlaylistItem(3, 30)))})
    text = ticker_text(s, Region("ticker", playlist_id=9, text="欢迎光临"))
    first, second = text.split(TICKER_SEPARATOR)
    assert first == "停办通知：今天下午 暂停 办理出入境业务"
    assert len(second) == TICKER_ITEM_CHARS and second.endswith("…")     # a long one is cut, not drawn whole
    assert ticker_text(s, Region("ticker", text="欢迎光临")) == "欢迎光临"
    many = Schedule(contents=contents, playlists={9: Playlist(9, "n", (PlaylistItem(3, 30),) * 10)})
    assert len(ticker_text(many, Region("ticker", playlist_id=9))) == layout.MAX_TICKER_TEXT   # all of them cut too
    assert ticker_text(s, Region("ticker", playlist_id=8, text="欢迎光临")) == "欢迎光临"   # not (yet) in the manifest
    validate_layout([Region("main", 0, 0, 1000, 800), Region("ticker", 0, 800, 1000, 200, playlist_id=9)])
    with pytest.raises(LayoutError) as e:
        validate_layout([Region("main", 0, 0, 1000, 800), Region("clock", 0, 800, 1000, 200, playlist_id=9)])
    assert e.value.field == "regions[1].playlist_id"


def _ticker_rect() -> tuple[int, int, int, int]:
    lay = Layout(1, "x", layout.regions_from_list([{"kind": "main", "x": 0, "y": 0, "w": 1000, "h": 800}, TICKER]))
    return next(rect for r, rect in rects(lay, (1280, 656)) if r.kind == "ticker")


@pytest.mark.slow
def test_player_scrolls_the_announcements_of_its_ticker_playlist(tmp_path: Path, object_store, shoot) -> None:  # noqa: ANN001
    eng, app, sup = _app(tmp_path, object_store)
    server, thread, port = serve(app, 0)
    token = sup.post("/api/v1/signage/screens", json={"site": "hall", "name": "lobby"}).json()["token"]
    pic = sup.post("/api/v1/signage/content", params={"site": "hall", "name": "blue.png"}, content=_png(BLUE)).json()["id"]
    pl = sup.post("/api/v1/signage/playlists", json={"site": "hall", "name": "p",
                                                     "items": [{"content_id": pic, "duration_s": 3600}]}).json()
    one = sup.post("/api/v1/signage/content/text", json={"site": "hall", "name": "n1", "title": "停办通知",
                                                         "body": "今天下午三点起暂停办理出入境业务"}).json()
    two = sup.post("/api/v1/signage/content/text", json={"site": "hall", "name": "n2", "title": "提醒",
                                                         "body": "请提前取号，留意叫号"}).json()
    news = sup.post("/api/v1/signage/playlists", json={"site": "hall", "name": "公告", "items": [
        {"content_id": one["id"], "duration_s": 60}, {"content_id": two["id"], "duration_s": 60}]}).json()
    # a ticker shows text: a playlist of images is refused, naming the region
    bad = sup.post("/api/v1/signage/layouts", json={"site": "hall", "name": "坏", "regions": [
        {"kind": "main", "x": 0, "y": 0, "w": 1000, "h": 800}, {**TICKER, "playlist_id": pl["id"]}]})
    assert bad.status_code == 422 and bad.json()["detail"]["field"] == "regions[1].playlist_id", bad.text
    assert "文字公告" in bad.json()["detail"]["message"]
    made = sup.post("/api/v1/signage/layouts", json={"site": "hall", "name": "字幕", "regions": [
        {"kind": "main", "x": 0, "y": 0, "w": 1000, "h": 800}, {**TICKER, "playlist_id": news["id"]}]})
    assert made.status_code == 201, made.text
    assert sup.post("/api/v1/signage/schedules", json={"site": "hall", "playlist_id": pl["id"], "screens": ["lobby"],
                                                       "layout_id": made.json()["id"]}).status_code == 201
    expected = f"停办通知：今天下午三点起暂停办理出入境业务{TICKER_SEPARATOR}提醒：请提前取号，留意叫号"
    x, y, w, h = _ticker_rect()
    # the preview draws the same strip (at its start) as the player scrolls
    preview = Image.open(io.BytesIO(sup.get("/api/v1/signage/screens/lobby/preview.png").content)).convert("RGB")
    assert preview.crop((x, y, x + w, y + h)).tobytes() == widgets.ticker(expected, (w, h)).tobytes()
    # the playlist shown by a ticker cannot be deleted from under it
    assert sup.delete(f"/api/v1/signage/playlists/{news['id']}").status_code == 409

    box = ScreenBox(port, token, tmp_path / "cache").start()
    player = box.player
    shots = tmp_path / "shots"
    shots.mkdir()

    def ticker_shows(text: str) -> bool:
        """The player's own state: its ticker strip is the one drawn for ``text``."""
        width = widgets.ticker_strip(text, h).width
        return any(r["region"].kind == "ticker" and r["sig"] == ("ticker", text) and r["strip_w"] == width
                   for r in list(player._regions))

    try:
        wait_for(lambda: ticker_shows(expected), 30, "the announcements in the ticker")
        assert expected != TICKER["text"]
        # on screen: the ticker's colour with white text in it (once it has scrolled in), moving
        seen: list[Image.Image] = []

        def text_in_ticker() -> bool:
            shot = shoot(shots / f"{len(seen):03d}.png")
            seen.append(shot.crop((x, y, x + w, y + h)))
            colours = seen[-1].getcolors(maxcolors=1 << 16) or []
            return (near(seen[-1].getpixel((w - 3, 3)), widgets.TICKER_TEXT_BG, 20)
                    and any(min(rgb) > 200 for _, rgb in colours) and near(shot.getpixel((x + w // 2, y // 2)), BLUE))
        wait_for(text_in_ticker, 30, "the announcements scrolling in the ticker on screen")
        moved = seen[-1].tobytes()
        wait_for(lambda: shoot(shots / "moved.png").crop((x, y, x + w, y + h)).tobytes() != moved, 10,
                 "the ticker moving")
        # an edited announcement reaches the ticker with the next manifest
        assert sup.patch(f"/api/v1/signage/content/{two['id']}", json={"body": "今日号源已满"}).status_code == 200
        wait_for(lambda: ticker_shows(f"停办通知：今天下午三点起暂停办理出入境业务{TICKER_SEPARATOR}提醒：今日号源已满"), 30,
                 "the edited announcement in the ticker")
        assert player.stats.current == "playlist:blue.png"
    finally:
        box.stop()
        server.should_exit = True
        thread.join(10)
        eng.dispose()
