"""Proof-of-play report (as Xibo's): per content item over a period and the site's screens, how
often it was played and skipped, for how long, on how many screens, first and last time; the
emergency notices and the default board as rows of their own; totals; CSV with Chinese headers.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.exporttext import spreadsheet_cell
from domain.timezones import local_time
from domain.vocab import LABELS
from services.accounts import Principal
from services.catalog import visible_site
from services.filters import BadTimeRange
from storage.tables import SignageContent, SignageInterrupt, SignagePlay, SignageScreen


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
