"""Counters: their live status (recording, silent microphone, paused, who is on duty, today's
counts, what live listen would play) and their display names."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from api.deps import Admin, Person, ReadDb, RowId, Supervisor, Writer, audit, client_of, scope_target
from services import alarms, names
from services.counter_board import CounterCard, counter_cards

router = APIRouter(prefix="/counters", tags=["counters"])


class DisplayNameIn(BaseModel):
    display_name: str = Field(min_length=1, max_length=100, description="what people call it, e.g. 3号窗口")


@router.get("", response_model=list[CounterCard])
def list_counters(user: Person, db: ReadDb, request: Request) -> list[CounterCard]:
    """Counters of the visible sites with their health (people only: agents and screens read
    nothing of the hall). Audited: the cards name who is on duty."""
    cards = counter_cards(db, sites=user.sites)
    audit(request, user, action="counters.view", target=scope_target(user), detail=f"查看窗口 {len(cards)} 个")
    return cards


@router.patch("/{counter_id}", response_model=names.CounterName)
def rename_counter(counter_id: RowId, body: DisplayNameIn, user: Admin, engine: Writer, request: Request) -> names.CounterName:
    """Set the counter's display name (shown in the console and on the screens' ticker)."""
    c = names.set_counter_display_name(engine, counter_id, body.display_name, user=user)
    audit(request, user, action="counter.edit", target=f"counter:{counter_id}", detail=c.display_name)
    return c


class AlarmClear(BaseModel):
    note: str = Field(min_length=1, max_length=1000, description="what was checked before clearing")


@router.post("/{counter_id}/alarms/{kind}/clear", status_code=204)
def clear_alarm(counter_id: RowId, kind: Literal["chunk-conflict"], body: AlarmClear, user: Supervisor, db: ReadDb,
                engine: Writer, request: Request) -> Response:
    """A person clears the counter's ``chunk-conflict`` alarm (a capture agent cannot: its
    heartbeats only raise it), with a note; audited. 404: not open, or not a visible counter."""
    alarms.clear_by_person(engine, counter_id=counter_id, kind=kind, user=user, note=body.note,
                           client=client_of(request))
    return Response(status_code=204)
