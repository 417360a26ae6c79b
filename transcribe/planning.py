"""Incremental planning: cut a recording session into interactions as its audio arrives,
looking at every sample once.

The worker's ``plan`` job (:mod:`transcribe.worker`) runs once per stored chunk or so. It used
to decode and run VAD again over everything since the last closed interaction, so an
interaction open for minutes cost more with every chunk (issue 12). Now the VAD runs as a
stream: :class:`PlanState` keeps the Silero model's recurrent state, the last samples of the
audio, the speech detector's own state and the speech regions not yet in a closed interaction,
and is stored with the session (``sessions.plan_state``) in the transaction that moves the
session's cursor. Each plan decodes only the chunks it has not seen.

The stream gives the same speech regions however the audio is cut into pieces (the model is
fed the same frames with the same state), so planning chunk by chunk closes the same
interactions as planning the whole session at once (``tests/transcribe/test_planning.py``).
One exception, as before: an interaction that reaches ``max_len`` while its speech goes on is
closed there when planned as it comes, and left whole when planned at once.
"""
from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from transcribe.interactions import group_spans

#: Silero VAD's frame and the context it prepends to every frame (faster-whisper's v6 model).
FRAME = 512
CONTEXT = 64
#: faster_whisper's SileroVADModel runs the model on at most this many frames per call.
_BLOCK = 10000
#: Speech detector settings (those of :func:`transcribe.speakers.speech_regions`: pauses of
#: 300 ms split regions, no padding).
THRESHOLD = 0.5
NEG_THRESHOLD = THRESHOLD - 0.15
MIN_SILENCE_MS = 300


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype=np.float32).tobytes()).decode("ascii")


def _unb64(s: str, shape: tuple[int, ...]) -> np.ndarray:
    return np.frombuffer(base64.b64decode(s), dtype=np.float32).reshape(shape).copy()


