"""Object Lock and server-side encryption against the real test store, rclone serve s3, which
implements neither (issue 6): the probe must say so, once, and chunks must still be stored,
without lock headers; SSE headers go out, the store does not confirm them, and we say so.
A store that has Object Lock (MinIO) could not be had here: see docs/storage.md."""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from pathlib import Path

import pytest

from counterwatch.settings import SettingsError, load_settings
from recorder.chunk import ChunkMeta
from recorder.spool import Spool
from recorder.uploader import Uploader
from storage.objects import ObjectStore, parse_sse

pytestmark = pytest.mark.slow


def _raw_headers(store: ObjectStore, key: str) -> dict[str, str]:
    # rclone keeps the request's headers with the object and sends them back on HEAD, which
    # shows what our PUT carried.
    return {k.lower(): v for k, v in store._client.stat_object(store.bucket, key).metadata.items()}  # noqa: SLF001


def _spooled_chunk(spool: Spool, wall0: float) -> ChunkMeta:
    data = b"fLaC" + bytes(range(256)) * 8
    meta = ChunkMeta(site="hall", counter="c1", session="f" * 32, seq=0, start_sample=0, samples=16000,
                     sample_rate_hz=16000, channels=1, codec="flac", sha256=hashlib.sha256(data).hexdigest(),
                     size_bytes=len(data), session_wall_start_s=wall0, rms_dbfs=-30.0, peak_dbfs=-6.0)
    spool.put(meta, data)
    return meta


@pytest.mark.parametrize("setting", ["auto", "governance"])
def test_rclone_has_no_object_lock_and_chunks_upload_unlocked(s3_server, store_on, tmp_path: Path, caplog,
                                                             setting: str):
    store = ObjectStore(endpoint=s3_server.endpoint, access_key=s3_server.access_key,
                        secret_key=s3_server.secret_key, bucket=store_on(s3_server).bucket, object_lock=setting)
    store.ensure_bucket()
    caplog.set_level(logging.INFO, logger="storage.objects")
    spool = Spool(tmp_path / "spool", site="hall", counter="c1", quota_bytes=10_000_000)
    wall0 = 1_790_000_000.0
    meta = _spooled_chunk(spool, wall0)
    uploader = Uploader(spool, store, retention_days=180)
    # Locked (where the store can) until capture time + the site's retention.
    assert uploader.retain_until(meta) == dt.datetime.fromtimestamp(wall0, dt.timezone.utc) + dt.timedelta(days=180)
    assert Uploader(spool, store).retain_until(meta) is None

    assert uploader.upload_pending(threading.Event()) == 1
    state = store.object_lock()
    assert (state.supported, state.enabled, state.write_mode) == (False, False, None)
    assert store.object_lock() is state                       # probed once, cached
    lines = [r for r in caplog.records if "Object Lock not supported" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].levelno == (logging.INFO if setting == "auto" else logging.WARNING)
    assert len(spool) == 0
    assert store.get_bytes(meta.key, expected_sha256=meta.sha256)
    sent = _raw_headers(store, meta.key)
    assert not any(k.startswith("x-amz-object-lock") for k in sent), sent
    store.delete(meta.key)                                    # a plain delete where there is no lock
    assert store.stat(meta.key) is None


def test_sse_s3_header_goes_with_every_put_and_an_unconfirmed_one_is_reported_once(s3_server, store_on, caplog):
    bucket = store_on(s3_server).bucket
    store = ObjectStore(endpoint=s3_server.endpoint, access_key=s3_server.access_key,
                        secret_key=s3_server.secret_key, bucket=bucket, sse="s3")
    store.ensure_bucket()
    caplog.set_level(logging.WARNING, logger="storage.objects")
    for n in range(2):
        info = store.put_bytes(f"hall/c1/x/{n}.flac", b"audio %d" % n, content_type="audio/flac",
                               metadata={"site": "hall"})
        assert store.get_bytes(info.key, expected_sha256=hashlib.sha256(b"audio %d" % n).hexdigest())
        sent = _raw_headers(store, info.key)
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
