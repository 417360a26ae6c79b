"""Per-counter hash chain over stored chunks, and the verification of one day (issue 6, item 2;
issue 18, item 2).

Every chunk row carries ``chain_sha256 = sha256(prev || sha256 || key || start_sample ||
samples)`` (fields joined by newlines, hex digests), where ``prev`` is the ``chain_sha256`` of
the counter's previous chunk *in the order the server received them* (``chunks.id``), or 64
zeros for a counter's first chunk; ``prev`` is stored too (``prev_chain_sha256``). The link is
made when the chunk is registered (:func:`link_chunk`, called by ``Catalog.register_chunk``).

The chain follows the server's clock, not the times chunks claim: a chunk that claims an earlier
time (a backlog after an outage, or an agent that lies) is appended to the chain, never inserted
into it, so it cannot break the links of chunks stored before it (issue 18).

:func:`verify_day` re-reads every chunk of a counter's day (by claimed time) from the store and
checks, in chain order: the link to the chunk received before, the row's own link (an edited row
fails here), sample continuity within each recording, the object's presence and sha256, and that
every object under a recording's prefix has its row (a deleted row shows here). A recording
that claims time another recording of the counter, received earlier, already covers is named as
a replay or forged insertion (the earlier one stays intact). Recordings that reached the server
long after their claimed time are listed as uploaded late (补传, with by how long).
"""
from __future__ import annotations

import hashlib
import logging
import posixpath
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from domain.chunks import LATE_UPLOAD_S
from storage.engine import read_session
from storage.objects import ObjectStore
from storage.store_errors import ChecksumMismatch, ObjectNotFound, StoreError, StoreUnavailable
from storage.tables import AuditLog, Chunk, Counter, RecordingSession

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
FETCH_THREADS = 8
#: How much two recordings of one counter may overlap in claimed time without either being
#: named: an agent restarted after its clock was set back (the allowed clock skew, issue 18).
CLOCK_CORRECTION_S = 120.0


def chain_link(prev: str, sha256: str, key: str, start_sample: int, samples: int) -> str:
    """The chain hash of a chunk whose predecessor's chain hash is ``prev``."""
    return hashlib.sha256(f"{prev}\n{sha256}\n{key}\n{start_sample}\n{samples}".encode()).hexdigest()


def link_chunk(session: Session, chunk: Chunk) -> None:
    """Set ``chunk``'s chain fields from the counter's chunk received last; call before adding
    it, inside the registering transaction. The counter row is locked (PostgreSQL; SQLite has one
    writer) so two registrations for one counter cannot fork the chain."""
    session.execute(select(Counter.id).where(Counter.id == chunk.counter_id).with_for_update())
    prev = session.scalar(select(Chunk.chain_sha256).where(Chunk.counter_id == chunk.counter_id)
                          .order_by(Chunk.id.desc()).limit(1))
    chunk.prev_chain_sha256 = prev or GENESIS
    chunk.chain_sha256 = chain_link(chunk.prev_chain_sha256, chunk.sha256, chunk.key, chunk.start_sample,
                                    chunk.samples)


@dataclass(frozen=True)
class Broken:
    """One broken link: the chunk key (or object key) and what broke."""
    key: str
    what: str


@dataclass(frozen=True)
class LateUpload:
    """A recording whose audio reached the server long after the time it claims (补传)."""
    session_id: str
    first_key: str
    claimed_start_s: float
    received_s: float | None
    late_s: float


@dataclass
class DayReport:
    counter_id: int
    start_s: float
    end_s: float
    chunks: int = 0
    samples: int = 0
    problems: list[Broken] = field(default_factory=list)
    anchored_after_retention: bool = False
    late: list[LateUpload] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Broken | None:
        return self.problems[0] if self.problems else None


@dataclass(frozen=True)
class _Row:
    id: int
    key: str
    session_id: str
    seq: int
    start_sample: int
    samples: int
    sha256: str
    prev: str | None
    chain: str | None


def _row(c: Chunk) -> _Row:
    return _Row(c.id, c.key, c.session_id, c.seq, c.start_sample, c.samples, c.sha256, c.prev_chain_sha256,
                c.chain_sha256)


def _check_object(store: ObjectStore, row: _Row) -> str | None:
    try:
        store.get_bytes(row.key, expected_sha256=row.sha256)
    except ObjectNotFound:
        return "object missing from the store"
    except ChecksumMismatch as e:
        return f"object altered: {e.code} ({e})"
    except StoreUnavailable:
        raise
    except StoreError as e:
        return f"object unreadable: {e.code}"
    return None


@dataclass(frozen=True)
class _Recording:
    id: str
    wall_start_s: float
    end_s: float
    rate: int
    first_id: int
    received_s: float | None
    late_s: float


