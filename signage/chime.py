"""The queue-call chime: a short two-tone ding-dong, generated (no binary file in the tree).

Its tones, :data:`TONES_HZ`, are what the tests listen for on the sink's monitor.
"""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

#: Two notes (E6, C6), each ``NOTE_MS`` long, decaying.
TONES_HZ = (1318.5, 1046.5)
NOTE_MS = 300
#: Silence after the notes: VLC may stop its audio output at the end of the file before the
#: last buffer is heard (seen on PulseAudio: the second note cut off now and then).
TAIL_MS = 600
RATE_HZ = 48000
PEAK = 0.5


def chime_samples(*, rate_hz: int = RATE_HZ) -> np.ndarray:
    """The chime as int16 mono samples."""
    n = int(rate_hz * NOTE_MS / 1000)
    t = np.arange(n) / rate_hz
    envelope = np.exp(-t * 6.0) * np.minimum(1.0, t / 0.005)    # 5 ms attack, no click
    notes = [np.sin(2 * np.pi * f * t) * envelope for f in TONES_HZ]
    tail = np.zeros(int(rate_hz * TAIL_MS / 1000))
    return (np.concatenate([*notes, tail]) * PEAK * 32767).astype(np.int16)


def write_chime(path: Path, *, rate_hz: int = RATE_HZ) -> Path:
    """Write the chime as a 16-bit mono WAV at ``path`` (anew each start: a few kB, and an
    older version's file is replaced); returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes(chime_samples(rate_hz=rate_hz).tobytes())
    tmp.replace(path)
    return path
