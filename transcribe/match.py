"""Find rulebook phrases in a transcript through ASR errors.

Matching runs on toneless pinyin, one syllable per Han character, with an approximate
substring alignment (Sellers' algorithm). A substitution costs little only for the usual
fuzzy-pinyin confusions (z/zh, n/l, an/ang, en/eng ...); dropped or added particles
(了, 吧, 吗 ...) cost little; anything else costs a full edit. The edit budget grows with the
phrase length, so short phrases must match (almost) exactly while long ones survive one
misheard syllable. That keeps homophone errors ("快下半了", "反不反") matching and keeps
ordinary words ("理什么" for 急什么, "下班前") from matching.
"""
from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from transcribe.normalize import PARTICLES, Token, is_han, pinyin_of
from transcribe.rules import MIN_SOUND_SYLLABLES, Phrase

_INITIALS = ("zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h",
             "j", "q", "x", "r", "z", "c", "s", "y", "w")
_FUZZY_INITIAL = {"zh": "z", "ch": "c", "sh": "s", "n": "l", "r": "l", "f": "h"}
_FUZZY_FINAL = {"ang": "an", "eng": "en", "ing": "in", "iang": "ian", "uang": "uan"}

COST_FUZZY = 0.3      # a usual fuzzy-pinyin confusion
COST_NEAR = 0.8       # same initial or same final, otherwise different
COST_PARTICLE = 0.3   # a particle dropped or added
COST_FULL = 1.0


def edit_budget(syllables: int) -> float:
    """The largest alignment cost accepted for a phrase of ``syllables`` syllables."""
    if syllables <= 2:
        return 0.0
    if syllables == 3:
        return COST_FUZZY + 0.05
    if syllables <= 5:
        return COST_NEAR
    return COST_FULL + COST_FUZZY


@functools.lru_cache(maxsize=4096)
def split_syllable(py: str) -> tuple[str, str]:
    for ini in _INITIALS:
        if py.startswith(ini) and len(py) > len(ini):
            return ini, py[len(ini):]
    return "", py


@functools.lru_cache(maxsize=4096)
def fuzzy_parts(py: str) -> tuple[str, str]:
    """(initial, final) of toneless syllable ``py`` with the usual fuzzy-pinyin confusions folded
    (zh→z, n→l, ang→an ...): two syllables sound alike exactly when these are equal."""
    ini, fin = split_syllable(py)
    return _FUZZY_INITIAL.get(ini, ini), _FUZZY_FINAL.get(fin, fin)


@functools.lru_cache(maxsize=65536)
def syllable_cost(a: str, b: str) -> float:
    if a == b:
        return 0.0
    (ca, ga), (cb, gb) = fuzzy_parts(a), fuzzy_parts(b)
    if ca == cb and ga == gb:
        return COST_FUZZY
    if ca == cb or ga == gb:
        return COST_NEAR
    return COST_FULL


@dataclass(frozen=True)
class Match:
    phrase: Phrase
    start: int        # first matched token (index into the token list)
    end: int          # one past the last matched token
    cost: float
    confidence: float


@dataclass(frozen=True)
class _Compiled:
    phrase: Phrase
    chars: str
    pinyin: tuple[str, ...]
    particle: tuple[bool, ...]
    budget: float
    core: int          # syllables that are not particles
    #: ``phrase.not_in`` words: (their pinyin, where the phrase starts in them)
    not_in: tuple[tuple[tuple[str, ...], int], ...] = ()


def _compile(phrase: Phrase) -> _Compiled:
    chars = "".join(ch for ch in phrase.text if is_han(ch))
    if len(chars) < MIN_SOUND_SYLLABLES and phrase.match != "exact":
        # One syllable is never matched by sound alone (下 is not 瞎), however it was built.
        phrase = Phrase(phrase.text, "exact", phrase.standalone, phrase.not_in)
    py = tuple(pinyin_of(chars))
    particle = tuple(ch in PARTICLES for ch in chars)
    budget = 0.0 if phrase.match != "fuzzy" else edit_budget(len(chars))
    not_in = []
    for word in phrase.not_in:
        w = "".join(ch for ch in word if is_han(ch))
        if chars and chars in w:
            not_in.append((tuple(pinyin_of(w)), w.index(chars)))
    return _Compiled(phrase, chars, py, particle, budget, sum(not p for p in particle), tuple(not_in))


