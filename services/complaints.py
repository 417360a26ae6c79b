"""Complaints (投诉): every one is linked to what happened (the recording, the counter, the staff
member, the time) and gets an answer (件件有回音). A complaint stays editable after its answer;
every change is kept (``complaint_revisions``: who, when, old and new value of each field).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, delete, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from domain.errors import NotFound
from services import workorders
from services.accounts import Principal
from services.catalog import SiteNotFound, UnknownCounter
from services.filters import counter_matches
from services.interactions import InteractionNotFound, check_site
from services.names import counter_label
from storage.engine import write_session
from storage.tables import Complaint, ComplaintDraft, ComplaintRevision, Counter, Flag, Interaction, Site, Staff, now_s

#: Answer due this long after a complaint is received, unless given.
DEFAULT_DUE_S = 5 * 86400.0
#: Fields a person may change, as the revisions name them.
FIELDS = ("summary", "complainant", "interaction_id", "counter", "staff", "incident_s", "due_s", "finding", "state")


class ComplaintNotFound(NotFound):
    code = "complaint_not_found"

    def __init__(self, complaint_id: int) -> None:
        super().__init__(f"complaint {complaint_id}", "not found", complaint_id=complaint_id)


class StaffNotFound(NotFound):
    code = "staff_not_found"

    def __init__(self, site: str, name: str) -> None:
        super().__init__(f"staff {name!r} at {site}", "not found (no shift was ever started for them)", staff=name)


@dataclass(frozen=True)
class ComplaintView:
    id: int
    site: str
    interaction_id: int | None
    received_s: float
    complainant: str
    summary: str
    due_s: float
    overdue: bool
    state: str
    finding: str
    answered_s: float | None
    counter: str | None = None
    counter_label: str | None = None
    staff: str | None = None
    incident_s: float | None = None
    updated_s: float | None = None
    #: changes after it was filed (the filing itself is the first entry of its history, not a change)
    revisions: int = 0
    #: the linked recording's flags with their review: [{id, type, rule, review_state, review_note}]
    flags: list = field(default_factory=list)
    #: other complaints about the same recording (ids), so a second one is filed knowingly
    same_recording: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class RevisionView:
    id: int
    at_s: float
    user_name: str
    action: str
    changes: dict


def _view(s: Session, c: Complaint, site: str, now: float) -> ComplaintView:
    counter = s.get(Counter, c.counter_id) if c.counter_id else None
    staff = s.get(Staff, c.staff_id) if c.staff_id else None
    revisions = s.scalar(select(func.count(ComplaintRevision.id)).where(ComplaintRevision.complaint_id == c.id,
                                                                      ComplaintRevision.action != "create")) or 0
    flags, same = [], []
    if c.interaction_id is not None:
        flags = [{"id": f.id, "type": f.type, "rule": f.rule, "review_state": f.review_state,
                  "review_note": f.review_note}
                 for f in s.scalars(select(Flag).where(Flag.interaction_id == c.interaction_id)
                                    .order_by(Flag.start_s, Flag.id))]
        same = list(s.scalars(select(Complaint.id).where(Complaint.interaction_id == c.interaction_id,
                                                         Complaint.id != c.id).order_by(Complaint.id)))
    return ComplaintView(id=c.id, site=site, interaction_id=c.interaction_id, received_s=c.received_s,
                         complainant=c.complainant, summary=c.summary, due_s=c.due_s,
                         overdue=c.state == "open" and c.due_s < now, state=c.state, finding=c.finding,
                         answered_s=c.answered_s, counter=counter.name if counter else None,
                         counter_label=counter_label(counter.name, counter.display_name) if counter else None,
                         staff=staff.name if staff else None, incident_s=c.incident_s, updated_s=c.updated_s,
                         revisions=revisions, flags=flags, same_recording=same)


def _counter_id(s: Session, site_id: int, site: str, name: str | None) -> int | None:
    if not name:
        return None
    cid = s.scalar(select(Counter.id).where(Counter.site_id == site_id, counter_matches(name)))
    if cid is None:
        raise UnknownCounter(site, name)
    return cid


def _staff_id(s: Session, site_id: int, site: str, name: str | None) -> int | None:
    if not name:
        return None
    sid = s.scalar(select(Staff.id).where(Staff.site_id == site_id, Staff.name == name))
    if sid is None:
        raise StaffNotFound(site, name)
    return sid


def _interaction(s: Session, site_id: int, interaction_id: int) -> Interaction:
    inter = s.get(Interaction, interaction_id)
    owner = s.scalar(select(Counter.site_id).where(Counter.id == inter.counter_id)) if inter else None
    if inter is None or owner != site_id:
        raise InteractionNotFound(interaction_id)
    return inter


def _state(c: Complaint, s: Session) -> dict[str, Any]:
    counter = s.get(Counter, c.counter_id) if c.counter_id else None
    staff = s.get(Staff, c.staff_id) if c.staff_id else None
    return {"summary": c.summary, "complainant": c.complainant, "interaction_id": c.interaction_id,
            "counter": counter.name if counter else None, "staff": staff.name if staff else None,
            "incident_s": c.incident_s, "due_s": c.due_s, "finding": c.finding, "state": c.state}


def _revise(s: Session, c: Complaint, user: Principal, action: str, before: dict[str, Any], at: float) -> None:
    after = _state(c, s)
    changes = {k: [before.get(k), after[k]] for k in FIELDS if before.get(k) != after[k]}
    if changes:
        s.add(ComplaintRevision(complaint_id=c.id, at_s=at, user_id=user.id, user_name=user.name, action=action,
                                changes=changes))


def create(engine: Engine, user: Principal, *, site: str, summary: str, complainant: str = "",
           interaction_id: int | None = None, due_s: float | None = None, counter: str | None = None,
           staff: str | None = None, incident_s: float | None = None) -> ComplaintView:
    """Record a complaint, optionally linked to the interaction it is about (same site), whose
    counter, staff member and start fill in the fields not given. The author's draft of a new
    complaint is dropped.

    Raises:
        SiteForbidden, SiteNotFound, InteractionNotFound (not of that site), UnknownCounter, StaffNotFound.
    """
    check_site(user, site)
    with write_session(engine) as s:
        row = s.scalar(select(Site).where(Site.name == site))
        if row is None:
            raise SiteNotFound(site)
        now = now_s()
        c = Complaint(site_id=row.id, interaction_id=interaction_id, received_s=now, complainant=complainant,
                      summary=summary, due_s=due_s if due_s is not None else now + DEFAULT_DUE_S, state="open",
                      finding="", created_by=user.id, counter_id=_counter_id(s, row.id, site, counter),
                      staff_id=_staff_id(s, row.id, site, staff), incident_s=incident_s)
        if interaction_id is not None:
            inter = _interaction(s, row.id, interaction_id)
            c.counter_id = c.counter_id or inter.counter_id
            c.staff_id = c.staff_id or inter.staff_id
            c.incident_s = c.incident_s if c.incident_s is not None else inter.wall_start_s
        s.add(c)
        s.flush()
        _revise(s, c, user, "create", {}, now)
        # complaints are one kind of work order (services.workorders): its deadline, owner, callback
        workorders.open_in(s, site_id=row.id, kind="complaint", complaint_id=c.id, interaction_id=c.interaction_id,
                           title=summary, detail=summary, who=user.name, now=now, due_s=c.due_s)
        s.execute(delete(ComplaintDraft).where(ComplaintDraft.user_id == user.id, ComplaintDraft.key == "new"))
        return _view(s, c, site, now)


def list_complaints(db: Session, user: Principal, *, state: str | None = None, site: str | None = None,
                    limit: int = 200, interaction_id: int | None = None) -> list[ComplaintView]:
    """Complaints of the visible sites: open ones first, earliest due (so overdue) first,
    then answered ones, newest answer first."""
    check_site(user, site)
    q = (select(Complaint, Site.name).join(Site, Complaint.site_id == Site.id)
         .order_by(case((Complaint.state == "open", 0), else_=1), Complaint.due_s, Complaint.id).limit(limit))
    if user.sites:
        q = q.where(Site.name.in_(user.sites))
    if site is not None:
        q = q.where(Site.name == site)
    if state is not None:
        q = q.where(Complaint.state == state)
    if interaction_id is not None:
        q = q.where(Complaint.interaction_id == interaction_id)
    now = now_s()
    rows = [_view(db, c, s, now) for c, s in db.execute(q)]
    answered = sorted((r for r in rows if r.state != "open"), key=lambda r: -(r.answered_s or 0))
    return [r for r in rows if r.state == "open"] + answered


def _visible(s: Session, user: Principal, complaint_id: int) -> tuple[Complaint, Site]:
    row = s.execute(select(Complaint, Site).join(Site, Complaint.site_id == Site.id)
                    .where(Complaint.id == complaint_id)).first()
    if row is None or not user.can_see(row[1].name):
        raise ComplaintNotFound(complaint_id)
    return row[0], row[1]


def edit(engine: Engine, user: Principal, complaint_id: int, *, finding: str | None = None,
         answered: bool = False, **fields: Any) -> ComplaintView:
    """Change a complaint's fields (``summary``, ``complainant``, ``interaction_id``, ``counter``,
    ``staff``, ``incident_s``, ``due_s``: given ones only) and, with ``finding``, record the answer
    (first answer: ``answered_s``; later ones amend it). Each change is kept as a revision; the
    author's draft of this complaint is dropped.

    Raises:
        ComplaintNotFound; InteractionNotFound, UnknownCounter, StaffNotFound (not of its site).
    """
    with write_session(engine) as s:
        c, site = _visible(s, user, complaint_id)
        before = _state(c, s)
        now = now_s()
        if "summary" in fields:
            c.summary = fields["summary"]
        if "complainant" in fields:
            c.complainant = fields["complainant"]
        if "interaction_id" in fields:
            iid = fields["interaction_id"]
            c.interaction_id = _interaction(s, site.id, iid).id if iid is not None else None
        if "counter" in fields:
            c.counter_id = _counter_id(s, site.id, site.name, fields["counter"])
        if "staff" in fields:
            c.staff_id = _staff_id(s, site.id, site.name, fields["staff"])
        if "incident_s" in fields:
            c.incident_s = fields["incident_s"]
        if "due_s" in fields and fields["due_s"] is not None:
            c.due_s = fields["due_s"]
        action = "edit"
        if finding is not None or answered:
            if finding is not None:
                c.finding = finding
            if c.state != "answered":
                c.state, c.answered_s, action = "answered", now, "answer"
                workorders.complaint_answered(s, c, user.name, now)
        c.updated_s = now
        _revise(s, c, user, action, before, now)
        s.execute(delete(ComplaintDraft).where(ComplaintDraft.user_id == user.id,
                                               ComplaintDraft.key == f"complaint-{complaint_id}"))
        s.flush()
        return _view(s, c, site.name, now)


def answer(engine: Engine, user: Principal, complaint_id: int, *, finding: str) -> ComplaintView:
    """Record the finding and mark the complaint answered (a later call amends the finding).

    Raises:
        ComplaintNotFound: no such complaint in the user's sites.
    """
    return edit(engine, user, complaint_id, finding=finding, answered=True)


def history(db: Session, user: Principal, complaint_id: int) -> list[RevisionView]:
    """Every change to the complaint, oldest first.

    Raises:
        ComplaintNotFound.
    """
    _visible(db, user, complaint_id)
    return [RevisionView(r.id, r.at_s, r.user_name, r.action, r.changes) for r in db.scalars(
        select(ComplaintRevision).where(ComplaintRevision.complaint_id == complaint_id).order_by(ComplaintRevision.id))]
