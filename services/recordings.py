"""The recordings browser: interactions filtered (services.filters), sorted and paged with their
total, each with its flags summed up; with a phrase, only those whose transcript has it, sounds
like it, or holds a flag of a rule the phrase belongs to, ranked in that order (exact hits first),
each with the line that matched and the matched span: services.search's pipeline, which the
CLI and ``/interactions/search`` use too (the same interactions in the same order).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ScalarSelect, Select, func, select
from sqlalchemy.orm import Session

from domain import pii
from domain.vocab import flag_counts, flag_uncertain
from services.accounts import Principal
from services.dictionary import rules_of, severity_of
from services.filters import Filters, apply, counted_flag
from services.interactions import check_site
from services.names import counter_label, site_label
from services.scoring import counting_flags, scores_of
from services.search import MASKED_SCAN_CAP, LineHit, candidates, lines_of, masked_matching, phrase_of
from storage.queries import rating_of
from storage.tables import Counter, Flag, Interaction, Site, Staff
from transcribe.rules import Rulebook

MAX_LIMIT = 200
_SEVERITY_RANK = {"high": 3, "medium": 2, "low": 1}


def _forbidden_count() -> ScalarSelect:
    return (select(func.count(Flag.id)).where(Flag.interaction_id == Interaction.id, Flag.type == "forbidden",
                                              counted_flag()).correlate(Interaction).scalar_subquery())


_DURATION = Interaction.wall_end_s - Interaction.wall_start_s
SORTS = {
    "-time": (Interaction.wall_start_s.desc(), Interaction.id.desc()),
    "time": (Interaction.wall_start_s, Interaction.id),
    "-duration": (_DURATION.desc(), Interaction.id.desc()),
    "duration": (_DURATION, Interaction.id),
}
SORT_KEYS = (*SORTS, "-flags")


@dataclass(frozen=True)
class FlagSummary:
    forbidden: int = 0              # counted forbidden phrases (domain.vocab.flag_counts)
    missing_courtesy: int = 0       # counted missing courtesy words
    open: int = 0
    uncertain: int = 0              # open and below CERTAIN_CONFIDENCE (待确认)
    confirmed: int = 0
    dismissed: int = 0
    rules: list[str] = field(default_factory=list)
    worst_severity: str | None = None


@dataclass(frozen=True)
class RecordingRow:
    id: int
    site: str
    site_label: str
    counter: str
    counter_id: int
    counter_label: str
    staff: str | None
    wall_start_s: float
    duration_s: float
    rating: str | None
    assessable: bool
    assessable_reason: str
    flags: FlagSummary
    match: str | None = None        # exact | corrected | sound | corrected_sound | rule, with a phrase
    line: LineHit | None = None
    #: the interaction's score (services.scoring; None: 无法判定) and whether it is 达标
    score: float | None = None
    passed: bool | None = None


@dataclass(frozen=True)
class RecordingPage:
    total: int
    offset: int
    limit: int
    sort: str
    items: list[RecordingRow]
    rules: list[str] = field(default_factory=list)    # rules the phrase names (their flags are found too)
    #: True when a phrase matched more than services.search.CANDIDATE_CAP lines of a kind:
    #: ``total`` is then a lower bound, and the ranking covers the newest matches (the oldest for ``sort=time``).
    total_capped: bool = False


def _columns() -> Select:
    """What a browser row shows of an interaction."""
    return (select(Interaction, Counter.name, Counter.display_name, Site.name, Site.title, Staff.name, rating_of())
            .join(Counter, Interaction.counter_id == Counter.id).join(Site, Counter.site_id == Site.id)
            .outerjoin(Staff, Interaction.staff_id == Staff.id))


def _rows(db: Session, ids: list[int]) -> list:
    """The browser rows of interactions ``ids`` (already filtered), in that order."""
    if not ids:
        return []
    at = {i: n for n, i in enumerate(ids)}
    return sorted(db.execute(_columns().where(Interaction.id.in_(ids))).all(), key=lambda r: at[r[0].id])


def _summaries(ids: list[int], flags: dict[int, list[Flag]], rulebook: Rulebook) -> dict[int, FlagSummary]:
    """Each interaction's flags summed up, from its counting flags (services.scoring.counting_flags)."""
    rules = rules_of(rulebook)
    acc: dict[int, dict] = {i: {"forbidden": 0, "missing_courtesy": 0, "open": 0, "uncertain": 0, "confirmed": 0,
                                "dismissed": 0, "rules": [], "worst": 0} for i in ids}
    for iid in ids:
        for f in flags.get(iid, ()):
            ftype, rule, state, conf, sev = f.type, f.rule, f.review_state, f.confidence, f.severity
            a = acc[iid]
            a[state] = a.get(state, 0) + 1
            if flag_uncertain(state, conf):
                a["uncertain"] += 1
            if flag_counts(state, conf):
                a[ftype] += 1
                if rule not in a["rules"]:
                    a["rules"].append(rule)
                if ftype == "forbidden":
                    a["worst"] = max(a["worst"], _SEVERITY_RANK.get(severity_of(rules, rule, sev), 0))
    names = {v: k for k, v in _SEVERITY_RANK.items()}
    return {i: FlagSummary(a["forbidden"], a["missing_courtesy"], a["open"], a["uncertain"], a["confirmed"],
                           a["dismissed"], a["rules"], names.get(a["worst"])) for i, a in acc.items()}


