"""Flags from the courtesy checks, and their review (confirm or dismiss, with a note)."""
from __future__ import annotations

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from api.deps import Person, ReadDb, RowId, RulebookDep, Supervisor, audit, filters_detail
from domain.vocab import Certainty, FlagType, ReviewState, ReviewVerdict
from services import interactions
from services.interactions import FlagView
from services.rulebooks import rule_labels

router = APIRouter(prefix="/flags", tags=["flags"])


class FlagReview(BaseModel):
    state: ReviewVerdict
    note: str = Field("", max_length=2000)


@router.get("", response_model=list[FlagView])
def list_flags(user: Person, db: ReadDb, request: Request, rulebook: RulebookDep, rule: str | None = Query(None, max_length=50),
               counter: str | None = Query(None, max_length=63), site: str | None = Query(None, max_length=63),
               review_state: ReviewState | None = None, type: FlagType | None = None,  # noqa: A002 - API name
               certainty: Certainty | None = Query(None, description="uncertain: 待确认 (confidence below "
                                                   "CERTAIN_CONFIDENCE, not reviewed yet); certain: the rest"),
               limit: int = Query(200, ge=1, le=1000)) -> list[FlagView]:
    """Flags of the visible sites, newest interaction first; open ones are the review queue.
    Each has ``severity``, ``rule_label`` (the rulebook's name of the rule), ``confidence_reasons``
    and ``certainty``."""
    rows = interactions.list_flags(db, user, rule=rule, counter=counter, site=site, review_state=review_state,
                                   type=type, certainty=certainty, limit=limit, rule_labels=rule_labels(rulebook))
    db.close()
    audit(request, user, action="flags.list", detail=filters_detail(rule=rule, counter=counter, site=site,
                                                                    review_state=review_state, type=type,
                                                                    certainty=certainty, rows=len(rows)))
    return rows


@router.post("/{flag_id}/review", response_model=FlagView)
def review_flag(flag_id: RowId, body: FlagReview, user: Supervisor, request: Request,
                rulebook: RulebookDep) -> FlagView:
    """Confirm or dismiss a flag; the reviewer and the time are recorded (a later review
    replaces the earlier one, the audit log keeps both)."""
    flag = interactions.review_flag(request.app.state.engine, user, flag_id, state=body.state, note=body.note,
                                    rule_labels=rule_labels(rulebook))
    audit(request, user, action="flag.review", target=f"flag:{flag_id}", detail=f"{body.state}: {body.note}")
    return flag
