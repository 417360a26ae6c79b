"""Events from the hall systems (queue calls, rating presses, pause/resume), and what the
waiting-area screens show: who is being served where, and which counters are paused."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import func, select

from api.deps import Agent, Principal, SessionDep, require
from api.routes.flags import check_site
from storage.catalog import Catalog, CatalogError, UnknownCounter
from storage.db import Counter, Event, Site, now_s

router = APIRouter(prefix="/events", tags=["events"])

RATING_LEVELS = ("非常满意", "满意", "一般", "不满意")
Screen = Annotated[Principal, Depends(require("admin", "supervisor", "screen"))]


class EventCreate(BaseModel):
    site: str = Field(min_length=1, max_length=63)
    counter: str = Field(min_length=1, max_length=63)
    kind: Literal["queue_call", "rating", "pause", "resume"]
    at_s: float | None = Field(None, ge=0, le=1e11, description="when it happened (unix seconds); default: now")
    ticket: str | None = Field(None, min_length=1, max_length=20, description="queue ticket, e.g. A012")
    level: Literal["非常满意", "满意", "一般", "不满意"] | None = Field(None, description="rating level")

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> "EventCreate":
        if self.kind == "rating" and self.level is None:
            raise ValueError("a rating needs a level")
        if self.kind != "rating" and self.level is not None:
            raise ValueError("only a rating has a level")
        if self.kind != "queue_call" and self.ticket is not None:
            raise ValueError("only a queue_call has a ticket")
        return self


class EventPublic(BaseModel):
    id: int
    site: str
    counter: str
    kind: str
    at_s: float
    payload: dict[str, str]


class NowServing(BaseModel):
    site: str
    counter: str
    paused: bool
    ticket: str | None
    called_s: float | None


@router.post("", response_model=EventPublic, status_code=201)
def add_event(body: EventCreate, user: Agent, db: SessionDep, request: Request) -> EventPublic:
    """Record a hall event. Queue calls and rating presses also cut recordings into
    interactions; pause/resume set the counter's 暂停服务 state."""
    check_site(user, body.site)
    payload = {k: v for k, v in (("ticket", body.ticket), ("level", body.level)) if v is not None}
    at = body.at_s if body.at_s is not None else now_s()
    # End the request session's transaction first: on SQLite every transaction holds the write
    # lock (BEGIN IMMEDIATE), and the catalog writes on a connection of its own.
    db.commit()
    try:
        event_id = Catalog(request.app.state.engine).add_event(body.site, body.counter, kind=body.kind, at_s=at,
                                                               payload=payload)
    except UnknownCounter as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"counter {body.site}/{body.counter} is not registered") from e
    except CatalogError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(e)) from e
    return EventPublic(id=event_id, site=body.site, counter=body.counter, kind=body.kind, at_s=at, payload=payload)


@router.get("/now-serving", response_model=list[NowServing])
def now_serving(user: Screen, db: SessionDep, site: str | None = Query(None, max_length=63)) -> list[NowServing]:
    """Per counter of the visible sites: the latest queue call and whether it is paused."""
    check_site(user, site)
    # Latest by the time of the call, not of its arrival: hall systems may resend late.
    ranked = (select(Event.id.label("event_id"), Event.counter_id,
                     func.row_number().over(partition_by=Event.counter_id,
                                            order_by=(Event.at_s.desc(), Event.id.desc())).label("n"))
              .where(Event.kind == "queue_call").subquery())
    last = select(ranked.c.counter_id, ranked.c.event_id).where(ranked.c.n == 1).subquery()
    q = (select(Counter, Site.name, Event).join(Site, Counter.site_id == Site.id)
         .outerjoin(last, last.c.counter_id == Counter.id).outerjoin(Event, Event.id == last.c.event_id)
         .order_by(Site.name, Counter.name))
    if user.sites:
        q = q.where(Site.name.in_(user.sites))
    if site is not None:
        q = q.where(Site.name == site)
    return [NowServing(site=s, counter=c.name, paused=c.paused, ticket=(e.payload or {}).get("ticket") if e else None,
                       called_s=e.at_s if e else None) for c, s, e in db.execute(q)]
