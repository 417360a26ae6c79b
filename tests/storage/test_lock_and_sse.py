"""Object Lock and server-side encryption against the real test store, rclone serve s3, which
implements neither (issue 6): the probe must say so, once, and chunks must still be stored,
without lock headers; SSE headers go out, the store does not confirm them, and we say so.
A store that has Object Lock (MinIO) could not be had here: see docs/storage.md. Where a test
needs the store to believe its bucket has Object Lock (or to not know its versioning), it sets
the cached probe answer; the requests still go to rclone, which echoes the headers sent."""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from pathlib import Path

import numpy as np
import pytest
from minio.retention import GOVERNANCE
from sqlalchemy import update

from counterwatch.settings import SettingsError, load_settings
from domain.chunks import ChunkMeta
from domain.flac import encode_flac
from recorder.spool import Spool
from recorder.uploader import Uploader
from services.ingest import retain_until
from storage.engine import write_session
from storage.object_lock import ObjectLockState
from storage.objects import ObjectStore, parse_sse
from storage.tables import Site
from tests.support.agents import agent_api
from tests.support.stores import store_on

pytestmark = pytest.mark.slow


def _raw_headers(object_store: ObjectStore, key: str) -> dict[str, str]:
    # rclone keeps the request's headers with the object and sends them back on HEAD, which
    # shows what our PUT carried.
    return {k.lower(): v for k, v in object_store._client.stat_object(object_store.bucket, key).metadata.items()}  # noqa: SLF001


def _spooled_chunk(spool: Spool, wall0: float) -> ChunkMeta:
    data = encode_flac(np.zeros((16000, 1), np.int16), 16000)
    meta = ChunkMeta(site="hall", counter="c1", session="f" * 32, seq=0, start_sample=0, samples=16000,
                     sample_rate_hz=16000, channels=1, codec="flac", sha256=hashlib.sha256(data).hexdigest(),
                     size_bytes=len(data), session_wall_start_s=wall0, rms_dbfs=-30.0, peak_dbfs=-6.0)
    spool.put(meta, data)
    return meta


@pytest.mark.parametrize("setting", ["auto", "governance"])
def test_rclone_has_no_object_lock_and_chunks_upload_unlocked(s3_server, tmp_path: Path, caplog,
                                                             setting: str):
    object_store = ObjectStore(endpoint=s3_server.endpoint, access_key=s3_server.access_key,
                        secret_key=s3_server.secret_key, bucket=store_on(s3_server).bucket, object_lock=setting)
    object_store.ensure_bucket()
    caplog.set_level(logging.INFO, logger="storage.objects")
    spool = Spool(tmp_path / "spool", site="hall", counter="c1", quota_bytes=10_000_000)
    wall0 = float(int(dt.datetime.now(dt.UTC).timestamp()) - 3600)     # recent: the server is the clock (issue 18)
    meta = _spooled_chunk(spool, wall0)
    # Locked (where the store can) until capture time + the site's retention (the API decides).
    assert retain_until(meta, 180) == dt.datetime.fromtimestamp(wall0, dt.UTC) + dt.timedelta(days=180)
    assert retain_until(meta, None) is None

    with agent_api(object_store, tmp_path=tmp_path, site="hall", channels="mono") as api:
        assert Uploader(spool, api.client()).upload_pending(threading.Event()) == 1
    state = object_store.object_lock()
    assert (state.supported, state.enabled, state.write_mode) == (False, False, None)
    assert object_store.object_lock() is state                       # probed once, cached
    lines = [r for r in caplog.records if "Object Lock not supported" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].levelno == (logging.INFO if setting == "auto" else logging.WARNING)
    assert len(spool) == 0
    assert object_store.get_bytes(meta.key, expected_sha256=meta.sha256)
    sent = _raw_headers(object_store, meta.key)
    assert not any(k.startswith("x-amz-object-lock") for k in sent), sent
    object_store.delete(meta.key, evidence=True)                                    # a plain delete where there is no lock
    assert object_store.stat(meta.key) is None


