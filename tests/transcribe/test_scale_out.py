"""Scale-out (issue 12, item 5): two ``counterwatch worker`` processes share one queue.

Four counters' sessions of real speech are stored as an agent stores them; two worker
processes (the real model, one CTranslate2 thread each) drain the queue together. Every job
is done once, by exactly one of them (each claims with a lease; on PostgreSQL with
``FOR UPDATE SKIP LOCKED``, on SQLite under its write lock), both do work, and each
interaction is stored once.
"""
from __future__ import annotations

import collections
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.catalog import Catalog
from storage.engine import make_engine
from storage.tables import Interaction, Job, Segment
from tests.support.recordings import join_speech, store_session

FILES = ("dev05-stereo-clean.flac", "dev01-stereo-clean.flac", "dev07-stereo-clean.flac", "dev14-stereo-clean.flac")


@pytest.mark.slow      # two worker processes: seconds each, in the full suite, not the fast loop
def test_two_worker_processes_share_the_queue_and_do_no_job_twice(db_url: str, object_store, s3_server,
                                                                  data_dir: Path, tmp_path: Path):
    eng = make_engine(db_url)
    catalog = Catalog(eng)
    sessions = []
    for i, name in enumerate(FILES):
        catalog.add_counter("hall", f"c{i + 1}")
        sessions.append(store_session(catalog, object_store, join_speech(data_dir, name), counter=f"c{i + 1}",
                                      chunk_s=10.0, wall0=time.time() - 3600, end=True).id)
    env = {**os.environ, "COUNTERWATCH_DATABASE_URL": db_url, "COUNTERWATCH_S3_ENDPOINT": s3_server.endpoint,
           "COUNTERWATCH_S3_ACCESS_KEY": s3_server.access_key, "COUNTERWATCH_S3_SECRET_KEY": s3_server.secret_key,
           "COUNTERWATCH_S3_BUCKET": object_store.bucket, "COUNTERWATCH_CPU_THREADS": "1",
           "COUNTERWATCH_LOG_LEVEL": "INFO",
           # one analyze job per claim: with batches (default 8) the first worker to claim may
           # rightly take every queued interaction, and the test could not see the sharing
           "COUNTERWATCH_WORKER_BATCH_INTERACTIONS": "1"}
    logs = [tmp_path / f"w{k}.log" for k in (1, 2)]
    procs = []
    for k, log in enumerate(logs):
        with open(log, "wb") as f:
            procs.append(subprocess.Popen([sys.executable, "-m", "counterwatch", "worker", "--max-idle-s", "10",
                                           "--data", str(tmp_path / f"data{k}")], env=env, stdout=f,
                                          stderr=subprocess.STDOUT))
    try:
        for p in procs:
            assert p.wait(600) == 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    done = collections.Counter()
    per_worker = []
    for log in logs:
        keys = re.findall(r"worker \S+: (\S+) done in ", log.read_text(errors="replace"))
        per_worker.append(len(keys))
        done.update(keys)
    with Session(eng) as s:
        jobs = s.execute(select(Job.key, Job.state, Job.attempts)).all()
        inters = s.execute(select(Interaction.session_id, func.count()).group_by(Interaction.session_id)).all()
        seg_dupes = s.execute(select(Segment.interaction_id, Segment.start_s, func.count())
                              .group_by(Segment.interaction_id, Segment.start_s).having(func.count() > 1)).all()
    eng.dispose()
    assert jobs and all(state == "done" and attempts == 1 for _, state, attempts in jobs), jobs
    assert {k for k, *_ in jobs} == set(done) and max(done.values()) == 1, done    # each job once
    assert all(n > 0 for n in per_worker), f"one worker did everything: {per_worker}"
    assert {sid for sid, _ in inters} == set(sessions) and seg_dupes == []
