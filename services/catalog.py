"""The recordings catalog: sites and counters, staff on duty, recording sessions and their
chunks, hall events, the live-listen pointer and agents' heartbeats.

The capture agents (through the API), the CLI and the API all register and read through here;
health alarms raised from heartbeats are kept by :mod:`services.alarms`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from domain.chunks import ChunkMeta
from domain.displaynames import check_display_name, check_not_confusable
from domain.errors import Conflict, Invalid, NotFound
from domain.names import check_name, check_ticket
from domain.vocab import CHANNELS, DEFAULT_CHANNELS, EVENT_KINDS, HEARTBEAT_ALARMS
from services.accounts import Principal
from services.alarms import set_counter_alarm
from services.integrity import link_chunk
from storage import queries
from storage.engine import read_session, write_session
from storage.jobs import enqueue, plan_key
from storage.tables import Alarm, Chunk, Counter, Event, RecordingSession, Shift, Site, Staff, now_s

logger = logging.getLogger(__name__)


class CatalogError(Invalid):
    """A request the catalog refuses: unknown counter, conflicting chunk, bad value."""

    code = "catalog"


class UnknownCounter(CatalogError, NotFound):
    code = "unknown_counter"

    def __init__(self, site: str, counter: str) -> None:
        super().__init__(f"counter {site}/{counter}", "not registered (counterwatch counter add)", site=site,
                         counter=counter)


class CounterNotFound(NotFound):
    """No counter with that id, or not one the caller may see."""

    code = "counter_not_found"

    def __init__(self, counter_id: int) -> None:
        super().__init__(f"counter {counter_id}", "not found", counter_id=counter_id)


class SiteNotFound(NotFound):
    """No site of that name, or not one the caller may see."""

    code = "site_not_found"

    def __init__(self, site: str) -> None:
        super().__init__(f"site {site!r}", "not found", site=site)


def visible_site(db: Session, user: Principal, name: str) -> Site:
    """The site row called ``name``, if ``user`` may see it.

    Raises:
        SiteNotFound: no such site, or another's.
    """
    site = db.scalar(select(Site).where(Site.name == name))
    if site is None or not user.can_see(name):
        raise SiteNotFound(name)
    return site


class ChunkConflict(CatalogError, Conflict):
    """Another chunk is registered under the same session and number."""

    code = "chunk_conflict"


@dataclass(frozen=True)
class CounterInfo:
    id: int
    site: str
    name: str
    channels: str
    timezone: str = ""


def _counter_row(s: Session, info: CounterInfo) -> Counter:
    """The row of the counter ``info`` describes.

    Raises:
        UnknownCounter: no such counter (any more).
    """
    c = s.get(Counter, info.id)
    if c is None:
        raise UnknownCounter(info.site, info.name)
    return c


class Catalog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- counters -------------------------------------------------------------------------

    def add_site(self, site: str) -> None:
        """Register ``site`` if it is not yet (idempotent): the operator's CLI on a fresh stack
        registers a screen before any counter (issue 18)."""
        check_name("site", site)
        with write_session(self.engine) as s:
            if s.scalar(select(Site.id).where(Site.name == site)) is None:
                check_not_confusable("site", site, list(s.scalars(select(Site.name))))
                s.add(Site(name=site, title=site))

    def add_counter(self, site: str, counter: str, *, channels: str = DEFAULT_CHANNELS,
                    display_name: str | None = None) -> CounterInfo:
        """Register a counter (and its site); idempotent, updates ``channels`` and, when given,
        ``display_name`` (what people call it: 3号窗口)."""
        check_name("site", site)
        check_name("counter", counter)
        if display_name is not None:
            display_name = check_display_name("counter display name", display_name)
        if channels not in CHANNELS:
            raise CatalogError(f"counter {site}/{counter}", f"channels must be one of {', '.join(CHANNELS)}")
        with write_session(self.engine) as s:
            st = s.scalar(select(Site).where(Site.name == site))
            if st is None:
                check_not_confusable("site", site, list(s.scalars(select(Site.name))))
                st = Site(name=site, title=site)
                s.add(st)
                s.flush()
            c = s.scalar(select(Counter).where(Counter.site_id == st.id, Counter.name == counter))
            if c is None:
                check_not_confusable("counter", counter,
                                     list(s.scalars(select(Counter.name).where(Counter.site_id == st.id))))
                c = Counter(site_id=st.id, name=counter, channels=channels)
                s.add(c)
                s.flush()
            c.channels = channels
            if display_name is not None:
                c.display_name = display_name
            return CounterInfo(c.id, site, counter, channels, st.timezone)

    def counter(self, site: str, counter: str, *, by_id_too: bool = False) -> CounterInfo:
        """The counter ``site/counter``; with ``by_id_too``, a name of digits that is no counter
        of the site is taken as a counter id (any site).

        Raises:
            UnknownCounter: no such counter.
        """
        with read_session(self.engine) as s:
            row = s.execute(select(Counter, Site).join(Site).where(Site.name == site, Counter.name == counter)).first()
            if row is None and by_id_too and counter.isdigit():
                row = s.execute(select(Counter, Site).join(Site).where(Counter.id == int(counter))).first()
            if row is None:
                raise UnknownCounter(site, counter)
            c, st = row
            return CounterInfo(c.id, st.name, c.name, c.channels, st.timezone)

    def retention_days(self, site: str) -> int | None:
        """The site's retention in days (``sites.retention_days``), or None if no such site."""
        with read_session(self.engine) as s:
            return s.scalar(select(Site.retention_days).where(Site.name == site))

    def counters(self) -> list[CounterInfo]:
        with read_session(self.engine) as s:
            return [CounterInfo(c.id, st.name, c.name, c.channels)
                    for c, st in s.execute(select(Counter, Site).join(Site).order_by(Site.name, Counter.name))]

    # -- staff on duty ----------------------------------------------------------------------

    def start_shift(self, site: str, counter: str, staff_name: str, *, at_s: float | None = None) -> int:
        """``staff_name`` is on duty at the counter from ``at_s`` (ends any open shift there).
        Interactions analysed from then on are attributed to them."""
        staff_name = check_display_name("staff", staff_name)
        info = self.counter(site, counter)
        at = at_s or now_s()
        with write_session(self.engine) as s:
            site_id = _counter_row(s, info).site_id
            person = s.scalar(select(Staff).where(Staff.site_id == site_id, Staff.name == staff_name))
            if person is None:
                check_not_confusable("staff", staff_name,
                                     list(s.scalars(select(Staff.name).where(Staff.site_id == site_id))))
                person = Staff(site_id=site_id, name=staff_name)
                s.add(person)
                s.flush()
            for open_shift in s.scalars(select(Shift).where(Shift.counter_id == info.id, Shift.end_s.is_(None))):
                open_shift.end_s = at
            shift = Shift(counter_id=info.id, staff_id=person.id, start_s=at)
            s.add(shift)
            s.flush()
            return shift.id

    def end_shift(self, site: str, counter: str, *, at_s: float | None = None) -> int:
        """Close the open shift at the counter; returns how many were closed."""
        info = self.counter(site, counter)
        with write_session(self.engine) as s:
            shifts = list(s.scalars(select(Shift).where(Shift.counter_id == info.id, Shift.end_s.is_(None))))
            for sh in shifts:
                sh.end_s = at_s or now_s()
            return len(shifts)

    # -- sessions and chunks --------------------------------------------------------------

    def register_chunk(self, meta: ChunkMeta, *, stored_s: float | None = None) -> bool:
        """Record a stored chunk and queue its session for planning. Idempotent: the same
        chunk again is a no-op (False); a different chunk under the same number is refused.
        ``stored_s``: when the store wrote it (default now; a rescan passes the object's date)."""
        info = self.counter(meta.site, meta.counter)
        stored = stored_s if stored_s is not None else now_s()
        with write_session(self.engine) as s:
            sess = s.get(RecordingSession, meta.session)
            if sess is None:
                sess = RecordingSession(id=meta.session, counter_id=info.id, wall_start_s=meta.session_wall_start_s,
                                        sample_rate_hz=meta.sample_rate_hz, channels=meta.channels, received_s=stored,
                                        late_s=0.0)
                s.add(sess)
                s.flush()
            old = s.scalar(select(Chunk).where(Chunk.session_id == meta.session, Chunk.seq == meta.seq))
            if old is not None:
                if old.sha256 != meta.sha256 or old.start_sample != meta.start_sample:
                    raise ChunkConflict(f"chunk {meta.key}", "already registered with different content",
                                        stored_sha256=old.sha256, offered_sha256=meta.sha256)
                return False
            row = Chunk(counter_id=info.id, session_id=meta.session, seq=meta.seq, start_sample=meta.start_sample,
                        samples=meta.samples, sample_rate_hz=meta.sample_rate_hz, channels=meta.channels,
                        codec=meta.codec, sha256=meta.sha256, size_bytes=meta.size_bytes, key=meta.key,
                        wall_start_s=meta.wall_start_s, rms_dbfs=meta.rms_dbfs, peak_dbfs=meta.peak_dbfs,
                        stored_s=stored)
            # Both times (issue 18): what the chunk claims and when the server got it (补传).
            sess.late_s = max(sess.late_s or 0.0, stored - (meta.wall_start_s + meta.duration_s))
            # The counter's hash chain (issue 6): link to the previous chunk before adding.
            link_chunk(s, row)
            s.add(row)
            enqueue(s, kind="plan", key=plan_key(meta.session), payload={"session": meta.session}, requeue_done=True)
            return True

    def end_session(self, session_id: str, *, at_s: float | None = None) -> None:
        """The agent stopped cleanly: the last interaction can be closed."""
        with write_session(self.engine) as s:
            sess = s.get(RecordingSession, session_id)
            if sess is None:
                return
            sess.ended_s = at_s or now_s()
            enqueue(s, kind="plan", key=plan_key(session_id), payload={"session": session_id}, requeue_done=True)

    # -- events ---------------------------------------------------------------------------

    def add_event(self, site: str, counter: str, *, kind: str, at_s: float, payload: dict | None = None,
                  dedup_key: str | None = None) -> int:
        """Record a hall event; with ``dedup_key``, a second event of the counter with that key
        is the first one (its id is returned, nothing is written)."""
        if kind not in EVENT_KINDS:
            raise CatalogError(f"event {kind}", f"kind must be one of {', '.join(EVENT_KINDS)}")
        if payload and "ticket" in payload:
            check_ticket(payload["ticket"])         # the screens show it: no markup (issue 18)
        info = self.counter(site, counter)
        with write_session(self.engine) as s:
            if dedup_key is not None:
                known = s.scalar(select(Event.id).where(Event.counter_id == info.id, Event.dedup_key == dedup_key))
                if known is not None:
                    return known
            ev = Event(counter_id=info.id, kind=kind, at_s=at_s, payload=payload or {}, dedup_key=dedup_key)
            s.add(ev)
            if kind in ("pause", "resume"):
                _counter_row(s, info).paused = kind == "pause"
            s.flush()
            return ev.id

    def boundaries(self, counter_id: int, start_s: float, end_s: float) -> list[float]:
        """Wall-clock times of queue calls and rating presses in [start_s, end_s)."""
        with read_session(self.engine) as s:
            return queries.boundaries(s, counter_id, start_s, end_s)

    # -- live listen ------------------------------------------------------------------------

    def set_live(self, site: str, counter: str, *, session: str, seq: int, wall_start_s: float,
                 at_s: float | None = None) -> None:
        """Record the newest live segment an agent published for the counter (``seq`` of
        ``session``, first sample at ``wall_start_s``, stored at ``at_s``). API processes
        follow a counter's live feed by polling this row.

        Raises:
            UnknownCounter: the counter is not registered.
        """
        info = self.counter(site, counter)
        with write_session(self.engine) as s:
            c = _counter_row(s, info)
            c.live_session, c.live_seq = session, seq
            c.live_wall_start_s, c.live_at_s = wall_start_s, at_s or now_s()

    # -- health ---------------------------------------------------------------------------

    def heartbeat(self, site: str, counter: str, *, level_dbfs: float, status: str, at_s: float | None = None,
                  loud_dbfs: float = -50.0) -> None:
        at = at_s or now_s()
        info = self.counter(site, counter)
        with write_session(self.engine) as s:
            c = _counter_row(s, info)
            c.last_heartbeat_s, c.last_level_dbfs, c.agent_status = at, level_dbfs, status
            if level_dbfs > loud_dbfs:
                c.last_loud_s = at
            if c.last_loud_s is None:
                c.last_loud_s = at     # silence is counted from the first heartbeat
            for kind in HEARTBEAT_ALARMS:
                # a full spool is also near its quota
                active = status == kind or (kind == "spool-near-quota" and status == "spool-full")
                set_counter_alarm(s, c.id, kind, active, at, status)


