"""A screen's picture at a moment, drawn by the screen player's own renderer (signage.slides): the
same text slides, board and emergency notice, the image scaled into the video area as VLC shows
it, a video's first frame, and the now-serving ticker strip below, with the counters' display
names. What the console's preview shows is what the hall sees.
"""
from __future__ import annotations

import datetime as dt
import io
import logging

from PIL import Image, ImageDraw
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.timezones import site_zone
from services.accounts import Principal
from services.signage import preview, queue_board, serving_rows, site_schedule, visible_screen
from services.signage_content import content_key
from signage import layout, slides, widgets
from signage.schedule import region_item, ticker_text
from storage.objects import ObjectStore
from storage.store_errors import StoreError
from storage.tables import SignageContent

logger = logging.getLogger(__name__)

#: The preview's size: a 720p screen, of which the ticker takes the bottom strip (PlayerOptions).
SIZE = (1280, 720)
TICKER_PX = 64
#: A video is decoded for its first frame only up to this size (larger ones get a title card).
MAX_VIDEO_BYTES = 64 * 1024 * 1024


def _fit(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    """``img`` scaled into ``size`` keeping its aspect, centred on black (as VLC shows it)."""
    out = Image.new("RGB", size, (0, 0, 0))
    img = img.convert("RGB")
    img.thumbnail(size)
    out.paste(img, ((size[0] - img.width) // 2, (size[1] - img.height) // 2))
    return out


def _card(title: str, size: tuple[int, int]) -> Image.Image:
    img = Image.new("RGB", size, (0, 0, 0))
    d = ImageDraw.Draw(img)
    d.text((size[0] / 2, size[1] / 2), f"视频：{title}", font=slides._font(max(20, size[1] // 16)), fill=(230, 230, 230),
           anchor="mm")
    return img


def _video_frame(data: bytes) -> Image.Image | None:
    import av

    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            for frame in container.decode(video=0):
                return frame.to_image()
    except (av.error.FFmpegError, ValueError, IndexError) as e:
        logger.info("signage preview: no frame from the video: %s", e)
    return None


def _media(store: ObjectStore, c: SignageContent, size: tuple[int, int]) -> Image.Image:
    try:
        if c.kind == "video" and c.size_bytes > MAX_VIDEO_BYTES:
            return _card(c.name, size)
        data = store.get_bytes(content_key(c.sha256))
    except StoreError as e:
        logger.warning("signage preview: content %s unreadable: %s", c.id, e)
        return _card(c.name, size)
    if c.kind == "image":
        try:
            return _fit(Image.open(io.BytesIO(data)), size)
        except OSError:
            return _card(c.name, size)
    frame = _video_frame(data)
    return _fit(frame, size) if frame is not None else _card(c.name, size)


def render_png(db: Session, store: ObjectStore, user: Principal, name: str, at: dt.datetime | None = None) -> bytes:
    """The screen ``name`` as it looks at ``at`` (default now), as a PNG.

    Raises:
        NotFoundHere: no such screen in the user's sites.
    """
    screen, site = visible_screen(db, user, name)
    view = preview(db, user, name, at)
    full = (SIZE[0], SIZE[1] - TICKER_PX)
    # the layout's regions placed by the player's own geometry (signage.layout.rects)
    placed = layout.rects(view.layout, full)
    area = next(rect for r, rect in placed if r.kind == "main")[2:]
    rows = [slides.ServingRow(r["counter"], r["ticket"], bool(r["paused"]), r["called_s"], r["display_name"])
            for r in serving_rows(db, site.id)]
    local = view.at.astimezone(site_zone(site.timezone)).replace(tzinfo=None)
    if view.kind == "interrupt" and view.interrupt is not None:
        picture = slides.interrupt_slide(view.interrupt.title, view.interrupt.body, size=area)
    elif view.kind == "playlist" and view.content is not None:
        c = db.scalar(select(SignageContent).where(SignageContent.id == view.content.id))
        assert c is not None  # preview() read this row in the same session
        if c.kind == "text":
            pages = slides.text_slides(c.title, c.body, size=area)
            span = ((view.item_end - view.item_start).total_seconds() if view.item_end and view.item_start else 0) \
                / max(1, len(pages))
            page = min(len(pages) - 1, int((view.at - view.item_start).total_seconds() // span)) \
                if span > 0 and view.item_start else 0
            picture = pages[max(0, page)]
        else:
            picture = _media(store, c, area)
    else:
        picture = slides.board(hall=site.title or site.name, now=local, rows=rows, size=area)
    out = Image.new("RGB", SIZE, slides.BOARD_BG)
    queue = widgets.queue_rows(queue_board(db, user, site)) \
        if any(r.kind == "queue_board" for r, _ in placed) else []
    sched = site_schedule(db, site.id) if any(r.playlist_id is not None for r, _ in placed) else None
    for region, (x, y, w, h) in placed:
        if region.kind == "main":
            out.paste(picture, (x, y))
        elif region.kind == "playlist" and sched is not None:
            item = region_item(sched, region.playlist_id, local)
            row = db.get(SignageContent, item.id) if item is not None else None
            out.paste(_media(store, row, (w, h)) if row is not None else Image.new("RGB", (w, h), slides.BOARD_BG), (x, y))
        elif region.kind == "clock":
            out.paste(widgets.clock(local, (w, h)), (x, y))
        elif region.kind == "ticker":
            out.paste(widgets.ticker(ticker_text(sched, region) if sched is not None else region.text, (w, h)), (x, y))
        elif region.kind == "queue_board":
            out.paste(widgets.queue_board(queue, (w, h)), (x, y))
        elif region.kind == "feed":   # the server never fetches a feed (SSRF): its placeholder
            out.paste(widgets.feed(region.text, (), (w, h)), (x, y))
    out.paste(slides.ticker(rows, width_px=SIZE[0], height_px=TICKER_PX), (0, full[1]))
    buf = io.BytesIO()
    out.save(buf, "PNG")
    return buf.getvalue()


__all__ = ["render_png", "SIZE", "TICKER_PX", "visible_screen"]
