"""The chunker cuts any block sizes into exact chunks with no gap and no overlap."""
from __future__ import annotations

import numpy as np
import pytest

from domain.audio import SILENCE_DBFS, level_dbfs
from recorder.chunker import Chunker


@pytest.mark.parametrize("channels", [1, 2])
def test_odd_block_sizes_give_exact_contiguous_chunks(channels: int) -> None:
    rng = np.random.default_rng(7)
    total = 100_003
    stream = rng.integers(-32768, 32767, (total, channels), dtype=np.int16)
    chunker = Chunker(chunk_samples=16_000, channels=channels)
    chunks = []
    pos = 0
    sizes = [1, 7, 1599, 1600, 1601, 15_999, 16_000, 16_001, 33_333, 0]
    i = 0
    while pos < total:
        n = min(sizes[i % len(sizes)], total - pos)
        chunks.extend(chunker.push(stream[pos:pos + n]))
        pos += n
        i += 1
    last = chunker.flush()
    assert last is not None
    chunks.append(last)
    assert chunker.flush() is None
    assert [c.samples for c in chunks] == [16_000] * 6 + [4_003]
    assert [c.start_sample for c in chunks] == [16_000 * k for k in range(7)]
    assert np.array_equal(np.concatenate([c.pcm for c in chunks]), stream)
    assert chunker.frames_in == total


def test_chunks_do_not_alias_the_buffer() -> None:
    chunker = Chunker(chunk_samples=4, channels=1)
    a = list(chunker.push(np.arange(4, dtype=np.int16).reshape(-1, 1)))
    list(chunker.push(np.full((4, 1), 9, dtype=np.int16)))
    assert a[0].pcm[:, 0].tolist() == [0, 1, 2, 3]


def test_flush_on_chunk_boundary_is_empty() -> None:
    chunker = Chunker(chunk_samples=10, channels=1)
    assert len(list(chunker.push(np.zeros((20, 1), dtype=np.int16)))) == 2
    assert chunker.flush() is None


def test_rejects_wrong_blocks() -> None:
    chunker = Chunker(chunk_samples=10, channels=2)
    with pytest.raises(ValueError):
        list(chunker.push(np.zeros((5, 1), dtype=np.int16)))
    with pytest.raises(ValueError):
        list(chunker.push(np.zeros((5, 2), dtype=np.float32)))


def test_levels() -> None:
    t = np.arange(16000) / 16000
    sine = np.round(32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16).reshape(-1, 1)
    rms, peak = level_dbfs(sine)
    assert rms == pytest.approx(-3.01, abs=0.02)
    assert peak == pytest.approx(0.0, abs=0.01)
    assert level_dbfs(np.zeros((100, 2), dtype=np.int16)) == (SILENCE_DBFS, SILENCE_DBFS)
    chunk = next(Chunker(chunk_samples=16000, channels=1).push(sine))
    assert (chunk.rms_dbfs, chunk.peak_dbfs) == (rms, peak)