# -- what the hall sees --------------------------------------------------------------------------

@dataclass(frozen=True)
class CounterStatus:
    id: int
    site: str
    name: str
    channels: str
    paused: bool
    agent_status: str
    last_heartbeat_s: float | None
    last_level_dbfs: float | None
    alarms: list[str]


def counters_status(db: Session, *, sites: tuple[str, ...] = ()) -> list[CounterStatus]:
    """Every counter of ``sites`` (empty: all) with its health and open alarms."""
    return [st for st, *_ in counters_with_status(db, sites=sites)]


def counters_with_status(db: Session, *, sites: tuple[str, ...] = (), columns: tuple = ()
                         ) -> list[tuple[CounterStatus, Counter, Site, tuple]]:
    """Every counter of ``sites`` (empty: all), by site and name: its CounterStatus, its row, its
    site's row and the values of ``columns`` (scalar subqueries correlated to ``Counter``), read in
    one query (the open alarms outer-joined, one row per alarm)."""
    q = (select(Counter, Site, Alarm.kind, *columns).join(Site, Counter.site_id == Site.id)
         .outerjoin(Alarm, (Alarm.counter_id == Counter.id) & Alarm.cleared_s.is_(None))
         .order_by(Site.name, Counter.name, Counter.id, Alarm.kind))
    if sites:
        q = q.where(Site.name.in_(sites))
    found: dict[int, tuple[Counter, Site, tuple]] = {}
    open_alarms: dict[int, list[str]] = {}
    for c, site, kind, *more in db.execute(q):
        if c.id not in found:
            found[c.id], open_alarms[c.id] = (c, site, tuple(more)), []
        if kind is not None:
            open_alarms[c.id].append(kind)
    return [(CounterStatus(id=c.id, site=site.name, name=c.name, channels=c.channels, paused=c.paused,
                           agent_status=c.agent_status, last_heartbeat_s=c.last_heartbeat_s,
                           last_level_dbfs=c.last_level_dbfs, alarms=open_alarms[c.id]), c, site, more)
            for c, site, more in found.values()]


