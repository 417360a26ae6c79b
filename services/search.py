"""Transcript search: substring matches in segments, newest interaction first.

Chinese has no spaces between words, so search is by substring (下班 finds 你们是不是快下班了),
served by a character-trigram index (migration 0003):

* SQLite: the FTS5 table ``segments_fts`` (``tokenize='trigram'``), queried with a quoted
  phrase, which FTS5 matches as a substring.
* PostgreSQL: ``ILIKE '%...%'`` on ``segments.text``, which the pg_trgm GIN index serves.

On SQLite the FTS5 count of matches (capped, ~1 ms) picks one of two plans: few matches are
fetched from the index and sorted by time; many (a common phrase: sorting 30,000 matches takes
~30 ms) are found faster by walking interactions newest first (``ix_interactions_wall_start``)
and testing each segment with ``LIKE`` until ``limit`` hits. Filters that may leave few recent
interactions (counter, staff, rule, review state, rating) always take the index plan.

A trigram index cannot look up fewer than three characters: such queries fall back to
``LIKE`` on SQLite, walking newest first (fast for common pairs like 下班, a full scan for
rare ones), and stay ``ILIKE`` on PostgreSQL (which then scans as well). Matching is
case-insensitive for Latin letters on both.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, TableClause, column, func, select, table
from sqlalchemy.orm import InstrumentedAttribute, Session

from domain.errors import Invalid
from services.filters import Filters, apply
from storage.tables import Counter, Interaction, Segment, Site

TRIGRAM_MIN_CHARS = 3
MAX_QUERY_CHARS = 200
SNIPPET_CONTEXT_CHARS = 40
MARK_OPEN, MARK_CLOSE = "【", "】"

_fts = table("segments_fts", column("rowid"), column("segments_fts"))
_sound_fts = table("segments_sound_fts", column("rowid"), column("segments_sound_fts"))


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
    spans = find_hits(text, q)
    a, b = 0, len(text)
    if spans and len(text) > 2 * context_chars + len(q):
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


def scope_segments(session: Session, f: SearchFilters) -> int:
    """About how many segments the interactions matching ``f`` hold (their count, from the
    index, times the mean segments per interaction)."""
    stmt = select(func.count()).select_from(Interaction)
    # Only the joins the filters need: with a join to counters, SQLite walks every counter's
    # time window instead of the staff member's rows (ix_inter_staff_time), 0.3 ms against 40.
    if f.counter or f.counter_id is not None or f.sites is not None or f.site:
        stmt = stmt.join(Counter, Interaction.counter_id == Counter.id)
    if f.sites is not None or f.site:
        stmt = stmt.join(Site, Counter.site_id == Site.id)
    inters = session.execute(apply(stmt, f)).scalar_one()
    per = (session.execute(select(func.max(Segment.id))).scalar_one() or 0) / \
        max(1, session.execute(select(func.max(Interaction.id))).scalar_one() or 0)
    return int(inters * max(per, 1.0))


def fts_match_count(session: Session, query: str, *, cap: int) -> int:
    """How many segments contain ``query`` per the FTS5 index (SQLite, >= 3 characters), counted
    up to ``cap``: about a millisecond for thousands of matches."""
    return session.execute(select(func.count()).select_from(
        select(_fts.c.rowid).where(_fts.c.segments_fts.op("MATCH")(fts_phrase(query))).limit(cap).subquery())
    ).scalar_one()


def time_first_threshold(limit: int, segments: int) -> int:
    """Matches above which scanning the newest interactions for the substring beats sorting all
    matches: scanning costs about limit * segments / matches rows, sorting about matches rows
    (each a bit dearer), so they meet near sqrt(0.4 * limit * segments)."""
    return max(500, int((0.4 * limit * max(segments, 1)) ** 0.5))


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
    """(segment id, interaction id, seq) of the segments whose ``col`` contains ``needle``: by the
    FTS5 trigram table ``fts`` on SQLite from three characters on, else LIKE (ILIKE on PostgreSQL
    with ``fold_case``; pg_trgm serves both). ``seq`` is the segment id as the index yields it: ordering by it lets
    SQLite walk the index newest first and stop at a LIMIT (``segments.id`` would sort every match)."""
    if dialect == "sqlite" and len(needle) >= TRIGRAM_MIN_CHARS:
        rowid = fts.c.rowid
        return select(Segment.id, Segment.interaction_id, rowid.label("seq")).join(fts, rowid == Segment.id).where(
            fts.c[fts.name].op("MATCH")(fts_phrase(needle)))
    like = col.ilike if fold_case and dialect == "postgresql" else col.like
    return select(Segment.id, Segment.interaction_id, Segment.id.label("seq")).where(
        like(_like_pattern(needle), escape="\\"))


def text_matches(q: str, *, dialect: str) -> Select:
    """(segment id, interaction id, seq) of the segments whose text contains ``q`` (:func:`_matches`)."""
    return _matches(q, Segment.text, _fts, dialect=dialect, fold_case=True)


def sound_matches(key: str, *, dialect: str) -> Select:
    """(segment id, interaction id, seq) of the segments that sound like the phrase whose
    sound-alike key is ``key`` (transcribe.soundalike): its key is a substring of theirs, by the
    trigram index over ``segments.sound`` (migration 0017). The key holds codes, not letters, so
    PostgreSQL matches it as it is: LIKE, not ILIKE."""
    return _matches(key, Segment.sound, _sound_fts, dialect=dialect, fold_case=False)


def search_statement(query: str, *, dialect: str, filters: SearchFilters = SearchFilters(), limit: int = 50,
                     time_first: bool = False) -> Select:
    """The SELECT for ``query`` on ``dialect`` ('sqlite' or 'postgresql'): rows of
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


