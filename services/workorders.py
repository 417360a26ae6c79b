"""Supervision work orders (工单/督办): a complaint, a bad rating, a confirmed high-severity finding,
or a request taken by phone or letter, each with an owner (department, person), a deadline in the
site's working days (:mod:`services.workdays`), transfer, reply and callback (回访); 督办 marks what
is near or past its deadline and escalates it to the owner department's supervisor.

Complaints are one kind of work order: each complaint has one (``work_orders.complaint_id``),
opened when the complaint is recorded (and by migration h21 for the older ones); the complaint
keeps its finding and answer, the work order its deadline, owner and callback. Every change is
kept in ``work_order_actions`` (and the API audits it).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from domain.errors import Conflict, Invalid, NotFound
from domain.timezones import month_bounds
from domain.vocab import BAD_RATING_WORKING_DAYS, NEAR_DUE_WORKING_DAYS, REVIEWERS, WORK_ORDER_KINDS, WORK_ORDER_STATES
from services.accounts import Principal
from services.catalog import SiteNotFound
from services.interactions import check_site
from services.workdays import Calendar, calendar_of
from storage.engine import read_session, write_session
from storage.tables import (
    Complaint,
    Department,
    Event,
    Flag,
    Interaction,
    QueueTicket,
    Site,
    WorkOrder,
    WorkOrderAction,
    now_s,
)

#: Working days to answer, by kind, unless given (差评整改: 15 working days by the 好差评 rules).
DEFAULT_WORKING_DAYS = {"complaint": 5, "rating": BAD_RATING_WORKING_DAYS, "finding": 10, "manual": 5}


class WorkOrderNotFound(NotFound):
    code = "work_order_not_found"

    def __init__(self, wo_id: int) -> None:
        super().__init__(f"work order {wo_id}", "not found", work_order_id=wo_id)


@dataclass(frozen=True)
class WorkOrderView:
    id: int
    site: str
    kind: str
    channel: str
    title: str
    detail: str
    department: str | None
    owner: str
    state: str
    received_s: float
    working_days: int
    due_s: float
    #: 督办: ``overdue`` (past the deadline, not answered), ``near`` (within NEAR_DUE_WORKING_DAYS), ``ok``, ``done``.
    urgency: str
    on_time: bool | None
    replied_s: float | None
    reply: str
    callback_s: float | None
    callback_result: str
    escalated_to: str
    complaint_id: int | None
    interaction_id: int | None
    findings: list[dict] = field(default_factory=list)
    rating: dict | None = None
    actions: list[dict] = field(default_factory=list)


def _site(s: Session, user: Principal | None, site: str) -> Site:
    if user is not None:
        check_site(user, site)
    row = s.scalar(select(Site).where(Site.name == site))
    if row is None:
        raise SiteNotFound(site)
    return row


def _act(s: Session, wo: WorkOrder, who: str, action: str, at: float, **detail: object) -> None:
    s.add(WorkOrderAction(work_order_id=wo.id, at_s=at, user_name=who, action=action, detail=detail))


def open_in(s: Session, *, site_id: int, kind: str, title: str, detail: str = "", channel: str = "window",
            who: str, now: float, working_days: int | None = None, complaint_id: int | None = None,
            rating_event_id: int | None = None, flag_id: int | None = None, interaction_id: int | None = None,
            department_id: int | None = None, owner: str = "", due_s: float | None = None) -> WorkOrder:
    """Open a work order in session ``s`` (the caller's transaction: a complaint and its work
    order are written together)."""
    site = s.get_one(Site, site_id)
    days = working_days if working_days is not None else DEFAULT_WORKING_DAYS[kind]
    cal = calendar_of(s, site_id=site_id, timezone=site.timezone)
    wo = WorkOrder(site_id=site_id, kind=kind, channel=channel, title=title[:200], detail=detail, state="open",
                   received_s=now, working_days=days, due_s=due_s if due_s is not None else cal.due_s(now, days),
                   complaint_id=complaint_id, rating_event_id=rating_event_id, flag_id=flag_id,
                   interaction_id=interaction_id, department_id=department_id, owner=owner, created_by=who)
    s.add(wo)
    s.flush()
    _act(s, wo, who, "create", now, kind=kind)
    return wo


def open_for_finding(s: Session, f: Flag, *, who: str, now: float) -> None:
    """A confirmed high-severity finding opens its work order once (with its recording)."""
    from storage.tables import Counter

    if s.scalar(select(WorkOrder.id).where(WorkOrder.flag_id == f.id)) is not None:
        return
    inter = s.get_one(Interaction, f.interaction_id)
    site_id = s.get_one(Counter, inter.counter_id).site_id
    open_in(s, site_id=site_id, kind="finding", channel="system", title=f"严重问题整改：{f.phrase or f.rule}"[:200],
            detail=f.review_note, who=who, now=now, flag_id=f.id, interaction_id=inter.id)


def complaint_answered(s: Session, c: Complaint, who: str, now: float) -> None:
    """The complaint's answer is its work order's reply (one answer, two views)."""
    wo = s.scalar(select(WorkOrder).where(WorkOrder.complaint_id == c.id))
    if wo is not None and wo.replied_s is None:
        wo.reply, wo.state, wo.replied_s = c.finding, "replied", now
        _act(s, wo, who, "reply", now, text=c.finding, via="complaint")


def _urgency(wo: WorkOrder, cal: Calendar, now: float) -> tuple[str, bool | None]:
    if wo.replied_s is not None:
        return "done", wo.replied_s <= wo.due_s
    if now > wo.due_s:
        return "overdue", False
    return ("near" if cal.working_days_between(now, wo.due_s) <= NEAR_DUE_WORKING_DAYS else "ok"), None


def _rating_of(s: Session, wo: WorkOrder) -> tuple[dict | None, int | None]:
    """The rating press behind a 差评 work order, and the interaction it rates (through its ticket's call)."""
    if wo.rating_event_id is None:
        return None, wo.interaction_id
    ev = s.get_one(Event, wo.rating_event_id)
    rating = dict(ev.payload or {}) | {"at_s": ev.at_s}
    inter_id = wo.interaction_id
    if inter_id is None and (ev.payload or {}).get("ticket_id"):
        from services.queue import ticket_interaction

        t = s.get(QueueTicket, int(ev.payload["ticket_id"]))
        if t is not None and t.called_s is not None and t.counter_id is not None:
            inter = ticket_interaction(s, counter_id=t.counter_id, called_s=t.called_s)
            inter_id = inter.id if inter else None
    return rating, inter_id


def _view(s: Session, wo: WorkOrder, site: Site, now: float, *, full: bool = False) -> WorkOrderView:
    cal = calendar_of(s, site_id=site.id, timezone=site.timezone)
    urgency, on_time = _urgency(wo, cal, now)
    dept = s.get(Department, wo.department_id) if wo.department_id else None
    rating, inter_id = _rating_of(s, wo)
    findings, actions = [], []
    if full:
        if inter_id is not None:
            findings = [{"id": f.id, "type": f.type, "rule": f.rule, "phrase": f.phrase, "severity": f.severity,
                         "review_state": f.review_state, "start_s": f.start_s}
                        for f in s.scalars(select(Flag).where(Flag.interaction_id == inter_id).order_by(Flag.start_s))]
        actions = [{"at_s": a.at_s, "user": a.user_name, "action": a.action, "detail": a.detail}
                   for a in s.scalars(select(WorkOrderAction).where(WorkOrderAction.work_order_id == wo.id)
                                      .order_by(WorkOrderAction.id))]
    return WorkOrderView(wo.id, site.name, wo.kind, wo.channel, wo.title, wo.detail, dept.name if dept else None,
                         wo.owner, wo.state, wo.received_s, wo.working_days, wo.due_s, urgency, on_time, wo.replied_s,
                         wo.reply, wo.callback_s, wo.callback_result, wo.escalated_to, wo.complaint_id, inter_id,
                         findings, rating, actions)


def _department(s: Session, site_id: int, name: str | None) -> Department | None:
    if not name:
        return None
    d = s.scalar(select(Department).where(Department.site_id == site_id, Department.name == name))
    if d is None:
        raise Invalid(f"department {name!r}", "not a department of this site (add it first)", code="unknown_department")
    return d


def save_department(engine: Engine, user: Principal, *, site: str, name: str, supervisor: str = "") -> dict:
    with write_session(engine) as s:
        row = _site(s, user, site)
        d = s.scalar(select(Department).where(Department.site_id == row.id, Department.name == name))
        if d is None:
            d = Department(site_id=row.id, name=name)
            s.add(d)
        d.supervisor = supervisor
        s.flush()
        return {"id": d.id, "site": site, "name": d.name, "supervisor": d.supervisor}


def departments(db: Session, user: Principal, *, site: str) -> list[dict]:
    row = _site(db, user, site)
    return [{"id": d.id, "site": site, "name": d.name, "supervisor": d.supervisor}
            for d in db.scalars(select(Department).where(Department.site_id == row.id).order_by(Department.name))]


def set_calendar_day(engine: Engine, user: Principal, *, site: str, day: dt.date, working: bool | None,
                     note: str = "") -> None:
    """A site's own holiday (``working`` False) or working day (True); None: back to the statutory calendar."""
    from storage.tables import CalendarDay

    with write_session(engine) as s:
        row = _site(s, user, site)
        d = s.scalar(select(CalendarDay).where(CalendarDay.site_id == row.id, CalendarDay.day == day.isoformat()))
        if working is None:
            if d is not None:
                s.delete(d)
            return
        if d is None:
            d = CalendarDay(site_id=row.id, day=day.isoformat(), working=working)
            s.add(d)
        d.working, d.note = working, note


def create(engine: Engine, user: Principal, *, site: str, kind: str, title: str, detail: str = "",
           channel: str = "window", department: str | None = None, owner: str = "", working_days: int | None = None,
           interaction_id: int | None = None, now: float | None = None) -> WorkOrderView:
    """A work order entered by hand (a request taken by phone or letter, or any kind a supervisor opens).

    Raises:
        SiteForbidden, SiteNotFound, Invalid (kind, department, interaction not of the site).
    """
    if kind not in WORK_ORDER_KINDS or kind == "complaint":
        raise Invalid(f"kind {kind!r}", "complaints are recorded on the complaints page; here: rating, finding, "
                      "manual", code="bad_kind")
    at = now or now_s()
    with write_session(engine) as s:
        row = _site(s, user, site)
        if interaction_id is not None:
            inter = s.get(Interaction, interaction_id)
            from storage.tables import Counter

            if inter is None or s.get_one(Counter, inter.counter_id).site_id != row.id:
                raise NotFound(f"interaction {interaction_id}", "not found", code="interaction_not_found")
        d = _department(s, row.id, department)
        wo = open_in(s, site_id=row.id, kind=kind, title=title, detail=detail, channel=channel, who=user.name,
                     now=at, working_days=working_days, interaction_id=interaction_id,
                     department_id=d.id if d else None, owner=owner)
        return _view(s, wo, row, at, full=True)


def _visible(s: Session, user: Principal, wo_id: int) -> tuple[WorkOrder, Site]:
    wo = s.get(WorkOrder, wo_id)
    site = s.get(Site, wo.site_id) if wo else None
    if wo is None or site is None or not user.can_see(site.name):
        raise WorkOrderNotFound(wo_id)
    if user.role == "handler" and wo.owner != user.name and wo.escalated_to != user.name:
        raise WorkOrderNotFound(wo_id)      # a handler sees the work orders given to them only
    return wo, site


def get(db: Session, user: Principal, wo_id: int, *, now: float | None = None) -> WorkOrderView:
    wo, site = _visible(db, user, wo_id)
    return _view(db, wo, site, now or now_s(), full=True)


def list_orders(db: Session, user: Principal, *, site: str | None = None, state: str | None = None,
                urgency: str | None = None, now: float | None = None, limit: int = 200) -> list[WorkOrderView]:
    """Work orders of the visible sites, the most urgent first (a handler: the ones given to them)."""
    check_site(user, site)
    at = now or now_s()
    q = select(WorkOrder, Site).join(Site, WorkOrder.site_id == Site.id)
    if site:
        q = q.where(Site.name == site)
    elif user.sites:
        q = q.where(Site.name.in_(user.sites))
    if user.role == "handler":
        q = q.where(or_(WorkOrder.owner == user.name, WorkOrder.escalated_to == user.name))
    if state:
        q = q.where(WorkOrder.state == state)
    rows = [_view(db, wo, st, at) for wo, st in db.execute(q.order_by(WorkOrder.due_s).limit(limit * 5))]
    if urgency:
        rows = [r for r in rows if r.urgency == urgency]
    order = {"overdue": 0, "near": 1, "ok": 2, "done": 3}
    return sorted(rows, key=lambda r: (order[r.urgency], r.due_s))[:limit]


def transfer(engine: Engine, user: Principal, wo_id: int, *, department: str | None, owner: str,
             note: str = "", now: float | None = None) -> WorkOrderView:
    """Give the work order to another department/person (a supervisor, or its handler passing it on).

    Raises:
        WorkOrderNotFound, Conflict (already closed), Invalid (department).
    """
    at = now or now_s()
    with write_session(engine) as s:
        wo, site = _visible(s, user, wo_id)
        if wo.state == "closed":
            raise Conflict(f"work order {wo_id}", "is closed", code="work_order_closed")
        d = _department(s, site.id, department)
        before = {"department_id": wo.department_id, "owner": wo.owner}
        wo.department_id, wo.owner = (d.id if d else None), owner
        _act(s, wo, user.name, "transfer", at, before=before, department=department, owner=owner, note=note)
        return _view(s, wo, site, at, full=True)


def reply(engine: Engine, user: Principal, wo_id: int, *, text: str, now: float | None = None) -> WorkOrderView:
    """The owner's reply (整改 result). A later reply replaces the text and is kept in the history;
    the first reply's time decides whether it was on time.

    Raises:
        WorkOrderNotFound, Conflict (closed).
    """
    at = now or now_s()
    with write_session(engine) as s:
        wo, site = _visible(s, user, wo_id)
        if wo.state == "closed":
            raise Conflict(f"work order {wo_id}", "is closed", code="work_order_closed")
        wo.reply, wo.state = text, "replied"
        wo.replied_s = wo.replied_s if wo.replied_s is not None else at
        if wo.complaint_id is not None:       # the complaint is answered with it (件件有回音)
            c = s.get(Complaint, wo.complaint_id)
            if c is not None and c.state != "answered":
                c.state, c.finding, c.answered_s, c.updated_s = "answered", c.finding or text, at, at
        _act(s, wo, user.name, "reply", at, text=text)
        return _view(s, wo, site, at, full=True)


def callback(engine: Engine, user: Principal, wo_id: int, *, result: str, now: float | None = None) -> WorkOrderView:
    """回访: the result of calling the customer back; closes the work order.

    Raises:
        WorkOrderNotFound, Conflict (not replied yet).
    """
    at = now or now_s()
    with write_session(engine) as s:
        wo, site = _visible(s, user, wo_id)
        if wo.replied_s is None:
            raise Conflict(f"work order {wo_id}", "has no reply yet: call back after the reply", code="not_replied")
        wo.callback_s, wo.callback_result, wo.state = at, result, "closed"
        _act(s, wo, user.name, "callback", at, result=result)
        return _view(s, wo, site, at, full=True)


def escalate_due(engine: Engine, user: Principal, *, site: str, now: float | None = None) -> list[int]:
    """督办: escalate every unanswered work order of the site past its deadline, not escalated yet,
    to its department's supervisor (or to the caller when the department names none). Returns their ids."""
    at = now or now_s()
    with write_session(engine) as s:
        row = _site(s, user, site)
        out = []
        for wo in s.scalars(select(WorkOrder).where(WorkOrder.site_id == row.id, WorkOrder.state == "open",
                                                    WorkOrder.due_s < at, WorkOrder.escalated_s.is_(None))):
            d = s.get(Department, wo.department_id) if wo.department_id else None
            wo.escalated_s, wo.escalated_to = at, (d.supervisor if d and d.supervisor else user.name)
            _act(s, wo, user.name, "escalate", at, to=wo.escalated_to)
            out.append(wo.id)
        return out


@dataclass(frozen=True)
class DepartmentMonth:
    department: str
    total: int
    replied: int
    on_time: int
    overdue: int
    callbacks: int
    on_time_rate: float | None
    callback_rate: float | None


def report(db: Session, user: Principal, *, site: str, month: str, now: float | None = None) -> list[DepartmentMonth]:
    """Per department, the work orders received in ``month`` (YYYY-MM, the site's time): on-time rate
    (answered by the deadline / all), overdue count (past the deadline unanswered, or answered late),
    callback rate (called back / answered)."""
    row = _site(db, user, site)
    at = now or now_s()
    try:
        start_s, end_s = month_bounds(month, row.timezone)
    except ValueError as e:
        raise Invalid(f"month {month!r}", "must be YYYY-MM") from e
    groups: dict[str, list[WorkOrder]] = {}
    for wo, d in db.execute(select(WorkOrder, Department.name).outerjoin(Department, WorkOrder.department_id == Department.id)
                            .where(WorkOrder.site_id == row.id, WorkOrder.received_s >= start_s,
                                   WorkOrder.received_s < end_s)):
        groups.setdefault(d or "未分派", []).append(wo)
    out = []
    for name in sorted(groups):
        rows = groups[name]
        replied = [w for w in rows if w.replied_s is not None]
        on_time = sum(1 for w in replied if w.replied_s is not None and w.replied_s <= w.due_s)
        overdue = sum(1 for w in rows if (w.replied_s is None and at > w.due_s)
                      or (w.replied_s is not None and w.replied_s > w.due_s))
        callbacks = sum(1 for w in replied if w.callback_s is not None)
        out.append(DepartmentMonth(name, len(rows), len(replied), on_time, overdue, callbacks,
                                   on_time / len(rows) if rows else None,
                                   callbacks / len(replied) if replied else None))
    return out


def can_supervise(user: Principal) -> bool:
    return user.role in REVIEWERS


def check_states(state: str | None) -> None:
    if state is not None and state not in WORK_ORDER_STATES:
        raise Invalid(f"state {state!r}", f"must be one of {', '.join(WORK_ORDER_STATES)}")


def work_order_of_complaint(engine: Engine, complaint_id: int) -> int | None:
    with read_session(engine) as s:
        return s.scalar(select(WorkOrder.id).where(WorkOrder.complaint_id == complaint_id))
