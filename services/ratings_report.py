"""Rating reports (评价统计): presses per staff member, counter, service type and month, with
满意率 (:func:`domain.vocab.satisfaction_rate`, defined once), and today's presses live. Each press
is put beside the findings of the interaction it rates: a 非常满意 on an interaction with a
high-severity finding, or staff asking for a good rating (给个好评), is marked for review as
possible rating coercion (诱导好评)."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import Invalid
from domain.timezones import day_bounds, local_time, month_bounds
from domain.vocab import (
    ALL_RATING_LEVELS,
    CERTAIN_CONFIDENCE,
    RATING_DIMENSIONS,
    SATISFACTION_RATE_TEXT,
    rating_levels_of,
    satisfaction_rate,
)
from services.accounts import Principal
from services.catalog import SiteNotFound
from services.interactions import check_site
from services.names import counter_label
from services.ratings_terminal import on_duty
from storage.tables import Counter, Event, Flag, Interaction, QueueService, QueueTicket, Segment, Site, now_s

#: Staff words that ask for a good rating (诱导好评).
ASKING_FOR_PRAISE = ("给个好评", "给好评", "点个满意", "点非常满意", "按非常满意", "给个满意")


@dataclass
class Tally:
    """Presses of one group by level (every level of the site's scale, zero or not), and by
    level per 好差评 dimension (整体满意度, 服务效率, ...) where the presses gave them."""

    name: str
    levels: tuple[str, ...] = ALL_RATING_LEVELS
    counts: dict[str, int] = field(default_factory=dict)
    dimensions: dict[str, dict[str, int]] = field(default_factory=dict)
    #: High-severity findings counted against the same interactions (ratings beside findings).
    high_findings: int = 0

    def __post_init__(self) -> None:
        self.counts = dict.fromkeys(self.levels, 0) | self.counts

    def add(self, level: str, dimensions: dict | None = None) -> None:
        self.counts[level] = self.counts.get(level, 0) + 1
        for dim, lv in (dimensions or {}).items():
            if dim in RATING_DIMENSIONS and lv in ALL_RATING_LEVELS:
                per = self.dimensions.setdefault(dim, dict.fromkeys(self.levels, 0))
                per[lv] = per.get(lv, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict:
        dims = [{"name": d, "counts": self.dimensions[d], "total": sum(self.dimensions[d].values()),
                 "satisfaction_rate": satisfaction_rate(self.dimensions[d])}
                for d in RATING_DIMENSIONS if d in self.dimensions]
        return {"name": self.name, "counts": self.counts, "total": self.total,
                "satisfaction_rate": satisfaction_rate(self.counts), "high_findings": self.high_findings,
                "dimensions": dims}


def _interaction_of(db: Session, ev: Event) -> Interaction | None:
    """The interaction a press rates: its ticket's call when it has one, else the press rule's window."""
    from services.queue import ticket_interaction
    from storage.queries import rating_of

    tid = (ev.payload or {}).get("ticket_id")
    if tid:
        t = db.get(QueueTicket, int(tid))
        if t is not None and t.called_s is not None and t.counter_id is not None:
            return ticket_interaction(db, counter_id=t.counter_id, called_s=t.called_s)
    cands = db.scalars(select(Interaction).where(Interaction.counter_id == ev.counter_id,
                                                 Interaction.wall_start_s < ev.at_s)
                       .order_by(Interaction.wall_start_s.desc()).limit(1)).all()
    inter = cands[0] if cands else None
    if inter is None:
        return None
    return inter if db.scalar(select(rating_of()).where(Interaction.id == inter.id)) is not None else None


def coercion(db: Session, ev: Event, inter: Interaction | None) -> str | None:
    """Why a press looks coerced (诱导好评), or None."""
    if inter is None:
        return None
    words = db.scalars(select(Segment.text).where(Segment.interaction_id == inter.id,
                                                  Segment.speaker != "customer")).all()
    if any(p in w for w in words for p in ASKING_FOR_PRAISE):
        return "工作人员要求给好评"
    if (ev.payload or {}).get("level") == "非常满意" and db.scalar(select(Flag.id).where(
            Flag.interaction_id == inter.id, Flag.severity == "high", Flag.review_state != "dismissed",
            (Flag.review_state == "confirmed") | (Flag.confidence >= CERTAIN_CONFIDENCE)).limit(1)) is not None:
        return "非常满意，但本次服务有严重问题"
    return None


def _site(db: Session, user: Principal, site: str) -> Site:
    check_site(user, site)
    row = db.scalar(select(Site).where(Site.name == site))
    if row is None:
        raise SiteNotFound(site)
    return row


def _presses(db: Session, site: Site, start_s: float, end_s: float) -> list[tuple[Event, Counter]]:
    return list(db.execute(select(Event, Counter).join(Counter, Event.counter_id == Counter.id)
                           .where(Counter.site_id == site.id, Event.kind == "rating", Event.at_s >= start_s,
                                  Event.at_s < end_s).order_by(Event.at_s)).all())


def monthly(db: Session, user: Principal, *, site: str, month: str) -> dict:
    """Presses of ``month`` (YYYY-MM, the site's time) by staff, counter, service type."""
    row = _site(db, user, site)
    try:
        start_s, end_s = month_bounds(month, row.timezone)
    except ValueError as e:
        raise Invalid(f"month {month!r}", "must be YYYY-MM") from e
    groups: dict[str, dict[str, Tally]] = {"staff": {}, "counter": {}, "service": {}}
    presses = [(ev, c) for ev, c in _presses(db, row, start_s, end_s)
               if (ev.payload or {}).get("level") in ALL_RATING_LEVELS]
    levels = rating_levels_of([row.rating_scale], (ev.payload["level"] for ev, _ in presses))
    total = Tally("合计", levels)
    suspects = []
    for ev, c in presses:
        level = ev.payload["level"]
        dims = (ev.payload or {}).get("dimensions")
        person = on_duty(db, c.id, ev.at_s)
        tid = (ev.payload or {}).get("ticket_id")
        t = db.get(QueueTicket, int(tid)) if tid else None
        svc = db.get(QueueService, t.service_id) if t else None
        inter = _interaction_of(db, ev)
        high = 0
        if inter is not None:
            high = len(db.scalars(select(Flag.id).where(Flag.interaction_id == inter.id, Flag.severity == "high",
                                                        Flag.review_state != "dismissed")).all())
        keys = {"staff": person.name if person else "未排班", "counter": counter_label(c.name, c.display_name),
                "service": svc.name if svc else "未取号"}
        for g, k in keys.items():
            tally = groups[g].setdefault(k, Tally(k, levels))
            tally.add(level, dims)
            tally.high_findings += high
        total.add(level, dims)
        why = coercion(db, ev, inter)
        if why:
            suspects.append({"event_id": ev.id, "at_s": ev.at_s, "level": level, "staff": keys["staff"],
                             "counter": keys["counter"], "interaction_id": inter.id if inter else None, "reason": why})
    return {"site": site, "month": month, "scale": row.rating_scale, "levels": list(levels),
            "satisfaction_rule": SATISFACTION_RATE_TEXT,
            "total": total.as_dict(),
            **{f"by_{g}": [t.as_dict() for _, t in sorted(v.items())] for g, v in groups.items()},
            "suspected_coercion": suspects}


def today(db: Session, user: Principal, *, site: str, now: float | None = None) -> dict:
    """Today's presses (the site's date), newest first, with the day's totals and 满意率."""
    row = _site(db, user, site)
    at = now or now_s()
    start, end = day_bounds(local_time(at, row.timezone).date(), row.timezone)
    rows = _presses(db, row, start, end)
    total = Tally("今日", rating_levels_of([row.rating_scale], ((ev.payload or {}).get("level", "") for ev, _ in rows)))
    presses = []
    for ev, c in rows:
        level = (ev.payload or {}).get("level")
        if level in ALL_RATING_LEVELS:
            total.add(level, (ev.payload or {}).get("dimensions"))
        person = on_duty(db, c.id, ev.at_s)
        presses.append({"event_id": ev.id, "at_s": ev.at_s, "level": level, "ticket": (ev.payload or {}).get("ticket"),
                        "counter": counter_label(c.name, c.display_name), "staff": person.name if person else None,
                        "reasons": (ev.payload or {}).get("reasons", [])})
    return {"site": site, "scale": row.rating_scale, "levels": list(total.levels), "total": total.as_dict(),
            "presses": presses[::-1]}
