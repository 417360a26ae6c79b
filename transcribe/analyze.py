"""The analysis pipeline: audio file in, segments, interactions, their quality and flags out.

Recognition (:mod:`transcribe.asr`), speakers (:mod:`transcribe.speakers`), stereo turns
(:mod:`transcribe.turns`), interactions, whether each could be assessed
(:mod:`transcribe.quality`), then the rulebook (:mod:`transcribe.judge`).
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from domain import pii
from domain.vocab import CHANNEL_MAPS, STAFF
from transcribe.asr import AsrSegment, Transcriber, Word
from transcribe.audio import Audio, load_audio
from transcribe.errors import TranscribeError
from transcribe.hallucination import is_hallucination
from transcribe.interactions import DEFAULT_SPLIT_SILENCE_S, InteractionSpan, join_lost_speech, split_interactions
from transcribe.judge import SPEAKER_THRESHOLD, Finding, Judge, queue_facts
from transcribe.quality import Quality, lost_speech, measure, overall
from transcribe.rules import Rulebook
from transcribe.speakers import attribute_mono, attribute_stereo, speech_regions
from transcribe.turns import Turn, channel_turns
from transcribe.verify import Verifier

__all__ = ["SPEAKER_THRESHOLD", "Analysis", "Analyzer", "Finding", "TranscriptSegment"]

logger = logging.getLogger(__name__)

#: Long files log their progress every this many seconds of audio.
PROGRESS_EVERY_S = 60.0


@dataclass(frozen=True)
class TranscriptSegment:
    """One line of the transcript: who said what, when (seconds from the start)."""

    start_s: float
    end_s: float
    speaker: str
    speaker_confidence: float
    text: str


@dataclass
class Analysis:
    file: str
    duration_s: float
    language: str
    rulebook_version: str
    channels: str
    segments: list[TranscriptSegment] = field(default_factory=list)
    interactions: list[InteractionSpan] = field(default_factory=list)
    flags: list[Finding] = field(default_factory=list)
    #: Per interaction index: its signals and whether it could be assessed (无法判定).
    quality: dict[int, Quality] = field(default_factory=dict)
    #: Stereo: each side's turns from the channels (what the audio rules judge); mono: None.
    turns: list[Turn] | None = None
    #: Seconds of voiced audio (VAD) in the whole recording.
    voiced_s: float = 0.0
    #: Per interaction index: the rules whose ``when`` (queue facts) did not hold, with why.
    not_applied: dict[int, list[dict]] = field(default_factory=dict)

    def assessment(self) -> Quality:
        """The whole recording's verdict: 无法判定 if any interaction is, or if there was
        speech and nothing was recognised."""
        return overall(list(self.quality.values()), voiced_s=self.voiced_s)

    def quality_of(self, index: int) -> Quality:
        return self.quality.get(index, Quality())

    def to_dict(self) -> dict:
        """The stable JSON shape of ``counterwatch analyze --json``."""
        verdict = self.assessment()
        return {
            "file": self.file,
            "assessable": verdict.assessable,
            "assessable_reason": verdict.reason,
            "duration": round(self.duration_s, 3),
            "language": self.language,
            "rulebook_version": self.rulebook_version,
            "channels": self.channels,
            "segments": [{"start": round(s.start_s, 2), "end": round(s.end_s, 2), "speaker": s.speaker,
                          "speaker_confidence": round(s.speaker_confidence, 3), "text": s.text}
                         for s in self.segments],
            "interactions": [{"index": i.index, "start": round(i.start_s, 2), "end": round(i.end_s, 2),
                              "assessable": self.quality_of(i.index).assessable,
                              "assessable_reason": self.quality_of(i.index).reason,
                              "signals": self.quality_of(i.index).signals,
                              "rules_not_applied": self.not_applied.get(i.index, [])}
                             for i in self.interactions],
            "flags": [{"type": f.type, "rule": f.rule, "phrase": f.phrase, "evidence": f.evidence,
                       "start": round(f.start_s, 2), "end": round(f.end_s, 2), "speaker": f.speaker,
                       "interaction": f.interaction, "confidence": round(f.confidence, 3),
                       "severity": f.severity, "confidence_reasons": list(f.reasons)}
                      for f in self.flags],
            "turns": None if self.turns is None else [t.to_list() for t in self.turns],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


class Analyzer:
    """Runs transcription, speaker attribution, interaction split and the rulebook."""

    def __init__(self, transcriber: Transcriber, rulebook: Rulebook, *,
                 split_silence_s: float = DEFAULT_SPLIT_SILENCE_S, verify: bool = True) -> None:
        """``verify``: the acoustic model confirms or rejects the rulebook's candidates
        (:mod:`transcribe.verify`); off only to measure what it changes (bench/accuracy.py)."""
        self.transcriber = transcriber
        self.split_silence_s = split_silence_s
        model = getattr(transcriber, "whisper_model", None) if verify else None
        self.verifier = Verifier(model) if model is not None else None
        self.set_rulebook(rulebook)

    def set_rulebook(self, rulebook: Rulebook) -> None:
        self.rulebook = rulebook
        self.judge = Judge(rulebook)

    def analyze_file(self, path: str | Path, *, channels: str = "staff,customer",
                     boundaries_s: Sequence[float] = ()) -> Analysis:
        """Analyse one file. ``channels`` is a key of :data:`CHANNEL_MAPS`; a mono file is
        analysed as mono whatever it says.

        Raises:
            AudioError: the file cannot be decoded.
        """
        audio = load_audio(path)
        return self.analyze_audio(audio, name=str(path), channels=channels, boundaries_s=boundaries_s)

    def analyze_audio(self, audio: Audio, *, name: str, channels: str = "staff,customer",
                      boundaries_s: Sequence[float] = (),
                      asr_segments: Iterable[AsrSegment] | None = None,
                      calls: Sequence[tuple[float, str | None, float | None]] = ()) -> Analysis:
        """``asr_segments``: the audio's transcript when it was already transcribed (the worker
        transcribes several interactions in one batch, :meth:`Transcriber.transcribe_many`).
        ``calls``: the queue calls around the audio (seconds from its start, ticket, how long the
        ticket waited), the facts of rules with ``when`` (:func:`transcribe.judge.queue_facts`)."""
        if channels not in CHANNEL_MAPS:
            raise TranscribeError("channels", f"must be one of {', '.join(CHANNEL_MAPS)}, got {channels!r}")
        roles = CHANNEL_MAPS[channels] if audio.channels == 2 else None
        words: list[Word] = []
        kept: list[AsrSegment] = []
        next_report_s = PROGRESS_EVERY_S
        mono = audio.mono()
        asr = self.transcriber.transcribe(mono) if asr_segments is None else asr_segments
        for seg in asr:
            if seg.end_s >= next_report_s:
                logger.info("%s: transcribed %.0f of %.0f s", name, seg.end_s, audio.duration_s)
                next_report_s = seg.end_s + PROGRESS_EVERY_S
            if is_hallucination(seg):
                # Transcript text stays out of INFO logs (issue 6); at DEBUG, personal numbers masked.
                logger.info("%s: dropped likely hallucination at %.1f s (%d characters)", name, seg.start_s,
                            len(seg.text))
                logger.debug("%s: hallucination text: %r", name, pii.mask(seg.text))
                continue
            kept.append(seg)
            words.extend(seg.words or _segment_as_word(seg))
        regions = speech_regions(mono, audio.sample_rate_hz)
        turns = None
        if roles:
            turns = channel_turns(audio.samples, audio.sample_rate_hz, roles)
            utts = attribute_stereo(words, audio.samples, audio.sample_rate_hz, roles,
                                    turns=[(t.speaker, t.start_s, t.end_s) for t in turns])
        else:
            utts = attribute_mono(words, regions)
        interactions = split_interactions([(u.start_s, u.end_s) for u in utts],
                                          split_silence_s=self.split_silence_s, boundaries_s=boundaries_s)
        result = Analysis(file=name, duration_s=audio.duration_s, language="zh",
                          rulebook_version=self.rulebook.version,
                          channels="mono" if roles is None else channels, turns=turns,
                          voiced_s=round(sum(b - a for a, b in regions), 2))
        result.segments = [TranscriptSegment(u.start_s, u.end_s, u.speaker, u.speaker_confidence, u.text) for u in utts]
        result.interactions = interactions
        staff_channel = audio.samples[roles.index(STAFF)] if roles else None

        def measured(i: InteractionSpan) -> Quality:
            return measure(i, segments=kept, utts=utts, regions=regions, turns=turns, mono=mono,
                           sample_rate_hz=audio.sample_rate_hz, staff_channel=staff_channel,
                           opened_by_call=any(abs(i.start_s - b) < 0.01 for b in boundaries_s))

        quality = {i.index: measured(i) for i in interactions}
        # Fragments split apart only by speech the recogniser lost are one interaction, which
        # cannot be judged: judging a fragment would "miss" what was said in the lost part.
        if turns is not None:
            joined = join_lost_speech(interactions, None, [(t.start_s, t.end_s) for t in turns],
                                      boundaries_s=boundaries_s)
        else:
            joined = join_lost_speech(interactions, {k for k, q in quality.items() if not q.assessable}, regions,
                                      boundaries_s=boundaries_s)
        if len(joined) < len(interactions):
            interactions = [i for i, _, _ in joined]
            result.interactions = interactions
            quality = {}
            for i, parts, lost_s in joined:
                q = measured(i)
                quality[i.index] = q if len(parts) == 1 else lost_speech(q, lost_s)
        result.quality = quality
        for i in interactions:
            q = result.quality[i.index]
            if not q.assessable:
                logger.info("%s: interaction %d not assessable: %s", name, i.index, q.reason)
        facts = queue_facts(interactions, calls)
        result.flags = self.judge.judge(utts, interactions, mono=roles is None, turns=turns, quality=result.quality,
                                        queue=facts,
                                        verify=None if self.verifier is None else
                                        self.verifier.bind(mono, audio.sample_rate_hz))
        result.not_applied = self.judge.not_applied(interactions, facts)
        return result


def _segment_as_word(seg: AsrSegment) -> list[Word]:
    return [Word(seg.start_s, seg.end_s, seg.text, 1.0)] if seg.text.strip() else []
