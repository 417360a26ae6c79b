"""Waiting-area screens, server side, shared by the API and the CLI: screens and their machine
users, playlists, schedules and emergency notices (interrupts), what one screen gets to play on
its own (its manifest), a preview of what it shows at a given time, and what it reports back
(heartbeats, proof of play).

The schedule rules themselves (who plays what when, overlaps, overnight windows) are the
player's own pure model, :mod:`signage.schedule`; this module loads a site's schedule from the
tables into that model and stores what the model accepts. Content files: :mod:`services.signage_content`.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.displaynames import check_display_name, check_not_confusable
from domain.errors import Conflict, Forbidden, Invalid, NotFound
from domain.timezones import site_zone
from services import queue
from services.accounts import Principal, new_token, token_digest
from services.alarms import set_screen_alarm
from services.catalog import events_cursor, now_serving, visible_site
from services.signage_content import ContentView, content_view
from services.signage_interrupts import InterruptView, in_force, interrupt_of, interrupt_view, interrupts_open_at
from signage.layout import DEFAULT, Layout, regions_from_list
from signage.schedule import (
    HOUR_S,
    Content,
    ContentKind,
    NowPlaying,
    Playlist,
    PlaylistItem,
    Schedule,
    ScheduleError,
    ScreenRef,
    entry_from_dict,
    entry_to_dict,
    layout_of,
    resolve,
    schedule_to_dict,
    validate,
    validate_playlist,
)
from storage.engine import write_session
from storage.tables import (
    Alarm,
    ApiToken,
    Counter,
    SignageContent,
    SignageInterrupt,
    SignageLayout,
    SignagePlay,
    SignagePlaylist,
    SignageSchedule,
    SignageScreen,
    Site,
    User,
    now_s,
)

logger = logging.getLogger(__name__)


class SignageError(Invalid):
    """A signage request that cannot be done; ``code`` says which."""

    def __init__(self, code: str, reason: str, **params: Any) -> None:
        super().__init__("signage", reason, code=code, **params)


class ScreenNameTaken(SignageError, Conflict):
    def __init__(self, name: str) -> None:
        super().__init__("name_taken", f"screen name {name!r} is already in use; choose another name")


class NotFoundHere(NotFound):
    """A screen, playlist, schedule or interrupt that does not exist in the caller's sites."""

    def __init__(self, what: str, code: str, **params: Any) -> None:
        super().__init__(what, "not found", code=code, **params)


def screen_user_name(name: str) -> str:
    return f"screen:{name}"


# -- screens ---------------------------------------------------------------------------------------

def register_screen(engine: Engine, *, site: str, name: str, groups: list[str] | tuple[str, ...] = (),
                    token_ttl_days: float | None = 365, display_name: str | None = None) -> tuple[int, str]:
    """Create (or update the groups of) screen ``name`` at ``site`` and issue a new token for its
    machine user; every earlier token of that user is revoked (a re-registered screen, or a
    replaced box, leaves no working old token behind). Returns (screen id, token); the token
    is shown once and expires after ``token_ttl_days`` (None: never). One transaction: the
    screen row is locked while it is checked and changed.

    Screen names are unique across sites; a screen never moves to another site here (that would
    hand one site's screen, and its proof of play, to whoever manages the other).

    Raises:
        SignageError: ``unknown_site``; ScreenNameTaken (a screen of that name is at another site).
    """
    token = new_token()
    if display_name:
        display_name = check_display_name("screen display name", display_name)
    try:
        with write_session(engine) as s:
            site_id = s.scalar(select(Site.id).where(Site.name == site))
            if site_id is None:
                raise SignageError("unknown_site", f"no site {site!r} (register a counter there first)")
            row = s.scalar(select(SignageScreen).where(SignageScreen.name == name).with_for_update())
            if row is not None and row.site_id != site_id:
                raise ScreenNameTaken(name)
            if row is None:
                check_not_confusable("screen", name, list(s.scalars(select(SignageScreen.name))))
            user = s.scalar(select(User).where(User.name == screen_user_name(name)).with_for_update())
            if user is not None and user.role != "screen":
                raise SignageError("user_kind", f"user {user.name!r} is a {user.role}, not a screen's machine user")
            if user is None:
                user = User(name=screen_user_name(name), role="screen", sites=[site])
                s.add(user)
            user.role, user.sites, user.active = "screen", [site], True
            s.flush()
            s.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
            s.add(ApiToken(user_id=user.id, token_sha256=token_digest(token), label="screen",
                           expires_s=now_s() + token_ttl_days * 86400 if token_ttl_days else None))
            if row is None:
                row = SignageScreen(site_id=site_id, name=name, groups=list(groups), status={})
                s.add(row)
            elif groups:
                row.groups = list(groups)
            if display_name:
                row.display_name = display_name
            row.user_id = user.id
            s.flush()
            return row.id, token
    except IntegrityError as e:   # the same name registered at the same moment elsewhere
        raise ScreenNameTaken(name) from e