def _recordings(s: Session, counter_id: int, ids: list[str]) -> tuple[dict[str, _Recording], list[_Recording]]:
    """The day's recordings, and every recording of the counter overlapping their claimed time."""
    def load(where) -> list[_Recording]:   # noqa: ANN001 (a SQL condition)
        q = (select(RecordingSession, func.min(Chunk.id), func.max(Chunk.start_sample + Chunk.samples))
             .join(Chunk, Chunk.session_id == RecordingSession.id)
             .where(RecordingSession.counter_id == counter_id, where).group_by(RecordingSession.id))
        return [_Recording(r.id, r.wall_start_s, r.wall_start_s + end / r.sample_rate_hz, r.sample_rate_hz, first,
                           r.received_s, r.late_s or 0.0) for r, first, end in s.execute(q)]
    mine = {r.id: r for r in load(RecordingSession.id.in_(ids))}
    if not mine:
        return mine, []
    lo, hi = min(r.wall_start_s for r in mine.values()), max(r.end_s for r in mine.values())
    # A recording starting before ``lo`` that reaches into the day: bounded by a day's length.
    near = load((RecordingSession.wall_start_s < hi) & (RecordingSession.wall_start_s > lo - 86400.0))
    return mine, near


def _covers(earlier: _Recording, later: _Recording) -> bool:
    """Whether ``later`` claims time ``earlier`` already covers: it lies wholly inside it, or
    overlaps it by more than an agent's clock may be corrected by (a restarted agent whose clock
    was set back a little overlaps its previous recording by that much, legitimately)."""
    overlap = min(earlier.end_s, later.end_s) - max(earlier.wall_start_s, later.wall_start_s)
    inside = earlier.wall_start_s <= later.wall_start_s and later.end_s <= earlier.end_s
    return overlap > 0 and (inside or overlap > CLOCK_CORRECTION_S)


