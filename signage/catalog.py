"""Database side of signage, shared by the API and the CLI: screens and their machine users,
the site's schedule as a pure :class:`signage.schedule.Schedule`, and what the hall calls."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from signage.models import (SignageContent, SignageInterrupt, SignagePlaylist, SignageSchedule, SignageScreen)
from signage.schedule import (Content, Interrupt, Playlist, PlaylistItem, Schedule, ScreenRef, entry_from_dict)
from storage.db import Counter, Event, Site


class SignageError(Exception):
    """A signage request that cannot be done: ``code`` is ``unknown_site``, ``unknown_screen``."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def screen_user_name(name: str) -> str:
    return f"screen:{name}"


def register_screen(engine: Engine, *, site: str, name: str, groups: list[str] | tuple[str, ...] = ()) -> tuple[int, str]:
    """Create (or update the groups of) screen ``name`` at ``site`` and issue a new token for its
    machine user. Returns (screen id, token); the token is shown once.

    Raises:
        SignageError: ``unknown_site``; api.users.UserError for a bad name.
    """
    from api.users import add_user   # the CLI imports this module too; keep the API out of its import time

    with Session(engine) as s:
        site_id = s.scalar(select(Site.id).where(Site.name == site))
    if site_id is None:
        raise SignageError("unknown_site", f"no site {site!r} (register a counter there first)")
    user = add_user(engine, screen_user_name(name), role="screen", sites=[site])
    with Session(engine) as s, s.begin():
        row = s.scalar(select(SignageScreen).where(SignageScreen.name == name))
        if row is None:
            row = SignageScreen(site_id=site_id, name=name, groups=list(groups), status={})
            s.add(row)
        elif groups:
            row.groups = list(groups)
        row.site_id, row.user_id = site_id, user.id
        s.flush()
        return row.id, user.token


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


def schedule_row_dict(e: SignageSchedule) -> dict:
    return {"id": e.id, "playlist_id": e.playlist_id, "screens": e.screens, "groups": e.groups,
            "weekdays": e.weekdays, "start_time": e.start_time, "end_time": e.end_time,
            "start_date": e.start_date, "end_date": e.end_date, "priority": e.priority}


def site_screens(db: Session, site_id: int) -> tuple[ScreenRef, ...]:
    return tuple(screen_ref(r) for r in db.scalars(select(SignageScreen).where(SignageScreen.site_id == site_id)))


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
