"""Speech enhancement in front of the recogniser, for the not-assessable experiments (issue 14).

Each function takes and returns 16 kHz mono float32. The packages are not dependencies of
counterwatch: measured, none improved recognition of hall babble enough to keep (see
docs/benchmarks.md); install them into a folder of their own to rerun the experiment:

    pip install --target /tmp/enh noisereduce pyrnnoise webrtc-noise-gain
    PYTHONPATH=/tmp/enh python bench/accuracy.py --set tuning --variants ... --enhance rnnoise
"""
from __future__ import annotations

import numpy as np

SR = 16000


def noisereduce(x: np.ndarray) -> np.ndarray:
    """Spectral gating (noisereduce), non-stationary noise estimate."""
    import noisereduce as nr
    return nr.reduce_noise(y=x, sr=SR, stationary=False).astype(np.float32)


def rnnoise(x: np.ndarray) -> np.ndarray:
    """RNNoise (pyrnnoise), the recurrent-network suppressor; it runs at 48 kHz internally."""
    from pyrnnoise import RNNoise
    pcm = (np.clip(x, -1, 1) * 32767).astype(np.int16)[None, :]
    out = [frame for _, frame in RNNoise(SR).denoise_chunk(pcm, partial=True)]
    y = np.concatenate(out, axis=1)[0].astype(np.float32) / 32768.0
    return np.pad(y, (0, max(0, len(x) - len(y))))[:len(x)]


def webrtc(x: np.ndarray) -> np.ndarray:
    """WebRTC noise suppression (level 3) without automatic gain (webrtc-noise-gain)."""
    from webrtc_noise_gain import AudioProcessor
    ap = AudioProcessor(0, 3)
    pcm = (np.clip(x, -1, 1) * 32767).astype(np.int16)
    n = 160
    out = bytearray()
    for i in range(0, len(pcm) - n + 1, n):
        out += ap.Process10ms(pcm[i:i + n].tobytes()).audio
    y = np.frombuffer(bytes(out), dtype=np.int16).astype(np.float32) / 32768.0
    return np.pad(y, (0, len(x) - len(y)))


METHODS = {"noisereduce": noisereduce, "rnnoise": rnnoise, "webrtc": webrtc}


class EnhancingTranscriber:
    """Hands the recogniser enhanced audio; speakers and turns still see the original."""

    def __init__(self, inner, method: str) -> None:  # noqa: ANN001 - any transcriber
        self.inner, self.fn = inner, METHODS[method]

    @property
    def options(self):  # noqa: ANN201
        return self.inner.options

    def transcribe(self, samples: np.ndarray):  # noqa: ANN201
        return self.inner.transcribe(self.fn(np.asarray(samples, dtype=np.float32)))
