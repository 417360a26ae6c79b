"""Who is speaking when, from the two channels of a stereo intercom: turns with their levels.

Each microphone hears its own side loudly and the other side as crosstalk, some 10-20 dB
lower. A 20 ms frame is a side's own speech when its channel is above that channel's noise
floor and not merely the crosstalk of the other channel: the other channel is not louder by
(nearly) the crosstalk attenuation, which is estimated per recording as the median level
difference of the speech frames (mostly one side at a time). Runs of own-speech frames, with
short gaps closed and blips dropped, are the turns; both sides can have turns at once
(overlap). The audio rules (:mod:`transcribe.audio_rules`) work on these turns.
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


def frame_levels_db(x: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Mean power (dBFS) of each 20 ms frame of ``x``, after pre-emphasis (rumble counts little)."""
    n = int(FRAME_S * sample_rate_hz)
    y = np.empty_like(x, dtype=np.float64)
    y[0] = x[0]
    y[1:] = x[1:] - 0.95 * x[:-1]
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


def crosstalk_db(levels: np.ndarray, active: np.ndarray) -> float:
    """The estimated attenuation of the crosstalk between the channels (dB, 6-24)."""
    either = active[0] | active[1]
    if not either.any():
        return 12.0
    return float(np.clip(np.median(np.abs(levels[0, either] - levels[1, either])), 6.0, 24.0))


def channel_turns(samples: np.ndarray, sample_rate_hz: int, roles: tuple[str, str]) -> list[Turn]:
    """The turns of each side of stereo ``samples`` (channels, frames), in time order."""
    levels = np.stack([frame_levels_db(samples[k], sample_rate_hz) for k in range(2)])
    if levels.shape[1] == 0:
        return []
    active = np.zeros(levels.shape, dtype=bool)
    for k in range(2):
        floor, top = np.percentile(levels[k], 10), np.percentile(levels[k], 98)
        active[k] = levels[k] > max(floor + ABOVE_FLOOR_DB, top - BELOW_TOP_DB)
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
