"""The spoken call of a queue ticket ("请 A012 号到 3号窗口 办理") as a WAV file for the screens.

Mandarin speech comes from espeak-ng's ``cmn`` voice when ``espeak-ng`` is installed (Debian:
``apt install espeak-ng``); without it the answer is a two-tone chime (叮咚) and the screen shows the
text. Either way the screen gets a WAV (16 kHz mono) from the same URL.
"""
from __future__ import annotations

import io
import shutil
import subprocess
import wave
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE_HZ = 16000
#: espeak-ng gets this long to speak one call.
TTS_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Announcement:
    wav: bytes
    #: ``tts``: spoken by espeak-ng; ``chime``: the fallback tone.
    source: str


def call_text(*, ticket: str, counter_label: str) -> str:
    """What is said and shown: 请 A012 号到 3号窗口 办理."""
    spoken = " ".join(ticket)       # letter and digits one by one, as halls announce them
    return f"请 {spoken} 号到 {counter_label} 办理"


def chime() -> bytes:
    """A soft two-tone chime (叮咚), 0.9 s."""
    t1 = np.arange(int(0.45 * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    tones = [np.sin(2 * np.pi * f * t1) * np.exp(-3.0 * t1) for f in (880.0, 660.0)]
    pcm = (np.concatenate(tones) * 0.5 * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE_HZ)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def announce(text: str) -> Announcement:
    """The call spoken in Mandarin (espeak-ng ``cmn``), or the chime when that is not installed or fails."""
    exe = shutil.which("espeak-ng")
    if exe:
        try:
            out = subprocess.run([exe, "-v", "cmn", "-s", "140", "--stdout", text], capture_output=True,
                                 timeout=TTS_TIMEOUT_S, check=True).stdout
            if out.startswith(b"RIFF"):
                return Announcement(out, "tts")
        except (OSError, subprocess.SubprocessError):
            pass
    return Announcement(chime(), "chime")
