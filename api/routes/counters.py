"""Counters and their live status (recording, silent microphone, paused)."""
from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from api.deps import CurrentUser, ReadDb
from services.catalog import counters_status

router = APIRouter(prefix="/counters", tags=["counters"])


class CounterPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    site: str
    name: str
    channels: str
    paused: bool
    agent_status: str
    last_heartbeat_s: float | None
    last_level_dbfs: float | None
    alarms: list[str]


@router.get("", response_model=list[CounterPublic])
def list_counters(user: CurrentUser, db: ReadDb) -> list[CounterPublic]:
    return [CounterPublic.model_validate(c) for c in counters_status(db, sites=user.sites)]