def test_sse_s3_header_goes_with_every_put_and_an_unconfirmed_one_is_reported_once(s3_server, caplog):
    bucket = store_on(s3_server).bucket
    object_store = ObjectStore(endpoint=s3_server.endpoint, access_key=s3_server.access_key,
                        secret_key=s3_server.secret_key, bucket=bucket, sse="s3")
    object_store.ensure_bucket()
    caplog.set_level(logging.WARNING, logger="storage.objects")
    for n in range(2):
        info = object_store.put_bytes(f"hall/c1/x/{n}.flac", b"audio %d" % n, content_type="audio/flac",
                               metadata={"site": "hall"})
        assert object_store.get_bytes(info.key, expected_sha256=hashlib.sha256(b"audio %d" % n).hexdigest())
        sent = _raw_headers(object_store, info.key)
        assert sent.get("x-amz-server-side-encryption") == "AES256"
        assert sent.get("x-amz-meta-site") == "hall" and "x-amz-meta-content-md5" not in sent
    unconfirmed = [r for r in caplog.records if "did not confirm server-side encryption" in r.getMessage()]
    assert len(unconfirmed) == 1 and unconfirmed[0].levelno == logging.WARNING

    plain = store_on(s3_server, bucket)
    plain.put_bytes("hall/c1/x/plain.flac", b"plain")
    assert "x-amz-server-side-encryption" not in _raw_headers(plain, "hall/c1/x/plain.flac")


def test_sse_settings_are_checked(s3_server, monkeypatch):
    assert parse_sse("off") is None
    assert parse_sse("s3").headers() == {"X-Amz-Server-Side-Encryption": "AES256"}
    assert parse_sse("kms:cw-key").headers()["X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"] == "cw-key"
    for bad in ("c", "sse-c", "kms:", "kms:a b", "S3"):
        with pytest.raises(ValueError):
            parse_sse(bad)
    with pytest.raises(ValueError, match="TLS"):
        ObjectStore(endpoint=s3_server.endpoint, access_key="a", secret_key="b", bucket="cw-x", sse="kms:k1")
    with pytest.raises(ValueError, match="object lock"):
        ObjectStore(endpoint=s3_server.endpoint, access_key="a", secret_key="b", bucket="cw-x", object_lock="on")
    monkeypatch.setenv("COUNTERWATCH_S3_SSE", "sse-c:key")
    with pytest.raises(SettingsError, match="s3_sse"):
        load_settings()
    monkeypatch.setenv("COUNTERWATCH_S3_SSE", "kms:minio-kes-key")
    monkeypatch.setenv("COUNTERWATCH_S3_OBJECT_LOCK", "compliance")
    s = load_settings()
    assert (s.s3_sse, s.s3_object_lock) == ("kms:minio-kes-key", "compliance")


def _as_if_locked(object_store: ObjectStore) -> ObjectStore:
    # rclone has no Object Lock; give the store the probe's answer for a MinIO bucket created
    # --with-lock. rclone accepts the lock headers and echoes them (_raw_headers), which shows
    # what each PUT carried.
    object_store._lock_state = ObjectLockState(supported=True, enabled=True, write_mode=GOVERNANCE)  # noqa: SLF001
    return object_store


def _lock_headers(object_store: ObjectStore, key: str) -> dict[str, str]:
    return {k: v for k, v in _raw_headers(object_store, key).items() if k.startswith("x-amz-object-lock")}


