"""Uploader retry and quarantine logic against a scripted sink (the real API and store are in
test_agent.py and tests/api/test_agent_ingest.py)."""
from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

import pytest

from domain.chunks import ChunkMeta
from recorder.client import ApiRefused, ApiUnavailable, ChunkRefused
from recorder.spool import Spool
from recorder.uploader import Backoff, Uploader

FAST = Backoff(initial_s=0.001, max_s=0.004)


class FakeSink:
    """Records chunks sent; ``failures`` is a list of exceptions to raise on the next calls."""

    timeout_s = 1.0

    def __init__(self, failures: list[Exception] | None = None) -> None:
        self.failures = list(failures or [])
        self.objects: dict[str, bytes] = {}
        self.order: list[str] = []
        self.calls = 0

    def send_chunk(self, meta: ChunkMeta, path: Path) -> bool:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        data = Path(path).read_bytes()
        assert meta.sha256 == hashlib.sha256(data).hexdigest()
        self.objects[meta.key] = data
        self.order.append(meta.key)
        return True


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
    store = FakeSink()
    assert Uploader(spool, store, backoff=FAST).upload_pending(threading.Event()) == 7
    assert store.order == [m.key for m in old + new]
    assert len(spool) == 0


def test_retries_keep_order_and_log(spool: Spool, caplog: pytest.LogCaptureFixture) -> None:
    metas = fill(spool, 4)
    store = FakeSink([ApiUnavailable("refused")] * 3
                     + [ApiRefused("HTTP 401 bad_token", status=401)]
                     + [ApiUnavailable("HTTP 503", status=503)])
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

    def on_stored(meta: ChunkMeta) -> None:
        # The chunk is still spooled while the callback runs.
        assert spool.path_of(meta).exists()
        seen.append((meta.key, len(spool)))
        if fail_once.pop() if fail_once else False:
            raise RuntimeError("database down")

    store = FakeSink()
    assert Uploader(spool, store, on_stored=on_stored, backoff=FAST).upload_pending(threading.Event()) == 2
    # First callback failed: the chunk was kept and uploaded again before moving on.
    assert [k for k, _ in seen] == [metas[0].key, metas[0].key, metas[1].key]
    assert len(spool) == 0


def test_stop_interrupts_backoff_and_keeps_chunks(spool: Spool) -> None:
    fill(spool, 2)
    store = FakeSink([ApiUnavailable("down")] * 1000)
    stop = threading.Event()
    uploader = Uploader(spool, store, backoff=Backoff(initial_s=60.0, max_s=60.0))
    t = threading.Timer(0.2, stop.set)
    t.start()
    assert uploader.upload_pending(stop) == 0
    assert store.calls == 1  # one put try, then the 60 s wait cut short by the stop
    assert len(spool) == 2 and uploader.failing


def test_thread_uploads_what_is_notified(spool: Spool) -> None:
    store = FakeSink()
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


def test_a_chunk_refused_for_good_is_quarantined_once_and_the_rest_goes_on(spool: Spool,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
    metas = fill(spool, 3)
    store = FakeSink([ChunkRefused("HTTP 409 chunk_conflict", status=409, code="chunk_conflict",
                                   detail={"stored_sha256": "a" * 64, "offered_sha256": metas[0].sha256})])
    uploader = Uploader(spool, store, backoff=FAST)
    with caplog.at_level(logging.ERROR, logger="recorder"):
        assert uploader.upload_pending(threading.Event()) == 2
    assert store.calls == 3 and store.order == [m.key for m in metas[1:]]       # never sent again
    assert uploader.quarantined == 1 and uploader.retries == 0 and len(spool) == 0
    assert spool.quarantined == 1
    kept = spool.quarantine_dir / spool.path_of(metas[0]).name
    assert kept.read_bytes() == f"chunk {metas[0].session} {metas[0].seq}".encode()
    reason = kept.with_suffix(".reason").read_text()
    assert "chunk_conflict" in reason and "a" * 64 in reason
    assert any("refused chunk" in r.getMessage() and "moved to" in r.getMessage() for r in caplog.records)
    # A new spool on the folder (the agent restarted) does not pick the quarantined chunk up.
    again = Spool(spool.dir.parent.parent, site="s1", counter="c1", quota_bytes=10**6)
    assert len(again) == 0 and again.quarantined == 1