MAX_GROUPS = 20


def set_screen_groups(engine: Engine, user: Principal, name: str, groups: list[str]) -> tuple[list[str], list[str]]:
    """Replace the display groups of screen ``name`` (names trimmed, blanks and repeats dropped,
    order kept); schedules aimed at a group reach the screen, or stop, from its next manifest.
    Returns (groups before, groups now).

    Raises:
        NotFoundHere ``screen_not_found`` (not in the user's sites); SignageError ``bad_groups``
        (more than :data:`MAX_GROUPS`, or a name over 63 characters); ScheduleError ``conflict``
        when the new groups would bring two schedules of the same priority onto the screen at
        the same time (both named, as when a schedule is saved).
    """
    wanted = list(dict.fromkeys(g.strip() for g in groups if g.strip()))
    if len(wanted) > MAX_GROUPS or any(len(g) > 63 for g in wanted):
        raise SignageError("bad_groups", f"at most {MAX_GROUPS} groups of at most 63 characters", field="groups")
    with write_session(engine) as s:
        found = s.execute(select(SignageScreen, Site.name).join(Site, SignageScreen.site_id == Site.id)
                          .where(SignageScreen.name == name).with_for_update(of=SignageScreen)).first()
        if found is None or not user.can_see(found[1]):
            raise NotFoundHere(f"screen {name!r}", "screen_not_found", screen=name)
        row = found[0]
        before = list(row.groups or [])
        refs = tuple(ScreenRef(r.name, frozenset(wanted)) if r.name == row.name else r
                     for r in site_screens(s, row.site_id))
        validate(site_schedule(s, row.site_id), screens=refs)
        row.groups = wanted
        return before, wanted


def screen_ref(row: SignageScreen) -> ScreenRef:
    return ScreenRef(row.name, frozenset(row.groups or ()))


def visible_screen(db: Session, user: Principal, name: str) -> tuple[SignageScreen, Site]:
    """The screen, if ``user`` may use it: staff of its site, or the screen's own machine user.

    Raises:
        NotFoundHere: no such screen in the user's sites. Forbidden: another screen's machine user.
    """
    row = db.execute(select(SignageScreen, Site).join(Site, SignageScreen.site_id == Site.id)
                     .where(SignageScreen.name == name)).first()
    if row is None or not user.can_see(row[1].name):
        raise NotFoundHere(f"screen {name!r}", "screen_not_found", screen=name)
    if user.role == "screen" and row[0].user_id != user.id:
        raise Forbidden(f"screen {name!r}", "a screen reads its own manifest only", code="other_screen")
    return row[0], row[1]


@dataclass(frozen=True)
class ScreenView:
    id: int
    site: str
    name: str
    groups: list[str]
    last_heartbeat_s: float | None = None
    status: dict = field(default_factory=dict)
    alarms: list[str] = field(default_factory=list)
    display_name: str = ""


def list_screens(db: Session, user: Principal) -> list[ScreenView]:
    q = select(SignageScreen, Site.name).join(Site, SignageScreen.site_id == Site.id).order_by(SignageScreen.name)
    if user.sites:
        q = q.where(Site.name.in_(user.sites))
    alarms: dict[int, list[str]] = {}
    for screen_id, kind in db.execute(select(Alarm.screen_id, Alarm.kind).where(Alarm.screen_id.is_not(None),
                                                                               Alarm.cleared_s.is_(None))):
        assert screen_id is not None  # the query takes screen alarms only
        alarms.setdefault(screen_id, []).append(kind)
    return [ScreenView(s.id, site, s.name, s.groups or [], s.last_heartbeat_s, s.status or {},
                       sorted(alarms.get(s.id, [])), s.display_name) for s, site in db.execute(q)]


