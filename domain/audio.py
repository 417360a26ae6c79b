"""Audio facts every stage shares: the capture rate, levels in dBFS, the WAV header."""
from __future__ import annotations

import math
import struct

import numpy as np

#: Agents capture, and the analysis runs, at this rate.
SAMPLE_RATE_HZ = 16000
#: Digital silence has no finite level; this floor is reported instead (and keeps JSON finite).
SILENCE_DBFS = -120.0
FULL_SCALE = 32768.0
WAV_HEADER_BYTES = 44
SAMPLE_BYTES = 2            # 16-bit PCM
_MAX_RIFF = 0xFFFFFFFF


def to_dbfs(ratio: float) -> float:
    """An amplitude ratio to full scale, in dB (floored at :data:`SILENCE_DBFS`, 2 decimals)."""
    if ratio <= 0.0:
        return SILENCE_DBFS
    return max(SILENCE_DBFS, round(20.0 * math.log10(ratio), 2))


def level_dbfs(pcm: np.ndarray) -> tuple[float, float]:
    """RMS and peak level of int16 ``pcm`` over all channels, in dBFS (full scale = 0 dB)."""
    if pcm.size == 0:
        return SILENCE_DBFS, SILENCE_DBFS
    x = pcm.astype(np.float64)
    rms = math.sqrt(float(np.mean(x * x))) / FULL_SCALE
    peak = float(np.max(np.abs(x))) / FULL_SCALE
    return to_dbfs(rms), to_dbfs(peak)


def wav_header(*, sample_rate_hz: int, channels: int, data_bytes: int | None) -> bytes:
    """A 44-byte PCM WAV header; ``data_bytes=None``: an open-ended stream (largest size)."""
    block = channels * SAMPLE_BYTES
    if data_bytes is None:
        data_bytes = (_MAX_RIFF - 36) // block * block
    return struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + data_bytes, b"WAVE", b"fmt ", 16, 1, channels,
                       sample_rate_hz, sample_rate_hz * block, block, 8 * SAMPLE_BYTES, b"data", data_bytes)
