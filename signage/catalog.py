"""Database side of signage, shared by the API and the CLI: screens and their machine users,
the site's schedule as a pure :class:`signage.schedule.Schedule`, and what the hall calls."""
from __future__ import annotations

import logging

from sqlalchemy import delete, func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from signage.models import (SignageContent, SignageInterrupt, SignagePlaylist, SignageSchedule, SignageScreen)
from signage.schedule import (Content, Interrupt, Playlist, PlaylistItem, Schedule, ScreenRef, entry_from_dict)
from storage.db import Alarm, ApiToken, Counter, Event, Site, User

logger = logging.getLogger(__name__)

#: Default for the screen-gone alarm: a registered screen silent this long (its player polls
#: every second and sends a heartbeat every 10 s).
SCREEN_GONE_AFTER_S = 120.0


class SignageError(Exception):
    """A signage request that cannot be done: ``code`` is ``unknown_site``, ``unknown_screen``,
    ``name_taken``."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def screen_user_name(name: str) -> str:
    return f"screen:{name}"


def register_screen(engine: Engine, *, site: str, name: str, groups: list[str] | tuple[str, ...] = ()) -> tuple[int, str]:
    """Create (or update the groups of) screen ``name`` at ``site`` and issue a new token for its
    machine user; every earlier token of that user is revoked (a re-registered screen, or a
    replaced box, leaves no working old token behind). Returns (screen id, token); the token
    is shown once. One transaction: the screen row is locked while it is checked and changed.

    Screen names are unique across sites; a screen never moves to another site here (that would
    hand one site's screen, and its proof of play, to whoever manages the other).

    Raises:
        SignageError: ``unknown_site``; ``name_taken`` (a screen of that name is registered at
            another site).
    """
    from api.security import new_token, token_digest   # the CLI imports this module too: keep the API
                                                       # out of its import time

    taken = SignageError("name_taken", f"screen name {name!r} is already in use; choose another name")
    token = new_token()
    try:
        with Session(engine) as s, s.begin():
            site_id = s.scalar(select(Site.id).where(Site.name == site))
            if site_id is None:
                raise SignageError("unknown_site", f"no site {site!r} (register a counter there first)")
            row = s.scalar(select(SignageScreen).where(SignageScreen.name == name).with_for_update())
            if row is not None and row.site_id != site_id:
                raise taken
            user = s.scalar(select(User).where(User.name == screen_user_name(name)).with_for_update())
            if user is None:
                user = User(name=screen_user_name(name), role="screen", sites=[site])
                s.add(user)
            user.role, user.sites, user.active = "screen", [site], True
            s.flush()
            s.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
            s.add(ApiToken(user_id=user.id, token_sha256=token_digest(token), label="screen"))
            if row is None:
                row = SignageScreen(site_id=site_id, name=name, groups=list(groups), status={})
                s.add(row)
            elif groups:
                row.groups = list(groups)
            row.user_id = user.id
            s.flush()
            return row.id, token
    except IntegrityError as e:   # the same name registered at the same moment elsewhere
        raise taken from e


def screen_ref(row: SignageScreen) -> ScreenRef:
    return ScreenRef(row.name, frozenset(row.groups or ()))


def site_schedule(db: Session, site_id: int) -> Schedule:
    """Everything scheduled at the site, with the interrupts that are not cleared."""
    contents = {c.id: Content(id=c.id, kind=c.kind, name=c.name, sha256=c.sha256, title=c.title, body=c.body)
                for c in db.scalars(select(SignageContent).where(SignageContent.site_id == site_id))}
    playlists = {p.id: Playlist(id=p.id, name=p.name, items=tuple(PlaylistItem(int(i["content_id"]),
                                                                                float(i["duration_s"]))
                                                                   for i in p.items or ()))
                 for p in db.scalars(select(SignagePlaylist).where(SignagePlaylist.site_id == site_id))}
    entries = tuple(entry_from_dict(schedule_row_dict(e)) for e in
                    db.scalars(select(SignageSchedule).where(SignageSchedule.site_id == site_id)
                               .order_by(SignageSchedule.id)))
    interrupts = tuple(Interrupt(id=i.id, title=i.title, body=i.body, started_s=i.started_s,
                                 screens=frozenset(i.screens or ()))
                       for i in db.scalars(select(SignageInterrupt).where(SignageInterrupt.site_id == site_id,
                                                                          SignageInterrupt.cleared_s.is_(None))))
    return Schedule(contents=contents, playlists=playlists, entries=entries, interrupts=interrupts)


def interrupts_open_at(db: Session, site_id: int, at_s: float) -> tuple[Interrupt, ...]:
    """The site's interrupts that were open at ``at_s``: started by then and not cleared by then
    (one never cleared stays open)."""
    return tuple(Interrupt(id=i.id, title=i.title, body=i.body, started_s=i.started_s,
                           screens=frozenset(i.screens or ()))
                 for i in db.scalars(select(SignageInterrupt).where(
                     SignageInterrupt.site_id == site_id, SignageInterrupt.started_s <= at_s,
                     or_(SignageInterrupt.cleared_s.is_(None), SignageInterrupt.cleared_s > at_s))))


def schedule_row_dict(e: SignageSchedule) -> dict:
    return {"id": e.id, "playlist_id": e.playlist_id, "screens": e.screens, "groups": e.groups,
            "weekdays": e.weekdays, "start_time": e.start_time, "end_time": e.end_time,
            "start_date": e.start_date, "end_date": e.end_date, "priority": e.priority}


def site_screens(db: Session, site_id: int) -> tuple[ScreenRef, ...]:
    return tuple(screen_ref(r) for r in db.scalars(select(SignageScreen).where(SignageScreen.site_id == site_id)))


def events_cursor(db: Session) -> int:
    """The newest event id anywhere (0: none): cheap (the primary key's index), and it moves
    whenever a queue call, pause or resume is recorded, so a screen can ask "anything new?"
    several times a second and have now-serving computed only when something happened."""
    return int(db.scalar(select(func.max(Event.id))) or 0)


def now_serving(db: Session, site_id: int) -> list[dict]:
    """Per counter of the site: its latest queue call (by call time) and whether it is paused."""
    ranked = (select(Event.id.label("event_id"), Event.counter_id,
                     func.row_number().over(partition_by=Event.counter_id,
                                            order_by=(Event.at_s.desc(), Event.id.desc())).label("n"))
              .where(Event.kind == "queue_call").subquery())
    last = select(ranked.c.counter_id, ranked.c.event_id).where(ranked.c.n == 1).subquery()
    q = (select(Counter, Event).outerjoin(last, last.c.counter_id == Counter.id)
         .outerjoin(Event, Event.id == last.c.event_id).where(Counter.site_id == site_id).order_by(Counter.name))
    return [{"counter": c.name, "paused": bool(c.paused), "ticket": (e.payload or {}).get("ticket") if e else None,
             "called_s": e.at_s if e else None} for c, e in db.execute(q)]


# -- the screen-gone alarm -----------------------------------------------------------------------

def evaluate_screen_alarms(db: Session, *, now_s: float, gone_after_s: float = SCREEN_GONE_AFTER_S) -> None:
    """Raise a ``screen-gone`` alarm (in the ``alarms`` table, next to the counters' ones) for each
    screen that has sent heartbeats but none for more than ``gone_after_s``; clear it for the
    others. Runs in the caller's transaction (the worker sweep, ``counterwatch up``'s health loop,
    ``counterwatch status``); screens are taken in id order (see :func:`set_screen_alarm`)."""
    for screen in db.scalars(select(SignageScreen).order_by(SignageScreen.id)):
        age = None if screen.last_heartbeat_s is None else now_s - screen.last_heartbeat_s
        set_screen_alarm(db, screen.id, gone=age is not None and age > gone_after_s, at_s=now_s,
                         detail=f"no heartbeat for {age or 0:.0f} s")


def set_screen_alarm(db: Session, screen_id: int, *, gone: bool, at_s: float, detail: str = "") -> None:
    """Raise (``gone``) or clear the screen's ``screen-gone`` alarm, in the caller's transaction.

    Idempotent when several run at once (the worker sweep and ``up``'s health loop): the screen's
    row is locked (``FOR UPDATE``; SQLite's write transactions are serial anyway) before the open
    alarm is looked for, so a second caller waits and then finds the first one's alarm."""
    db.execute(select(SignageScreen.id).where(SignageScreen.id == screen_id).with_for_update())
    alarm = db.scalar(select(Alarm).where(Alarm.screen_id == screen_id, Alarm.kind == "screen-gone",
                                          Alarm.cleared_s.is_(None)))
    if gone and alarm is None:
        db.add(Alarm(screen_id=screen_id, kind="screen-gone", since_s=at_s, detail=detail))
        logger.warning("alarm: screen #%s screen-gone raised: %s", screen_id, detail)
    elif gone:
        alarm.detail = detail
    elif alarm is not None:
        alarm.cleared_s = at_s
        logger.info("alarm: screen #%s screen-gone cleared", screen_id)


def open_screen_alarms(db: Session) -> list[tuple[str, str, str]]:
    """Open screen alarms as (``site/screen:NAME``, kind, detail)."""
    rows = db.execute(select(Site.name, SignageScreen.name, Alarm.kind, Alarm.detail).select_from(Alarm)
                      .join(SignageScreen, SignageScreen.id == Alarm.screen_id)
                      .join(Site, Site.id == SignageScreen.site_id)
                      .where(Alarm.cleared_s.is_(None)).order_by(Site.name, SignageScreen.name, Alarm.kind))
    return [(f"{site}/screen:{name}", kind, detail) for site, name, kind, detail in rows]
