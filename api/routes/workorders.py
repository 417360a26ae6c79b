"""Supervision work orders (工单/督办): list (the most urgent first), open by hand, transfer,
reply, callback, escalate what is past its deadline, departments, the site's own calendar days,
and the monthly report per department. Handlers (承办人) see and answer the ones given to them."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from api.deps import MAX_ROW_ID, ReadDb, RowId, Supervisor, Writer, audit, clock, require
from domain.vocab import LABELS, WorkOrderChannel, WorkOrderState
from services import workorders
from services.accounts import Principal
from services.workorders import DepartmentMonth, WorkOrderView

router = APIRouter(prefix="/work-orders", tags=["work-orders"])
Handler = Annotated[Principal, Depends(require("admin", "supervisor", "handler"))]


class WorkOrderIn(BaseModel):
    site: str = Field(min_length=1, max_length=63)
    kind: Literal["rating", "finding", "manual"] = "manual"
    channel: WorkOrderChannel = "phone"
    title: str = Field(min_length=1, max_length=200)
    detail: str = Field("", max_length=10000)
    department: str | None = Field(None, min_length=1, max_length=100)
    owner: str = Field("", max_length=100)
    working_days: int | None = Field(None, ge=1, le=60)
    interaction_id: int | None = Field(None, ge=1, le=MAX_ROW_ID)


class TransferIn(BaseModel):
    department: str | None = Field(None, min_length=1, max_length=100)
    owner: str = Field(min_length=1, max_length=100)
    note: str = Field("", max_length=2000)


class TextIn(BaseModel):
    text: str = Field(min_length=1, max_length=10000)


class DepartmentIn(BaseModel):
    site: str = Field(min_length=1, max_length=63)
    name: str = Field(min_length=1, max_length=100)
    supervisor: str = Field("", max_length=100)


class CalendarDayIn(BaseModel):
    site: str = Field(min_length=1, max_length=63)
    day: dt.date
    working: bool | None = Field(description="false: the site's holiday; true: a working day; null: statutory")
    note: str = Field("", max_length=200)


@router.get("", response_model=list[WorkOrderView])
def list_orders(user: Handler, db: ReadDb, request: Request, site: str | None = Query(None, max_length=63),
                state: WorkOrderState | None = None,
                urgency: Literal["overdue", "near", "ok", "done"] | None = None,
                limit: int = Query(200, ge=1, le=1000)) -> list[WorkOrderView]:
    """Work orders, past and near their deadline first (督办)."""
    return workorders.list_orders(db, user, site=site, state=state, urgency=urgency, limit=limit,
                                  now=clock(request))


@router.post("", response_model=WorkOrderView, status_code=201)
def create(body: WorkOrderIn, user: Supervisor, engine: Writer, request: Request) -> WorkOrderView:
    """A work order entered by hand (phone, letter) or opened from a finding."""
    wo = workorders.create(engine, user, now=clock(request), **body.model_dump())
    audit(request, user, action="workorder.create", target=f"work-order:{wo.id}",
          detail=LABELS["work_order_kind"].get(body.kind, body.kind))
    return wo


@router.get("/report", response_model=list[DepartmentMonth])
def report(user: Supervisor, db: ReadDb, request: Request, site: str = Query(min_length=1, max_length=63),
           month: str = Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")) -> list[DepartmentMonth]:
    """Per department: on-time rate, overdue count, callback rate of the month's work orders."""
    return workorders.report(db, user, site=site, month=month, now=clock(request))


@router.get("/departments")
def departments(user: Handler, db: ReadDb, site: str = Query(min_length=1, max_length=63)) -> list[dict]:
    return workorders.departments(db, user, site=site)


@router.post("/departments", status_code=201)
def save_department(body: DepartmentIn, user: Supervisor, engine: Writer, request: Request) -> dict:
    d = workorders.save_department(engine, user, **body.model_dump())
    audit(request, user, action="department.edit", target=f"department:{d['id']}", detail=body.name)
    return d


@router.post("/calendar", status_code=204)
def calendar_day(body: CalendarDayIn, user: Supervisor, engine: Writer, request: Request) -> Response:
    """The site's own holiday or working day over the statutory calendar (deadlines opened later count it)."""
    workorders.set_calendar_day(engine, user, site=body.site, day=body.day, working=body.working,
                                note=body.note)
    audit(request, user, action="calendar.edit", target=f"site:{body.site}",
          detail=f"{body.day} 设为{ {True: '工作日', False: '休息日', None: '按法定日历'}[body.working]}")
    return Response(status_code=204)


@router.post("/escalate", response_model=list[int])
def escalate(user: Supervisor, engine: Writer, request: Request, site: str = Query(min_length=1, max_length=63)) -> list[int]:
    """督办: escalate the site's unanswered work orders past their deadline to their department's supervisor."""
    ids = workorders.escalate_due(engine, user, site=site, now=clock(request))
    for i in ids:
        audit(request, user, action="workorder.escalate", target=f"work-order:{i}")
    return ids


@router.get("/{wo_id}", response_model=WorkOrderView)
def get_order(wo_id: RowId, user: Handler, db: ReadDb, request: Request) -> WorkOrderView:
    """One work order with its rating, the recording's findings and its history."""
    wo = workorders.get(db, user, wo_id, now=clock(request))
    audit(request, user, action="workorder.view", target=f"work-order:{wo_id}")
    return wo


@router.post("/{wo_id}/transfer", response_model=WorkOrderView)
def transfer(wo_id: RowId, body: TransferIn, user: Handler, engine: Writer, request: Request) -> WorkOrderView:
    wo = workorders.transfer(engine, user, wo_id, now=clock(request), **body.model_dump())
    audit(request, user, action="workorder.transfer", target=f"work-order:{wo_id}", detail=f"转办给 {body.owner}")
    return wo


@router.post("/{wo_id}/reply", response_model=WorkOrderView)
def reply(wo_id: RowId, body: TextIn, user: Handler, engine: Writer, request: Request) -> WorkOrderView:
    wo = workorders.reply(engine, user, wo_id, text=body.text, now=clock(request))
    audit(request, user, action="workorder.reply", target=f"work-order:{wo_id}")
    return wo


@router.post("/{wo_id}/callback", response_model=WorkOrderView)
def callback(wo_id: RowId, body: TextIn, user: Supervisor, engine: Writer, request: Request) -> WorkOrderView:
    """回访: the customer's answer when called back; closes the work order."""
    wo = workorders.callback(engine, user, wo_id, result=body.text, now=clock(request))
    audit(request, user, action="workorder.callback", target=f"work-order:{wo_id}")
    return wo
