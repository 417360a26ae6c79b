"""The hall's queue (排队): service types per site, tickets taken at the kiosk, and what a counter
does with them: call the next one, call again, skip (过号), transfer to another service, finish
(办结), pause and resume (暂停服务).

Every call is a ``queue_call`` event recorded through :meth:`services.catalog.Catalog.add_event`,
the path a hall's own queue system uses too, so a call cuts the counter's recording exactly where
the service starts and a ticket leads to its recording (:func:`ticket_interaction`). Pause and
resume are the catalog's events as well. Numbers restart every day (the site's local date).
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from domain.errors import Conflict, Forbidden, Invalid, NotFound
from domain.timezones import site_zone
from domain.vocab import CALL_SLACK_S
from services.accounts import Principal
from services.catalog import Catalog, SiteNotFound
from services.interactions import check_site
from services.names import counter_label
from storage.engine import read_session, write_session
from storage.tables import Counter, Event, Interaction, QueueService, QueueTicket, Site, now_s

#: Until a service has finished tickets today, a service is assumed to take this long.
DEFAULT_SERVICE_S = 300.0
MAX_NUMBER = 999


class QueueError(Invalid):
    code = "queue"


class ServiceNotFound(NotFound):
    code = "queue_service_not_found"

    def __init__(self, service_id: int) -> None:
        super().__init__(f"queue service {service_id}", "not found", service_id=service_id)


class NothingToCall(Conflict):
    code = "queue_empty"

    def __init__(self, counter: str) -> None:
        super().__init__(f"counter {counter}", "no ticket is waiting for the services of this counter")


class NoCurrentTicket(Conflict):
    code = "no_current_ticket"

    def __init__(self, counter: str) -> None:
        super().__init__(f"counter {counter}", "no ticket is being served at this counter")


@dataclass(frozen=True)
class ServiceView:
    id: int
    site: str
    name: str
    prefix: str
    counters: list[str]
    priority: int
    active: bool
    waiting: int = 0
    #: Estimated wait of a ticket taken now, in seconds.
    est_wait_s: float = 0.0
    #: Mean service time today (call to 办结), seconds; None: nothing finished yet today.
    mean_service_s: float | None = None


@dataclass(frozen=True)
class TicketView:
    id: int
    site: str
    service_id: int
    service: str
    code: str
    state: str
    taken_s: float
    waiting_before: int
    status_key: str
    called_s: float | None = None
    counter: str | None = None
    counter_label: str | None = None
    call_event_id: int | None = None


@dataclass(frozen=True)
class CounterServing:
    counter_id: int
    counter: str
    counter_label: str
    paused: bool
    ticket: str | None
    called_s: float | None
    call_event_id: int | None


def local_day(timezone: str, at_s: float) -> str:
    return dt.datetime.fromtimestamp(at_s, site_zone(timezone)).date().isoformat()


def _site(s: Session, user: Principal, site: str) -> Site:
    check_site(user, site)
    row = s.scalar(select(Site).where(Site.name == site))
    if row is None:
        raise SiteNotFound(site)
    return row


def _counters(s: Session, site_id: int, names: list[str]) -> list[int]:
    rows = dict(s.execute(select(Counter.name, Counter.id).where(Counter.site_id == site_id)).all())
    missing = [n for n in names if n not in rows]
    if missing:
        raise QueueError(f"counters {', '.join(missing)}", "not counters of this site")
    return [rows[n] for n in names]


def save_service(engine: Engine, user: Principal, *, site: str, name: str, prefix: str, counters: list[str],
                 priority: int = 0, active: bool = True, service_id: int | None = None) -> ServiceView:
    """Create a service type (or change ``service_id``). ``prefix``: one or two capital letters.

    Raises:
        SiteForbidden, SiteNotFound, QueueError (bad prefix, counters not of the site), Conflict
        (prefix taken), ServiceNotFound.
    """
    if not (1 <= len(prefix) <= 2 and prefix.isascii() and prefix.isalpha() and prefix.isupper()):
        raise QueueError(f"prefix {prefix!r}", "must be one or two capital letters A-Z")
    with write_session(engine) as s:
        row = _site(s, user, site)
        ids = _counters(s, row.id, counters)
        taken = s.scalar(select(QueueService.id).where(QueueService.site_id == row.id, QueueService.prefix == prefix))
        if taken is not None and taken != service_id:
            raise Conflict(f"prefix {prefix}", "another service of this site has it", code="prefix_taken")
        if service_id is None:
            svc = QueueService(site_id=row.id)
            s.add(svc)
        else:
            found = s.get(QueueService, service_id)
            if found is None or found.site_id != row.id:
                raise ServiceNotFound(service_id)
            svc = found
        svc.name, svc.prefix, svc.counter_ids, svc.priority, svc.active = name, prefix, ids, priority, active
        s.flush()
        return ServiceView(svc.id, site, name, prefix, counters, priority, active)


def _mean_service_s(s: Session, service_id: int, day: str) -> float | None:
    got = s.scalar(select(func.avg(QueueTicket.finished_s - QueueTicket.called_s)).where(
        QueueTicket.service_id == service_id, QueueTicket.day == day, QueueTicket.state == "done",
        QueueTicket.called_s.is_not(None), QueueTicket.finished_s.is_not(None)))
    return float(got) if got is not None else None


def services(db: Session, user: Principal, *, site: str, now: float | None = None) -> list[ServiceView]:
    """The site's services with the waiting count and the estimated wait of a ticket taken now:
    waiting tickets × today's mean service time ÷ the service's counters that are not paused."""
    row = _site(db, user, site)
    day = local_day(row.timezone, now or now_s())
    names = dict(db.execute(select(Counter.id, Counter.name).where(Counter.site_id == row.id)).all())
    paused = set(db.scalars(select(Counter.id).where(Counter.site_id == row.id, Counter.paused.is_(True))))
    out = []
    for svc in db.scalars(select(QueueService).where(QueueService.site_id == row.id).order_by(QueueService.prefix)):
        waiting = db.scalar(select(func.count()).where(QueueTicket.service_id == svc.id, QueueTicket.day == day,
                                                       QueueTicket.state == "waiting")) or 0
        mean = _mean_service_s(db, svc.id, day)
        open_counters = max(1, len([c for c in svc.counter_ids if c not in paused]))
        out.append(ServiceView(svc.id, site, svc.name, svc.prefix, [names[c] for c in svc.counter_ids if c in names],
                               svc.priority, svc.active, waiting,
                               waiting * (mean or DEFAULT_SERVICE_S) / open_counters, mean))
    return out


def _ticket_view(s: Session, t: QueueTicket, site: str) -> TicketView:
    svc = s.get(QueueService, t.service_id)
    before = s.scalar(select(func.count()).where(
        QueueTicket.service_id == t.service_id, QueueTicket.day == t.day, QueueTicket.state == "waiting",
        QueueTicket.id != t.id, QueueTicket.taken_s <= t.taken_s)) or 0 if t.state == "waiting" else 0
    c = s.get(Counter, t.counter_id) if t.counter_id else None
    return TicketView(t.id, site, t.service_id, svc.name if svc else "", t.code, t.state, t.taken_s, before,
                      t.status_key, t.called_s, c.name if c else None,
                      counter_label(c.name, c.display_name) if c else None, t.call_event_id)


def take_ticket(engine: Engine, user: Principal, *, site: str, service_id: int, now: float | None = None) -> TicketView:
    """A new ticket of the service, numbered after today's last one.

    Raises:
        SiteForbidden, SiteNotFound, ServiceNotFound (also: not active), QueueError (999 taken today).
    """
    at = now or now_s()
    with write_session(engine) as s:
        row = _site(s, user, site)
        svc = s.get(QueueService, service_id)
        if svc is None or svc.site_id != row.id or not svc.active:
            raise ServiceNotFound(service_id)
        day = local_day(row.timezone, at)
        last = s.scalar(select(func.max(QueueTicket.number)).where(QueueTicket.service_id == svc.id,
                                                                   QueueTicket.day == day)) or 0
        if last >= MAX_NUMBER:
            raise QueueError(f"service {svc.name}", "all numbers of today are taken")
        t = QueueTicket(site_id=row.id, service_id=svc.id, day=day, number=last + 1, code=f"{svc.prefix}{last + 1:03d}",
                        priority=svc.priority, state="waiting", status_key=secrets.token_urlsafe(18)[:24], taken_s=at)
        s.add(t)
        s.flush()
        return _ticket_view(s, t, site)


def ticket_by_key(db: Session, key: str) -> TicketView | None:
    """The ticket whose QR code carries ``key`` (its status page), or None."""
    t = db.scalar(select(QueueTicket).where(QueueTicket.status_key == key))
    if t is None:
        return None
    return _ticket_view(db, t, db.get_one(Site, t.site_id).name)


# -- at the counter ------------------------------------------------------------------------------

@dataclass(frozen=True)
class CounterRef:
    id: int
    site_id: int
    site: str
    name: str
    label: str
    timezone: str


def counter_ref(db: Session, user: Principal, counter_id: int) -> CounterRef:
    """The counter ``counter_id`` if the caller may work it: a person of its site, or the capture
    agent bound to it (a hardware call button), never another counter's agent.

    Raises:
        NotFound (no such counter, or of a site the caller may not see), Forbidden (another counter's agent).
    """
    row = db.execute(select(Counter, Site).join(Site).where(Counter.id == counter_id)).first()
    if row is None or not user.can_see(row[1].name):
        raise NotFound(f"counter {counter_id}", "not found", code="unknown_counter")
    c, site = row
    if user.role == "agent" and user.counter_id != c.id:
        raise Forbidden(f"counter {counter_id}", "a capture agent's token works its own counter only",
                        code="agent_binding")
    return CounterRef(c.id, site.id, site.name, c.name, counter_label(c.name, c.display_name), site.timezone)


def _current(s: Session, ref: CounterRef) -> QueueTicket | None:
    return s.scalar(select(QueueTicket).where(QueueTicket.counter_id == ref.id, QueueTicket.state == "serving")
                    .order_by(QueueTicket.called_s.desc()).limit(1))


def _finish_current(s: Session, ref: CounterRef, state: str, at: float) -> QueueTicket | None:
    cur = _current(s, ref)
    if cur is not None:
        cur.state, cur.finished_s = state, at
    return cur


def _record_call(engine: Engine, ref: CounterRef, ticket_id: int, code: str, service: str, at: float) -> int:
    event_id = Catalog(engine).add_event(ref.site, ref.name, kind="queue_call", at_s=at,
                                         payload={"ticket": code, "service": service, "ticket_id": str(ticket_id)})
    with write_session(engine) as s:
        t = s.get_one(QueueTicket, ticket_id)
        t.call_event_id, t.calls = event_id, t.calls + 1
    return event_id


def call_next(engine: Engine, ref: CounterRef, *, now: float | None = None) -> TicketView:
    """Finish the counter's current ticket (办结) and call the next waiting one of its services:
    highest priority (绿色通道) first, then the earliest taken.

    Raises:
        NothingToCall.
    """
    at = now or now_s()
    day = local_day(ref.timezone, at)
    with write_session(engine) as s:
        _finish_current(s, ref, "done", at)
    for _ in range(20):     # another counter may take the same ticket at the same moment: take the next
        with write_session(engine) as s:
            svc_ids = [v.id for v in s.scalars(select(QueueService).where(QueueService.site_id == ref.site_id,
                                                                          QueueService.active.is_(True)))
                       if ref.id in (v.counter_ids or [])]
            t = s.scalar(select(QueueTicket).where(QueueTicket.service_id.in_(svc_ids), QueueTicket.day == day,
                                                   QueueTicket.state == "waiting")
                         .order_by(QueueTicket.priority.desc(), QueueTicket.taken_s, QueueTicket.id).limit(1))
            if t is None:
                raise NothingToCall(ref.label)
            got = cast(CursorResult, s.execute(update(QueueTicket).where(QueueTicket.id == t.id, QueueTicket.state == "waiting")
                            .values(state="serving", counter_id=ref.id, called_s=at))).rowcount
            if not got:
                continue
            tid, code, service = t.id, t.code, s.get_one(QueueService, t.service_id).name
        _record_call(engine, ref, tid, code, service, at)
        with read_session(engine) as s:
            return _ticket_view(s, s.get_one(QueueTicket, tid), ref.site)
    raise NothingToCall(ref.label)


def recall(engine: Engine, ref: CounterRef, *, now: float | None = None) -> TicketView:
    """Call the current ticket again (a new queue_call: the screens announce it once more).

    Raises:
        NoCurrentTicket.
    """
    at = now or now_s()
    with read_session(engine) as s:
        cur = _current(s, ref)
        if cur is None:
            raise NoCurrentTicket(ref.label)
        tid, code, service = cur.id, cur.code, s.get_one(QueueService, cur.service_id).name
    _record_call(engine, ref, tid, code, service, at)
    with read_session(engine) as s:
        return _ticket_view(s, s.get_one(QueueTicket, tid), ref.site)


def end_current(engine: Engine, ref: CounterRef, *, state: str, now: float | None = None) -> TicketView:
    """办结 (``done``) or 过号 (``skipped``) the current ticket.

    Raises:
        NoCurrentTicket.
    """
    with write_session(engine) as s:
        cur = _finish_current(s, ref, state, now or now_s())
        if cur is None:
            raise NoCurrentTicket(ref.label)
        s.flush()
        return _ticket_view(s, cur, ref.site)


def transfer(engine: Engine, ref: CounterRef, *, service_id: int) -> TicketView:
    """Send the current ticket to another service of the site: it waits there again, keeping its
    number and its place by the time it was taken.

    Raises:
        NoCurrentTicket, ServiceNotFound.
    """
    with write_session(engine) as s:
        svc = s.get(QueueService, service_id)
        if svc is None or svc.site_id != ref.site_id or not svc.active:
            raise ServiceNotFound(service_id)
        cur = _current(s, ref)
        if cur is None:
            raise NoCurrentTicket(ref.label)
        cur.service_id, cur.state, cur.counter_id, cur.called_s = svc.id, "waiting", None, None
        cur.priority = max(cur.priority, svc.priority)
        s.flush()
        return _ticket_view(s, cur, ref.site)


def set_paused(engine: Engine, ref: CounterRef, *, paused: bool, now: float | None = None) -> None:
    """暂停服务 / 恢复服务: the catalog's pause and resume events (the screens show it)."""
    Catalog(engine).add_event(ref.site, ref.name, kind="pause" if paused else "resume", at_s=now or now_s())


def serving(db: Session, user: Principal, *, site: str) -> list[CounterServing]:
    """Per counter of the site: its latest call today from this queue or a hall's own, and 暂停服务."""
    row = _site(db, user, site)
    out = []
    for c in db.scalars(select(Counter).where(Counter.site_id == row.id).order_by(Counter.name)):
        ev = db.scalar(select(Event).where(Event.counter_id == c.id, Event.kind == "queue_call")
                       .order_by(Event.at_s.desc(), Event.id.desc()).limit(1))
        out.append(CounterServing(c.id, c.name, counter_label(c.name, c.display_name), bool(c.paused),
                                  (ev.payload or {}).get("ticket") if ev else None, ev.at_s if ev else None,
                                  ev.id if ev else None))
    return out


def call_event(db: Session, user: Principal, event_id: int) -> tuple[str, str]:
    """The ticket and the counter's label of queue call ``event_id`` (for its announcement).

    Raises:
        NotFound: no such call, or of a site the caller may not see.
    """
    row = db.execute(select(Event, Counter, Site).join(Counter, Event.counter_id == Counter.id)
                     .join(Site, Counter.site_id == Site.id).where(Event.id == event_id)).first()
    if row is None or row[0].kind != "queue_call" or not user.can_see(row[2].name) or not (row[0].payload or {}).get("ticket"):
        raise NotFound(f"call {event_id}", "not found", code="call_not_found")
    ev, c, _ = row
    return ev.payload["ticket"], counter_label(c.name, c.display_name)


def ticket_interaction(db: Session, *, counter_id: int, called_s: float) -> Interaction | None:
    """The recording of the service a call started: the counter's interaction that begins at the
    call (the call cut the recording there; a few seconds' slack for the cut), before the next call."""
    nxt = db.scalar(select(func.min(Event.at_s)).where(Event.counter_id == counter_id, Event.kind == "queue_call",
                                                       Event.at_s > called_s))
    q = select(Interaction).where(Interaction.counter_id == counter_id, Interaction.wall_start_s >= called_s - CALL_SLACK_S)
    if nxt is not None:
        q = q.where(Interaction.wall_start_s < nxt)
    return db.scalar(q.order_by(Interaction.wall_start_s).limit(1))
