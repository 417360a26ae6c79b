"""A job queue in the metadata database, with leases.

A worker claims a job by leasing it for ``lease_s`` seconds and extends the lease while it
works. A worker that dies stops extending; once the lease has run out another worker claims
the job again. PostgreSQL claims with ``FOR UPDATE SKIP LOCKED`` so any number of workers on
any number of machines never take the same job; SQLite serialises claims with an immediate
write transaction (one machine).

A failed job waits out its retry in state ``retrying`` (claimable again from ``lease_until_s``),
never as ``running``, so the queue's depth tells work in hand from work waiting.

A failed attempt counts towards :data:`MAX_ATTEMPTS`. A temporary failure (the store is
unreachable or answers 5xx) does not, so an outage of the store does not fail jobs quickly;
such failures are counted apart (``temp_failures``), back off 5 s doubling to 5 minutes, and a
job still failing that way a day after the first of them (and at least
:data:`TEMPORARY_GIVE_UP_MIN_FAILURES` times) is failed for good, so a lasting server error on
one object shows as a failed job (metric and ``counterwatch status``) instead of retrying
unseen forever.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.orm import Session

from storage.engine import read_session, write_session
from storage.tables import Job, now_s

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
#: Backoff after temporary failures: TEMPORARY_BACKOFF_S doubling up to TEMPORARY_BACKOFF_MAX_S.
TEMPORARY_BACKOFF_S = 5.0
TEMPORARY_BACKOFF_MAX_S = 300.0
#: Temporary failures for this long (since the first) and at least this many times fail a job
#: for good. Both, so a job whose worker was itself away for a day is not failed on its next try.
TEMPORARY_GIVE_UP_S = 24 * 3600.0
TEMPORARY_GIVE_UP_MIN_FAILURES = 10


def temporary_retry_in_s(temp_failures: int) -> float:
    """Delay before the retry that follows temporary failure number ``temp_failures`` (1-based)."""
    return min(TEMPORARY_BACKOFF_MAX_S, TEMPORARY_BACKOFF_S * 2 ** min(max(temp_failures, 1) - 1, 20))


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    key: str
    payload: dict
    attempts: int


@dataclass(frozen=True)
class Failure:
    """What :meth:`JobQueue.fail` did: ``gave_up``: the job is now ``failed`` for good;
    otherwise it is claimable again in ``retry_in_s``. ``temp_failures``: the job's count of
    temporary failures in a row so far."""
    gave_up: bool
    retry_in_s: float
    temp_failures: int


def plan_key(session_id: str) -> str:
    """The key of a recording session's planning job (one per session)."""
    return f"plan:{session_id}"


def analyze_key(session_id: str, start_sample: int) -> str:
    """The key of an interaction's analysis job: its session and first sample."""
    return f"analyze:{session_id}:{start_sample}"


def enqueue(session: Session, *, kind: str, key: str, payload: dict, requeue_done: bool = False) -> bool:
    """Add a job unless one with ``key`` exists; with ``requeue_done`` a finished job with that
    key is queued again, and a running one is marked to run once more when it finishes (so a
    trigger arriving mid-run is never lost). Returns True if a job was (re)queued.
    Runs inside the caller's transaction, so a job appears together with what caused it."""
    # Lock the row (PostgreSQL) so a worker finishing this job concurrently sees our mark.
    job = session.scalar(select(Job).where(Job.key == key).with_for_update())
    if job is None:
        session.add(Job(kind=kind, key=key, payload=payload))
        session.flush()
        return True
    if requeue_done and job.state in ("done", "failed"):
        job.state, job.attempts, job.error, job.payload = "queued", 0, "", payload
        job.temp_failures, job.temp_failing_since_s = 0, None
        job.queued_s = now_s()
        job.lease_owner = job.lease_until_s = None
        return True
    if requeue_done and job.state == "running":
        job.rerun, job.payload = True, payload
        return True
    if requeue_done and job.state == "retrying":
        job.payload = payload     # it runs again anyway, with what is wanted now
        return True
    return False


