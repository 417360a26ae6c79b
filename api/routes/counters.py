"""Counters and their live status (recording, silent microphone, paused)."""
from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentUser, ReadDb
from services.catalog import CounterStatus, counters_status

router = APIRouter(prefix="/counters", tags=["counters"])



@router.get("", response_model=list[CounterStatus])
def list_counters(user: CurrentUser, db: ReadDb) -> list[CounterStatus]:
    return counters_status(db, sites=user.sites)
