"""Cut a recording into interactions: one customer's service each.

An interaction starts at an explicit boundary (a queue call, a rating press) or at the first
speech after a long silence, and ends before the next boundary or long silence. One grouping
rule (:func:`group_spans`) serves both the file analysis (seconds) and the worker's planning
of stored sessions (sample numbers).
"""
from __future__ import annotations

import bisect
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TypeVar

DEFAULT_SPLIT_SILENCE_S = 8.0

N = TypeVar("N", int, float)


@dataclass(frozen=True)
class InteractionSpan:
    """Where one interaction lies in a recording (seconds from its start)."""

    index: int
    start_s: float
    end_s: float


def group_spans(spans: Sequence[tuple[N, N]], *, gap: N, boundaries: Sequence[N] = (),
                max_len: N | None = None) -> list[tuple[N, N]]:
    """Merge speech ``spans`` (start, end; any order) into groups, in time order.

    A new group begins where the silence since the previous span is at least ``gap``, where a
    boundary lies after the previous span's end and at or before the next span's start, and
    where the group would grow longer than ``max_len``.
    """
    bounds = sorted(boundaries)
    out: list[tuple[N, N]] = []
    for start, end in sorted(spans):
        if out:
            a, b = out[-1]
            crossed = bisect.bisect_right(bounds, start) > bisect.bisect_right(bounds, b)
            too_long = max_len is not None and end - a > max_len
            if start - b < gap and not crossed and not too_long:
                out[-1] = (a, max(b, end))
                continue
        out.append((start, end))
    return out


def split_interactions(spans: Sequence[tuple[float, float]], *, split_silence_s: float = DEFAULT_SPLIT_SILENCE_S,
                       boundaries_s: Sequence[float] = ()) -> list[InteractionSpan]:
    """Group speech ``spans`` (start, end seconds, any order) into interactions
    (:func:`group_spans`). An interaction opened by a boundary starts at the boundary; otherwise
    at its first speech."""
    bounds = sorted(boundaries_s)
    out: list[tuple[float, float]] = []
    for start, end in group_spans(spans, gap=split_silence_s, boundaries=bounds):
        k = bisect.bisect_right(bounds, start)
        opened_at = bounds[k - 1] if k and (not out or bounds[k - 1] >= out[-1][1]) else start
        out.append((opened_at, end))
    return [InteractionSpan(i, round(a, 3), round(b, 3)) for i, (a, b) in enumerate(out)]


def interaction_of(interactions: Sequence[InteractionSpan], t_s: float) -> int:
    """Index of the interaction containing (or, between two, nearest before) time ``t_s``."""
    starts = [i.start_s for i in interactions]
    k = bisect.bisect_right(starts, t_s) - 1
    return interactions[max(k, 0)].index if interactions else 0


#: A gap between two interactions this much covered by voiced audio (VAD) held speech that the
#: recogniser lost (nothing recognised there), not a silence.
LOST_GAP_VOICED = 0.5


def voiced_in(regions: Sequence[tuple[float, float]], lo: float, hi: float) -> float:
    """Seconds of ``regions`` (voiced audio, start/end; may overlap) within [lo, hi]."""
    total, reach = 0.0, lo
    for a, b in sorted(regions):
        a, b = max(a, reach), min(b, hi)
        if b > a:
            total += b - a
            reach = b
    return total


def join_lost_speech(interactions: Sequence[InteractionSpan], unjudged: Collection[int] | None,
                     regions: Sequence[tuple[float, float]], *, boundaries_s: Sequence[float] = ()
                     ) -> list[tuple[InteractionSpan, tuple[int, ...], float]]:
    """Interactions split only by speech the recogniser lost, joined again (issue 19).

    Two neighbours are one interaction when the gap between them is at least LOST_GAP_VOICED
    voiced audio (``regions``: speech with no recognised text there, not a silence), no boundary
    (a queue call) lies in it and, where ``unjudged`` is given (the indices of the interactions
    that could not be judged), at least one of them is unjudged. Stereo passes the channels'
    own-speech turns as ``regions`` and no ``unjudged`` (the hall's babble does not make turns);
    mono passes the VAD's regions, which babble can fill, so only beside an unjudged fragment.
    Returns each resulting interaction, the indices it was made of and the voiced seconds of the
    gaps it closed (0 where nothing was joined)."""
    bounds = sorted(boundaries_s)
    groups: list[list] = []
    for inter in sorted(interactions, key=lambda i: i.start_s):
        if groups:
            prev = groups[-1]
            lo, hi = prev[1], inter.start_s
            gap = hi - lo
            lost = voiced_in(regions, lo, hi)
            crossed = any(lo < b <= hi for b in bounds)
            either = unjudged is None or prev[3] or inter.index in unjudged
            if either and not crossed and gap > 0 and lost >= LOST_GAP_VOICED * gap:
                prev[1] = max(prev[1], inter.end_s)
                prev[2].append(inter.index)
                prev[3] = True
                prev[4] += lost
                continue
        groups.append([inter.start_s, inter.end_s, [inter.index], unjudged is not None and inter.index in unjudged,
                       0.0])
    return [(InteractionSpan(k, a, b), tuple(idx), round(lost, 2)) for k, (a, b, idx, _, lost) in enumerate(groups)]
