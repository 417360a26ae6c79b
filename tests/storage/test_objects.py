"""ObjectStore against a real rclone serve s3: round trips, checksums, keys, failures."""
from __future__ import annotations

import base64
import hashlib
import socket
import time
from pathlib import Path

import pytest
import urllib3

from storage.objects import ObjectInfo, ObjectStore
from storage.store_errors import BadKey, ChecksumMismatch, ObjectNotFound, StoreError, StoreUnavailable, check_key
from tests.support.stores import store_on

# Longest keys allowed (1024 bytes), in parts short enough for a local filesystem's 255.
LONG_ASCII = "/".join(["k" * 200] * 5) + "/" + "k" * 19
LONG_UTF8 = "/".join(["é" * 100] * 5) + "/" + "é" * 9 + "k"


def _md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode("ascii")


def test_round_trip(object_store: ObjectStore, tmp_path: Path) -> None:
    data = b"fLaC" + bytes(range(256)) * 40
    src = tmp_path / "chunk.flac"
    src.write_bytes(data)

    info = object_store.put_file("site1/c01/2026/01/02/s/00000001.flac", src, content_type="audio/flac",
                          metadata={"Counter": "c01"})
    object_store.put_bytes("site1/c01/2026/01/02/s/00000002.flac", b"second")
    object_store.put_bytes("site1/c02/x.json", b"{}", content_type="application/json")

    assert info == ObjectInfo(key="site1/c01/2026/01/02/s/00000001.flac", size_bytes=len(data),
                              md5_hex=hashlib.md5(data).hexdigest(),
                              metadata={"counter": "c01",
                                        "sha256": hashlib.sha256(data).hexdigest()})
    assert object_store.get_bytes(info.key) == data
    assert object_store.stat(info.key) == info
    assert sorted(object_store.iter_keys()) == [
        "site1/c01/2026/01/02/s/00000001.flac",
        "site1/c01/2026/01/02/s/00000002.flac",
        "site1/c02/x.json",
    ]
    assert sorted(object_store.iter_keys("site1/c01/")) == [
        "site1/c01/2026/01/02/s/00000001.flac",
        "site1/c01/2026/01/02/s/00000002.flac",
    ]
    assert list(object_store.iter_keys("site1/c0")) != []
    assert list(object_store.iter_keys("nothing-here/")) == []

    object_store.delete(info.key)
    assert object_store.stat(info.key) is None
    object_store.delete(info.key)  # deleting what is gone is fine
    with pytest.raises(ObjectNotFound) as err:
        object_store.get_bytes(info.key)
    assert err.value.code == "NoSuchKey"
    assert err.value.object_name == info.key
    assert info.key in str(err.value) and object_store.bucket in str(err.value)


def test_iter_keys_streams(object_store: ObjectStore) -> None:
    for i in range(3):
        object_store.put_bytes(f"p/{i}", b"x")
    keys = object_store.iter_keys("p/")
    assert next(keys) == "p/0"
    keys.close()


def test_overwrite_replaces_object_and_metadata(object_store: ObjectStore) -> None:
    object_store.put_bytes("k", b"one", metadata={"v": "1"})
    object_store.put_bytes("k", b"two", metadata={"v": "2"})
    assert object_store.get_bytes("k") == b"two"
    info = object_store.stat("k")
    assert info is not None and info.metadata["v"] == "2"


def test_sha256_metadata_and_verified_get(object_store: ObjectStore) -> None:
    data = b"counter audio"
    sha = hashlib.sha256(data).hexdigest()
    object_store.put_bytes("a/b", data)

    info = object_store.stat("a/b")
    assert info is not None and info.metadata["sha256"] == sha
    assert object_store.get_bytes("a/b", expected_sha256=sha) == data
    assert object_store.get_bytes("a/b", expected_sha256=sha.upper()) == data
    with pytest.raises(ChecksumMismatch) as err:
        object_store.get_bytes("a/b", expected_sha256=hashlib.sha256(b"other").hexdigest())
    assert err.value.code == "SHA256Mismatch" and err.value.object_name == "a/b"


