"""Proof-of-play report (as Xibo's): per content item over a period and the site's screens, how
often it was played and skipped, for how long, on how many screens, first and last time; the
emergency notices and the default board as rows of their own; totals; CSV with Chinese headers.

The share-of-voice report: per interrupt-content schedule (``share_s_per_hour``) and screen, the
seconds its plays actually took in each clock hour against the share asked for and the seconds
due (the blocks :func:`signage.schedule.resolve` gives it in that hour).
"""
from __future__ import annotations

import bisect
import csv
import datetime as dt
import io
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.errors import Invalid
from domain.exporttext import spreadsheet_cell
from domain.timezones import local_time, site_zone
from domain.vocab import LABELS
from services.accounts import Principal
from services.catalog import visible_site
from services.filters import BadTimeRange
from services.signage import site_schedule, site_screens
from signage.schedule import screen_share_blocks
from storage.tables import AuditLog, SignageContent, SignageInterrupt, SignagePlay, SignageScreen


@dataclass
class PlayTotals:
    key: str                        # content:<id>, interrupt:<id>, default
    kind: str                       # video | image | text | interrupt | default
    name: str
    plays: int = 0
    skipped: int = 0
    seconds: float = 0.0
    screens: list[str] = field(default_factory=list)
    first_s: float | None = None
    last_s: float | None = None


@dataclass(frozen=True)
class PlayReport:
    site: str
    timezone: str
    since_s: float
    until_s: float
    items: list[PlayTotals]
    total: PlayTotals


def plays_report(db: Session, user: Principal, *, site: str, since_s: float, until_s: float) -> PlayReport:
    """Proof of play of the site's screens for plays that started in [since_s, until_s).

    Raises:
        SiteNotFound; BadTimeRange.
    """
    if until_s <= since_s:
        raise BadTimeRange(since_s, until_s)
    st = visible_site(db, user, site)
    contents = {c.id: c for c in db.scalars(select(SignageContent).where(SignageContent.site_id == st.id))}
    notices = {i.id: i.title for i in db.scalars(select(SignageInterrupt).where(SignageInterrupt.site_id == st.id))}
    rows: dict[str, PlayTotals] = {}
    total = PlayTotals("total", "total", "合计")
    for play, screen in db.execute(select(SignagePlay, SignageScreen.name)
                                   .join(SignageScreen, SignagePlay.screen_id == SignageScreen.id)
                                   .where(SignageScreen.site_id == st.id, SignagePlay.started_s >= since_s,
                                          SignagePlay.started_s < until_s).order_by(SignagePlay.started_s)):
        if play.kind == "interrupt":
            key, kind, name = f"interrupt:{play.interrupt_id}", "interrupt", notices.get(play.interrupt_id or 0, "")
        elif play.kind == "default" or play.content_id is None:
            key, kind, name = "default", "default", LABELS["screen_shows"]["default"]
        else:
            c = contents.get(play.content_id)
            key, kind, name = f"content:{play.content_id}", c.kind if c else "", c.name if c else f"#{play.content_id}"
        t = rows.setdefault(key, PlayTotals(key, kind, name))
        for acc in (t, total):
            if play.status == "skipped":
                acc.skipped += 1
            else:
                acc.plays += 1
                acc.seconds += max(0.0, (play.ended_s or play.started_s) - play.started_s)
            if screen not in acc.screens:
                acc.screens.append(screen)
            acc.first_s = play.started_s if acc.first_s is None else acc.first_s
            acc.last_s = play.started_s
    items = sorted(rows.values(), key=lambda r: (-r.plays, r.name))
    for r in (*items, total):
        r.seconds = round(r.seconds, 1)
        r.screens.sort()
    return PlayReport(site, st.timezone, since_s, until_s, items, total)


def to_csv(report: PlayReport) -> str:
    kinds = {**LABELS["content_kind"], "interrupt": "紧急通知", "default": "默认画面", "total": ""}
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["素材", "类型", "播放次数", "跳过次数", "播放时长（秒）", "播放时长（时:分:秒）", "屏幕数", "屏幕",
                "首次播放", "最近播放"])

    def when(t: float | None) -> str:
        return f"{local_time(t, report.timezone):%Y-%m-%d %H:%M:%S}" if t is not None else ""

    for r in (*report.items, report.total):
        s = int(r.seconds)
        w.writerow([spreadsheet_cell(r.name), kinds.get(r.kind, r.kind), r.plays, r.skipped, f"{r.seconds:.1f}",
                    f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}", len(r.screens),
                    spreadsheet_cell("、".join(r.screens)), when(r.first_s), when(r.last_s)])
    return out.getvalue()


#: the longest period of a share-of-voice report (one row per schedule, screen and hour)
SHARE_REPORT_MAX_S = 31 * 86400
#: an hour is short when it played less than its due seconds minus this part of them (at least
#: SHARE_SHORT_MIN_S): a player switches on a 250 ms tick, a few per block
SHARE_SHORT_PART = 0.05
SHARE_SHORT_MIN_S = 2.0


@dataclass
class ShareHour:
    """One clock hour (site-local, starting at ``hour_s``) of a share schedule on a screen."""
    schedule_id: int
    screen: str
    hour_s: float
    hour: str                      # 2026-12-08 09:00, site-local
    asked_s: int                   # the schedule's share_s_per_hour
    due_s: float                   # its blocks in the hour (cut to the period and the window)
    played_s: float                # its plays' seconds in the hour
    plays: int
    short: bool


@dataclass
class ShareTotals:
    schedule_id: int
    playlist: str
    screen: str
    asked_s: int
    hours: int
    due_s: float
    played_s: float
    short_hours: int


