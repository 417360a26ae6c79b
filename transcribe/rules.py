"""The rulebook: forbidden phrases and required courtesy words, loaded from YAML.

A broken rulebook is refused as a whole with :class:`RulebookError` naming the file, the
line and the field, so a site never runs on half a rulebook.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from transcribe.errors import RulebookError
from transcribe.normalize import is_han, to_simplified

SPEAKERS = ("staff", "customer", "any")
MATCH_MODES = ("fuzzy", "pinyin", "exact")
POSITIONS = ("anywhere", "first", "last")
SEVERITIES = ("low", "medium", "high")
_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")


@dataclass(frozen=True)
class Phrase:
    text: str           # simplified
    match: str          # fuzzy | pinyin | exact
    standalone: bool


@dataclass(frozen=True)
class ForbiddenRule:
    id: str
    label: str
    severity: str
    speaker: str
    phrases: tuple[Phrase, ...]
    regexes: tuple[re.Pattern, ...]


@dataclass(frozen=True)
class RequiredRule:
    id: str
    label: str
    words: tuple[Phrase, ...]
    position: str
    within_s: float
    speaker: str


@dataclass(frozen=True)
class Rulebook:
    version: str
    name: str
    source: str
    forbidden: tuple[ForbiddenRule, ...]
    required: tuple[RequiredRule, ...]


def default_rulebook_path() -> Path:
    return Path(str(resources.files("transcribe") / "data" / "rulebook.yaml"))


# --- YAML with line numbers -------------------------------------------------------------

class _Node:
    """A YAML value together with the line it starts on (1-based)."""

    __slots__ = ("value", "line")

    def __init__(self, value: Any, line: int) -> None:
        self.value, self.line = value, line


def _wrap(node: yaml.Node) -> _Node:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, _Node] = {}
        for k, v in node.value:
            out[str(k.value)] = _wrap(v)
        return _Node(out, line)
    if isinstance(node, yaml.SequenceNode):
        return _Node([_wrap(v) for v in node.value], line)
    return _Node(yaml.safe_load(yaml.serialize(node)) if node.tag != "tag:yaml.org,2002:str" else node.value, line)


class _Reader:
    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, node: _Node | None, field: str, reason: str) -> RulebookError:
        return RulebookError(self.path, reason, line=node.line if node else None, field=field)

    def get(self, mapping: _Node, key: str, field: str, kind: type | tuple, *, default: Any = ...) -> Any:
        node = mapping.value.get(key)
        if node is None or node.value is None:
            if default is ...:
                raise self.fail(mapping, f"{field}.{key}" if field else key, "missing")
            return default
        if not isinstance(node.value, kind):
            want = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            got = "mapping" if isinstance(node.value, dict) else type(node.value).__name__
            raise self.fail(node, f"{field}.{key}" if field else key, f"must be a {want}, got {got}")
        return node

    def choice(self, mapping: _Node, key: str, field: str, choices: tuple, default: str) -> str:
        node = self.get(mapping, key, field, str, default=None)
        if node is None:
            return default
        if node.value not in choices:
            raise self.fail(node, f"{field}.{key}", f"{node.value!r} is not one of {', '.join(choices)}")
        return node.value


def _phrase(r: _Reader, node: _Node, field: str, *, forbidden: bool) -> Phrase:
    if isinstance(node.value, dict):
        text_node = r.get(node, "text", field, str)
        text = text_node.value
        mode = r.choice(node, "match", field, MATCH_MODES, "")
        standalone_node = r.get(node, "standalone", field, bool, default=None)
        standalone = standalone_node.value if standalone_node else None
    elif isinstance(node.value, str):
        text, mode, standalone, text_node = node.value, "", None, node
    else:
        raise r.fail(node, field, "must be a string or a mapping with 'text'")
    text = to_simplified(text)
    n = sum(1 for ch in text if is_han(ch))
    if n == 0:
        raise r.fail(text_node, field, f"{text!r} has no Chinese characters")
    if not mode:
        mode = "exact" if n == 1 else "pinyin" if n == 2 else "fuzzy"
    if standalone is None:
        standalone = forbidden and n == 1
    return Phrase(text=text, match=mode, standalone=standalone)


def _phrases(r: _Reader, rule: _Node, key: str, field: str, *, forbidden: bool, required: bool) -> tuple[Phrase, ...]:
    node = r.get(rule, key, field, list, default=None if not required else ...)
    if node is None:
        return ()
    if required and not node.value:
        raise r.fail(node, f"{field}.{key}", "must not be empty")
    return tuple(_phrase(r, p, f"{field}.{key}[{i}]", forbidden=forbidden) for i, p in enumerate(node.value))


def parse_rulebook(text: str, *, source: str = "<rulebook>") -> Rulebook:
    """Parse rulebook YAML ``text``; ``source`` names it in errors.

    Raises:
        RulebookError: bad YAML, a missing or mistyped field, a duplicate id, a bad regex.
    """
    r = _Reader(source)
    try:
        root_node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise RulebookError(source, f"not valid YAML: {getattr(e, 'problem', e)}",
                            line=mark.line + 1 if mark else None) from e
    if root_node is None:
        raise RulebookError(source, "empty rulebook")
    root = _wrap(root_node)
    if not isinstance(root.value, dict):
        raise r.fail(root, "", "the rulebook must be a mapping with version, forbidden and required")
    version = r.get(root, "version", "", (str, int, float)).value
    name = r.get(root, "name", "", str, default=_Node(Path(source).stem, 0)).value
    seen: dict[str, int] = {}

    def rule_id(rule: _Node, field: str) -> str:
        node = r.get(rule, "id", field, str)
        if not _ID.match(node.value):
            raise r.fail(node, f"{field}.id", f"{node.value!r} is not an id like F-CLOSING")
        if node.value in seen:
            raise r.fail(node, f"{field}.id", f"duplicate id {node.value} (first on line {seen[node.value]})")
        seen[node.value] = node.line
        return node.value

    forbidden = []
    for i, rule in enumerate(r.get(root, "forbidden", "", list, default=_Node([], 0)).value):
        field = f"forbidden[{i}]"
        if not isinstance(rule.value, dict):
            raise r.fail(rule, field, "must be a mapping")
        rid = rule_id(rule, field)
        regexes = []
        rx_node = r.get(rule, "regex", field, list, default=None)
        for j, rx in enumerate(rx_node.value if rx_node else []):
            try:
                regexes.append(re.compile(str(rx.value)))
            except re.error as e:
                raise r.fail(rx, f"{field}.regex[{j}]", f"bad regular expression: {e}") from e
        phrases = _phrases(r, rule, "phrases", field, forbidden=True, required=not regexes)
        forbidden.append(ForbiddenRule(
            id=rid, label=r.get(rule, "label", field, str, default=_Node(rid, 0)).value,
            severity=r.choice(rule, "severity", field, SEVERITIES, "medium"),
            speaker=r.choice(rule, "speaker", field, SPEAKERS, "staff"),
            phrases=phrases, regexes=tuple(regexes)))
    required = []
    for i, rule in enumerate(r.get(root, "required", "", list, default=_Node([], 0)).value):
        field = f"required[{i}]"
        if not isinstance(rule.value, dict):
            raise r.fail(rule, field, "must be a mapping")
        rid = rule_id(rule, field)
        position = r.choice(rule, "position", field, POSITIONS, "anywhere")
        within = r.get(rule, "within_s", field, (int, float), default=None)
        if position != "anywhere" and within is None:
            raise r.fail(rule, f"{field}.within_s", f"needed when position is {position}")
        if within is not None and within.value <= 0:
            raise r.fail(within, f"{field}.within_s", "must be a positive number of seconds")
        required.append(RequiredRule(
            id=rid, label=r.get(rule, "label", field, str, default=_Node(rid, 0)).value,
            words=_phrases(r, rule, "words", field, forbidden=False, required=True),
            position=position, within_s=float(within.value) if within else 0.0,
            speaker=r.choice(rule, "speaker", field, SPEAKERS, "staff")))
    if not forbidden and not required:
        raise r.fail(root, "forbidden", "the rulebook has no rules")
    return Rulebook(version=str(version), name=name, source=source,
                    forbidden=tuple(forbidden), required=tuple(required))


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
