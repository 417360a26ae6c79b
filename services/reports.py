"""Monthly assessment report per staff member and per counter: interactions, courtesy score,
forbidden phrases, review outcomes and customer ratings (as data, or CSV)."""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.timezones import month_bounds
from domain.vocab import RATING_LEVELS
from services.accounts import Principal
from services.interactions import check_site
from storage.queries import rating_of
from storage.tables import Counter, Flag, Interaction, Site, Staff

#: The staff name of interactions nobody was on duty for.
UNASSIGNED = "未登记"


@dataclass(frozen=True)
class ReportRow:
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


@dataclass(frozen=True)
class MonthlyReport:
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


def monthly(db: Session, *, month: str, sites: list[Site]) -> MonthlyReport:
    """The month's report over ``sites``, each month in its site's own time zone."""
    staff_acc: dict[tuple[str, str], _Acc] = defaultdict(_Acc)
    counter_acc: dict[tuple[str, str], _Acc] = defaultdict(_Acc)
    total = _Acc()
    courtesy_rules: set[str] = set()
    for site in sites:
        start, end = month_bounds(month, site.timezone)
        inters = db.execute(
            select(Interaction.id, Counter.name, Staff.name)
            .join(Counter, Interaction.counter_id == Counter.id).outerjoin(Staff, Interaction.staff_id == Staff.id)
            .where(Counter.site_id == site.id, Interaction.wall_start_s >= start, Interaction.wall_start_s < end)
            ).all()
        accs = {i.id: (staff_acc[site.name, i[2] or UNASSIGNED], counter_acc[site.name, i[1]], total)
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
        # Each interaction's rating, by the one rule of which interaction a press belongs to.
        for inter_id, level in db.execute(
                select(Interaction.id, rating_of()).join(Counter, Interaction.counter_id == Counter.id)
                .where(Counter.site_id == site.id, Interaction.wall_start_s >= start, Interaction.wall_start_s < end)):
            if level in RATING_LEVELS:
                for a in accs[inter_id]:
                    a.ratings[level] += 1
    rules = sorted(courtesy_rules)
    return MonthlyReport(
        month=month, sites=[s.name for s in sites],
        by_staff=[a.row(s, n, rules) for (s, n), a in sorted(staff_acc.items())],
        by_counter=[a.row(s, n, rules) for (s, n), a in sorted(counter_acc.items())],
        total=total.row(",".join(s.name for s in sites), "合计", rules))


def _cell(value: object) -> object:
    """A cell a spreadsheet shows as text: one starting with = + - @ or a tab/CR (a formula, e.g.
    a staff name ``=HYPERLINK(...)``) gets a leading apostrophe (OWASP CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


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
        w.writerow([report.month, _cell(r.site), group, _cell(r.name), r.interactions,
                    "" if r.courtesy_score is None else r.courtesy_score, r.flags_open, r.flags_confirmed,
                    r.flags_dismissed, *(r.ratings[lv] for lv in RATING_LEVELS),
                    *(r.courtesy_by_rule.get(c, "") for c in courtesy), *(r.forbidden_by_rule.get(f, 0) for f in forbidden)])
    return out.getvalue()


def monthly_for(db: Session, user: Principal, *, month: str, site: str | None = None) -> MonthlyReport:
    """The month's report over the sites ``user`` sees (or one ``site``).

    Raises:
        SiteForbidden: ``site`` is not one of the user's.
    """
    check_site(user, site)
    q = select(Site).order_by(Site.name)
    if user.sites:
        q = q.where(Site.name.in_(user.sites))
    if site is not None:
        q = q.where(Site.name == site)
    return monthly(db, month=month, sites=list(db.scalars(q)))