def test_a_past_retain_until_is_not_sent_and_reported_once_per_run(object_store, caplog):
    object_store = _as_if_locked(object_store)
    caplog.set_level(logging.DEBUG, logger="storage.objects")
    now = dt.datetime.now(dt.UTC)
    object_store.put_bytes("hall/c1/x/future.flac", b"a", retain_until=now + dt.timedelta(days=1))
    sent = _lock_headers(object_store, "hall/c1/x/future.flac")
    assert sent.get("x-amz-object-lock-mode") == "GOVERNANCE"
    assert sent.get("x-amz-object-lock-retain-until-date", "").startswith((now + dt.timedelta(days=1)).strftime("%Y-%m-%d"))

    # Past (spooled longer than the retention, or captured before the clock was set), or so
    # close that the server's clock may already be past it: MinIO would answer 400 for ever.
    for n, until in enumerate([now - dt.timedelta(days=30), now - dt.timedelta(seconds=1),
                               now + dt.timedelta(seconds=60)]):
        info = object_store.put_bytes(f"hall/c1/x/past{n}.flac", b"b%d" % n, retain_until=until)
        assert object_store.get_bytes(info.key) == b"b%d" % n
        assert _lock_headers(object_store, info.key) == {}
    warned = [r for r in caplog.records if "is past" in r.getMessage() and r.levelno == logging.WARNING]
    assert len(warned) == 1 and "hall/c1/x/past0.flac" in warned[0].getMessage()

    object_store.put_bytes("hall/c1/x/again.flac", b"c", retain_until=now + dt.timedelta(days=1))
    assert _lock_headers(object_store, "hall/c1/x/again.flac").get("x-amz-object-lock-mode") == "GOVERNANCE"
    assert any("after 3 object(s) written unlocked" in r.getMessage() for r in caplog.records)
    object_store.put_bytes("hall/c1/x/past3.flac", b"d", retain_until=now - dt.timedelta(days=1))
    assert len([r for r in caplog.records if "is past" in r.getMessage() and r.levelno == logging.WARNING]) == 2


def test_a_chunk_older_than_its_retention_is_refused_and_nothing_is_stored(object_store, tmp_path: Path):
    # Issue 18: the server is the clock; a chunk that starts before the site's retention would
    # be evidence nobody may keep, so it is refused for good (422 chunk_time) and stored nowhere.
    object_store = _as_if_locked(object_store)
    spool = Spool(tmp_path / "spool", site="hall", counter="c1", quota_bytes=10_000_000)
    meta = _spooled_chunk(spool, dt.datetime.now(dt.UTC).timestamp() - 10 * 86400)
    with agent_api(object_store, tmp_path=tmp_path, site="hall", channels="mono") as api:
        with write_session(api.engine) as s:
            s.execute(update(Site).values(retention_days=7))
        uploader = Uploader(spool, api.client())
        stop = threading.Event()
        timer = threading.Timer(20.0, stop.set)         # a refused PUT would be retried until then
        timer.start()
        try:
            assert uploader.upload_pending(stop) == 0
        finally:
            timer.cancel()
    assert uploader.retries == 0
    assert object_store.stat(meta.key) is None


def test_delete_when_the_lock_probe_was_refused_asks_the_versioning(object_store):
    # An AccessDenied Object Lock probe says nothing about versioning: the bucket's versioning
    # is asked (rclone: never versioned) before choosing a plain delete.
    object_store._lock_state = ObjectLockState(supported=False, enabled=False, write_mode=None, known=False)  # noqa: SLF001
    object_store.put_bytes("hall/c1/x/a.flac", b"a")
    assert object_store.versioned() is False
    object_store.delete("hall/c1/x/a.flac")
    assert object_store.stat("hall/c1/x/a.flac") is None


def test_delete_with_versioning_unknown_removes_versions_or_falls_back_on_a_store_without(object_store):
    # Versioning unknown (GetBucketVersioning refused too): the key's versions are listed and
    # removed; rclone keeps no versions (ListObjectVersions: NotImplemented), so the plain
    # delete is used and the object is really gone.
    object_store._versioning_probed, object_store._versioned = True, None  # noqa: SLF001
    object_store.put_bytes("hall/c1/x/b.flac", b"b")
    object_store.delete("hall/c1/x/b.flac")
    assert object_store.stat("hall/c1/x/b.flac") is None
    object_store.delete("hall/c1/x/b.flac")                # not there: not an error
    assert list(object_store.iter_keys("hall/")) == []
