"""The widgets of a layout's regions (:mod:`signage.layout`), drawn with Pillow: the clock and
date in the site's zone, the scrolling announcement ticker, the queue board (per service the
tickets being served and how many wait), and a data feed's titles (:mod:`signage.feeds`). The
player and the server's preview draw them with these same functions. Each widget has a colour of
its own; tests recognise the regions by them.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from PIL import Image, ImageDraw

from signage.slides import WEEKDAYS_ZH, _font

CLOCK_BG = (0, 96, 88)
TICKER_TEXT_BG = (120, 40, 140)
QUEUE_BG = (32, 32, 32)
FEED_BG = (24, 60, 40)
#: what a feed region shows until its first titles arrive, and always in the server's preview
#: (the server never fetches a feed)
FEED_PLACEHOLDER = "数据源"
#: how fast the ticker's text moves, pixels per second
SCROLL_PX_S = 90.0


@dataclass(frozen=True)
class QueueRow:
    """A service on the queue board: its name, the tickets its counters are serving, how many wait."""

    service: str
    serving: tuple[str, ...]
    waiting: int


def date_zh(now: dt.datetime) -> str:
    """``2026年12月7日 星期一``."""
    return f"{now.year}年{now.month}月{now.day}日 星期{WEEKDAYS_ZH[now.weekday()]}"


def clock(now: dt.datetime, size: tuple[int, int]) -> Image.Image:
    """``HH:MM`` large with the Chinese date under it; ``now`` is the site's local time."""
    w, h = size
    img = Image.new("RGB", size, CLOCK_BG)
    d = ImageDraw.Draw(img)
    big = _font(max(12, min(int(h * 0.5), int(w / 3.2))), bold=True)
    small = _font(max(10, min(int(h * 0.18), int(w / 12))))
    d.text((w / 2, h * 0.40), f"{now:%H:%M}", font=big, fill=(255, 255, 255), anchor="mm")
    d.text((w / 2, h * 0.82), date_zh(now), font=small, fill=(210, 240, 235), anchor="mm")
    return img


def ticker_strip(text: str, height: int) -> Image.Image:
    """The ticker's text once, on its colour, as wide as it is (the player moves it across its
    region; at least 1 px wide)."""
    f = _font(max(10, int(height * 0.55)), bold=True)
    gap = height
    width = max(1, int(f.getlength(text)) + gap)
    img = Image.new("RGB", (width, height), TICKER_TEXT_BG)
    ImageDraw.Draw(img).text((0, height / 2), text, font=f, fill=(255, 255, 255), anchor="lm")
    return img


def ticker_offset(region_w: int, strip_w: int, elapsed_s: float) -> int:
    """Where the strip's left edge is after ``elapsed_s``: it enters at the right edge and
    leaves at the left, then starts again."""
    return region_w - int(elapsed_s * SCROLL_PX_S) % (region_w + strip_w)


def ticker(text: str, size: tuple[int, int], elapsed_s: float = 0.0) -> Image.Image:
    """The ticker region at one moment (the preview; at 0 s the text starts at the left edge)."""
    img = Image.new("RGB", size, TICKER_TEXT_BG)
    strip = ticker_strip(text, size[1])
    x = ticker_offset(size[0], strip.width, elapsed_s) if elapsed_s else 0
    img.paste(strip, (x, 0))
    return img


def queue_board(rows: list[QueueRow], size: tuple[int, int]) -> Image.Image:
    """A table: 业务 / 正在办理 / 等候人数, one line per service (as many as fit)."""
    w, h = size
    img = Image.new("RGB", size, QUEUE_BG)
    d = ImageDraw.Draw(img)
    line = max(16, min(h // (len(rows) + 2 or 2), h // 5))
    head, body = _font(max(10, int(line * 0.55)), bold=True), _font(max(10, int(line * 0.55)))
    m = max(4, w // 30)
    cols = (m, int(w * 0.42), int(w * 0.80))
    y = line // 2
    for x, label in zip(cols, ("业务", "正在办理", "等候"), strict=True):
        d.text((x, y), label, font=head, fill=(255, 214, 0))
    y += line
    if not rows:
        d.text((m, y), "暂无排队业务", font=body, fill=(200, 200, 200))
    for r in rows:
        if y + line > h:
            break
        d.text((cols[0], y), r.service, font=body, fill=(255, 255, 255))
        d.text((cols[1], y), " ".join(r.serving[:2]) or "—", font=body, fill=(255, 255, 255))
        d.text((cols[2], y), f"{r.waiting} 人", font=body, fill=(255, 255, 255))
        y += line
    return img


def feed(heading: str, titles: list[str] | tuple[str, ...], size: tuple[int, int]) -> Image.Image:
    """A feed region: its heading, then one title a line (as many as fit, each cut to the width);
    without titles, :data:`FEED_PLACEHOLDER` (never a blank region)."""
    w, h = size
    img = Image.new("RGB", size, FEED_BG)
    d = ImageDraw.Draw(img)
    rows = list(titles) or [FEED_PLACEHOLDER]
    lines = len(rows) + (1 if heading else 0)
    # a list's line: at least 6 lines to the region's height, a tenth of its width at most
    line = max(14, min(h // max(lines, 6), w // 10))
    head, body = _font(max(10, int(line * 0.6)), bold=True), _font(max(10, int(line * 0.55)))
    m = max(4, w // 30)
    y = max(2, line // 5)
    if heading:
        d.text((m, y), heading, font=head, fill=(255, 214, 0))
        y += line
    for t in rows:
        if y + line * 0.7 > h:
            break
        while len(t) > 1 and body.getlength(t) > w - 2 * m:
            t = t[:-2] + "…"
        d.text((m, y), t, font=body, fill=(255, 255, 255) if titles else (170, 200, 180))
        y += line
    return img


def queue_rows(items: list[dict]) -> list[QueueRow]:
    """The manifest's ``queue`` (``[{service, serving, waiting}]``) as rows."""
    return [QueueRow(str(i.get("service", "")), tuple(i.get("serving") or ()), int(i.get("waiting") or 0))
            for i in items]
