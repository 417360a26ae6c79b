"""The screen's own picture (issue 24): each player sends a screenshot of what the public sees
now and then (and soon after staff ask for one), with what it says it plays and any skip or
stall of its loop; the console shows it beside the server's preview. One row per screen
(``signage_screenshots``), replaced by the next: a status picture, not evidence."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from domain.errors import NotFound
from services.accounts import Principal
from services.pictures import check_picture
from services.signage import visible_screen
from storage.engine import write_session
from storage.tables import SignageScreenshot, now_s

#: A JPEG of a 1920x1080 screen is ~0.1-0.4 MB; a PNG of a busy one can reach ~3 MB.
MAX_SCREENSHOT_BYTES = 4 * 1024 * 1024
MAX_SIDE_PX = 4096


@dataclass(frozen=True)
class ScreenshotView:
    screen: str
    taken_s: float
    received_s: float
    content_type: str
    width_px: int
    height_px: int
    #: what the player said with it: ``playing``, ``loop_late_s`` (how long its loop had not run:
    #: a freeze), ``skipped`` (content it skipped lately, with the reason)
    state: dict
    requested_s: float | None = None


def _check(data: bytes) -> tuple[str, int, int]:
    return check_picture(data, what="screenshot", max_bytes=MAX_SCREENSHOT_BYTES, max_side_px=MAX_SIDE_PX)


def put_screenshot(engine: Engine, user: Principal, name: str, data: bytes, *, taken_s: float, state: dict) -> None:
    """Keep ``data`` as the screen's picture (the screen's own token); a request for one that it
    answers is done.

    Raises:
        TooLarge ``screenshot_too_large``; Invalid ``bad_screenshot``; NotFoundHere; Forbidden.
    """
    content_type, w, h = _check(data)
    with write_session(engine) as s:
        screen, _ = visible_screen(s, user, name)
        row = s.get(SignageScreenshot, screen.id)
        if row is None:
            row = SignageScreenshot(screen_id=screen.id)
            s.add(row)
        row.taken_s, row.received_s, row.content_type = taken_s, now_s(), content_type
        row.width_px, row.height_px, row.state, row.data = w, h, dict(state), data
        status = dict(screen.status or {})
        if (status.get("screenshot_requested_s") or 0) <= taken_s + 5:
            status.pop("screenshot_requested_s", None)
            screen.status = status


def request_screenshot(engine: Engine, user: Principal, name: str) -> float:
    """Ask the screen for a picture now (it sends one at its next manifest poll). Returns when."""
    with write_session(engine) as s:
        screen, _ = visible_screen(s, user, name)
        at = now_s()
        screen.status = {**(screen.status or {}), "screenshot_requested_s": at}
        return at


def screenshot(db: Session, user: Principal, name: str) -> tuple[ScreenshotView, bytes]:
    """The screen's last picture and what came with it.

    Raises:
        NotFound ``no_screenshot``: the screen has not sent one yet. NotFoundHere: no such screen.
    """
    screen, _ = visible_screen(db, user, name)
    row = db.scalar(select(SignageScreenshot).where(SignageScreenshot.screen_id == screen.id))
    if row is None:
        raise NotFound(f"screenshot of screen {screen.name}", "the screen has not sent one yet", code="no_screenshot")
    view = ScreenshotView(screen.name, row.taken_s, row.received_s, row.content_type, row.width_px, row.height_px,
                          dict(row.state or {}), (screen.status or {}).get("screenshot_requested_s"))
    return view, row.data
