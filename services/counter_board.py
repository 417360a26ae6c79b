"""The counters page: each counter with its health and alarms (services.catalog), the name people
use, who is on duty, today's interactions and counted forbidden phrases (in the site's zone), and
what a live listener would hear now: the live feed (``segments``, about 1.5 s behind) or, without
a fresh one, the newest stored audio (``chunks``, as old as that chunk: an idle counter replays
what it last recorded), as ``api.routes.live`` chooses.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.timezones import day_bounds, site_zone
from services.catalog import CounterStatus, counters_status
from services.filters import counted_flag
from services.live import LIVE_STALE_S, START_DELAY_S
from services.names import counter_label, site_label
from storage.tables import Chunk, Counter, Flag, Interaction, Shift, Site, Staff, now_s


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


def counter_cards(db: Session, *, sites: tuple[str, ...] = ()) -> list[CounterCard]:
    """Every counter of ``sites`` (empty: all), as the counters page shows it."""
    now = now_s()
    rows = {c.id: c for c in db.scalars(select(Counter))}
    site_rows = {s.name: s for s in db.scalars(select(Site))}
    on_duty = dict(db.execute(select(Shift.counter_id, Staff.name).join(Staff, Shift.staff_id == Staff.id)
                              .where(Shift.end_s.is_(None))).all())
    newest = (select(Chunk.counter_id, func.max(Chunk.wall_start_s).label("at")).group_by(Chunk.counter_id).subquery())
    chunks = {cid: (at, samples, rate) for cid, at, samples, rate in db.execute(
        select(Chunk.counter_id, Chunk.wall_start_s, Chunk.samples, Chunk.sample_rate_hz)
        .join(newest, (newest.c.counter_id == Chunk.counter_id) & (newest.c.at == Chunk.wall_start_s)))}
    statuses = counters_status(db, sites=sites)
    # Today's counts, one grouped query per distinct day (one per site time zone), not two per counter.
    days: dict[tuple[float, float], list[int]] = {}
    for st in statuses:
        site = site_rows[st.site]
        days.setdefault(day_bounds(dt.datetime.now(site_zone(site.timezone)).date(), site.timezone), []).append(st.id)
    n_inter: dict[int, int] = {}
    n_forbidden: dict[int, int] = {}
    window: dict[int, tuple[float, float]] = {}
    for (since, until), ids in days.items():
        in_day = (Interaction.counter_id.in_(ids), Interaction.wall_start_s >= since, Interaction.wall_start_s < until)
        for cid, n in db.execute(select(Interaction.counter_id, func.count(Interaction.id)).where(*in_day)
                                 .group_by(Interaction.counter_id)):
            n_inter[cid] = n
        for cid, n in db.execute(select(Interaction.counter_id, func.count(Flag.id))
                                 .join(Interaction, Flag.interaction_id == Interaction.id)
                                 .where(*in_day, Flag.type == "forbidden", counted_flag())
                                 .group_by(Interaction.counter_id)):
            n_forbidden[cid] = n
        window.update((cid, (since, until)) for cid in ids)
    out = []
    for st in statuses:
        site = site_rows[st.site]
        since, until = window[st.id]
        c = rows[st.id]
        out.append(CounterCard(
            **vars(st), site_label=site_label(site.name, site.title), label=counter_label(st.name, c.display_name),
            display_name=c.display_name, staff_on_duty=on_duty.get(st.id),
            today_interactions=n_inter.get(st.id, 0), today_forbidden=n_forbidden.get(st.id, 0),
            today_since_s=since, today_until_s=until,
            live=_live(c, chunks.get(st.id), now)))
    return out
