"""Layouts with regions (issue 24 item 3) and their widgets (item 5): the geometry both the
player and the preview use, the API's validation (422 naming the field), and a real player in a
real X window (Xvfb) showing a four-region layout (main playlist image, clock, queue board,
scrolling ticker), checked by the colours in each region's rectangle of a screenshot and of the
server's preview, which must agree."""
from __future__ import annotations

import datetime as dt
import io
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from signage_helpers import serve, wait_for

from signage import layout, slides, widgets
from signage.layout import DEFAULT, Layout, LayoutError, Region, rects, validate_layout
from signage.player import Player, PlayerOptions
from signage.sync import ApiClient, ContentCache, Syncer
from storage.engine import make_engine
from storage.schema import upgrade

BLUE = (0, 0, 230)
YELLOW = (230, 230, 0)
#: main on the left, clock and queue board on the right, the announcement ticker along the bottom
REGIONS = [{"kind": "main", "x": 0, "y": 0, "w": 700, "h": 800},
           {"kind": "clock", "x": 700, "y": 0, "w": 300, "h": 400},
           {"kind": "queue_board", "x": 700, "y": 400, "w": 300, "h": 400},
           {"kind": "ticker", "x": 0, "y": 800, "w": 1000, "h": 200, "text": "今天下午三点起暂停办理出入境业务，敬请谅解"}]


def near(px: tuple[int, int, int], rgb: tuple[int, int, int], tol: int = 40) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(px, rgb, strict=False))


def test_rects_share_edges_and_default_is_the_whole_area() -> None:
    lay = Layout(1, "x", tuple(Region(**r) for r in REGIONS))   # type: ignore[arg-type]
    validate_layout(lay.regions)
    got = {r.kind: rect for r, rect in rects(lay, (1280, 656))}
    assert got["main"] == (0, 0, 896, 525)
    assert got["clock"] == (896, 0, 384, 262) and got["queue_board"] == (896, 262, 384, 263)
    assert got["ticker"] == (0, 525, 1280, 131)
    assert rects(DEFAULT, (1280, 656)) == [(Region("main"), (0, 0, 1280, 656))]


@pytest.mark.parametrize(("regions", "field"), [
    ([Region("main", 0, 0, 1000, 800), Region("clock", 900, 700, 100, 300)], "regions[1]"),       # overlaps main
    ([Region("main", 0, 0, 1000, 800), Region("ticker", 0, 800, 1000, 250)], "regions[1].h"),     # off the bottom
    ([Region("main", 0, 0, 500, 1000), Region("main", 500, 0, 500, 1000)], "regions[1].kind"),     # two mains
    ([Region("clock")], "regions"),                                                                # no main
    ([Region("main", 0, 0, 1000, 20)], "regions[0].h"),                                            # too small
    ([Region("main", 0, 0, 1000, 800), Region("playlist", 0, 800, 1000, 200)], "regions[1].playlist_id"),
])
def test_bad_layouts_name_the_field(regions: list[Region], field: str) -> None:
    with pytest.raises(LayoutError) as e:
        validate_layout(regions)
    assert e.value.field == field


def test_widgets_draw_in_their_colours() -> None:
    now = dt.datetime(2026, 12, 7, 14, 5)
    assert widgets.date_zh(now) == "2026年12月7日 星期一"
    assert widgets.clock(now, (300, 200)).getpixel((2, 2)) == widgets.CLOCK_BG
    rows = [widgets.QueueRow("社保", ("A001",), 3)]
    assert widgets.queue_board(rows, (300, 200)).getpixel((298, 198)) == widgets.QUEUE_BG
    strip = widgets.ticker_strip("通知", 60)
    assert strip.height == 60 and strip.getpixel((strip.width - 1, 1)) == widgets.TICKER_TEXT_BG
    assert widgets.ticker_offset(1000, 500, 0) == 1000        # enters at the right edge


