"""The rulebook applied to a stored transcript, and to it with reviewers' corrections.

The rule bench judges stored interactions with a draft rule (services.rule_bench); a transcript
correction (issue 20 item 5) re-judges an interaction with the corrected lines in place of the
recognised ones, and the worker does so again after every re-analysis (:func:`reapply`), so a
correction keeps its effect when the audio is analysed anew. The recognised text is never
changed: the corrected text is given beside it (``texts``, by segment id).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy.orm import Session, object_session

from domain.vocab import CALL_SLACK_S, CUSTOMER, STAFF
from storage.queries import queue_calls
from storage.tables import Flag, Interaction, Segment, TranscriptCorrection
from transcribe.identity import merge_difference
from transcribe.interactions import split_interactions
from transcribe.judge import Finding, Judge, queue_facts
from transcribe.quality import Quality, audio_factor
from transcribe.speakers import CharTime, Utterance
from transcribe.turns import Turn

#: A correction made for a line whose segment a re-analysis replaced still names it when a
#: segment with the same recognised text starts within this many seconds of the line.
SAME_LINE_S = 1.0
#: ``Flag.superseded_by`` of a finding a correction no longer raises: this and the correction's id.
SUPERSEDED_PREFIX = "correction:"


def stored_utterances(inter: Interaction, texts: Mapping[int, str] | None = None) -> list[Utterance]:
    """The stored segments as utterances, each segment's characters sharing its time evenly;
    ``texts``: a text in place of a segment's (by segment id: a transcript correction's)."""
    out = []
    for g in inter.segments:
        text = (texts or {}).get(g.id, g.text) or ""
        if not text:
            continue
        step = max(g.end_s - g.start_s, 0.0) / len(text)
        chars = [CharTime(ch, g.start_s + k * step, g.start_s + (k + 1) * step) for k, ch in enumerate(text)]
        speaker = g.speaker if g.speaker in (STAFF, CUSTOMER) else STAFF
        out.append(Utterance(speaker, g.speaker_confidence if g.speaker in (STAFF, CUSTOMER) else 0.5, chars))
    return out


def stored_calls(db: Session | None, inter: Interaction) -> list[tuple[float, str | None, float | None]]:
    """The queue calls around a stored interaction (seconds from its start, ticket, wait), as the
    worker gave them to the analysis; none without a session (``db``) to read them in."""
    if db is None:
        return []
    return [(c.at_s - inter.wall_start_s, c.ticket, c.waited_s)
            for c in queue_calls(db, inter.counter_id, inter.wall_start_s - CALL_SLACK_S, inter.wall_end_s)]


def judge_stored(judge: Judge, inter: Interaction, *, mono: bool, texts: Mapping[int, str] | None = None,
                 calls: Sequence[tuple[float, str | None, float | None]] = ()) -> list[Finding]:
    """Findings of ``judge`` on one stored interaction (its times are from its start);
    ``texts``: as :func:`stored_utterances`; ``calls``: :func:`stored_calls`, for rules with ``when``."""
    utts = stored_utterances(inter, texts)
    spans = split_interactions([(u.start_s, u.end_s) for u in utts])
    signals = dict(inter.signals or {})
    q = Quality(assessable=inter.assessable, reason=inter.assessable_reason, signals=signals,
                audio_factor=audio_factor(signals.get("avg_logprob"), signals.get("snr_db")))
    turns = None if mono else [Turn.from_list(t) for t in (inter.turns or [])]
    return judge.judge(utts, spans, mono=mono, turns=turns, quality={s.index: q for s in spans},
                       queue=queue_facts(spans, calls))


def as_flag(f: Finding) -> Flag:
    """A new flag row for finding ``f``."""
    return Flag(type=f.type, rule=f.rule, phrase=f.phrase, evidence=f.evidence, start_s=f.start_s, end_s=f.end_s,
                speaker=f.speaker, confidence=f.confidence, severity=f.severity, confidence_reasons=list(f.reasons))


def lines_in_force(corrections: Iterable[TranscriptCorrection], segments: Sequence[Segment]
                   ) -> dict[int, TranscriptCorrection]:
    """The current correction of each line, by the id of the segment it corrects: the segment it
    named, or, after a re-analysis made new segments, the one with the same recognised text
    starting within SAME_LINE_S (a correction matching no segment is history only)."""
    by_id = {g.id: g for g in segments}
    out: dict[int, TranscriptCorrection] = {}
    for c in corrections:
        if not c.current:
            continue
        g = by_id.get(c.segment_id)
        if g is None:
            near = [x for x in segments if x.text == c.recognised and abs(x.start_s - c.line_start_s) <= SAME_LINE_S]
            g = min(near, key=lambda x: abs(x.start_s - c.line_start_s)) if near else None
        if g is not None:
            out[g.id] = c
    return out


def apply_correction(inter: Interaction, judge: Judge, *, mono: bool, before: Mapping[int, str],
                     after: Mapping[int, str], correction_id: int, at_s: float) -> tuple[list[Flag], list[Flag]]:
    """Judge the interaction's text with the corrections ``before`` and with ``after`` (segment id
    to text), and change its findings by the difference only (:func:`merge_difference`): those
    no longer raised are superseded by ``correction:<correction_id>``, new ones are marked with
    it. Returns (raised, superseded)."""
    calls = stored_calls(object_session(inter), inter)     # the same queue facts before and after
    return merge_difference(inter, [as_flag(f) for f in judge_stored(judge, inter, mono=mono, texts=before, calls=calls)],
                            [as_flag(f) for f in judge_stored(judge, inter, mono=mono, texts=after, calls=calls)],
                            source=f"{SUPERSEDED_PREFIX}{correction_id}", at_s=at_s,
                            rulebook_version=judge.rulebook.version, correction_id=correction_id)


def reapply(inter: Interaction, corrections: Iterable[TranscriptCorrection], judge: Judge, *, mono: bool,
            at_s: float) -> int:
    """After a re-analysis (new segments and findings from the recognised text), give the
    corrections in force their effect again, oldest first; their segments must have ids
    (flushed). Returns how many were applied."""
    in_force = sorted(lines_in_force(corrections, list(inter.segments)).items(), key=lambda kv: (kv[1].at_s, kv[1].id))
    texts: dict[int, str] = {}
    for gid, c in in_force:
        before = dict(texts)
        texts[gid] = c.text
        apply_correction(inter, judge, mono=mono, before=before, after=texts, correction_id=c.id, at_s=at_s)
    return len(in_force)