def verify_day(engine: Engine, store: ObjectStore, *, counter_id: int, start_s: float, end_s: float) -> DayReport:
    """Verify the chunks of ``counter_id`` whose first sample lies in [start_s, end_s).

    Problems come out in chain order (the order the server received the chunks), the first
    broken link first.

    Raises:
        StoreUnavailable: the store cannot be reached (nothing can be concluded).
    """
    report = DayReport(counter_id, start_s, end_s)
    mine = Chunk.counter_id == counter_id
    with read_session(engine) as s:
        rows = [_row(c) for c in s.scalars(select(Chunk).where(mine, Chunk.wall_start_s >= start_s,
                                                               Chunk.wall_start_s < end_s).order_by(Chunk.id))]
        if not rows:
            return report
        lo, hi = rows[0].id, rows[-1].id
        # The chain around the day: every chunk received between its first and last (other
        # days' too, when a backlog came meanwhile) and one on each side.
        chain = [_row(c) for c in s.scalars(select(Chunk).where(mine, Chunk.id >= lo, Chunk.id <= hi)
                                            .order_by(Chunk.id))]
        before = s.scalar(select(Chunk).where(mine, Chunk.id < lo).order_by(Chunk.id.desc()).limit(1))
        after = s.scalar(select(Chunk).where(mine, Chunk.id > hi).order_by(Chunk.id).limit(1))
        chain = ([_row(before)] if before else []) + chain + ([_row(after)] if after else [])
        sessions = sorted({r.session_id for r in rows})
        numbering = {sid: {c.seq: (c.start_sample, c.samples, c.key) for c in
                           s.execute(select(Chunk.seq, Chunk.start_sample, Chunk.samples, Chunk.key)
                                     .where(Chunk.session_id == sid))} for sid in sessions}
        recordings, near = _recordings(s, counter_id, sessions)
        retained = _retention_seams(s, {n.prev for p, n in _pairs(chain) if n.prev != p.chain})

    in_day = {r.id for r in rows}
    pos = {r.id: i for i, r in enumerate(chain)}
    found: list[tuple[float, int, Broken]] = []     # (chain position, order within it, problem)

    def note(at: float, broken: Broken) -> None:
        found.append((at, len(found), broken))

    # The links, in the order the server received the chunks.
    if not before and chain[0].id in in_day and chain[0].prev not in (None, GENESIS):
        report.anchored_after_retention = True      # the chain's start was deleted by retention
    for p, n in _pairs(chain):
        if (p.id in in_day or n.id in in_day) and n.prev != p.chain:
            if n.prev in retained:
                report.anchored_after_retention = True
            elif n.id in in_day:
                note(pos[n.id], Broken(n.key, f"link broken: prev_chain_sha256 {(n.prev or '')[:12]}... is not the "
                                              f"chain hash {(p.chain or '')[:12]}... of the chunk received before ({p.key}): a row "
                                              f"between them was removed or one of them edited"))
            else:
                note(pos[n.id], Broken(n.key, f"the next chunk after this day's chunk {p.key} does not link to it "
                                              f"(a row of the day was removed or edited)"))
    for row in rows:
        at = pos[row.id]
        if row.chain is None or row.prev is None:
            note(at, Broken(row.key, "chunk has no chain hash"))
        elif chain_link(row.prev, row.sha256, row.key, row.start_sample, row.samples) != row.chain:
            note(at, Broken(row.key, "row edited: chain_sha256 does not match the row's sha256, key, start_sample, "
                                     "samples"))
        for problem in _numbering(row, numbering[row.session_id]):
            note(at, problem)

    # Recordings claiming time that another one, received earlier, covers: the later is named.
    first_key = {sid: min((r for r in rows if r.session_id == sid), key=lambda r: r.seq).key for sid in sessions}
    for sid in sessions:
        me = recordings[sid]
        earlier = [o for o in near if o.id != sid and o.first_id < me.first_id and _covers(o, me)]
        if earlier:
            o = earlier[0]
            note(pos[next(r.id for r in rows if r.key == first_key[sid])],
                 Broken(first_key[sid], f"recording {sid} claims time that recording {o.id}, received before it, "
                                        f"already covers: a replay or a forged insertion (recording {o.id} is "
                                        f"checked on its own)"))
        if me.late_s >= LATE_UPLOAD_S:
            report.late.append(LateUpload(sid, first_key[sid], me.wall_start_s, me.received_s, me.late_s))

    # Objects under each recording's prefix that have no row: a deleted catalog row.
    by_session = {sid: sorted((r for r in rows if r.session_id == sid), key=lambda r: r.key) for sid in sessions}
    for sid in sessions:
        prefix = posixpath.dirname(by_session[sid][0].key) + "/"
        known = {k for _, _, k in numbering[sid].values()}
        for k in sorted(k for k in store.iter_keys(prefix) if k not in known):
            nxt = next((r for r in by_session[sid] if r.key > k), None)
            where = pos[nxt.id] - 0.5 if nxt is not None else pos[by_session[sid][-1].id] + 0.5
            note(where, Broken(k, "object in the store has no catalog row (row deleted?)"))

    with ThreadPoolExecutor(FETCH_THREADS) as pool:
        for row, obj_problem in zip(rows, pool.map(lambda r: _check_object(store, r), rows), strict=True):
            if obj_problem:
                note(pos[row.id] + 0.25, Broken(row.key, obj_problem))
            report.chunks += 1
            report.samples += row.samples
    report.problems = [b for *_, b in sorted(found, key=lambda x: (x[0], x[1]))]
    if report.problems:
        logger.warning("verify: counter #%s: %d problem(s), first at %s: %s", counter_id, len(report.problems),
                       report.problems[0].key, report.problems[0].what)
    return report


def _pairs(chain: list[_Row]) -> Iterator[tuple[_Row, _Row]]:
    """Consecutive chunks of the chain whose link can be checked (both have their hashes)."""
    for p, n in zip(chain, chain[1:], strict=False):
        if p.chain is not None and n.prev is not None:
            yield p, n


def _retention_seams(s: Session, prevs: set[str | None]) -> set[str]:
    """Of ``prevs``, the chain hashes retention recorded when it deleted the chunk that had them
    (its audit rows name every hash the chain continues from)."""
    return {p for p in prevs if p and s.scalar(select(AuditLog.id).where(
        AuditLog.action == "retention.delete", AuditLog.detail.contains(p, autoescape=True)).limit(1)) is not None}


def _numbering(row: _Row, numbering: dict[int, tuple[int, int, str]]) -> Iterator[Broken]:
    """Continuity of ``row`` with the chunk numbered before it in its recording."""
    if row.seq == 0:
        return
    if row.seq - 1 in numbering:
        start, samples, key = numbering[row.seq - 1]
        if row.start_sample != start + samples:
            gap = row.start_sample - (start + samples)
            yield Broken(row.key, f"samples not continuous: {'gap' if gap > 0 else 'overlap'} of {abs(gap)} "
                                  f"samples after {key}")
        return
    earlier = [q for q in numbering if q < row.seq]
    if earlier:
        q = max(earlier)
        yield Broken(row.key, f"seq {row.seq} follows seq {q}: {row.seq - q - 1} chunk(s) missing")
    else:
        yield Broken(row.key, f"session starts at seq {row.seq}: earlier chunks of the session are missing")
