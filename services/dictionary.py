"""The console's dictionary (数据字典): every label, state, role and rule name people read, from
their one definition (``domain.vocab`` and the rulebook the workers judge by), so the console
keeps no copy of its own.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from domain import vocab
from domain.score_rules import explanation
from transcribe.rules import Rulebook
from transcribe.soundalike import sound_key

#: A rule id the rulebook does not know (an older rulebook's): its flags count at this severity.
DEFAULT_SEVERITY = "medium"


@dataclass(frozen=True)
class RuleInfo:
    id: str
    type: str           # forbidden | missing_courtesy
    label: str
    severity: str       # forbidden rules: low | medium | high; courtesy rules: ""
    phrases: list[str]


def rules_of(rulebook: Rulebook) -> dict[str, RuleInfo]:
    """Every rule of ``rulebook`` by id."""
    out = {r.id: RuleInfo(r.id, "forbidden", r.label, r.severity, [p.text for p in r.phrases]) for r in rulebook.forbidden}
    out.update({r.id: RuleInfo(r.id, "missing_courtesy", r.label, "", [w.text for w in r.words]) for r in rulebook.required})
    return out


def severity_of(rules: dict[str, RuleInfo], rule: str, stored: str = "") -> str:
    """A flag's severity: the one stored with it, else its rule's in the rulebook, else medium."""
    if stored in vocab.SEVERITIES:
        return stored
    info = rules.get(rule)
    return info.severity if info is not None and info.severity else DEFAULT_SEVERITY


#: The keys of the rulebook's phrases, remembered (each search compares the query with all of them).
_phrase_key = functools.lru_cache(maxsize=4096)(sound_key)


def rules_for_phrase(rulebook: Rulebook, query: str) -> list[str]:
    """Forbidden rules that ``query`` names: one of their phrases (as written, or sounding the
    same), or a part of their label. Searching 烦不烦 finds F-RUDE's flags too."""
    q = query.strip()
    key = sound_key(q)
    out = []
    for r in rulebook.forbidden:
        if any(p.text == q or (key and _phrase_key(p.text) == key) for p in r.phrases) or (len(q) >= 2 and q in r.label):
            out.append(r.id)
    return out


def dictionary(rulebook: Rulebook) -> dict:
    """Labels by kind (``domain.vocab.LABELS``), the rules with names and severity, and the
    score's constants, for the console."""
    return {
        "labels": vocab.LABELS,
        "rules": [r.__dict__ for r in rules_of(rulebook).values()],
        "rulebook": {"name": rulebook.name, "version": rulebook.version},
        "score": {"full": vocab.SCORE_FULL, "severity_points": vocab.SEVERITY_POINTS,
                  "missing_courtesy_points": vocab.MISSING_COURTESY_POINTS, "pass": vocab.SCORE_PASS,
                  "certain_confidence": vocab.CERTAIN_CONFIDENCE,
                  "explanation": explanation()},
        "rating_levels": list(vocab.ALL_RATING_LEVELS),
        "roles": {"people": list(vocab.PEOPLE), "reviewers": list(vocab.REVIEWERS)},
    }
