"""Interactions: transcript search and one interaction's transcript and flags."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict

from api.deps import Person, ReadDb, RowId, RulebookDep, audit, filters_detail
from domain import pii
from domain.vocab import RatingLevel, ReviewState
from services.interactions import (
    InteractionSummary,
    InteractionView,
    check_site,
    interaction_detail,
    list_interactions,
)
from services.rulebooks import rule_labels
from services.search import MAX_QUERY_CHARS, SearchFilters, search_segments

router = APIRouter(prefix="/interactions", tags=["interactions"])

Name = Annotated[str | None, Query(min_length=1, max_length=100)]


class SearchHitPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    interaction_id: int
    segment_id: int
    site: str
    counter: str
    wall_start_s: float
    offset_s: float
    end_s: float
    speaker: str
    text: str
    hits: list[tuple[int, int]]
    snippet: str
    truncated_start: bool
    truncated_end: bool


@router.get("", response_model=list[InteractionSummary])
def list_(user: Person, db: ReadDb, site: Name = None, counter: Name = None,
          assessable: bool | None = Query(None, description="false: the interactions marked 无法判定"),
          since_s: float | None = Query(None, ge=0), until_s: float | None = Query(None, ge=0),
          limit: int = Query(200, ge=1, le=1000)) -> list[InteractionSummary]:
    """Analysed interactions of the visible sites, newest first, with whether each could be
    assessed and why not."""
    return list_interactions(db, user, site=site, counter=counter, assessable=assessable, since_s=since_s,
                             until_s=until_s, limit=limit)


@router.get("/search", response_model=list[SearchHitPublic])
def search(user: Person, db: ReadDb, request: Request,
           q: str = Query(min_length=1, max_length=MAX_QUERY_CHARS, description="text to find (substring)"),
           site: Name = None, counter: Name = None, staff: Name = None,
           since_s: float | None = Query(None, ge=0), until_s: float | None = Query(None, ge=0),
           rule: str | None = Query(None, min_length=1, max_length=50), review_state: ReviewState | None = None,
           rating: RatingLevel | None = None, limit: int = Query(50, ge=1, le=500)) -> list[SearchHitPublic]:
    """Transcript segments containing ``q``, newest interaction first, in the sites the user
    may see. ``rule`` / ``review_state``: interactions with such a flag; ``rating``: with such a
    rating press during the interaction or shortly after it. Each hit gives ``text`` (the
    segment, cut around the first hit when long), ``hits`` ([start, end) character offsets
    in ``text``), ``snippet`` (``text`` with hits in 【】) and ``offset_s`` (where the segment
    starts in the interaction's audio). Viewers see personal numbers masked, and a query
    matching only inside a masked number finds nothing."""
    check_site(user, site)
    filters = SearchFilters(sites=tuple(user.sites) or None, site=site, counter=counter, staff=staff,
                            since_s=since_s, until_s=until_s, rule=rule, review_state=review_state, rating=rating)
    hits = search_segments(db, q, filters=filters, limit=limit,
                           mask_text=None if user.role in pii.UNMASKED_ROLES else pii.mask)
    db.close()
    audit(request, user, action="search", detail=filters_detail(q=q, site=site, counter=counter, staff=staff,
                                                                since_s=since_s, until_s=until_s, rule=rule,
                                                                review_state=review_state, rating=rating, hits=len(hits)))
    return [SearchHitPublic.model_validate(h) for h in hits]


@router.get("/{interaction_id}", response_model=InteractionView)
def get_interaction(interaction_id: RowId, user: Person, db: ReadDb, request: Request,
                    rulebook: RulebookDep) -> InteractionView:
    """One interaction: its counter, times, transcript segments and flags with their review
    (audited: ``transcript.view``); ``assessable`` / ``assessable_reason``: whether the recogniser
    could follow it (无法判定)."""
    view = interaction_detail(db, user, interaction_id, rule_labels=rule_labels(rulebook))
    db.close()
    audit(request, user, action="transcript.view", target=f"interaction:{interaction_id}",
          detail=f"{view.site}/{view.counter} {len(view.segments)} segments")
    return view
