"""Complaints (投诉): every one is linked to what happened and gets an answer (件件有回音)."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import case, select
from sqlalchemy.orm import Session

from api.deps import MAX_ROW_ID, Principal, RowId, SessionDep, Supervisor, audit
from api.routes.flags import check_site
from storage.db import Complaint, Counter, Interaction, Site, now_s

router = APIRouter(prefix="/complaints", tags=["complaints"])

DEFAULT_DUE_S = 5 * 86400.0


class ComplaintCreate(BaseModel):
    site: str = Field(min_length=1, max_length=63)
    interaction_id: int | None = Field(None, ge=1, le=MAX_ROW_ID)
    complainant: str = Field("", max_length=200)
    summary: str = Field(min_length=1, max_length=10000)
    due_s: float | None = Field(None, ge=0, le=1e11, description="answer due by (unix seconds); default: in 5 days")


class ComplaintAnswer(BaseModel):
    finding: str = Field(min_length=1, max_length=10000)
    state: Literal["answered"] = "answered"


class ComplaintPublic(BaseModel):
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


def _public(c: Complaint, site: str, now: float) -> ComplaintPublic:
    return ComplaintPublic(id=c.id, site=site, interaction_id=c.interaction_id, received_s=c.received_s,
                           complainant=c.complainant, summary=c.summary, due_s=c.due_s,
                           overdue=c.state == "open" and c.due_s < now, state=c.state, finding=c.finding,
                           answered_s=c.answered_s)


def _get(db: Session, user: Principal, complaint_id: int) -> tuple[Complaint, str]:
    row = db.execute(select(Complaint, Site.name).join(Site).where(Complaint.id == complaint_id)).first()
    if row is None or not user.can_see(row[1]):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"complaint {complaint_id} not found")
    return row[0], row[1]


@router.post("", response_model=ComplaintPublic, status_code=201)
def create_complaint(body: ComplaintCreate, user: Supervisor, db: SessionDep, request: Request) -> ComplaintPublic:
    """Record a complaint, optionally linked to the interaction it is about (same site)."""
    check_site(user, body.site)
    site = db.scalar(select(Site).where(Site.name == body.site))
    if site is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"site {body.site!r} not found")
    if body.interaction_id is not None:
        owner = db.scalar(select(Counter.site_id).join(Interaction, Interaction.counter_id == Counter.id)
                          .where(Interaction.id == body.interaction_id))
        if owner != site.id:
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                f"interaction {body.interaction_id} not found at site {body.site!r}")
    now = now_s()
    c = Complaint(site_id=site.id, interaction_id=body.interaction_id, received_s=now, complainant=body.complainant,
                  summary=body.summary, due_s=body.due_s if body.due_s is not None else now + DEFAULT_DUE_S,
                  state="open", finding="", created_by=user.id)
    db.add(c)
    db.flush()
    audit(db, user, request, action="complaint.create", target=f"complaint:{c.id}")
    return _public(c, site.name, now)


@router.get("", response_model=list[ComplaintPublic])
def list_complaints(user: Supervisor, db: SessionDep, state: Literal["open", "answered"] | None = None,
                    site: str | None = Query(None, max_length=63),
                    limit: int = Query(200, ge=1, le=1000)) -> list[ComplaintPublic]:
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
    rows = [_public(c, s, now) for c, s in db.execute(q)]
    answered = sorted((r for r in rows if r.state != "open"), key=lambda r: -(r.answered_s or 0))
    return [r for r in rows if r.state == "open"] + answered


@router.patch("/{complaint_id}", response_model=ComplaintPublic)
def answer_complaint(complaint_id: RowId, body: ComplaintAnswer, user: Supervisor, db: SessionDep,
                     request: Request) -> ComplaintPublic:
    """Record the finding and mark the complaint answered (a later call amends the finding)."""
    c, site = _get(db, user, complaint_id)
    now = now_s()
    c.finding, c.state, c.answered_s = body.finding, body.state, now
    audit(db, user, request, action="complaint.answer", target=f"complaint:{complaint_id}")
    return _public(c, site, now)