def search_segments(session: Session, query: str, *, filters: SearchFilters = SearchFilters(),
                    limit: int = 50, mask_text: Callable[[str], str] | None = None) -> list[SearchHit]:
    """Segments whose text contains ``query``, newest interaction first, at most ``limit``.

    ``mask_text`` (e.g. :func:`domain.pii.mask`) is applied to each whole segment before the
    snippet is cut; a segment whose masked text no longer contains ``query`` is left out, so a
    search cannot confirm a hidden number.

    Raises:
        SearchError: the query is empty or too long.
    """
    q = query.strip()
    dialect = session.get_bind().dialect.name
    time_first = False
    if dialect == "sqlite" and len(q) >= TRIGRAM_MIN_CHARS and 0 < len(q) <= MAX_QUERY_CHARS \
            and (not filters.selective or filters.indexed_scope):
        # Sorting every match costs ~1 us each (30 ms at 30,000); for such common phrases the
        # newest interactions hold enough hits, so scan those instead. With a counter or staff
        # filter the scan walks only that scope (by its index), so it is weighed against the
        # segments in scope: a counter's last 7 days is a few thousand segments at most.
        if filters.selective:
            segments = scope_segments(session, filters)
        else:
            segments = session.execute(select(func.max(Segment.id))).scalar_one() or 0
        cap = time_first_threshold(limit, segments)
        time_first = fts_match_count(session, q, cap=cap) >= cap
    stmt = search_statement(q, dialect=dialect, filters=filters, limit=limit, time_first=time_first)
    out = []
    for seg_id, inter_id, site, counter, wall, start, end, speaker, text in session.execute(stmt):
        if mask_text is not None:
            text = mask_text(text)
            if not find_hits(text, q):
                continue
        window, spans, snippet, cut_a, cut_b = make_snippet(text, q)
        out.append(SearchHit(interaction_id=inter_id, segment_id=seg_id, site=site, counter=counter,
                             wall_start_s=wall, offset_s=start, end_s=end, speaker=speaker, text=window,
                             hits=spans, snippet=snippet, truncated_start=cut_a, truncated_end=cut_b))
    return out