@dataclass(frozen=True)
class Serving:
    """A counter's latest queue call (by call time: hall systems may resend late) and whether
    it is paused (暂停服务)."""

    site: str
    counter: str
    paused: bool
    ticket: str | None
    called_s: float | None
    #: the queue_call event of ``ticket`` (its spoken announcement: ``/queue/calls/{id}/announcement.wav``)
    call_event_id: int | None = None


def now_serving(db: Session, *, sites: tuple[str, ...] = (), site_id: int | None = None) -> list[Serving]:
    """Per counter of ``sites`` (empty: all; or of one ``site_id``): who is being served."""
    ranked = (select(Event.id.label("event_id"), Event.counter_id,
                     func.row_number().over(partition_by=Event.counter_id,
                                            order_by=(Event.at_s.desc(), Event.id.desc())).label("n"))
              .where(Event.kind == "queue_call").subquery())
    last = select(ranked.c.counter_id, ranked.c.event_id).where(ranked.c.n == 1).subquery()
    q = (select(Counter, Site.name, Event).join(Site, Counter.site_id == Site.id)
         .outerjoin(last, last.c.counter_id == Counter.id).outerjoin(Event, Event.id == last.c.event_id)
         .order_by(Site.name, Counter.name))
    if sites:
        q = q.where(Site.name.in_(sites))
    if site_id is not None:
        q = q.where(Counter.site_id == site_id)
    return [Serving(site=s, counter=c.name, paused=bool(c.paused),
                    ticket=(e.payload or {}).get("ticket") if e else None, called_s=e.at_s if e else None,
                    call_event_id=e.id if e else None)
            for c, s, e in db.execute(q)]


def site_timezones(engine: Engine) -> dict[str, str]:
    """Each site's time zone name, by site name."""
    with read_session(engine) as s:
        return dict(s.execute(select(Site.name, Site.timezone)).all())


def events_cursor(db: Session, *, site_id: int | None = None) -> int:
    """The newest event id (0: none) of the site's counters (``site_id``; None: anywhere):
    cheap, and it moves whenever a queue call, pause or resume is recorded there, so a screen can
    ask "anything new?" several times a second and have now-serving computed only when something
    happened. Per site, so a screen learns nothing of other sites' activity (issue 11)."""
    q = select(func.max(Event.id))
    if site_id is not None:
        q = q.where(Event.counter_id.in_(select(Counter.id).where(Counter.site_id == site_id)))
    return int(db.scalar(q) or 0)
