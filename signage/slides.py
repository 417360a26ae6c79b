"""Full-screen slides drawn with Pillow and Noto Sans CJK: text announcements (wrapped, fitted,
paged when long), the default board (hall name, date and time, now serving, 暂停服务), the
interrupt notice, and the now-serving ticker strip laid over whatever plays."""
from __future__ import annotations

import datetime as dt
import glob
import logging
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

logger = logging.getLogger(__name__)

FONT_GLOBS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-{w}.ttc", "/usr/share/fonts/**/NotoSansCJK*-{w}.tt[cf]")
#: Colours (RGB) of the generated screens; tests recognise the screens by them.
BOARD_BG = (16, 42, 92)
INTERRUPT_BG = (176, 0, 0)
ANNOUNCE_BG = (250, 246, 232)
TICKER_BG = (20, 20, 20)
PAUSED = "暂停服务"
WEEKDAYS_ZH = "一二三四五六日"


class SlideError(Exception):
    """No CJK font could be found (``fonts-noto-cjk`` is not installed)."""


@dataclass(frozen=True)
class ServingRow:
    counter: str
    ticket: str | None
    paused: bool = False
    called_s: float | None = None
    #: The name the hall uses (3号窗口); empty: the counter's id is shown, as "<id> 窗口".
    display: str = ""

    @property
    def label(self) -> str:
        return self.display or f"{self.counter} 窗口"


@lru_cache(maxsize=4)
def font_path(weight: str = "Regular") -> str:
    """Path of Noto Sans CJK (``Regular`` or ``Bold``). Raises SlideError if none is installed."""
    for pattern in FONT_GLOBS:
        found = sorted(glob.glob(pattern.format(w=weight), recursive=True))
        if found:
            return found[0]
    raise SlideError(f"no Noto Sans CJK {weight} font under /usr/share/fonts (apt-get install fonts-noto-cjk)")