class JobQueue:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._skip_locked = engine.dialect.name == "postgresql"

    def claim(self, owner: str, *, lease_s: float, kinds: Iterable[str] | None = None) -> Claimed | None:
        """Lease the oldest claimable job: queued, retrying past its wait, or running with an
        expired lease (its worker died)."""
        now = now_s()
        with write_session(self.engine) as s:
            q = (select(Job).where(or_(Job.state == "queued",
                                       Job.state.in_(("running", "retrying")) & (Job.lease_until_s < now)))
                 .order_by(Job.id).limit(1))
            if kinds:
                q = q.where(Job.kind.in_(list(kinds)))
            if self._skip_locked:
                q = q.with_for_update(skip_locked=True)
            job = s.scalar(q)
            if job is None:
                return None
            if job.state == "running":
                logger.warning("jobs: %s %s: lease of %s expired, taken over by %s", job.kind, job.key,
                               job.lease_owner, owner)
            if job.attempts >= MAX_ATTEMPTS:
                job.state, job.finished_s = "failed", now
                job.error = (job.error + "\n" if job.error else "") + f"gave up after {job.attempts} attempts"
                logger.error("jobs: %s %s failed for good after %d attempts", job.kind, job.key, job.attempts)
                return None
            job.state, job.lease_owner, job.lease_until_s = "running", owner, now + lease_s
            job.attempts += 1
            return Claimed(job.id, job.kind, job.key, dict(job.payload), job.attempts)

    def extend(self, job_id: int, owner: str, *, lease_s: float) -> bool:
        """Push the lease forward; False if the job is no longer ours."""
        with write_session(self.engine) as s:
            # Session.execute() is typed as returning a Result; for an UPDATE it is a CursorResult (rowcount).
            res = cast(CursorResult[Any], s.execute(
                update(Job).where(Job.id == job_id, Job.lease_owner == owner, Job.state == "running")
                .values(lease_until_s=now_s() + lease_s)))
            return res.rowcount == 1

    @staticmethod
    def finish_in(session: Session, job_id: int, owner: str) -> bool:
        """Mark the job done inside the caller's transaction, only if we still hold it.

        The caller commits its results in the same transaction only when this returns True,
        so a job whose lease was taken over is finished exactly once, by one worker."""
        # Session.execute() is typed as returning a Result; for an UPDATE it is a CursorResult (rowcount).
        res = cast(CursorResult[Any], session.execute(
            update(Job).where(Job.id == job_id, Job.lease_owner == owner, Job.state == "running")
            .values(state=case((Job.rerun, "queued"), else_="done"), finished_s=now_s(),
                    lease_until_s=None, lease_owner=None, rerun=False,
                    temp_failures=0, temp_failing_since_s=None,
                    attempts=case((Job.rerun, 0), else_=Job.attempts),
                    queued_s=case((Job.rerun, now_s()), else_=Job.queued_s))))
        return res.rowcount == 1

    def finish(self, job_id: int, owner: str) -> bool:
        with write_session(self.engine) as s:
            return self.finish_in(s, job_id, owner)

    def fail(self, job_id: int, owner: str, error: str, *, retry_in_s: float = 5.0,
             temporary: bool = False) -> Failure | None:
        """Give the job back: it is claimable again after ``retry_in_s``.

        ``temporary``: the failure was an outage (store unreachable or failing), so this attempt
        does not count towards :data:`MAX_ATTEMPTS`, and a long outage does not make jobs fail
        quickly. It counts as a temporary failure instead: the retry comes after
        :func:`temporary_retry_in_s` of their number (``retry_in_s`` is not used), and once they
        have lasted :data:`TEMPORARY_GIVE_UP_S` (and numbered at least
        :data:`TEMPORARY_GIVE_UP_MIN_FAILURES`) the job is failed for good.

        Returns what was done, or None when ``owner`` no longer held the job.
        """
        now = now_s()
        with write_session(self.engine) as s:
            job = s.scalar(select(Job).where(Job.id == job_id, Job.lease_owner == owner).with_for_update())
            if job is None:
                return None
            job.error = error[-4000:]
            if temporary:
                job.attempts = max(job.attempts - 1, 0)
                job.temp_failures = (job.temp_failures or 0) + 1
                if job.temp_failing_since_s is None:
                    job.temp_failing_since_s = now
                failing_s = now - job.temp_failing_since_s
                if job.temp_failures >= TEMPORARY_GIVE_UP_MIN_FAILURES and failing_s >= TEMPORARY_GIVE_UP_S:
                    job.state, job.finished_s, job.lease_owner, job.lease_until_s = "failed", now, None, None
                    job.error = (job.error[-3800:] + f"\ngave up after {job.temp_failures} temporary failures "
                                 f"in {failing_s / 3600:.1f} h")
                    logger.error("jobs: %s %s failed for good after %d temporary failures in %.1f h",
                                 job.kind, job.key, job.temp_failures, failing_s / 3600)
                    return Failure(gave_up=True, retry_in_s=0.0, temp_failures=job.temp_failures)
                retry_in_s = temporary_retry_in_s(job.temp_failures)
            job.state, job.lease_until_s, job.lease_owner = "retrying", now + retry_in_s, None
            return Failure(gave_up=False, retry_in_s=retry_in_s, temp_failures=job.temp_failures or 0)

    def depth(self) -> dict[str, int]:
        """Jobs per state (``domain.vocab.JOB_STATES``)."""
        with read_session(self.engine) as s:
            return dict(s.execute(select(Job.state, func.count()).group_by(Job.state)).all())