def test_server_rejects_body_not_matching_content_md5(object_store: ObjectStore) -> None:
    """rclone checks Content-MD5 itself: a signed PUT whose body differs is refused."""
    client = object_store._client
    with pytest.raises(ChecksumMismatch) as err:
        with object_store._errors("bad"):
            client._put_object(object_store.bucket, "bad", b"hello", {"Content-MD5": _md5_b64(b"other")})
    assert err.value.code == "BadDigest"
    assert object_store.stat("bad") is None

    # Same through a presigned URL (signature covers only the host), with a control.
    url = client.presigned_put_object(object_store.bucket, "pre")
    http = urllib3.PoolManager(retries=False)
    wrong = http.request("PUT", url, body=b"hello", headers={"Content-MD5": _md5_b64(b"other")})
    assert wrong.status == 400 and b"<Code>BadDigest</Code>" in wrong.data
    assert object_store.stat("pre") is None
    right = http.request("PUT", url, body=b"hello", headers={"Content-MD5": _md5_b64(b"hello")})
    assert right.status == 200
    assert object_store.get_bytes("pre") == b"hello"


@pytest.mark.parametrize("key", [
    "../x", "a/../x", "./x", "/x", "a//b", "a/", "a\\b", "a/\x00", "a\x1fb", "a\x7f", "",
    LONG_ASCII + "k", LONG_UTF8 + "é",
], ids=["dotdot", "inner-dotdot", "dot", "leading-slash", "empty-part", "trailing-slash",
        "backslash", "nul", "ctrl", "del", "empty", "too-long", "too-long-utf8"])
def test_bad_keys_refused(object_store: ObjectStore, key: str) -> None:
    with pytest.raises(BadKey) as err:
        check_key(key)
    assert err.value.code == "BadKey"
    with pytest.raises(BadKey):
        object_store.put_bytes(key, b"x")
    with pytest.raises(BadKey):
        object_store.stat(key)


@pytest.mark.parametrize("key", ["x", "a/b.c/d-e_f.flac", LONG_ASCII, LONG_UTF8, "a b/ü"],
                         ids=["short", "path", "long-ascii", "long-utf8", "space-umlaut"])
def test_good_keys_accepted(object_store: ObjectStore, key: str) -> None:
    assert len(LONG_ASCII.encode()) == len(LONG_UTF8.encode()) == 1024
    assert check_key(key) == key
    object_store.put_bytes(key, b"ok")
    assert object_store.get_bytes(key) == b"ok"
    assert list(object_store.iter_keys()) == [key]


def test_bad_prefix_refused(object_store: ObjectStore) -> None:
    with pytest.raises(BadKey):
        list(object_store.iter_keys("../"))
    with pytest.raises(BadKey):
        list(object_store.iter_keys("a//"))


def test_missing_bucket_is_a_store_error(s3_server) -> None:
    object_store = store_on(s3_server)
    with pytest.raises(StoreError) as err:
        object_store.put_bytes("k", b"x")
    assert type(err.value) is StoreError and err.value.code == "NoSuchBucket"
    object_store.ensure_bucket()
    object_store.ensure_bucket()
    object_store.put_bytes("k", b"x")


def test_wrong_credentials(s3_server, object_store) -> None:
    bad = ObjectStore(endpoint=s3_server.endpoint, access_key="nobody", secret_key="wrong",
                      bucket=object_store.bucket)
    with pytest.raises(StoreError) as err:
        bad.ping()
    assert type(err.value) is StoreError and err.value.code == "AccessDenied"


def test_ping(object_store: ObjectStore) -> None:
    assert object_store.ping() is True


def test_nothing_listening_is_unavailable_quickly() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    object_store = ObjectStore(endpoint=f"127.0.0.1:{port}", access_key="a", secret_key="b",
                        bucket="nobody-here", timeout_s=2.0)
    began = time.monotonic()
    with pytest.raises(StoreUnavailable) as err:
        object_store.put_bytes("k", b"x")
    assert time.monotonic() - began < 5
    assert err.value.code == "Unavailable"
    assert object_store.ping() is False


def test_hung_server_times_out_within_timeout() -> None:
    """A server that accepts connections but never answers costs about one timeout_s."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # the kernel completes handshakes; nobody ever reads
        port = listener.getsockname()[1]
        object_store = ObjectStore(endpoint=f"127.0.0.1:{port}", access_key="a", secret_key="b",
                            bucket="hung", timeout_s=1.0)
        began = time.monotonic()
        with pytest.raises(StoreUnavailable):
            object_store.stat("k")
        elapsed = time.monotonic() - began
    assert 0.9 < elapsed < 4


def test_repr_has_no_secret(s3_server, object_store) -> None:
    assert s3_server.secret_key not in repr(object_store)
