"""Joined evidence (issue 21, item 4): how many of a day's called tickets have a usable recording,
with each gap explained, and the queue facts the recordings are judged by (a customer who waited
longer than N minutes should hear 让您久等了).

A call — from this queue or a hall's own (``queue_call`` events) — is covered when the counter's
interaction it started (:func:`services.queue.ticket_interaction`) is assessable and has speech.
Otherwise the gap is one of: ``agent_down`` (no audio stored around the call: the capture agent
was down or not yet uploaded), ``no_interaction`` (audio, but nothing cut there yet), ``no_speech``
(the interaction has no recognised words), ``unassessable`` (无法判定).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import Invalid
from domain.timezones import site_zone
from services.accounts import Principal
from services.catalog import SiteNotFound
from services.interactions import check_site
from services.names import counter_label
from services.queue import ticket_interaction
from storage.queries import ticket_wait_s
from storage.tables import Chunk, Counter, Event, QueueTicket, Site

GAPS = {"agent_down": "采集端离线或录音未上传", "no_interaction": "有录音，尚未切分", "no_speech": "无语音",
        "unassessable": "无法判定"}
#: Words that count as the apology for a long wait.
APOLOGY = ("久等",)
#: Audio counts as present for a call when a chunk lies within this many seconds of it.
AUDIO_SLACK_S = 30.0


@dataclass(frozen=True)
class CallCoverage:
    event_id: int
    at_s: float
    counter: str
    ticket: str | None
    interaction_id: int | None
    #: None: covered (a usable recording); else one of GAPS.
    gap: str | None
    gap_label: str | None
    waited_s: float | None


@dataclass(frozen=True)
class Coverage:
    site: str
    day: str
    calls: int
    covered: int
    share: float | None
    gaps: dict[str, int]
    rows: list[CallCoverage] = field(default_factory=list)
    #: Calls of tickets that waited longer than the limit whose recording has no apology (让您久等了).
    missing_apology: list[CallCoverage] = field(default_factory=list)


def coverage(db: Session, user: Principal, *, site: str, day: str, wait_limit_s: float = 1800.0) -> Coverage:
    """Coverage of ``day``'s (YYYY-MM-DD, the site's date) queue calls by usable recordings.

    Raises:
        SiteForbidden, SiteNotFound, Invalid (day).
    """
    check_site(user, site)
    row = db.scalar(select(Site).where(Site.name == site))
    if row is None:
        raise SiteNotFound(site)
    try:
        start = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), site_zone(row.timezone)).timestamp()
    except ValueError as e:
        raise Invalid(f"day {day!r}", "must be YYYY-MM-DD") from e
    out, missing = [], []
    gaps = dict.fromkeys(GAPS, 0)
    for ev, c in db.execute(select(Event, Counter).join(Counter, Event.counter_id == Counter.id)
                            .where(Counter.site_id == row.id, Event.kind == "queue_call", Event.at_s >= start,
                                   Event.at_s < start + 86400.0).order_by(Event.at_s)).all():
        inter = ticket_interaction(db, counter_id=c.id, called_s=ev.at_s)
        if inter is None:
            audio = db.scalar(select(Chunk.id).where(Chunk.counter_id == c.id,
                                                     Chunk.wall_start_s <= ev.at_s + AUDIO_SLACK_S,
                                                     Chunk.wall_start_s >= ev.at_s - 600.0).limit(1))
            gap = "no_interaction" if audio is not None else "agent_down"
        elif not inter.assessable:
            gap = "unassessable"
        elif not (inter.text or "").strip():
            gap = "no_speech"
        else:
            gap = None
        tid = (ev.payload or {}).get("ticket_id")
        t = db.get(QueueTicket, int(tid)) if tid else None
        waited = ticket_wait_s(t, ev.at_s) if t is not None else None
        cov = CallCoverage(ev.id, ev.at_s, counter_label(c.name, c.display_name), (ev.payload or {}).get("ticket"),
                           inter.id if inter else None, gap, GAPS.get(gap) if gap else None, waited)
        if gap:
            gaps[gap] += 1
        elif inter is not None and waited is not None and waited > wait_limit_s and not any(
                a in inter.text for a in APOLOGY):
            missing.append(cov)
        out.append(cov)
    covered = sum(1 for r in out if r.gap is None)
    return Coverage(site, day, len(out), covered, covered / len(out) if out else None, gaps, out, missing)
