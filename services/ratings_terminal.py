"""The rating terminal (评价器) at a counter: what it shows (the staff member on duty, the site's
scale, whether a service waits for its rating) and its presses.

A press is a ``rating`` event recorded through :meth:`services.catalog.Catalog.add_event`, the
path a hall's own raters use, so the interaction it rates is found by the one rule of
``storage.queries.rating_of``. Each press carries the terminal's key of the service it rates
(``ticket:<id>``, or ``press:<random>`` without a ticket): a resend after the network came back
is the same row (one rating per service). A 差评 opens a work order (:mod:`services.workorders`).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from domain.errors import Invalid
from domain.vocab import BAD_LEVELS, BAD_RATING_REASONS, RATING_DIMENSIONS, RATING_SCALES
from services.accounts import Principal
from services.catalog import Catalog
from services.names import counter_label
from services.workorders import open_in
from storage.engine import read_session, write_session
from storage.tables import Counter, Event, QueueTicket, Shift, Site, Staff, WorkOrder, now_s

#: A finished ticket waits this long for its rating; after that the terminal stops asking.
ASK_WINDOW_S = 900.0
#: A press kept offline by the terminal is accepted this long after it was made.
OFFLINE_KEEP_S = 7 * 86400.0


class RatingError(Invalid):
    code = "bad_rating"


@dataclass(frozen=True)
class TerminalState:
    site: str
    counter: str
    counter_label: str
    staff_name: str | None
    staff_no: str | None
    #: whether the staff member on duty has a photo (``GET /ratings/terminal/photo``)
    staff_photo: bool
    scale: str
    levels: list[str]
    dimensions: list[str]
    reasons: list[str]
    bad_levels: list[str]
    #: The service waiting for its rating: {"key", "ticket"}; None: nothing to ask now.
    pending: dict | None


def bound_counter(s: Session, user: Principal) -> tuple[Counter, Site]:
    if user.counter_id is None:
        raise Invalid("rating terminal", "this token is not bound to a counter", code="not_bound")
    c = s.get_one(Counter, user.counter_id)
    return c, s.get_one(Site, c.site_id)


def on_duty(s: Session, counter_id: int, at_s: float) -> Staff | None:
    """Who was on duty at the counter at ``at_s`` (their shift began before and had not ended)."""
    return s.scalar(select(Staff).join(Shift, Shift.staff_id == Staff.id).where(
        Shift.counter_id == counter_id, Shift.start_s <= at_s, (Shift.end_s.is_(None)) | (Shift.end_s > at_s))
        .order_by(Shift.start_s.desc()).limit(1))


def terminal(db: Session, user: Principal, *, now: float | None = None) -> TerminalState:
    at = now or now_s()
    c, site = bound_counter(db, user)
    staff = on_duty(db, c.id, at)
    pending = None
    t = db.scalar(select(QueueTicket).where(QueueTicket.counter_id == c.id, QueueTicket.state == "done",
                                            QueueTicket.finished_s >= at - ASK_WINDOW_S)
                  .order_by(QueueTicket.finished_s.desc()).limit(1))
    if t is not None:
        key = f"ticket:{t.id}"
        if db.scalar(select(Event.id).where(Event.counter_id == c.id, Event.dedup_key == key)) is None:
            pending = {"key": key, "ticket": t.code}
    scale = site.rating_scale if site.rating_scale in RATING_SCALES else "four"
    return TerminalState(site.name, c.name, counter_label(c.name, c.display_name), staff.name if staff else None,
                         staff.staff_no if staff else None, bool(staff and staff.photo_sha256), scale, list(RATING_SCALES[scale]),
                         list(RATING_DIMENSIONS) if scale == "five" else [], list(BAD_RATING_REASONS),
                         list(BAD_LEVELS), pending)


@dataclass(frozen=True)
class PressResult:
    event_id: int
    #: False: this key was pressed before (a resend); nothing new was written.
    new: bool
    work_order_id: int | None


def press(engine: Engine, user: Principal, *, key: str, level: str, dimensions: dict[str, str] | None = None,
          reasons: list[str] | None = None, waited_s: float = 0.0, now: float | None = None) -> PressResult:
    """Record a rating press of the terminal's counter, made ``waited_s`` seconds before this
    call (kept by the terminal while offline; measured on the terminal's own clock, so a tablet
    whose clock is wrong still dates its presses right).

    Raises:
        RatingError: a level, dimension or reason not of the site's scale, a key of another
            counter's ticket, a press that waited longer than OFFLINE_KEEP_S.
    """
    at = now or now_s()
    if not (0.0 <= waited_s <= OFFLINE_KEEP_S):
        raise RatingError(f"waited_s {waited_s}", "a press is accepted up to 7 days after it was made")
    pressed = at - waited_s
    with read_session(engine) as s:
        c, site = bound_counter(s, user)
        levels = RATING_SCALES.get(site.rating_scale, RATING_SCALES["four"])
        if level not in levels:
            raise RatingError(f"level {level!r}", f"the site's scale has {'/'.join(levels)}")
        dims = dimensions or {}
        bad = [k for k, v in dims.items() if k not in RATING_DIMENSIONS or v not in levels]
        if bad:
            raise RatingError("dimensions", f"unknown dimension or level: {', '.join(bad)[:100]}")
        why = reasons or []
        if any(r not in BAD_RATING_REASONS for r in why):
            raise RatingError("reasons", f"must be among {'/'.join(BAD_RATING_REASONS)}")
        payload: dict = {"level": level}
        if key.startswith("ticket:"):
            tid = key[7:]
            t = s.get(QueueTicket, int(tid)) if tid.isdigit() and len(tid) < 10 else None
            if t is None or t.counter_id != c.id:
                raise RatingError(f"key {key[:40]!r}", "is no ticket served at this counter")
            payload |= {"ticket": t.code, "ticket_id": str(t.id)}
        elif not (key.startswith("press:") and 8 <= len(key) <= 80 and key.isascii()):
            raise RatingError("key", "must be ticket:<id> or press:<8-74 characters>")
        if dims:
            payload["dimensions"] = dims
        if why:
            payload["reasons"] = why
        site_name, counter_name, site_id = site.name, c.name, site.id
    existing = None
    with read_session(engine) as s:
        existing = s.scalar(select(Event.id).where(Event.counter_id == user.counter_id, Event.dedup_key == key))
    event_id = Catalog(engine).add_event(site_name, counter_name, kind="rating", at_s=pressed, payload=payload,
                                         dedup_key=key)
    wo_id = None
    if existing is None and level in BAD_LEVELS:
        with write_session(engine) as s:
            if s.scalar(select(WorkOrder.id).where(WorkOrder.rating_event_id == event_id)) is None:
                title = f"差评整改：{payload.get('ticket', counter_name)} {level}"
                detail = "、".join(why) if why else ""
                wo_id = open_in(s, site_id=site_id, kind="rating", channel="system", title=title, detail=detail,
                                who=user.name, now=at, rating_event_id=event_id).id
    return PressResult(event_id, existing is None, wo_id)


def check_level(engine: Engine, *, site: str, level: str) -> None:
    """Refuse a rating level that is not on ``site``'s scale (a hall's own rater sending 基本满意
    to a site on the four levels).

    Raises:
        RatingError.
    """
    with read_session(engine) as s:
        scale = s.scalar(select(Site.rating_scale).where(Site.name == site))
    levels = RATING_SCALES.get(scale or "four", RATING_SCALES["four"])
    if level not in levels:
        raise RatingError(f"level {level!r}", f"the site's scale has {'/'.join(levels)}")


def set_staff_no(engine: Engine, user: Principal, *, site: str, name: str, staff_no: str) -> None:
    """Record a staff member's 工号 (shown on the rating terminal).

    Raises:
        SiteForbidden; NotFound (no such staff member at the site).
    """
    from services.interactions import check_site

    check_site(user, site)
    with write_session(engine) as s:
        find_staff(s, site=site, name=name).staff_no = staff_no


def find_staff(s: Session, *, site: str, name: str) -> Staff:
    """The staff member ``name`` of ``site`` (the caller checked the site is theirs).

    Raises:
        NotFound ``staff_not_found``: no shift was ever started for them there.
    """
    from domain.errors import NotFound

    person = s.scalar(select(Staff).join(Site, Staff.site_id == Site.id).where(Site.name == site, Staff.name == name))
    if person is None:
        raise NotFound(f"staff {name!r} at {site}", "not found (no shift was ever started for them)",
                       code="staff_not_found")
    return person


def set_scale(engine: Engine, user: Principal, *, site: str, scale: str) -> None:
    """The site's rating scale: ``four`` (the seed's four levels) or ``five`` (好差评, with dimensions).

    Raises:
        SiteForbidden, SiteNotFound, RatingError (unknown scale).
    """
    from services.catalog import SiteNotFound
    from services.interactions import check_site

    if scale not in RATING_SCALES:
        raise RatingError(f"scale {scale!r}", f"must be one of {', '.join(RATING_SCALES)}")
    check_site(user, site)
    with write_session(engine) as s:
        row = s.scalar(select(Site).where(Site.name == site))
        if row is None:
            raise SiteNotFound(site)
        row.rating_scale = scale
