"""Faults the soak found, reproduced small: the worker against a PostgreSQL that goes away.

Before the fix, the first failed claim (``OperationalError``) ended ``Worker.work`` and the
``counterwatch worker`` process with it, so every database restart took the transcription
down until someone restarted the worker.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.catalog import Catalog
from storage.engine import make_engine
from storage.schema import upgrade
from storage.tables import Interaction, Job
from tests.support.recordings import store_session
from transcribe.worker import Worker, WorkerOptions

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("how", ["SIGKILL postmaster", "pg_ctl stop -m immediate"])
def test_worker_waits_out_a_database_outage_and_then_works(soak, how: str, tmp_path: Path, object_store,
                                                           analyzer, data_dir: Path):
    pg = soak.PgCluster()
    pg.start()
    eng = make_engine(pg.url)
    try:
        upgrade(eng)
        catalog = Catalog(eng)
        catalog.add_counter("hall", "c1", channels="mono")
        pcm = soak.decode_input(data_dir / "dev08-mono-noisy.flac", 1)
        worker = Worker(engine=eng, store=object_store, analyzer=analyzer, name="w-outage",
                        options=WorkerOptions(lease_s=6.0, poll_s=0.2))
        stop, errors = threading.Event(), []

        def work() -> None:
            try:
                worker.work(stop)
            except BaseException as e:  # noqa: BLE001 - the assertion below reports it
                errors.append(e)

        first = store_session(catalog, object_store, pcm, counter="c1", chunk_s=5.0, wall0=time.time() - 600, end=True).id
        t = threading.Thread(target=work, name="worker")
        t.start()
        try:
            _wait_interactions(eng, first, 1, alive=t.is_alive)
            pg.sigkill() if how == "SIGKILL postmaster" else pg.stop_immediate()
            time.sleep(3.0)
            assert t.is_alive() and not errors, f"the worker ended on a database outage: {errors!r}"
            pg.start()
            second = store_session(catalog, object_store, pcm, counter="c1", chunk_s=5.0, wall0=time.time() - 600, end=True).id
            _wait_interactions(eng, second, 1, alive=t.is_alive)
        finally:
            stop.set()
            t.join(60)
        assert not errors, errors
        with Session(eng) as s:
            assert s.scalar(select(func.count()).select_from(Job).where(Job.state != "done")) == 0
            assert s.scalar(select(func.count()).select_from(Interaction)) == 2
    finally:
        eng.dispose()
        pg.remove()


def _wait_interactions(eng, session: str, n: int, *, alive, timeout_s: float = 120.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not alive():
            pytest.fail("the worker thread ended")
        try:
            with Session(eng) as s:
                done = s.scalar(select(func.count()).select_from(Interaction).where(Interaction.session_id == session))
                busy = s.scalar(select(func.count()).select_from(Job).where(Job.state != "done"))
        except Exception:  # noqa: BLE001 - the database may still be recovering
            done, busy = 0, 1
        if done >= n and not busy:
            return
        time.sleep(0.3)
    pytest.fail(f"session {session} not analysed within {timeout_s:.0f} s")
