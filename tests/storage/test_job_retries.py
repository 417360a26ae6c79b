"""Job attempts: an outage (store unreachable) must not use up a job's attempts, a real
failure must (SQLite and PostgreSQL)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from storage.db import Job, make_engine
from storage.jobs import MAX_ATTEMPTS, JobQueue, enqueue


def _queue(db_url: str) -> tuple[JobQueue, int]:
    eng = make_engine(db_url)
    with Session(eng) as s, s.begin():
        enqueue(s, kind="plan", key="plan:x", payload={"session": "x"})
    with Session(eng) as s:
        job_id = s.query(Job.id).filter(Job.key == "plan:x").scalar()
    return JobQueue(eng), job_id


def test_temporary_failures_do_not_use_up_attempts(db_url: str):
    queue, job_id = _queue(db_url)
    for _ in range(MAX_ATTEMPTS * 2):
        job = queue.claim("w1", lease_s=30)
        assert job is not None and job.id == job_id and job.attempts == 1
        queue.fail(job.id, "w1", "Unavailable: connection refused", retry_in_s=-1, temporary=True)
    job = queue.claim("w1", lease_s=30)
    assert queue.finish(job.id, "w1")
    queue.engine.dispose()


def test_real_failures_give_up_after_max_attempts(db_url: str):
    queue, job_id = _queue(db_url)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        job = queue.claim("w1", lease_s=30)
        assert job is not None and job.attempts == attempt
        queue.fail(job.id, "w1", "checksum mismatch", retry_in_s=-1)
    assert queue.claim("w1", lease_s=30) is None
    with Session(queue.engine) as s:
        assert s.get(Job, job_id).state == "failed"
    queue.engine.dispose()
