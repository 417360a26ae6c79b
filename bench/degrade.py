#!/usr/bin/env python3
"""Hall-condition variants of stereo-clean counter dialogues (seeded, deterministic).

Input: a stereo-clean dialogue as the corpus has it (16 kHz, left = staff mic, right =
customer mic, 12 % crosstalk each way already in it). Output: the same dialogue as a busy
service hall's intercom would record it, 16 kHz. Needs numpy and the ffmpeg binary only
(runs in the project venv).

    python bench/degrade.py --variant stereo-busy --seed 1 --babble-from bench/tuning --out OUT in.flac ...
    python bench/degrade.py --cache bench/.cache --set heldout --variants all --seed 1

Same input, variant, seed and babble sources -> byte-identical output (on one machine: one
numpy and one ffmpeg build). The CLI derives each file's seed from --seed and the dialogue
id, so every dialogue gets its own room, babble and level curve.

Steps (in this order) and their parameters; `HallParams` holds them:

1. level changes (talkers move, lean in, turn away): per channel, a slowly varying gain,
   knots every 1.0-3.0 s (uniform), knot gains uniform in [-9, +3] dB, raised-cosine
   interpolation between knots. Independent per channel.
2. room reverberation (synthetic room impulse response, per channel): direct path; 8 early
   reflections at 3-30 ms with amplitudes 0.2-0.6 of the direct path, random sign; a late
   tail of Gaussian noise from 5 ms with an exponential decay in two bands (below 2 kHz
   RT60 = `rt60_s`, above 2 kHz 0.6 x RT60: air and furnishing absorb highs faster);
   early + late scaled so the direct-to-reverberant energy ratio is `drr_db`. Counter
   mics are close to the talker: busy RT60 0.8 s, DRR +4 dB.
3. babble from OTHER speech: `babble_talkers` (8) channels of other dialogues (never the
   one being degraded), each speed-perturbed by a random factor 0.88-1.14 (pitch and tempo
   move together, so the one TTS voice becomes several voices), looped with a random time
   shift, gain +-3 dB, and put through its own distant-talker room response (RT60
   `rt60_s`, DRR -8 dB) separately for each mic. The babble sum at each mic is scaled so
   its mean power is `babble_db` below that channel's active speech level (P.56-like:
   mean power of the 20 ms frames above a threshold 15.9 dB under the level, iterated),
   measured on the speech after steps 1-2. Busy hall: 15 dB below; very busy: 8 dB below.
4. crosstalk between the channels up to `crosstalk` (0.30) in total: the source already
   has 12 %, so each channel gets x of the other with (0.12 + x) / (1 + 0.12 x) = 0.30.
5. mono down-mix (mono-* variants): (L + R) / 2.
6. clipping: an input gain such that `clip_fraction` (0.1 %) of the samples in active
   speech frames exceed full scale, then a hard clip at +-1 (a hot preamp into the ADC).
7. codec round trip: resample to 8 kHz (ffmpeg's resampler), G.711 mu-law (`mulaw`,
   default) or A-law (`alaw`) encode and decode, back to 16 kHz; or Opus narrowband
   (`opus`: libopus, 8 kHz input, 12 kbit/s, VoIP mode, 4 kHz cutoff). A "-alaw" or
   "-opus" suffix on a busy variant name picks the codec (e.g. mono-busy-opus).
8. output: float32 in [-1, 1), written as 16-bit 16 kHz FLAC (ffmpeg, bitexact).

Named variants:
- stereo-clean: identity. mono-clean: (L + R) / 2.
- mono-noisy: the corpus recipe, from stereo-clean: L + R (the staff + customer mix up to
  a factor), brown noise (SoX's `synth brownnoise` algorithm: a random walk with uniform
  steps of at most 1/16, a step that would leave [-1, 1] drawn again; seeded numpy
  instead of SoX) at 12 dB SNR against the mean power of the non-zero samples, then a
  zero-phase 4th-order Butterworth band-pass 300-3400 Hz (the magnitude response of
  scipy's butter + sosfiltfilt, applied in the frequency domain), peak normalised to 0.8.
- stereo-busy, mono-busy: steps 1-8 with babble 15 dB below the speech.
- stereo-verybusy, mono-verybusy: the same with babble 8 dB below the speech.
- babble-only, mono-babble-only: the very-busy recording of the hall with the counter
  speech taken out (babble at the level it has in stereo-verybusy / mono-verybusy, same
  room, crosstalk, gain and codec): nobody at the counter, for a "not assessable" test;
  the right answer is no flags at all.

Measured figures (`report` of `degrade()`, also in the cache manifest):
- babble_snr_db: per channel, active speech level / babble mean power at the mix point
  (step 3; by construction `babble_db`).
- output_snr_db: per output channel, active level of the same chain run without babble
  (same room, gains, clip gain and codec) / mean power of (output - that reference): the
  SNR against everything the hall added on top of the speech, codec and clipping
  distortion included.
- gap_snr_db: from the output alone, active level / mean power of the frames where the
  source dialogue is silent on both channels (what one would measure on a recording).
- clipped_fraction: share of output samples at full scale before the codec.
- mono-noisy: snr_fullband_db (12 by construction) and snr_inband_db (speech part and
  noise part each through the band-pass).
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import hashlib
import json
import subprocess
import sys
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SR = 16000
SOURCE_CROSSTALK = 0.12
ROOT = Path(__file__).resolve().parent.parent


def _shared_corpus() -> Path:
    """shared/corpus beside the checkout, or beside a folder above it (a worktree)."""
    for d in ROOT.parents:
        if (d / "shared" / "corpus" / "labels.json").is_file():
            return d / "shared" / "corpus"
    return ROOT.parent / "shared" / "corpus"


SETS = {
    "corpus": _shared_corpus(),
    "heldout": ROOT / "bench" / "heldout",
    "tuning": ROOT / "bench" / "tuning",
}
#: Babble always comes from the tuning set (in the repo, and not secret), minus the
#: dialogue being degraded.
DEFAULT_BABBLE = ROOT / "bench" / "tuning"
DEFAULT_CACHE = ROOT / "bench" / ".cache"

# step ids for the per-step random streams (a change in one step never moves another's draws)
_LEVEL, _RIR, _BABBLE, _NOISE = 1, 2, 3, 4


@dataclass(frozen=True)
class HallParams:
    rt60_s: float = 0.8
    drr_db: float = 4.0
    babble_db: float = 15.0          # babble this far below the active speech level
    babble_talkers: int = 8
    babble_rate: tuple[float, float] = (0.88, 1.14)
    babble_drr_db: float = -8.0
    crosstalk: float = 0.30          # total, the source's 12 % included
    level_db: tuple[float, float] = (-9.0, 3.0)
    level_knot_s: tuple[float, float] = (1.0, 3.0)
    clip_fraction: float = 0.001
    codec: str = "mulaw"             # mulaw | alaw | opus | none
    mono: bool = False
    speech: bool = True              # False: babble only


BUSY = HallParams()
VERYBUSY = dataclasses.replace(BUSY, babble_db=8.0)

VARIANTS: dict[str, HallParams | str] = {
    "stereo-clean": "identity",
    "mono-clean": "mono",
    "mono-noisy": "mono-noisy",
    "stereo-busy": BUSY,
    "mono-busy": dataclasses.replace(BUSY, mono=True),
    "stereo-verybusy": VERYBUSY,
    "mono-verybusy": dataclasses.replace(VERYBUSY, mono=True),
    "babble-only": dataclasses.replace(VERYBUSY, speech=False),
    "mono-babble-only": dataclasses.replace(VERYBUSY, speech=False, mono=True),
}
CODECS = ("mulaw", "alaw", "opus")
MONO_NOISY_SNR_DB = 12.0
MONO_NOISY_BAND = (300.0, 3400.0)


def variant_params(variant: str) -> HallParams | str:
    """The recipe of a variant name; busy-type names take a -mulaw/-alaw/-opus suffix."""
    if variant in VARIANTS:
        return VARIANTS[variant]
    base, _, codec = variant.rpartition("-")
    if codec in CODECS and isinstance(VARIANTS.get(base), HallParams):
        return dataclasses.replace(VARIANTS[base], codec=codec)
    raise ValueError(f"unknown variant {variant!r}; known: {', '.join(all_variants())}")


def all_variants() -> list[str]:
    return list(VARIANTS)


def is_mono(variant: str) -> bool:
    p = variant_params(variant)
    return p in ("mono", "mono-noisy") or (isinstance(p, HallParams) and p.mono)


def is_babble_only(variant: str) -> bool:
    p = variant_params(variant)
    return isinstance(p, HallParams) and not p.speech


# -- signal helpers ----------------------------------------------------------------------

def _rng(seed: int | Sequence[int], *stream: int) -> np.random.Generator:
    base = list(seed) if isinstance(seed, (list, tuple)) else [int(seed)]
    return np.random.default_rng(np.random.SeedSequence(base + list(stream)))


def _nfft(n: int) -> int:
    return 1 << max(1, int(n - 1).bit_length())


def fft_convolve(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """x * h, truncated to len(x)."""
    n = _nfft(len(x) + len(h) - 1)
    y = np.fft.irfft(np.fft.rfft(x, n) * np.fft.rfft(h, n), n)
    return y[:len(x)]


def frame_power(x: np.ndarray, sr: int, frame_s: float = 0.02) -> np.ndarray:
    f = int(frame_s * sr)
    n = len(x) // f
    return np.mean(x[:n * f].reshape(n, f).astype(np.float64) ** 2, axis=1)


def active_level(x: np.ndarray, sr: int) -> tuple[float, np.ndarray]:
    """P.56-like active speech level (mean power) and the mask of active 20 ms frames."""
    p = frame_power(x, sr)
    if not np.any(p > 0):
        return 0.0, np.zeros(len(p), bool)
    thr = p.max() * 1e-4
    level = 0.0
    for _ in range(10):
        mask = p >= thr
        level = float(p[mask].mean())
        thr = level * 10 ** (-15.9 / 10)
    return level, p >= thr


def _db(a: float, b: float) -> float:
    return round(float(10 * np.log10(a / b)), 2) if a > 0 and b > 0 else float("inf")


def butter_bandpass_zero_phase(x: np.ndarray, sr: int, lo: float, hi: float, order: int = 4) -> np.ndarray:
    """scipy ``sosfiltfilt(butter(order, [lo, hi], 'bandpass'))`` as a frequency-domain gain:
    the bilinear-transformed Butterworth band-pass applied forward and backward has the
    zero-phase magnitude 1 / (1 + v^(2 order)), v = (W^2 - W1 W2) / ((W2 - W1) W),
    W = tan(pi f / sr). Reflect-padded by 0.5 s against wrap-around."""
    pad = min(len(x) - 1, sr // 2)
    xp = np.pad(x.astype(np.float64), pad, mode="reflect")
    n = _nfft(len(xp))
    f = np.fft.rfftfreq(n, 1 / sr)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.tan(np.pi * np.minimum(f, sr / 2 * 0.999999) / sr)
        w1, w2 = np.tan(np.pi * lo / sr), np.tan(np.pi * hi / sr)
        v = (w ** 2 - w1 * w2) / ((w2 - w1) * w)
        gain = 1.0 / (1.0 + v ** (2 * order))
    gain[0] = 0.0
    gain = np.nan_to_num(gain)
    y = np.fft.irfft(np.fft.rfft(xp, n) * gain, n)
    return y[pad:pad + len(x)]


def _walk(n: int, rng: np.random.Generator) -> np.ndarray:
    """SoX's brown noise generator: last + U(-1, 1) / 16, redrawn while it would leave [-1, 1]."""
    steps = (rng.uniform(-1.0, 1.0, n + n // 2 + 1024) / 16).tolist()
    out = np.empty(n)
    x = 0.0
    i = 0
    for j in range(n):
        while True:
            if i == len(steps):
                steps += (rng.uniform(-1.0, 1.0, n // 2 + 1024) / 16).tolist()
            y = x + steps[i]
            i += 1
            if -1.0 <= y <= 1.0:
                break
        x = y
        out[j] = x
    return out


def brown_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """What ``sox -n -r 16000 out.wav synth brownnoise`` gives: SoX's synth runs at the null
    input's default 48 kHz and its rate effect brings the walk down to 16 kHz, so: the walk
    at 3 x 16 kHz, band-limited (flat to 7.2 kHz, raised-cosine to 8 kHz) and decimated by 3.
    Its normalised spectrum matches SoX 14.4.2's output within ~0.5 dB over 5 Hz - 6 kHz
    (a walk made at 16 kHz directly is ~4 dB weaker in the 300-3400 Hz band)."""
    w = _walk(3 * n, rng)
    spec = np.fft.rfft(w)[:n // 2 + 1]
    f = np.arange(len(spec)) * (SR / n)
    taper = np.clip((8000.0 - f) / 800.0, 0.0, 1.0)
    spec *= 0.5 - 0.5 * np.cos(np.pi * taper)
    out = np.fft.irfft(spec, n)
    return out - out.mean()


def synth_rir(rng: np.random.Generator, sr: int, rt60_s: float, drr_db: float) -> np.ndarray:
    n = int(min(1.5 * rt60_s, 2.0) * sr)
    t = np.arange(n) / sr
    direct = np.zeros(n)
    direct[0] = 1.0
    early = np.zeros(n)
    for _ in range(8):
        k = int(rng.uniform(0.003, 0.030) * sr)
        early[k] += rng.uniform(0.2, 0.6) * rng.choice((-1.0, 1.0))
    noise = rng.standard_normal(n)
    spec = np.fft.rfft(noise)
    f = np.fft.rfftfreq(n, 1 / sr)
    low_w = 1.0 / (1.0 + (f / 2000.0) ** 4)      # smooth crossover at 2 kHz
    low = np.fft.irfft(spec * low_w, n)
    high = np.fft.irfft(spec * (1.0 - low_w), n)
    decay = 3 * np.log(10)                        # amplitude 10^-3 (power -60 dB) at rt60
    tail = low * np.exp(-decay * t / rt60_s) + high * np.exp(-decay * t / (0.6 * rt60_s))
    onset = int(0.005 * sr)
    ramp = np.clip((np.arange(n) - onset) / (0.005 * sr), 0.0, 1.0)
    tail *= ramp
    rev = early + tail
    rev *= np.sqrt(1.0 / 10 ** (drr_db / 10) / np.sum(rev ** 2))
    return direct + rev


def level_curve(rng: np.random.Generator, n: int, sr: int, p: HallParams) -> np.ndarray:
    knots_t = [0.0]
    while knots_t[-1] < n / sr:
        knots_t.append(knots_t[-1] + rng.uniform(*p.level_knot_s))
    knots_g = rng.uniform(*p.level_db, len(knots_t))
    t = np.arange(n) / sr
    k = np.searchsorted(knots_t, t, side="right") - 1
    t0 = np.asarray(knots_t)[k]
    t1 = np.asarray(knots_t)[k + 1]
    u = (t - t0) / (t1 - t0)
    w = 0.5 - 0.5 * np.cos(np.pi * u)
    g_db = knots_g[k] * (1 - w) + knots_g[k + 1] * w
    return 10 ** (g_db / 20)


def _talkers(sources: Sequence[np.ndarray], k: int, rng: np.random.Generator) -> list[np.ndarray]:
    chans = [s[:, c] for s in sources for c in range(s.shape[1])]
    if not chans:
        raise ValueError("babble needs at least one other dialogue (babble_sources is empty)")
    idx = rng.choice(len(chans), size=k, replace=len(chans) < k)
    return [chans[i] for i in idx]


def make_babble(sources: Sequence[np.ndarray], n: int, sr: int, p: HallParams, seed) -> np.ndarray:
    """(n, 2) babble at the two mics, unscaled."""
    rng = _rng(seed, _BABBLE)
    out = np.zeros((n, 2))
    for m, talker in enumerate(_talkers(sources, p.babble_talkers, rng)):
        rate = rng.uniform(*p.babble_rate)
        src = talker.astype(np.float64)
        pos = np.arange(0, len(src) - 1, rate)
        y = np.interp(pos, np.arange(len(src)), src)
        y = np.roll(np.resize(y, n + len(y)), -int(rng.integers(len(y))))[:n]
        y *= 10 ** (rng.uniform(-3, 3) / 20)
        for c in range(2):
            h = synth_rir(_rng(seed, _BABBLE, 100 + m, c), sr, p.rt60_s, p.babble_drr_db)
            out[:, c] += fft_convolve(y, h)
    return out


# -- codec -------------------------------------------------------------------------------

def _ffmpeg(args: list[str], data: bytes) -> bytes:
    r = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-threads", "1", *args],
                       input=data, capture_output=True)
    if r.returncode:
        raise RuntimeError(f"ffmpeg {' '.join(args)}: {r.stderr.decode(errors='replace').strip()}")
    return r.stdout


def codec_round_trip(x: np.ndarray, sr: int, codec: str) -> np.ndarray:
    """x (n,) or (n, ch) float through an 8 kHz codec and back to ``sr``."""
    if codec == "none":
        return x
    if codec == "opus" and x.ndim == 2:
        # one mono stream per intercom side (a stereo Opus stream at this rate would
        # share bits between the channels and blur them into each other)
        return np.stack([codec_round_trip(x[:, c], sr, codec) for c in range(x.shape[1])], axis=1)
    ch = 1 if x.ndim == 1 else x.shape[1]
    raw = np.ascontiguousarray(x, dtype="<f4").tobytes()
    inp = ["-f", "f32le", "-ar", str(sr), "-ac", str(ch), "-i", "pipe:0"]
    if codec in ("mulaw", "alaw"):
        enc = _ffmpeg(inp + ["-ar", "8000", "-c:a", f"pcm_{codec}", "-f", "wav", "-bitexact", "pipe:1"], raw)
        fmt = ["-f", "wav"]
    elif codec == "opus":
        enc = _ffmpeg(inp + ["-ar", "8000", "-c:a", "libopus", "-b:a", "12k", "-application", "voip",
                             "-cutoff", "4000", "-vbr", "off", "-f", "ogg", "-fflags", "+bitexact",
                             "-flags:a", "+bitexact", "pipe:1"], raw)
        fmt = ["-f", "ogg", "-c:a", "libopus"]
    else:
        raise ValueError(f"unknown codec {codec!r}")
    dec = _ffmpeg(fmt + ["-i", "pipe:0", "-ar", str(sr), "-ac", str(ch), "-f", "f32le", "pipe:1"], enc)
    y = np.frombuffer(dec, "<f4").astype(np.float64).reshape(-1, ch)
    n = x.shape[0]
    y = np.pad(y, ((0, max(0, n - len(y))), (0, 0)))[:n]
    return y[:, 0] if x.ndim == 1 else y


# -- variants ----------------------------------------------------------------------------

def _mono_noisy(stereo: np.ndarray, sr: int, seed) -> tuple[np.ndarray, dict]:
    mix = stereo[:, 0].astype(np.float64) + stereo[:, 1]
    active = np.abs(mix) > 0
    p_sig = float(np.mean(mix[active] ** 2))
    noise = brown_noise(len(mix), _rng(seed, _NOISE))
    noise *= np.sqrt(p_sig / 10 ** (MONO_NOISY_SNR_DB / 10) / np.mean(noise ** 2))
    s_f = butter_bandpass_zero_phase(mix, sr, *MONO_NOISY_BAND)
    n_f = butter_bandpass_zero_phase(noise, sr, *MONO_NOISY_BAND)
    out = s_f + n_f                                   # linear: the same as filtering the sum
    peak = np.abs(out).max()
    report = {"snr_fullband_db": _db(p_sig, float(np.mean(noise ** 2))),
              "snr_inband_db": _db(float(np.mean(s_f[active] ** 2)), float(np.mean(n_f ** 2)))}
    return out * (0.8 / peak), report


def _hall(stereo: np.ndarray, sr: int, p: HallParams, seed, sources: Sequence[np.ndarray], *,
          speech: bool, babble: bool, clip_gain: float | None) -> tuple[np.ndarray, dict]:
    n = stereo.shape[0]
    x = stereo.astype(np.float64)
    sp = np.empty_like(x)
    for c in range(2):
        g = level_curve(_rng(seed, _LEVEL, c), n, sr, p)
        h = synth_rir(_rng(seed, _RIR, c), sr, p.rt60_s, p.drr_db)
        sp[:, c] = fft_convolve(x[:, c] * g, h)
    levels = [active_level(sp[:, c], sr)[0] for c in range(2)]
    b = make_babble(sources, n, sr, p, seed)
    for c in range(2):
        b[:, c] *= np.sqrt(levels[c] / 10 ** (p.babble_db / 10) / np.mean(b[:, c] ** 2))
    info = {"babble_snr_db": [_db(levels[c], float(np.mean(b[:, c] ** 2))) for c in range(2)]}
    y = np.zeros_like(sp)
    if speech:
        y += sp
    if babble:
        y += b
    xt = (p.crosstalk - SOURCE_CROSSTALK) / (1 - SOURCE_CROSSTALK * p.crosstalk)
    if xt > 0:
        y = y + xt * y[:, ::-1]
    if p.mono:
        y = y.mean(axis=1)
    if clip_gain is None:
        chans = [y] if y.ndim == 1 else [y[:, c] for c in range(2)]
        f = int(0.02 * sr)
        act = []
        for ch in chans:
            _, mask = active_level(ch, sr)
            act.append(np.abs(ch[:len(mask) * f].reshape(-1, f)[mask]).ravel())
        a = np.concatenate(act)
        clip_gain = 1.0 / float(np.quantile(a, 1 - p.clip_fraction)) if len(a) else 1.0
    y = y * clip_gain
    info["clipped_fraction"] = round(float(np.mean(np.abs(y) >= 1.0)), 5)
    info["clip_gain_db"] = round(20 * np.log10(clip_gain), 2)
    y = np.clip(y, -1.0, 1.0)
    y = codec_round_trip(y, sr, p.codec)
    return y, {**info, "_clip_gain": clip_gain}


def degrade(stereo: np.ndarray, sr: int, variant: str, seed, babble_sources: Sequence[np.ndarray] = (),
            *, measure: bool = True) -> tuple[np.ndarray, dict]:
    """The variant of ``stereo`` ((n, 2) float in [-1, 1]) and its measured figures."""
    stereo = np.asarray(stereo)
    if stereo.ndim != 2 or stereo.shape[1] != 2:
        raise ValueError(f"need stereo audio shaped (n, 2), got {stereo.shape}")
    p = variant_params(variant)
    report: dict = {"variant": variant}
    if p == "identity":
        out = stereo.astype(np.float64)
    elif p == "mono":
        out = stereo.astype(np.float64).mean(axis=1)
    elif p == "mono-noisy":
        out, r = _mono_noisy(stereo, sr, seed)
        report.update(r)
    else:
        report["params"] = dataclasses.asdict(p)
        # the babble-only file is the very-busy recording minus the speech: the clip gain
        # comes from the recording with speech
        full, info = _hall(stereo, sr, p, seed, babble_sources, speech=True, babble=True, clip_gain=None)
        if p.speech:
            out = full
        else:
            out, _ = _hall(stereo, sr, p, seed, babble_sources, speech=False, babble=True,
                           clip_gain=info["_clip_gain"])
        report.update({k: v for k, v in info.items() if not k.startswith("_")})
        if measure and p.speech:
            ref, _ = _hall(stereo, sr, p, seed, babble_sources, speech=True, babble=False,
                           clip_gain=info["_clip_gain"])
            report["output_snr_db"] = _output_snr(out, ref, sr)
        if measure:
            report["gap_snr_db"] = _gap_snr(out, full, stereo, sr)
    out = np.clip(out, -1.0, 32767 / 32768).astype(np.float32)
    return out, report


def _chans(y: np.ndarray) -> list[np.ndarray]:
    return [y] if y.ndim == 1 else [y[:, c] for c in range(y.shape[1])]


def _output_snr(out: np.ndarray, ref: np.ndarray, sr: int) -> list[float]:
    res = []
    for o, r in zip(_chans(out), _chans(ref)):
        level, _ = active_level(r, sr)
        res.append(_db(level, float(np.mean((o - r) ** 2))))
    return res


def _gap_snr(out: np.ndarray, full: np.ndarray, stereo: np.ndarray, sr: int) -> list[float]:
    """Active level of the recording with speech / power of the frames where the source is
    silent on both channels (margin 0.3 s), for the output given (babble-only: its own gaps
    against the speech level of the with-speech recording)."""
    src = frame_power(np.abs(stereo).max(axis=1), sr) > 0
    k = int(0.3 / 0.02)
    busy = np.convolve(src.astype(float), np.ones(2 * k + 1), "same") > 0
    gaps = ~busy
    res = []
    for o, fu in zip(_chans(out), _chans(full)):
        level, _ = active_level(fu, sr)
        fp = frame_power(o, sr)[:len(gaps)]
        g = gaps[:len(fp)]
        res.append(_db(level, float(fp[g].mean())) if g.any() else None)
    return res


def make_variant(stereo: np.ndarray, sr: int, variant: str, seed, babble_sources: Sequence[np.ndarray] = ()) -> np.ndarray:
    """``variant`` of a stereo-clean dialogue: (n, 2) for stereo variants, (n,) for mono."""
    return degrade(stereo, sr, variant, seed, babble_sources, measure=False)[0]


# -- files -------------------------------------------------------------------------------

def read_audio(path: str | Path, sr: int = SR) -> np.ndarray:
    """(n, channels) float32, through ffmpeg (16-bit FLAC decodes exactly)."""
    path = str(path)
    probe = _ffmpeg(["-i", path, "-f", "s16le", "-ar", str(sr), "-acodec", "pcm_s16le", "-ac", "2", "pipe:1"], b"")
    st = np.frombuffer(probe, "<i2").reshape(-1, 2).astype(np.float32) / 32768
    ch = _channels(path)
    return st[:, :1] if ch == 1 else st


@functools.cache
def _channels(path: str) -> int:
    r = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
                        "stream=channels", "-of", "csv=p=0", path], capture_output=True, text=True, check=True)
    return int(r.stdout.strip())


@functools.lru_cache(maxsize=256)
def _read_cached(path: str) -> np.ndarray:
    return read_audio(path)


def write_flac(path: str | Path, x: np.ndarray, sr: int = SR) -> None:
    ch = 1 if x.ndim == 1 else x.shape[1]
    pcm = np.clip(np.round(np.asarray(x, np.float64) * 32768), -32768, 32767).astype("<i2")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(str(path) + ".part")
    _ffmpeg(["-f", "s16le", "-ar", str(sr), "-ac", str(ch), "-i", "pipe:0", "-map_metadata", "-1",
             "-c:a", "flac", "-fflags", "+bitexact", "-flags:a", "+bitexact", "-f", "flac", "-y", str(tmp)],
            pcm.tobytes())
    tmp.replace(path)


def dialogue_id(path: str | Path) -> str:
    stem = Path(path).stem
    for suffix in ("-stereo-clean", "-mono-noisy"):
        if stem.endswith(suffix):
            return stem[:-len(suffix)]
    return stem


def file_seed(seed: int, did: str) -> int:
    return (int(seed) << 32) | zlib.crc32(did.encode())


def babble_pool(dirs: Sequence[str | Path], exclude: str) -> list[Path]:
    """Single-dialogue stereo-clean files of ``dirs`` (labels.json entries without
    interactions where there is one), without dialogue ``exclude``."""
    out = []
    for d in dirs:
        d = Path(d)
        lab = d / "labels.json"
        if lab.is_file():
            names = [e["file"] for e in json.loads(lab.read_text(encoding="utf-8"))
                     if e.get("variant") == "stereo-clean" and "interactions" not in e]
        else:
            names = sorted(p.name for p in d.glob("*-stereo-clean.flac"))
        out += [d / n for n in names if dialogue_id(n) != exclude]
    return sorted(set(out))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def code_version() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


def degrade_file(src: Path, variant: str, seed: int, babble_dirs: Sequence[str | Path], out: Path) -> dict:
    did = dialogue_id(src)
    stereo = read_audio(src)
    if stereo.shape[1] != 2:
        raise ValueError(f"{src}: not stereo")
    pool = babble_pool(babble_dirs, did) if isinstance(variant_params(variant), HallParams) else []
    sources = [_read_cached(str(p)) for p in pool]
    y, report = degrade(stereo, SR, variant, file_seed(seed, did), sources)
    write_flac(out, y)
    return {"file": out.name, "dialogue": did, "source": str(src), "source_sha256": _sha(src),
            "variant": variant, "seed": seed, "babble_from": [p.name for p in pool],
            "degrade_version": code_version(), "sha256": _sha(out), **report}


def set_dir(name: str) -> Path:
    return SETS[name] if name in SETS else Path(name)


def set_name(name: str) -> str:
    return name if name in SETS else Path(name).resolve().name


def ensure_cache(set_: str, variants: Sequence[str], *, seed: int = 1, cache: Path = DEFAULT_CACHE,
                 babble_dirs: Sequence[str | Path] | None = None, log=None,
                 only: str = "*") -> dict[tuple[str, str], dict]:
    """Make (or reuse) every variant of every labelled stereo-clean file of a set under
    ``cache/<set>/seed<seed>/`` with a manifest.json; returns {(source file, variant): entry}
    where entry["path"] is the variant file. ``only``: a glob on the variant file names."""
    import fnmatch
    d = set_dir(set_)
    babble_dirs = [DEFAULT_BABBLE] if babble_dirs is None else babble_dirs
    out_dir = Path(cache) / set_name(set_) / f"seed{seed}"
    out_dir.mkdir(parents=True, exist_ok=True)
    man_path = out_dir / "manifest.json"
    manifest = json.loads(man_path.read_text(encoding="utf-8")) if man_path.is_file() else {"files": []}
    known = {(e["source"], e["variant"]): e for e in manifest["files"]}
    labels = json.loads((d / "labels.json").read_text(encoding="utf-8"))
    version = code_version()
    result = {}
    for entry in labels:
        if entry.get("variant") != "stereo-clean":
            continue
        src = d / entry["file"]
        stem = Path(entry["file"]).stem.removesuffix("-stereo-clean")
        for v in variants:
            target = out_dir / f"{stem}-{v}.flac"
            if not fnmatch.fnmatch(target.name, only):
                continue
            e = known.get((str(src), v))
            fresh = (e is not None and target.is_file() and e.get("degrade_version") == version
                     and e.get("babble_dirs") == [str(b) for b in babble_dirs]
                     and e.get("source_sha256") == _sha(src) and e.get("sha256") == _sha(target))
            if not fresh:
                e = degrade_file(src, v, seed, babble_dirs, target)
                e["babble_dirs"] = [str(b) for b in babble_dirs]
                known[(str(src), v)] = e
                manifest["files"] = sorted(known.values(), key=lambda x: (x["source"], x["variant"]))
                man_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
                if log:
                    log(f"made {target.name} {_summary(e)}")
            result[(entry["file"], v)] = {**e, "path": str(target)}
    return result


def _summary(e: dict) -> str:
    keys = ("babble_snr_db", "output_snr_db", "gap_snr_db", "snr_fullband_db", "snr_inband_db", "clipped_fraction")
    return " ".join(f"{k}={e[k]}" for k in keys if k in e)


def _check_variant(ap: argparse.ArgumentParser, variant: str) -> None:
    try:
        variant_params(variant)
    except ValueError as e:
        ap.error(str(e))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="variants: " + ", ".join(all_variants())
                                 + " (busy-type ones also with -alaw / -opus)")
    ap.add_argument("inputs", nargs="*", help="stereo-clean FLAC files")
    ap.add_argument("--variant", help="one variant for the input files")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--babble-from", action="append", default=None,
                    help="folder of other dialogues for the babble (repeatable; default bench/tuning)")
    ap.add_argument("--out", help="output folder for the input files")
    ap.add_argument("--cache", help="cache mode: make every variant of --set here, with manifest.json")
    ap.add_argument("--set", default="heldout", help="corpus | heldout | tuning | a folder with labels.json")
    ap.add_argument("--variants", default="all", help="comma list for cache mode (default all)")
    args = ap.parse_args(argv)
    babble = args.babble_from or [str(DEFAULT_BABBLE)]
    if args.cache:
        variants = all_variants() if args.variants == "all" else args.variants.split(",")
        for v in variants:
            _check_variant(ap, v)
        res = ensure_cache(args.set, variants, seed=args.seed, cache=Path(args.cache), babble_dirs=babble,
                           log=lambda m: print(m, file=sys.stderr, flush=True))
        print(f"{len(res)} files under {Path(args.cache) / set_name(args.set) / f'seed{args.seed}'}")
        return 0
    if not (args.variant and args.out and args.inputs):
        ap.error("give --variant, --out and input files, or --cache")
    _check_variant(ap, args.variant)
    for src in args.inputs:
        src = Path(src)
        target = Path(args.out) / f"{dialogue_id(src)}-{args.variant}.flac"
        e = degrade_file(src, args.variant, args.seed, babble, target)
        print(f"{target} {_summary(e)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