def _app(tmp_path: Path, object_store) -> tuple:  # noqa: ANN001
    eng = make_engine(f"sqlite:///{tmp_path / 'cw.db'}")
    upgrade(eng)
    from api.app import create_app
    from services.accounts import add_user
    from services.catalog import Catalog

    Catalog(eng).add_counter("hall", "c1")
    app = create_app(engine=eng, store=object_store)
    sup = TestClient(app, headers={
        "Authorization": f"Bearer {add_user(eng, 'sup', role='supervisor', sites=['hall']).token}"})
    return eng, app, sup


def test_layout_api_refuses_overlaps_and_off_screen_regions_naming_the_field(tmp_path: Path, object_store) -> None:  # noqa: ANN001
    eng, _app_, sup = _app(tmp_path, object_store)
    over = sup.post("/api/v1/signage/layouts", json={"site": "hall", "name": "坏", "regions": [
        {"kind": "main", "x": 0, "y": 0, "w": 1000, "h": 800}, {"kind": "clock", "x": 800, "y": 700, "w": 200, "h": 300}]})
    assert over.status_code == 422 and over.json()["detail"]["field"] == "regions[1]", over.text
    assert over.json()["detail"]["code"] == "bad_region" and "第 2 个区域与第 1 个区域重叠" in over.json()["detail"]["message"]
    off = sup.post("/api/v1/signage/layouts", json={"site": "hall", "name": "坏", "regions": [
        {"kind": "main", "x": 400, "y": 0, "w": 700, "h": 1000}]})
    assert off.status_code == 422 and off.json()["detail"]["field"] == "regions[0].w", off.text
    assert "第 1 个区域超出了屏幕" in off.json()["detail"]["message"]
    shape = sup.post("/api/v1/signage/layouts", json={"site": "hall", "name": "坏", "regions": [
        {"kind": "main", "x": 1200, "y": 0, "w": 100, "h": 100}]})
    assert shape.status_code == 422 and shape.json()["detail"][0]["loc"][-3:] == ["regions", 0, "x"], shape.text
    good = sup.post("/api/v1/signage/layouts", json={"site": "hall", "name": "四区", "regions": REGIONS})
    assert good.status_code == 201, good.text
    lay = good.json()
    assert [r["kind"] for r in lay["regions"]] == ["main", "clock", "queue_board", "ticker"]
    assert sup.get("/api/v1/signage/layouts", params={"site": "hall"}).json() == [lay]
    renamed = sup.put(f"/api/v1/signage/layouts/{lay['id']}", json={"site": "hall", "name": "新名", "regions": REGIONS})
    assert renamed.status_code == 200 and renamed.json()["name"] == "新名"
    pic = sup.post("/api/v1/signage/content", params={"site": "hall", "name": "p.png"},
                   content=_png(BLUE)).json()["id"]
    pl = sup.post("/api/v1/signage/playlists", json={"site": "hall", "name": "p",
                                                     "items": [{"content_id": pic, "duration_s": 60}]}).json()
    sup.post("/api/v1/signage/screens", json={"site": "hall", "name": "lobby"})
    unknown = sup.post("/api/v1/signage/schedules", json={"site": "hall", "playlist_id": pl["id"], "screens": ["lobby"],
                                                           "layout_id": lay["id"] + 100})
    assert unknown.status_code == 422 and unknown.json()["detail"]["code"] == "unknown_layout", unknown.text
    sched = sup.post("/api/v1/signage/schedules", json={"site": "hall", "playlist_id": pl["id"], "screens": ["lobby"],
                                                         "layout_id": lay["id"]})
    assert sched.status_code == 201 and sched.json()["layout_id"] == lay["id"], sched.text
    # a playlist region shows a playlist of images of the site
    gallery = sup.post("/api/v1/signage/playlists", json={"site": "hall", "name": "g",
                                                          "items": [{"content_id": pic, "duration_s": 60}]}).json()
    side = [*REGIONS[:3], {"kind": "playlist", "x": 0, "y": 800, "w": 1000, "h": 200, "playlist_id": gallery["id"]}]
    shown = sup.post("/api/v1/signage/layouts", json={"site": "hall", "name": "侧栏", "regions": side})
    assert shown.status_code == 201, shown.text
    text = sup.post("/api/v1/signage/content/text", json={"site": "hall", "name": "t", "title": "通知", "body": "x"}).json()
    words = sup.post("/api/v1/signage/playlists", json={"site": "hall", "name": "w",
                                                        "items": [{"content_id": text["id"], "duration_s": 60}]}).json()
    side[3] = {**side[3], "playlist_id": words["id"]}
    not_images = sup.post("/api/v1/signage/layouts", json={"site": "hall", "name": "侧栏", "regions": side})
    assert not_images.status_code == 422 and not_images.json()["detail"]["field"] == "regions[3].playlist_id"
    shown_by = sup.delete(f"/api/v1/signage/playlists/{gallery['id']}")
    assert shown_by.status_code == 409 and shown_by.json()["detail"]["layout_ids"] == [shown.json()["id"]], shown_by.text
    busy = sup.delete(f"/api/v1/signage/layouts/{lay['id']}")
    assert busy.status_code == 409 and busy.json()["detail"]["schedule_ids"] == [sched.json()["id"]]
    # a schedule without a layout: full screen, as before
    plain = sup.get("/api/v1/signage/schedules", params={"site": "hall"}).json()
    assert plain[0]["layout_id"] == lay["id"]
    eng.dispose()


