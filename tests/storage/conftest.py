"""Real ``rclone serve s3`` servers for the storage tests, and one fresh bucket per test."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.objects import ObjectStore
from storage.s3server import S3Server


def gen_bucket_name() -> str:
    """A bucket name no other test uses (like minio-py's ``_gen_bucket_name``)."""
    return f"cw-test-{uuid.uuid4().hex[:24]}"


def _store_on(server: S3Server, bucket: str | None = None, *,
              timeout_s: float = 5.0) -> ObjectStore:
    return ObjectStore(endpoint=server.endpoint, access_key=server.access_key,
                       secret_key=server.secret_key, bucket=bucket or gen_bucket_name(),
                       timeout_s=timeout_s)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with S3Server(data_dir=tmp_path_factory.mktemp("s3-data")) as server:
        yield server


@pytest.fixture
def store(s3_server: S3Server) -> ObjectStore:
    store = _store_on(s3_server)
    store.ensure_bucket()
    return store


@pytest.fixture
def store_on():
    """``store_on(server, bucket=None, *, timeout_s=5.0)``: an ObjectStore on that server."""
    return _store_on


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[S3Server]:
    """A server of the test's own, for tests that stop and restart it."""
    server = S3Server(data_dir=tmp_path / "s3-data")
    server.start()
    try:
        yield server
    finally:
        server.stop()
