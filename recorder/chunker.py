"""Cut a stream of capture blocks into fixed-length chunks, sample for sample.

Every frame pushed comes out in exactly one chunk, in order: chunk ``n`` starts at frame
``n * chunk_samples`` of the stream, only the chunk returned by :meth:`Chunker.flush` may be
shorter, and nothing is duplicated or lost between chunks whatever the block sizes.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from domain.audio import level_dbfs


@dataclass(frozen=True)
class PcmChunk:
    """``pcm`` (int16, (frames, channels)) starting at frame ``start_sample`` of the stream."""

    start_sample: int
    pcm: np.ndarray
    rms_dbfs: float
    peak_dbfs: float

    @property
    def samples(self) -> int:
        return int(self.pcm.shape[0])


class Chunker:
    """Accumulates blocks and emits chunks of exactly ``chunk_samples`` frames."""

    def __init__(self, *, chunk_samples: int, channels: int) -> None:
        if chunk_samples <= 0:
            raise ValueError(f"chunk_samples must be positive, not {chunk_samples}")
        self.chunk_samples = chunk_samples
        self.channels = channels
        self._buf = np.empty((chunk_samples, channels), dtype=np.int16)
        self._fill = 0
        self._next_start = 0  # stream frame at which the buffered chunk starts

    @property
    def frames_in(self) -> int:
        """Frames pushed so far."""
        return self._next_start + self._fill

    @property
    def buffered_frames(self) -> int:
        return self._fill

    def push(self, block: np.ndarray) -> Iterator[PcmChunk]:
        """Add ``block`` (int16, (frames, channels)); yield every chunk it completes.

        Raises:
            ValueError: the block has the wrong dtype or channel count.
        """
        if block.dtype != np.int16 or block.ndim != 2 or block.shape[1] != self.channels:
            raise ValueError(f"expected int16 blocks shaped (n, {self.channels}), "
                             f"got {block.dtype} {block.shape}")
        pos = 0
        n = block.shape[0]
        while pos < n:
            take = min(n - pos, self.chunk_samples - self._fill)
            self._buf[self._fill:self._fill + take] = block[pos:pos + take]
            self._fill += take
            pos += take
            if self._fill == self.chunk_samples:
                yield self._emit()

    def flush(self) -> PcmChunk | None:
        """Emit the buffered partial chunk, if any frames are waiting."""
        if self._fill == 0:
            return None
        return self._emit()

    def _emit(self) -> PcmChunk:
        pcm = self._buf[:self._fill].copy()
        rms, peak = level_dbfs(pcm)
        chunk = PcmChunk(start_sample=self._next_start, pcm=pcm, rms_dbfs=rms, peak_dbfs=peak)
        self._next_start += self._fill
        self._fill = 0
        return chunk
