"""Counters: their live status (recording, silent microphone, paused, who is on duty, today's
counts, what live listen would play) and their display names."""
from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.deps import Admin, Person, ReadDb, RowId, audit
from services import names
from services.counter_board import CounterCard, counter_cards

router = APIRouter(prefix="/counters", tags=["counters"])


class DisplayNameIn(BaseModel):
    display_name: str = Field(min_length=1, max_length=100, description="what people call it, e.g. 3号窗口")


@router.get("", response_model=list[CounterCard])
def list_counters(user: Person, db: ReadDb) -> list[CounterCard]:
    """Counters of the visible sites with their health (people only: agents and screens read
    nothing of the hall)."""
    return counter_cards(db, sites=user.sites)


@router.patch("/{counter_id}", response_model=names.CounterName)
def rename_counter(counter_id: RowId, body: DisplayNameIn, user: Admin, request: Request) -> names.CounterName:
    """Set the counter's display name (shown in the console and on the screens' ticker)."""
    c = names.set_counter_display_name(request.app.state.engine, counter_id, body.display_name, user=user)
    audit(request, user, action="counter.edit", target=f"counter:{counter_id}", detail=c.display_name)
    return c
