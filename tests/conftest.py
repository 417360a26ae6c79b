"""Shared fixtures: test data paths, one loaded speech model per session, and the real servers
(S3, PostgreSQL, PulseAudio) with a fresh bucket, database and app for each test.

One fixture name per resource: ``s3_server`` (one per run), ``own_s3_server`` (a test's own,
for stopping and restarting), ``object_store`` (a fresh bucket), ``pg_server``, ``db_url`` (a
fresh migrated database on each backend), ``app_env`` (the API over both), ``pulse``.
"""
from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:   # imported inside the fixtures: a pure test does not start the API's imports
    from tests.support.pulse import Pulse
    from tests.support.stack import AppEnv

DATA = Path(__file__).parent / "data"
#: The values of the backend parameters (``db_url``, ``app_env`` and tests' own ``backend``).
BACKENDS = ("sqlite", "postgresql")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--sqlite-only", action="store_true",
                     default=os.environ.get("COUNTERWATCH_TEST_SQLITE_ONLY") == "1",
                     help="deselect the PostgreSQL variants of backend-parametrised tests (the fast loop, "
                          "scripts/test.sh --fast); the full suite runs both backends")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--sqlite-only"):
        return
    keep, dropped = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        on_pg = any(params.get(name) == "postgresql" for name in ("db_url", "backend"))
        (dropped if on_pg else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def labels() -> dict[str, dict]:
    return {e["file"]: e for e in json.loads((DATA / "labels.json").read_text(encoding="utf-8"))}


@pytest.fixture(scope="session")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    from transcribe.model import resolve_model

    return resolve_model(None)


@pytest.fixture(scope="session")
def analyzer(model_path: str):
    from transcribe.analyze import Analyzer
    from transcribe.asr import Transcriber
    from transcribe.rules import load_rulebook

    return Analyzer(Transcriber(model_path, cpu_threads=2), load_rulebook())


# -- real servers: S3 (rclone), PostgreSQL, PulseAudio ---------------------------------------------

@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory):
    from storage.s3server import S3Server

    with S3Server(data_dir=tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.fixture()
def own_s3_server(tmp_path: Path):
    """A server of the test's own, for tests that stop and restart it."""
    from storage.s3server import S3Server

    with S3Server(data_dir=tmp_path / "s3-data") as server:
        yield server


@pytest.fixture()
def object_store(s3_server):
    from tests.support.stores import store_on

    store = store_on(s3_server, timeout_s=3.0)
    store.ensure_bucket()
    return store


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A private PostgreSQL cluster from Debian's packages, on loopback, for this test run."""
    from tests.support.postgres import PgCluster

    cluster = PgCluster()
    cluster.start(fsync=False)
    try:
        yield cluster.url.rsplit("/", 1)[0]
    finally:
        cluster.stop_immediate()
        cluster.remove()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite database migrated to the head (``storage.schema.upgrade``) per test run (and
    xdist worker); each test gets a copy of it. Running the migrations is tested as such in
    tests/storage/test_migrations.py; a copy of their result is the same database, half a
    second sooner per test."""
    from storage.engine import make_engine
    from storage.schema import upgrade

    path = tmp_path_factory.mktemp("template") / "cw.db"
    eng = make_engine(f"sqlite:///{path}")
    upgrade(eng)
    eng.dispose()
    return path


@pytest.fixture(scope="session")
def migrated_postgresql(pg_server: str) -> str:
    """The PostgreSQL counterpart: a database migrated once, the template each test's database
    is created from (``CREATE DATABASE … TEMPLATE``)."""
    from sqlalchemy import create_engine, text

    from storage.engine import make_engine
    from storage.schema import upgrade

    name = f"cw_template_{uuid.uuid4().hex[:8]}"
    eng = create_engine(f"{pg_server}/postgres", isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    eng.dispose()
    eng = make_engine(f"{pg_server}/{name}")
    upgrade(eng)
    eng.dispose()        # a template may have no connections while it is copied
    return name


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A fresh database migrated to the head, on each backend (parity: the same tests run on
    both): a copy of the run's migrated template."""
    if request.param == "sqlite":
        import sqlite3

        template = request.getfixturevalue("migrated_sqlite")
        path = tmp_path / "cw.db"
        src, dst = sqlite3.connect(template), sqlite3.connect(path)
        try:
            src.backup(dst)         # the whole database, WAL mode included, consistently
        finally:
            src.close()
            dst.close()
        return f"sqlite:///{path}"
    from sqlalchemy import create_engine, text

    base = request.getfixturevalue("pg_server")
    template = request.getfixturevalue("migrated_postgresql")
    name = f"cw_{uuid.uuid4().hex[:12]}"
    eng = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    eng.dispose()
    return f"{base}/{name}"


@pytest.fixture()
def app_env(db_url: str, object_store) -> Iterator[AppEnv]:
    """The API over a fresh database (both backends) and a fresh bucket; sites ``hall``
    (counters c1, c2, c3) and ``annex`` (counter a1)."""
    from tests.support.stack import make_app_env

    env = make_app_env(db_url, object_store)
    try:
        yield env
    finally:
        env.engine.dispose()


@pytest.fixture(scope="session")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pulse]:
    """``pulseaudio`` as this user (root works) in its own runtime dir, with a 16 kHz mono null
    sink ``counter1`` (also the default sink); stopped afterwards."""
    import shutil

    from tests.support.pulse import running_pulse

    for tool in ("pulseaudio", "paplay", "parec"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} not installed: run scripts/install.sh --test")
    with running_pulse(tmp_path_factory.mktemp("pulse"), sink="counter1") as p:
        yield p
