"""Joined evidence (issue 21, item 4): how many of a day's called tickets have a usable recording,
with each gap explained, and the queue facts the recordings are judged by (a customer who waited
longer than N minutes should hear 让您久等了).

A call — from this queue or a hall's own (``queue_call`` events) — is covered when the counter's
interaction it started (:func:`services.queue.ticket_interaction`) is assessable and has speech.
Otherwise the gap is one of: ``agent_down`` (no audio stored around the call: the capture agent
was down or not yet uploaded), ``no_interaction`` (audio, but nothing cut there yet), ``no_speech``
(the interaction has no recognised words), ``unassessable`` (无法判定).

久等未致歉 is the rule's to decide, not this page's: the rulebook's rules with a queue condition
(C-WAIT-APOLOGY, ``when: {ticket_waited_min_over: 15}``) are judged with the queue calls by the
worker and on every correction (transcribe.stored), and their findings carry the condition that
held as a ``condition`` reason ("A002 号取号后等候 40 分钟，超过 15 分钟"). The page lists the
covered calls whose interaction has such a finding in force that review (or an appeal's ruling,
services.scoring) did not dismiss; ``wait_limit_s`` only narrows the list to the longer waits.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import Invalid
from domain.timezones import site_zone
from services.accounts import Principal
from services.catalog import SiteNotFound
from services.interactions import check_site
from services.names import counter_label
from services.queue import ticket_interaction
from services.scoring import decisions_for, effective_state, flag_facts
from storage.queries import ticket_wait_s
from storage.tables import Chunk, Counter, Event, Flag, QueueTicket, Site
from transcribe.judge import CONDITION_REASON

GAPS = {"agent_down": "采集端离线或录音未上传", "no_interaction": "有录音，尚未切分", "no_speech": "无语音",
        "unassessable": "无法判定"}
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
    #: In ``missing_apology``: the rule's finding (flag id, rule, why the condition held, its review state).
    flag_id: int | None = None
    rule: str | None = None
    reason: str | None = None
    review_state: str | None = None


@dataclass(frozen=True)
class Coverage:
    site: str
    day: str
    calls: int
    covered: int
    share: float | None
    gaps: dict[str, int]
    rows: list[CallCoverage] = field(default_factory=list)
    #: Covered calls whose interaction has a finding in force, not dismissed, of a rule with a queue
    #: condition (C-WAIT-APOLOGY: no 让您久等了 after a long wait), waits over the limit asked only.
    missing_apology: list[CallCoverage] = field(default_factory=list)


def wait_findings(db: Session, interaction_ids: list[int]) -> dict[int, tuple[Flag, str, str]]:
    """Per interaction, the first finding in force of a rule with a queue condition that no review
    or appeal ruling dismissed, with why the condition held and its review state after rulings."""
    if not interaction_ids:
        return {}
    rows = [f for f in db.scalars(select(Flag).where(Flag.interaction_id.in_(interaction_ids),
                                                     Flag.superseded_s.is_(None), Flag.type == "missing_courtesy")
                                  .order_by(Flag.interaction_id, Flag.start_s, Flag.id))
            if any(r.get("kind") == CONDITION_REASON for r in f.confidence_reasons or [] if isinstance(r, dict))]
    decided = decisions_for(db, sorted({f.interaction_id for f in rows}))
    out: dict[int, tuple[Flag, str, str]] = {}
    for f in rows:
        state, _ = effective_state(flag_facts(f), decided[f.interaction_id].appeals)
        if state == "dismissed" or f.interaction_id in out:
            continue
        why = next(r.get("text", "") for r in f.confidence_reasons if isinstance(r, dict)
                   and r.get("kind") == CONDITION_REASON)
        out[f.interaction_id] = (f, why, state)
    return out


def coverage(db: Session, user: Principal, *, site: str, day: str, wait_limit_s: float | None = None) -> Coverage:
    """Coverage of ``day``'s (YYYY-MM-DD, the site's date) queue calls by usable recordings, and
    the covered calls the wait rule found without an apology (:func:`wait_findings`; of those
    whose ticket waited longer than ``wait_limit_s`` only, when given).

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
    out, waits = [], []
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
        elif inter is not None and (wait_limit_s is None or (waited is not None and waited > wait_limit_s)):
            waits.append(cov)
        out.append(cov)
    found = wait_findings(db, [c.interaction_id for c in waits if c.interaction_id is not None])
    missing = [replace(c, flag_id=f.id, rule=f.rule, reason=why, review_state=state)
               for c in waits if c.interaction_id in found for f, why, state in [found[c.interaction_id]]]
    covered = sum(1 for r in out if r.gap is None)
    return Coverage(site, day, len(out), covered, covered / len(out) if out else None, gaps, out, missing)
