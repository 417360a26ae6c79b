"""The transcription worker: cuts stored chunks into interactions and analyses them.

Two kinds of job, both in the database queue (:mod:`storage.jobs`):

* ``plan`` (one per recording session): decode the session's chunks not seen yet, run the
  session's VAD stream over them (:mod:`transcribe.planning`), and close every interaction
  followed by a long silence, a queue call or rating press, or the end of the session; queue
  an ``analyze`` job for each and move the session's cursor and VAD state, all in one
  transaction.
* ``analyze`` (one per interaction, keyed by session and first sample): decode its audio,
  run the analyzer, and update the interaction in place (:mod:`transcribe.identity`: its id,
  hold, complaints and reviewed findings stay) in the same transaction that marks the job
  done. Re-running a job updates, never duplicates; a job whose lease was
  taken over by another worker commits nothing. A worker takes up to
  ``WorkerOptions.batch_interactions`` queued analyze jobs at once and transcribes them in one
  batched pass (:meth:`transcribe.asr.Transcriber.transcribe_many`); each is still stored,
  failed or retried on its own.

A worker also re-queues interactions judged by another rulebook version, and closes the last
interaction of sessions whose agent went away without saying so.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from domain.errors import NotFound
from domain.flac import CodecError, decode_flac
from domain.vocab import CALL_SLACK_S
from storage import queries
from storage.engine import DB_UNAVAILABLE, read_session, write_session
from storage.jobs import Claimed, JobQueue, analyze_key, enqueue, plan_key
from storage.objects import ObjectStore
from storage.store_errors import StoreError, StoreUnavailable
from storage.tables import Chunk, Counter, Interaction, RecordingSession, Segment, Shift, Site, TranscriptCorrection, now_s
from transcribe import metrics
from transcribe.analyze import Analysis, Analyzer
from transcribe.asr import AsrSegment
from transcribe.audio import Audio
from transcribe.identity import find_interaction, merge_flags
from transcribe.planning import PlanOptions, PlanState, close_interactions
from transcribe.priority import yield_cpu
from transcribe.soundalike import sound_key
from transcribe.stored import as_flag, reapply

logger = logging.getLogger(__name__)

DB_RETRY_MAX_S = 30.0
T = TypeVar("T")


class MissingAudio(Exception):
    """Chunks needed for an interaction are missing or damaged in the store."""


def _recording_session(s: Session, sid: str) -> RecordingSession:
    """The catalog row of recording session ``sid``.

    Raises:
        NotFound: no such session (retention removed it after the job was queued).
    """
    sess = s.get(RecordingSession, sid)
    if sess is None:
        raise NotFound(f"recording session {sid}", "not in the catalog (removed by retention?)")
    return sess


@dataclass(frozen=True)
class WorkerOptions:
    lease_s: float = 120.0
    poll_s: float = 1.0
    split_silence_s: float = 8.0
    pad_s: float = 0.5
    max_interaction_s: float = 900.0
    #: A session with no new chunk for this long is treated as ended.
    session_idle_end_s: float = 120.0
    sweep_every_s: float = 30.0
    #: Analyze jobs transcribed together (those already queued, never waited for); 1: one by one.
    batch_interactions: int = 8
    #: Niceness the worker runs at (:mod:`transcribe.priority`): an API on the same box first; 0: as started.
    nice: int = 0


class Worker:
    def __init__(self, *, engine: Engine, store: ObjectStore, analyzer: Analyzer, name: str | None = None,
                 options: WorkerOptions = WorkerOptions(), on_sweep: Callable[[], object] | None = None) -> None:
        """``on_sweep``: also run at every sweep (the entry point passes the health-alarm
        evaluation, so a deployment without `counterwatch up` still raises alarms)."""
        self.engine = engine
        self.store = store
        self.analyzer = analyzer
        self.on_sweep = on_sweep
        self.queue = JobQueue(engine)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 10000}"
        self.opts = options
        self._last_sweep = 0.0

    # -- the loop --------------------------------------------------------------------------

    def work(self, stop: threading.Event, *, burst: bool = False, max_jobs: int | None = None,
             max_idle_s: float | None = None) -> int:
        """Run jobs until ``stop`` is set; ``burst``: until the queue is empty. Returns the
        number of jobs done. A job (or batch of analyze jobs) in progress is finished before the
        loop returns."""
        done = 0
        idle_since = time.monotonic()
        db_failures = 0
        swept = False   # every call sweeps first (a new rulebook re-queues at once)
        whole = threading.current_thread() is threading.main_thread()
        yield_cpu(self.opts.nice, whole_process=whole, also=getattr(self.analyzer.transcriber, "threads", ()))
        logger.info("worker %s: started (rulebook %s, niceness %d for %s)", self.name, self.analyzer.rulebook.version,
                    self.opts.nice, "the process" if whole else "its thread")
        try:
            while not stop.is_set():
                try:
                    if not swept or time.monotonic() - self._last_sweep > self.opts.sweep_every_s:
                        self.sweep()
                        swept = True
                    job = self.queue.claim(self.name, lease_s=self.opts.lease_s)
                    jobs = [] if job is None else [job] if job.kind != "analyze" else self._claim_more(job, max_jobs, done)
                except DB_UNAVAILABLE as e:
                    # A database restart must not end the worker (issue 6, soak): back off and
                    # reconnect; the pool's pre-ping replaces the broken connections.
                    db_failures += 1
                    delay = min(DB_RETRY_MAX_S, self.opts.poll_s * 2 ** min(db_failures - 1, 6))
                    logger.warning("worker %s: database unavailable (%s); retry %d in %.1f s", self.name,
                                   e.__class__.__name__, db_failures, delay)
                    stop.wait(delay)
                    continue
                if db_failures:
                    logger.info("worker %s: database reachable again after %d retries", self.name, db_failures)
                    db_failures = 0
                if not jobs:
                    if burst or (max_idle_s is not None and time.monotonic() - idle_since > max_idle_s):
                        break
                    stop.wait(self.opts.poll_s)
                    continue
                try:
                    self.run_jobs(jobs)
                except DB_UNAVAILABLE as e:
                    # The jobs' outcome could not be written: their leases run out and they are
                    # claimed again (their results, if any, were not committed).
                    logger.warning("worker %s: %s: database unavailable (%s); the job will be retried",
                                   self.name, ", ".join(j.key for j in jobs), e.__class__.__name__)
                    continue
                done += len(jobs)
                idle_since = time.monotonic()
                if max_jobs is not None and done >= max_jobs:
                    break
        finally:
            logger.info("worker %s: stopped after %d jobs", self.name, done)
        return done

    def _claim_more(self, first: Claimed, max_jobs: int | None, done: int) -> list[Claimed]:
        """``first`` and more queued analyze jobs, to be transcribed together."""
        limit = self.opts.batch_interactions if max_jobs is None else min(self.opts.batch_interactions,
                                                                          max_jobs - done)
        jobs = [first]
        while len(jobs) < limit:
            more = self.queue.claim(self.name, lease_s=self.opts.lease_s, kinds=("analyze",))
            if more is None:
                break
            jobs.append(more)
        return jobs

    def run_job(self, job: Claimed) -> None:
        self.run_jobs([job])

    def run_jobs(self, jobs: list[Claimed]) -> None:
        """Run one plan job, or a batch of analyze jobs, keeping their leases alive meanwhile."""
        keep_alive = threading.Event()
        t = threading.Thread(target=self._extend_leases, args=(jobs, keep_alive), daemon=True)
        t.start()
        try:
            if len(jobs) == 1 and jobs[0].kind == "plan":
                job = jobs[0]
                t0 = time.perf_counter()
                if self._guarded(job, self._plan, job)[0]:
                    self._done(job, time.perf_counter() - t0)
            elif all(j.kind == "analyze" for j in jobs):
                self._analyze_batch(jobs)
            else:
                for job in jobs:
                    self._guarded(job, self._unknown, job)
        finally:
            keep_alive.set()
            t.join()

    @staticmethod
    def _unknown(job: Claimed) -> None:
        raise ValueError(f"unknown job kind {job.kind}")

    def _done(self, job: Claimed, seconds: float) -> None:
        logger.info("worker %s: %s done in %.1f s", self.name, job.key, seconds)
        metrics.JOBS.labels(job.kind, "done").inc()

    def _guarded(self, job: Claimed, step: Callable[..., T], *args: object) -> tuple[bool, T | None]:
        """``step(*args)`` for ``job``: (True, its result); on failure the job is given back (to
        be retried or failed for good) and (False, None) returned. A database outage is
        re-raised (nothing can be written)."""
        try:
            return True, step(*args)
        except StoreUnavailable as e:
            # An outage is not the job's fault: it must not use up the job's attempts. It is
            # counted apart, with a growing delay, and fails the job once it has lasted a day.
            failure = self.queue.fail(job.id, self.name, str(e), temporary=True)
            if failure is None:
                logger.warning("worker %s: %s: store unavailable (%s); lease lost meanwhile", self.name, job.key, e)
                metrics.JOBS.labels(job.kind, "retry").inc()
            elif failure.gave_up:
                logger.error("worker %s: %s: store unavailable (%s); failed for good after %d temporary "
                             "failures", self.name, job.key, e, failure.temp_failures)
                metrics.JOBS.labels(job.kind, "failed").inc()
            else:
                logger.warning("worker %s: %s: store unavailable (%s); temporary failure %d, retry in %.0f s",
                               self.name, job.key, e, failure.temp_failures, failure.retry_in_s)
                metrics.JOBS.labels(job.kind, "retry").inc()
        except DB_UNAVAILABLE:
            metrics.JOBS.labels(job.kind, "retry").inc()
            raise
        except Exception as e:  # a job must never kill the worker; the error is kept on the job
            logger.error("worker %s: %s failed (attempt %d): %s", self.name, job.key, job.attempts, e)
            self.queue.fail(job.id, self.name, "".join(traceback.format_exception(e)), retry_in_s=10.0 * job.attempts)
            metrics.JOBS.labels(job.kind, "failed").inc()
        return False, None

    def _extend_leases(self, jobs: list[Claimed], done: threading.Event) -> None:
        mine = list(jobs)
        while mine and not done.wait(self.opts.lease_s / 3):
            for job in list(mine):
                try:
                    extended = self.queue.extend(job.id, self.name, lease_s=self.opts.lease_s)
                except DB_UNAVAILABLE as e:
                    # Keep trying: the job's commit checks the lease owner, so nothing is lost
                    # if another worker takes the job over meanwhile.
                    logger.warning("worker %s: cannot extend the lease on %s: database unavailable (%s)",
                                   self.name, job.key, e.__class__.__name__)
                    continue
                if not extended:
                    logger.warning("worker %s: lost the lease on %s", self.name, job.key)
                    mine.remove(job)

    def sweep(self) -> None:
        """Queue planning for sessions gone quiet, and re-analysis after a rulebook change."""
        self._last_sweep = time.monotonic()
        version = self.analyzer.rulebook.version
        idle_before = now_s() - self.opts.session_idle_end_s
        with write_session(self.engine) as s:
            ends = (select(Chunk.session_id, func.max(Chunk.start_sample + Chunk.samples).label("end"),
                           func.max(Chunk.stored_s).label("last")).group_by(Chunk.session_id).subquery())
            stale = s.execute(select(RecordingSession.id).join(ends, ends.c.session_id == RecordingSession.id).where(
                RecordingSession.ended_s.is_(None), ends.c.last < idle_before,
                RecordingSession.planned_until_sample < ends.c.end)).scalars().all()
            for sid in stale:
                enqueue(s, kind="plan", key=plan_key(sid), payload={"session": sid}, requeue_done=True)
            outdated = s.execute(select(Interaction.session_id, Interaction.start_sample, Interaction.end_sample)
                                 .where(Interaction.rulebook_version != version)).all()
            for sid, a, b in outdated:
                enqueue(s, kind="analyze", key=analyze_key(sid, a),
                        payload={"session": sid, "start": a, "end": b}, requeue_done=True)
        if outdated:
            logger.info("worker %s: %d interactions queued for rulebook %s", self.name, len(outdated), version)
        if self.on_sweep is not None:
            self.on_sweep()

    def _boundaries(self, counter_id: int, start_s: float, end_s: float) -> list[float]:
        with read_session(self.engine) as s:
            return queries.boundaries(s, counter_id, start_s, end_s)

    # -- audio -----------------------------------------------------------------------------

    def load(self, session_id: str, start: int, end: int) -> np.ndarray:
        """Samples [start, end) of a session as float32 (channels, frames).

        Raises:
            MissingAudio: a chunk in the range is missing, out of order or fails its checksum.
        """
        parts: list[np.ndarray] = []
        expect: int | None = None   # where the next chunk must start; None until one is read
        with read_session(self.engine) as s:
            rows = list(queries.chunks_of(s, session_id, from_sample=start, to_sample=end))
        for c in rows:
            if expect is not None and c.start_sample != expect:
                raise MissingAudio(f"session {session_id}: gap before chunk {c.seq} at sample {expect}")
            try:
                pcm = decode_flac(self.store.get_bytes(c.key, expected_sha256=c.sha256))
            except StoreUnavailable:
                raise
            except (StoreError, CodecError) as e:
                raise MissingAudio(f"chunk {c.key}: {e}") from e
            if pcm.shape[0] != c.samples:
                raise MissingAudio(f"chunk {c.key}: {pcm.shape[0]} samples, catalog says {c.samples}")
            a, b = max(start - c.start_sample, 0), min(end - c.start_sample, c.samples)
            parts.append(pcm[a:b])
            expect = c.start_sample + c.samples
        if not parts or expect is None or rows[0].start_sample > start or expect < end:
            raise MissingAudio(f"session {session_id}: samples {start}-{end} not all stored")
        return (np.concatenate(parts).T.astype(np.float32) / 32768.0)

    # -- plan ------------------------------------------------------------------------------

    def _plan(self, job: Claimed) -> None:
        sid = job.payload["session"]
        with read_session(self.engine) as s:
            sess = _recording_session(s, sid)
            rate, cursor = sess.sample_rate_hz, sess.planned_until_sample
            ended = sess.ended_s is not None
            counter_id, wall0 = sess.counter_id, sess.wall_start_s
            # Sessions planned before the VAD state was kept start a stream at their cursor.
            state = PlanState.from_json(sess.plan_state) if sess.plan_state else PlanState.start_at(cursor)
            # From the chunk holding the last sample seen: only chunks not seen yet are read.
            chunks = list(queries.chunks_of(s, sid, from_sample=max(state.fed - 1, 0)))
            last_stored = s.scalar(select(Chunk.stored_s).where(Chunk.session_id == sid)
                                   .order_by(Chunk.seq.desc()).limit(1)) or 0.0
        avail, last_seq, gap_to = state.fed, None, None
        for c in chunks:               # only the contiguous run from what was seen
            if c.start_sample > avail:
                if last_seq is not None and c.seq == last_seq + 1:
                    # Numbering goes on but samples jump: the agent dropped audio (full spool).
                    # Close what came before and carry on after the hole.
                    gap_to = c.start_sample
                    logger.warning("worker %s: session %s: %.1f s of audio missing at %.1f s (dropped by the agent)",
                                   self.name, sid, (gap_to - avail) / rate, avail / rate)
                break
            avail, last_seq = max(avail, c.start_sample + c.samples), c.seq
        gone = bool(not ended and last_stored and now_s() - last_stored > self.opts.session_idle_end_s)
        if avail > state.fed:
            audio = self.load(sid, state.fed, avail)
            state.feed(audio.mean(axis=0) if audio.shape[0] > 1 else audio[0], sample_rate_hz=rate)
        bounds = sorted(int((t - wall0) * rate) for t in
                        self._boundaries(counter_id, wall0 + cursor / rate, wall0 + avail / rate))
        opts = PlanOptions(gap=int(self.opts.split_silence_s * rate), pad=int(self.opts.pad_s * rate),
                           max_len=int(self.opts.max_interaction_s * rate))
        closed, new_cursor = close_interactions(state, cursor=cursor, boundaries=bounds,
                                                tail_closed=ended or gone or gap_to is not None, opts=opts)
        if gap_to is not None:          # a new stream after the hole
            new_cursor, state = gap_to, PlanState.start_at(gap_to)
        with write_session(self.engine) as s:
            sess = _recording_session(s, sid)
            sess.planned_until_sample, sess.plan_state = new_cursor, state.to_json()
            for a, b in closed:
                enqueue(s, kind="analyze", key=analyze_key(sid, a), payload={"session": sid, "start": a, "end": b},
                        requeue_done=True)
            if not JobQueue.finish_in(s, job.id, self.name):
                s.rollback()
                return
            if gap_to is not None:      # go on after the hole
                enqueue(s, kind="plan", key=plan_key(sid), payload={"session": sid}, requeue_done=True)
        if closed:
            logger.info("worker %s: session %s: %d interaction(s) closed up to %.1f s", self.name, sid,
                        len(closed), new_cursor / rate)

    # -- analyze ---------------------------------------------------------------------------

    def _analyze_batch(self, jobs: list[Claimed]) -> None:
        """Read every job's audio, transcribe them all in one batched pass, then analyse and
        store each; a job whose audio cannot be read fails alone."""
        ready: list[tuple[Claimed, _Interaction]] = []
        for job in jobs:
            t0 = time.perf_counter()
            ok, got = self._guarded(job, self._prepare, job)
            if ok and got is not None:
                got.own_s += time.perf_counter() - t0
                ready.append((job, got))
        if not ready:
            return
        t0 = time.perf_counter()
        ok, transcripts = self._guarded(ready[0][0], self.analyzer.transcriber.transcribe_many,
                                        [p.audio.mono() for _, p in ready])
        if not ok or transcripts is None:
            for job, _ in ready[1:]:    # the first one was given back by _guarded
                self.queue.fail(job.id, self.name, "transcription of its batch failed (see the batch's first job)",
                                retry_in_s=10.0 * job.attempts)
            return
        shared_s = time.perf_counter() - t0
        total_audio_s = sum(p.audio.duration_s for _, p in ready) or 1.0
        for (job, p), segments in zip(ready, transcripts, strict=True):
            t0 = time.perf_counter()
            ok, stored = self._guarded(job, self._store, job, p, segments)
            if ok:
                p.own_s += time.perf_counter() - t0
                took_s = p.own_s + shared_s * p.audio.duration_s / total_audio_s
                if stored:
                    metrics.observe_analysis(audio_s=p.audio.duration_s, processing_s=took_s)
                self._done(job, took_s)

    def _prepare(self, job: Claimed) -> _Interaction:
        sid, start, end = job.payload["session"], int(job.payload["start"]), int(job.payload["end"])
        with read_session(self.engine) as s:
            sess = _recording_session(s, sid)
            counter = s.get(Counter, sess.counter_id)
            assert counter is not None  # sessions.counter_id is a foreign key to counters
            site = s.get(Site, counter.site_id)
            assert site is not None  # counters.site_id is a foreign key to sites
            rate, wall0, channels, counter_id = sess.sample_rate_hz, sess.wall_start_s, counter.channels, counter.id
            name = f"{site.name}/{counter.name}/{sid}@{start / rate:.1f}s"
        samples = self.load(sid, start, end)
        wall_start = wall0 + start / rate
        bounds = [t - wall_start for t in self._boundaries(counter_id, wall_start, wall0 + end / rate)]
        with read_session(self.engine) as s:
            calls = [(c.at_s - wall_start, c.ticket, c.waited_s)
                     for c in queries.queue_calls(s, counter_id, wall_start - CALL_SLACK_S, wall0 + end / rate)]
        return _Interaction(sid=sid, start=start, end=end, counter_id=counter_id, channels=channels, name=name,
                            wall_start_s=wall_start, wall_end_s=wall0 + end / rate, audio=Audio(samples, rate),
                            boundaries_s=[b for b in bounds if b > 0], calls=calls)

    def _store(self, job: Claimed, p: _Interaction, segments: list[AsrSegment]) -> bool:
        """Analyse and store; False when the lease was lost meanwhile (nothing stored)."""
        result = self.analyzer.analyze_audio(p.audio, name=p.name, channels=p.channels,
                                             boundaries_s=p.boundaries_s, asr_segments=segments, calls=p.calls)
        sid, start, counter_id, wall_start = p.sid, p.start, p.counter_id, p.wall_start_s
        with write_session(self.engine) as s:
            staff_id = s.scalar(select(Shift.staff_id).where(
                Shift.counter_id == counter_id, Shift.start_s <= wall_start,
                (Shift.end_s.is_(None)) | (Shift.end_s > wall_start)).order_by(Shift.start_s.desc()).limit(1))
            # Updated in place, never re-created: holds, complaints, reviews, notes and audit
            # rows name its id (issue 18).
            inter = find_interaction(s, session_id=sid, start_sample=start, end_sample=p.end)
            shift_s = 0.0
            if inter is None:
                inter = Interaction(counter_id=counter_id, session_id=sid, start_sample=start, end_sample=p.end)
                s.add(inter)
            else:
                shift_s = (start - inter.start_sample) / p.audio.sample_rate_hz
            inter.start_sample, inter.end_sample = start, p.end
            inter.wall_start_s, inter.wall_end_s, inter.staff_id = wall_start, p.wall_end_s, staff_id
            inter.rulebook_version, inter.analyzed_s = result.rulebook_version, now_s()
            inter.text = "\n".join(seg.text for seg in result.segments)
            for col, value in _assessment_fields(result).items():
                setattr(inter, col, value)
            inter.segments = [Segment(start_s=x.start_s, end_s=x.end_s, speaker=x.speaker,
                                      speaker_confidence=x.speaker_confidence, text=x.text, sound=sound_key(x.text))
                              for x in result.segments]
            merge_flags(inter, [as_flag(f) for f in result.flags], rulebook_version=result.rulebook_version,
                        at_s=now_s(), shift_s=shift_s)
            # A reviewer's corrections of its transcript keep their effect (issue 20 item 5).
            corrections = list(s.scalars(select(TranscriptCorrection).where(
                TranscriptCorrection.interaction_id == inter.id, TranscriptCorrection.current))) if inter.id else []
            if corrections:
                s.flush()       # the new segments' ids
                reapply(inter, corrections, self.analyzer.judge, mono=result.channels == "mono", at_s=now_s())
            if not JobQueue.finish_in(s, job.id, self.name):
                logger.warning("worker %s: %s: lease lost; discarding this result", self.name, job.key)
                s.rollback()
                return False
        logger.info("worker %s: %s: %d segments, %d flags", self.name, p.name, len(result.segments), len(result.flags))
        return True


def _assessment_fields(result: Analysis) -> dict:
    """The interaction columns of the not-assessable verdict and the audio rules' input (issue 14)."""
    verdict = result.assessment()
    return {"assessable": verdict.assessable, "assessable_reason": verdict.reason, "signals": verdict.signals,
            "turns": [t.to_list() for t in result.turns or ()]}

@dataclass
class _Interaction:
    """An analyze job's interaction, read and decoded, waiting for its batch's transcription."""

    sid: str
    start: int
    end: int
    counter_id: int
    channels: str
    name: str
    wall_start_s: float
    wall_end_s: float
    audio: Audio
    boundaries_s: list[float]
    #: The queue calls around it (seconds from its start, ticket, wait): facts of rules with ``when``.
    calls: list[tuple[float, str | None, float | None]] = field(default_factory=list)
    own_s: float = 0.0      # time spent on this job alone (reading, analysing, storing)
