"""Job attempts: an outage (store unreachable) must not use up a job's attempts, a real
failure must; temporary failures back off and, lasting a day, fail the job for good (SQLite
and PostgreSQL)."""
from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

import storage.jobs
from storage.engine import make_engine
from storage.jobs import (
    MAX_ATTEMPTS,
    TEMPORARY_BACKOFF_MAX_S,
    TEMPORARY_GIVE_UP_MIN_FAILURES,
    TEMPORARY_GIVE_UP_S,
    JobQueue,
    enqueue,
    temporary_retry_in_s,
)
from storage.tables import Job


class Clock:
    """The queue's clock (storage.jobs.now_s), moved by the test instead of waiting."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock(1_790_000_000.0)
    monkeypatch.setattr(storage.jobs, "now_s", c)
    return c


def _queue(db_url: str) -> tuple[JobQueue, int]:
    eng = make_engine(db_url)
    with Session(eng) as s, s.begin():
        enqueue(s, kind="plan", key="plan:x", payload={"session": "x"})
    with Session(eng) as s:
        job_id = s.query(Job.id).filter(Job.key == "plan:x").scalar()
    return JobQueue(eng), job_id


def _job(queue: JobQueue, job_id: int) -> Job:
    with Session(queue.engine) as s:
        return s.get(Job, job_id)


def test_temporary_failures_do_not_use_up_attempts(db_url: str, clock: Clock):
    queue, job_id = _queue(db_url)
    for n in range(1, MAX_ATTEMPTS * 2 + 1):
        job = queue.claim("w1", lease_s=30)
        assert job is not None and job.id == job_id and job.attempts == 1
        failure = queue.fail(job.id, "w1", "Unavailable: connection refused", temporary=True)
        assert failure is not None and not failure.gave_up and failure.temp_failures == n
        clock.t += failure.retry_in_s + 0.5
    job = queue.claim("w1", lease_s=30)
    assert queue.finish(job.id, "w1")
    row = _job(queue, job_id)
    assert (row.state, row.temp_failures, row.temp_failing_since_s) == ("done", 0, None)   # success resets
    queue.engine.dispose()


def test_temporary_failures_back_off_exponentially_up_to_a_cap(db_url: str, clock: Clock):
    assert [temporary_retry_in_s(n) for n in range(1, 9)] == [5, 10, 20, 40, 80, 160, 300, 300]
    queue, job_id = _queue(db_url)
    delays = []
    for _ in range(8):
        job = queue.claim("w1", lease_s=30)
        assert job is not None
        failure = queue.fail(job.id, "w1", "InternalError: We encountered an internal error", temporary=True)
        delays.append(failure.retry_in_s)
        # Not claimable before the delay is over, claimable after.
        clock.t += failure.retry_in_s - 1
        assert queue.claim("w1", lease_s=30) is None
        clock.t += 1.5
    assert delays == [temporary_retry_in_s(n) for n in range(1, 9)]
    assert max(delays) == TEMPORARY_BACKOFF_MAX_S
    queue.engine.dispose()


def test_a_lasting_temporary_failure_fails_the_job_after_a_day(db_url: str, clock: Clock):
    queue, job_id = _queue(db_url)
    start, n, failure = clock.t, 0, None
    while True:
        job = queue.claim("w1", lease_s=30)
        assert job is not None, f"job not claimable after {n} temporary failures"
        failure = queue.fail(job.id, "w1", "InternalError: one object keeps failing", temporary=True)
        n += 1
        if failure.gave_up:
            break
        assert clock.t - start < TEMPORARY_GIVE_UP_S       # an outage shorter than a day fails nothing
        clock.t += failure.retry_in_s + 0.5
    assert clock.t - start >= TEMPORARY_GIVE_UP_S and n >= TEMPORARY_GIVE_UP_MIN_FAILURES
    assert failure.temp_failures == n
    row = _job(queue, job_id)
    assert row.state == "failed" and row.lease_owner is None
    assert "one object keeps failing" in row.error and f"gave up after {n} temporary failures" in row.error
    assert queue.claim("w1", lease_s=30) is None
    # Queued again (a new chunk, a new rulebook): starts afresh.
    with Session(queue.engine) as s, s.begin():
        assert enqueue(s, kind="plan", key="plan:x", payload={"session": "x"}, requeue_done=True)
    row = _job(queue, job_id)
    assert (row.state, row.temp_failures, row.temp_failing_since_s) == ("queued", 0, None)
    queue.engine.dispose()


def test_few_temporary_failures_a_day_apart_do_not_fail_the_job(db_url: str, clock: Clock):
    # The worker itself was away for two days: the second try is not the end of the job.
    queue, job_id = _queue(db_url)
    for _ in range(3):
        job = queue.claim("w1", lease_s=30)
        failure = queue.fail(job.id, "w1", "Unavailable: connection refused", temporary=True)
        assert not failure.gave_up
        clock.t += 2 * TEMPORARY_GIVE_UP_S
    queue.engine.dispose()


def test_real_failures_give_up_after_max_attempts(db_url: str, clock: Clock):
    queue, job_id = _queue(db_url)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        job = queue.claim("w1", lease_s=30)
        assert job is not None and job.attempts == attempt
        failure = queue.fail(job.id, "w1", "checksum mismatch", retry_in_s=-1)
        assert failure == storage.jobs.Failure(gave_up=False, retry_in_s=-1, temp_failures=0)
    assert queue.claim("w1", lease_s=30) is None
    assert _job(queue, job_id).state == "failed"
    queue.engine.dispose()


def test_fail_by_a_worker_that_lost_the_lease_changes_nothing(db_url: str, clock: Clock):
    queue, job_id = _queue(db_url)
    queue.claim("w1", lease_s=30)
    assert queue.fail(job_id, "w2", "Unavailable", temporary=True) is None
    row = _job(queue, job_id)
    assert (row.lease_owner, row.temp_failures) == ("w1", 0)
    queue.engine.dispose()
