"""Cut a recording into interactions: one customer's service each.

An interaction starts at an explicit boundary (a queue call, a rating press) or at the first
speech after a long silence, and ends before the next boundary or long silence. One grouping
rule (:func:`group_spans`) serves both the file analysis (seconds) and the worker's planning
of stored sessions (sample numbers).
"""
from __future__ import annotations

import bisect
from collections.abc import Sequence
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