# -- the schedule of a site ------------------------------------------------------------------------------

def schedule_row_dict(e: SignageSchedule) -> dict:
    return {"id": e.id, "playlist_id": e.playlist_id, "screens": e.screens, "groups": e.groups,
            "weekdays": e.weekdays, "start_time": e.start_time, "end_time": e.end_time,
            "start_date": e.start_date, "end_date": e.end_date, "priority": e.priority, "layout_id": e.layout_id,
            "share_s_per_hour": e.share_s_per_hour}


def site_schedule(db: Session, site_id: int) -> Schedule:
    """Everything scheduled at the site, with the interrupts that are not cleared."""
    # signage_content.kind is a plain string column; the uploads and text announcements write only ContentKinds.
    contents = {c.id: Content(id=c.id, kind=cast(ContentKind, c.kind), name=c.name, sha256=c.sha256, title=c.title,
                              body=c.body)
                for c in db.scalars(select(SignageContent).where(SignageContent.site_id == site_id))}
    playlists = {p.id: Playlist(id=p.id, name=p.name, items=tuple(PlaylistItem(int(i["content_id"]),
                                                                                float(i["duration_s"]))
                                                                   for i in p.items or ()))
                 for p in db.scalars(select(SignagePlaylist).where(SignagePlaylist.site_id == site_id))}
    entries = tuple(entry_from_dict(schedule_row_dict(e)) for e in
                    db.scalars(select(SignageSchedule).where(SignageSchedule.site_id == site_id)
                               .order_by(SignageSchedule.id)))
    interrupts = tuple(interrupt_of(i) for i in db.scalars(select(SignageInterrupt).where(
        SignageInterrupt.site_id == site_id, SignageInterrupt.cleared_s.is_(None), in_force(now_s()))))
    layouts = {r.id: Layout(r.id, r.name, regions_from_list(r.regions or []))
               for r in db.scalars(select(SignageLayout).where(SignageLayout.site_id == site_id))}
    return Schedule(contents=contents, playlists=playlists, entries=entries, interrupts=interrupts, layouts=layouts)


def site_screens(db: Session, site_id: int) -> tuple[ScreenRef, ...]:
    return tuple(screen_ref(r) for r in db.scalars(select(SignageScreen).where(SignageScreen.site_id == site_id)))


# -- playlists ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlaylistView:
    id: int
    site: str
    name: str
    items: list[dict]


def _check_playlist(db: Session, site_id: int, name: str, items: list[tuple[int, float]]) -> None:
    validate_playlist(Playlist(0, name, tuple(PlaylistItem(c, d) for c, d in items)), site_schedule(db, site_id).contents)


def _items(items: list[tuple[int, float]]) -> list[dict]:
    return [{"content_id": c, "duration_s": d} for c, d in items]


def add_playlist(engine: Engine, user: Principal, *, site: str, name: str,
                 items: list[tuple[int, float]]) -> PlaylistView:
    """A playlist of (content id, seconds) items of the site's content.

    Raises:
        SiteNotFound; ScheduleError (``empty_playlist``, ``unknown_content``, ``bad_item``).
    """
    name = check_display_name("playlist", name)
    with write_session(engine) as s:
        site_id = visible_site(s, user, site).id
        _check_playlist(s, site_id, name, items)
        row = SignagePlaylist(site_id=site_id, name=name, items=_items(items))
        s.add(row)
        s.flush()
        return PlaylistView(row.id, site, row.name, list(row.items))


def _playlist_row(db: Session, user: Principal, playlist_id: int) -> SignagePlaylist:
    row = db.execute(select(SignagePlaylist, Site.name).join(Site, SignagePlaylist.site_id == Site.id)
                     .where(SignagePlaylist.id == playlist_id)).first()
    if row is None or not user.can_see(row[1]):
        raise NotFoundHere(f"playlist {playlist_id}", "playlist_not_found", playlist_id=playlist_id)
    return row[0]


def replace_playlist(engine: Engine, user: Principal, playlist_id: int, *, site: str, name: str,
                     items: list[tuple[int, float]]) -> PlaylistView:
    """Replace a playlist's name and items (validated like a new one); schedules that play it
    play the new items from their next manifest poll. A playlist cannot move to another site."""
    name = check_display_name("playlist", name)
    with write_session(engine) as s:
        row = _playlist_row(s, user, playlist_id)
        site_id = visible_site(s, user, site).id
        if site_id != row.site_id:
            raise Invalid(f"playlist {playlist_id}", "belongs to another site; a playlist cannot move",
                          code="playlist_moved")
        _check_playlist(s, site_id, name, items)
        row.name, row.items = name, _items(items)
        return PlaylistView(row.id, site, row.name, list(row.items))


