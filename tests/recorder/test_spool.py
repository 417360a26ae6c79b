"""The spool writes chunks durably, survives restarts and crashes, and keeps its quota."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from domain.chunks import ChunkMeta
from recorder.spool import Spool, SpoolFull

SESSION_A = "a" * 32
SESSION_B = "b" * 32


def meta(seq: int, data: bytes, *, session: str = SESSION_A, wall_s: float = 1_700_000_000.0,
         counter: str = "c1") -> ChunkMeta:
    import hashlib

    return ChunkMeta(site="s1", counter=counter, session=session, seq=seq, start_sample=seq * 160000,
                     samples=160000, sample_rate_hz=16000, channels=1, codec="flac",
                     sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data),
                     session_wall_start_s=wall_s, rms_dbfs=-30.0, peak_dbfs=-6.0)


def new_spool(root: Path, quota: int = 1_000_000) -> Spool:
    return Spool(root, site="s1", counter="c1", quota_bytes=quota)


def test_put_writes_audio_and_sidecar(tmp_path: Path) -> None:
    spool = new_spool(tmp_path)
    m = meta(0, b"x" * 100)
    path = spool.put(m, b"x" * 100)
    assert path == tmp_path / "s1" / "c1" / f"{SESSION_A}-00000000.flac"
    assert path.read_bytes() == b"x" * 100
    assert ChunkMeta.from_dict(json.loads(path.with_suffix(".json").read_text())) == m
    assert spool.pending() == [m]
    assert spool.usage_bytes == 100 + path.with_suffix(".json").stat().st_size
    assert not [p for p in spool.dir.iterdir() if p.name.startswith(".tmp-")]


def test_put_fsyncs_files_and_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr("recorder.spool.os.fsync", fsync)
    spool = new_spool(tmp_path)
    spool.put(meta(0, b"abc"), b"abc")
    d = str(spool.dir)
    # Each file is synced under its temporary name before the rename, then the directory.
    assert synced == [f"{d}/.tmp-{SESSION_A}-00000000.flac", f"{d}/.tmp-{SESSION_A}-00000000.json", d]


def test_pending_order_sessions_then_seq(tmp_path: Path) -> None:
    spool = new_spool(tmp_path)
    later = [meta(s, b"b", session=SESSION_A, wall_s=2000.0) for s in (1, 0)]
    earlier = [meta(s, b"a", session=SESSION_B, wall_s=1000.0) for s in (2, 0, 1)]
    for m in later + earlier:
        spool.put(m, b"b" if m.session == SESSION_A else b"a")
    assert [(m.session, m.seq) for m in spool.pending()] == (
        [(SESSION_B, 0), (SESSION_B, 1), (SESSION_B, 2), (SESSION_A, 0), (SESSION_A, 1)])


def test_restart_sees_pending_and_cleans_debris(tmp_path: Path) -> None:
    spool = new_spool(tmp_path)
    kept = [meta(s, b"d" * 10) for s in range(3)]
    for m in kept:
        spool.put(m, b"d" * 10)
    usage = spool.usage_bytes
    # Debris of a crash: a temp file mid-write, and audio whose sidecar never got renamed.
    (spool.dir / f".tmp-{SESSION_A}-00000003.flac").write_bytes(b"half")
    (spool.dir / f"{SESSION_A}-00000004.flac").write_bytes(b"orphan")
    (spool.dir / f".tmp-{SESSION_A}-00000004.json").write_text("{")
    again = new_spool(tmp_path)
    assert again.pending() == kept
    assert again.usage_bytes == usage
    assert sorted(p.name for p in again.dir.iterdir()) == sorted(
        n for m in kept for n in (f"{SESSION_A}-{m.seq:08d}.flac", f"{SESSION_A}-{m.seq:08d}.json"))


def test_damaged_chunk_is_moved_aside(tmp_path: Path) -> None:
    spool = new_spool(tmp_path)
    m = meta(0, b"12345")
    path = spool.put(m, b"12345")
    path.write_bytes(b"123")  # truncated behind our back
    again = new_spool(tmp_path)
    assert again.pending() == []
    assert path.with_name(path.name + ".bad").exists()


def test_remove_frees_space(tmp_path: Path) -> None:
    spool = new_spool(tmp_path)
    a, b = meta(0, b"1" * 50), meta(1, b"2" * 50)
    spool.put(a, b"1" * 50)
    spool.put(b, b"2" * 50)
    spool.remove(a)
    spool.remove(a)  # twice is harmless
    assert spool.pending() == [b]
    assert not spool.path_of(a).exists() and not spool.path_of(a).with_suffix(".json").exists()
    assert new_spool(tmp_path).pending() == [b]
    spool.remove(b)
    assert spool.usage_bytes == 0 and len(spool) == 0


def test_quota_raises_spool_full_and_writes_nothing(tmp_path: Path) -> None:
    data = b"z" * 1000
    sidecar = max(len(json.dumps(meta(s, data).to_dict(), sort_keys=True)) for s in range(5))
    quota = 4 * (1000 + sidecar) + 10
    spool = new_spool(tmp_path, quota=quota)
    for s in range(3):
        spool.put(meta(s, data), data)
    assert not spool.near_quota  # 3/4 of the quota is 75 %
    spool.put(meta(3, data), data)
    assert spool.near_quota
    with pytest.raises(SpoolFull) as exc:
        spool.put(meta(4, data), data)
    assert exc.value.quota_bytes == quota and exc.value.usage_bytes == spool.usage_bytes
    assert len(spool) == 4
    assert not spool.path_of(meta(4, data)).exists()
    spool.remove(meta(0, data))
    spool.put(meta(4, data), data)  # room again
    assert [m.seq for m in spool.pending()] == [1, 2, 3, 4]


def test_rejects_other_counter_and_wrong_size(tmp_path: Path) -> None:
    spool = new_spool(tmp_path)
    with pytest.raises(ValueError):
        spool.put(meta(0, b"a", counter="c2"), b"a")
    with pytest.raises(ValueError):
        spool.put(meta(0, b"abc"), b"ab")
