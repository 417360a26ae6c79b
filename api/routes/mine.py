"""A staff member's own page (我的服务记录): their interactions and findings, 已阅, and appeals
(issue 20 item 4). Every read and every step is audited."""
from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from api.deps import ReadDb, RowId, RulebookDep, StaffMember, Writer, audit
from services import appeals
from services.appeals import AppealView, MyInteraction
from services.dictionary import rules_of

router = APIRouter(prefix="/my", tags=["staff"])


class AppealBody(BaseModel):
    reason: str = Field(min_length=1, max_length=appeals.MAX_REASON_CHARS)


class Ack(BaseModel):
    flag_id: int
    acknowledged_s: float


@router.get("/interactions", response_model=list[MyInteraction])
def my_interactions(user: StaffMember, db: ReadDb, rulebook: RulebookDep, request: Request, response: Response,
                    findings_only: bool = False, offset: int = Query(0, ge=0, le=1_000_000),
                    limit: int = Query(20, ge=1, le=200)) -> list[MyInteraction]:
    """The staff member's own interactions, newest first, each with its score and findings
    (``findings_only``: those with a finding); the total is in ``X-Total-Count``."""
    page = appeals.my_interactions(db, user, rules=rules_of(rulebook), findings_only=findings_only, offset=offset,
                                   limit=limit)
    audit(request, user, action="my.list", detail=f"本人服务记录 {len(page.items)} 条")
    response.headers["X-Total-Count"] = str(page.total)
    return page.items


@router.get("/interactions/{interaction_id}", response_model=MyInteraction)
def my_interaction(interaction_id: RowId, user: StaffMember, db: ReadDb, rulebook: RulebookDep,
                   request: Request) -> MyInteraction:
    """One of the staff member's own interactions with its transcript (404 for anyone else's)."""
    view = appeals.my_interaction(db, user, interaction_id, rules=rules_of(rulebook))
    audit(request, user, action="transcript.read", target=f"interaction:{interaction_id}", detail="本人查看服务记录")
    return view


@router.post("/findings/{flag_id}/ack", response_model=Ack)
def acknowledge(flag_id: RowId, user: StaffMember, engine: Writer, request: Request) -> Ack:
    """Mark one of the staff member's findings read (已阅); asking again keeps the first time."""
    at = appeals.acknowledge(engine, user, flag_id)
    audit(request, user, action="finding.ack", target=f"flag:{flag_id}", detail="本人已阅检查结果")
    return Ack(flag_id=flag_id, acknowledged_s=at)


@router.post("/findings/{flag_id}/appeal", response_model=AppealView, status_code=201)
def appeal(flag_id: RowId, body: AppealBody, user: StaffMember, rulebook: RulebookDep, engine: Writer, request: Request) -> AppealView:
    """Appeal one of the staff member's counted findings with a reason, within the site's
    window (409 once appealed, when it counts nothing, or after the window)."""
    view = appeals.appeal(engine, user, flag_id, reason=body.reason, rules=rules_of(rulebook))
    audit(request, user, action="appeal.create", target=f"appeal:{view.id}",
          detail=f"申诉检查结果 #{flag_id}（{view.rule_label}），理由：{body.reason.strip()[:200]}")
    return view


@router.get("/appeals", response_model=list[AppealView])
def my_appeals(user: StaffMember, db: ReadDb, rulebook: RulebookDep, request: Request, response: Response,
               offset: int = Query(0, ge=0, le=1_000_000), limit: int = Query(50, ge=1, le=200)) -> list[AppealView]:
    """The staff member's own appeals and their rulings."""
    total, items = appeals.list_appeals(db, user, rules=rules_of(rulebook), offset=offset, limit=limit)
    audit(request, user, action="appeals.list", detail=f"本人申诉 {len(items)} 条")
    response.headers["X-Total-Count"] = str(total)
    return items
