"""Counters and their live status (recording, silent microphone, paused)."""
from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from api.deps import CurrentUser, SessionDep
from storage.db import Alarm, Counter, Site

router = APIRouter(prefix="/counters", tags=["counters"])


class CounterPublic(BaseModel):
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
def list_counters(user: CurrentUser, db: SessionDep) -> list[CounterPublic]:
    q = select(Counter, Site.name).join(Site).order_by(Site.name, Counter.name)
    if user.sites:
        q = q.where(Site.name.in_(user.sites))
    out = []
    for c, site in db.execute(q):
        alarms = list(db.scalars(select(Alarm.kind).where(Alarm.counter_id == c.id, Alarm.cleared_s.is_(None))))
        out.append(CounterPublic(id=c.id, site=site, name=c.name, channels=c.channels, paused=c.paused,
                                 agent_status=c.agent_status, last_heartbeat_s=c.last_heartbeat_s,
                                 last_level_dbfs=c.last_level_dbfs, alarms=alarms))
    return out
