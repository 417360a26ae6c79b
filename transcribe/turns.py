"""Who is speaking when, from the two channels of a stereo intercom: turns with their levels.

Each microphone hears its own side loudly and the other side as crosstalk, some 10-20 dB
lower. A 20 ms frame is a side's own speech when its channel is above that channel's noise
floor and not merely the crosstalk of the other channel: the other channel is not louder by
(nearly) the crosstalk attenuation, which is estimated per recording as the median level
difference of the speech frames (mostly one side at a time). Runs of own-speech frames, with
short gaps closed and blips dropped, are the turns; both sides can have turns at once
(overlap). The audio rules (:mod:`transcribe.audio_rules`) work on these turns.

Levels alone fail where the levels move (a talker leans in on one side and turns away on the
other; a busy hall's babble on both): the customer's voice leaking into the staff microphone
then passes the level test and reads as the staff talking over the customer (issue 19: 抢话 in
28 of 40 polite busy-hall dialogues). So a frame of the quieter channel counts with the part of
its energy that is NOT a copy of the louder channel: the louder channel, through whatever
linear path (room, intercom, delay; per frequency, the channels' coherence over COPY_WINDOW_S),
is fitted to it and only the rest (its own voice, the babble) is weighed against the floor.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FRAME_S = 0.02
#: A pause shorter than this inside a side's speech does not end its turn (the pause at a comma).
CLOSE_GAP_S = 0.6
#: Own-speech runs shorter than this are dropped (clicks, crosstalk bursts).
MIN_TURN_S = 0.2
#: Speech frames are at least this far above the channel's noise floor ...
ABOVE_FLOOR_DB = 12.0
#: ... and no further than this below the channel's loud speech.
BELOW_TOP_DB = 30.0
#: A frame whose other channel is louder by at least (crosstalk attenuation - this) is crosstalk.
CROSSTALK_MARGIN_DB = 4.0
#: The crosstalk attenuation is measured on frames of loud speech: within this of the loudest.
LOUD_DB = 12.0
#: The copy of the louder channel is fitted over this much audio around each frame.
COPY_WINDOW_S = 0.22
#: ... and the channels' level curves compared over this much.
ENVELOPE_WINDOW_S = 0.6
#: Frames of copy_share worked out at once (30 s): bounds its memory on long recordings.
COPY_BLOCK_FRAMES = 1500
#: The residual is never counted lower than this below the frame (a frame that is all copy).
MAX_COPY_DB = 30.0


@dataclass(frozen=True)
class Turn:
    speaker: str
    start_s: float
    end_s: float
    level_db: float     # mean power of the turn's own-speech frames on its own channel, dBFS

    def to_list(self) -> list:
        return [self.speaker, round(self.start_s, 2), round(self.end_s, 2), round(self.level_db, 1)]

    @classmethod
    def from_list(cls, row: list) -> Turn:
        return cls(str(row[0]), float(row[1]), float(row[2]), float(row[3]))


def _preemph(x: np.ndarray) -> np.ndarray:
    y = np.empty_like(x, dtype=np.float64)
    y[0] = x[0]
    y[1:] = x[1:] - 0.95 * x[:-1]
    return y


def frame_levels_db(x: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Mean power (dBFS) of each 20 ms frame of ``x``, after pre-emphasis (rumble counts little)."""
    n = int(FRAME_S * sample_rate_hz)
    y = _preemph(x)
    frames = len(y) // n
    if frames == 0:
        return np.zeros(0)
    p = np.mean(y[:frames * n].reshape(frames, n) ** 2, axis=1)
    return 10 * np.log10(p + 1e-12)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def _smooth(mask: np.ndarray) -> np.ndarray:
    out = mask.copy()
    gap, short = int(CLOSE_GAP_S / FRAME_S), int(MIN_TURN_S / FRAME_S)
    runs = _runs(out)
    for (_, b), (c, _) in zip(runs, runs[1:], strict=False):
        if c - b < gap:
            out[b:c] = True
    for a, b in _runs(out):
        if b - a < short:
            out[a:b] = False
    return out