@dataclass
class PlanState:
    """Where a session's planning stands. Sample numbers count from the session's start."""

    #: Samples before this have been seen (VAD frames up to ``until``, then ``tail``).
    fed: int
    #: Silero frames have been run up to here; ``tail`` holds samples [until, fed).
    until: int
    h: np.ndarray = field(default_factory=lambda: np.zeros((1, 1, 128), dtype=np.float32))
    c: np.ndarray = field(default_factory=lambda: np.zeros((1, 1, 128), dtype=np.float32))
    #: The last CONTEXT samples before ``until`` (zeros at the start of a stream).
    context: np.ndarray = field(default_factory=lambda: np.zeros(CONTEXT, dtype=np.float32))
    tail: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    #: The detector is inside speech that began at ``speech_start``; ``temp_end``: where the
    #: silence that may end it began (None: no such silence yet).
    triggered: bool = False
    speech_start: int = 0
    temp_end: int | None = None
    #: Speech regions (start, end) ended but not yet part of a closed interaction.
    regions: list[tuple[int, int]] = field(default_factory=list)

    @classmethod
    def start_at(cls, sample: int) -> PlanState:
        """A fresh stream from ``sample`` (a session's start, or the far side of a hole)."""
        return cls(fed=sample, until=sample)

    # -- the stream -------------------------------------------------------------------------

    def feed(self, mono: np.ndarray, *, sample_rate_hz: int) -> None:
        """Run the detector over the next samples (those from ``fed`` on)."""
        from faster_whisper.vad import get_vad_model

        audio = np.concatenate([self.tail, np.asarray(mono, dtype=np.float32)])
        self.fed += len(mono)
        n = len(audio) // FRAME
        self.tail = audio[n * FRAME:].copy()
        if not n:
            return
        frames = audio[:n * FRAME].reshape(n, FRAME)
        x = np.concatenate([np.concatenate([self.context[None], frames[:-1, -CONTEXT:]]), frames], axis=1)
        session = get_vad_model().session
        probs = []
        for i in range(0, n, _BLOCK):
            out, self.h, self.c = session.run(None, {"input": x[i:i + _BLOCK], "h": self.h, "c": self.c})
            probs.append(np.asarray(out).reshape(-1))
        self.context = frames[-1, -CONTEXT:].copy()
        self._detect(np.concatenate(probs), sample_rate_hz)
        self.until += n * FRAME

    def _detect(self, probs: np.ndarray, sample_rate_hz: int) -> None:
        # faster_whisper.vad.get_speech_timestamps with min_speech 0, no maximum length and no
        # padding, as a stream: the same regions as that function over the whole audio.
        min_silence = sample_rate_hz * MIN_SILENCE_MS / 1000
        for i, p in enumerate(probs.tolist()):
            pos = self.until + i * FRAME
            if p >= THRESHOLD and self.temp_end is not None:
                self.temp_end = None
            if p >= THRESHOLD and not self.triggered:
                self.triggered, self.speech_start = True, pos
                continue
            if p < NEG_THRESHOLD and self.triggered:
                if self.temp_end is None:
                    self.temp_end = pos
                if pos - self.temp_end < min_silence:
                    continue
                if self.temp_end > self.speech_start:
                    self.regions.append((self.speech_start, self.temp_end))
                self.triggered, self.temp_end = False, None

    def speech(self) -> list[tuple[int, int]]:
        """Speech regions not yet in a closed interaction; speech still going on ends at ``fed``."""
        if self.triggered and self.fed > self.speech_start:
            return [*self.regions, (self.speech_start, self.fed)]
        return list(self.regions)

    def forget_before(self, sample: int) -> None:
        """Drop what lies before ``sample`` (it is in closed interactions now)."""
        self.regions = [(max(a, sample), b) for a, b in self.regions if b > sample]
        if self.triggered:
            self.speech_start = max(self.speech_start, sample)

    # -- storage ----------------------------------------------------------------------------

    def to_json(self) -> dict:
        return {"v": 1, "fed": self.fed, "until": self.until, "h": _b64(self.h), "c": _b64(self.c),
                "context": _b64(self.context), "tail": _b64(self.tail), "triggered": self.triggered,
                "speech_start": self.speech_start, "temp_end": self.temp_end,
                "regions": [list(r) for r in self.regions]}

    @classmethod
    def from_json(cls, d: dict) -> PlanState:
        return cls(fed=int(d["fed"]), until=int(d["until"]), h=_unb64(d["h"], (1, 1, 128)),
                   c=_unb64(d["c"], (1, 1, 128)), context=_unb64(d["context"], (CONTEXT,)),
                   tail=_unb64(d["tail"], (-1,)), triggered=bool(d["triggered"]),
                   speech_start=int(d["speech_start"]),
                   temp_end=None if d["temp_end"] is None else int(d["temp_end"]),
                   regions=[(int(a), int(b)) for a, b in d["regions"]])


@dataclass(frozen=True)
class PlanOptions:
    """Interaction rules in samples (the worker converts its seconds)."""

    gap: int            # silence that ends an interaction
    pad: int            # audio kept either side of an interaction's speech
    max_len: int        # an interaction is closed at this length


def close_interactions(state: PlanState, *, cursor: int, boundaries: Sequence[int], tail_closed: bool,
                       opts: PlanOptions) -> tuple[list[tuple[int, int]], int]:
    """The interactions that can be closed now, as (first, end) samples, and the new cursor.

    An interaction closes when ``opts.gap`` of silence has been seen after it, at a boundary,
    at ``opts.max_len``, or when ``tail_closed`` (the session ended, went away, or has a hole
    next): then every one closes. ``state`` forgets what went into closed interactions."""
    avail = state.fed
    groups = group_spans(state.speech(), boundaries=boundaries, gap=opts.gap, max_len=opts.max_len)
    closed: list[tuple[int, int]] = []
    for k, (a, b) in enumerate(groups):
        last = k == len(groups) - 1
        if last and not tail_closed and avail - b < opts.gap and b - a < opts.max_len:
            break
        closed.append((max(cursor, a - opts.pad), min(avail, b + opts.pad)))
    new_cursor = closed[-1][1] if closed else cursor
    if len(closed) == len(groups):
        # Nothing open: what has been looked at is planned, but for the padding that speech
        # starting next may take.
        new_cursor = max(new_cursor, avail if tail_closed else min(state.until, avail) - opts.pad)
    state.forget_before(new_cursor)
    return closed, new_cursor
