"""Uploader retry logic against a scripted fake store (the real store is in test_agent.py)."""
from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

import pytest

from domain.chunks import ChunkMeta
from recorder.spool import Spool
from recorder.uploader import Backoff, Uploader
from storage.objects import ObjectInfo
from storage.store_errors import ChecksumMismatch, StoreUnavailable

FAST = Backoff(initial_s=0.001, max_s=0.004)


class FakeStore:
    """Records puts; ``failures`` is a list of exceptions to raise on the next put calls."""

    def __init__(self, failures: list[Exception] | None = None) -> None:
        self.failures = list(failures or [])
        self.objects: dict[str, bytes] = {}
        self.order: list[str] = []
        self.calls = 0
        self.bucket_calls = 0

    def ensure_bucket(self) -> None:
        self.bucket_calls += 1

    def put_file(self, key, path, *, content_type="application/octet-stream", metadata=None) -> ObjectInfo:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        data = Path(path).read_bytes()
        assert content_type == "audio/flac"
        assert metadata["sha256"] == hashlib.sha256(data).hexdigest()
        self.objects[key] = data
        self.order.append(key)
        return ObjectInfo(key=key, size_bytes=len(data), md5_hex=hashlib.md5(data).hexdigest(),
                          metadata=dict(metadata))


def fill(spool: Spool, n: int, session: str = "f" * 32, wall_s: float = 1_700_000_000.0) -> list[ChunkMeta]:
    metas = []
    for seq in range(n):
        data = f"chunk {session} {seq}".encode()
        m = ChunkMeta(site="s1", counter="c1", session=session, seq=seq, start_sample=seq * 10,
                      samples=10, sample_rate_hz=16000, channels=1, codec="flac",
                      sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data),
                      session_wall_start_s=wall_s, rms_dbfs=-20.0, peak_dbfs=-3.0)
        spool.put(m, data)
        metas.append(m)
    return metas


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    return Spool(tmp_path, site="s1", counter="c1", quota_bytes=10**6)


def test_backoff_doubles_from_half_a_second_to_30() -> None:
    assert [Backoff().delay_s(a) for a in range(1, 10)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]


def test_uploads_in_order_and_empties_spool(spool: Spool) -> None:
    old = fill(spool, 3, session="0" * 32, wall_s=1000.0)
    new = fill(spool, 4, session="1" * 32, wall_s=2000.0)
    store = FakeStore()
    assert Uploader(spool, store, backoff=FAST).upload_pending(threading.Event()) == 7
    assert store.order == [m.key for m in old + new]
    assert len(spool) == 0 and store.bucket_calls == 1


def test_retries_keep_order_and_log(spool: Spool, caplog: pytest.LogCaptureFixture) -> None:
    metas = fill(spool, 4)
    store = FakeStore([StoreUnavailable("Unavailable", "refused")] * 3
                      + [ChecksumMismatch("BadDigest", "md5")]
                      + [StoreUnavailable("Unavailable", "refused")])
    uploader = Uploader(spool, store, backoff=FAST)
    with caplog.at_level(logging.WARNING, logger="recorder"):
        assert uploader.upload_pending(threading.Event()) == 4
    assert store.order == [m.key for m in metas]
    assert uploader.retries == 5 and not uploader.failing
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(warnings) == 4 and len(errors) == 1
    assert all("counter c1" in r.getMessage() for r in warnings + errors)
    assert "retry 3 in" in warnings[2].getMessage()


def test_chunk_stays_until_on_stored_returns(spool: Spool) -> None:
    metas = fill(spool, 2)
    seen: list[tuple[str, int]] = []
    fail_once = [True]

    def on_stored(meta: ChunkMeta, info: ObjectInfo) -> None:
        # The chunk is still spooled while the callback runs.
        assert spool.path_of(meta).exists()
        seen.append((meta.key, len(spool)))
        if fail_once.pop() if fail_once else False:
            raise RuntimeError("database down")

    store = FakeStore()
    assert Uploader(spool, store, on_stored=on_stored, backoff=FAST).upload_pending(threading.Event()) == 2
    # First callback failed: the chunk was kept and uploaded again before moving on.
    assert [k for k, _ in seen] == [metas[0].key, metas[0].key, metas[1].key]
    assert len(spool) == 0


def test_stop_interrupts_backoff_and_keeps_chunks(spool: Spool) -> None:
    fill(spool, 2)
    store = FakeStore([StoreUnavailable("Unavailable", "down")] * 1000)
    stop = threading.Event()
    uploader = Uploader(spool, store, backoff=Backoff(initial_s=60.0, max_s=60.0))
    t = threading.Timer(0.2, stop.set)
    t.start()
    assert uploader.upload_pending(stop) == 0
    assert store.calls == 1  # one put try, then the 60 s wait cut short by the stop
    assert len(spool) == 2 and uploader.failing


def test_thread_uploads_what_is_notified(spool: Spool) -> None:
    store = FakeStore()
    uploader = Uploader(spool, store, backoff=FAST)
    halt = threading.Event()
    uploader.start(halt)
    metas = fill(spool, 3)
    uploader.notify()
    for _ in range(200):
        if len(store.order) == 3:
            break
        halt.wait(0.01)
    halt.set()
    uploader.join(5)
    assert store.order == [m.key for m in metas]
