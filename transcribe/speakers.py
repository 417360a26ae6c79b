"""Who spoke: staff or customer, for every transcribed word.

Stereo intercoms give one microphone per side, but each side also picks up the other at a
lower level, and Whisper transcribes both from the mix; so a word belongs to the channel where
it is loudest. Mono recordings carry no such evidence; there the role of each turn is judged
from how it is phrased (the service script versus a customer's first-person requests,
questions and thanks), and the judgement carries a probability rather than a verdict.
"""
from __future__ import annotations

import bisect
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from domain.vocab import CUSTOMER, STAFF
from transcribe.asr import Word
from transcribe.normalize import clauses, to_simplified

#: A pause this long between words in a mono recording is taken as a possible change of turn.
TURN_GAP_S = 0.3
#: Stereo: the part of a word (from its end) whose channel levels decide who said it.
WORD_TAIL_S = 0.25
#: Stereo: a word whose tail lies this much in one side's turns, and at most OTHER_COVER in the
#: other's, is that side's with TURN_CONFIDENCE.
TURN_COVER = 0.6
OTHER_COVER = 0.2
TURN_CONFIDENCE = 0.85


@dataclass(frozen=True)
class CharTime:
    char: str
    start_s: float
    end_s: float


@dataclass
class Utterance:
    """A run of speech by one side: simplified text with a time for every character."""

    speaker: str
    speaker_confidence: float     # probability that ``speaker`` is right
    chars: list[CharTime]

    @property
    def text(self) -> str:
        return "".join(c.char for c in self.chars)

    @property
    def start_s(self) -> float:
        return self.chars[0].start_s

    @property
    def end_s(self) -> float:
        return self.chars[-1].end_s

    def p_staff(self) -> float:
        if self.speaker == STAFF:
            return self.speaker_confidence
        if self.speaker == CUSTOMER:
            return 1.0 - self.speaker_confidence
        return 0.5


def word_chars(word: Word) -> list[CharTime]:
    """Simplified characters of ``word``, sharing its time span evenly."""
    text = to_simplified(word.text)
    if not text:
        return []
    step = max(word.end_s - word.start_s, 0.0) / len(text)
    return [CharTime(ch, word.start_s + k * step, word.start_s + (k + 1) * step) for k, ch in enumerate(text)]


def _clean_words(words: Sequence[Word]) -> list[Word]:
    return [w for w in words if w.text.strip()]


# --- stereo -------------------------------------------------------------------------------

def channel_levels_db(samples: np.ndarray, sample_rate_hz: int, start_s: float, end_s: float) -> np.ndarray:
    """Mean power in dB of each channel over [start_s, end_s]."""
    a = max(0, int(start_s * sample_rate_hz))
    b = max(a + 1, int(end_s * sample_rate_hz))
    seg = samples[:, a:b].astype(np.float64)
    if seg.shape[1] == 0:       # a span past the audio's end: silence, not numpy's "Mean of empty slice"
        return np.full(samples.shape[0], 10 * np.log10(1e-12))
    return 10 * np.log10(np.mean(seg * seg, axis=1) + 1e-12)


def _turn_side(turns: Sequence[tuple[str, float, float]], a: float, b: float) -> str | None:
    """The one side whose turns cover most of [a, b] while the other's barely touch it."""
    cover: dict[str, float] = {}
    for side, t0, t1 in turns:
        cover[side] = cover.get(side, 0.0) + max(0.0, min(b, t1) - max(a, t0))
    span = max(b - a, 1e-3)
    sides = sorted(cover.items(), key=lambda kv: -kv[1])
    if sides and sides[0][1] >= TURN_COVER * span and (len(sides) == 1 or sides[1][1] <= OTHER_COVER * span):
        return sides[0][0]
    return None


