"""Retention and legal hold (issue 6, item 1).

Each site keeps recordings ``sites.retention_days`` days. :func:`plan` finds, per site, what
is past that date: interactions (with their segments and flags) and chunks (object and row),
except

* interactions under a legal hold (``interactions.hold``) or under an open complaint
  (``complaints.state != 'answered'``), whatever their age, and
* chunks any interaction that stays still needs (the held ones, and any that reaches past
  the retention date).

:func:`apply` deletes a plan: each interaction with its segments and flags in one
transaction; each session's chunks object first, then the row (so a failed object delete
leaves the row for the next run rather than an orphan object). Every deletion is logged and
written to the audit log (action ``retention.delete``, user ``retention``). An object still
under Object Lock retention (the site's retention was shortened after it was written) is not
an error: it is reported in ``locked`` and its row kept until a run after its date.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import Exists, delete, exists, func, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from domain.errors import Invalid
from services import audit
from storage.engine import read_session, write_session
from storage.jobs import analyze_key, plan_key
from storage.objects import ObjectStore
from storage.store_errors import ObjectLocked, StoreError
from storage.tables import (
    Chunk,
    ChunkClaim,
    ChunkTombstone,
    Complaint,
    Counter,
    Flag,
    Interaction,
    Job,
    RecordingSession,
    Segment,
    Site,
    now_s,
)

logger = logging.getLogger(__name__)

ACTOR = "retention"
DAY_S = 86400.0
#: How long a deleted chunk's tombstone (the hash of its samples, its counter and recording
#: time) is kept after the chunk: audio replayed within this is still refused (docs/security.md).
TOMBSTONE_KEEP_S = 366 * DAY_S


class HoldError(Invalid):
    """A hold request the catalog refuses (unknown interaction, no reason); ``reason`` says why."""

    code = "bad_hold"

    def __init__(self, interaction_id: int, reason: str) -> None:
        super().__init__(f"interaction {interaction_id}", reason)
        self.interaction_id = interaction_id


@dataclass(frozen=True)
class DoomedInteraction:
    id: int
    site: str
    counter: str
    session_id: str
    wall_start_s: float
    segments: int
    flags: int


@dataclass(frozen=True)
class DoomedChunks:
    """Chunks of one session past retention and needed by nothing kept."""
    site: str
    counter: str
    session_id: str
    ids: tuple[int, ...]
    keys: tuple[str, ...]
    seqs: tuple[int, ...]
    last_chain_sha256: str | None


@dataclass(frozen=True)
class Kept:
    interaction_id: int
    site: str
    reason: str        # "hold: ..." or "open complaint #N"


@dataclass
class RetentionPlan:
    now_s: float
    interactions: list[DoomedInteraction] = field(default_factory=list)
    chunks: list[DoomedChunks] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)

    @property
    def chunk_count(self) -> int:
        return sum(len(c.ids) for c in self.chunks)


def _open_complaint() -> Exists:
    return exists().where(Complaint.interaction_id == Interaction.id, Complaint.state != "answered")


def plan(engine: Engine, *, now: float | None = None) -> RetentionPlan:
    """What retention would delete at ``now`` (default: the current time)."""
    out = RetentionPlan(now_s=now or now_s())
    with read_session(engine) as s:
        for site in s.scalars(select(Site).order_by(Site.name)):
            cutoff = out.now_s - site.retention_days * DAY_S
            in_site = select(Counter.id).where(Counter.site_id == site.id)
            old = (Interaction.counter_id.in_(in_site), Interaction.wall_end_s < cutoff)
            protected = or_(Interaction.hold, _open_complaint())
            for inter, counter in s.execute(
                    select(Interaction, Counter.name).join(Counter, Interaction.counter_id == Counter.id)
                    .where(*old).order_by(Interaction.wall_start_s, Interaction.id)):
                if inter.hold:
                    out.kept.append(Kept(inter.id, site.name, f"hold: {inter.hold_reason}"))
                    continue
                complaint = s.scalar(select(Complaint.id).where(Complaint.interaction_id == inter.id,
                                                                Complaint.state != "answered").limit(1))
                if complaint is not None:
                    out.kept.append(Kept(inter.id, site.name, f"open complaint #{complaint}"))
                    continue
                n_seg = s.execute(select(func.count()).select_from(Segment)
                                  .where(Segment.interaction_id == inter.id)).scalar_one()
                n_flag = s.execute(select(func.count()).select_from(Flag).where(Flag.interaction_id == inter.id)).scalar_one()
                out.interactions.append(DoomedInteraction(inter.id, site.name, counter, inter.session_id,
                                                          inter.wall_start_s, n_seg, n_flag))
            doomed = {i.id for i in out.interactions if i.site == site.name}
            chunk_end = Chunk.wall_start_s + Chunk.samples * 1.0 / Chunk.sample_rate_hz
            sessions = s.execute(select(Chunk.session_id, Counter.name).join(Counter, Chunk.counter_id == Counter.id)
                                 .where(Chunk.counter_id.in_(in_site), chunk_end < cutoff)
                                 .group_by(Chunk.session_id, Counter.name).order_by(Chunk.session_id)).all()
            for sid, counter in sessions:
                # Sample ranges still needed in this session: every interaction that stays.
                needed = [(a, b) for iid, a, b, held in s.execute(
                    select(Interaction.id, Interaction.start_sample, Interaction.end_sample, protected)
                    .where(Interaction.session_id == sid)) if iid not in doomed or held]
                ids, keys, seqs, last_chain = [], [], [], None
                for c in s.scalars(select(Chunk).where(Chunk.session_id == sid, chunk_end < cutoff)
                                   .order_by(Chunk.seq)):
                    if any(c.start_sample < b and c.start_sample + c.samples > a for a, b in needed):
                        continue
                    ids.append(c.id)
                    keys.append(c.key)
                    seqs.append(c.seq)
                    last_chain = c.chain_sha256
                if ids:
                    out.chunks.append(DoomedChunks(site.name, counter, sid, tuple(ids), tuple(keys), tuple(seqs),
                                                   last_chain))
    return out


@dataclass
class RetentionResult:
    interactions: int = 0
    chunks: int = 0
    sessions: int = 0
    errors: list[str] = field(default_factory=list)
    locked: list[str] = field(default_factory=list)   # "key: until ..." kept by Object Lock


def _audit(s: Session, target: str, detail: str) -> None:
    audit.append(s, user_id=None, user_name=ACTOR, action="retention.delete", target=target, detail=detail)


def apply(engine: Engine, store: ObjectStore, retention: RetentionPlan) -> RetentionResult:
    """Delete what ``retention`` lists. A chunk whose object cannot be deleted keeps its row
    (and is retried next run); its error is in ``errors``, or in ``locked`` when Object Lock
    retention still protects it."""
    result = RetentionResult()
    for d in retention.interactions:
        with write_session(engine) as s:
            inter = s.get(Interaction, d.id)
            # Checked again: a hold or complaint may have come since the plan was made.
            if inter is None or inter.hold or s.scalar(select(_open_complaint().where(Interaction.id == d.id))):
                continue
            s.execute(delete(Flag).where(Flag.interaction_id == d.id))
            s.execute(delete(Segment).where(Segment.interaction_id == d.id))
            s.execute(update(Complaint).where(Complaint.interaction_id == d.id).values(interaction_id=None))
            s.execute(delete(Job).where(Job.key == analyze_key(inter.session_id, inter.start_sample)))
            s.execute(delete(Interaction).where(Interaction.id == d.id))
            detail = (f"到期删除：窗口 {d.site}/{d.counter} 录音会话 {d.session_id}，开始于 "
                      f"{audit.local_stamp(d.wall_start_s)}，文字 {d.segments} 句，检查结果 {d.flags} 条")
            _audit(s, f"interaction:{d.id}", detail)
        logger.info("retention: deleted interaction %d (%s)", d.id, detail)
        result.interactions += 1
    for batch in retention.chunks:
        done: list[int] = []
        protected = _protected_spans(engine, batch.session_id)
        for cid, key in zip(batch.ids, batch.keys, strict=True):
            span = protected.get(cid)
            if span is not None:
                # A hold or complaint came since the plan was made, or a re-analysis moved a
                # kept interaction over this chunk (issue 18): whatever happened, it stays.
                logger.info("retention: %s kept: interaction #%d needs it now", key, span)
                continue
            try:
                store.delete(key, evidence=True)      # holds and open complaints checked above
            except ObjectLocked as e:
                until = e.retain_until.isoformat() if e.retain_until else "its legal hold is released"
                result.locked.append(f"{key}: locked ({e.mode}) until {until}")
                logger.warning("retention: %s: object locked (%s) until %s; row kept for a later run",
                               key, e.mode, until)
                continue
            except StoreError as e:
                result.errors.append(f"{key}: {e}")
                logger.error("retention: %s: object not deleted, row kept for the next run: %s", key, e)
                continue
            done.append(cid)
        if not done:
            continue
        with write_session(engine) as s:
            seams = _seams(s, done)
            seqs = [q for q, c in zip(batch.seqs, batch.ids, strict=True) if c in done]
            _bury(s, batch.session_id, seqs, now=retention.now_s)
            s.execute(delete(Chunk).where(Chunk.id.in_(done)))
            s.execute(delete(ChunkClaim).where(ChunkClaim.session_id == batch.session_id, ChunkClaim.seq.in_(seqs)))
            detail = (f"到期删除：窗口 {batch.site}/{batch.counter} 录音会话 {batch.session_id} 的 {len(done)} 段录音"
                      f"（第 {_ranges(seqs)} 段）；校验链从 {batch.last_chain_sha256} 接续"
                      + (f"（另从 {'、'.join(seams)} 接续）" if seams else ""))
            _audit(s, f"chunks:{batch.session_id}", detail)
            left = s.scalar(select(func.count()).select_from(Chunk).where(Chunk.session_id == batch.session_id))
            inters = s.scalar(select(func.count()).select_from(Interaction)
                              .where(Interaction.session_id == batch.session_id))
            if not left and not inters:
                s.execute(delete(Job).where(Job.key == plan_key(batch.session_id)))
                s.execute(delete(RecordingSession).where(RecordingSession.id == batch.session_id))
                result.sessions += 1
        logger.info("retention: deleted %s", detail)
        result.chunks += len(done)
    with write_session(engine) as s:
        s.execute(delete(ChunkTombstone).where(ChunkTombstone.deleted_s < retention.now_s - TOMBSTONE_KEEP_S))
    return result


def _bury(s: Session, session_id: str, seqs: list[int], *, now: float) -> None:
    """Keep a tombstone of each chunk about to be deleted: the hash of its samples, its counter
    and when it was recorded (no audio, no text), so the same audio sent again is a replay."""
    rows = s.execute(select(ChunkClaim.pcm_sha256, Chunk.counter_id, Chunk.wall_start_s)
                     .join(Chunk, (Chunk.session_id == ChunkClaim.session_id) & (Chunk.seq == ChunkClaim.seq))
                     .where(ChunkClaim.session_id == session_id, ChunkClaim.seq.in_(seqs),
                            ChunkClaim.pcm_sha256.is_not(None))).all()
    fresh = {pcm: (counter_id, wall) for pcm, counter_id, wall in rows}
    if not fresh:
        return
    known = set(s.scalars(select(ChunkTombstone.pcm_sha256).where(ChunkTombstone.pcm_sha256.in_(fresh))))
    for pcm, (counter_id, wall) in fresh.items():
        if pcm not in known:
            s.add(ChunkTombstone(pcm_sha256=pcm, counter_id=counter_id, wall_start_s=wall, deleted_s=now))


def _seams(s: Session, deleted: list[int]) -> list[str]:
    """Chain hashes of deleted chunks (``deleted``, rows still there) whose next chunk in the
    counter's chain stays: where :func:`services.integrity.verify_day` finds the chain going on
    (the chain follows arrival, so a backlog's chunks may sit between others')."""
    gone = set(deleted)
    out: list[str] = []
    for cid, counter_id, chain in s.execute(select(Chunk.id, Chunk.counter_id, Chunk.chain_sha256)
                                            .where(Chunk.id.in_(deleted)).order_by(Chunk.id)):
        nxt = s.scalar(select(func.min(Chunk.id)).where(Chunk.counter_id == counter_id, Chunk.id > cid))
        if nxt is not None and nxt not in gone and chain:
            out.append(chain)
    return out


def _protected_spans(engine: Engine, session_id: str) -> dict[int, int]:
    """Chunks of ``session_id`` that an interaction under hold or an open complaint needs now:
    chunk id -> that interaction's id (checked again just before deleting)."""
    with read_session(engine) as s:
        kept = s.execute(select(Interaction.id, Interaction.start_sample, Interaction.end_sample).where(
            Interaction.session_id == session_id, or_(Interaction.hold, _open_complaint()))).all()
        if not kept:
            return {}
        out: dict[int, int] = {}
        for cid, a, n in s.execute(select(Chunk.id, Chunk.start_sample, Chunk.samples)
                                   .where(Chunk.session_id == session_id)):
            hit = next((iid for iid, x, y in kept if a < y and a + n > x), None)
            if hit is not None:
                out[cid] = hit
        return out


