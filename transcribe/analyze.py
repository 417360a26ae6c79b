"""The analysis pipeline: audio file in, segments, interactions and flags out."""
from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from domain import pii
from domain.vocab import CHANNEL_MAPS, STAFF, UNKNOWN
from transcribe.asr import AsrSegment, Transcriber, Word
from transcribe.audio import Audio, load_audio
from transcribe.errors import TranscribeError
from transcribe.hallucination import is_hallucination
from transcribe.interactions import DEFAULT_SPLIT_SILENCE_S, InteractionSpan, interaction_of, split_interactions
from transcribe.match import Match, PhraseMatcher
from transcribe.normalize import Token, tokenize
from transcribe.rules import RequiredRule, Rulebook
from transcribe.speakers import Utterance, attribute_mono, attribute_stereo, speech_regions

logger = logging.getLogger(__name__)

#: A flag needs the speaker to be the rule's side with at least this probability.
SPEAKER_THRESHOLD = 0.5
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


@dataclass(frozen=True)
class Finding:
    """A rule broken: a forbidden phrase said, or a courtesy word missing from an interaction."""

    type: str                 # domain.vocab.FLAG_TYPES
    rule: str
    phrase: str
    evidence: str
    start_s: float
    end_s: float
    speaker: str
    interaction: int
    confidence: float


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

    def to_dict(self) -> dict:
        """The stable JSON shape of ``counterwatch analyze --json``."""
        return {
            "file": self.file,
            "duration": round(self.duration_s, 3),
            "language": self.language,
            "rulebook_version": self.rulebook_version,
            "channels": self.channels,
            "segments": [{"start": round(s.start_s, 2), "end": round(s.end_s, 2), "speaker": s.speaker,
                          "speaker_confidence": round(s.speaker_confidence, 3), "text": s.text}
                         for s in self.segments],
            "interactions": [{"index": i.index, "start": round(i.start_s, 2), "end": round(i.end_s, 2)}
                             for i in self.interactions],
            "flags": [{"type": f.type, "rule": f.rule, "phrase": f.phrase, "evidence": f.evidence,
                       "start": round(f.start_s, 2), "end": round(f.end_s, 2), "speaker": f.speaker,
                       "interaction": f.interaction, "confidence": round(f.confidence, 3)}
                      for f in self.flags],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


@dataclass
class _Scored:
    """An utterance with its tokens, ready for matching."""

    utt: Utterance
    tokens: list[Token]
    interaction: int

    def span(self, m: Match) -> tuple[float, float, str]:
        a = self.tokens[m.start].index
        b = self.tokens[m.end - 1].index
        chars = self.utt.chars
        return chars[a].start_s, chars[b].end_s, "".join(c.char for c in chars[a:b + 1])


class Analyzer:
    """Runs transcription, speaker attribution, interaction split and the rulebook."""

    def __init__(self, transcriber: Transcriber, rulebook: Rulebook, *,
                 split_silence_s: float = DEFAULT_SPLIT_SILENCE_S) -> None:
        self.transcriber = transcriber
        self.split_silence_s = split_silence_s
        self.set_rulebook(rulebook)

    def set_rulebook(self, rulebook: Rulebook) -> None:
        self.rulebook = rulebook
        self._forbidden = [(r, PhraseMatcher(r.phrases)) for r in rulebook.forbidden]
        self._required = [(r, PhraseMatcher(r.words)) for r in rulebook.required]

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
                      asr_segments: Iterable[AsrSegment] | None = None) -> Analysis:
        """``asr_segments``: the audio's transcript when it was already transcribed (the worker
        transcribes several interactions in one batch, :meth:`Transcriber.transcribe_many`)."""
        if channels not in CHANNEL_MAPS:
            raise TranscribeError("channels", f"must be one of {', '.join(CHANNEL_MAPS)}, got {channels!r}")
        roles = CHANNEL_MAPS[channels] if audio.channels == 2 else None
        words: list[Word] = []
        next_report_s = PROGRESS_EVERY_S
        asr = self.transcriber.transcribe(audio.mono()) if asr_segments is None else asr_segments
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
            words.extend(seg.words or _segment_as_word(seg))
        if roles:
            utts = attribute_stereo(words, audio.samples, audio.sample_rate_hz, roles)
        else:
            utts = attribute_mono(words, speech_regions(audio.mono(), audio.sample_rate_hz))
        interactions = split_interactions([(u.start_s, u.end_s) for u in utts],
                                          split_silence_s=self.split_silence_s, boundaries_s=boundaries_s)
        scored = [_Scored(u, tokenize(u.text), interaction_of(interactions, u.start_s)) for u in utts]
        result = Analysis(file=name, duration_s=audio.duration_s, language="zh",
                          rulebook_version=self.rulebook.version,
                          channels="mono" if roles is None else channels)
        result.segments = [TranscriptSegment(u.start_s, u.end_s, u.speaker, u.speaker_confidence, u.text) for u in utts]
        result.interactions = interactions
        flags = [f for s in scored for f in self._forbidden_flags(s)]
        flags += [f for i in interactions for f in self._missing_flags(i, scored, mono=roles is None)]
        result.flags = sorted(flags, key=lambda f: (f.start_s, f.rule))
        return result

    # -- rules ---------------------------------------------------------------------------

    def _forbidden_flags(self, s: _Scored) -> list[Finding]:
        out: list[Finding] = []
        for rule, matcher in self._forbidden:
            p_side = _p_side(s.utt, rule.speaker)
            if p_side < SPEAKER_THRESHOLD:
                continue
            hits: list[tuple[float, float, str, str, float]] = []
            for m in matcher.find(s.tokens):
                start, end, evidence = s.span(m)
                hits.append((start, end, m.phrase.text, evidence, m.confidence))
            for rx in rule.regexes:
                for mt in rx.finditer(s.utt.text):
                    if mt.end() > mt.start():
                        chars = s.utt.chars[mt.start():mt.end()]
                        hits.append((chars[0].start_s, chars[-1].end_s, rx.pattern, mt.group(0), 0.9))
            for start, end, phrase, evidence, conf in hits:
                out.append(Finding("forbidden", rule.id, phrase, evidence, start, end, s.utt.speaker,
                                s.interaction, conf * p_side))
        return out

    def _missing_flags(self, inter: InteractionSpan, scored: list[_Scored], *, mono: bool) -> list[Finding]:
        out: list[Finding] = []
        mine = [s for s in scored if s.interaction == inter.index]
        for rule, matcher in self._required:
            lo, hi = _window(rule, inter)
            best_other = 0.0     # strongest evidence that went to the other side
            satisfied = False
            for s in mine:
                for m in matcher.find(s.tokens):
                    start, end, _ = s.span(m)
                    if start >= hi or end <= lo:
                        continue
                    p_side = _p_side(s.utt, rule.speaker)
                    if p_side >= SPEAKER_THRESHOLD:
                        satisfied = True
                        break
                    best_other = max(best_other, p_side)
                if satisfied:
                    break
            if satisfied:
                continue
            # Sure unless a courtesy word was heard and only its speaker was in doubt.
            conf = (0.8 if mono else 0.95) * (1.0 - best_other)
            out.append(Finding("missing_courtesy", rule.id, "", "", lo, hi, rule.speaker if rule.speaker != "any" else UNKNOWN,
                            inter.index, conf))
        return out


def _window(rule: RequiredRule, inter: InteractionSpan) -> tuple[float, float]:
    if rule.position == "first":
        return inter.start_s, min(inter.end_s, inter.start_s + rule.within_s)
    if rule.position == "last":
        return max(inter.start_s, inter.end_s - rule.within_s), inter.end_s
    return inter.start_s, inter.end_s


def _p_side(utt: Utterance, side: str) -> float:
    if side == "any":
        return 1.0
    p = utt.p_staff()
    return p if side == STAFF else 1.0 - p


def _segment_as_word(seg: AsrSegment) -> list[Word]:
    return [Word(seg.start_s, seg.end_s, seg.text, 1.0)] if seg.text.strip() else []
