"""Monthly assessment report per staff member and per counter: interactions, courtesy score,
forbidden phrases, review outcomes and customer ratings (JSON or CSV)."""
from __future__ import annotations

import bisect
import csv
import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import SessionDep, Supervisor
from api.routes.events import RATING_LEVELS
from api.routes.flags import check_site
from storage.db import Counter, Event, Flag, Interaction, Site, Staff

router = APIRouter(prefix="/reports", tags=["reports"])

#: A rating press attaches to the counter's interaction that contains it or ended at most this
#: long before it (the press itself opens the next interaction, so "contains" is start < press).
RATING_GAP_S = 300.0
UNASSIGNED = "未登记"


class ReportRow(BaseModel):
    site: str
    name: str
    interactions: int
    courtesy_score: float | None        # share of interactions without a missing-courtesy flag
    courtesy_by_rule: dict[str, float]  # per courtesy rule: share of interactions without its flag
    forbidden_by_rule: dict[str, int]   # forbidden-phrase flags per rule
    flags_open: int
    flags_confirmed: int
    flags_dismissed: int
    ratings: dict[str, int]             # 非常满意 / 满意 / 一般 / 不满意


class MonthlyReport(BaseModel):
    month: str
    sites: list[str]
    by_staff: list[ReportRow]
    by_counter: list[ReportRow]
    total: ReportRow


@dataclass
class _Acc:
    """Running totals of one report row. Flags dismissed on review do not count against staff."""

    interactions: int = 0
    without_courtesy_flag: int = 0
    courtesy_hits: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    forbidden: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    review: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    ratings: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def row(self, site: str, name: str, courtesy_rules: list[str]) -> ReportRow:
        n = self.interactions
        return ReportRow(
            site=site, name=name, interactions=n,
            courtesy_score=round(self.without_courtesy_flag / n, 4) if n else None,
            courtesy_by_rule={r: round(1 - self.courtesy_hits[r] / n, 4) for r in courtesy_rules} if n else {},
            forbidden_by_rule=dict(sorted(self.forbidden.items())),
            flags_open=self.review["open"], flags_confirmed=self.review["confirmed"],
            flags_dismissed=self.review["dismissed"], ratings={lv: self.ratings[lv] for lv in RATING_LEVELS})