@dataclass(frozen=True)
class ShareReport:
    site: str
    timezone: str
    since_s: float
    until_s: float
    schedules: list[ShareTotals]
    hours: list[ShareHour]


def share_report(db: Session, user: Principal, *, site: str, since_s: float, until_s: float) -> ShareReport:
    """Share of voice of the site's interrupt content over [since_s, until_s): per schedule with
    ``share_s_per_hour``, screen and site-local clock hour, the seconds played (its played
    proof-of-play rows, clipped to the hour) against the share asked for and the seconds due:
    its blocks (:func:`signage.schedule.resolve`'s) while the screen was playing anything (its
    played rows) and after the schedule was made (its ``schedule.create`` audit row, when it has
    one), so time a screen was off, or before the schedule, owes nothing. Schedules as they are
    now (a deleted schedule's plays are left out; rows the player sent without their deleted
    schedule cannot be told; a changed share counts for the whole period).

    Raises:
        SiteNotFound; BadTimeRange; Invalid (``bad_time_range``, a period over 31 days).
    """
    st = visible_site(db, user, site)      # first: another site's reads as missing, whatever the period
    if until_s <= since_s:
        raise BadTimeRange(since_s, until_s)
    if until_s - since_s > SHARE_REPORT_MAX_S:
        raise Invalid("until_s", "the period is at most 31 days", code="bad_time_range", field="until_s")
    zone = site_zone(st.timezone)
    schedule = site_schedule(db, st.id)
    shares = {e.id: e for e in schedule.entries if e.share}

    def local(t: float) -> dt.datetime:
        return local_time(t, st.timezone).replace(tzinfo=None)

    start, end = local(since_s), local(until_s)
    played: dict[tuple[int, str, dt.datetime], list] = {}
    #: per screen, when it was playing anything (the union of its played rows): blocks due while
    #: a screen was off (or before it or the schedule existed) are not counted against it
    on: dict[str, list[list[dt.datetime]]] = {}
    # plain columns, not rows: a month of a busy site is hundreds of thousands of plays
    for schedule_id, started_s, ended_s, screen_name in db.execute(
            select(SignagePlay.schedule_id, SignagePlay.started_s, SignagePlay.ended_s, SignageScreen.name)
            .join(SignageScreen, SignagePlay.screen_id == SignageScreen.id)
            .where(SignageScreen.site_id == st.id, SignagePlay.status == "played", SignagePlay.started_s < until_s,
                   SignagePlay.started_s >= since_s - 3600).order_by(SignagePlay.started_s)):
        p0, p1 = max(started_s, since_s), min(ended_s or started_s, until_s)
        if p1 <= p0 and started_s < since_s:
            continue
        lo, hi = local(p0), local(max(p0, p1))
        spans = on.setdefault(screen_name, [])
        if spans and lo <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], hi)
        elif lo < hi:
            spans.append([lo, hi])
        if schedule_id not in shares:
            continue
        hour = lo.replace(minute=0, second=0, microsecond=0)
        first = True
        while hour <= hi:
            nxt = hour + dt.timedelta(hours=1)
            secs = (min(hi, nxt) - max(lo, hour)).total_seconds()
            if secs > 0 or first:
                acc = played.setdefault((schedule_id, screen_name, hour), [0.0, 0])
                acc[0] += max(0.0, secs)
                acc[1] += 1 if first else 0
            first = False
            hour = nxt
    made = {int(target.split(":", 1)[1]): at for target, at in db.execute(
        select(AuditLog.target, func.max(AuditLog.at_s)).where(
            AuditLog.action == "schedule.create", AuditLog.target.in_([f"schedule:{i}" for i in shares]))
        .group_by(AuditLog.target))} if shares else {}
    due: dict[tuple[int, str, dt.datetime], float] = {}
    for screen in site_screens(db, st.id):
        spans = on.get(screen.name, [])
        for entry_id, lo, hi in screen_share_blocks(schedule, screen, start, end) if spans else ():
            if entry_id in made:
                lo = max(lo, local(made[entry_id]))
                if lo >= hi:
                    continue
            k = bisect.bisect_right(spans, [lo, lo]) - 1
            covered = 0.0
            for s0, s1 in spans[max(0, k):]:
                if s0 >= hi:
                    break
                covered += max(0.0, (min(s1, hi) - max(s0, lo)).total_seconds())
            if covered > 0:
                key = (entry_id, screen.name, lo.replace(minute=0, second=0, microsecond=0))
                due[key] = due.get(key, 0.0) + covered
    names = {e.id: schedule.playlists[e.playlist_id].name if e.playlist_id in schedule.playlists else ""
             for e in shares.values()}
    hours: list[ShareHour] = []
    totals: dict[tuple[int, str], ShareTotals] = {}
    for key in sorted(set(due) | set(played), key=lambda k: (k[0], k[1], k[2])):
        entry_id, screen_name, hour = key
        asked = shares[entry_id].share_s_per_hour or 0
        d = round(due.get(key, 0.0), 1)
        p, n = played.get(key, (0.0, 0))
        p = round(p, 1)
        short = p < d - max(SHARE_SHORT_MIN_S, SHARE_SHORT_PART * d)
        hours.append(ShareHour(entry_id, screen_name, hour.replace(tzinfo=zone).timestamp(), f"{hour:%Y-%m-%d %H:%M}",
                               asked, d, p, n, short))
        t = totals.setdefault((entry_id, screen_name), ShareTotals(entry_id, names[entry_id], screen_name, asked,
                                                                   0, 0.0, 0.0, 0))
        t.hours += 1
        t.due_s = round(t.due_s + d, 1)
        t.played_s = round(t.played_s + p, 1)
        t.short_hours += short
    return ShareReport(site, st.timezone, since_s, until_s, list(totals.values()), hours)