def attribute_stereo(words: Sequence[Word], samples: np.ndarray, sample_rate_hz: int,
                     roles: tuple[str, str], *, max_gap_s: float = 1.0,
                     turns: Sequence[tuple[str, float, float]] = ()) -> list[Utterance]:
    """Give each word to the louder channel and group consecutive same-side words. ``turns``
    ((side, start, end): :func:`transcribe.turns.channel_turns`) decide a word that lies in one
    side's turn only: over babble and strong crosstalk a single syllable's levels mislead, a
    turn's smoothed own-speech frames much less."""
    out: list[Utterance] = []
    for w in _clean_words(words):
        # Whisper often starts the first word after a pause too early, into the silence or the
        # other side's last syllable; its end is reliable, so judge the word by its tail.
        tail = max(w.start_s, w.end_s - WORD_TAIL_S)
        lv = channel_levels_db(samples, sample_rate_hz, tail, w.end_s)
        k = int(np.argmax(lv))
        diff_db = float(abs(lv[0] - lv[1]))
        conf = 1.0 / (1.0 + math.exp(-diff_db / 2.0))
        speaker = roles[k]
        side = _turn_side(turns, tail, w.end_s) if turns else None
        if side is not None and side != speaker:
            speaker, conf = side, TURN_CONFIDENCE
        elif side is not None:
            conf = max(conf, TURN_CONFIDENCE)
        chars = word_chars(w)
        if not chars:
            continue
        last = out[-1] if out else None
        if last and last.speaker == speaker and chars[0].start_s - last.end_s < max_gap_s:
            n = len(last.chars)
            last.chars.extend(chars)
            # The utterance's confidence is the length-weighted mean of its words'.
            last.speaker_confidence = (last.speaker_confidence * n + conf * len(chars)) / (n + len(chars))
        else:
            out.append(Utterance(speaker, conf, chars))
    return out


# --- mono ---------------------------------------------------------------------------------

# (pattern, weight): positive weights point to staff, negative to the customer.
_STAFF_CUES = [
    (r"您(?!好)", 1.2), (r"您好", 0.5),
    (r"请(问您|出示|稍等|稍候|收好|慢走|坐|把|您|提供|先|到|下次)", 1.0),
    (r"什么业务|有什么可以帮|下一个|一共是|欢迎|马上|不客气|没关系|配合|理解|再见|慢走|应该做的", 1.0),
    (r"已经办好|办理完毕|请收好|凭证", 1.0),
    # Insults at a counter come from behind the glass far more often than in front of it.
    (r"你(是不是)?(傻|笨|蠢)|脑子(有|进)", 1.0),
]
_CUSTOMER_CUES = [
    (r"^(那|那么)?我(想|来|要|已经|还|不会|不知道|看不|明天|补|先|这个|就问)", -1.5),
    (r"^(好的|好吧|太好了|行|嗯)(谢谢(你)?)?$", -1.0),
    (r"^谢谢$", -0.6),
    (r"谢谢你|^给你|给你$|同志|不好意思|师傅", -1.0),
    (r"^(那|要是.{0,8}那)?我(换|找|自己|再|去|第一次|怕|的)(?!.*您)", -1.2),
    (r"那我(?!.*您)", -0.8),
    (r"真的不懂|不太明白|不太会", -1.0),
    (r"你们", -0.8),
    (r"是不是", -0.5),
    (r"请问(?!您).*(需要|在哪|怎么|吗|这个)", -1.0),
    (r"^(那)?我(还|能|可以).*吗$|你们.*吗$", -0.7),
]
_CUES = [(re.compile(p), w) for p, w in _STAFF_CUES + _CUSTOMER_CUES]
_PRIOR_LOGIT = 0.4     # a turn with no cue at all is staff with p = 0.6
_CUE_SCALE = 1.5
#: A clause's own cues decide its side when their total is at least this strong.
_OWN_CUE = 1.0
#: A clause this short ("谢谢", "好的", "您好") is a fragment that VAD split off a turn.
_FRAGMENT_CHARS = 3
#: Within one speaker's turn, pauses are shorter than this; between turns, longer.
SAME_TURN_GAP_S = 0.5
#: Replies that open a turn, so what came just before was the other side's.
_REPLY = re.compile(r"^(不客气|没关系|不用谢|好的|好)")


def cue_score(clause: str) -> float:
    """Sum of cue weights found in ``clause`` (punctuation already removed)."""
    return sum(w for rx, w in _CUES if rx.search(clause))


def _p_staff(score: float) -> float:
    return 1.0 / (1.0 + math.exp(-(_PRIOR_LOGIT + _CUE_SCALE * score)))


