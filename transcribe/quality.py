"""Could the recogniser follow the speech? Signals per interaction and the 无法判定 verdict.

Measured on hall-condition variants of the development and tuning sets (docs/benchmarks.md,
"Not assessable"): what separates audio the recogniser could not follow from audio it could is,
first, the estimated SNR of the speech over the hall's babble (the staff's channel on stereo);
then how few characters it wrote for the speech it heard (characters per second of voiced
audio, of the staff's own turns on stereo: nothing recognised at all is the extreme case), and
the decoder's own average log-probability. The no-speech probability did not separate them
(0.1-0.6 on clean and busy audio alike) and is recorded only.
An interaction below the thresholds is not assessable: it gets no courtesy or audio flags and
counts in no score, and forbidden findings in it wait for a person (see :mod:`transcribe.judge`).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from domain.vocab import CUSTOMER, STAFF
from transcribe.asr import AsrSegment
from transcribe.interactions import InteractionSpan
from transcribe.normalize import is_han
from transcribe.speakers import Utterance
from transcribe.turns import Turn, frame_levels_db

#: Fewer recognised characters than this per second of voiced audio (mono) or of the staff's
#: own turns (stereo, where turns include their pauses): the recogniser lost track.
MIN_CHARS_PER_VOICED_S = {"mono": 1.5, "stereo": 1.0}
#: Below this duration-weighted average log-probability the decoder was guessing.
MIN_AVG_LOGPROB = -1.0
#: Below this estimated SNR (loud speech frames over the floor between words: the hall's
#: babble) the recogniser gets about every third character wrong or worse (CER 0.27-0.88 on the
#: very busy hall variants of the tuning set, 0.15-0.43 above it).
MIN_SNR_DB = 17.0
#: At and above this SNR the audio costs a flag no confidence; down to MIN_SNR_DB, up to SNR_COST.
GOOD_SNR_DB = 25.0
SNR_COST = 0.15
#: Less voiced audio than this (s) is too little to judge either way; the chars test is skipped.
MIN_VOICED_S = 2.0
#: A service exchange (the only kind judged for courtesy and scored, issue 19): both sides speak,
#: at least this long from first to last word and this many utterances, or it was opened by a
#: queue call. A voice command ("换一首歌"), a cough or a colleague's word is not one.
MIN_SERVICE_S = 4.0
MIN_SERVICE_TURNS = 2
#: The reason of an interaction that is not a service exchange starts with this.
NOT_SERVICE = "非服务对话"


@dataclass(frozen=True)
class Quality:
    """One interaction's signals and verdict. ``audio_factor`` (0-1) scales its flags' confidence."""

    assessable: bool = True
    reason: str = ""
    audio_factor: float = 1.0
    signals: dict[str, float] = field(default_factory=dict)
    #: A service exchange (both sides, long enough, or opened by a queue call); one that is not
    #: is kept and listed but judged for nothing but forbidden words (waiting in 待确认), and
    #: counts in no score (``assessable`` False).
    service: bool = True

    def describe(self) -> str:
        """The audio in plain words a supervisor reads ("声音清晰度 良好，识别把握度 高")."""
        return plain_signals(self.signals) or "音频质量未测"

    def exact(self) -> str:
        """The same with the measured numbers, for a tooltip."""
        return signals_text(self.signals)


#: Above this duration-weighted average log-probability the recogniser is sure of its words.
SURE_AVG_LOGPROB = -0.4


def clarity_word(snr: float) -> str:
    """An estimated SNR (dB) in a word: 良好 / 一般 / 差 (the thresholds the verdict uses)."""
    return "良好" if snr >= GOOD_SNR_DB else "一般" if snr >= MIN_SNR_DB else "差"


def sureness_word(avg_logprob: float) -> str:
    """The recogniser's average log-probability in a word: 高 / 一般 / 低."""
    return "高" if avg_logprob >= SURE_AVG_LOGPROB else "一般" if avg_logprob >= MIN_AVG_LOGPROB else "低"


def plain_signals(signals: dict) -> str:
    """The recognition signals in the words a supervisor reads; the numbers: :func:`signals_text`."""
    parts = []
    if "snr_db" in signals:
        parts.append(f"声音清晰度 {clarity_word(signals['snr_db'])}")
    if "avg_logprob" in signals:
        parts.append(f"识别把握度 {sureness_word(signals['avg_logprob'])}")
    return "，".join(parts)


