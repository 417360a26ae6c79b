"""Per-counter hash chain over stored chunks, and the verification of one day (issue 6, item 2).

Every chunk row carries ``chain_sha256 = sha256(prev || sha256 || key || start_sample ||
samples)`` (fields joined by newlines, hex digests), where ``prev`` is the ``chain_sha256`` of
the counter's previous chunk in (session wall start, session id, seq) order, or 64 zeros for
a counter's first chunk; ``prev`` is stored too (``prev_chain_sha256``). The link is made when
the chunk is registered (:func:`link_chunk`, called by ``Catalog.register_chunk``).

:func:`verify_day` re-reads every chunk of a counter's day from the store and checks, in chain
order: the link to the chunk before, the row's own link (an edited row fails here), sample
continuity within each session, the object's presence and sha256, and that every object under
a session's prefix has its row (a deleted row shows here). It reports the first broken link.
"""
from __future__ import annotations

import hashlib
import logging
import posixpath
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import Tuple, select, tuple_
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from storage.engine import read_session
from storage.objects import ObjectStore
from storage.store_errors import ChecksumMismatch, ObjectNotFound, StoreError, StoreUnavailable
from storage.tables import Chunk, Counter, RecordingSession

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
FETCH_THREADS = 8


def chain_link(prev: str, sha256: str, key: str, start_sample: int, samples: int) -> str:
    """The chain hash of a chunk whose predecessor's chain hash is ``prev``."""
    return hashlib.sha256(f"{prev}\n{sha256}\n{key}\n{start_sample}\n{samples}".encode()).hexdigest()


def _order() -> Tuple:
    return tuple_(RecordingSession.wall_start_s, Chunk.session_id, Chunk.seq)


def link_chunk(session: Session, chunk: Chunk, *, session_wall_start_s: float) -> None:
    """Set ``chunk``'s chain fields from the counter's previous chunk; call before adding it,
    inside the registering transaction. The counter row is locked (PostgreSQL) so two
    registrations for one counter cannot fork the chain."""
    session.execute(select(Counter.id).where(Counter.id == chunk.counter_id).with_for_update())
    here = tuple_(session_wall_start_s, chunk.session_id, chunk.seq)
    base = select(Chunk.chain_sha256).join(RecordingSession, Chunk.session_id == RecordingSession.id).where(
        Chunk.counter_id == chunk.counter_id)
    prev = session.scalar(base.where(_order() < here).order_by(
        RecordingSession.wall_start_s.desc(), Chunk.session_id.desc(), Chunk.seq.desc()).limit(1))
    if session.scalar(base.where(_order() > here).limit(1)) is not None:
        # Agents upload in order, so this is rare (e.g. two agents on one counter); verify
        # will point at the chunk that follows this one.
        logger.warning("integrity: chunk %s registered after later chunks of its counter; the chain forks here",
                       chunk.key)
    chunk.prev_chain_sha256 = prev or GENESIS
    chunk.chain_sha256 = chain_link(chunk.prev_chain_sha256, chunk.sha256, chunk.key, chunk.start_sample,
                                    chunk.samples)


@dataclass(frozen=True)
class Broken:
    """One broken link: the chunk key (or object key) and what broke."""
    key: str
    what: str


@dataclass
class DayReport:
    counter_id: int
    start_s: float
    end_s: float
    chunks: int = 0
    samples: int = 0
    problems: list[Broken] = field(default_factory=list)
    anchored_after_retention: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Broken | None:
        return self.problems[0] if self.problems else None


@dataclass(frozen=True)
class _Row:
    key: str
    session_id: str
    seq: int
    start_sample: int
    samples: int
    sha256: str
    prev: str | None
    chain: str | None


def _row(c: Chunk) -> _Row:
    return _Row(c.key, c.session_id, c.seq, c.start_sample, c.samples, c.sha256, c.prev_chain_sha256, c.chain_sha256)


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


