"""Flags from the courtesy checks, and their review (confirm or dismiss, with a note)."""
from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from api.deps import MAX_ROW_ID, Person, ReadDb, RowId, RulebookDep, Supervisor, Writer, audit, filters_detail, review_detail
from domain.vocab import AnyRatingLevel, Certainty, FlagType, ReviewState, ReviewVerdict
from services import interactions
from services.dictionary import rules_of
from services.filters import Filters
from services.interactions import MAX_BULK_FLAGS, FlagView, ReviewNoteView

router = APIRouter(prefix="/flags", tags=["flags"])


class FlagReview(BaseModel):
    state: ReviewVerdict
    note: str = Field("", max_length=2000)


class FlagsReview(FlagReview):
    flag_ids: list[int] = Field(min_length=1, max_length=MAX_BULK_FLAGS)


@router.get("", response_model=list[FlagView], responses={200: {"headers": {"X-Total-Count": {
    "description": "how many flags match (all pages)", "schema": {"type": "integer"}}}}})
def list_flags(user: Person, db: ReadDb, rulebook: RulebookDep, response: Response, request: Request,
               rule: str | None = Query(None, max_length=50),
               counter: str | None = Query(None, max_length=100, description="a counter's name or display name"),
               site: str | None = Query(None, max_length=63), staff: str | None = Query(None, min_length=1, max_length=100),
               since_s: float | None = Query(None, ge=0, le=1e11), until_s: float | None = Query(None, ge=0, le=1e11),
               review_state: ReviewState | None = None, type: FlagType | None = None,  # noqa: A002 - API name
               certainty: Certainty | None = Query(None, description="uncertain: below the certain confidence (待确认)"),
               rating: AnyRatingLevel | None = None, assessable: bool | None = None,
               offset: int = Query(0, ge=0, le=1_000_000), limit: int = Query(200, ge=1, le=1000)) -> list[FlagView]:
    """Flags of the visible sites, newest interaction first; open ones are the review queue, the
    open uncertain ones (``certainty=uncertain``) its 待确认 part. Filters as the recordings
    browser's; the total of matching flags is in ``X-Total-Count``."""
    filters = Filters(site=site, counter=counter, staff=staff, since_s=since_s, until_s=until_s, rating=rating,
                      assessable=assessable)
    page = interactions.flag_page(db, user, rule=rule, review_state=review_state, type=type, certainty=certainty,
                                  filters=filters, offset=offset, limit=limit, rules=rules_of(rulebook))
    audit(request, user, action="flags.list",
          detail=filters_detail(rule=rule, counter=counter, site=site, staff=staff, since_s=since_s, until_s=until_s,
                                review_state=review_state, type=type, certainty=certainty, rating=rating,
                                assessable=assessable, rows=len(page.items), total=page.total))
    response.headers["X-Total-Count"] = str(page.total)
    return page.items


@router.post("/review", response_model=list[FlagView])
def review_flags(body: FlagsReview, user: Supervisor, rulebook: RulebookDep, engine: Writer, request: Request) -> list[FlagView]:
    """Confirm or dismiss several flags with one note, all or none (404 naming the first flag
    not in the user's sites, and then nothing changes)."""
    if any(not 1 <= i <= MAX_ROW_ID for i in body.flag_ids):
        raise interactions.FlagNotFound(next(i for i in body.flag_ids if not 1 <= i <= MAX_ROW_ID))
    flags = interactions.review_flags(engine, user, body.flag_ids, state=body.state, note=body.note,
                                      rules=rules_of(rulebook))
    for f in flags:
        audit(request, user, action="flag.review", target=f"flag:{f.id}", detail=review_detail(body.state, body.note))
    return flags


@router.get("/{flag_id}/history", response_model=list[ReviewNoteView])
def review_history(flag_id: RowId, user: Person, db: ReadDb) -> list[ReviewNoteView]:
    """Every review of the flag with its note, oldest first (a re-review keeps the earlier ones)."""
    return interactions.review_history(db, user, flag_id)


@router.post("/{flag_id}/review", response_model=FlagView)
def review_flag(flag_id: RowId, body: FlagReview, user: Supervisor, rulebook: RulebookDep, engine: Writer,
                request: Request) -> FlagView:
    """Confirm or dismiss a flag; the reviewer and the time are recorded (a later review
    replaces the earlier one, the audit log keeps both)."""
    flag = interactions.review_flag(engine, user, flag_id, state=body.state, note=body.note,
                                    rules=rules_of(rulebook))
    audit(request, user, action="flag.review", target=f"flag:{flag_id}", detail=review_detail(body.state, body.note))
    return flag
