"""Catalog operations on the metadata database: counters, sessions, chunks, health, events."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from recorder.chunk import ChunkMeta, check_name
from storage.db import Alarm, Chunk, Counter, Event, Session as DbSession, Shift, Site, Staff, now_s
from storage.integrity import link_chunk
from storage.jobs import enqueue

logger = logging.getLogger(__name__)

EVENT_KINDS = ("queue_call", "rating", "pause", "resume")
CHANNELS = ("staff,customer", "customer,staff", "mono")


class CatalogError(Exception):
    """A request the catalog refuses: unknown counter, conflicting chunk, bad value."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"{what}: {reason}")
        self.what = what
        self.reason = reason


class UnknownCounter(CatalogError):
    def __init__(self, site: str, counter: str) -> None:
        super().__init__(f"counter {site}/{counter}", "not registered (counterwatch counter add)")


def plan_key(session_id: str) -> str:
    return f"plan:{session_id}"


@dataclass(frozen=True)
class CounterInfo:
    id: int
    site: str
    name: str
    channels: str


class Catalog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- counters -------------------------------------------------------------------------

    def add_counter(self, site: str, counter: str, *, channels: str = "staff,customer") -> CounterInfo:
        """Register a counter (and its site); idempotent, updates ``channels``."""
        check_name("site", site)
        check_name("counter", counter)
        if channels not in CHANNELS:
            raise CatalogError(f"counter {site}/{counter}", f"channels must be one of {', '.join(CHANNELS)}")
        with Session(self.engine) as s, s.begin():
            st = s.scalar(select(Site).where(Site.name == site))
            if st is None:
                st = Site(name=site, title=site)
                s.add(st)
                s.flush()
            c = s.scalar(select(Counter).where(Counter.site_id == st.id, Counter.name == counter))
            if c is None:
                c = Counter(site_id=st.id, name=counter, channels=channels)
                s.add(c)
                s.flush()
            c.channels = channels
            return CounterInfo(c.id, site, counter, channels)

    def counter(self, site: str, counter: str) -> CounterInfo:
        with Session(self.engine) as s:
            row = s.execute(select(Counter, Site).join(Site).where(Site.name == site, Counter.name == counter)).first()
            if row is None:
                raise UnknownCounter(site, counter)
            c, st = row
            return CounterInfo(c.id, st.name, c.name, c.channels)

    def retention_days(self, site: str) -> int | None:
        """The site's retention in days (``sites.retention_days``), or None if no such site."""
        with Session(self.engine) as s:
            return s.scalar(select(Site.retention_days).where(Site.name == site))

    def counters(self) -> list[CounterInfo]:
        with Session(self.engine) as s:
            return [CounterInfo(c.id, st.name, c.name, c.channels)
                    for c, st in s.execute(select(Counter, Site).join(Site).order_by(Site.name, Counter.name))]

    # -- staff on duty ----------------------------------------------------------------------

    def start_shift(self, site: str, counter: str, staff_name: str, *, at_s: float | None = None) -> int:
        """``staff_name`` is on duty at the counter from ``at_s`` (ends any open shift there).
        Interactions analysed from then on are attributed to them."""
        if not staff_name.strip() or len(staff_name) > 100:
            raise CatalogError(f"staff {staff_name!r}", "name must be 1-100 characters")
        info = self.counter(site, counter)
        at = at_s or now_s()
        with Session(self.engine) as s, s.begin():
            site_id = s.get(Counter, info.id).site_id
            person = s.scalar(select(Staff).where(Staff.site_id == site_id, Staff.name == staff_name))
            if person is None:
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
        with Session(self.engine) as s, s.begin():
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
        with Session(self.engine) as s, s.begin():
            sess = s.get(DbSession, meta.session)
            if sess is None:
                s.add(DbSession(id=meta.session, counter_id=info.id, wall_start_s=meta.session_wall_start_s,
                                sample_rate_hz=meta.sample_rate_hz, channels=meta.channels))
                s.flush()
            old = s.scalar(select(Chunk).where(Chunk.session_id == meta.session, Chunk.seq == meta.seq))
            if old is not None:
                if old.sha256 != meta.sha256 or old.start_sample != meta.start_sample:
                    raise CatalogError(f"chunk {meta.key}", "already registered with different content")
                return False
            row = Chunk(counter_id=info.id, session_id=meta.session, seq=meta.seq, start_sample=meta.start_sample,
                        samples=meta.samples, sample_rate_hz=meta.sample_rate_hz, channels=meta.channels,
                        codec=meta.codec, sha256=meta.sha256, size_bytes=meta.size_bytes, key=meta.key,
                        wall_start_s=meta.wall_start_s, rms_dbfs=meta.rms_dbfs, peak_dbfs=meta.peak_dbfs,
                        stored_s=stored_s if stored_s is not None else now_s())
            # The counter's hash chain (issue 6): link to the previous chunk before adding.
            link_chunk(s, row, session_wall_start_s=sess.wall_start_s if sess else meta.session_wall_start_s)
            s.add(row)
            enqueue(s, kind="plan", key=plan_key(meta.session), payload={"session": meta.session}, requeue_done=True)
            return True

    def end_session(self, session_id: str, *, at_s: float | None = None) -> None:
        """The agent stopped cleanly: the last interaction can be closed."""
        with Session(self.engine) as s, s.begin():
            sess = s.get(DbSession, session_id)
            if sess is None:
                return
            sess.ended_s = at_s or now_s()
            enqueue(s, kind="plan", key=plan_key(session_id), payload={"session": session_id}, requeue_done=True)

    # -- events ---------------------------------------------------------------------------

    def add_event(self, site: str, counter: str, *, kind: str, at_s: float, payload: dict | None = None) -> int:
        if kind not in EVENT_KINDS:
            raise CatalogError(f"event {kind}", f"kind must be one of {', '.join(EVENT_KINDS)}")
        info = self.counter(site, counter)
        with Session(self.engine) as s, s.begin():
            ev = Event(counter_id=info.id, kind=kind, at_s=at_s, payload=payload or {})
            s.add(ev)
            if kind in ("pause", "resume"):
                s.get(Counter, info.id).paused = kind == "pause"
            s.flush()
            return ev.id

    def boundaries(self, counter_id: int, start_s: float, end_s: float) -> list[float]:
        """Wall-clock times of queue calls and rating presses in [start_s, end_s)."""
        with Session(self.engine) as s:
            return list(s.scalars(select(Event.at_s).where(
                Event.counter_id == counter_id, Event.kind.in_(("queue_call", "rating")),
                Event.at_s >= start_s, Event.at_s < end_s).order_by(Event.at_s)))

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
        with Session(self.engine) as s, s.begin():
            c = s.get(Counter, info.id)
            c.live_session, c.live_seq = session, seq
            c.live_wall_start_s, c.live_at_s = wall_start_s, at_s or now_s()

    # -- health ---------------------------------------------------------------------------

    def heartbeat(self, site: str, counter: str, *, level_dbfs: float, status: str, at_s: float | None = None,
                  loud_dbfs: float = -50.0) -> None:
        at = at_s or now_s()
        info = self.counter(site, counter)
        with Session(self.engine) as s, s.begin():
            c = s.get(Counter, info.id)
            c.last_heartbeat_s, c.last_level_dbfs, c.agent_status = at, level_dbfs, status
            if level_dbfs > loud_dbfs:
                c.last_loud_s = at
            if c.last_loud_s is None:
                c.last_loud_s = at     # silence is counted from the first heartbeat
            _set_alarm(s, c.id, "spool-full", status == "spool-full", at, status)
            _set_alarm(s, c.id, "spool-near-quota", status in ("spool-near-quota", "spool-full"), at, status)
            _set_alarm(s, c.id, "store-unreachable", status == "store-unreachable", at, status)

    def evaluate_alarms(self, *, now: float | None = None, silent_after_s: float = 600.0, gone_after_s: float = 60.0,
                        opening_hours: tuple[int, int] = (0, 24),
                        screen_gone_after_s: float = 120.0) -> list[tuple[str, str, str]]:
        """Raise or clear silent-microphone and agent-gone alarms of counters, and screen-gone
        alarms of waiting-area screens (no heartbeat for ``screen_gone_after_s``); return the open
        alarms as (site/counter or site/screen:NAME, kind, detail)."""
        # signage sits above storage; imported here so storage's import graph stays as it is
        from signage.catalog import evaluate_screen_alarms
        import datetime as dt

        now = now or now_s()
        hour = dt.datetime.fromtimestamp(now).hour
        open_now = opening_hours[0] <= hour < opening_hours[1]
        with Session(self.engine) as s, s.begin():
            # Counter rows locked in id order: two sweeps at once (workers, `up`) cannot both see
            # no open alarm and raise it twice, nor deadlock (SQLite serialises writers anyway).
            for c in s.scalars(select(Counter).order_by(Counter.id).with_for_update()):
                gone = c.last_heartbeat_s is not None and now - c.last_heartbeat_s > gone_after_s
                _set_alarm(s, c.id, "agent-gone", gone, now, f"no heartbeat for {now - (c.last_heartbeat_s or now):.0f} s")
                silent = (open_now and not gone and not c.paused and c.last_loud_s is not None
                          and now - c.last_loud_s > silent_after_s)
                _set_alarm(s, c.id, "silent-microphone", silent, now,
                           f"input below threshold for {now - (c.last_loud_s or now):.0f} s")
            evaluate_screen_alarms(s, now_s=now, gone_after_s=screen_gone_after_s)
        return self.open_alarms()

    def open_alarms(self) -> list[tuple[str, str, str]]:
        from signage.catalog import open_screen_alarms

        with Session(self.engine) as s:
            rows = s.execute(select(Site.name, Counter.name, Alarm.kind, Alarm.detail).select_from(Alarm)
                             .join(Counter, Counter.id == Alarm.counter_id).join(Site)
                             .where(Alarm.cleared_s.is_(None)).order_by(Site.name, Counter.name, Alarm.kind))
            return [(f"{a}/{b}", k, d) for a, b, k, d in rows] + open_screen_alarms(s)


def _set_alarm(s: Session, counter_id: int, kind: str, active: bool, at: float, detail: str) -> None:
    alarm = s.scalar(select(Alarm).where(Alarm.counter_id == counter_id, Alarm.kind == kind, Alarm.cleared_s.is_(None)))
    if active and alarm is None:
        s.add(Alarm(counter_id=counter_id, kind=kind, since_s=at, detail=detail))
        logger.warning("alarm: counter #%s %s raised: %s", counter_id, kind, detail)
    elif active and alarm is not None:
        alarm.detail = detail
    elif not active and alarm is not None:
        alarm.cleared_s = at
        logger.info("alarm: counter #%s %s cleared", counter_id, kind)


def chunks_of(session: Session, session_id: str, *, from_sample: int = 0, to_sample: int | None = None) -> Iterable[Chunk]:
    q = (select(Chunk).where(Chunk.session_id == session_id, Chunk.start_sample + Chunk.samples > from_sample)
         .order_by(Chunk.seq))
    if to_sample is not None:
        q = q.where(Chunk.start_sample < to_sample)
    return session.scalars(q)
