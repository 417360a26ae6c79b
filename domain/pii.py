"""Personal numbers in transcripts: find and mask them (issue 6, item 4).

Three kinds, as they turn up at a service counter:

* mainland ID-card numbers: 18 characters, 17 digits and a digit or X;
* mobile numbers: 11 digits starting 13-19 (optionally after the country code 86);
* bank-card numbers: 16 to 19 digits.

Speech recognition writes digits as ASCII, full-width or Chinese numerals (一三八…, 幺 for 1,
〇/零 for 0), often in groups (138 1234 5678, 138-1234-5678); all of these are read. A run of
digit groups that is no number as a whole (two phone numbers in a row) is split into the
longest groups that are.

:func:`mask` replaces every digit but the last four of each such number with ``*``, one for
one, so text keeps its length (search hit offsets stay right) and separators stay in place.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from domain.vocab import REVIEWERS

KEEP_LAST = 4
MASK_CHAR = "*"

_DIGITS = {**{str(i): str(i) for i in range(10)}, **{chr(0xFF10 + i): str(i) for i in range(10)},
           **dict(zip("零〇一二三四五六七八九", "00123456789", strict=True)), "幺": "1"}
_D = "[" + "".join(_DIGITS) + "]"
# Groups of digits joined by one space or hyphen; a final X/x only counts for an ID card.
_RUN = re.compile(f"{_D}+(?:[ \\-]{_D}+)*[Xx]?")


@dataclass(frozen=True)
class Found:
    kind: str          # id_card | phone | bank_card
    start: int         # [start, end) in the text
    end: int


def _kind(digits: str) -> str | None:
    """The kind of number ``digits`` (ASCII digits, maybe a final X) is, if any."""
    if digits[-1] in "Xx":
        return "id_card" if len(digits) == 18 and digits[:-1].isdigit() else None
    n = len(digits)
    if n == 11 and digits[0] == "1" and digits[1] in "3456789":
        return "phone"
    if n == 13 and digits.startswith("86") and digits[2] == "1" and digits[3] in "3456789":
        return "phone"
    if n == 18:
        return "id_card"
    if 16 <= n <= 19:
        return "bank_card"
    return None


def _ascii(chars: str) -> str:
    return "".join(_DIGITS.get(c, c) for c in chars if c not in " -")


def find(text: str) -> list[Found]:
    """Personal numbers in ``text``, in order."""
    out: list[Found] = []
    for m in _RUN.finditer(text):
        # Groups with their offsets; the X belongs to the last group.
        groups = [(g.start() + m.start(), g.end() + m.start()) for g in re.finditer(f"{_D}+[Xx]?", m.group())]
        i = 0
        while i < len(groups):
            for j in range(len(groups), i, -1):     # the longest run of groups that is a number
                a, b = groups[i][0], groups[j - 1][1]
                kind = _kind(_ascii(text[a:b]))
                if kind:
                    out.append(Found(kind, a, b))
                    i = j
                    break
            else:
                i += 1
    return out


def mask_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) spans of ``text`` that :func:`mask` replaces (runs of masked characters)."""
    spans = []
    for f in find(text):
        digit_pos = [k for k in range(f.start, f.end) if text[k] not in " -"]
        hidden = digit_pos[:-KEEP_LAST]
        if hidden:
            spans.append((hidden[0], hidden[-1] + 1))
    return spans


def mask(text: str) -> str:
    """``text`` with every ID-card, mobile and bank-card number masked but its last four
    digits; the same length as ``text``."""
    if not text:
        return text
    chars = list(text)
    for a, b in mask_spans(text):
        for k in range(a, b):
            if chars[k] not in " -":
                chars[k] = MASK_CHAR
    return "".join(chars)


#: Roles that see personal numbers in transcripts; every other role gets them masked.
UNMASKED_ROLES = frozenset(REVIEWERS)


def _unchanged(text: str) -> str:
    return text


def for_role(role: str) -> Callable[[str], str]:
    """How transcript text is shown to ``role``: unchanged for supervisors and admins,
    :func:`mask` for everyone else (viewers)."""
    return _unchanged if role in UNMASKED_ROLES else mask
