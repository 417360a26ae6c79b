"""A job queue in the metadata database, with leases.

A worker claims a job by leasing it for ``lease_s`` seconds and extends the lease while it
works. A worker that dies stops extending; once the lease has run out another worker claims
the job again. PostgreSQL claims with ``FOR UPDATE SKIP LOCKED`` so any number of workers on
any number of machines never take the same job; SQLite serialises claims with an immediate
write transaction (one machine).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import case, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from storage.db import Job, now_s

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    key: str
    payload: dict
    attempts: int


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
        job.queued_s = now_s()
        job.lease_owner = job.lease_until_s = None
        return True
    if requeue_done and job.state == "running":
        job.rerun, job.payload = True, payload
        return True
    return False


class JobQueue:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._skip_locked = engine.dialect.name == "postgresql"

    def claim(self, owner: str, *, lease_s: float, kinds: Iterable[str] | None = None) -> Claimed | None:
        """Lease the oldest claimable job (queued, or running with an expired lease)."""
        now = now_s()
        with Session(self.engine) as s, s.begin():
            q = (select(Job).where(or_(Job.state == "queued",
                                       (Job.state == "running") & (Job.lease_until_s < now)))
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
        with Session(self.engine) as s, s.begin():
            res = s.execute(update(Job).where(Job.id == job_id, Job.lease_owner == owner, Job.state == "running")
                            .values(lease_until_s=now_s() + lease_s))
            return res.rowcount == 1

    @staticmethod
    def finish_in(session: Session, job_id: int, owner: str) -> bool:
        """Mark the job done inside the caller's transaction, only if we still hold it.

        The caller commits its results in the same transaction only when this returns True,
        so a job whose lease was taken over is finished exactly once, by one worker."""
        res = session.execute(update(Job).where(Job.id == job_id, Job.lease_owner == owner, Job.state == "running")
                              .values(state=case((Job.rerun, "queued"), else_="done"), finished_s=now_s(),
                                      lease_until_s=None, lease_owner=None, rerun=False,
                                      attempts=case((Job.rerun, 0), else_=Job.attempts),
                                      queued_s=case((Job.rerun, now_s()), else_=Job.queued_s)))
        return res.rowcount == 1

    def finish(self, job_id: int, owner: str) -> bool:
        with Session(self.engine) as s, s.begin():
            return self.finish_in(s, job_id, owner)

    def fail(self, job_id: int, owner: str, error: str, *, retry_in_s: float = 5.0, temporary: bool = False) -> None:
        """Give the job back: it is claimable again after ``retry_in_s``. ``temporary``: the
        failure was an outage (store unreachable), so this attempt does not count towards
        :data:`MAX_ATTEMPTS`; a long outage must not make jobs fail for good."""
        values = dict(state="running", lease_until_s=now_s() + retry_in_s, lease_owner="retry:" + owner,
                      error=error[-4000:])
        if temporary:
            values["attempts"] = case((Job.attempts > 0, Job.attempts - 1), else_=0)
        with Session(self.engine) as s, s.begin():
            s.execute(update(Job).where(Job.id == job_id, Job.lease_owner == owner).values(**values))

    def depth(self) -> dict[str, int]:
        from sqlalchemy import func

        with Session(self.engine) as s:
            return dict(s.execute(select(Job.state, func.count()).group_by(Job.state)).all())