def _font(size_px: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """The CJK font at ``size_px``; one object per thread (a FreeType face is not thread-safe,
    and the player draws text pages on a thread of their own)."""
    return _thread_font(size_px, bold, threading.get_ident())


@lru_cache(maxsize=128)
def _thread_font(size_px: int, bold: bool, _thread: int) -> ImageFont.FreeTypeFont:
    # index 2 of the .ttc is the Simplified Chinese face (SC) in Debian's Noto CJK collection
    path = font_path("Bold" if bold else "Regular")
    try:
        return ImageFont.truetype(path, size_px, index=2)
    except OSError:
        return ImageFont.truetype(path, size_px)


def _width(font: ImageFont.FreeTypeFont, text: str) -> float:
    return font.getlength(text)


def wrap(text: str, font: ImageFont.FreeTypeFont, width_px: float, *, max_lines: int | None = None) -> list[str]:
    """Break ``text`` into lines no wider than ``width_px``: anywhere between CJK characters,
    at spaces within Latin text (a Latin word longer than a line is cut), and at newlines.

    With ``max_lines``, stops once it has more than that many lines (it returns ``max_lines + 1``
    then): a caller that only wants to know whether the text fits, or wants its first pages, does
    not pay for the whole of a 20,000-character announcement. Widths are summed per token (one
    measurement per distinct token) and measured as a whole only near the line's end (kerning)."""
    lines: list[str] = []
    widths: dict[str, float] = {}

    def tw(tok: str) -> float:
        w = widths.get(tok)
        if w is None:
            w = widths[tok] = _width(font, tok)
        return w

    slack = font.size * 0.5

    def full() -> bool:
        return max_lines is not None and len(lines) > max_lines

    for para in text.replace("\r\n", "\n").split("\n"):
        line, line_w = "", 0.0
        tokens: list[str] = []
        word = ""
        for ch in para:   # tokens: runs of ASCII letters/digits stay together, everything else alone
            if ch.isascii() and ch.isalnum():
                word += ch
                continue
            if word:
                tokens.append(word)
                word = ""
            tokens.append(ch)
        if word:
            tokens.append(word)
        for tok in tokens:
            est = line_w + tw(tok)
            if est <= width_px - slack or (est <= width_px + slack and _width(font, line + tok) <= width_px):
                line, line_w = line + tok, est
                continue
            if line.strip():
                lines.append(line.rstrip())
                if full():
                    return lines
            line = tok.lstrip() if tok != " " else ""
            while _width(font, line) > width_px and len(line) > 1:   # a token wider than the line
                cut = len(line)
                while cut > 1 and _width(font, line[:cut]) > width_px:
                    cut -= 1
                lines.append(line[:cut])
                if full():
                    return lines
                line = line[cut:]
            line_w = _width(font, line)
        lines.append(line.rstrip())
        if full():
            return lines
    while lines and not lines[-1]:
        lines.pop()
    return lines


#: At most this many pages of one announcement are laid out and drawn (the rest is left off, and
#: the last page says so): a 20,000-character text at the smallest size is ~60 pages of 1280x656,
#: which no one reads in an item's time; the cap bounds the time and disk a text costs.
MAX_TEXT_PAGES = 30
#: Shown at the end of the last page when the text is longer than the pages allowed.
MORE = "（下文略）"


@dataclass(frozen=True)
class TextLayout:
    """An announcement laid out for one screen size: title lines, body size and lines per page.
    ``cut``: the text had more than the pages allowed (the last page ends with ``MORE``)."""

    size: tuple[int, int]
    title_lines: tuple[str, ...]
    title_px: int
    body_px: int
    pages: tuple[tuple[str, ...], ...]
    cut: bool = False


def layout_text(title: str, body: str, *, size: tuple[int, int] = (1280, 720), min_body_px: int = 0,
                max_pages: int = MAX_TEXT_PAGES) -> TextLayout:
    """Lay out an announcement: the body as large as fits on one page (down to a readable minimum,
    about 1/18 of the screen height); longer text is paged at that size, at most ``max_pages``
    pages (the rest is cut, ``cut`` set). Costs about one wrap of ``max_pages`` pages, whatever
    the length of the text."""
    w, h = size
    max_pages = max(1, max_pages)
    margin = int(w * 0.06)
    title_px = max(24, h // 12)
    title_lines = tuple(wrap(title, _font(title_px, bold=True), w - 2 * margin, max_lines=2)[:2])
    top = margin + len(title_lines) * int(title_px * 1.3) + h // 40
    bottom = h - margin - h // 20          # room for the page number
    avail = bottom - top
    min_px = max(min_body_px, h // 18)
    for px in range(max(min_px, h // 11), min_px + 1, -2):
        per_page = avail // int(px * 1.5)
        lines = wrap(body, _font(px), w - 2 * margin, max_lines=max(1, per_page))
        if len(lines) <= per_page:
            return TextLayout(size, title_lines, title_px, px, (tuple(lines),))
    per_page = max(1, avail // int(min_px * 1.5))
    lines = wrap(body, _font(min_px), w - 2 * margin, max_lines=per_page * max_pages)
    cut = len(lines) > per_page * max_pages
    if cut:
        lines = lines[:per_page * max_pages]
        lines[-1] = lines[-1][:max(0, len(lines[-1]) - len(MORE))] + MORE
    pages = tuple(tuple(lines[i:i + per_page]) for i in range(0, len(lines), per_page)) or ((),)
    return TextLayout(size, title_lines, title_px, min_px, pages, cut)


def text_page(layout: TextLayout, n: int) -> Image.Image:
    """Page ``n`` (1-based) of ``layout``: titled, and numbered ``n/N`` when there are several."""
    w, h = layout.size
    margin = int(w * 0.06)
    tfont, bfont = _font(layout.title_px, bold=True), _font(layout.body_px)
    line_h = int(layout.body_px * 1.5)
    top = margin + len(layout.title_lines) * int(layout.title_px * 1.3) + h // 40
    img = Image.new("RGB", layout.size, ANNOUNCE_BG)
    d = ImageDraw.Draw(img)
    y = margin
    for tl in layout.title_lines:
        d.text((margin, y), tl, font=tfont, fill=(150, 20, 20))
        y += int(layout.title_px * 1.3)
    d.line((margin, top - h // 80, w - margin, top - h // 80), fill=(150, 20, 20), width=max(2, h // 240))
    y = top
    for line in layout.pages[n - 1]:
        d.text((margin, y), line, font=bfont, fill=(30, 30, 30))
        y += line_h
    if len(layout.pages) > 1:
        label = f"{n}/{len(layout.pages)}"
        f = _font(max(16, h // 30))
        d.text((w - margin - _width(f, label), h - margin), label, font=f, fill=(120, 120, 120))
    return img


def text_slides(title: str, body: str, *, size: tuple[int, int] = (1280, 720),
                min_body_px: int = 0, max_pages: int = MAX_TEXT_PAGES) -> list[Image.Image]:
    """Every page of an announcement (:func:`layout_text`, :func:`text_page`); for short texts
    and tests: the player draws one page at a time."""
    layout = layout_text(title, body, size=size, min_body_px=min_body_px, max_pages=max_pages)
    return [text_page(layout, n) for n in range(1, len(layout.pages) + 1)]


def interrupt_slide(title: str, body: str, *, size: tuple[int, int] = (1280, 720)) -> Image.Image:
    """The emergency notice: white on red, as large as fits (first page only if very long)."""
    w, h = size
    img = Image.new("RGB", size, INTERRUPT_BG)
    d = ImageDraw.Draw(img)
    margin = int(w * 0.06)
    tfont = _font(max(28, h // 8), bold=True)
    d.text((w / 2, margin), title, font=tfont, fill=(255, 255, 255), anchor="ma")
    top = margin + int(h // 8 * 1.5)

    def attempt(px: int) -> tuple[bool, list[str]]:
        fits = int((h - top - margin) // (px * 1.4))
        lines = wrap(body, _font(px), w - 2 * margin, max_lines=max(1, fits))   # only what can show
        return len(lines) <= fits, lines

    # the largest even size from 20 px up to h/10 that fits, found by bisection (a notice must be
    # quick to draw: a few wraps of one screenful, whatever the length of its text)
    sizes = list(range(20, max(24, h // 10) + 1, 2))
    lo, hi = 0, len(sizes) - 1
    px = sizes[0]
    ok, lines = attempt(px)
    if ok:
        while lo < hi:
            mid = (lo + hi + 1) // 2
            fits, got = attempt(sizes[mid])
            if fits:
                lo = mid
            else:
                hi = mid - 1
        px = sizes[lo]
        ok, lines = attempt(px)
    bfont = _font(px)
    y = top
    for line in lines:
        if y + px > h - margin:
            break
        d.text((margin, y), line, font=bfont, fill=(255, 255, 255))
        y += int(px * 1.4)
    return img


def serving_text(rows: list[ServingRow]) -> str:
    parts = []
    for r in rows:
        if r.paused:
            parts.append(f"{r.label} {PAUSED}")
        elif r.ticket:
            parts.append(f"请 {r.ticket} 号到 {r.label}")
    return "    ".join(parts)


def ticker(rows: list[ServingRow], *, width_px: int = 1280, height_px: int = 72) -> Image.Image:
    """A strip listing the latest call per counter (newest first) and the paused counters."""
    img = Image.new("RGB", (width_px, height_px), TICKER_BG)
    d = ImageDraw.Draw(img)
    rows = sorted(rows, key=lambda r: -(r.called_s or 0))
    f = _font(int(height_px * 0.55), bold=True)
    d.text((height_px // 3, height_px / 2), serving_text(rows) or "欢迎光临", font=f, fill=(255, 214, 0),
           anchor="lm")
    return img


def board(*, hall: str, now: dt.datetime, rows: list[ServingRow],
          size: tuple[int, int] = (1280, 720)) -> Image.Image:
    """The default board shown when nothing is scheduled: never a black screen."""
    w, h = size
    img = Image.new("RGB", size, BOARD_BG)
    d = ImageDraw.Draw(img)
    m = int(w * 0.05)
    d.text((m, m), hall or "服务大厅", font=_font(max(28, h // 11), bold=True), fill=(255, 255, 255))
    stamp = f"{now:%Y-%m-%d} 星期{WEEKDAYS_ZH[now.weekday()]}  {now:%H:%M}"
    sf = _font(max(20, h // 20))
    d.text((w - m, m + h // 60), stamp, font=sf, fill=(200, 220, 255), anchor="ra")
    hf = _font(max(20, h // 18), bold=True)
    y = m + h // 6
    d.text((m, y), "正在办理 Now serving", font=hf, fill=(255, 214, 0))
    y += int(h / 18 * 1.8)
    rf = _font(max(18, h // 16))
    cols = 2 if len(rows) > 6 else 1
    col_w = (w - 2 * m) // cols
    per_col = max(1, (h - y - m) // int(h / 16 * 1.5))
    for n, r in enumerate(rows[:per_col * cols]):
        x = m + (n // per_col) * col_w
        yy = y + (n % per_col) * int(h / 16 * 1.5)
        d.text((x, yy), r.display or r.counter, font=rf, fill=(255, 255, 255))
        if r.paused:
            d.text((x + col_w * 0.45, yy), PAUSED, font=rf, fill=(255, 120, 120))
        else:
            d.text((x + col_w * 0.45, yy), r.ticket or "—", font=rf, fill=(255, 255, 255))
    return img


def save_png(img: Image.Image, path: Path) -> Path:
    """Write atomically (the player may be reading the previous version)."""
    tmp = path.with_suffix(".tmp.png")
    img.save(tmp, "PNG")
    tmp.replace(path)
    return path