def verify_day(engine: Engine, store: ObjectStore, *, counter_id: int, start_s: float, end_s: float) -> DayReport:
    """Verify the chunks of ``counter_id`` whose first sample lies in [start_s, end_s).

    Problems come out in chain order, the first broken link first.

    Raises:
        StoreUnavailable: the store cannot be reached (nothing can be concluded).
    """
    report = DayReport(counter_id, start_s, end_s)
    with read_session(engine) as s:
        q = (select(Chunk).join(RecordingSession, Chunk.session_id == RecordingSession.id)
             .where(Chunk.counter_id == counter_id))
        rows = [_row(c) for c in s.scalars(q.where(Chunk.wall_start_s >= start_s, Chunk.wall_start_s < end_s)
                                           .order_by(RecordingSession.wall_start_s, Chunk.session_id, Chunk.seq))]
        if not rows:
            return report
        first = s.scalars(select(Chunk).where(Chunk.key == rows[0].key)).one()
        first_wall = _session_wall_start_s(s, first)
        before_chunk = s.scalar(q.where(_order() < tuple_(first_wall, first.session_id, first.seq)).order_by(
            RecordingSession.wall_start_s.desc(), Chunk.session_id.desc(), Chunk.seq.desc()).limit(1))
        last = s.scalars(select(Chunk).where(Chunk.key == rows[-1].key)).one()
        last_wall = _session_wall_start_s(s, last)
        after_chunk = s.scalar(q.where(_order() > tuple_(last_wall, last.session_id, last.seq)).order_by(
            RecordingSession.wall_start_s, Chunk.session_id, Chunk.seq).limit(1))
        before = _row(before_chunk) if before_chunk else None
        after = _row(after_chunk) if after_chunk else None
        sessions = sorted({r.session_id for r in rows})
        rows_of = {sid: {c.key for c in s.scalars(select(Chunk).where(Chunk.session_id == sid))} for sid in sessions}

    # Objects under each session's prefix that have no row: a deleted catalog row.
    orphans: dict[str, list[str]] = {}
    for sid in sessions:
        prefix = posixpath.dirname(next(r.key for r in rows if r.session_id == sid)) + "/"
        orphans[sid] = sorted(k for k in store.iter_keys(prefix) if k not in rows_of[sid])

    prev = before
    with ThreadPoolExecutor(FETCH_THREADS) as pool:
        for row, obj_problem in zip(rows, pool.map(lambda r: _check_object(store, r), rows), strict=True):
            for k in [k for k in orphans.get(row.session_id, []) if k < row.key]:
                report.problems.append(Broken(k, "object in the store has no catalog row (row deleted?)"))
                orphans[row.session_id].remove(k)
            report.problems.extend(_check_row(row, prev, report))
            if obj_problem:
                report.problems.append(Broken(row.key, obj_problem))
            report.chunks += 1
            report.samples += row.samples
            prev = row
    for sid in sessions:
        report.problems.extend(Broken(k, "object in the store has no catalog row (row deleted?)")
                               for k in orphans[sid])
    if after is not None and after.prev != rows[-1].chain:
        report.problems.append(Broken(after.key, "the next chunk after this day does not link to the day's last "
                                                 "chunk (a row at the end of the day was removed or edited)"))
    if report.problems:
        logger.warning("verify: counter #%s: %d problem(s), first at %s: %s", counter_id, len(report.problems),
                       report.problems[0].key, report.problems[0].what)
    return report


def _session_wall_start_s(s: Session, chunk: Chunk) -> float:
    session = s.get(RecordingSession, chunk.session_id)
    assert session is not None  # the chunk was selected through a join with its session
    return session.wall_start_s


def _check_row(row: _Row, prev: _Row | None, report: DayReport) -> Iterator[Broken]:
    expected_prev = prev.chain if prev is not None else GENESIS
    if row.chain is None or row.prev is None:
        yield Broken(row.key, "chunk has no chain hash")
        return
    if row.prev != expected_prev:
        if prev is None:
            # Nothing before it in the catalog: the chain's start was deleted by retention.
            report.anchored_after_retention = True
        else:
            # The chunk before may have no chain hash itself (reported on that chunk).
            before_hash = f"{expected_prev[:12]}..." if expected_prev is not None else "(none)"
            yield Broken(row.key, f"link broken: prev_chain_sha256 {row.prev[:12]}... is not the chain hash "
                                  f"{before_hash} of the chunk before ({prev.key}): a row between them "
                                  f"was removed or one of them edited")
    if chain_link(row.prev, row.sha256, row.key, row.start_sample, row.samples) != row.chain:
        yield Broken(row.key, "row edited: chain_sha256 does not match the row's sha256, key, start_sample, samples")
    if prev is not None and prev.session_id == row.session_id:
        if row.seq != prev.seq + 1:
            yield Broken(row.key, f"seq {row.seq} follows seq {prev.seq}: {row.seq - prev.seq - 1} chunk(s) missing")
        elif row.start_sample != prev.start_sample + prev.samples:
            gap = row.start_sample - (prev.start_sample + prev.samples)
            yield Broken(row.key, f"samples not continuous: {'gap' if gap > 0 else 'overlap'} of {abs(gap)} "
                                  f"samples after {prev.key}")
    elif row.seq != 0 and (prev is None or prev.session_id != row.session_id):
        yield Broken(row.key, f"session starts at seq {row.seq}: earlier chunks of the session are missing")