def signals_text(signals: dict) -> str:
    """The measured numbers behind :func:`plain_signals` (issue 20: exact numbers in a tooltip,
    not in the sentence)."""
    parts = []
    if "snr_db" in signals:
        parts.append(f"信噪比约 {signals['snr_db']:.0f} dB")
    if "chars_per_voiced_s" in signals:
        parts.append(f"每秒有声音频识别 {signals['chars_per_voiced_s']:.1f} 字")
    if "avg_logprob" in signals:
        parts.append(f"识别平均对数概率 {signals['avg_logprob']:.2f}")
    return "，".join(parts)


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def snr_db(x: np.ndarray, sample_rate_hz: int, lo: float, hi: float) -> float:
    """Estimated SNR of ``x`` within [lo, hi] (dB): the loud speech frames (95th percentile of
    20 ms frame power) over the floor between words and turns (20th percentile), which is the
    hall's babble and noise when there is any and digital silence when there is none."""
    levels = frame_levels_db(x[int(lo * sample_rate_hz):int(hi * sample_rate_hz)], sample_rate_hz)
    if len(levels) < 10:
        return 0.0
    p = 10 ** (levels / 10)
    return float(min(10 * np.log10(np.percentile(p, 95) / max(np.percentile(p, 20), 1e-12)), 90.0))


def service_exchange(utts: Sequence[Utterance], *, opened_by_call: bool = False, mono: bool = False) -> tuple[bool, str]:
    """Whether an interaction's utterances are a service exchange, and if not, why (in Chinese).
    On mono the sides are guessed from phrasing (a whole noisy dialogue may be guessed one
    side's), so there length and turns decide alone."""
    if opened_by_call:
        return True, ""
    sides = {STAFF: 0, CUSTOMER: 0}
    for u in utts:
        p = u.p_staff()
        if p >= 0.5:
            sides[STAFF] += 1
        if p <= 0.5:
            sides[CUSTOMER] += 1
    length = (max(u.end_s for u in utts) - min(u.start_s for u in utts)) if utts else 0.0
    why = []
    if not mono and (not sides[STAFF] or not sides[CUSTOMER]) or not utts:
        why.append("只有一方说话" if utts else "没有识别出对话")
    if utts and length < MIN_SERVICE_S:
        why.append(f"对话只有 {length:.0f} 秒")
    elif utts and len(utts) < MIN_SERVICE_TURNS:
        why.append("只有一句话")
    return not why, "，".join(why)


def measure(inter: InteractionSpan, *, segments: Sequence[AsrSegment], utts: Sequence[Utterance],
            regions: Sequence[tuple[float, float]], turns: Sequence[Turn] | None,
            mono: np.ndarray, sample_rate_hz: int, staff_channel: np.ndarray | None = None,
            opened_by_call: bool = False) -> Quality:
    """The signals of one interaction and whether it can be assessed: a service exchange
    (:func:`service_exchange`) the recogniser could follow."""
    lo, hi = inter.start_s, inter.end_s
    segs = [s for s in segments if _overlap(s.start_s, s.end_s, lo, hi) > 0]
    dur = sum(max(s.end_s - s.start_s, 0.01) for s in segs)
    logprob = sum(s.avg_logprob * max(s.end_s - s.start_s, 0.01) for s in segs) / dur if segs else -3.0
    no_speech = sum(s.no_speech_prob * max(s.end_s - s.start_s, 0.01) for s in segs) / dur if segs else 1.0
    voiced = sum(_overlap(a, b, lo, hi) for a, b in regions)
    mine = [u for u in utts if lo <= u.start_s < hi]
    chars = sum(1 for u in mine for c in u.chars if is_han(c.char))
    snr = snr_db(mono if staff_channel is None else staff_channel, sample_rate_hz, lo, hi)
    signals = {"avg_logprob": round(logprob, 3), "no_speech_prob": round(no_speech, 3), "voiced_s": round(voiced, 2),
               "chars": float(chars), "snr_db": round(snr, 1)}
    judged_s, judged_chars = voiced, chars
    if turns is not None:
        # Stereo: the staff's own turns are what the courtesy checks judge.
        staff_s = sum(t.end_s - t.start_s for t in turns if t.speaker == STAFF and lo <= t.start_s < hi)
        staff_utts = [u for u in mine if u.speaker == STAFF]
        staff_chars = sum(1 for u in staff_utts for c in u.chars if is_han(c.char))
        # The staff's turns come from channel levels; where the hall's noise hides them (0 s while
        # the staff channel carried 20 recognised characters, issue 19), the staff's own recognised
        # utterances are voiced audio of the staff's too.
        staff_s = max(staff_s, sum(u.end_s - u.start_s for u in staff_utts))
        signals.update(staff_voiced_s=round(staff_s, 2), staff_chars=float(staff_chars))
        judged_s, judged_chars = staff_s, staff_chars
    cps = judged_chars / judged_s if judged_s > 0 else 0.0
    signals["chars_per_voiced_s"] = round(cps, 2)
    reasons = []
    if judged_s >= MIN_VOICED_S and cps < MIN_CHARS_PER_VOICED_S["mono" if turns is None else "stereo"]:
        who = "工作人员" if turns is not None else ""
        reasons.append(f"{who}有声音频 {judged_s:.0f} 秒只识别出 {judged_chars} 字")
    if snr < MIN_SNR_DB:
        reasons.append("背景人声或噪声过强")
    if logprob < MIN_AVG_LOGPROB:
        reasons.append("识别把握度低")
    factor = audio_factor(logprob if segs else None, snr)
    service, why = service_exchange(mine, opened_by_call=opened_by_call, mono=turns is None)
    signals["service"] = float(service)
    if not service:
        return Quality(assessable=False, reason=f"{NOT_SERVICE}（{why}）", audio_factor=factor, signals=signals,
                       service=False)
    return Quality(assessable=not reasons, reason="；".join(reasons), audio_factor=factor, signals=signals)


