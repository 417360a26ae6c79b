"""The recordings browser: interactions filtered (services.filters), sorted and paged with their
total, each with its flags summed up; with a phrase, only those whose transcript has it, sounds
like it, or holds a flag of a rule the phrase belongs to, ranked in that order (exact hits first),
each with the line that matched and the matched span.

Sound-alike matching: the phrase's key (transcribe.soundalike) as a substring of a segment's
stored key, served by the trigram index of migration 0031; rule matching:
services.dictionary.rules_for_phrase.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, ScalarSelect, Select, func, select
from sqlalchemy.orm import Session, aliased

from domain import pii
from domain.vocab import flag_counts, flag_uncertain
from services.accounts import Principal
from services.dictionary import rules_for_phrase, rules_of, severity_of
from services.filters import Filters, apply, counted_flag
from services.interactions import check_site
from services.names import counter_label, site_label
from services.scoring import scores_for
from services.search import checked_query, find_hits, sound_matches, text_matches
from storage.queries import rating_of
from storage.tables import Counter, Flag, Interaction, Segment, Site, Staff
from transcribe.rules import Rulebook
from transcribe.soundalike import sound_key, sound_spans

MAX_LIMIT = 200
#: A viewer's phrase with digits is matched against masked text in Python, over at most this many.
MASKED_SCAN_CAP = 2000
#: With a phrase, the browser ranks the interactions of the newest this many matching lines of
#: each kind (as written, sound-alike, flags of a named rule) in scope; past that the total is a
#: lower bound (``total_capped``): counting and ranking every match of a common phrase costs
#: time that grows with the archive, and such a list is narrowed by time or counter anyway.
CANDIDATE_CAP = 2000
_SEVERITY_RANK = {"high": 3, "medium": 2, "low": 1}
_DIGIT_CHARS = frozenset("0123456789０１２３４５６７８９零〇一二三四五六七八九幺")


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
class LineHit:
    """The transcript line that matched the phrase: ``hits`` are [start, end) spans in ``text``."""

    segment_id: int
    offset_s: float
    end_s: float
    speaker: str
    text: str
    hits: list[tuple[int, int]]
    match: str                      # exact | sound | rule
    rule: str | None = None


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
    match: str | None = None        # exact | sound | rule, with a phrase
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
    #: True when a phrase matched more than CANDIDATE_CAP lines of a kind: ``total`` is then a
    #: lower bound, and the ranking covers the newest matches (the oldest for ``sort=time``).
    total_capped: bool = False


def _columns() -> Select:
    """What a browser row shows of an interaction."""
    return (select(Interaction, Counter.name, Counter.display_name, Site.name, Site.title, Staff.name, rating_of())
            .join(Counter, Interaction.counter_id == Counter.id).join(Site, Counter.site_id == Site.id)
            .outerjoin(Staff, Interaction.staff_id == Staff.id))


def _newest(db: Session, matches: Select, f: Filters, *, dialect: str, oldest: bool) -> tuple[list[int], bool]:
    """Interaction ids of the newest (``oldest``: the oldest) CANDIDATE_CAP lines of ``matches``
    (a select with ``interaction_id`` and ``seq`` columns) in scope ``f``, once each, in that
    order; and whether more lines match."""
    iid: ColumnElement[int]
    seq: ColumnElement[int]
    if dialect == "postgresql":
        # Every match from the trigram index first, then the newest of them: the planner must not
        # walk the primary key backwards testing each row instead (slow for a rare phrase).
        m = matches.cte("matches").prefix_with("MATERIALIZED")
        iid, seq, stmt = m.c.interaction_id, m.c.seq, select(m.c.interaction_id)
    else:
        # ``seq`` is the index's own rowid: SQLite walks the index in that order and stops at the limit.
        iid, seq = matches.selected_columns.interaction_id, matches.selected_columns.seq
        stmt = matches.with_only_columns(iid)
    stmt = stmt.join(Interaction, iid == Interaction.id).join(Counter, Interaction.counter_id == Counter.id) \
        .join(Site, Counter.site_id == Site.id)
    got = db.scalars(apply(stmt, f).order_by(seq.asc() if oldest else seq.desc()).limit(CANDIDATE_CAP + 1)).all()
    return list(dict.fromkeys(got[:CANDIDATE_CAP])), len(got) > CANDIDATE_CAP


def _rows(db: Session, ids: list[int]) -> list:
    """The browser rows of interactions ``ids`` (already filtered), in that order."""
    if not ids:
        return []
    at = {i: n for n, i in enumerate(ids)}
    return sorted(db.execute(_columns().where(Interaction.id.in_(ids))).all(), key=lambda r: at[r[0].id])


def _summaries(db: Session, ids: list[int], rulebook: Rulebook) -> dict[int, FlagSummary]:
    rules = rules_of(rulebook)
    acc: dict[int, dict] = {i: {"forbidden": 0, "missing_courtesy": 0, "open": 0, "uncertain": 0, "confirmed": 0,
                                "dismissed": 0, "rules": [], "worst": 0} for i in ids}
    for iid, ftype, rule, state, conf, sev in db.execute(
            select(Flag.interaction_id, Flag.type, Flag.rule, Flag.review_state, Flag.confidence, Flag.severity)
            .where(Flag.interaction_id.in_(ids)).order_by(Flag.start_s)):
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


def _line(segments: list[Segment], q: str, key: str, rule_flags: list[Flag],
          show: Callable[[str], str]) -> LineHit | None:
    """The first line with the phrase as written, else the first that sounds like it, else the
    line of the first flag of a rule the phrase names."""
    shown = [(g, show(g.text)) for g in segments]
    for g, text in shown:
        spans = find_hits(text, q)
        if spans:
            return LineHit(g.id, g.start_s, g.end_s, g.speaker, text, spans, "exact")
    for g, text in shown:
        if g.sound is not None and key not in g.sound:
            continue            # the stored key says no: skip tokenising (masking only removes matches)
        found = sound_spans(text, key)
        if found:
            return LineHit(g.id, g.start_s, g.end_s, g.speaker, text, [(m.start, m.end) for m in found], "sound")
    for f in rule_flags:
        for g, text in shown:
            if g.start_s - 0.05 <= f.start_s <= g.end_s + 0.05:
                phrase = show(f.evidence or f.phrase)
                return LineHit(g.id, g.start_s, g.end_s, g.speaker, text, find_hits(text, phrase) if phrase else [],
                               "rule", f.rule)
    return None


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
    dialect = db.get_bind().dialect.name
    show = pii.for_role(user.role)
    order = SORTS.get(sort, ()) if sort != "-flags" else (_forbidden_count().desc(), Interaction.wall_start_s.desc())
    phrase = key = ""
    rules: list[str] = []
    capped = False
    if q is None:
        stmt = apply(_columns(), f)
        total = db.execute(select(func.count()).select_from(stmt.with_only_columns(Interaction.id).subquery())).scalar_one()
        page = list(db.execute(stmt.order_by(*order).offset(offset).limit(limit)).all())
        lines: dict[int, LineHit | None] = {}
    else:
        phrase = checked_query(q)
        key = sound_key(phrase)
        rules = rules_for_phrase(rulebook, phrase)
        kinds = [text_matches(phrase, dialect=dialect)]
        if key:
            kinds.append(sound_matches(key, dialect=dialect))
        if rules:
            ruled = aliased(Flag)       # apart from the flags a rule or review-state filter tests
            kinds.append(select(ruled.interaction_id, ruled.id.label("seq")).where(ruled.rule.in_(rules)))
        rank: dict[int, int] = {}
        for r, matches in enumerate(kinds):
            ids, more = _newest(db, matches, f, dialect=dialect, oldest=sort == "time")
            capped |= more
            for i in ids:
                rank.setdefault(i, r)
        ordered = sorted(db.scalars(select(Interaction.id).where(Interaction.id.in_(list(rank))).order_by(*order)),
                         key=rank.__getitem__) if rank else []
        if user.role not in pii.UNMASKED_ROLES and any(ch in _DIGIT_CHARS for ch in phrase):
            # A viewer's phrase with digits must not find what masking hides: match masked text here.
            capped |= len(ordered) > MASKED_SCAN_CAP
            rows = _rows(db, ordered[:MASKED_SCAN_CAP])
            lines = _lines(db, [r[0] for r in rows], phrase, key, rules, show)
            rows = [r for r in rows if lines.get(r[0].id) is not None]
            total, page = len(rows), rows[offset:offset + limit]
        else:
            total, page = len(ordered), _rows(db, ordered[offset:offset + limit])
            lines = _lines(db, [r[0] for r in page], phrase, key, rules, show)
    summaries = _summaries(db, [r[0].id for r in page], rulebook)
    scores = scores_for(db, [r[0].id for r in page], rules_of(rulebook))
    items = []
    for inter, counter, counter_display, site, site_title, staff, rating in page:
        line = lines.get(inter.id)
        items.append(RecordingRow(
            id=inter.id, site=site, site_label=site_label(site, site_title), counter=counter,
            counter_id=inter.counter_id, counter_label=counter_label(counter, counter_display), staff=staff,
            wall_start_s=inter.wall_start_s, duration_s=inter.wall_end_s - inter.wall_start_s, rating=rating,
            assessable=scores[inter.id].assessable, assessable_reason=scores[inter.id].assessable_reason,
            flags=summaries[inter.id], match=line.match if line else None, line=line, score=scores[inter.id].score,
            passed=scores[inter.id].passed))
    return RecordingPage(total=total, offset=offset, limit=limit, sort=sort, items=items, rules=rules,
                         total_capped=capped)


def _lines(db: Session, inters: list[Interaction], q: str, key: str, rules: list[str],
           show: Callable[[str], str]) -> dict[int, LineHit | None]:
    ids = [i.id for i in inters]
    if not ids or not q:
        return {}
    segs: dict[int, list[Segment]] = {i: [] for i in ids}
    for g in db.scalars(select(Segment).where(Segment.interaction_id.in_(ids)).order_by(Segment.start_s)):
        segs[g.interaction_id].append(g)
    flags: dict[int, list[Flag]] = {i: [] for i in ids}
    if rules:
        for fl in db.scalars(select(Flag).where(Flag.interaction_id.in_(ids), Flag.rule.in_(rules))
                             .order_by(Flag.start_s)):
            flags[fl.interaction_id].append(fl)
    return {i: _line(segs[i], q, key, flags[i], show) for i in ids}
