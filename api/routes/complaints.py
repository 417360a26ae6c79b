"""Complaints (投诉): every one is linked to what happened and gets an answer (件件有回音); it
stays editable after the answer, with every change kept; drafts are kept for their author."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from api.deps import MAX_ROW_ID, ReadDb, RowId, Supervisor, Writer, audit, filters_detail, scope_target
from domain.vocab import ComplaintState
from services import complaint_drafts, complaints
from services.complaints import ComplaintView, RevisionView

router = APIRouter(prefix="/complaints", tags=["complaints"])

When = Field(None, ge=0, le=1e11)
DraftForm = Path(pattern=r"^(new|complaint-[0-9]{1,10})$", description="new, or complaint-<id> for an answer")


class ComplaintCreate(BaseModel):
    site: str = Field(min_length=1, max_length=63)
    interaction_id: int | None = Field(None, ge=1, le=MAX_ROW_ID)
    complainant: str = Field("", max_length=200)
    summary: str = Field(min_length=1, max_length=10000)
    due_s: float | None = Field(None, ge=0, le=1e11, description="answer due by (unix seconds); default: in 5 days")
    counter: str | None = Field(None, min_length=1, max_length=100, description="name or display name")
    staff: str | None = Field(None, min_length=1, max_length=100)
    incident_s: float | None = When


class ComplaintEdit(BaseModel):
    """Fields to change (those left out stay); ``finding`` records or amends the answer.
    ``interaction_id``, ``counter``, ``staff`` and ``incident_s`` may be null (cleared); the
    others hold a value when given: null is a 422 (issue 18), never a 500 nor a silent no-op."""

    # Typed without None, defaulting to None: left out means "unchanged", an explicit null fails
    # validation.
    finding: str = Field(None, min_length=1, max_length=10000)  # type: ignore[assignment]
    state: Literal["answered"] = None  # type: ignore[assignment]
    summary: str = Field(None, min_length=1, max_length=10000)  # type: ignore[assignment]
    complainant: str = Field(None, max_length=200)  # type: ignore[assignment]
    interaction_id: int | None = Field(None, ge=1, le=MAX_ROW_ID)
    counter: str | None = Field(None, max_length=100)
    staff: str | None = Field(None, max_length=100)
    incident_s: float | None = When
    due_s: float = When  # type: ignore[assignment]


class DraftIn(BaseModel):
    data: dict


def _ref(path: str, method: str) -> str:
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


#: OpenAPI links (issue 18): what a client, or the fuzzer's stateful run, can do next with the
#: complaint it created.
CREATED_LINKS = {
    "GetHistory": {"operationRef": _ref("/api/v1/complaints/{complaint_id}/history", "get"),
                   "parameters": {"complaint_id": "$response.body#/id"}},
    "Edit": {"operationRef": _ref("/api/v1/complaints/{complaint_id}", "patch"),
             "parameters": {"complaint_id": "$response.body#/id"}},
}


@router.post("", response_model=ComplaintView, status_code=201,
             responses={201: {"description": "the complaint, recorded", "links": CREATED_LINKS}})
def create_complaint(body: ComplaintCreate, user: Supervisor, engine: Writer, request: Request) -> ComplaintView:
    """Record a complaint, optionally linked to the interaction it is about (same site): its
    counter, staff member and time fill in those not given."""
    c = complaints.create(engine, user, site=body.site, summary=body.summary,
                          complainant=body.complainant, interaction_id=body.interaction_id, due_s=body.due_s,
                          counter=body.counter, staff=body.staff, incident_s=body.incident_s)
    audit(request, user, action="complaint.create", target=f"complaint:{c.id}")
    return c


@router.get("", response_model=list[ComplaintView])
def list_complaints(user: Supervisor, db: ReadDb, request: Request, state: ComplaintState | None = None,
                    site: str | None = Query(None, max_length=63),
                    interaction_id: int | None = Query(None, ge=1, le=MAX_ROW_ID, description="about this recording"),
                    limit: int = Query(200, ge=1, le=1000)) -> list[ComplaintView]:
    """Complaints of the visible sites: open ones first, earliest due (so overdue) first,
    then answered ones, newest answer first; each with its recording's flags and their review,
    and the other complaints about the same recording. Audited (complainants' names are personal data)."""
    found = complaints.list_complaints(db, user, state=state, site=site, limit=limit, interaction_id=interaction_id)
    audit(request, user, action="complaint.list", target=scope_target(user, site),
          detail=filters_detail(state=state, site=site, limit=limit, interaction_id=interaction_id, rows=len(found)))
    return found


@router.patch("/{complaint_id}", response_model=ComplaintView)
def edit_complaint(complaint_id: RowId, body: ComplaintEdit, user: Supervisor, engine: Writer, request: Request) -> ComplaintView:
    """Change fields and/or record the finding (answering it); answered complaints stay
    editable, and every change is kept (``GET .../history``)."""
    fields = body.model_dump(exclude_unset=True, exclude={"finding", "state"})
    c = complaints.edit(engine, user, complaint_id, finding=body.finding,
                        answered=body.finding is not None, **fields)
    action = "complaint.answer" if body.finding is not None else "complaint.edit"
    audit(request, user, action=action, target=f"complaint:{complaint_id}", detail=_changed(fields, answered=body.finding is not None))
    return c


def _changed(fields: dict, *, answered: bool) -> str:
    """What an edit changed, as the audit log says it: "修改：投诉内容、工作人员"."""
    from domain.messages import FIELDS

    said = "、".join(FIELDS.get(k, k) for k in sorted(fields))
    return "；".join(p for p in ("答复投诉" if answered else "", f"修改：{said}" if said else "") if p)


@router.get("/{complaint_id}/history", response_model=list[RevisionView])
def complaint_history(complaint_id: RowId, user: Supervisor, db: ReadDb, request: Request) -> list[RevisionView]:
    """Every change to the complaint, oldest first: who, when, each field's old and new value.
    Audited."""
    found = complaints.history(db, user, complaint_id)
    audit(request, user, action="complaint.history", target=f"complaint:{complaint_id}", detail=f"查看投诉修改记录 {len(found)} 条")
    return found


@router.get("/drafts/{form}", response_model=complaint_drafts.DraftView | None)
def get_draft(user: Supervisor, db: ReadDb, form: str = DraftForm) -> complaint_drafts.DraftView | None:
    """The caller's own draft (null: none, or older than 7 days)."""
    return complaint_drafts.get_draft(db, user, form)


@router.put("/drafts/{form}", response_model=complaint_drafts.DraftView)
def save_draft(body: DraftIn, user: Supervisor, engine: Writer, form: str = DraftForm) -> complaint_drafts.DraftView:
    """Keep the form as the caller's draft (replacing the last)."""
    return complaint_drafts.save_draft(engine, user, form, body.data)


@router.delete("/drafts/{form}", status_code=204)
def delete_draft(user: Supervisor, engine: Writer, form: str = DraftForm) -> Response:
    complaint_drafts.delete_draft(engine, user, form)
    return Response(status_code=204)
