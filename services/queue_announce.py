"""The spoken call of a queue ticket ("请 A012 号到 3号窗口 办理") as a WAV file for the screens.

Mandarin speech comes from espeak-ng when ``espeak-ng`` is installed (``scripts/install.sh`` installs
Debian's ``espeak-ng``), with its voice ``cmn-Latn-pinyin``, not ``cmn``: espeak-ng's Mandarin
dictionary turns each character into pinyin with a tone number (请 → ``qing3``), and the ``cmn``
voice reads Latin text as English, so on Debian 12's espeak-ng 1.51 it says "qing three, hao
four" for 请号 (``espeak-ng -v cmn -x 请`` shows the switch to English). ``cmn-Latn-pinyin`` reads
that pinyin as Mandarin, and the ticket's letter as its Mandarin name (A → ēi). Without it the
answer is a two-tone chime (叮咚) and the screen shows the text. Either way the screen gets a mono
16-bit WAV from the same URL (espeak-ng's 22.05 kHz, the chime's 16 kHz).
"""
from __future__ import annotations

import io
import re
import shutil
import subprocess
import wave
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE_HZ = 16000
#: espeak-ng gets this long to speak one call.
TTS_TIMEOUT_S = 10.0
#: espeak-ng's Mandarin voice that reads its own dictionary's pinyin as Mandarin (see above).
VOICE = "cmn-Latn-pinyin"
#: words per minute: a little slower than espeak-ng's 175, for a hall
SPEED_WPM = 140


@dataclass(frozen=True)
class Announcement:
    wav: bytes
    #: ``espeak-ng``: spoken by espeak-ng; ``chime``: the fallback tone.
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


def _whole(streamed: bytes) -> bytes | None:
    """espeak-ng's ``--stdout`` WAV with true sizes: it streams, so its header gives the largest
    sizes possible (a player would think it hours long). None if it is not a PCM WAV with sound."""
    at = streamed.find(b"data", 12, 256)
    if not streamed.startswith(b"RIFF") or at < 0 or streamed[8:12] != b"WAVE":
        return None
    fmt = streamed.find(b"fmt ", 12, at)
    if fmt < 0:
        return None
    channels, rate_hz, bits = (int.from_bytes(streamed[fmt + 10:fmt + 12], "little"),
                               int.from_bytes(streamed[fmt + 12:fmt + 16], "little"),
                               int.from_bytes(streamed[fmt + 22:fmt + 24], "little"))
    pcm = streamed[at + 8:]
    if bits != 16 or not pcm:
        return None
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes(pcm[:len(pcm) // (2 * channels) * 2 * channels])
    return buf.getvalue()


def spoken(text: str) -> str:
    """``text`` as espeak-ng's pinyin voice should get it: each Latin letter on its own (it would
    read "c1" as the syllable c in tone 1 and drop the 1, "vip" as pinyin); numbers stay whole
    (12号窗口: 十二号窗口)."""
    return re.sub(r"(?<=[A-Za-z])(?=[0-9A-Za-z])|(?<=[0-9])(?=[A-Za-z])", " ", text)


def announce(text: str) -> Announcement:
    """The call spoken in Mandarin (espeak-ng, :data:`VOICE`), or the chime when that is not installed or fails."""
    exe = shutil.which("espeak-ng")
    if exe:
        try:
            out = subprocess.run([exe, "-v", VOICE, "-s", str(SPEED_WPM), "--stdout", spoken(text)], capture_output=True,
                                 timeout=TTS_TIMEOUT_S, check=True).stdout
            wav = _whole(out)
            if wav is not None:
                return Announcement(wav, "espeak-ng")
        except (OSError, subprocess.SubprocessError):
            pass
    return Announcement(chime(), "chime")
