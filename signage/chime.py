"""The queue-call chime: a short two-tone ding-dong, generated (no binary file in the tree).

Its tones, :data:`TONES_HZ`, are what the tests listen for on the sink's monitor.
"""
from __future__ import annotations

import array
import math
import sys
import wave
from pathlib import Path

#: Two notes (E6, C6), each ``NOTE_MS`` long, decaying.
TONES_HZ = (1318.5, 1046.5)
NOTE_MS = 300
#: Silence after the notes: VLC may stop its audio output at the end of the file before the
#: last buffer is heard (seen on PulseAudio: the second note cut off now and then).
TAIL_MS = 600
RATE_HZ = 48000
PEAK = 0.5


def chime_samples(*, rate_hz: int = RATE_HZ) -> array.array:
    """The chime as int16 mono samples (plain Python: a screen box has no numpy)."""
    n = int(rate_hz * NOTE_MS / 1000)
    envelope = [math.exp(-i / rate_hz * 6.0) * min(1.0, i / rate_hz / 0.005) for i in range(n)]   # 5 ms attack
    out = array.array("h")
    for f in TONES_HZ:
        w = 2 * math.pi * f / rate_hz
        out.extend(int(math.sin(w * i) * envelope[i] * PEAK * 32767) for i in range(n))
    out.extend([0] * int(rate_hz * TAIL_MS / 1000))
    return out


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
        samples = chime_samples(rate_hz=rate_hz)
        if sys.byteorder != "little":   # WAV is little-endian
            samples.byteswap()
        w.writeframes(samples.tobytes())
    tmp.replace(path)
    return path
