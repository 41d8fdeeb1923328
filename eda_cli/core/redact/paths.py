"""Redaction paths: where in a message body or event a value is masked whatever it is.

Syntax: dotted keys from the document's root, with an optional `$.` in front; `[*]` is every item of an
array, `[N]` one item, `*` every key of an object; a key with a dot or a bracket in it is quoted:
`['x.y']`. Examples: `detail.card.number`, `customer.email`, `$.items[*].price`, `*.token`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from eda_cli.errors import UsageError

#: A step: ("key", name) | ("any-key", "") | ("index", "3") | ("any-index", "").
Step = tuple[str, str]

_TOKEN = re.compile(r"""\[\*\]|\[(\d+)\]|\[(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\]|\.?([^.\[\]]+)""")


class PathError(UsageError):
    """A redaction path that cannot be read (exit 2)."""


@dataclass(frozen=True)
class RedactPath:
    text: str
    steps: tuple[Step, ...]

    def __str__(self) -> str:
        return self.text


def parse_path(text: str) -> RedactPath:
    """`detail.card.number`, `$.items[*].price`, ... -> RedactPath; PathError when it is not a path."""
    raw = text.strip()
    body = raw[1:] if raw.startswith("$") else raw
    if body.startswith(".."):
        raise PathError(f"{text!r}: recursive descent (..) is not supported", hint=_HINT)
    steps: list[Step] = []
    position = 0
    while position < len(body):
        match = _TOKEN.match(body, position)
        if match is None or match.end() == position:
            raise PathError(f"{text!r} is not a redaction path (at {body[position:]!r})", hint=_HINT)
        token = match.group(0)
        if position == 0 and token.startswith(".") and not raw.startswith("$"):
            raise PathError(f"{text!r} is not a redaction path (it starts with a dot)", hint=_HINT)
        if token == "[*]":
            steps.append(("any-index", ""))
        elif match.group(1) is not None:
            steps.append(("index", match.group(1)))
        elif match.group(2) is not None or match.group(3) is not None:
            quoted = match.group(2) if match.group(2) is not None else match.group(3)
            steps.append(("key", re.sub(r"\\(.)", r"\1", quoted)))
        else:
            name = match.group(4)
            if " " in name.strip() or not name.strip():
                raise PathError(f"{text!r} is not a redaction path ({name!r})", hint=_HINT)
            steps.append(("any-key", "") if name == "*" else ("key", name))
        position = match.end()
    if not steps:
        raise PathError(f"{text!r} is an empty redaction path", hint=_HINT)
    return RedactPath(raw, tuple(steps))


_HINT = "e.g. detail.card.number, customer.email or $.items[*].price"


def _children(node: Any, step: Step) -> Iterator[tuple[Any, Any]]:
    """(container key, child) pairs of `node` that `step` selects."""
    kind, value = step
    if kind == "key" and isinstance(node, dict) and value in node:
        yield value, node[value]
    elif kind == "any-key" and isinstance(node, dict):
        yield from list(node.items())
    elif kind == "index" and isinstance(node, list) and int(value) < len(node):
        yield int(value), node[int(value)]
    elif kind == "any-index" and isinstance(node, list):
        yield from list(enumerate(node))


def apply_path(document: Any, path: RedactPath, replace: Callable[[Any], Any]) -> None:
    """Replace, in place, every value of `document` (plain JSON: dicts and lists) that `path` names with
    `replace(value)`."""

    def walk(node: Any, index: int) -> None:
        step = path.steps[index]
        for key, child in _children(node, step):
            if index == len(path.steps) - 1:
                node[key] = replace(child)
            else:
                walk(child, index + 1)

    walk(document, 0)


def values_at(document: Any, path: RedactPath) -> list[Any]:
    """Every value `path` names in `document`."""
    found: list[Any] = []

    def walk(node: Any, index: int) -> None:
        for _, child in _children(node, path.steps[index]):
            if index == len(path.steps) - 1:
                found.append(child)
            else:
                walk(child, index + 1)

    walk(document, 0)
    return found
