"""Helpers shared by the recorder tests (imported as a module; fixtures live in conftest)."""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from recorder.sources import decode_file

RATE_HZ = 16000


def read_all(path: Path, *, channels: int) -> np.ndarray:
    """Every frame of ``path`` as int16 (frames, channels) at 16 kHz, decoded by ffmpeg."""
    return decode_file(path, channels=channels, block_frames=16000)


def write_wav(path: Path, pcm: np.ndarray, *, rate_hz: int = RATE_HZ) -> Path:
    """Write int16 (frames, channels) as a PCM WAV file."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(pcm.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes(np.ascontiguousarray(pcm).tobytes())
    return path


def best_correlation(captured: np.ndarray, played: np.ndarray) -> tuple[float, int]:
    """Normalized cross-correlation of ``played`` with ``captured`` (first channels) at the
    best lag, over their overlap; returns (correlation, lag in frames, may be negative when
    the capture missed the start)."""
    y = captured[:, 0].astype(np.float64)
    x = played[:, 0].astype(np.float64)
    size = 1 << int(np.ceil(np.log2(len(y) + len(x))))
    c = np.fft.irfft(np.fft.rfft(y, size) * np.conj(np.fft.rfft(x, size)), size)
    # Circular index k >= size - len(x) stands for the negative lag k - size.
    k = int(np.argmax(c))
    lag = k if k < size - len(x) else k - size
    a = y[max(0, lag):max(0, lag) + len(x) - max(0, -lag)]
    b = x[max(0, -lag):max(0, -lag) + len(a)]
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9)), lag
