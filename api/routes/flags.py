"""Flags from the courtesy checks, and their review (confirm or dismiss, with a note)."""
from __future__ import annotations

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from api.deps import Person, ReadDb, RowId, Supervisor, audit, filters_detail
from domain.vocab import FlagType, ReviewState, ReviewVerdict
from services import interactions
from services.interactions import FlagView

router = APIRouter(prefix="/flags", tags=["flags"])


class FlagReview(BaseModel):
    state: ReviewVerdict
    note: str = Field("", max_length=2000)


@router.get("", response_model=list[FlagView])
def list_flags(user: Person, db: ReadDb, request: Request, rule: str | None = Query(None, max_length=50),
               counter: str | None = Query(None, max_length=63), site: str | None = Query(None, max_length=63),
               review_state: ReviewState | None = None, type: FlagType | None = None,  # noqa: A002 - API name
               limit: int = Query(200, ge=1, le=1000)) -> list[FlagView]:
    """Flags of the visible sites, newest interaction first; open ones are the review queue."""
    rows = interactions.list_flags(db, user, rule=rule, counter=counter, site=site, review_state=review_state,
                                   type=type, limit=limit)
    db.close()
    audit(request, user, action="flags.list", detail=filters_detail(rule=rule, counter=counter, site=site,
                                                                    review_state=review_state, type=type, rows=len(rows)))
    return rows


@router.post("/{flag_id}/review", response_model=FlagView)
def review_flag(flag_id: RowId, body: FlagReview, user: Supervisor, request: Request) -> FlagView:
    """Confirm or dismiss a flag; the reviewer and the time are recorded (a later review
    replaces the earlier one, the audit log keeps both)."""
    flag = interactions.review_flag(request.app.state.engine, user, flag_id, state=body.state, note=body.note)
    audit(request, user, action="flag.review", target=f"flag:{flag_id}", detail=f"{body.state}: {body.note}")
    return flag
