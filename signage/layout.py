"""Layouts of a screen: regions, each a rectangle of the screen's picture area showing the
schedule's playlist (``main``), a playlist of its own (``playlist``: images, e.g. a side panel)
or a widget (``clock``, ``ticker``, ``queue_board``, ``feed``). A ticker scrolls its own ``text``, or the
text announcements of a playlist (``playlist_id``: :func:`signage.schedule.ticker_text`). A ``feed``
shows the first ``max_items`` titles of an RSS or JSON ``url`` on the hall's network under its
heading ``text``; the screen box fetches it (:mod:`signage.feeds`), never the server.

Pure: no Tk, no Pillow. The player (:mod:`signage.player`) and the server's preview
(:mod:`services.signage_preview`) both place regions with :func:`rects`, so the console's
preview and the screen cut the picture the same way. A region's place is in thousandths of the
picture area (``x``, ``y``, ``w``, ``h`` in 0..1000), so one layout fits any screen size;
neighbouring regions share their edge to the pixel. The picture area is the screen less the
now-serving strip at the bottom, which every layout keeps.

A schedule entry names a layout (``layout_id``); none, or an emergency notice or the board on
screen: :data:`DEFAULT` (the main region on the whole area, as before layouts).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from domain.errors import Invalid

RegionKind = Literal["main", "playlist", "clock", "ticker", "queue_board", "feed"]
REGION_KINDS: tuple[str, ...] = ("main", "playlist", "clock", "ticker", "queue_board", "feed")
#: Region coordinates are thousandths of the picture area.
UNITS = 1000
#: The smallest region side (5 % of the area): anything smaller shows nothing readable.
MIN_SIDE = 50
MAX_REGIONS = 6
MAX_TICKER_TEXT = 500
#: A feed region's URL: http(s) only, at most this long.
MAX_URL = 500
#: A feed's refresh interval bounds (seconds) and its default; how many titles it may show.
MIN_REFRESH_S, MAX_REFRESH_S, REFRESH_S = 5, 86400, 300
MAX_FEED_ITEMS = 10


class LayoutError(Invalid):
    """A layout that cannot be accepted; ``field`` names the part (``regions[2].w``) and
    ``code`` is ``bad_region`` (outside the screen, too small, overlapping another, bad text)
    or ``bad_layout`` (no main region, or more than one, or too many regions)."""

    def __init__(self, code: str, field: str, reason: str, **params: object) -> None:
        super().__init__("layout", reason, code=code, field=field, **params)
        self.field = field


@dataclass(frozen=True)
class Region:
    kind: RegionKind
    x: int = 0
    y: int = 0
    w: int = UNITS
    h: int = UNITS
    #: the ticker's text (announcements); unused by the other kinds
    text: str = ""
    #: a ``playlist`` region's own playlist (images), looping from the site's midnight; a
    #: ``ticker``'s playlist of text announcements (scrolled one after the other)
    playlist_id: int | None = None
    #: a ``feed`` region's RSS/JSON URL (http or https), how often the screen box fetches it, and
    #: how many of its titles it shows; unused by the other kinds
    url: str = ""
    refresh_s: int = REFRESH_S
    max_items: int = 5


def feed_url_ok(url: str) -> bool:
    """An http(s) URL with a host, no longer than :data:`MAX_URL`, without spaces or controls."""
    if not url or len(url) > MAX_URL or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return False
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:
        return False


@dataclass(frozen=True)
class Layout:
    id: int
    name: str
    regions: tuple[Region, ...]

    @property
    def main(self) -> Region:
        return next(r for r in self.regions if r.kind == "main")


#: The layout of a schedule that names none, of emergency notices and of the board.
DEFAULT = Layout(0, "全屏", (Region("main"),))


def _overlap(a: Region, b: Region) -> bool:
    return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h


def validate_layout(regions: tuple[Region, ...] | list[Region]) -> None:
    """Raises LayoutError naming the first field at fault: a region outside the area or smaller
    than :data:`MIN_SIDE`, two regions that overlap, not exactly one ``main`` region."""
    if not regions or len(regions) > MAX_REGIONS:
        raise LayoutError("bad_layout", "regions", f"a layout has 1 to {MAX_REGIONS} regions")
    for n, r in enumerate(regions):
        where = f"regions[{n}]"
        if r.kind not in REGION_KINDS:
            raise LayoutError("bad_region", f"{where}.kind", f"region {n}: kind must be one of {', '.join(REGION_KINDS)}",
                              problem="kind")
        for name in ("x", "y"):
            if not 0 <= getattr(r, name) <= UNITS - MIN_SIDE:
                raise LayoutError("bad_region", f"{where}.{name}",
                                  f"region {n}: {name} must be within 0..{UNITS - MIN_SIDE} (thousandths of the screen)",
                                  problem="outside")
        for name, start in (("w", r.x), ("h", r.y)):
            size = getattr(r, name)
            if size < MIN_SIDE:
                raise LayoutError("bad_region", f"{where}.{name}", f"region {n}: {name} must be at least {MIN_SIDE}",
                                  problem="small")
            if start + size > UNITS:
                raise LayoutError("bad_region", f"{where}.{name}",
                                  f"region {n} reaches past the screen's edge ({start} + {size} > {UNITS})", problem="outside")
        if len(r.text) > MAX_TICKER_TEXT:
            raise LayoutError("bad_region", f"{where}.text", f"region {n}: text longer than {MAX_TICKER_TEXT} characters",
                              problem="text")
        if (r.kind == "playlist" and r.playlist_id is None) or (r.kind not in ("playlist", "ticker")
                                                                and r.playlist_id is not None):
            raise LayoutError("bad_region", f"{where}.playlist_id", f"region {n}: a playlist region names a playlist; "
                              "a ticker may (of text announcements); the others do not", problem="playlist")
        if (r.kind == "feed") != bool(r.url) or (r.kind == "feed" and not feed_url_ok(r.url)):
            raise LayoutError("bad_region", f"{where}.url", f"region {n}: a feed region has an http(s) URL of at most "
                              f"{MAX_URL} characters; the others have none", problem="url")
        if not MIN_REFRESH_S <= r.refresh_s <= MAX_REFRESH_S:
            raise LayoutError("bad_region", f"{where}.refresh_s",
                              f"region {n}: refresh_s within {MIN_REFRESH_S}..{MAX_REFRESH_S}", problem="refresh")
        if not 1 <= r.max_items <= MAX_FEED_ITEMS:
            raise LayoutError("bad_region", f"{where}.max_items", f"region {n}: max_items within 1..{MAX_FEED_ITEMS}",
                              problem="max_items")
        for m, other in enumerate(regions[:n]):
            if _overlap(r, other):
                raise LayoutError("bad_region", where, f"region {n} overlaps region {m}", problem="overlap", other=m)
    mains = [n for n, r in enumerate(regions) if r.kind == "main"]
    if len(mains) != 1:
        raise LayoutError("bad_layout", "regions" if not mains else f"regions[{mains[1]}].kind",
                          "a layout has exactly one main region (the schedule's playlist)")


def rects(layout: Layout, size: tuple[int, int]) -> list[tuple[Region, tuple[int, int, int, int]]]:
    """Each region of ``layout`` with its rectangle (x, y, width, height) in pixels of a picture
    area of ``size``; edges are rounded once, so neighbours meet without a gap or an overlap."""
    width, height = size

    def px(v: int, total: int) -> int:
        return round(v * total / UNITS)

    out = []
    for r in layout.regions:
        x0, y0 = px(r.x, width), px(r.y, height)
        out.append((r, (x0, y0, max(1, px(r.x + r.w, width) - x0), max(1, px(r.y + r.h, height) - y0))))
    return out


def main_rect(layout: Layout, size: tuple[int, int]) -> tuple[int, int, int, int]:
    return next(rect for r, rect in rects(layout, size) if r.kind == "main")


def layout_to_dict(layout: Layout) -> dict:
    return {"id": layout.id, "name": layout.name,
            "regions": [{"kind": r.kind, "x": r.x, "y": r.y, "w": r.w, "h": r.h, "text": r.text,
                         "playlist_id": r.playlist_id, "url": r.url, "refresh_s": r.refresh_s,
                         "max_items": r.max_items} for r in layout.regions]}


def regions_from_list(items: list[dict]) -> tuple[Region, ...]:
    return tuple(Region(kind=d["kind"], x=int(d.get("x", 0)), y=int(d.get("y", 0)), w=int(d.get("w", UNITS)),
                        h=int(d.get("h", UNITS)), text=str(d.get("text") or ""),
                        playlist_id=int(d["playlist_id"]) if d.get("playlist_id") is not None else None,
                        url=str(d.get("url") or ""), refresh_s=int(d.get("refresh_s") or REFRESH_S),
                        max_items=int(d.get("max_items") or 5)) for d in items)


def layout_from_dict(d: dict) -> Layout:
    return Layout(id=int(d["id"]), name=str(d.get("name", "")), regions=regions_from_list(d.get("regions") or []))
