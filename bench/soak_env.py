"""Pieces of the soak and fault test (bench/soak.py): the PostgreSQL cluster that can be stopped
hard (``tests.support.postgres``, shared with the tests) and the input audio the agents play."""
from __future__ import annotations

import random
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RATE_HZ = 16000
SPEECH_FILES = {  # tests/data: real dialogue audio that every checkout has
    2: ["dev01-stereo-clean.flac", "dev05-stereo-clean.flac", "dev07-stereo-clean.flac", "dev14-stereo-clean.flac"],
    1: ["dev08-mono-noisy.flac", "dev24-mono-noisy.flac"],
}


def decode_input(path: Path, channels: int) -> np.ndarray:
    """Every frame of ``path`` as int16 (frames, channels) at 16 kHz, decoded by ffmpeg."""
    from recorder.sources import decode_file

    return decode_file(path, channels=channels)


def make_input(path: Path, *, channels: int, length_s: float, rng: random.Random) -> list[tuple[int, int]]:
    """Write a WAV of dialogues from tests/data separated by 10-25 s of silence, at least
    ``length_s`` long; return where the dialogues are (sample ranges)."""
    clips = [decode_input(ROOT / "tests" / "data" / n, channels) for n in SPEECH_FILES[channels]]
    parts, placed, pos = [], [], 0
    while pos < length_s * RATE_HZ:
        gap = np.zeros((int(rng.uniform(10, 25) * RATE_HZ), channels), dtype=np.int16)
        clip = rng.choice(clips)
        parts += [gap, clip]
        placed.append((pos + len(gap), pos + len(gap) + len(clip)))
        pos += len(gap) + len(clip)
    pcm = np.concatenate(parts)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(RATE_HZ)
        w.writeframes(np.ascontiguousarray(pcm).tobytes())
    return placed
