"""Shared fixtures: test data paths and one loaded speech model per session."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


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


# -- real servers: S3 (rclone) and PostgreSQL -----------------------------------------------------

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory):
    from storage.s3server import S3Server

    with S3Server(data_dir=tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.fixture()
def object_store(s3_server):
    from storage.objects import ObjectStore

    store = ObjectStore(endpoint=s3_server.endpoint, access_key=s3_server.access_key,
                        secret_key=s3_server.secret_key, bucket=f"cw-{uuid.uuid4().hex[:16]}", timeout_s=3.0)
    store.ensure_bucket()
    return store


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def pg_server():
    """A private PostgreSQL cluster from Debian's packages, on loopback, for this test run."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        raise RuntimeError("PostgreSQL is not installed: run scripts/install.sh --test")
    bindir = os.path.dirname(bins[-1])
    root = tempfile.mkdtemp(prefix="cw-pg-")
    as_user: list[str] = []
    if os.geteuid() == 0:   # initdb refuses to run as root
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = os.path.join(root, "data"), _free_port()
    subprocess.run([*as_user, f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "cw", "--no-sync", "-E", "UTF8"],
                   check=True, capture_output=True)
    subprocess.run([*as_user, f"{bindir}/pg_ctl", "-D", data, "-w", "-l", os.path.join(root, "log"), "-o",
                    f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100",
                    "start"], check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://cw@127.0.0.1:{port}"
    finally:
        subprocess.run([*as_user, f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A fresh, migrated database on each backend (parity: the same tests run on both)."""
    from sqlalchemy import create_engine, text

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cw.db'}"
    else:
        base = request.getfixturevalue("pg_server")
        name = f"cw_{uuid.uuid4().hex[:12]}"
        eng = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
        with eng.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        eng.dispose()
        url = f"{base}/{name}"
    from storage.engine import make_engine
    from storage.schema import upgrade

    eng = make_engine(url)
    upgrade(eng)
    eng.dispose()
    return url