def _png(rgb: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (640, 360), rgb).save(buf, "PNG")
    return buf.getvalue()


def _five(side_playlist: int) -> list[dict]:
    """:data:`REGIONS` with a side panel of its own playlist between the clock and the queue board."""
    return [REGIONS[0], {**REGIONS[1], "h": 300},
            {"kind": "playlist", "x": 700, "y": 300, "w": 300, "h": 250, "playlist_id": side_playlist},
            {**REGIONS[2], "y": 550, "h": 250}, REGIONS[3]]


def _regions_ok(img: Image.Image, regions: list[dict]) -> list[str]:
    """What is wrong with a 1280x720 picture of ``regions`` (empty: each region shows its own)."""
    area = (1280, 720 - 64)
    lay = Layout(1, "x", layout.regions_from_list(regions))
    at = {r.kind: (x, y, w, h) for r, (x, y, w, h) in rects(lay, area)}
    wrong = []
    x, y, w, h = at["main"]
    if not near(img.getpixel((x + w // 2, y + h // 2)), BLUE):
        wrong.append(f"main {img.getpixel((x + w // 2, y + h // 2))}")
    x, y, w, h = at["clock"]
    if not near(img.getpixel((x + 3, y + 3)), widgets.CLOCK_BG, 20):
        wrong.append(f"clock {img.getpixel((x + 3, y + 3))}")
    x, y, w, h = at["queue_board"]
    if not near(img.getpixel((x + w - 4, y + h - 4)), widgets.QUEUE_BG, 20):
        wrong.append(f"queue board {img.getpixel((x + w - 4, y + h - 4))}")
    if "playlist" in at:
        x, y, w, h = at["playlist"]
        if not near(img.getpixel((x + w // 2, y + h // 2)), YELLOW):
            wrong.append(f"side playlist {img.getpixel((x + w // 2, y + h // 2))}")
    x, y, w, h = at["ticker"]
    if not near(img.getpixel((x + 5, y + 3)), widgets.TICKER_TEXT_BG, 20):
        wrong.append(f"ticker {img.getpixel((x + 5, y + 3))}")
    if not near(img.getpixel((640, 716)), slides.TICKER_BG, 30):
        wrong.append(f"now-serving strip {img.getpixel((640, 716))}")
    return wrong


@pytest.mark.slow
def test_player_and_preview_show_every_region_of_a_layout(tmp_path: Path, object_store, shoot) -> None:  # noqa: ANN001
    eng, app, sup = _app(tmp_path, object_store)
    from services import queue
    from services.accounts import Principal

    server, thread, port = serve(app, 0)
    base = f"http://127.0.0.1:{port}"
    token = sup.post("/api/v1/signage/screens", json={"site": "hall", "name": "lobby"}).json()["token"]
    admin = Principal(0, "test", "admin", ("hall",), 0)
    svc = queue.save_service(eng, admin, site="hall", name="社保", prefix="A", counters=["c1"])
    queue.take_ticket(eng, admin, site="hall", service_id=svc.id)
    pic = sup.post("/api/v1/signage/content", params={"site": "hall", "name": "blue.png"}, content=_png(BLUE)).json()["id"]
    pl = sup.post("/api/v1/signage/playlists", json={"site": "hall", "name": "p",
                                                     "items": [{"content_id": pic, "duration_s": 3600}]}).json()
    yellow = sup.post("/api/v1/signage/content", params={"site": "hall", "name": "yellow.png"},
                      content=_png(YELLOW)).json()["id"]
    side = sup.post("/api/v1/signage/playlists", json={"site": "hall", "name": "side",
                                                       "items": [{"content_id": yellow, "duration_s": 600}]}).json()
    regions = _five(side["id"])
    made = sup.post("/api/v1/signage/layouts", json={"site": "hall", "name": "五区", "regions": regions})
    assert made.status_code == 201, made.text
    lay = made.json()
    assert sup.post("/api/v1/signage/schedules", json={"site": "hall", "playlist_id": pl["id"], "screens": ["lobby"],
                                                       "layout_id": lay["id"]}).status_code == 201

    # the server's preview of the screen: the same regions, placed by the same code
    preview = Image.open(io.BytesIO(sup.get("/api/v1/signage/screens/lobby/preview.png").content)).convert("RGB")
    assert _regions_ok(preview, regions) == []

    cache = ContentCache(tmp_path / "cache")
    syncer = Syncer(client=ApiClient(base_url=base, token=token), screen="lobby", cache=cache, poll_s=0.5,
                    heartbeat_s=1.0, max_backoff_s=1.0)
    player = Player(screen="lobby", cache=cache, syncer=syncer, options=PlayerOptions(tick_s=0.25))
    stop = threading.Event()
    threads = [threading.Thread(target=syncer.run, args=(stop,)), threading.Thread(target=player.run, args=(stop,))]
    threads[0].start()
    wait_for(lambda: syncer.snapshot()[0] is not None, 10, "first manifest")
    manifest = syncer.snapshot()[0]
    assert manifest["queue"] == [{"service": "社保", "waiting": 1, "serving": []}]
    threads[1].start()
    shots = tmp_path / "shots"
    shots.mkdir()
    n = [0]
    last: list[list[str]] = [[]]

    def regions_on_screen() -> bool:
        n[0] += 1
        last[0] = _regions_ok(shoot(shots / f"{n[0]:03d}.png"), regions)
        return not last[0]
    try:
        wait_for(regions_on_screen, 20, "every region of the layout on screen")
        # the ticker moves: its text is elsewhere a second later
        x, y, w, h = next(rect for r, rect in rects(Layout(1, "x", layout.regions_from_list(REGIONS)), (1280, 656))
                          if r.kind == "ticker")
        first = shoot(shots / "t1.png").crop((x, y, x + w, y + h)).tobytes()
        wait_for(lambda: shoot(shots / "t2.png").crop((x, y, x + w, y + h)).tobytes() != first, 5, "the ticker moving")
        assert player.stats.current == "playlist:blue.png"
        # an emergency notice takes the whole area, as without layouts
        it = sup.post("/api/v1/signage/interrupts", json={"site": "hall", "title": "紧急通知", "body": "请有序离场"})
        assert it.status_code == 201
        wait_for(lambda: near(shoot(shots / "n.png").getpixel((1200, 100)), slides.INTERRUPT_BG), 10,
                 "the notice over the clock's place")
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        server.should_exit = True
        thread.join(10)
        eng.dispose()
    assert not last[0]