def _split_turns(words: Sequence[Word], regions: Sequence[tuple[float, float]]) -> list[list[Word]]:
    """Group words into turns: words in the same speech region (between pauses of at least
    :data:`TURN_GAP_S`, found by VAD on the audio) form one turn. Whisper's word times run
    together across pauses, so the audio decides; without regions, word gaps do."""
    turns: list[list[Word]] = []
    last_region = None
    starts = [a for a, _ in regions]
    for w in _clean_words(words):
        if regions:
            t = max(w.start_s, w.end_s - 0.1)
            k = max(bisect.bisect_right(starts, t) - 1, 0)
            if k + 1 < len(regions) and regions[k + 1][0] - t < t - regions[k][1]:
                k += 1
            new = k != last_region
            last_region = k
        else:
            new = not turns or w.start_s - turns[-1][-1].end_s >= TURN_GAP_S
        if new:
            turns.append([w])
        else:
            turns[-1].append(w)
    return turns


def speech_regions(samples: np.ndarray, sample_rate_hz: int) -> list[tuple[float, float]]:
    """Speech regions (seconds) separated by pauses of at least :data:`TURN_GAP_S`."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    opts = VadOptions(min_silence_duration_ms=int(TURN_GAP_S * 1000), speech_pad_ms=0)
    return [(r["start"] / sample_rate_hz, r["end"] / sample_rate_hz)
            for r in get_speech_timestamps(samples, opts, sampling_rate=sample_rate_hz)]


def attribute_mono(words: Sequence[Word], regions: Sequence[tuple[float, float]] = ()) -> list[Utterance]:
    """Guess each turn's side from its phrasing; every utterance gets a probability.

    ``regions`` are speech regions from :func:`speech_regions`; they split turns where
    Whisper's word timing does not show the pause."""
    pieces: list[tuple[str, list[CharTime], float, float]] = []
    for turn in _split_turns(words, regions):
        chars = [c for w in turn for c in word_chars(w)]
        text = "".join(c.char for c in chars)
        # Map each clause to its characters, keeping punctuation with the clause before it.
        spans: list[tuple[str, list[CharTime]]] = []
        pos = 0
        for cl in clauses(text):
            i = text.find(cl, pos)
            j = i + len(cl)
            while j < len(text) and not clauses(text[j]):
                j += 1
            spans.append((cl, chars[pos if not spans else i:j]))
            pos = j
        if spans and pos < len(chars):
            spans[-1][1].extend(chars[pos:])
        scores = [cue_score(cl) for cl, _ in spans]
        turn_score = sum(scores)
        for (cl, cl_chars), own in zip(spans, scores, strict=True):
            if cl_chars:
                pieces.append((cl, cl_chars, own, turn_score))
    return _assign(pieces)


def _assign(pieces: list[tuple[str, list[CharTime], float, float]]) -> list[Utterance]:
    """Decide each clause's side: its own strong cues first; a short uncued fragment that
    runs on without a turn-taking pause into a strongly cued clause shares that one's side;
    otherwise its turn's cues decide."""
    out: list[Utterance] = []
    for k, (cl, cl_chars, own, turn_score) in enumerate(pieces):
        score = own if abs(own) >= _OWN_CUE else turn_score
        if abs(own) < _OWN_CUE and len(cl) <= _FRAGMENT_CHARS and k + 1 < len(pieces):
            nxt_cl, nxt_chars, nxt_own, _ = pieces[k + 1]
            gap = nxt_chars[0].start_s - cl_chars[-1].end_s
            if gap < SAME_TURN_GAP_S and abs(nxt_own) >= _OWN_CUE and not _REPLY.match(nxt_cl):
                score = nxt_own
        if k + 1 < len(pieces) and _REPLY.match(pieces[k + 1][0]) and abs(own) < _OWN_CUE + 0.5:
            # "谢谢" answered by "不客气": the thanks came from the other side.
            nxt_score = pieces[k + 1][2] if abs(pieces[k + 1][2]) >= _OWN_CUE else pieces[k + 1][3]
            if nxt_score > 0:
                score = min(score, -_OWN_CUE)
        p = _p_staff(score)
        speaker = STAFF if p >= 0.5 else CUSTOMER
        conf = p if speaker == STAFF else 1.0 - p
        last = out[-1] if out else None
        if last and last.speaker == speaker and last.end_s >= cl_chars[0].start_s - TURN_GAP_S:
            n = len(last.chars)
            last.chars.extend(cl_chars)
            last.speaker_confidence = min(last.speaker_confidence, conf) if n else conf
        else:
            out.append(Utterance(speaker, conf, list(cl_chars)))
    return out
