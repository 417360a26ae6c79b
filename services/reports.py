"""Monthly assessment report per staff member and per counter, and its trend over months.

The courtesy score (文明服务得分) of a row is the mean of its judged interactions' scores, each
from :mod:`services.scoring` (the one definition: 100 less the points of each counted finding,
machine or added by hand, after reviews and appeal rulings; a supervisor's 可判定/无法判定 verdict
outranks the recogniser's). 达标率 is the share of judged interactions that are 达标 (scoring at
least ``SCORE_PASS``, 90); 文明用语达标率 the share without a missing courtesy word. Interactions that
are not judged (无法判定) count in no score and no flag column; they are counted apart
(``not_assessable``). Ratings count only for judged interactions (issue 19: a 1-second noise
"interaction" rated 不满意 is no service to rate). Months are in each site's zone.

抽检 (issue 20 item 2): of a row's interactions of the month, those a sampling plan drew, those
a reviewer scored, and the mean of the scores recorded (services.sampling's records, which keep
the score at the moment of scoring); :data:`SAMPLING_NOTE` says so to the people who read it.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.timezones import month_bounds
from domain.vocab import (
    ALL_RATING_LEVELS,
    SEVERITIES,
    flag_uncertain,
    rating_levels_of,
    satisfaction_rate,
)
from services.accounts import Principal
from services.dictionary import rules_of, severity_of
from services.interactions import check_site
from services.names import counter_label, site_label
from services.sampling import outcomes_of
from services.scoring import FlagFacts, breakdown, decisions_for, effective_state
from storage.queries import rating_of
from storage.tables import Counter, Flag, Interaction, Site, Staff
from transcribe.rules import Rulebook

#: The staff name of interactions nobody was on duty for.
UNASSIGNED = "未登记"
GROUP_LABELS = {"staff": "人员", "counter": "窗口", "total": "合计"}
#: The 抽检 columns in the words of the report page and the workbook.
SAMPLING_NOTE = ("抽检：本月的服务中被抽检计划抽中的次数；已评分：其中复核员已记录评分的次数（含记为无法判定的）；"
                 "抽检平均分：复核员记录的得分（记录时的单次服务得分）的平均值，无法判定的不计入。")


@dataclass(frozen=True)
class ReportRow:
    site: str
    site_label: str
    group: str                          # staff | counter | total
    name: str                           # the staff member's name, the counter's id, 合计
    label: str                          # as people read it (a counter's display name)
    interactions: int
    assessable: int
    not_assessable: int                 # 无法判定: in no score
    score: float | None                 # 文明服务得分, 0-100, mean over assessable interactions
    compliance_rate: float | None       # 达标率: share of judged interactions scoring at least SCORE_PASS
    courtesy_rate: float | None         # 文明用语达标率: share without a counted missing-courtesy flag
    courtesy_by_rule: dict[str, float]  # per courtesy rule: share of assessable interactions without it
    forbidden_by_rule: dict[str, int]   # counted forbidden phrases per rule
    forbidden_by_severity: dict[str, int]
    flags_open: int
    flags_uncertain: int                # open and below CERTAIN_CONFIDENCE: 待确认, not counted
    flags_confirmed: int
    flags_dismissed: int
    ratings: dict[str, int]             # presses per level of the report's scales (MonthlyReport.rating_levels)
    satisfaction_rate: float | None     # 满意率: domain.vocab.satisfaction_rate of ``ratings``
    sampled: int = 0                    # 抽检: interactions a sampling plan drew
    sampled_scored: int = 0             # of them, scored by their reviewer
    sampled_score: float | None = None  # mean of the scores the reviewers recorded (SAMPLING_NOTE)
    rank: int | None = None             # by score within its group (1 = best)


@dataclass(frozen=True)
class MonthlyReport:
    month: str
    sites: list[str]
    by_staff: list[ReportRow]
    by_counter: list[ReportRow]
    total: ReportRow
    rule_labels: dict[str, str] = field(default_factory=dict)
    #: The rating levels counted, best first: the four of the seed's scale, the five of 好差评,
    #: or both where the report's sites use both (domain.vocab.rating_levels_of).
    rating_levels: list[str] = field(default_factory=list)
    #: What the 抽检 columns count, in Chinese (SAMPLING_NOTE).
    sampling_note: str = SAMPLING_NOTE


@dataclass(frozen=True)
class TrendPoint:
    month: str
    interactions: int
    not_assessable: int
    score: float | None
    compliance_rate: float | None
    forbidden_by_severity: dict[str, int]


@dataclass
class _Acc:
    interactions: int = 0
    assessable: int = 0
    points: float = 0.0
    clean: int = 0
    courtesy_clean: int = 0
    courtesy_hits: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    forbidden: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    severity: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    review: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    ratings: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    sampled: int = 0
    sampled_scored: int = 0
    sampled_points: float = 0.0
    sampled_judged: int = 0

    def row(self, *, site: str, site_name: str, group: str, name: str, label: str, courtesy_rules: list[str],
            levels: tuple[str, ...]) -> ReportRow:
        n = self.assessable
        ratings = {lv: self.ratings[lv] for lv in levels}
        rate = satisfaction_rate(ratings)
        share = (lambda k: round(k / n, 4)) if n else (lambda k: None)
        return ReportRow(
            site=site, site_label=site_name, group=group, name=name, label=label, interactions=self.interactions,
            assessable=n, not_assessable=self.interactions - n, score=round(self.points / n, 1) if n else None,
            compliance_rate=share(self.clean), courtesy_rate=share(self.courtesy_clean),
            courtesy_by_rule={r: round(1 - self.courtesy_hits[r] / n, 4) for r in courtesy_rules} if n else {},
            forbidden_by_rule=dict(sorted(self.forbidden.items())),
            forbidden_by_severity={s: self.severity[s] for s in reversed(SEVERITIES)},
            flags_open=self.review["open"], flags_uncertain=self.review["uncertain"],
            flags_confirmed=self.review["confirmed"], flags_dismissed=self.review["dismissed"],
            ratings=ratings, satisfaction_rate=round(rate, 4) if rate is not None else None,
            sampled=self.sampled, sampled_scored=self.sampled_scored,
            sampled_score=round(self.sampled_points / self.sampled_judged, 1) if self.sampled_judged else None)


def _stored_severity(flags: list[FlagFacts], flag_id: int | None) -> str:
    return next((f.severity for f in flags if f.id == flag_id), "")


def _ranked(rows: list[ReportRow]) -> list[ReportRow]:
    """Best score first (unscored last), each with its rank; equal scores share a rank."""
    ordered = sorted(rows, key=lambda r: (r.score is None, -(r.score or 0), r.site, r.label))
    out, prev, rank = [], None, 0
    for n, r in enumerate(ordered, 1):
        if r.score != prev:
            rank, prev = n, r.score
        out.append(replace(r, rank=rank if r.score is not None else None))
    return out


def monthly(db: Session, *, month: str, sites: list[Site], rulebook: Rulebook) -> MonthlyReport:
    """The month's report over ``sites``, each month in its site's own time zone."""
    rules = rules_of(rulebook)
    staff_acc: dict[tuple[str, str], _Acc] = defaultdict(_Acc)
    counter_acc: dict[tuple[str, str], _Acc] = defaultdict(_Acc)
    counter_labels: dict[tuple[str, str], str] = {}
    total = _Acc()
    courtesy_rules: set[str] = set()
    for site in sites:
        start, end = month_bounds(month, site.timezone)
        window = (Counter.site_id == site.id, Interaction.wall_start_s >= start, Interaction.wall_start_s < end)
        inters = db.execute(
            select(Interaction.id, Counter.name, Counter.display_name, Staff.name, Interaction.assessable, rating_of())
            .join(Counter, Interaction.counter_id == Counter.id).outerjoin(Staff, Interaction.staff_id == Staff.id)
            .where(*window)).all()
        flags: dict[int, list[FlagFacts]] = defaultdict(list)
        for row in db.execute(select(Flag.interaction_id, Flag.id, Flag.type, Flag.rule, Flag.review_state,
                                     Flag.confidence, Flag.severity, Flag.start_s)
                              .join(Interaction, Flag.interaction_id == Interaction.id)
                              .join(Counter, Interaction.counter_id == Counter.id)
                              .where(*window, Flag.superseded_s.is_(None))):
            flags[row[0]].append(FlagFacts(row[1], row[2], row[3], row[4], row[5], row[6] or "", row[7]))
            if row[2] == "missing_courtesy":
                courtesy_rules.add(row[3])
        decided = decisions_for(db, [i[0] for i in inters])
        sampled = outcomes_of(db, [i[0] for i in inters])
        for iid, counter, display, staff, assessable, level in inters:
            counter_labels[site.name, counter] = counter_label(counter, display)
            group = (staff_acc[site.name, staff or UNASSIGNED], counter_acc[site.name, counter], total)
            mine = flags[iid]
            b = breakdown(interaction_id=iid, assessable=assessable, assessable_reason="", flags=mine,
                          decisions=decided[iid], rules=rules)
            missing = {d.rule for d in b.deductions if d.type == "missing_courtesy"}
            courtesy_rules.update(missing)
            drawn = sampled.get(iid)
            for a in group:
                a.interactions += 1
                if drawn is not None:     # sampled interactions count whether judged or not
                    a.sampled += 1
                    a.sampled_scored += drawn.scored
                    if drawn.score is not None:
                        a.sampled_judged += 1
                        a.sampled_points += drawn.score
                if b.score is None:
                    continue        # not judged (the recogniser's or a supervisor's verdict): its rating counts nowhere
                if level in ALL_RATING_LEVELS:
                    a.ratings[level] += 1
                a.assessable += 1
                a.points += b.score
                a.clean += bool(b.passed)
                a.courtesy_clean += not missing
                for rule in missing:
                    a.courtesy_hits[rule] += 1
                for f in mine:
                    state, _ = effective_state(f, decided[iid].appeals)
                    a.review[state] += 1
                    if flag_uncertain(state, f.confidence):
                        a.review["uncertain"] += 1
                for d in b.deductions:
                    if d.type == "forbidden":
                        a.forbidden[d.rule] += 1
                        a.severity[severity_of(rules, d.rule, _stored_severity(mine, d.flag_id))] += 1
    cr = sorted(courtesy_rules)
    labels = {s.name: site_label(s.name, s.title) for s in sites}
    levels = rating_levels_of((s.rating_scale for s in sites), (lv for lv, k in total.ratings.items() if k))
    return MonthlyReport(
        month=month, sites=[s.name for s in sites],
        by_staff=_ranked([a.row(site=s, site_name=labels[s], group="staff", name=n, label=n, courtesy_rules=cr,
                                levels=levels) for (s, n), a in staff_acc.items()]),
        by_counter=_ranked([a.row(site=s, site_name=labels[s], group="counter", name=n, label=counter_labels[s, n],
                                  courtesy_rules=cr, levels=levels) for (s, n), a in counter_acc.items()]),
        total=total.row(site=",".join(s.name for s in sites), site_name="、".join(labels.values()), group="total",
                        name="合计", label="合计", courtesy_rules=cr, levels=levels),
        rule_labels={k: v.label for k, v in rules.items()}, rating_levels=list(levels))


def _sites(db: Session, user: Principal, site: str | None) -> list[Site]:
    check_site(user, site)
    q = select(Site).order_by(Site.name)
    if user.sites:
        q = q.where(Site.name.in_(user.sites))
    if site is not None:
        q = q.where(Site.name == site)
    return list(db.scalars(q))


def monthly_for(db: Session, user: Principal, *, month: str, rulebook: Rulebook, site: str | None = None) -> MonthlyReport:
    """The month's report over the sites ``user`` sees (or one ``site``).

    Raises:
        SiteForbidden: ``site`` is not one of the user's.
    """
    return monthly(db, month=month, sites=_sites(db, user, site), rulebook=rulebook)


def months_before(month: str, n: int) -> list[str]:
    """The ``n`` months ending with ``month`` (YYYY-MM), oldest first."""
    y, m = (int(p) for p in month.split("-"))
    out = []
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out[::-1]


def trend_for(db: Session, user: Principal, *, month: str, months: int, rulebook: Rulebook,
              site: str | None = None) -> list[TrendPoint]:
    """Score, 达标率 and forbidden phrases by severity for each of ``months`` months ending with
    ``month``, over the sites ``user`` sees (or one ``site``)."""
    sites = _sites(db, user, site)
    out = []
    for m in months_before(month, months):
        t = monthly(db, month=m, sites=sites, rulebook=rulebook).total
        out.append(TrendPoint(m, t.interactions, t.not_assessable, t.score, t.compliance_rate, t.forbidden_by_severity))
    return out
