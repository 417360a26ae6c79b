"""Transcript search, one pipeline for the CLI (``counterwatch search``), ``GET
/interactions/search`` (the matching lines) and the recordings browser (``GET /interactions?q=``,
services.recordings: the interactions, each with its first matching line).

1. **Candidates** (:func:`candidates`): the interactions in scope with a line that has the
   phrase as written (:func:`text_matches`), one that sounds like it (:func:`sound_matches`, the
   phrase's key from transcribe.soundalike as a substring of a segment's stored key), or a flag
   of a rule the phrase names (services.dictionary.rules_for_phrase); ranked in that order.
   Each kind takes the newest CANDIDATE_CAP matching lines (the oldest for ``sort=time``).
2. **One planner per backend** (:func:`_newest`): SQLite walks the FTS5 trigram index newest
   first and stops at the cap; PostgreSQL takes every match from the pg_trgm index first
   (a materialised CTE), then the newest of them.
3. **One PII rule** (:func:`masked_matching`): a role that reads masked transcripts
   (domain.pii.for_role) finds a phrase only in the text it is shown.
4. **Lines** (:func:`lines_of`): per interaction, its lines with the phrase as written (in the
   recognised text, else in a reviewer's correction in force: ``match`` ``corrected``), else
   those sounding like it, else those of its flags of a named rule, with the matched spans.

A line is found by its recognised text and by its corrected text (services.corrections, issue 20
item 5), as written and by sound: the corrections in force are two kinds of candidate of their
own, as written (indexed like the segments, migration 0026_transcript_corrections) ranked
before sound-alikes, and sounding alike (:func:`corrected_sound_matches`) ranked after the
recognised text's sound-alikes. Corrections hold no stored sound-alike key (the segments' is
migration 0017's ``sound``): theirs is computed from the text, once per text in a process
(a correction's text never changes; a new version is a new row), over the corrections in
force in scope. Corrections are a reviewer's work, few next to the segments; should they
grow to tens of thousands, a stored key column indexed like ``segments.sound`` is the step.

Chinese has no spaces between words, so search is by substring (下班 finds 你们是不是快下班了),
served by character-trigram indexes (migrations 0003 and 0017): SQLite's FTS5 tables with
``tokenize='trigram'`` queried with a quoted phrase, PostgreSQL's pg_trgm GIN indexes with
``ILIKE '%...%'``. A trigram index cannot look up fewer than three characters: such queries use
``LIKE`` (SQLite; ``ILIKE`` on PostgreSQL). Matching as written is case-insensitive for Latin
letters on both.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, TableClause, column, select, table
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from domain import pii
from domain.errors import Invalid
from services.corrections import corrected_texts
from services.dictionary import rules_for_phrase
from services.filters import Filters, apply
from storage.tables import Counter, Flag, Interaction, Segment, Site, TranscriptCorrection
from transcribe.rules import Rulebook
from transcribe.soundalike import sound_key, sound_spans

TRIGRAM_MIN_CHARS = 3
MAX_QUERY_CHARS = 200
SNIPPET_CONTEXT_CHARS = 40
MARK_OPEN, MARK_CLOSE = "【", "】"
#: Each kind of match (as written, sound-alike, a rule's flags) ranks the interactions of its
#: newest this many matching lines in scope; past that the total is a lower bound: counting and
#: ranking every match of a common phrase costs time that grows with the archive.
CANDIDATE_CAP = 2000
#: A phrase that masking may hide (digits) is matched against masked text in Python, over at
#: most this many interactions.
MASKED_SCAN_CAP = 2000
_DIGIT_CHARS = frozenset("0123456789０１２３４５６７８９零〇一二三四五六七八九幺")

_fts = table("segments_fts", column("rowid"), column("segments_fts"))
_sound_fts = table("segments_sound_fts", column("rowid"), column("segments_sound_fts"))
_corrected_fts = table("transcript_corrections_fts", column("rowid"), column("transcript_corrections_fts"))


class SearchError(Invalid):
    """A query the search refuses (empty or too long); ``reason`` says why."""

    code = "bad_query"

    def __init__(self, reason: str) -> None:
        super().__init__("search", reason)


#: The search's filters are the recordings' filters (services.filters).
SearchFilters = Filters


@dataclass(frozen=True)
class SearchHit:
    interaction_id: int
    segment_id: int
    site: str
    counter: str
    wall_start_s: float
    offset_s: float                 # segment start within the interaction
    end_s: float
    speaker: str
    text: str                       # the segment text, cut to a window around the first hit
    hits: list[tuple[int, int]] = field(default_factory=list)   # [start, end) of each hit in ``text``
    snippet: str = ""               # ``text`` with each hit in 【】
    truncated_start: bool = False   # ``text`` starts inside the segment
    truncated_end: bool = False
    #: exact | corrected (in the line's correction) | sound | corrected_sound (the line's correction sounds
    #: like it) | rule (a named rule's flag)
    match: str = "exact"
    rule: str | None = None


def _like_pattern(q: str) -> str:
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def fts_phrase(q: str) -> str:
    """``q`` as one FTS5 string: with the trigram tokenizer, a substring match."""
    return '"' + q.replace('"', '""') + '"'


def find_hits(text: str, q: str) -> list[tuple[int, int]]:
    """Non-overlapping [start, end) spans of ``q`` in ``text``, ignoring case where that keeps
    offsets exact."""
    hay, needle = text.lower(), q.lower()
    if len(hay) != len(text) or len(needle) != len(q):      # case folding changed lengths
        hay, needle = text, q
    out, i = [], hay.find(needle)
    while i >= 0 and needle:
        out.append((i, i + len(needle)))
        i = hay.find(needle, i + len(needle))
    return out


def make_snippet(text: str, q: str, *, context_chars: int = SNIPPET_CONTEXT_CHARS) -> tuple[str, list[tuple[int, int]],
                                                                                             str, bool, bool]:
    """(window, hits in window, marked snippet, cut at start, cut at end) for ``text``."""
    return snippet_of(text, find_hits(text, q), context_chars=context_chars)


def snippet_of(text: str, spans: Sequence[tuple[int, int]], *, context_chars: int = SNIPPET_CONTEXT_CHARS,
               ) -> tuple[str, list[tuple[int, int]], str, bool, bool]:
    """(window, spans in window, marked snippet, cut at start, cut at end): ``text`` cut to
    ``context_chars`` around its first span when long, each span in 【】."""
    a, b = 0, len(text)
    if spans and len(text) > 2 * context_chars + (spans[0][1] - spans[0][0]):
        a = max(0, spans[0][0] - context_chars)
        b = min(len(text), spans[0][1] + context_chars)
    window = text[a:b]
    local = [(s - a, e - a) for s, e in spans if s >= a and e <= b]
    parts, pos = [], 0
    for s, e in local:
        parts += [window[pos:s], MARK_OPEN, window[s:e], MARK_CLOSE]
        pos = e
    parts.append(window[pos:])
    return window, local, "".join(parts), a > 0, b < len(text)


def checked_query(query: str) -> str:
    """``query`` stripped.

    Raises:
        SearchError: the query is empty or longer than MAX_QUERY_CHARS.
    """
    q = query.strip()
    if not q:
        raise SearchError("empty query")
    if len(q) > MAX_QUERY_CHARS:
        raise SearchError(f"query longer than {MAX_QUERY_CHARS} characters")
    return q


def _matches(needle: str, col: InstrumentedAttribute[Any], fts: TableClause, *, dialect: str,
             fold_case: bool) -> Select:
    """(row id, interaction id, seq) of the rows (segments, or corrections) whose ``col``
    contains ``needle``: by the FTS5 trigram table ``fts`` on SQLite from three characters on, else
    LIKE (ILIKE on PostgreSQL with ``fold_case``; pg_trgm serves both). ``seq`` is the row id as the index yields it:
    ordering by it lets SQLite walk the index newest first and stop at a LIMIT (the id would sort every match)."""
    model = col.class_
    if dialect == "sqlite" and len(needle) >= TRIGRAM_MIN_CHARS:
        rowid = fts.c.rowid
        return select(model.id, model.interaction_id, rowid.label("seq")).join(fts, rowid == model.id).where(
            fts.c[fts.name].op("MATCH")(fts_phrase(needle)))
    like = col.ilike if fold_case and dialect == "postgresql" else col.like
    return select(model.id, model.interaction_id, model.id.label("seq")).where(
        like(_like_pattern(needle), escape="\\"))


def text_matches(q: str, *, dialect: str) -> Select:
    """(segment id, interaction id, seq) of the segments whose text contains ``q`` (:func:`_matches`)."""
    return _matches(q, Segment.text, _fts, dialect=dialect, fold_case=True)


def corrected_matches(q: str, *, dialect: str) -> Select:
    """(correction id, interaction id, seq) of the corrections in force whose text contains
    ``q`` (:func:`_matches`, over migration 0026's index)."""
    return _matches(q, TranscriptCorrection.text, _corrected_fts, dialect=dialect,
                    fold_case=True).where(TranscriptCorrection.current)


def sound_matches(key: str, *, dialect: str) -> Select:
    """(segment id, interaction id, seq) of the segments that sound like the phrase whose
    sound-alike key is ``key`` (transcribe.soundalike): its key is a substring of theirs, by the
    trigram index over ``segments.sound`` (migration 0017). The key holds codes, not letters, so
    PostgreSQL matches it as it is: LIKE, not ILIKE."""
    return _matches(key, Segment.sound, _sound_fts, dialect=dialect, fold_case=False)


@functools.lru_cache(maxsize=100_000)
def _text_key(text: str) -> str:
    return sound_key(text)


def corrected_sound_matches(db: Session, key: str, f: Filters, *, oldest: bool = False) -> Select:
    """(correction id, interaction id, seq) of the corrections in force in scope ``f`` whose text
    sounds like the phrase whose key is ``key``: of them, the newest (``oldest``: the oldest)
    CANDIDATE_CAP + 1, as :func:`_newest` takes them. Their keys are computed here (no stored
    key: see the module's note), each text's once per process."""
    stmt = (select(TranscriptCorrection.id, TranscriptCorrection.text)
            .join(Interaction, TranscriptCorrection.interaction_id == Interaction.id)
            .join(Counter, Interaction.counter_id == Counter.id).join(Site, Counter.site_id == Site.id)
            .where(TranscriptCorrection.current))
    ids = sorted(cid for cid, text in db.execute(apply(stmt, f)) if key in _text_key(text))
    ids = ids[:CANDIDATE_CAP + 1] if oldest else ids[-(CANDIDATE_CAP + 1):]
    return select(TranscriptCorrection.id, TranscriptCorrection.interaction_id,
                  TranscriptCorrection.id.label("seq")).where(TranscriptCorrection.id.in_(ids))


def search_statement(query: str, *, dialect: str, filters: SearchFilters = SearchFilters(), limit: int = 50,
                     time_first: bool = False) -> Select:
    """The plain plan of a search as written, the reference the tests and bench/search.py
    compare the pipeline with (the pipeline's own plan is :func:`candidates`): the SELECT for
    ``query`` on ``dialect`` ('sqlite' or 'postgresql'): rows of
    (segment id, interaction id, site, counter, wall start, segment start, end, speaker, text).

    On SQLite with three or more characters the matches come from the FTS5 index and are then
    sorted (cheap when they are few); ``time_first`` instead walks interactions newest first
    and tests each segment with LIKE, stopping at ``limit`` hits (cheap when matches are many).

    Raises:
        SearchError: the query is empty or longer than MAX_QUERY_CHARS.
    """
    q = checked_query(query)
    stmt = (select(Segment.id, Interaction.id, Site.name, Counter.name, Interaction.wall_start_s, Segment.start_s,
                   Segment.end_s, Segment.speaker, Segment.text)
            .join(Interaction, Segment.interaction_id == Interaction.id)
            .join(Counter, Interaction.counter_id == Counter.id).join(Site, Counter.site_id == Site.id))
    if dialect == "sqlite" and len(q) >= TRIGRAM_MIN_CHARS and not time_first:
        stmt = stmt.join(_fts, _fts.c.rowid == Segment.id).where(
            _fts.c.segments_fts.op("MATCH")(fts_phrase(q)))
    elif dialect == "postgresql":
        stmt = stmt.where(Segment.text.ilike(_like_pattern(q), escape="\\"))
    else:
        stmt = stmt.where(Segment.text.like(_like_pattern(q), escape="\\"))
    stmt = apply(stmt, filters)
    return stmt.order_by(Interaction.wall_start_s.desc(), Interaction.id.desc(), Segment.start_s).limit(limit)


@dataclass(frozen=True)
class LineHit:
    """A transcript line that matched the phrase: ``hits`` are [start, end) spans in ``text``."""

    segment_id: int
    offset_s: float
    end_s: float
    speaker: str
    text: str
    hits: list[tuple[int, int]]
    match: str                      # exact | corrected | sound | corrected_sound | rule
    rule: str | None = None


@dataclass(frozen=True)
class Phrase:
    text: str                       # as the user wrote it, stripped
    key: str                        # its sound-alike key ("" when it has no Han characters)
    rules: list[str]                # the forbidden rules it names (their flags are found too)


def phrase_of(query: str, rulebook: Rulebook | None) -> Phrase:
    """Raises: SearchError: the query is empty or too long."""
    q = checked_query(query)
    return Phrase(q, sound_key(q), rules_for_phrase(rulebook, q) if rulebook is not None else [])


def masked_matching(role: str | None, phrase: Phrase) -> bool:
    """The one PII rule of search: a role that reads masked transcripts (domain.pii.for_role)
    finds a phrase only in the text it is shown, so a search cannot confirm a hidden number.
    Masking hides digits only, so only a phrase with digits must be matched against masked
    text (``role`` None: an operator at the CLI, who reads everything)."""
    return role is not None and role not in pii.UNMASKED_ROLES and any(ch in _DIGIT_CHARS for ch in phrase.text)


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


def candidates(db: Session, phrase: Phrase, f: Filters, *, order: Sequence[Any], oldest: bool = False,
               ) -> tuple[list[int], bool]:
    """The interactions in scope ``f`` matching ``phrase``: those with a line as written first,
    then those with a line corrected to it, then those with a line sounding like it, then those
    with a line whose correction sounds like it, then those with a flag of a rule it names, each
    group in ``order`` (ORDER BY terms over Interaction); and whether a kind had more than
    CANDIDATE_CAP matching lines (its newest, ``oldest``: its oldest, were taken)."""
    dialect = db.get_bind().dialect.name
    kinds = [text_matches(phrase.text, dialect=dialect), corrected_matches(phrase.text, dialect=dialect)]
    if phrase.key:
        kinds += [sound_matches(phrase.key, dialect=dialect), corrected_sound_matches(db, phrase.key, f, oldest=oldest)]
    if phrase.rules:
        ruled = aliased(Flag)       # apart from the flags a rule or review-state filter tests
        kinds.append(select(ruled.interaction_id, ruled.id.label("seq")).where(ruled.rule.in_(phrase.rules),
                                                                                  ruled.superseded_s.is_(None)))
    rank: dict[int, int] = {}
    capped = False
    for r, matches in enumerate(kinds):
        ids, more = _newest(db, matches, f, dialect=dialect, oldest=oldest)
        capped |= more
        for i in ids:
            rank.setdefault(i, r)
    if not rank:
        return [], capped
    ordered = db.scalars(select(Interaction.id).where(Interaction.id.in_(list(rank))).order_by(*order)).all()
    return sorted(ordered, key=rank.__getitem__), capped


def _lines(segments: Sequence[Segment], phrase: Phrase, rule_flags: Sequence[Flag],
           show: Callable[[str], str], corrected: dict[int, str]) -> list[LineHit]:
    """The lines with the phrase as written (recognised, else in the line's correction in
    force, ``corrected`` by segment id), else those sounding like it (recognised, else
    corrected), else those of the flags of a rule the phrase names (in time order)."""
    shown = [(g, show(g.text)) for g in segments]
    out = []
    for g, text in shown:
        if spans := find_hits(text, phrase.text):
            out.append(LineHit(g.id, g.start_s, g.end_s, g.speaker, text, spans, "exact"))
        elif g.id in corrected and (spans := find_hits(fixed := show(corrected[g.id]), phrase.text)):
            out.append(LineHit(g.id, g.start_s, g.end_s, g.speaker, fixed, spans, "corrected"))
    if out or not phrase.key:
        return out
    for g, text in shown:
        # the stored key says no: skip tokenising (masking only removes matches)
        if (g.sound is None or phrase.key in g.sound) and (found := sound_spans(text, phrase.key)):
            out.append(LineHit(g.id, g.start_s, g.end_s, g.speaker, text, [(m.start, m.end) for m in found], "sound"))
        elif g.id in corrected and phrase.key in _text_key(corrected[g.id]) and (
                found := sound_spans(fixed := show(corrected[g.id]), phrase.key)):
            out.append(LineHit(g.id, g.start_s, g.end_s, g.speaker, fixed, [(m.start, m.end) for m in found],
                               "corrected_sound"))
    if out:
        return out
    seen: set[int] = set()
    for fl in rule_flags:
        for g, text in shown:
            if g.start_s - 0.05 <= fl.start_s <= g.end_s + 0.05:
                if g.id not in seen:
                    seen.add(g.id)
                    said = show(fl.evidence or fl.phrase)
                    out.append(LineHit(g.id, g.start_s, g.end_s, g.speaker, text,
                                       find_hits(text, said) if said else [], "rule", fl.rule))
                break
    return sorted(out, key=lambda h: h.offset_s)


def lines_of(db: Session, ids: Sequence[int], phrase: Phrase, show: Callable[[str], str]) -> dict[int, list[LineHit]]:
    """The matching lines (:func:`_lines`) of interactions ``ids``, as ``show`` shows them."""
    if not ids:
        return {}
    segs: dict[int, list[Segment]] = {i: [] for i in ids}
    for g in db.scalars(select(Segment).where(Segment.interaction_id.in_(ids)).order_by(Segment.start_s, Segment.id)):
        segs[g.interaction_id].append(g)
    flags: dict[int, list[Flag]] = {i: [] for i in ids}
    if phrase.rules:
        for fl in db.scalars(select(Flag).where(Flag.interaction_id.in_(ids), Flag.rule.in_(phrase.rules),
                                                Flag.superseded_s.is_(None))
                             .order_by(Flag.start_s, Flag.id)):
            flags[fl.interaction_id].append(fl)
    corrected = corrected_texts(db, ids)
    return {i: _lines(segs[i], phrase, flags[i], show, corrected.get(i, {})) for i in ids}


#: Newest interaction first: the order of the CLI and ``/interactions/search`` (the browser's ``-time``).
NEWEST_FIRST = (Interaction.wall_start_s.desc(), Interaction.id.desc())


def search_segments(session: Session, query: str, *, filters: SearchFilters = SearchFilters(),
                    limit: int = 50, role: str | None = None, rulebook: Rulebook | None = None) -> list[SearchHit]:
    """The matching lines of the interactions matching ``query`` (:func:`candidates`: as written,
    then sounding alike, recognised then corrected, then a named rule's flags; newest interaction first within each), in
    time order within an interaction, at most ``limit``. The recordings browser lists the same
    interactions in the same order, each with the first of these lines.

    ``role``: whose search it is (:func:`masked_matching`; None: an operator's, unmasked).
    ``rulebook``: the rules a phrase may name (None: none).

    Raises:
        SearchError: the query is empty or too long.
    """
    phrase = phrase_of(query, rulebook)
    show = pii.for_role(role) if role is not None else (lambda t: t)
    ids, _ = candidates(session, phrase, filters, order=NEWEST_FIRST)
    if masked_matching(role, phrase):
        ids = ids[:MASKED_SCAN_CAP]
    out: list[SearchHit] = []
    for start in range(0, len(ids), max(limit, 20)):
        batch = ids[start:start + max(limit, 20)]
        where = dict((i, (site, counter, wall)) for i, site, counter, wall in session.execute(
            select(Interaction.id, Site.name, Counter.name, Interaction.wall_start_s)
            .join(Counter, Interaction.counter_id == Counter.id).join(Site, Counter.site_id == Site.id)
            .where(Interaction.id.in_(batch))))
        found = lines_of(session, batch, phrase, show)
        for i in batch:
            site, counter, wall = where[i]
            for line in found[i]:
                window, spans, snippet, cut_a, cut_b = snippet_of(line.text, line.hits)
                out.append(SearchHit(interaction_id=i, segment_id=line.segment_id, site=site, counter=counter,
                                     wall_start_s=wall, offset_s=line.offset_s, end_s=line.end_s, speaker=line.speaker,
                                     text=window, hits=spans, snippet=snippet, truncated_start=cut_a,
                                     truncated_end=cut_b, match=line.match, rule=line.rule))
                if len(out) >= limit:
                    return out
    return out