def delete_playlist(engine: Engine, user: Principal, playlist_id: int) -> None:
    """Delete a playlist no schedule plays (Conflict ``in_use`` naming the schedules that do)."""
    with write_session(engine) as s:
        row = _playlist_row(s, user, playlist_id)
        users = list(s.scalars(select(SignageSchedule.id).where(SignageSchedule.playlist_id == row.id)
                               .order_by(SignageSchedule.id)))
        if users:
            raise Conflict(f"playlist {row.id} ({row.name!r})", f"is played by schedule(s) "
                           f"{', '.join(map(str, users))}: delete those first", code="in_use", schedule_ids=users)
        layouts = [lay.id for lay in s.scalars(select(SignageLayout).where(SignageLayout.site_id == row.site_id)
                                               .order_by(SignageLayout.id))
                   if any(r.get("playlist_id") == row.id for r in lay.regions or [])]
        if layouts:
            raise Conflict(f"playlist {row.id} ({row.name!r})", f"is shown by layout(s) "
                           f"{', '.join(map(str, layouts))}: change those first", code="in_use", layout_ids=layouts)
        s.delete(row)


def list_playlists(db: Session, user: Principal, site: str) -> list[PlaylistView]:
    s = visible_site(db, user, site)
    return [PlaylistView(p.id, site, p.name, list(p.items or [])) for p in
            db.scalars(select(SignagePlaylist).where(SignagePlaylist.site_id == s.id).order_by(SignagePlaylist.id))]


# -- schedules ------------------------------------------------------------------------------------------

def _check_screens_known(names: list[str], screens: tuple[ScreenRef, ...]) -> None:
    """Refuse a schedule naming a screen not registered at its site (a typo would play nowhere,
    silently). Groups may name screens still to come, so they are not checked.

    Raises:
        SignageError: ``unknown_screen`` with the positions of the unknown names in ``names``
        (the request's ``screens``; the names themselves are not echoed).
    """
    known = {s.name for s in screens}
    unknown = [i for i, n in enumerate(names) if n not in known]
    if unknown:
        raise SignageError("unknown_screen", f"{len(unknown)} of the schedule's screens are not registered at this "
                           "site; register them first or choose registered ones", positions=unknown[:50])


def _share_in_seconds(raw: dict) -> dict:
    """``raw`` with a ``share_pct`` (percent of the hour) turned into ``share_s_per_hour``: the
    share is stored one way only.

    Raises:
        ScheduleError: ``bad_share`` when both are given.
    """
    raw = dict(raw)
    pct = raw.pop("share_pct", None)
    if pct is not None:
        if raw.get("share_s_per_hour") is not None:
            raise ScheduleError("bad_share", "give the share as seconds per hour or as a percentage, not both",
                                field="share_pct")
        raw["share_s_per_hour"] = max(1, round(float(pct) * HOUR_S / 100))
    return raw


def add_schedule(engine: Engine, user: Principal, *, site: str, raw: dict) -> tuple[int, dict]:
    """Assign a playlist to screens and groups; ``raw`` is the entry's fields as the wire carries
    them (``signage.schedule.entry_from_dict``). Returns (id, stored fields).

    Raises:
        SiteNotFound; ScheduleError when invalid, or when it overlaps a schedule of the same
        priority on a shared screen (both named).
    """
    with write_session(engine) as s:
        site_id = visible_site(s, user, site).id
        current = site_schedule(s, site_id)
        raw = _share_in_seconds(raw)
        entry = entry_from_dict({**raw, "id": 0})   # id 0 stands for the new schedule until it has one
        _check_screens_known(list(raw.get("screens") or ()), site_screens(s, site_id))
        validate(Schedule(contents=current.contents, playlists=current.playlists,
                          entries=(*current.entries, entry), layouts=current.layouts), screens=site_screens(s, site_id))
        wire = entry_to_dict(entry)
        row = SignageSchedule(site_id=site_id, **{k: v for k, v in wire.items() if k != "id"})
        s.add(row)
        s.flush()
        return row.id, {**wire, "id": row.id}


