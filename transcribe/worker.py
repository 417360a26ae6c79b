"""The transcription worker: cuts stored chunks into interactions and analyses them.

Two kinds of job, both in the database queue (:mod:`storage.jobs`):

* ``plan`` (one per recording session): decode the session's new chunks, find speech with
  VAD, and close every interaction followed by a long silence, a queue call or rating press,
  or the end of the session; queue an ``analyze`` job for each and move the session's cursor,
  all in one transaction.
* ``analyze`` (one per interaction, keyed by session and first sample): decode its audio,
  run the analyzer, and replace the interaction's segments and flags in the same transaction
  that marks the job done. Re-running a job replaces, never duplicates; a job whose lease was
  taken over by another worker commits nothing.

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
from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from domain.errors import NotFound
from domain.flac import CodecError, decode_flac
from storage import queries
from storage.engine import DB_UNAVAILABLE, read_session, write_session
from storage.jobs import Claimed, JobQueue, analyze_key, enqueue, plan_key
from storage.objects import ObjectStore
from storage.store_errors import StoreError, StoreUnavailable
from storage.tables import Chunk, Counter, Flag, Interaction, RecordingSession, Segment, Shift, Site, now_s
from transcribe import metrics
from transcribe.analyze import Analysis, Analyzer
from transcribe.audio import Audio
from transcribe.interactions import group_spans
from transcribe.soundalike import sound_key
from transcribe.speakers import speech_regions

logger = logging.getLogger(__name__)

DB_RETRY_MAX_S = 30.0


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
        number of jobs done. A job in progress is finished before the loop returns."""
        done = 0
        idle_since = time.monotonic()
        db_failures = 0
        swept = False   # every call sweeps first (a new rulebook re-queues at once)
        logger.info("worker %s: started (rulebook %s)", self.name, self.analyzer.rulebook.version)
        try:
            while not stop.is_set():
                try:
                    if not swept or time.monotonic() - self._last_sweep > self.opts.sweep_every_s:
                        self.sweep()
                        swept = True
                    job = self.queue.claim(self.name, lease_s=self.opts.lease_s)
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
                if job is None:
                    if burst or (max_idle_s is not None and time.monotonic() - idle_since > max_idle_s):
                        break
                    stop.wait(self.opts.poll_s)
                    continue
                try:
                    self.run_job(job)
                except DB_UNAVAILABLE as e:
                    # The job's outcome could not be written: its lease runs out and it is
                    # claimed again (its result, if any, was not committed).
                    logger.warning("worker %s: %s: database unavailable (%s); the job will be retried",
                                   self.name, job.key, e.__class__.__name__)
                    continue
                done += 1
                idle_since = time.monotonic()
                if max_jobs is not None and done >= max_jobs:
                    break
        finally:
            logger.info("worker %s: stopped after %d jobs", self.name, done)
        return done

    def run_job(self, job: Claimed) -> None:
        keep_alive = threading.Event()
        t = threading.Thread(target=self._extend_lease, args=(job, keep_alive), daemon=True)
        t.start()
        t0 = time.perf_counter()
        try:
            if job.kind == "plan":
                self._plan(job)
            elif job.kind == "analyze":
                self._analyze(job)
            else:
                raise ValueError(f"unknown job kind {job.kind}")
            logger.info("worker %s: %s done in %.1f s", self.name, job.key, time.perf_counter() - t0)
            metrics.JOBS.labels(job.kind, "done").inc()
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
        finally:
            keep_alive.set()
            t.join()

    def _extend_lease(self, job: Claimed, done: threading.Event) -> None:
        while not done.wait(self.opts.lease_s / 3):
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
                return

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
            chunks = list(queries.chunks_of(s, sid, from_sample=cursor))
            last_stored = max((c.stored_s for c in chunks), default=0.0)
        avail, last_seq, gap_to = cursor, None, None
        for c in chunks:               # only the contiguous run from the cursor
            if c.start_sample > avail:
                if last_seq is not None and c.seq == last_seq + 1:
                    # Numbering goes on but samples jump: the agent dropped audio (full spool).
                    # Close what came before and carry on after the hole.
                    gap_to = c.start_sample
                    logger.warning("worker %s: session %s: %.1f s of audio missing at %.1f s (dropped by the agent)",
                                   self.name, sid, (gap_to - avail) / rate, avail / rate)
                break
            avail, last_seq = c.start_sample + c.samples, c.seq
        gone = not ended and last_stored and now_s() - last_stored > self.opts.session_idle_end_s
        closed: list[tuple[int, int]] = []
        new_cursor = cursor
        if avail > cursor:
            audio = self.load(sid, cursor, avail)
            mono = audio.mean(axis=0) if audio.shape[0] > 1 else audio[0]
            regions = [(cursor + int(a * rate), cursor + int(b * rate)) for a, b in speech_regions(mono, rate)]
            bounds = sorted(int((t - wall0) * rate) for t in
                            self._boundaries(counter_id, wall0 + cursor / rate, wall0 + avail / rate))
            groups = group_spans(regions, boundaries=bounds, gap=int(self.opts.split_silence_s * rate),
                                 max_len=int(self.opts.max_interaction_s * rate))
            tail_closed = ended or gone or gap_to is not None
            for k, (a, b) in enumerate(groups):
                last = k == len(groups) - 1
                if last and not tail_closed and avail - b < self.opts.split_silence_s * rate \
                        and b - a < self.opts.max_interaction_s * rate:
                    break
                pad = int(self.opts.pad_s * rate)
                closed.append((max(cursor, a - pad), min(avail, b + pad)))
            if closed:
                new_cursor = closed[-1][1]
            if len(closed) == len(groups):
                # Nothing open: the silence at the end needs no second look, but keep enough of
                # it that speech starting at the very end is still seen whole.
                new_cursor = max(new_cursor, avail if tail_closed else avail - int(self.opts.split_silence_s * rate))
        if gap_to is not None and new_cursor >= avail:
            new_cursor = gap_to
        with write_session(self.engine) as s:
            _recording_session(s, sid).planned_until_sample = new_cursor
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

    def _analyze(self, job: Claimed) -> None:
        sid, start, end = job.payload["session"], int(job.payload["start"]), int(job.payload["end"])
        with read_session(self.engine) as s:
            sess = _recording_session(s, sid)
            counter = s.get(Counter, sess.counter_id)
            assert counter is not None  # sessions.counter_id is a foreign key to counters
            site = s.get(Site, counter.site_id)
            assert site is not None  # counters.site_id is a foreign key to sites
            rate, wall0, channels, counter_id = sess.sample_rate_hz, sess.wall_start_s, counter.channels, counter.id
            name = f"{site.name}/{counter.name}/{sid}@{start / rate:.1f}s"
        t0 = time.perf_counter()
        samples = self.load(sid, start, end)
        wall_start = wall0 + start / rate
        bounds = [t - wall_start for t in self._boundaries(counter_id, wall_start, wall0 + end / rate)]
        result = self.analyzer.analyze_audio(Audio(samples, rate), name=name, channels=channels,
                                             boundaries_s=[b for b in bounds if b > 0])
        with write_session(self.engine) as s:
            s.execute(delete(Interaction).where(Interaction.session_id == sid, Interaction.start_sample == start))
            staff_id = s.scalar(select(Shift.staff_id).where(
                Shift.counter_id == counter_id, Shift.start_s <= wall_start,
                (Shift.end_s.is_(None)) | (Shift.end_s > wall_start)).order_by(Shift.start_s.desc()).limit(1))
            inter = Interaction(counter_id=counter_id, session_id=sid, start_sample=start, end_sample=end,
                                wall_start_s=wall_start, wall_end_s=wall0 + end / rate, staff_id=staff_id,
                                rulebook_version=result.rulebook_version, analyzed_s=now_s(),
                                text="\n".join(seg.text for seg in result.segments), **_assessment_fields(result))
            inter.segments = [Segment(start_s=x.start_s, end_s=x.end_s, speaker=x.speaker,
                                      speaker_confidence=x.speaker_confidence, text=x.text, sound=sound_key(x.text))
                              for x in result.segments]
            inter.flags = [Flag(type=f.type, rule=f.rule, phrase=f.phrase, evidence=f.evidence, start_s=f.start_s,
                                end_s=f.end_s, speaker=f.speaker, confidence=f.confidence, severity=f.severity,
                                confidence_reasons=list(f.reasons)) for f in result.flags]
            s.add(inter)
            if not JobQueue.finish_in(s, job.id, self.name):
                logger.warning("worker %s: %s: lease lost; discarding this result", self.name, job.key)
                s.rollback()
                return
        metrics.observe_analysis(audio_s=(end - start) / rate, processing_s=time.perf_counter() - t0)
        logger.info("worker %s: %s: %d segments, %d flags", self.name, name, len(result.segments), len(result.flags))


def _assessment_fields(result: Analysis) -> dict:
    """The interaction columns of the not-assessable verdict and the audio rules' input (issue 14)."""
    verdict = result.assessment()
    return {"assessable": verdict.assessable, "assessable_reason": verdict.reason, "signals": verdict.signals,
            "turns": [t.to_list() for t in result.turns or ()]}
