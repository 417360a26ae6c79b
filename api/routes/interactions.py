"""Interactions: transcript search and one interaction's transcript and flags."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import Person, Principal, RowId, SessionDep
from storage.db import Counter, Event, Interaction, Session as DbSession, Site, Staff
from storage import pii
from storage.search import MAX_QUERY_CHARS, RATING_GRACE_S, SearchError, SearchFilters, search_segments

router = APIRouter(prefix="/interactions", tags=["interactions"])

ReviewState = Literal["open", "confirmed", "dismissed"]
RatingLevel = Literal["非常满意", "满意", "一般", "不满意"]
Name = Annotated[str | None, Query(min_length=1, max_length=100)]


class SearchHitPublic(BaseModel):
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


class SegmentPublic(BaseModel):
    id: int
    start_s: float
    end_s: float
    speaker: str
    speaker_confidence: float
    text: str


class InteractionFlagPublic(BaseModel):
    id: int
    type: str
    rule: str
    phrase: str
    evidence: str
    start_s: float
    end_s: float
    speaker: str
    confidence: float
    review_state: str
    review_note: str
    reviewed_s: float | None


class InteractionPublic(BaseModel):
    id: int
    site: str
    counter: str
    counter_id: int
    staff: str | None
    wall_start_s: float
    wall_end_s: float
    duration_s: float
    sample_rate_hz: int
    channels: int
    rulebook_version: str
    analyzed_s: float | None
    rating: str | None
    segments: list[SegmentPublic]
    flags: list[InteractionFlagPublic]


def check_site(user: Principal, site: str | None) -> None:
    """Refuse an explicit site filter the user may not see (403)."""
    if site is not None and not user.can_see(site):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"no access to site {site!r}")


def visible_interaction(db: Session, user: Principal, interaction_id: int) -> tuple[Interaction, str, str]:
    """(interaction, site name, counter name), or 404: another site's interaction reads as
    missing, so ids do not reveal what exists elsewhere."""
    row = db.execute(select(Interaction, Site.name, Counter.name)
                     .join(Counter, Interaction.counter_id == Counter.id).join(Site, Counter.site_id == Site.id)
                     .where(Interaction.id == interaction_id)).first()
    if row is None or not user.can_see(row[1]):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"interaction {interaction_id} not found")
    return row[0], row[1], row[2]


@router.get("/search", response_model=list[SearchHitPublic])
def search(user: Person, db: SessionDep,
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
    try:
        hits = search_segments(db, q, filters=filters, limit=limit,
                               mask_text=None if user.role in pii.UNMASKED_ROLES else pii.mask)
    except SearchError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, e.reason) from e
    return [SearchHitPublic(interaction_id=h.interaction_id, segment_id=h.segment_id, site=h.site, counter=h.counter,
                            wall_start_s=h.wall_start_s, offset_s=h.offset_s, end_s=h.end_s, speaker=h.speaker,
                            text=h.text, hits=h.hits, snippet=h.snippet, truncated_start=h.truncated_start,
                            truncated_end=h.truncated_end) for h in hits]


@router.get("/{interaction_id}", response_model=InteractionPublic)
def get_interaction(interaction_id: RowId, user: Person, db: SessionDep) -> InteractionPublic:
    """One interaction: its counter, times, transcript segments and flags with their review."""
    inter, site, counter = visible_interaction(db, user, interaction_id)
    show = pii.for_role(user.role)      # viewers: personal numbers masked (issue 6)
    sess = db.get(DbSession, inter.session_id)
    staff = db.scalar(select(Staff.name).where(Staff.id == inter.staff_id)) if inter.staff_id else None
    rating = db.scalar(select(Event.payload).where(
        Event.counter_id == inter.counter_id, Event.kind == "rating", Event.at_s >= inter.wall_start_s,
        Event.at_s <= inter.wall_end_s + RATING_GRACE_S).order_by(Event.at_s).limit(1))
    return InteractionPublic(
        id=inter.id, site=site, counter=counter, counter_id=inter.counter_id, staff=staff,
        wall_start_s=inter.wall_start_s, wall_end_s=inter.wall_end_s, duration_s=inter.wall_end_s - inter.wall_start_s,
        sample_rate_hz=sess.sample_rate_hz, channels=sess.channels, rulebook_version=inter.rulebook_version,
        analyzed_s=inter.analyzed_s, rating=(rating or {}).get("level"),
        segments=[SegmentPublic(id=g.id, start_s=g.start_s, end_s=g.end_s, speaker=g.speaker,
                                speaker_confidence=g.speaker_confidence, text=show(g.text)) for g in inter.segments],
        flags=[InteractionFlagPublic(id=f.id, type=f.type, rule=f.rule, phrase=show(f.phrase), evidence=show(f.evidence),
                                     start_s=f.start_s, end_s=f.end_s, speaker=f.speaker, confidence=f.confidence,
                                     review_state=f.review_state, review_note=f.review_note,
                                     reviewed_s=f.reviewed_s) for f in inter.flags])