def update_schedule(engine: Engine, user: Principal, schedule_id: int, *, raw: dict) -> tuple[str, dict]:
    """Replace a schedule's fields (validated like a new one, against the others); returns (site,
    stored fields).

    Raises:
        NotFoundHere ``schedule_not_found``; ScheduleError as for a new schedule.
    """
    with write_session(engine) as s:
        found = s.execute(select(SignageSchedule, Site.name).join(Site, SignageSchedule.site_id == Site.id)
                          .where(SignageSchedule.id == schedule_id)).first()
        if found is None or not user.can_see(found[1]):
            raise NotFoundHere(f"schedule {schedule_id}", "schedule_not_found", schedule_id=schedule_id)
        row, site = found
        current = site_schedule(s, row.site_id)
        raw = _share_in_seconds(raw)
        entry = entry_from_dict({**raw, "id": schedule_id})
        others = tuple(e for e in current.entries if e.id != schedule_id)
        _check_screens_known(list(raw.get("screens") or ()), site_screens(s, row.site_id))
        validate(Schedule(contents=current.contents, playlists=current.playlists, entries=(*others, entry),
                          layouts=current.layouts), screens=site_screens(s, row.site_id))
        wire = entry_to_dict(entry)
        for k, v in wire.items():
            if k != "id":
                setattr(row, k, v)
        return site, wire


def list_schedules(db: Session, user: Principal, site: str) -> list[dict]:
    s = visible_site(db, user, site)
    return [schedule_row_dict(e) for e in
            db.scalars(select(SignageSchedule).where(SignageSchedule.site_id == s.id).order_by(SignageSchedule.id))]


def delete_schedule(engine: Engine, user: Principal, schedule_id: int) -> None:
    with write_session(engine) as s:
        row = s.execute(select(SignageSchedule, Site.name).join(Site, SignageSchedule.site_id == Site.id)
                        .where(SignageSchedule.id == schedule_id)).first()
        if row is None or not user.can_see(row[1]):
            raise NotFoundHere(f"schedule {schedule_id}", "schedule_not_found", schedule_id=schedule_id)
        s.delete(row[0])


# -- per screen: manifest, serving, preview ------------------------------------------------------------

def serving_rows(db: Session, site_id: int) -> list[dict]:
    """Per counter: its id, the name the hall uses (``display_name``, for the ticker), paused,
    the latest ticket called, when, and its call's event id (the screen fetches its announcement)."""
    shown = dict(db.execute(select(Counter.name, Counter.display_name).where(Counter.site_id == site_id)).all())
    return [{"counter": x.counter, "display_name": shown.get(x.counter) or "", "paused": x.paused, "ticket": x.ticket,
             "called_s": x.called_s, "call_event_id": x.call_event_id} for x in now_serving(db, site_id=site_id)]


def manifest(db: Session, user: Principal, name: str) -> dict:
    """Everything the screen needs to play on its own: its schedule (contents with SHA-256 and
    download URLs, playlists, the entries that reach it, open interrupts for it), the site's time
    zone and title, and what the counters are serving."""
    screen, site = visible_screen(db, user, name)
    ref = screen_ref(screen)
    full = site_schedule(db, site.id)
    entries = tuple(e for e in full.entries if e.targets(ref))
    playlists = {e.playlist_id: full.playlists[e.playlist_id] for e in entries if e.playlist_id in full.playlists}
    layouts = {e.layout_id: full.layouts[e.layout_id] for e in entries if e.layout_id in full.layouts}
    # the playlists of the layouts' own regions come along, with their images
    playlists.update({r.playlist_id: full.playlists[r.playlist_id] for lay in layouts.values() for r in lay.regions
                      if r.playlist_id is not None and r.playlist_id in full.playlists})
    needed = {i.content_id for p in playlists.values() for i in p.items}
    mine = Schedule(contents={k: v for k, v in full.contents.items() if k in needed}, playlists=playlists,
                    entries=entries, interrupts=tuple(i for i in full.interrupts if i.targets(ref)), layouts=layouts)
    wire = schedule_to_dict(mine)
    for c in wire["contents"]:
        c["url"] = f"/api/v1/signage/content/{c['id']}" if c["kind"] != "text" else None
    return {"screen": screen.name, "display_name": screen.display_name, "groups": screen.groups or [], "site": site.name,
            "hall": site.title or site.name,
            "timezone": site_zone(site.timezone).key, "generated_s": now_s(), "schedule": wire,
            "now_serving": serving_rows(db, site.id), "serving_cursor": events_cursor(db, site_id=site.id),
            # staff asked for a screenshot then (services.signage_screenshots); None: no request open
            "screenshot_requested_s": (screen.status or {}).get("screenshot_requested_s"),
            # the queue board widget's rows, only where a layout of the screen shows one
            "queue": queue_board(db, user, site) if any(r.kind == "queue_board" for lay in layouts.values()
                                                        for r in lay.regions) else []}