def _ranges(seqs: list[int]) -> str:
    out, start = [], None
    for i, q in enumerate(seqs):
        if start is None:
            start = q
        if i + 1 == len(seqs) or seqs[i + 1] != q + 1:
            out.append(f"{start}-{q}" if q != start else f"{q}")
            start = None
    return ",".join(out)


def describe(retention: RetentionPlan) -> Iterator[str]:
    """Lines saying what ``retention`` deletes and keeps."""
    for d in retention.interactions:
        yield (f"delete interaction #{d.id} {d.site}/{d.counter} start {d.wall_start_s:.0f} "
               f"({d.segments} segments, {d.flags} flags)")
    for c in retention.chunks:
        yield f"delete {len(c.ids)} chunk(s) {c.site}/{c.counter} session {c.session_id} seq {_ranges(list(c.seqs))}"
    for k in retention.kept:
        yield f"keep interaction #{k.interaction_id} {k.site}: {k.reason}"


def set_hold(engine: Engine, interaction_id: int, *, hold: bool, reason: str = "", actor: str) -> None:
    """Put an interaction under legal hold (``hold``) or release it; audited.

    Raises:
        HoldError: no such interaction, or a hold without a reason.
    """
    if hold and not reason.strip():
        raise HoldError(interaction_id, "a hold needs a reason")
    with write_session(engine) as s:
        inter = s.get(Interaction, interaction_id)
        if inter is None:
            raise HoldError(interaction_id, "not found")
        inter.hold, inter.hold_reason, inter.hold_s = hold, (reason if hold else ""), (now_s() if hold else None)
        audit.append(s, user_id=None, user_name=actor, action="interaction.hold" if hold else "interaction.release",
                     target=f"interaction:{interaction_id}", detail=reason)
    logger.info("retention: interaction %d %s by %s", interaction_id, "held" if hold else "released", actor)
