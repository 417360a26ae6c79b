"""Names people read and tell apart: users, staff, screens, sites, counters (issue 11).

A name is NFKC-normalised (a fullwidth ``Ａ`` becomes ``A``, compatibility forms fold) and
trimmed; it must not hold control, format (bidi overrides such as U+202E, zero-width spaces,
joiners), private-use, surrogate, unassigned or line/paragraph separator characters; and it must
not look like another name already in use. Look-alikes are compared by :func:`skeleton`: the
name case-folded, with the letters of other scripts that read as Latin ones (Cyrillic ``а``,
Greek ``ο`` ...) and the digits 0 and 1 mapped to ``o`` and ``l``. The table covers the
look-alikes of Latin letters that Unicode's confusables list names most often; it does not judge
Chinese variant characters (戶/户), which read as different characters.
"""
from __future__ import annotations

import unicodedata

from domain.errors import Conflict, Invalid

#: Categories a name may not contain: controls, format characters (bidi, zero-width),
#: surrogates, private use, unassigned, line and paragraph separators.
_REFUSED = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_LOOKALIKE = str.maketrans({
    # Cyrillic (after case folding)
    "а": "a", "в": "b", "е": "e", "ё": "e", "з": "3", "һ": "h", "н": "h", "і": "i", "ї": "i", "ј": "j",
    "к": "k", "ӏ": "l", "м": "m", "о": "o", "р": "p", "ԛ": "q", "с": "c", "ѕ": "s", "т": "t", "у": "y",
    "ԝ": "w", "х": "x", "ԁ": "d", "ь": "b", "п": "n",
    # Greek
    "α": "a", "β": "b", "ε": "e", "ζ": "z", "η": "n", "ι": "i", "κ": "k", "μ": "u", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "γ": "y", "ω": "w",
    # Armenian and Latin look-alikes
    "օ": "o", "ս": "u", "ց": "g", "հ": "h", "ı": "i", "ɑ": "a", "ɡ": "g", "ʏ": "y",
    # digits and strokes that read as letters
    "0": "o", "1": "l", "|": "l",
})


class BadDisplayName(Invalid):
    """A name with characters that hide what it says, or that is empty or too long."""

    code = "bad_display_name"

    def __init__(self, field: str, value: str, reason: str) -> None:
        super().__init__(f"{field} {value!r}", reason, field=field)
        self.field = field


class ConfusableName(Conflict):
    """A name that looks like one already in use (a look-alike, or the same but for case)."""

    code = "name_confusable"

    def __init__(self, field: str, value: str, existing: str) -> None:
        super().__init__(f"{field} {value!r}", f"looks like the existing {field} {existing!r}; choose another name",
                         field=field, existing=existing)
        self.existing = existing


def check_display_name(field: str, value: str, *, max_chars: int = 100) -> str:
    """``value`` NFKC-normalised and trimmed, if it is a fit name; raise otherwise.

    Raises:
        BadDisplayName: empty, longer than ``max_chars``, or holding a refused character
            (named by its code point).
    """
    if not isinstance(value, str):
        raise BadDisplayName(field, str(value), "must be text")
    name = unicodedata.normalize("NFKC", value).strip()
    if not name:
        raise BadDisplayName(field, value, "must not be empty")
    if len(name) > max_chars:
        raise BadDisplayName(field, value, f"must have at most {max_chars} characters")
    bad = refused_character(name)
    if bad:
        raise BadDisplayName(field, value, f"must not contain {bad}")
    return name


def refused_character(text: str) -> str:
    """The first character of ``text`` that hides what the text says (a control, format,
    private-use, surrogate, unassigned or line/paragraph separator character), named by its
    code point (``U+0007 (BEL)``); "" when there is none. Text people type for others to read
    (names, transcript corrections) holds none."""
    for ch in text:
        if unicodedata.category(ch) in _REFUSED:
            return f"U+{ord(ch):04X} ({unicodedata.name(ch, 'control or format character')})"
    return ""


def skeleton(name: str) -> str:
    """What ``name`` looks like: NFKC, case-folded, look-alike letters mapped to Latin ones."""
    return unicodedata.normalize("NFKC", name).casefold().translate(_LOOKALIKE)


def check_not_confusable(field: str, name: str, existing: list[str] | tuple[str, ...]) -> None:
    """Refuse ``name`` when one of ``existing`` (other than ``name`` itself) looks the same.

    Raises:
        ConfusableName: naming the existing look-alike.
    """
    mine = skeleton(name)
    for other in existing:
        if other != name and skeleton(other) == mine:
            raise ConfusableName(field, name, other)
