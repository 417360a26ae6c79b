"""YAML values that remember their line, and a reader that names file, line and field in errors.

The rulebook parser (:mod:`transcribe.rules`) reads through these so a site's mistake is
reported as ``site.yaml:12: forbidden[3].patterns[0].within: must be a int, got str``.
"""
from __future__ import annotations

from typing import Any

import yaml

from transcribe.errors import RulebookError


class Node:
    """A YAML value together with the line it starts on (1-based)."""

    __slots__ = ("value", "line")

    def __init__(self, value: Any, line: int) -> None:
        self.value, self.line = value, line


def wrap(node: yaml.Node) -> Node:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Node] = {}
        for k, v in node.value:
            out[str(k.value)] = wrap(v)
        return Node(out, line)
    if isinstance(node, yaml.SequenceNode):
        return Node([wrap(v) for v in node.value], line)
    return Node(yaml.safe_load(yaml.serialize(node)) if node.tag != "tag:yaml.org,2002:str" else node.value, line)


def compose(text: str, source: str) -> Node:
    """The YAML document ``text`` as :class:`Node` values.

    Raises:
        RulebookError: not valid YAML, or empty.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise RulebookError(source, f"not valid YAML: {getattr(e, 'problem', e)}",
                            line=mark.line + 1 if mark else None) from e
    if root is None:
        raise RulebookError(source, "empty rulebook")
    return wrap(root)


def _join(field: str, key: str) -> str:
    return f"{field}.{key}" if field else key


class Reader:
    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, node: Node | None, field: str, reason: str) -> RulebookError:
        return RulebookError(self.path, reason, line=node.line if node else None, field=field)

    def get(self, mapping: Node, key: str, field: str, kind: type | tuple, *, default: Any = ...) -> Any:
        node = mapping.value.get(key)
        if node is None or node.value is None:
            if default is ...:
                raise self.fail(mapping, _join(field, key), "missing")
            return default
        ok = isinstance(node.value, kind) and not (isinstance(node.value, bool) and bool not in
                                                   (kind if isinstance(kind, tuple) else (kind,)))
        if not ok:
            want = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            got = "mapping" if isinstance(node.value, dict) else type(node.value).__name__
            raise self.fail(node, _join(field, key), f"must be a {want}, got {got}")
        return node

    def number(self, mapping: Node, key: str, field: str, *, default: float | None = None,
               positive: bool = True) -> float | None:
        node = self.get(mapping, key, field, (int, float), default=None)
        if node is None:
            return default
        if positive and node.value <= 0:
            raise self.fail(node, _join(field, key), "must be a positive number")
        if not positive and node.value < 0:
            raise self.fail(node, _join(field, key), "must not be negative")
        return float(node.value)

    def choice(self, mapping: Node, key: str, field: str, choices: tuple, default: str) -> str:
        node = self.get(mapping, key, field, str, default=None)
        if node is None:
            return default
        if node.value not in choices:
            raise self.fail(node, _join(field, key), f"{node.value!r} is not one of {', '.join(choices)}")
        return node.value

    def only_keys(self, mapping: Node, field: str, allowed: tuple[str, ...]) -> None:
        """Refuse keys a rule of this kind does not know (a typo would silently do nothing)."""
        for key, node in mapping.value.items():
            if key not in allowed:
                raise self.fail(node, _join(field, key), f"unknown field (known: {', '.join(allowed)})")