def month_bounds(month: str, tz: str) -> tuple[float, float]:
    """Unix seconds of the first instant of ``month`` (YYYY-MM) and of the next, in zone ``tz``."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("Asia/Shanghai")
    y, m = (int(p) for p in month.split("-"))
    start = dt.datetime(y, m, 1, tzinfo=zone)
    end = dt.datetime(y + m // 12, m % 12 + 1, 1, tzinfo=zone)
    return start.timestamp(), end.timestamp()


def monthly(db: Session, *, month: str, sites: list[Site]) -> MonthlyReport:
    staff_acc: dict[tuple[str, str], _Acc] = defaultdict(_Acc)
    counter_acc: dict[tuple[str, str], _Acc] = defaultdict(_Acc)
    total = _Acc()
    courtesy_rules: set[str] = set()
    for site in sites:
        start, end = month_bounds(month, site.timezone)
        inters = db.execute(
            select(Interaction.id, Interaction.counter_id, Interaction.wall_start_s, Interaction.wall_end_s,
                   Counter.name, Staff.name)
            .join(Counter, Interaction.counter_id == Counter.id).outerjoin(Staff, Interaction.staff_id == Staff.id)
            .where(Counter.site_id == site.id, Interaction.wall_start_s >= start, Interaction.wall_start_s < end)
            .order_by(Interaction.counter_id, Interaction.wall_start_s)).all()
        accs = {i.id: (staff_acc[site.name, i[5] or UNASSIGNED], counter_acc[site.name, i[4]], total)
                for i in inters}
        for group in accs.values():
            for a in group:
                a.interactions += 1
        courtesy_flagged: dict[int, set[str]] = defaultdict(set)
        for inter_id, ftype, rule, state in db.execute(
                select(Flag.interaction_id, Flag.type, Flag.rule, Flag.review_state)
                .join(Interaction, Flag.interaction_id == Interaction.id)
                .join(Counter, Interaction.counter_id == Counter.id)
                .where(Counter.site_id == site.id, Interaction.wall_start_s >= start, Interaction.wall_start_s < end)):
            for a in accs[inter_id]:
                a.review[state] += 1
                if state != "dismissed" and ftype == "forbidden":
                    a.forbidden[rule] += 1
            if ftype == "missing_courtesy":
                courtesy_rules.add(rule)
                if state != "dismissed":
                    courtesy_flagged[inter_id].add(rule)
        for inter_id, group in accs.items():
            for a in group:
                a.without_courtesy_flag += not courtesy_flagged[inter_id]
                for rule in courtesy_flagged[inter_id]:
                    a.courtesy_hits[rule] += 1
        # Rating presses: attach each to the counter's latest interaction that began before it.
        per_counter: dict[int, list] = defaultdict(list)
        for i in inters:
            per_counter[i.counter_id].append(i)
        starts = {c: [i.wall_start_s for i in rows] for c, rows in per_counter.items()}
        for counter_id, at_s, payload in db.execute(
                select(Event.counter_id, Event.at_s, Event.payload).join(Counter, Event.counter_id == Counter.id)
                .where(Counter.site_id == site.id, Event.kind == "rating", Event.at_s > start,
                       Event.at_s < end + 86400)):
            level = (payload or {}).get("level")
            k = bisect.bisect_left(starts.get(counter_id, []), at_s) - 1
            if level not in RATING_LEVELS or k < 0:
                continue
            inter = per_counter[counter_id][k]
            if at_s <= inter.wall_end_s + RATING_GAP_S:
                for a in accs[inter.id]:
                    a.ratings[level] += 1
    rules = sorted(courtesy_rules)
    return MonthlyReport(
        month=month, sites=[s.name for s in sites],
        by_staff=[a.row(s, n, rules) for (s, n), a in sorted(staff_acc.items())],
        by_counter=[a.row(s, n, rules) for (s, n), a in sorted(counter_acc.items())],
        total=total.row(",".join(s.name for s in sites), "合计", rules))


def to_csv(report: MonthlyReport) -> str:
    rows = [("staff", r) for r in report.by_staff] + [("counter", r) for r in report.by_counter] + \
           [("total", report.total)]
    courtesy = sorted({k for _, r in rows for k in r.courtesy_by_rule})
    forbidden = sorted({k for _, r in rows for k in r.forbidden_by_rule})
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["month", "site", "group", "name", "interactions", "courtesy_score", "flags_open", "flags_confirmed",
                "flags_dismissed", *(f"rating:{lv}" for lv in RATING_LEVELS), *(f"courtesy:{r}" for r in courtesy),
                *(f"forbidden:{r}" for r in forbidden)])
    for group, r in rows:
        w.writerow([report.month, r.site, group, r.name, r.interactions,
                    "" if r.courtesy_score is None else r.courtesy_score, r.flags_open, r.flags_confirmed,
                    r.flags_dismissed, *(r.ratings[lv] for lv in RATING_LEVELS),
                    *(r.courtesy_by_rule.get(c, "") for c in courtesy), *(r.forbidden_by_rule.get(f, 0) for f in forbidden)])
    return out.getvalue()


@router.get("/monthly", response_model=MonthlyReport,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                             "description": "the report (JSON, or CSV with a header row)"}})
def monthly_report(user: Supervisor, db: SessionDep,
                   month: str = Query(pattern=r"^(19|20)\d\d-(0[1-9]|1[0-2])$", description="YYYY-MM"),
                   site: str | None = Query(None, max_length=63),
                   format: Literal["json", "csv"] = "json") -> MonthlyReport | Response:  # noqa: A002 - API name
    """The month's report over the visible sites (or one ``site``), months in the site's time zone."""
    check_site(user, site)
    q = select(Site).order_by(Site.name)
    if user.sites:
        q = q.where(Site.name.in_(user.sites))
    if site is not None:
        q = q.where(Site.name == site)
    report = monthly(db, month=month, sites=list(db.scalars(q)))
    if format == "csv":
        # A BOM so that spreadsheet programs read the Chinese names as UTF-8.
        return Response("\ufeff" + to_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="report-{month}.csv"'})
    return report