def notices_signature(db: Session, site_id: int) -> str:
    """A short signature of the site's emergency notices in force now (an index lookup): it
    changes when one starts, is cleared or expires."""
    ids = sorted(db.scalars(select(SignageInterrupt.id).where(
        SignageInterrupt.site_id == site_id, SignageInterrupt.cleared_s.is_(None), in_force(now_s()))))
    return hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:16] if ids else ""


def serving_since(db: Session, user: Principal, name: str, since: int, notices: str | None = None) -> dict | None:
    """``{cursor, now_serving, notices}`` of the screen's site, or None while no event came since
    ``since`` and (when the screen sends ``notices``) the notices in force are still those
    (:func:`notices_signature`): two index lookups, for screens polling several times a second.
    A changed ``notices`` tells the player to fetch its manifest now, so an emergency notice
    does not wait for the next manifest poll."""
    _screen, site = visible_screen(db, user, name)
    cursor = events_cursor(db, site_id=site.id)     # the site's own events: nothing of other sites shows
    sig = notices_signature(db, site.id) if notices is not None else None
    if cursor == since and (notices is None or notices == sig):
        return None
    return {"cursor": cursor, "now_serving": serving_rows(db, site.id), "notices": sig}


@dataclass(frozen=True)
class PreviewView:
    screen: str
    at: dt.datetime
    kind: str
    schedule_id: int | None = None
    playlist_id: int | None = None
    playlist: str | None = None
    item_index: int | None = None
    content: ContentView | None = None
    item_start: dt.datetime | None = None
    item_end: dt.datetime | None = None
    interrupt: InterruptView | None = None
    #: the layout on screen (signage.layout.DEFAULT: the schedule names none, a notice, the board)
    layout: Layout = DEFAULT


def queue_board(db: Session, user: Principal, site: Site) -> list[dict]:
    """The queue board widget's rows: per service of the hall's queue, the tickets of that
    service its counters are serving now, and how many wait (services.queue)."""
    serving = {r["counter"]: r["ticket"] for r in serving_rows(db, site.id) if r["ticket"] and not r["paused"]}
    return [{"service": svc.name, "waiting": svc.waiting,
             "serving": [serving[c] for c in svc.counters if c in serving and serving[c].startswith(svc.prefix)]}
            for svc in queue.services(db, user, site=site.name) if svc.active]


def preview(db: Session, user: Principal, name: str, at: dt.datetime | None = None) -> PreviewView:
    """What the screen would show at ``at`` (default: now; without a zone: the site's local time):
    ``interrupt`` (the notice open then), ``playlist`` (the scheduled item and its window) or
    ``default`` (the board)."""
    screen, site = visible_screen(db, user, name)
    tz = site_zone(site.timezone)
    when = at or dt.datetime.now(tz)
    when = when.astimezone(tz) if when.tzinfo else when.replace(tzinfo=tz)
    sched = site_schedule(db, site.id)
    # the interrupts open at that moment pre-empt, as on the screen (one never cleared: from its start on)
    sched = Schedule(contents=sched.contents, playlists=sched.playlists, entries=sched.entries,
                     interrupts=interrupts_open_at(db, site.id, when.timestamp()), layouts=sched.layouts)
    np: NowPlaying = resolve(sched, screen_ref(screen), when.replace(tzinfo=None))
    # The schedule was read from the site's rows in this session, so the rows it names are there.
    if np.kind == "playlist":
        # resolve() gives a playlist answer its entry, playlist, content and the item's start and end
        assert np.entry is not None and np.playlist is not None and np.content is not None
        assert np.item_start is not None and np.item_end is not None
        c = db.get(SignageContent, np.content.id)
        assert c is not None
        return PreviewView(screen=name, at=when, kind=np.kind, schedule_id=np.entry.id, playlist_id=np.playlist.id,
                           playlist=np.playlist.name, item_index=np.item_index, content=content_view(c, site.name),
                           item_start=np.item_start.replace(tzinfo=tz), item_end=np.item_end.replace(tzinfo=tz),
                           layout=layout_of(sched, np))
    if np.kind == "interrupt":
        assert np.interrupt is not None  # resolve() gives an interrupt answer its interrupt
        i = db.get(SignageInterrupt, np.interrupt.id)
        assert i is not None
        return PreviewView(screen=name, at=when, kind=np.kind, interrupt=interrupt_view(i, site.name))
    return PreviewView(screen=name, at=when, kind=np.kind)


