"""Events from the hall systems (queue calls, rating presses, pause/resume), and what the
waiting-area screens show: who is being served where, and which counters are paused."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.deps import ReadDb, Writer, require
from domain.errors import Forbidden
from domain.names import TICKET_PATTERN
from domain.vocab import AnyRatingLevel, EventKind
from services import ratings_terminal
from services.accounts import Principal
from services.catalog import Catalog
from services.catalog import now_serving as serving
from services.interactions import check_site
from storage.tables import now_s

router = APIRouter(prefix="/events", tags=["events"])

Screen = Annotated[Principal, Depends(require("admin", "supervisor", "screen"))]
#: A hall system's event source (``counterwatch events token``), bound to a site or a counter;
#: capture agents record audio only (issue 18).
EventSource = Annotated[Principal, Depends(require("admin", "events"))]


class EventCreate(BaseModel):
    site: str = Field(min_length=1, max_length=63)
    counter: str = Field(min_length=1, max_length=63)
    kind: EventKind
    at_s: float | None = Field(None, ge=0, le=1e11, description="when it happened (unix seconds); default: now")
    ticket: str | None = Field(None, pattern=f"^{TICKET_PATTERN}$",
                               description="queue ticket as the screens show it: letters, digits, '-' (e.g. A012)")
    level: AnyRatingLevel | None = Field(None, description="rating level, one of the site's scale (four levels, "
                                         "or the 好差评 five)")

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> EventCreate:
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
    """What a screen reads of a counter: :class:`services.catalog.Serving` without its
    ``call_event_id`` (kept to hide it: a screen fetches no announcements; issue 22)."""

    model_config = ConfigDict(from_attributes=True)

    site: str
    counter: str
    paused: bool
    ticket: str | None
    called_s: float | None


@router.post("", response_model=EventPublic, status_code=201)
def add_event(body: EventCreate, user: EventSource, engine: Writer) -> EventPublic:
    """Record a hall event. Queue calls and rating presses also cut recordings into
    interactions; pause/resume set the counter's 暂停服务 state."""
    check_site(user, body.site)
    catalog = Catalog(engine)
    if user.counter_id is not None and catalog.counter(body.site, body.counter).id != user.counter_id:
        raise Forbidden(f"counter {body.site}/{body.counter}", "this event source's token records events of its "
                        "own counter only", code="event_source_binding")
    if body.level is not None:
        ratings_terminal.check_level(engine, site=body.site, level=body.level)
    payload = {k: v for k, v in (("ticket", body.ticket), ("level", body.level)) if v is not None}
    at = body.at_s if body.at_s is not None else now_s()
    event_id = catalog.add_event(body.site, body.counter, kind=body.kind, at_s=at,
                                                           payload=payload)
    return EventPublic(id=event_id, site=body.site, counter=body.counter, kind=body.kind, at_s=at, payload=payload)


@router.get("/now-serving", response_model=list[NowServing])
def now_serving(user: Screen, db: ReadDb, site: str | None = Query(None, max_length=63)) -> list[NowServing]:
    """Per counter of the visible sites: the latest queue call and whether it is paused."""
    check_site(user, site)
    return [NowServing.model_validate(s) for s in serving(db, sites=(site,) if site else user.sites)]
