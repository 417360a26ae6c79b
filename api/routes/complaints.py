"""Complaints (投诉): every one is linked to what happened and gets an answer (件件有回音)."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from api.deps import MAX_ROW_ID, ReadDb, RowId, Supervisor, audit
from domain.vocab import ComplaintState
from services import complaints
from services.complaints import ComplaintView

router = APIRouter(prefix="/complaints", tags=["complaints"])


class ComplaintCreate(BaseModel):
    site: str = Field(min_length=1, max_length=63)
    interaction_id: int | None = Field(None, ge=1, le=MAX_ROW_ID)
    complainant: str = Field("", max_length=200)
    summary: str = Field(min_length=1, max_length=10000)
    due_s: float | None = Field(None, ge=0, le=1e11, description="answer due by (unix seconds); default: in 5 days")


class ComplaintAnswer(BaseModel):
    finding: str = Field(min_length=1, max_length=10000)
    state: Literal["answered"] = "answered"



@router.post("", response_model=ComplaintView, status_code=201)
def create_complaint(body: ComplaintCreate, user: Supervisor, request: Request) -> ComplaintView:
    """Record a complaint, optionally linked to the interaction it is about (same site)."""
    c = complaints.create(request.app.state.engine, user, site=body.site, summary=body.summary,
                          complainant=body.complainant, interaction_id=body.interaction_id, due_s=body.due_s)
    audit(request, user, action="complaint.create", target=f"complaint:{c.id}")
    return c


@router.get("", response_model=list[ComplaintView])
def list_complaints(user: Supervisor, db: ReadDb, state: ComplaintState | None = None,
                    site: str | None = Query(None, max_length=63),
                    limit: int = Query(200, ge=1, le=1000)) -> list[ComplaintView]:
    """Complaints of the visible sites: open ones first, earliest due (so overdue) first,
    then answered ones, newest answer first."""
    return complaints.list_complaints(db, user, state=state, site=site, limit=limit)


@router.patch("/{complaint_id}", response_model=ComplaintView)
def answer_complaint(complaint_id: RowId, body: ComplaintAnswer, user: Supervisor, request: Request) -> ComplaintView:
    """Record the finding and mark the complaint answered (a later call amends the finding)."""
    c = complaints.answer(request.app.state.engine, user, complaint_id, finding=body.finding)
    audit(request, user, action="complaint.answer", target=f"complaint:{complaint_id}")
    return c
