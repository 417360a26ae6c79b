"""Rule language v2 matching: patterns of terms and exclusions by context, over transcript tokens.

Every term is a list of phrases found by :class:`transcribe.match.PhraseMatcher`, so the
ASR-tolerant pinyin matching of v1 phrases sits under every construct: "找|问 … 别人|别的窗口"
still matches "你去文别人吧" as long as each term would. A hit is reported as a character span
of the utterance text, whatever found it (a phrase, a pattern, a regular expression).
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from transcribe.match import Match, PhraseMatcher
from transcribe.normalize import Token, is_han
from transcribe.rules import Exclusion, ForbiddenRule, Pattern, Term

#: A pattern is a construct, not a phrase someone listed: its hits are a little less certain.
PATTERN_FACTOR = 0.95
#: A hit of a regular expression (v1: no cost to report).
REGEX_CONFIDENCE = 0.9


@dataclass(frozen=True)
class Hit:
    """Where a rule matched: characters [a, b) of the utterance text."""

    a: int
    b: int
    cost: float
    confidence: float
    what: str          # the phrase, the pattern described, or the regular expression
    how: str           # phrase | pattern | regex


class TermMatcher:
    def __init__(self, term: Term) -> None:
        self.term = term
        self._m = PhraseMatcher(term.alternatives)

    def find(self, tokens: Sequence[Token]) -> list[Match]:
        return self._m.find(tokens)


class PatternMatcher:
    def __init__(self, pattern: Pattern) -> None:
        self.pattern = pattern
        self._terms = [TermMatcher(t) for t in pattern.terms]
        self._none = [TermMatcher(t) for t in pattern.none]

    def find(self, tokens: Sequence[Token]) -> list[tuple[int, int, float, float]]:
        """(first token, end token, cost, confidence) of every non-overlapping best hit."""
        if any(m.find(tokens) for m in self._none):
            return []
        found = [m.find(tokens) for m in self._terms]
        p = self.pattern
        out: list[tuple[int, int, float, float]] = []
        if p.op == "any":
            out = [(m.start, m.end, m.cost, m.confidence) for ms in found for m in ms]
        elif p.op == "all":
            if all(found):
                for combo in itertools.product(*found):
                    a, b = min(m.start for m in combo), max(m.end for m in combo)
                    if _disjoint(combo) and (p.within == 0 or b - a <= p.within + max(m.end - m.start for m in combo)):
                        out.append((a, b, sum(m.cost for m in combo), min(m.confidence for m in combo)))
        else:
            orders = [found] if p.ordered else list(itertools.permutations(found))
            for seq in orders:
                out += _chains(list(seq), p.within)
        out.sort(key=lambda h: (h[2], -(h[1] - h[0]), h[0]))
        kept: list[tuple[int, int, float, float]] = []
        for h in out:
            if all(h[1] <= k[0] or h[0] >= k[1] for k in kept):
                kept.append(h)
        factor = 1.0 if p.op == "any" else PATTERN_FACTOR
        return sorted(((a, b, c, round(conf * factor, 3)) for a, b, c, conf in kept), key=lambda h: h[0])


def _disjoint(ms: Sequence[Match]) -> bool:
    s = sorted(ms, key=lambda m: m.start)
    return all(x.end <= y.start for x, y in zip(s, s[1:], strict=False))


def _chains(seq: list[list[Match]], within: int) -> list[tuple[int, int, float, float]]:
    """Hits of terms in this order, each starting at most ``within`` tokens after the last ended."""
    out = []

    def walk(k: int, first: Match, last: Match, cost: float, conf: float) -> None:
        if k == len(seq):
            out.append((first.start, last.end, cost, conf))
            return
        for m in seq[k]:
            if last.end <= m.start <= last.end + within:
                walk(k + 1, first, m, cost + m.cost, min(conf, m.confidence))

    for m0 in seq[0]:
        walk(1, m0, m0, m0.cost, m0.confidence)
    return out


def _span(tokens: Sequence[Token], start: int, end: int) -> tuple[int, int]:
    return tokens[start].index, tokens[end - 1].index + 1


class RuleMatcher:
    """Every hit of a forbidden rule in one utterance: its phrases, patterns and regular
    expressions, less the hits that a ``before``, ``after`` or ``context`` exclusion removes
    (``quoted`` needs the other side's words and times: the caller checks it)."""

    def __init__(self, rule: ForbiddenRule) -> None:
        self.rule = rule
        self._phrases = PhraseMatcher(rule.phrases)
        self._patterns = [PatternMatcher(p) for p in rule.patterns]
        self._unless = [(x, PhraseMatcher(x.words) if x.words else None,
                         PatternMatcher(x.pattern) if x.pattern else None) for x in rule.unless]
        self._words = PhraseMatcher([*rule.phrases, *(a for p in rule.patterns for t in p.terms
                                                      for a in t.alternatives)])

    def written(self, tokens: Sequence[Token], text: str, hit: Hit) -> str:
        """``text`` with the rule's own words written over what matched them in ``hit`` (the
        same text where the hit was found as written): what the verifier scores against the
        audio (:mod:`transcribe.verify`)."""
        if hit.how == "regex":
            return text
        inside = [t for t in tokens if hit.a <= t.index < hit.b]
        out, last = [], 0
        for m in self._words.find(inside):
            a, b = inside[m.start].index, inside[m.end - 1].index + 1
            out += [text[last:a], "".join(ch for ch in m.phrase.text if is_han(ch))]
            last = b
        return "".join(out) + text[last:]

    def find(self, tokens: Sequence[Token], text: str) -> list[Hit]:
        hits: list[tuple[int, int, Hit]] = []   # (first token, end token, hit); regex: -1, -1
        for m in self._phrases.find(tokens):
            a, b = _span(tokens, m.start, m.end)
            hits.append((m.start, m.end, Hit(a, b, m.cost, m.confidence, m.phrase.text, "phrase")))
        for pm in self._patterns:
            for s, e, cost, conf in pm.find(tokens):
                a, b = _span(tokens, s, e)
                hits.append((s, e, Hit(a, b, cost, conf, pm.pattern.describe(), "pattern")))
        for rx in self.rule.regexes:
            for mt in rx.finditer(text):
                if mt.end() > mt.start():
                    s = next((k for k, t in enumerate(tokens) if t.index >= mt.start()), len(tokens))
                    e = next((k for k, t in enumerate(tokens) if t.index >= mt.end()), len(tokens))
                    hits.append((s, max(e, s), Hit(mt.start(), mt.end(), 0.0, REGEX_CONFIDENCE, rx.pattern, "regex")))
        kept = [h for s, e, h in hits if not self._excluded(tokens, s, e)]
        # A phrase and a pattern on the same words are one finding: keep the surer one.
        kept.sort(key=lambda h: (-h.confidence, h.a))
        out: list[Hit] = []
        for h in kept:
            if all(h.b <= k.a or h.a >= k.b for k in out):
                out.append(h)
        return sorted(out, key=lambda h: h.a)

    def _excluded(self, tokens: Sequence[Token], s: int, e: int) -> bool:
        for x, words, pattern in self._unless:
            if x.kind == "before" and words is not None:
                if any(m.end <= s and s - m.end <= x.within for m in words.find(tokens)):
                    return True
            elif x.kind == "after" and words is not None:
                if any(m.start >= e and m.start - e <= x.within for m in words.find(tokens)):
                    return True
            elif x.kind == "context" and pattern is not None:
                if any(a < e and s < b for a, b, _, _ in pattern.find(tokens)):
                    return True
        return False


def quoted_exclusions(rule: ForbiddenRule) -> list[Exclusion]:
    return [x for x in rule.unless if x.kind == "quoted"]