def browse(db: Session, user: Principal, *, filters: Filters, rulebook: Rulebook, q: str | None = None,
           sort: str = "-time", offset: int = 0, limit: int = 20) -> RecordingPage:
    """A page of the interactions ``user`` may see that match ``filters`` (and phrase ``q``).

    Raises:
        SiteForbidden: a site filter the user may not see. SearchError: an empty or too long
        phrase. BadTimeRange: ``until_s`` not after ``since_s``.
    """
    check_site(user, filters.site)
    filters.check()
    f = Filters(**{**filters.__dict__, "sites": tuple(user.sites) or None})
    show = pii.for_role(user.role)
    order = SORTS.get(sort, ()) if sort != "-flags" else (_forbidden_count().desc(), Interaction.wall_start_s.desc())
    rules: list[str] = []
    capped = False
    if q is None:
        stmt = apply(_columns(), f)
        total = db.execute(select(func.count()).select_from(stmt.with_only_columns(Interaction.id).subquery())).scalar_one()
        page = list(db.execute(stmt.order_by(*order).offset(offset).limit(limit)).all())
        lines: dict[int, list[LineHit]] = {}
    else:
        phrase = phrase_of(q, rulebook)
        rules = phrase.rules
        ordered, capped = candidates(db, phrase, f, order=order, oldest=sort == "time")
        if masked_matching(user.role, phrase):
            # The phrase may match only inside what masking hides: keep those with a line as shown.
            capped |= len(ordered) > MASKED_SCAN_CAP
            rows = _rows(db, ordered[:MASKED_SCAN_CAP])
            lines = lines_of(db, [r[0].id for r in rows], phrase, show)
            rows = [r for r in rows if lines[r[0].id]]
            total, page = len(rows), rows[offset:offset + limit]
        else:
            total, page = len(ordered), _rows(db, ordered[offset:offset + limit])
            lines = lines_of(db, [r[0].id for r in page], phrase, show)
    # The page's counting flags read once, for its summaries and its scores.
    flags = counting_flags(db, [r[0].id for r in page])
    summaries = _summaries([r[0].id for r in page], flags, rulebook)
    scores = scores_of(db, {r[0].id: (r[0].assessable, r[0].assessable_reason) for r in page}, flags,
                       rules_of(rulebook))
    items = []
    for inter, counter, counter_display, site, site_title, staff, rating in page:
        line = next(iter(lines.get(inter.id, ())), None)
        items.append(RecordingRow(
            id=inter.id, site=site, site_label=site_label(site, site_title), counter=counter,
            counter_id=inter.counter_id, counter_label=counter_label(counter, counter_display), staff=staff,
            wall_start_s=inter.wall_start_s, duration_s=inter.wall_end_s - inter.wall_start_s, rating=rating,
            assessable=scores[inter.id].assessable, assessable_reason=scores[inter.id].assessable_reason,
            flags=summaries[inter.id], match=line.match if line else None, line=line, score=scores[inter.id].score,
            passed=scores[inter.id].passed))
    return RecordingPage(total=total, offset=offset, limit=limit, sort=sort, items=items, rules=rules,
                         total_capped=capped)