# -- what screens report --------------------------------------------------------------------------------

def heartbeat(engine: Engine, user: Principal, name: str, *, playing: str, cache_items: int,
              offline_periods: list[tuple[float, float]], errors: list[str]) -> None:
    """Record a screen's heartbeat: what plays, its cache, the periods it could not reach the
    server; clears its screen-gone alarm."""
    with write_session(engine) as s:
        screen, _ = visible_screen(s, user, name)
        screen.last_heartbeat_s = now_s()
        old = dict(screen.status or {})
        periods = [list(p) for p in (old.get("offline_periods") or [])] + [list(p) for p in offline_periods]
        screen.status = {"playing": playing, "cache_items": cache_items, "errors": errors[-20:],
                         "offline_periods": periods[-50:],
                         # a screenshot staff asked for and the screen has not sent yet
                         **({"screenshot_requested_s": old["screenshot_requested_s"]}
                            if old.get("screenshot_requested_s") else {})}
        set_screen_alarm(s, screen.id, gone=False, at_s=screen.last_heartbeat_s)   # heard from again


def report_plays(engine: Engine, user: Principal, name: str, plays: list[dict]) -> int:
    """Store proof-of-play rows from the screen; rows already received (same ``uid``) are ignored.
    Returns how many were added.

    Raises:
        Conflict: the same rows are being stored by another request right now (send again).
    """
    try:
        with write_session(engine) as s:
            screen, _ = visible_screen(s, user, name)
            _check_play_refs(s, screen.site_id, plays)
            uids = [p["uid"] for p in plays]
            known = set(s.scalars(select(SignagePlay.uid).where(SignagePlay.screen_id == screen.id,
                                                                SignagePlay.uid.in_(uids)))) if uids else set()
            added = 0
            for p in plays:
                if p["uid"] in known:
                    continue
                known.add(p["uid"])
                s.add(SignagePlay(screen_id=screen.id, received_s=now_s(), **p))
                added += 1
            return added
    except IntegrityError as e:   # the same rows sent twice at once
        raise Conflict("proof of play", "rows already being stored; send again", code="plays_in_flight") from e


_PLAY_REFS = (("content_id", SignageContent), ("playlist_id", SignagePlaylist), ("schedule_id", SignageSchedule),
              ("interrupt_id", SignageInterrupt))


def _check_play_refs(s: Session, site_id: int, plays: list[dict]) -> None:
    """Refuse proof of play naming content, playlists, schedules or notices that are not of the
    screen's site (or not at all); nothing is stored then.

    Raises:
        SignageError: ``bad_play_ref`` naming the field and the ids.
    """
    for field_name, table in _PLAY_REFS:
        ids = {p[field_name] for p in plays if p.get(field_name) is not None}
        if not ids:
            continue
        mine = set(s.scalars(select(table.id).where(table.id.in_(ids), table.site_id == site_id)))
        if ids - mine:
            bad = sorted(ids - mine)
            raise SignageError("bad_play_ref", f"{field_name} {', '.join(map(str, bad[:20]))}: no such "
                               f"{field_name[:-3]} at the screen's site", field=field_name, ids=bad[:20])


def list_plays(db: Session, user: Principal, name: str, *, since_s: float | None = None,
               limit: int = 1000) -> list[SignagePlay]:
    screen, _ = visible_screen(db, user, name)
    q = select(SignagePlay).where(SignagePlay.screen_id == screen.id)
    if since_s is not None:
        q = q.where(SignagePlay.started_s >= since_s)
    return list(db.scalars(q.order_by(SignagePlay.started_s, SignagePlay.id).limit(limit)))

