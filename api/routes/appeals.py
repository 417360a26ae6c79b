"""Appeals (申诉) for reviewers: the list per site or staff member, and the ruling by a second
reviewer (issue 20 item 4)."""
from __future__ import annotations

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from api.deps import Admin, ReadDb, RowId, RulebookDep, Supervisor, Writer, audit
from domain.vocab import AppealState, AppealVerdict
from services import appeals
from services.appeals import AppealView
from services.dictionary import rules_of

router = APIRouter(prefix="/appeals", tags=["appeals"])


class Ruling(BaseModel):
    verdict: AppealVerdict
    note: str = Field(min_length=1, max_length=appeals.MAX_REASON_CHARS)


class Window(BaseModel):
    days: int = Field(ge=0, le=appeals.MAX_WINDOW_DAYS, description="days from the finding (0: no appeals)")


@router.put("/window/{site}", response_model=Window)
def set_window(body: Window, user: Admin, engine: Writer, request: Request, site: str = Path(min_length=1, max_length=63)) -> Window:
    """Set how many days the site's staff have to appeal a finding (from the interaction's end
    or the finding's confirmation, whichever is later)."""
    old = appeals.set_window(engine, site, days=body.days)
    audit(request, user, action="site.edit", target=f"site:{site}", detail=f"申诉期限由 {old} 天改为 {body.days} 天")
    return body


@router.get("", response_model=list[AppealView])
def list_appeals(user: Supervisor, db: ReadDb, rulebook: RulebookDep, request: Request, response: Response,
                 state: AppealState | None = None, staff: str | None = Query(None, min_length=1, max_length=100),
                 site: str | None = Query(None, max_length=63), offset: int = Query(0, ge=0, le=1_000_000),
                 limit: int = Query(50, ge=1, le=200)) -> list[AppealView]:
    """Appeals of the visible sites, open ones first (``staff``: one person's); the total is in
    ``X-Total-Count``."""
    total, items = appeals.list_appeals(db, user, rules=rules_of(rulebook), state=state, staff=staff, site=site,
                                        offset=offset, limit=limit)
    audit(request, user, action="appeals.list", detail=f"申诉列表 {len(items)} 条" + (f"，人员 {staff}" if staff else ""))
    response.headers["X-Total-Count"] = str(total)
    return items


@router.post("/{appeal_id}/ruling", response_model=AppealView)
def rule(appeal_id: RowId, body: Ruling, user: Supervisor, rulebook: RulebookDep, engine: Writer, request: Request) -> AppealView:
    """Uphold or overturn an open appeal with a note (403 for the reviewer who confirmed the
    finding: a second person rules; 409 once ruled). The finding's review and the score follow."""
    view = appeals.rule_appeal(engine, user, appeal_id, verdict=body.verdict, note=body.note,
                               rules=rules_of(rulebook))
    audit(request, user, action="appeal.rule", target=f"appeal:{appeal_id}",
          detail=f"{'维持原判' if body.verdict == 'upheld' else '撤销检查结果'}（{view.staff}，{view.rule_label}）："
                 f"{body.note.strip()[:200]}")
    return view
