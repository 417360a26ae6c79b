"""Cut a recording into interactions: one customer's service each.

An interaction starts at an explicit boundary (a queue call, a rating press) or at the first
speech after a long silence, and ends before the next boundary or long silence.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Sequence

DEFAULT_SPLIT_SILENCE_S = 8.0


@dataclass(frozen=True)
class Interaction:
    index: int
    start_s: float
    end_s: float


def split_interactions(spans: Sequence[tuple[float, float]], *, split_silence_s: float = DEFAULT_SPLIT_SILENCE_S,
                       boundaries_s: Sequence[float] = ()) -> list[Interaction]:
    """Group speech ``spans`` (start, end seconds, any order) into interactions.

    A new interaction begins where the silence since the previous span is at least
    ``split_silence_s``, or where a boundary lies between two spans. An interaction opened by
    a boundary starts at the boundary; otherwise at its first speech.
    """
    bounds = sorted(boundaries_s)
    out: list[tuple[float, float]] = []
    prev_end: float | None = None
    cur_start = 0.0
    for start, end in sorted(spans):
        if prev_end is not None:
            crossed = bisect.bisect_right(bounds, start) > bisect.bisect_right(bounds, prev_end)
            if start - prev_end >= split_silence_s or crossed:
                out.append((cur_start, prev_end))
                prev_end = None
        if prev_end is None:
            k = bisect.bisect_right(bounds, start)
            cur_start = bounds[k - 1] if k and (not out or bounds[k - 1] >= out[-1][1]) else start
            prev_end = end
        else:
            prev_end = max(prev_end, end)
    if prev_end is not None:
        out.append((cur_start, prev_end))
    return [Interaction(i, round(a, 3), round(b, 3)) for i, (a, b) in enumerate(out)]


def interaction_of(interactions: Sequence[Interaction], t_s: float) -> int:
    """Index of the interaction containing (or, between two, nearest before) time ``t_s``."""
    starts = [i.start_s for i in interactions]
    k = bisect.bisect_right(starts, t_s) - 1
    return interactions[max(k, 0)].index if interactions else 0
