"""Text clean-up before matching: Simplified script, widths, punctuation, fillers, pinyin.

Whisper writes Mandarin in Traditional or Simplified characters at random, with ASCII or
full-width punctuation. Everything downstream sees Simplified text from :func:`to_simplified`;
matching sees :class:`Token` lists (one Han character each, with its toneless pinyin).
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

import opencc
from pypinyin import Style, lazy_pinyin

# OpenCC maps 著 to itself because 著 is also Simplified (著名, 显著); in speech the
# durative particle 着 is far more common, so 著 becomes 着 except in the words below.
_ZHU_WORDS = re.compile(r"(?<![显土卓编原专巨名昭])著(?![名作称述])")
_FILLERS = frozenset("嗯呃啊哎唉呀哦噢嘛啦")
#: Particles that ASR often drops or adds; skipping one costs little when matching.
PARTICLES = frozenset("了吧吗呢啊呀嘛的")
_HAN = re.compile(r"[\u3400-\u9fff]")
_CLAUSE_SPLIT = re.compile(r"[，。！？；：、,.!?;:…\s]+")


@functools.lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Simplified characters, NFKC widths (full-width letters and digits become ASCII),
    and Chinese punctuation kept as the full-width forms people read."""
    text = unicodedata.normalize("NFKC", text).strip()
    text = _ZHU_WORDS.sub("着", _t2s().convert(text))
    return (text.replace(",", "，").replace("?", "？").replace("!", "！")
            .replace(";", "；").replace(":", "："))


def is_han(ch: str) -> bool:
    return bool(_HAN.match(ch))


def clauses(text: str) -> list[str]:
    """Split at punctuation and spaces; empty pieces dropped."""
    return [c for c in _CLAUSE_SPLIT.split(text) if c]


def strip_fillers(text: str) -> str:
    return "".join(ch for ch in text if ch not in _FILLERS)


@dataclass(frozen=True)
class Token:
    """One Han character of a transcript, with where it came from."""

    char: str
    pinyin: str
    index: int          # position in the normalised utterance text
    clause: int         # which punctuation-delimited clause it is in


def pinyin_of(text: str) -> list[str]:
    """Toneless pinyin for each Han character of ``text`` (context-aware for heteronyms)."""
    han = "".join(ch for ch in text if is_han(ch))
    py = lazy_pinyin(han, style=Style.NORMAL, errors="ignore")
    if len(py) != len(han):  # pypinyin groups unknown runs; fall back to per character
        py = [(lazy_pinyin(ch, style=Style.NORMAL) or [ch])[0] for ch in han]
    return py


def tokenize(text: str) -> list[Token]:
    """Han characters of ``text`` (already simplified) as tokens; fillers are left out."""
    han_positions: list[tuple[int, str, int]] = []
    clause = 0
    for i, ch in enumerate(text):
        if _CLAUSE_SPLIT.match(ch):
            clause += 1
        elif is_han(ch) and ch not in _FILLERS:
            han_positions.append((i, ch, clause))
    py = pinyin_of("".join(ch for _, ch, _ in han_positions))
    return [Token(ch, p, i, c) for (i, ch, c), p in zip(han_positions, py, strict=True)]
