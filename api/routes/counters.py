"""Counters and their live status (recording, silent microphone, paused)."""
from __future__ import annotations

from fastapi import APIRouter

from api.deps import Person, ReadDb
from services.catalog import CounterStatus, counters_status

router = APIRouter(prefix="/counters", tags=["counters"])



@router.get("", response_model=list[CounterStatus])
def list_counters(user: Person, db: ReadDb) -> list[CounterStatus]:
    """Counters of the visible sites with their health (people only: agents and screens read
    nothing of the hall)."""
    return counters_status(db, sites=user.sites)
