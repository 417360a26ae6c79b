"""Decode audio files into float32 sample arrays at the analysis rate.

PyAV (the FFmpeg bindings faster-whisper itself decodes with) reads anything FFmpeg reads;
every channel is kept, so that a stereo intercom recording can tell staff from customer.
"""
from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from domain.audio import SAMPLE_RATE_HZ
from transcribe.errors import AudioError


@dataclass(frozen=True)
class Audio:
    """Decoded audio: ``samples`` has shape (channels, frames), float32 in [-1, 1]."""

    samples: np.ndarray
    sample_rate_hz: int

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration_s(self) -> float:
        return self.samples.shape[1] / self.sample_rate_hz

    def mono(self) -> np.ndarray:
        """The channels averaged into one (what the speech model hears)."""
        if self.channels == 1:
            return self.samples[0]
        return self.samples.mean(axis=0, dtype=np.float32)


def load_audio(path: str | Path, *, sample_rate_hz: int = SAMPLE_RATE_HZ) -> Audio:
    """Decode ``path`` to ``sample_rate_hz``, keeping up to two channels.

    Files with more than two channels are mixed down to stereo. Any input sample rate is
    resampled.

    Raises:
        AudioError: the file is missing, not audio, truncated beyond use, or empty.
    """
    path = str(path)
    if not Path(path).is_file():
        raise AudioError(path, "no such file")
    try:
        container = av.open(path, metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError) as e:
        raise AudioError(path, f"not a readable audio file ({e.__class__.__name__}: {e})") from e
    chunks: list[np.ndarray] = []
    try:
        if not container.streams.audio:
            raise AudioError(path, "the file has no audio stream")
        stream = container.streams.audio[0]
        layout = "mono" if (stream.codec_context.channels or 1) == 1 else "stereo"
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=sample_rate_hz)
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
        except av.error.FFmpegError as e:
            # A truncated file decodes up to the damage; keep what came out if anything did.
            if not chunks:
                raise AudioError(path, f"cannot decode audio ({e})") from e
    finally:
        container.close()
        # PyAV frames hold native buffers; see faster-whisper audio.py on the same call.
        gc.collect()
    if not chunks:
        raise AudioError(path, "no audio samples decoded (empty or truncated file)")
    samples = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
    return Audio(samples=samples, sample_rate_hz=sample_rate_hz)
