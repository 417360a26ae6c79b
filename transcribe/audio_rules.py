"""Audio rules over turns and utterances: 冷场, 抢话, speech rate, raised voice.

Inputs are what a stored interaction keeps too (turns from :mod:`transcribe.turns`, the
transcript's utterances), so the rule bench can try audio rules on stored interactions
without the audio. ``silence``, ``overlap`` and ``raised_voice`` need a stereo recording's
turns; ``speech_rate`` uses the staff's utterances and their character times.
"""
from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from domain.vocab import CUSTOMER, STAFF
from transcribe.match import PhraseMatcher
from transcribe.normalize import is_han, tokenize
from transcribe.quality import GOOD_SNR_DB, MIN_SNR_DB, SURE_AVG_LOGPROB, Quality
from transcribe.rules import AudioRule
from transcribe.speakers import Utterance
from transcribe.turns import CLOSE_GAP_S, Turn

#: The excuse ("请稍等") counts when the staff said it this long before the wait began.
EXCUSE_BEFORE_S = 10.0
#: Raised voice: the baseline needs this many earlier staff turns of at least half a second.
BASELINE_TURNS = 2
#: 抢话: the staff's turn goes on at least this long after the customer's overlapped turn ends.
TAKE_OVER_S = 0.3
#: Speech rate counts characters over their times: only where the recogniser was sure of them
#: (average log-probability) and the speech stood this far above the hall (estimated SNR). In a
#: very busy hall the recogniser writes babble into the staff's words and squeezes their times
#: (issue 19: 语速过快 11 times on polite very-busy dialogues).
FAST_MIN_SNR_DB = (MIN_SNR_DB + GOOD_SNR_DB) / 2


@dataclass(frozen=True)
class AudioHit:
    start_s: float
    end_s: float
    value: float         # the measured quantity (s, ms, characters/s, dB)
    text: str            # what was measured, in Chinese, for the reviewer
    p_staff: float = 1.0  # how sure it is the staff's doing


def _inside(turns: Sequence[Turn], lo: float, hi: float) -> list[Turn]:
    return [t for t in turns if lo <= t.start_s < hi]


def silences(rule: AudioRule, turns: Sequence[Turn], utts: Sequence[Utterance], lo: float, hi: float) -> list[AudioHit]:
    """Waits: from the end of the customer's last turn to the staff's next turn, longer than
    the threshold, unless the staff said an excuse (请稍等) shortly before."""
    mine = _inside(turns, lo, hi)
    staff = [t for t in mine if t.speaker == STAFF]
    excuse = PhraseMatcher(rule.excused_by) if rule.excused_by else None
    out = []
    for nxt in staff:
        before = [t for t in staff if t.end_s <= nxt.start_s and t is not nxt]
        quiet_from = max((t.end_s for t in before), default=lo)
        waited = [t for t in mine if t.speaker == CUSTOMER and quiet_from <= t.end_s <= nxt.start_s]
        if not waited:
            continue
        start = max(t.end_s for t in waited)
        wait = nxt.start_s - start
        if wait <= rule.threshold:
            continue
        if excuse is not None and any(
                u.p_staff() >= 0.5 and start - EXCUSE_BEFORE_S <= u.end_s <= start + 0.5 and excuse.find(tokenize(u.text))
                for u in utts):
            continue
        out.append(AudioHit(start, nxt.start_s, round(wait, 1), f"群众说完后工作人员 {wait:.1f} 秒未回应"))
    return out


