"""Complaints (投诉): every one is linked to what happened and gets an answer (件件有回音)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from domain.errors import NotFound
from services.accounts import Principal
from services.catalog import SiteNotFound
from services.interactions import InteractionNotFound, check_site
from storage.engine import write_session
from storage.tables import Complaint, Counter, Interaction, Site, now_s

#: Answer due this long after a complaint is received, unless given.
DEFAULT_DUE_S = 5 * 86400.0


class ComplaintNotFound(NotFound):
    code = "complaint_not_found"

    def __init__(self, complaint_id: int) -> None:
        super().__init__(f"complaint {complaint_id}", "not found", complaint_id=complaint_id)


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


def _view(c: Complaint, site: str, now: float) -> ComplaintView:
    return ComplaintView(id=c.id, site=site, interaction_id=c.interaction_id, received_s=c.received_s,
                         complainant=c.complainant, summary=c.summary, due_s=c.due_s,
                         overdue=c.state == "open" and c.due_s < now, state=c.state, finding=c.finding,
                         answered_s=c.answered_s)


def create(engine: Engine, user: Principal, *, site: str, summary: str, complainant: str = "",
           interaction_id: int | None = None, due_s: float | None = None) -> ComplaintView:
    """Record a complaint, optionally linked to the interaction it is about (same site).

    Raises:
        SiteForbidden, SiteNotFound, InteractionNotFound (not of that site).
    """
    check_site(user, site)
    with write_session(engine) as s:
        row = s.scalar(select(Site).where(Site.name == site))
        if row is None:
            raise SiteNotFound(site)
        if interaction_id is not None:
            owner = s.scalar(select(Counter.site_id).join(Interaction, Interaction.counter_id == Counter.id)
                             .where(Interaction.id == interaction_id))
            if owner != row.id:
                raise InteractionNotFound(interaction_id)
        now = now_s()
        c = Complaint(site_id=row.id, interaction_id=interaction_id, received_s=now, complainant=complainant,
                      summary=summary, due_s=due_s if due_s is not None else now + DEFAULT_DUE_S, state="open",
                      finding="", created_by=user.id)
        s.add(c)
        s.flush()
        return _view(c, site, now)


def list_complaints(db: Session, user: Principal, *, state: str | None = None, site: str | None = None,
                    limit: int = 200) -> list[ComplaintView]:
    """Complaints of the visible sites: open ones first, earliest due (so overdue) first,
    then answered ones, newest answer first."""
    check_site(user, site)
    q = (select(Complaint, Site.name).join(Site)
         .order_by(case((Complaint.state == "open", 0), else_=1), Complaint.due_s, Complaint.id).limit(limit))
    if user.sites:
        q = q.where(Site.name.in_(user.sites))
    if site is not None:
        q = q.where(Site.name == site)
    if state is not None:
        q = q.where(Complaint.state == state)
    now = now_s()
    rows = [_view(c, s, now) for c, s in db.execute(q)]
    answered = sorted((r for r in rows if r.state != "open"), key=lambda r: -(r.answered_s or 0))
    return [r for r in rows if r.state == "open"] + answered


def answer(engine: Engine, user: Principal, complaint_id: int, *, finding: str) -> ComplaintView:
    """Record the finding and mark the complaint answered (a later call amends the finding).

    Raises:
        ComplaintNotFound: no such complaint in the user's sites.
    """
    with write_session(engine) as s:
        row = s.execute(select(Complaint, Site.name).join(Site).where(Complaint.id == complaint_id)).first()
        if row is None or not user.can_see(row[1]):
            raise ComplaintNotFound(complaint_id)
        c, site = row
        now = now_s()
        c.finding, c.state, c.answered_s = finding, "answered", now
        return _view(c, site, now)
