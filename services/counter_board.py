"""The counters page: each counter with its health and alarms (services.catalog), the name people
use, who is on duty, today's interactions and counted forbidden phrases (in the site's zone), and
what a live listener would hear now: the live feed (``segments``, about 1.5 s behind) or, without
a fresh one, the newest stored audio (``chunks``, as old as that chunk: an idle counter replays
what it last recorded), as ``api.routes.live`` chooses.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import ScalarSelect, and_, distinct, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from domain.timezones import day_bounds, site_zone
from services.catalog import CounterStatus, counters_with_status
from services.filters import counted_flag
from services.live import LIVE_STALE_S, START_DELAY_S
from services.names import counter_label, site_label
from storage.tables import Chunk, Counter, Flag, Interaction, Shift, Staff, now_s


@dataclass(frozen=True)
class LiveNow:
    """``source``: segments (live), chunks (replaying stored audio) or none (never recorded);
    ``delay_s``: how far behind the microphone a listener starting now hears; ``audio_s``: when
    the newest audio was recorded (unix seconds)."""

    source: str
    delay_s: float | None = None
    audio_s: float | None = None


@dataclass(frozen=True)
class CounterCard(CounterStatus):
    """A counter as the counters page shows it: its CounterStatus (health and open alarms, as
    services.catalog reads it), the names people use, who is on duty, today's counts and what a
    live listener would hear."""

    site_label: str
    label: str
    display_name: str
    staff_on_duty: str | None
    today_interactions: int
    today_forbidden: int
    today_since_s: float
    today_until_s: float
    live: LiveNow = field(default_factory=lambda: LiveNow("none"))


def _live(c: Counter, newest_chunk: tuple[float, int, int] | None, now: float) -> LiveNow:
    if c.live_session is not None and c.live_at_s is not None and now - c.live_at_s <= LIVE_STALE_S:
        return LiveNow("segments", START_DELAY_S, c.live_wall_start_s)
    if newest_chunk is None:
        return LiveNow("none")
    start, samples, rate = newest_chunk
    return LiveNow("chunks", max(0.0, now - start), start + samples / max(rate, 1))


def _newest_chunk(column: InstrumentedAttribute) -> ScalarSelect:
    """``column`` of the counter's newest chunk (by its wall-clock start)."""
    return (select(column).where(Chunk.counter_id == Counter.id)
            .order_by(Chunk.wall_start_s.desc(), Chunk.id.desc()).limit(1).scalar_subquery())


def counter_cards(db: Session, *, sites: tuple[str, ...] = ()) -> list[CounterCard]:
    """Every counter of ``sites`` (empty: all), as the counters page shows it: two queries, the
    counters with their sites, alarms, staff on duty and newest chunk, then today's counts."""
    now = now_s()
    on_duty = (select(Staff.name).join(Shift, Shift.staff_id == Staff.id)
               .where(Shift.counter_id == Counter.id, Shift.end_s.is_(None))
               .order_by(Shift.start_s.desc(), Shift.id.desc()).limit(1).scalar_subquery())
    found = counters_with_status(db, sites=sites, columns=(
        on_duty, _newest_chunk(Chunk.wall_start_s), _newest_chunk(Chunk.samples), _newest_chunk(Chunk.sample_rate_hz)))
    # Today's counts in one grouped query over every site day (one per site time zone), each
    # counter in its own site's day; not two queries per counter.
    days: dict[tuple[float, float], list[int]] = {}
    window: dict[int, tuple[float, float]] = {}
    for st, _c, site, _more in found:
        day = day_bounds(dt.datetime.now(site_zone(site.timezone)).date(), site.timezone)
        days.setdefault(day, []).append(st.id)
        window[st.id] = day
    counts: dict[int, tuple[int, int]] = {}
    if days:
        in_day = or_(*(and_(Interaction.counter_id.in_(ids), Interaction.wall_start_s >= since,
                            Interaction.wall_start_s < until) for (since, until), ids in days.items()))
        counted = (Flag.interaction_id == Interaction.id) & (Flag.type == "forbidden") & counted_flag()
        counts = {cid: (n, nf) for cid, n, nf in db.execute(
            select(Interaction.counter_id, func.count(distinct(Interaction.id)), func.count(Flag.id))
            .outerjoin(Flag, counted).where(in_day).group_by(Interaction.counter_id))}
    out = []
    for st, c, site, (staff, chunk_at, samples, rate) in found:
        since, until = window[st.id]
        n_inter, n_forbidden = counts.get(st.id, (0, 0))
        out.append(CounterCard(
            **vars(st), site_label=site_label(site.name, site.title), label=counter_label(st.name, c.display_name),
            display_name=c.display_name, staff_on_duty=staff,
            today_interactions=n_inter, today_forbidden=n_forbidden,
            today_since_s=since, today_until_s=until,
            live=_live(c, (chunk_at, samples, rate) if chunk_at is not None else None, now)))
    return out
