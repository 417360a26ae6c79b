"""One identity for an interaction's whole life (issue 18, item 1).

Re-planning a session, a new rulebook version or a rule applied from the test bench re-analyses
interactions. What people attached to an interaction — a legal hold, complaints, reviews with
their notes, drafts, audit rows naming ``interaction:<id>`` or ``flag:<id>`` — hangs on its id
and its findings' ids, so a re-analysis never deletes and re-creates them:

* the interaction is found by its first sample, or else the one of its session whose span
  overlaps the new span most (a re-plan that moved a boundary), and updated in place;
* each new finding is matched to a stored one of the same type and rule at about the same time;
  a match is updated and keeps its id and review; a finding no longer raised is kept as
  superseded (when, and by which rulebook version), with its review, and counts nowhere; a new
  finding records the rulebook version that raised it.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.tables import Flag, Interaction

#: How far apart (seconds) the starts of the same finding may lie between two analyses
#: (a re-plan moves an interaction's start; the recogniser's timing wobbles by a word or so).
SAME_FINDING_S = 2.0


def find_interaction(s: Session, *, session_id: str, start_sample: int, end_sample: int) -> Interaction | None:
    """The stored interaction that the span [start_sample, end_sample) of ``session_id`` is:
    the one starting there, else the one overlapping it most (None: a new interaction)."""
    same = s.scalar(select(Interaction).where(Interaction.session_id == session_id,
                                              Interaction.start_sample == start_sample))
    if same is not None:
        return same
    best, best_n = None, 0
    for inter in s.scalars(select(Interaction).where(Interaction.session_id == session_id,
                                                     Interaction.start_sample < end_sample,
                                                     Interaction.end_sample > start_sample)):
        n = min(inter.end_sample, end_sample) - max(inter.start_sample, start_sample)
        if n > best_n:
            best, best_n = inter, n
    return best


def merge_flags(inter: Interaction, found: Iterable[Flag], *, rulebook_version: str, at_s: float,
                shift_s: float = 0.0) -> None:
    """Bring ``inter``'s findings to what the analysis under ``rulebook_version`` found.

    Matched findings keep their row (id, review, note); new ones are added marked with
    ``rulebook_version``; those not raised any more are marked superseded (kept with their review).
    ``shift_s``: how much later the interaction now starts (its stored findings' times, counted
    from its start, move back by as much).
    """
    old = list(inter.flags)
    if shift_s:
        for o in old:
            o.start_s, o.end_s = max(o.start_s - shift_s, 0.0), max(o.end_s - shift_s, 0.0)
    taken: set[int] = set()
    for f in found:
        match = _match(old, taken, f)
        if match is None:
            f.rulebook_version = rulebook_version
            inter.flags.append(f)
            continue
        taken.add(id(match))
        for col in ("phrase", "evidence", "start_s", "end_s", "speaker", "confidence", "severity",
                    "confidence_reasons"):
            setattr(match, col, getattr(f, col))
        match.superseded_s, match.superseded_by = None, ""
        if not match.rulebook_version:
            match.rulebook_version = rulebook_version
    for o in old:
        if id(o) not in taken and o.superseded_s is None:
            o.superseded_s, o.superseded_by = at_s, rulebook_version


def _match(old: list[Flag], taken: set[int], f: Flag, *, any_time: bool = False) -> Flag | None:
    """The closest stored finding of ``f``'s type and rule not matched yet (live ones first);
    ``any_time``: at whatever time."""
    candidates = [o for o in old if id(o) not in taken and o.type == f.type and o.rule == f.rule
                  and (any_time or abs(o.start_s - f.start_s) <= SAME_FINDING_S)]
    if not candidates:
        return None
    return min(candidates, key=lambda o: (o.superseded_s is not None, abs(o.start_s - f.start_s)))


def merge_difference(inter: Interaction, before: Iterable[Flag], after: Iterable[Flag], *, source: str,
                     at_s: float, rulebook_version: str, correction_id: int | None = None) -> tuple[list[Flag], list[Flag]]:
    """Bring ``inter``'s findings from what one analysis of a text found (``before``) to what
    another found (``after``), touching only what differs: a transcript correction re-judges
    the corrected text, and the findings the correction does not concern keep their rows as
    the worker stored them.

    A finding of ``after`` not in ``before`` is added, marked with ``correction_id`` and
    ``rulebook_version``, or a stored superseded match comes back with its review; a finding of
    ``before`` not in ``after`` is marked superseded by ``source`` on its stored live match
    (kept with its review). A courtesy word missing is one finding per rule and interaction
    whatever its time. Returns (added or revived, superseded).
    """
    before, after = list(before), list(after)
    gone = _unmatched(before, after)
    new = _unmatched(after, before)
    old = list(inter.flags)
    taken: set[int] = set()
    superseded: list[Flag] = []
    for f in gone:
        live = [o for o in old if o.superseded_s is None]
        match = _match(live, taken, f, any_time=f.type == "missing_courtesy")
        if match is not None:
            taken.add(id(match))
            match.superseded_s, match.superseded_by = at_s, source
            superseded.append(match)
    added: list[Flag] = []
    for f in new:
        match = _match([o for o in old if o.superseded_s is not None], taken, f,
                       any_time=f.type == "missing_courtesy")
        if match is not None:
            taken.add(id(match))
            match.superseded_s, match.superseded_by = None, ""
            added.append(match)
            continue
        f.rulebook_version, f.correction_id = rulebook_version, correction_id
        inter.flags.append(f)
        added.append(f)
    return added, superseded


def _unmatched(these: list[Flag], others: list[Flag]) -> list[Flag]:
    """Those of ``these`` with no finding of the same type and rule at about the same time in ``others``."""
    taken: set[int] = set()
    out = []
    for f in these:
        m = _match(others, taken, f, any_time=f.type == "missing_courtesy")
        if m is None:
            out.append(f)
        else:
            taken.add(id(m))
    return out