def overlaps(rule: AudioRule, turns: Sequence[Turn], lo: float, hi: float) -> list[AudioHit]:
    """The staff starting to speak while the customer speaks (or paused under CLOSE_GAP_S), both
    speaking for longer than the threshold during that staff turn, and the staff going on after
    the customer stopped (TAKE_OVER_S)."""
    mine = _inside(turns, lo, hi)
    cust = [t for t in mine if t.speaker == CUSTOMER]
    out = []
    for s in (t for t in mine if t.speaker == STAFF):
        if not any(c.start_s < s.start_s <= c.end_s + CLOSE_GAP_S for c in cust):
            continue
        both = [(max(s.start_s, c.start_s), min(s.end_s, c.end_s)) for c in cust
                if c.start_s < s.end_s and s.start_s < c.end_s]
        ms = sum(b - a for a, b in both) * 1000
        # The staff took the floor: went on after the customer stopped. A staff "turn" that lies
        # inside the customer's is a backchannel (嗯, 对) or the customer's own voice leaking into
        # the staff microphone where a busy hall's levels move (issue 19).
        took_over = s.end_s >= max((c.end_s for c in cust if c.start_s < s.end_s and s.start_s < c.end_s),
                                   default=s.end_s) + TAKE_OVER_S
        if ms > rule.threshold and took_over:
            out.append(AudioHit(s.start_s, max(b for _, b in both), round(ms), f"群众说话时工作人员插话 {ms:.0f} 毫秒"))
    return out


def rate_measurable(q: Quality | None) -> bool:
    """Whether an interaction's recognised characters and their times are sure enough to count
    a speech rate over (see FAST_MIN_SNR_DB); an interaction without measured signals is."""
    if q is None:
        return True
    sig = q.signals
    return sig.get("avg_logprob", 0.0) >= SURE_AVG_LOGPROB and sig.get("snr_db", 90.0) >= FAST_MIN_SNR_DB


def fast_speech(rule: AudioRule, utts: Sequence[Utterance], lo: float, hi: float,
                quality: Quality | None = None) -> list[AudioHit]:
    """Staff utterances of at least ``min_s`` spoken faster than the threshold, where the
    recognition is sure enough to count characters over time (:func:`rate_measurable`)."""
    if not rate_measurable(quality):
        return []
    out = []
    for u in utts:
        if not lo <= u.start_s < hi or u.p_staff() < 0.5:
            continue
        dur = u.end_s - u.start_s
        n = sum(1 for c in u.chars if is_han(c.char))
        if dur >= max(rule.min_s, 0.5) and n / dur > rule.threshold:
            out.append(AudioHit(u.start_s, u.end_s, round(n / dur, 1), f"语速每秒 {n / dur:.1f} 字（{n} 字 {dur:.1f} 秒）",
                                p_staff=u.p_staff()))
    return out


def raised_voice(rule: AudioRule, turns: Sequence[Turn], lo: float, hi: float) -> list[AudioHit]:
    """Staff turns of at least ``min_s`` louder than the median of their earlier turns by the threshold."""
    staff = [t for t in _inside(turns, lo, hi) if t.speaker == STAFF]
    out = []
    for k, t in enumerate(staff):
        base = [x.level_db for x in staff[:k] if x.end_s - x.start_s >= 0.5]
        if len(base) < BASELINE_TURNS or t.end_s - t.start_s < rule.min_s:
            continue
        up = t.level_db - statistics.median(base)
        if up >= rule.threshold:
            out.append(AudioHit(t.start_s, t.end_s, round(up, 1), f"音量比此前高 {up:.1f} dB"))
    return out


def find(rule: AudioRule, turns: Sequence[Turn] | None, utts: Sequence[Utterance], lo: float, hi: float,
         quality: Quality | None = None) -> list[AudioHit]:
    """Hits of ``rule`` in [lo, hi); rules that need turns find nothing without them (mono).
    ``quality``: the interaction's signals (the speech rate needs sure recognition)."""
    if rule.kind == "speech_rate":
        return fast_speech(rule, utts, lo, hi, quality)
    if turns is None:
        return []
    if rule.kind == "silence":
        return silences(rule, turns, utts, lo, hi)
    if rule.kind == "overlap":
        return overlaps(rule, turns, lo, hi)
    return raised_voice(rule, turns, lo, hi)
