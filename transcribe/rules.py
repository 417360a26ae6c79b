"""The rulebook: forbidden phrases and patterns, required courtesy words, audio rules; from YAML.

Rule language v2 (documented for sites in ``data/rulebook.yaml``) adds to the phrase lists of
v1: word sets, patterns (``any`` / ``all`` / ``near`` with ``none``), exclusions by context
(``unless``), where in the interaction a rule applies (``position``), severity and points, and
rules on the audio itself (``audio``: silence, overlap, speech rate, raised voice), and courtesy
rules that apply only on queue facts (``when``: the ticket waited longer than N minutes). A v1
rulebook is a v2 rulebook that uses none of that, and loads unchanged.

A broken rulebook is refused as a whole with :class:`RulebookError` naming the file, the
line and the field, so a site never runs on half a rulebook.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field as dc_field
from importlib import resources
from pathlib import Path

from transcribe.errors import RulebookError
from transcribe.normalize import is_han, to_simplified
from transcribe.yaml_nodes import Node, Reader, compose

SPEAKERS = ("staff", "customer", "any")
MATCH_MODES = ("fuzzy", "pinyin", "exact")
#: Fewer syllables than this are matched as the characters themselves, never by sound.
MIN_SOUND_SYLLABLES = 2
POSITIONS = ("anywhere", "first", "last")
SEVERITIES = ("low", "medium", "high")
#: Points a flag costs when the rule does not say (the monthly assessment sums them).
DEFAULT_POINTS = {"low": 1, "medium": 2, "high": 3}
PATTERN_OPS = ("any", "all", "near")
AUDIO_KINDS = ("silence", "overlap", "speech_rate", "raised_voice")
#: Each audio rule kind's threshold field and its default.
AUDIO_THRESHOLDS = {"silence": ("min_s", 15.0), "overlap": ("min_ms", 1000.0),
                    "speech_rate": ("max_cps", 8.0), "raised_voice": ("above_db", 10.0)}
#: Conditions a required rule may set under ``when`` (queue facts of the interaction's ticket).
CONDITIONS = ("ticket_waited_min_over",)
_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
_SET_REF = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")


@dataclass(frozen=True)
class Phrase:
    """A word or phrase to find. ``not_in``: longer words that contain it and in which it does
    not count (不清楚 in 说不清楚: "cannot explain", not "I don't know")."""

    text: str           # simplified
    match: str          # fuzzy | pinyin | exact
    standalone: bool
    not_in: tuple[str, ...] = ()


@dataclass(frozen=True)
class Term:
    """One slot of a pattern: any of these phrases."""

    alternatives: tuple[Phrase, ...]

    def describe(self) -> str:
        return "|".join(p.text for p in self.alternatives)


@dataclass(frozen=True)
class Pattern:
    """``any``: one of the terms; ``all``: every term in the utterance (within ``within``
    characters from first to last, 0 = anywhere in it); ``near``: the terms one after another
    with at most ``within`` characters between neighbours, in the given order if ``ordered``.
    ``none``: the utterance must contain none of these terms."""

    op: str
    terms: tuple[Term, ...]
    within: int = 0
    ordered: bool = True
    none: tuple[Term, ...] = ()

    def describe(self) -> str:
        sep = {"any": " 或 ", "all": " + ", "near": " … "}[self.op]
        return sep.join(t.describe() for t in self.terms)


@dataclass(frozen=True)
class Exclusion:
    """When a match does not count. ``before`` / ``after``: one of ``words`` within ``within``
    characters before / after it; ``context``: the match lies inside a match of ``pattern``
    ("不是…的问题"); ``quoted``: the other side said the same words in the last ``within_s``
    seconds (a customer's question repeated back)."""

    kind: str
    words: tuple[Phrase, ...] = ()
    within: int = 0
    pattern: Pattern | None = None
    within_s: float = 0.0


@dataclass(frozen=True)
class Position:
    """Where in an interaction a rule applies (all given limits at once): the first or last
    seconds or turns (utterances, either side), and after the customer said one of ``after``
    (within ``after_within_s`` seconds of it, if given)."""

    first_s: float | None = None
    last_s: float | None = None
    first_turns: int | None = None
    last_turns: int | None = None
    after: tuple[Phrase, ...] = ()
    after_within_s: float | None = None

    @property
    def anywhere(self) -> bool:
        return self == Position()


@dataclass(frozen=True)
class ForbiddenRule:
    id: str
    label: str
    severity: str
    speaker: str
    phrases: tuple[Phrase, ...]
    regexes: tuple[re.Pattern, ...]
    patterns: tuple[Pattern, ...] = ()
    unless: tuple[Exclusion, ...] = ()
    where: Position = Position()
    points: int = 2


@dataclass(frozen=True)
class Condition:
    """When a required rule applies at all, from the facts of the interaction's queue ticket:
    ``ticket_waited_min_over``: the ticket waited (taken → called) more than this many minutes.
    An interaction without a ticket (a hall without queue) never meets it."""

    ticket_waited_min_over: float


@dataclass(frozen=True)
class RequiredRule:
    id: str
    label: str
    words: tuple[Phrase, ...]
    position: str                 # anywhere | first | last | custom (a position mapping)
    within_s: float
    speaker: str
    where: Position = Position()
    severity: str = "low"
    points: int = 1
    when: Condition | None = None


@dataclass(frozen=True)
class AudioRule:
    """A rule on the audio of a stereo recording (channels and turns): ``silence`` (the staff
    silent more than ``threshold`` s while the customer waits), ``overlap`` (the staff starting
    to speak over the customer for more than ``threshold`` ms), ``speech_rate`` (a staff turn
    of at least ``min_s`` s faster than ``threshold`` characters per second), ``raised_voice``
    (a staff turn of at least ``min_s`` s ``threshold`` dB above the staff's running baseline)."""

    id: str
    label: str
    kind: str
    threshold: float
    severity: str = "low"
    points: int = 1
    min_s: float = 0.0
    excused_by: tuple[Phrase, ...] = ()


AnyRule = ForbiddenRule | RequiredRule | AudioRule


@dataclass(frozen=True)
class Rulebook:
    version: str
    name: str
    source: str
    forbidden: tuple[ForbiddenRule, ...]
    required: tuple[RequiredRule, ...]
    audio: tuple[AudioRule, ...] = ()
    #: The YAML this rulebook was parsed from (the rule bench and a stored rulebook keep it).
    text: str = dc_field(default="", compare=False, repr=False)

    def rules(self) -> Iterator[tuple[str, AnyRule]]:
        """(flag type, rule) for every rule, in rulebook order."""
        yield from (("forbidden", r) for r in self.forbidden)
        yield from (("missing_courtesy", r) for r in self.required)
        yield from (("audio", r) for r in self.audio)

    def rule(self, rule_id: str) -> AnyRule | None:
        return next((r for _, r in self.rules() if r.id == rule_id), None)


def default_rulebook_path() -> Path:
    return Path(str(resources.files("transcribe") / "data" / "rulebook.yaml"))


# --- phrases, terms and patterns --------------------------------------------------------------

def _phrase(r: Reader, node: Node, field: str, *, forbidden: bool, term: bool = False) -> Phrase:
    not_in: tuple[str, ...] = ()
    if isinstance(node.value, dict):
        r.only_keys(node, field, ("text", "match", "standalone", "not_in"))
        text_node = r.get(node, "text", field, str)
        text = text_node.value
        mode = r.choice(node, "match", field, MATCH_MODES, "")
        standalone_node = r.get(node, "standalone", field, bool, default=None)
        standalone = standalone_node.value if standalone_node else None
        not_in = _not_in(r, node, field, to_simplified(text))
    elif isinstance(node.value, str):
        text, mode, standalone, text_node = node.value, "", None, node
    else:
        raise r.fail(node, field, "must be a string or a mapping with 'text'")
    text = to_simplified(text)
    n = sum(1 for ch in text if is_han(ch))
    if n == 0:
        raise r.fail(text_node, field, f"{text!r} has no Chinese characters")
    if n < MIN_SOUND_SYLLABLES:
        # A single syllable is never matched by sound alone: 下 (xia) is not 瞎 (xia). Whatever
        # the rule says, it must be the character itself (issue 19).
        mode = "exact"
    elif not mode:
        mode = "pinyin" if n == 2 else "fuzzy"
    if standalone is None:
        standalone = forbidden and n == 1 and not term
    return Phrase(text=text, match=mode, standalone=standalone, not_in=not_in)


def _not_in(r: Reader, node: Node, field: str, text: str) -> tuple[str, ...]:
    """The ``not_in`` words of a phrase mapping: each must contain the phrase's text."""
    words = r.get(node, "not_in", field, list, default=None)
    if words is None:
        return ()
    out = []
    core = "".join(ch for ch in text if is_han(ch))
    for k, w in enumerate(words.value):
        if not isinstance(w.value, str):
            raise r.fail(w, f"{field}.not_in[{k}]", "must be a string")
        word = to_simplified(w.value.strip())
        if core not in "".join(ch for ch in word if is_han(ch)) or len(word) <= len(core):
            raise r.fail(w, f"{field}.not_in[{k}]", f"{word!r} must be a longer word containing {core!r}")
        out.append(word)
    return tuple(out)


def _phrases(r: Reader, rule: Node, key: str, field: str, *, forbidden: bool, required: bool) -> tuple[Phrase, ...]:
    node = r.get(rule, key, field, list, default=None if not required else ...)
    if node is None:
        return ()
    if required and not node.value:
        raise r.fail(node, f"{field}.{key}", "must not be empty")
    return tuple(_phrase(r, p, f"{field}.{key}[{i}]", forbidden=forbidden) for i, p in enumerate(node.value))


class _Parser:
    def __init__(self, r: Reader, sets: dict[str, tuple[Phrase, ...]]) -> None:
        self.r, self.sets = r, sets

    def term(self, node: Node, field: str) -> Term:
        """A term: "找|问", "$SET", a phrase mapping, or a list of any of these."""
        items = node.value if isinstance(node.value, list) else [node]
        if not items:
            raise self.r.fail(node, field, "must not be empty")
        alts: list[Phrase] = []
        for k, item in enumerate(items):
            f = f"{field}[{k}]" if isinstance(node.value, list) else field
            if isinstance(item.value, str):
                for piece in item.value.split("|"):
                    piece = piece.strip()
                    ref = _SET_REF.match(piece)
                    if ref:
                        if ref.group(1) not in self.sets:
                            raise self.r.fail(item, f, f"unknown word set {piece} (define it under sets)")
                        alts.extend(self.sets[ref.group(1)])
                    else:
                        alts.append(_phrase(self.r, Node(piece, item.line), f, forbidden=False, term=True))
            else:
                alts.append(_phrase(self.r, item, f, forbidden=False, term=True))
        return Term(tuple(alts))

    def terms(self, node: Node, field: str) -> tuple[Term, ...]:
        if not isinstance(node.value, list) or not node.value:
            raise self.r.fail(node, field, "must be a non-empty list of terms")
        return tuple(self.term(t, f"{field}[{i}]") for i, t in enumerate(node.value))

    def pattern(self, node: Node, field: str) -> Pattern:
        r = self.r
        if not isinstance(node.value, dict):
            raise r.fail(node, field, "must be a mapping with one of any, all, near")
        r.only_keys(node, field, PATTERN_OPS + ("within", "ordered", "none"))
        ops = [op for op in PATTERN_OPS if op in node.value]
        if len(ops) != 1:
            raise r.fail(node, field, "needs exactly one of any, all, near")
        op = ops[0]
        terms = self.terms(node.value[op], f"{field}.{op}")
        if op == "near" and len(terms) < 2:
            raise r.fail(node.value[op], f"{field}.near", "needs at least two terms")
        within_node = r.get(node, "within", field, int, default=None)
        within = within_node.value if within_node else (4 if op == "near" else 0)
        if within < 0:
            raise r.fail(within_node, f"{field}.within", "must not be negative")
        ordered_node = r.get(node, "ordered", field, bool, default=None)
        none_node = node.value.get("none")
        none = self.terms(none_node, f"{field}.none") if none_node is not None else ()
        return Pattern(op=op, terms=terms, within=within, ordered=ordered_node.value if ordered_node else True,
                       none=none)

    def exclusion(self, node: Node, field: str) -> Exclusion:
        r = self.r
        if not isinstance(node.value, dict):
            raise r.fail(node, field, "must be a mapping with one of before, after, context, quoted")
        r.only_keys(node, field, ("before", "after", "context", "quoted", "within"))
        kinds = [k for k in ("before", "after", "context", "quoted") if k in node.value]
        if len(kinds) != 1:
            raise r.fail(node, field, "needs exactly one of before, after, context, quoted")
        kind = kinds[0]
        if kind == "quoted":
            within_s = r.number(node, "quoted", field)
            return Exclusion("quoted", within_s=float(within_s or 0.0))
        if kind == "context":
            return Exclusion("context", pattern=self.pattern(node.value["context"], f"{field}.context"))
        words = self.term(node.value[kind], f"{field}.{kind}").alternatives
        within_node = r.get(node, "within", field, int, default=None)
        return Exclusion(kind, words=words, within=within_node.value if within_node else 2)

    def position(self, node: Node, field: str) -> Position:
        r = self.r
        if not isinstance(node.value, dict):
            raise r.fail(node, field, "must be anywhere, first, last or a mapping")
        r.only_keys(node, field, ("first_s", "last_s", "first_turns", "last_turns", "after", "within_s"))
        turns = {}
        for key in ("first_turns", "last_turns"):
            t = r.get(node, key, field, int, default=None)
            if t is not None and t.value <= 0:
                raise r.fail(t, f"{field}.{key}", "must be a positive number of turns")
            turns[key] = t.value if t else None
        after_node = node.value.get("after")
        after = self.term(after_node, f"{field}.after").alternatives if after_node is not None else ()
        within_s = r.number(node, "within_s", field)
        if within_s is not None and not after:
            raise r.fail(node, f"{field}.within_s", "only with after (first_s and last_s give seconds)")
        return Position(first_s=r.number(node, "first_s", field), last_s=r.number(node, "last_s", field),
                        first_turns=turns["first_turns"], last_turns=turns["last_turns"], after=after,
                        after_within_s=within_s)


def _condition(r: Reader, node: Node, field: str) -> Condition:
    if not isinstance(node.value, dict) or not node.value:
        raise r.fail(node, field, f"must be a mapping with one of {', '.join(CONDITIONS)}")
    r.only_keys(node, field, CONDITIONS)
    minutes = r.number(node, "ticket_waited_min_over", field)
    if minutes is None or minutes <= 0:
        raise r.fail(node, f"{field}.ticket_waited_min_over", "must be a positive number of minutes")
    return Condition(ticket_waited_min_over=float(minutes))


def _severity_points(r: Reader, rule: Node, field: str, default_severity: str) -> tuple[str, int]:
    severity = r.choice(rule, "severity", field, SEVERITIES, default_severity)
    points = r.get(rule, "points", field, int, default=None)
    if points is not None and points.value < 0:
        raise r.fail(points, f"{field}.points", "must not be negative")
    return severity, points.value if points is not None else DEFAULT_POINTS[severity]


def parse_rulebook(text: str, *, source: str = "<rulebook>") -> Rulebook:
    """Parse rulebook YAML ``text``; ``source`` names it in errors.

    Raises:
        RulebookError: bad YAML, a missing or mistyped field, a duplicate id, a bad regex.
    """
    r = Reader(source)
    root = compose(text, source)
    if not isinstance(root.value, dict):
        raise r.fail(root, "", "the rulebook must be a mapping with version, forbidden and required")
    version = r.get(root, "version", "", (str, int, float)).value
    name = r.get(root, "name", "", str, default=Node(Path(source).stem, 0)).value
    seen: dict[str, int] = {}

    def rule_id(rule: Node, field: str) -> str:
        node = r.get(rule, "id", field, str)
        if not _ID.match(node.value):
            raise r.fail(node, f"{field}.id", f"{node.value!r} is not an id like F-CLOSING")
        if node.value in seen:
            raise r.fail(node, f"{field}.id", f"duplicate id {node.value} (first on line {seen[node.value]})")
        seen[node.value] = node.line
        return node.value

    sets: dict[str, tuple[Phrase, ...]] = {}
    sets_node = r.get(root, "sets", "", dict, default=None)
    p = _Parser(r, sets)
    for set_name, words in (sets_node.value.items() if sets_node else ()):
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", set_name):
            raise r.fail(words, f"sets.{set_name}", "a set name is letters, digits and _")
        sets[set_name] = p.term(words, f"sets.{set_name}").alternatives

    def rules_of(key: str) -> Iterator[tuple[str, Node]]:
        for i, rule in enumerate(r.get(root, key, "", list, default=Node([], 0)).value):
            field = f"{key}[{i}]"
            if not isinstance(rule.value, dict):
                raise r.fail(rule, field, "must be a mapping")
            yield field, rule

    def listed(rule: Node, key: str, field: str) -> list[Node]:
        node = r.get(rule, key, field, list, default=None)
        return node.value if node else []

    forbidden = []
    for field, rule in rules_of("forbidden"):
        rid = rule_id(rule, field)
        regexes = []
        for j, rx in enumerate(listed(rule, "regex", field)):
            try:
                regexes.append(re.compile(str(rx.value)))
            except re.error as e:
                raise r.fail(rx, f"{field}.regex[{j}]", f"bad regular expression: {e}") from e
        patterns = tuple(p.pattern(x, f"{field}.patterns[{j}]") for j, x in enumerate(listed(rule, "patterns", field)))
        phrases = _phrases(r, rule, "phrases", field, forbidden=True, required=not regexes and not patterns)
        severity, points = _severity_points(r, rule, field, "medium")
        where = rule.value.get("position")
        forbidden.append(ForbiddenRule(
            id=rid, label=r.get(rule, "label", field, str, default=Node(rid, 0)).value,
            severity=severity, points=points, speaker=r.choice(rule, "speaker", field, SPEAKERS, "staff"),
            phrases=phrases, regexes=tuple(regexes), patterns=patterns,
            unless=tuple(p.exclusion(x, f"{field}.unless[{j}]") for j, x in enumerate(listed(rule, "unless", field))),
            where=p.position(where, f"{field}.position") if where is not None else Position()))
    required = []
    for field, rule in rules_of("required"):
        rid = rule_id(rule, field)
        pos_node = rule.value.get("position")
        within = r.get(rule, "within_s", field, (int, float), default=None)
        if pos_node is not None and isinstance(pos_node.value, dict):
            where, position = p.position(pos_node, f"{field}.position"), "custom"
        else:
            position = r.choice(rule, "position", field, POSITIONS, "anywhere")
            if position != "anywhere" and within is None:
                raise r.fail(rule, f"{field}.within_s", f"needed when position is {position}")
            if within is not None and within.value <= 0:
                raise r.fail(within, f"{field}.within_s", "must be a positive number of seconds")
            where = Position(first_s=float(within.value)) if position == "first" else \
                Position(last_s=float(within.value)) if position == "last" else Position()
        severity, points = _severity_points(r, rule, field, "low")
        when = rule.value.get("when")
        required.append(RequiredRule(
            id=rid, label=r.get(rule, "label", field, str, default=Node(rid, 0)).value,
            words=_phrases(r, rule, "words", field, forbidden=False, required=True),
            position=position, within_s=float(within.value) if within else 0.0,
            speaker=r.choice(rule, "speaker", field, SPEAKERS, "staff"), where=where,
            severity=severity, points=points, when=_condition(r, when, f"{field}.when") if when is not None else None))
    audio = []
    for field, rule in rules_of("audio"):
        rid = rule_id(rule, field)
        kind = r.choice(rule, "kind", field, AUDIO_KINDS, "")
        if not kind:
            raise r.fail(rule, f"{field}.kind", f"missing (one of {', '.join(AUDIO_KINDS)})")
        key, default = AUDIO_THRESHOLDS[kind]
        r.only_keys(rule, field, ("id", "label", "kind", "severity", "points", key, "min_s", "excused_by")
                    if key != "min_s" else ("id", "label", "kind", "severity", "points", "min_s", "excused_by"))
        severity, points = _severity_points(r, rule, field, "low")
        excused = rule.value.get("excused_by")
        audio.append(AudioRule(
            id=rid, label=r.get(rule, "label", field, str, default=Node(rid, 0)).value, kind=kind,
            threshold=float(r.number(rule, key, field, default=default) or default), severity=severity, points=points,
            min_s=0.0 if key == "min_s" else float(r.number(rule, "min_s", field, default=2.0) or 0.0),
            excused_by=p.term(excused, f"{field}.excused_by").alternatives if excused is not None else ()))
    if not forbidden and not required and not audio:
        raise r.fail(root, "forbidden", "the rulebook has no rules")
    return Rulebook(version=str(version), name=name, source=source, forbidden=tuple(forbidden),
                    required=tuple(required), audio=tuple(audio), text=text)


def load_rulebook(path: str | Path | None = None) -> Rulebook:
    """Load a rulebook file, or the default one shipped with the package.

    Raises:
        RulebookError: the file cannot be read or is not a valid rulebook.
    """
    p = Path(path) if path else default_rulebook_path()
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise RulebookError(str(p), f"cannot read: {e}") from e
    return parse_rulebook(text, source=str(p))