def copy_share(a: np.ndarray, b: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Per 20 ms frame, the share (0-1) of ``a``'s energy that ``b`` passed through some linear
    path explains (the room's reverberation, the intercom's filter, a delay): per frequency, the
    magnitude-squared coherence of the two channels over COPY_WINDOW_S around the frame,
    weighted by ``a``'s power in that frequency.

    Worked out :data:`COPY_BLOCK_FRAMES` frames at a time, each block with the frames around it
    that its windows reach, so memory stays that of one block (a few MB) however long the
    recording; the result is the same as over the whole at once."""
    n = int(FRAME_S * sample_rate_hz)
    frames = min(len(a), len(b)) // n
    if frames <= COPY_BLOCK_FRAMES:
        return _copy_share(a, b, sample_rate_hz)
    half = max(1, int(COPY_WINDOW_S / FRAME_S / 2))
    out = np.empty(frames)
    for start in range(0, frames, COPY_BLOCK_FRAMES):
        end = min(frames, start + COPY_BLOCK_FRAMES)
        # A frame's spectrum reads half a frame before it and a frame and a half after it, and
        # its window the spectra of ``half`` frames on each side: one frame more each way.
        lo, hi = max(0, start - half - 1), min(frames, end + half + 2)
        out[start:end] = _copy_share(a[lo * n:hi * n], b[lo * n:hi * n], sample_rate_hz)[start - lo:end - lo]
    return out


def _copy_share(a: np.ndarray, b: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    n = int(FRAME_S * sample_rate_hz)
    frames = min(len(a), len(b)) // n
    if frames == 0:
        return np.zeros(0)
    win = 2 * n
    pad = np.zeros(n // 2)
    hann = np.hanning(win)

    def stft(x: np.ndarray) -> np.ndarray:
        y = np.concatenate([pad, _preemph(x)[:frames * n], pad, np.zeros(win)])
        idx = np.arange(frames)[:, None] * n + np.arange(win)[None, :]
        return np.fft.rfft(y[idx] * hann, axis=1)

    A, B = stft(a), stft(b)
    half = max(1, int(COPY_WINDOW_S / FRAME_S / 2))

    def around(v: np.ndarray) -> np.ndarray:
        c = np.cumsum(np.concatenate([np.zeros((1,) + v.shape[1:], v.dtype), v]), axis=0)
        lo = np.clip(np.arange(frames) - half, 0, frames)
        hi = np.clip(np.arange(frames) + half + 1, 0, frames)
        return c[hi] - c[lo]

    paa, pbb = np.abs(A) ** 2, np.abs(B) ** 2
    saa, sbb, sab = around(paa), around(pbb), around(A * np.conj(B))
    msc = np.abs(sab) ** 2 / np.maximum(saa * sbb, 1e-30)
    return np.clip(np.sum(msc * saa, axis=1) / np.maximum(np.sum(saa, axis=1), 1e-30), 0.0, 1.0)


def envelope_share(levels: np.ndarray) -> np.ndarray:
    """Per frame, how much the two channels' level curves (dB per 20 ms frame) rise and fall
    together over ENVELOPE_WINDOW_S around it: the squared correlation where it is positive. One
    voice heard in both microphones moves both curves syllable by syllable, whatever the room
    did to it; two voices at once do not."""
    frames = levels.shape[1]
    half = max(1, int(ENVELOPE_WINDOW_S / FRAME_S / 2))
    lo = np.clip(np.arange(frames) - half, 0, frames)
    hi = np.clip(np.arange(frames) + half + 1, 0, frames)

    def total(v: np.ndarray) -> np.ndarray:
        c = np.concatenate([[0.0], np.cumsum(v)])
        return c[hi] - c[lo]

    a, b = levels[0], levels[1]
    n = (hi - lo).astype(np.float64)
    sa, sb = total(a), total(b)
    cov = total(a * b) - sa * sb / n
    va, vb = total(a * a) - sa * sa / n, total(b * b) - sb * sb / n
    r = cov / np.sqrt(np.maximum(va * vb, 1e-12))
    return np.clip(r, 0.0, 1.0) ** 2


def crosstalk_db(levels: np.ndarray, active: np.ndarray) -> float:
    """The estimated attenuation of the crosstalk between the channels (dB, 6-24): the median
    level difference over the frames where one channel carries loud speech (within LOUD_DB of
    its loudest) and is the louder one. Quieter frames would pull it down: in a busy hall the
    babble is in both microphones alike (issue 19: a long wait in a busy hall read 6 dB, and
    the customer's voice in the staff microphone passed for the staff's)."""
    diffs = []
    for k in range(2):
        top = np.percentile(levels[k], 98)
        loud = active[k] & (levels[k] > top - LOUD_DB) & (levels[k] > levels[1 - k])
        diffs.append(levels[k, loud] - levels[1 - k, loud])
    d = np.concatenate(diffs)
    if len(d) == 0:
        return 12.0
    return float(np.clip(np.median(d), 6.0, 24.0))


def channel_turns(samples: np.ndarray, sample_rate_hz: int, roles: tuple[str, str]) -> list[Turn]:
    """The turns of each side of stereo ``samples`` (channels, frames), in time order."""
    levels = np.stack([frame_levels_db(samples[k], sample_rate_hz) for k in range(2)])
    if levels.shape[1] == 0:
        return []
    # The quieter channel's own part: its energy less what a copy of the louder one explains.
    share = np.maximum(copy_share(samples[0], samples[1], sample_rate_hz)[:levels.shape[1]],
                       envelope_share(levels))
    own_db = levels.copy()
    residual = 10 * np.log10(np.maximum(1.0 - share, 10 ** (-MAX_COPY_DB / 10)))
    for k in range(2):
        quieter = levels[k] < levels[1 - k]
        own_db[k, quieter] += residual[quieter]
    active = np.zeros(levels.shape, dtype=bool)
    for k in range(2):
        floor, top = np.percentile(levels[k], 10), np.percentile(levels[k], 98)
        active[k] = own_db[k] > max(floor + ABOVE_FLOOR_DB, top - BELOW_TOP_DB)
    att = crosstalk_db(levels, active)
    margin = min(CROSSTALK_MARGIN_DB, att / 2)
    out: list[Turn] = []
    for k in range(2):
        own = active[k] & (levels[1 - k] - levels[k] < att - margin)
        for a, b in _runs(_smooth(own)):
            frames = levels[k, a:b][own[a:b]]
            level = float(10 * np.log10(np.mean(10 ** (frames / 10)))) if len(frames) else float(levels[k, a:b].max())
            out.append(Turn(roles[k], a * FRAME_S, b * FRAME_S, level))
    return sorted(out, key=lambda t: (t.start_s, t.speaker))