class PhraseMatcher:
    """Finds any of a fixed list of phrases in token sequences."""

    def __init__(self, phrases: Iterable[Phrase]) -> None:
        self._phrases = [_compile(p) for p in phrases]

    def find(self, tokens: Sequence[Token]) -> list[Match]:
        """All non-overlapping best matches in ``tokens``, in text order."""
        found: list[Match] = []
        for c in self._phrases:
            found.extend(self._find_one(c, tokens))
        # Prefer cheaper, then longer matches; drop ones overlapping a better one.
        found.sort(key=lambda m: (m.cost, -(m.end - m.start), m.start))
        kept: list[Match] = []
        for m in found:
            if all(m.end <= k.start or m.start >= k.end for k in kept):
                kept.append(m)
        return sorted(kept, key=lambda m: m.start)

    def _find_one(self, c: _Compiled, tokens: Sequence[Token]) -> list[Match]:
        found = self._find_raw(c, tokens)
        if c.not_in:
            found = [m for m in found if not _inside_not_in(c, tokens, m)]
        return found

    def _find_raw(self, c: _Compiled, tokens: Sequence[Token]) -> list[Match]:
        if c.phrase.match == "exact":
            text = "".join(t.char for t in tokens)
            out, i = [], text.find(c.chars)
            while i >= 0:
                out.append(Match(c.phrase, i, i + len(c.chars), 0.0, 0.99))
                i = text.find(c.chars, i + 1)
            return [m for m in out if self._standalone_ok(c, tokens, m)]
        if c.phrase.match == "pinyin" or c.budget == 0.0:
            py = [t.pinyin for t in tokens]
            m_len = len(c.pinyin)
            out = []
            for i in range(len(py) - m_len + 1):
                if tuple(py[i:i + m_len]) == c.pinyin:
                    exact = "".join(t.char for t in tokens[i:i + m_len]) == c.chars
                    out.append(Match(c.phrase, i, i + m_len, 0.0, 0.99 if exact else 0.93))
            return [m for m in out if self._standalone_ok(c, tokens, m)]
        return [m for m in self._align(c, tokens) if self._standalone_ok(c, tokens, m)]

    @staticmethod
    def _standalone_ok(c: _Compiled, tokens: Sequence[Token], m: Match) -> bool:
        if not c.phrase.standalone:
            return True
        clause = tokens[m.start].clause
        rest = [t for t in tokens if t.clause == clause and t.char not in PARTICLES]
        return len(rest) <= len(c.chars) + 1

    @staticmethod
    def _align(c: _Compiled, tokens: Sequence[Token]) -> list[Match]:
        """Sellers alignment: phrase anywhere in tokens, cost within the phrase's budget."""
        m, n = len(c.pinyin), len(tokens)
        if n == 0:
            return []
        inf = float("inf")
        may_drop = c.core >= 3
        # prev[j]: best cost of aligning phrase[:i] ending just before token j; start[j]: where.
        prev = [0.0] * (n + 1)
        prev_start = list(range(n + 1))
        for i in range(1, m + 1):
            cur = [inf] * (n + 1)
            cur_start = [0] * (n + 1)
            drop = COST_PARTICLE if (c.particle[i - 1] and may_drop) else COST_FULL
            cur[0] = prev[0] + drop
            cur_start[0] = prev_start[0]
            p = c.pinyin[i - 1]
            for j in range(1, n + 1):
                tok = tokens[j - 1]
                best, start = prev[j - 1] + syllable_cost(p, tok.pinyin), prev_start[j - 1]
                v = prev[j] + drop
                if v < best:
                    best, start = v, prev_start[j]
                if i > 1:  # an extra syllable inside the phrase
                    v = cur[j - 1] + (COST_PARTICLE if tok.char in PARTICLES else COST_FULL)
                    if v < best:
                        best, start = v, cur_start[j - 1]
                cur[j], cur_start[j] = best, start
            prev, prev_start = cur, cur_start
        out = []
        for j in range(1, n + 1):
            cost = prev[j]
            if cost <= c.budget + 1e-9 and (j == n or prev[j + 1] >= cost):
                s = prev_start[j]
                if j - s < max(2, c.core):
                    continue
                matched = "".join(t.char for t in tokens[s:j])
                conf = 0.99 if matched == c.chars else max(0.5, 0.95 - 0.3 * cost)
                out.append(Match(c.phrase, s, j, round(cost, 3), round(conf, 3)))
        return out


def _inside_not_in(c: _Compiled, tokens: Sequence[Token], m: Match) -> bool:
    """``m`` lies in one of the phrase's ``not_in`` words (same toneless pinyin around it)."""
    py = [t.pinyin for t in tokens]
    for word, at in c.not_in:
        a = m.start - at
        if a < 0 or a + len(word) > len(py):
            continue
        if tuple(py[a:a + len(word)]) == word:
            return True
    return False
