"""Flags from the courtesy checks, and their review (confirm or dismiss, with a note)."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from api.deps import Person, Principal, RowId, SessionDep, Supervisor, audit
from api.routes.interactions import InteractionFlagPublic
from storage import pii
from storage.db import Counter, Flag, Interaction, Site, User, now_s

router = APIRouter(prefix="/flags", tags=["flags"])

ReviewState = Literal["open", "confirmed", "dismissed"]
FlagType = Literal["forbidden", "missing_courtesy"]


class FlagPublic(InteractionFlagPublic):
    """A flag in the review queue: the interaction's flag plus where and who reviewed it."""

    interaction_id: int
    site: str
    counter: str
    wall_start_s: float
    reviewed_by: str | None


class FlagReview(BaseModel):
    state: Literal["confirmed", "dismissed"]
    note: str = Field("", max_length=2000)


def check_site(user: Principal, site: str | None) -> None:
    """Refuse a site the user may not see (403)."""
    if site is not None and not user.can_see(site):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"no access to site {site!r}")


def _query():  # noqa: ANN202 - a select
    reviewer = aliased(User)
    return (select(Flag, Interaction.wall_start_s, Counter.name, Site.name, reviewer.name)
            .join(Interaction, Flag.interaction_id == Interaction.id)
            .join(Counter, Interaction.counter_id == Counter.id).join(Site, Counter.site_id == Site.id)
            .outerjoin(reviewer, Flag.reviewed_by == reviewer.id))


def _public(row, show=lambda text: text) -> FlagPublic:  # noqa: ANN001 - a result row, str -> str
    f, wall_start_s, counter, site, reviewer = row
    return FlagPublic(id=f.id, interaction_id=f.interaction_id, site=site, counter=counter,
                      wall_start_s=wall_start_s, type=f.type, rule=f.rule, phrase=show(f.phrase),
                      evidence=show(f.evidence),
                      start_s=f.start_s, end_s=f.end_s, speaker=f.speaker, confidence=f.confidence,
                      review_state=f.review_state, reviewed_by=reviewer, reviewed_s=f.reviewed_s,
                      review_note=f.review_note)


def _visible(db: Session, user: Principal, flag_id: int) -> FlagPublic:
    q = _query().where(Flag.id == flag_id)
    if user.sites:
        q = q.where(Site.name.in_(user.sites))
    row = db.execute(q).first()
    if row is None:     # another site's flag reads as missing: ids do not leak
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"flag {flag_id} not found")
    return _public(row)


@router.get("", response_model=list[FlagPublic])
def list_flags(user: Person, db: SessionDep, rule: str | None = Query(None, max_length=50),
               counter: str | None = Query(None, max_length=63), site: str | None = Query(None, max_length=63),
               review_state: ReviewState | None = None, type: FlagType | None = None,  # noqa: A002 - API name
               limit: int = Query(200, ge=1, le=1000)) -> list[FlagPublic]:
    """Flags of the visible sites, newest interaction first; open ones are the review queue."""
    check_site(user, site)
    q = _query().order_by(Interaction.wall_start_s.desc(), Flag.start_s, Flag.id).limit(limit)
    if user.sites:
        q = q.where(Site.name.in_(user.sites))
    for col, value in ((Flag.rule, rule), (Counter.name, counter), (Site.name, site),
                       (Flag.review_state, review_state), (Flag.type, type)):
        if value is not None:
            q = q.where(col == value)
    show = pii.for_role(user.role)      # viewers: personal numbers masked (issue 6)
    return [_public(r, show) for r in db.execute(q)]


@router.post("/{flag_id}/review", response_model=FlagPublic)
def review_flag(flag_id: RowId, body: FlagReview, user: Supervisor, db: SessionDep, request: Request) -> FlagPublic:
    """Confirm or dismiss a flag; the reviewer and the time are recorded (a later review
    replaces the earlier one, the audit log keeps both)."""
    _visible(db, user, flag_id)
    f = db.get(Flag, flag_id)
    f.review_state, f.review_note, f.reviewed_by, f.reviewed_s = body.state, body.note, user.id, now_s()
    audit(db, user, request, action="flag.review", target=f"flag:{flag_id}", detail=body.state)
    return _visible(db, user, flag_id)