def lost_speech(q: Quality, lost_s: float) -> Quality:
    """``q`` of an interaction joined across speech the recogniser lost
    (:func:`transcribe.interactions.join_lost_speech`): not assessable, whatever its parts say,
    with why in plain words; its signals kept (``lost_s``: the lost speech's voiced seconds). It
    counts as a service exchange: what is left of its words cannot say it was none."""
    why = f"约 {lost_s:.0f} 秒有声音频没有识别出文字，对话大段丢失"
    reason = "；".join(dict.fromkeys(r for r in (why, q.reason if q.service else "") if r))
    return Quality(False, reason, q.audio_factor, {**q.signals, "lost_s": round(lost_s, 2), "service": 1.0})


def audio_factor(avg_logprob: float | None, snr: float | None = None) -> float:
    """How much the audio lets one trust a flag (0.6-1): 1 while the decoder is sure (average
    log-probability -0.5 or better) and the speech stands GOOD_SNR_DB above the hall, less as the
    decoder guesses or the hall gets louder."""
    if avg_logprob is None:
        return 0.6
    f = float(np.clip(1.0 + (avg_logprob + 0.5) * 0.5, 0.6, 1.0))
    if snr is not None:
        f = min(f, float(np.clip(1.0 - SNR_COST * (GOOD_SNR_DB - snr) / (GOOD_SNR_DB - MIN_SNR_DB), 0.6, 1.0)))
    return round(f, 3)


def overall(qualities: Sequence[Quality], *, voiced_s: float) -> Quality:
    """One verdict for a whole recording (the worker keeps one per stored interaction): not
    assessable if any of its interactions is not, or if it has voiced audio but nothing was
    recognised at all."""
    if not qualities:
        if voiced_s >= MIN_VOICED_S:
            return Quality(False, f"有声音频 {voiced_s:.0f} 秒未识别出任何字", 0.6,
                           {"voiced_s": round(voiced_s, 2), "chars": 0.0, "chars_per_voiced_s": 0.0})
        return Quality(signals={"voiced_s": round(voiced_s, 2)})
    judged = [q for q in qualities if q.service]
    if not judged:      # nothing but fragments that are no service exchange: kept, not judged
        pick = max(qualities, key=lambda q: q.signals.get("voiced_s", 0.0))
        return Quality(False, pick.reason, min(q.audio_factor for q in qualities), pick.signals, service=False)
    bad = [q for q in judged if not q.assessable]
    pick = bad[0] if bad else max(judged, key=lambda q: q.signals.get("voiced_s", 0.0))
    return Quality(not bad, "；".join(dict.fromkeys(q.reason for q in bad)),
                   min(q.audio_factor for q in judged), pick.signals)
