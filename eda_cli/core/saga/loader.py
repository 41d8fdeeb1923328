"""YAML with line numbers: every value of a saga file remembers the line it came from.

`load_located(text, source)` returns the plain Python value (dicts, lists, scalars) and a map from
each value's path, e.g. ("steps", 2, "action", "call"), to its 1-based line, so that validation
errors can say `checkout.yaml:14: steps[2].action.call: ...`.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from eda_cli.errors import UsageError

Path = tuple[str | int, ...]


class SagaFileError(UsageError):
    """An invalid saga file: the message names the file, the line and the problem."""

    def __init__(self, source: str, line: int | None, path: Path, problem: str, hint: str | None = None) -> None:
        where = f"{source}:{line}" if line else source
        at = f" {format_path(path)}:" if path else ""
        super().__init__(f"{where}:{at} {problem}", hint=hint or "the saga file format is in docs/saga-file.md")
        self.source = source
        self.line = line
        self.path = path
        self.problem = problem


def format_path(path: Sequence[str | int]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


class Located:
    """The lines of a loaded document, by path; the nearest enclosing line when a path has none."""

    def __init__(self, source: str, lines: dict[Path, int]) -> None:
        self.source = source
        self.lines = lines

    def line(self, path: Path) -> int | None:
        probe = tuple(path)
        while True:
            if probe in self.lines:
                return self.lines[probe]
            if not probe:
                return None
            probe = probe[:-1]

    def error(self, path: Path, problem: str, hint: str | None = None) -> SagaFileError:
        return SagaFileError(self.source, self.line(path), tuple(path), problem, hint)


def _loader_class() -> Any:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_located(text: str, source: str) -> tuple[Any, Located]:
    """Parse YAML `text`; raise SagaFileError (with the line) for syntax errors and non-JSON values."""
    import yaml

    try:
        node = yaml.compose(text, Loader=_loader_class())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise SagaFileError(source, line, (), f"invalid YAML: {problem}") from exc
    except yaml.YAMLError as exc:
        raise SagaFileError(source, None, (), f"invalid YAML: {exc}") from exc
    lines: dict[Path, int] = {}
    if node is None:
        raise SagaFileError(source, 1, (), "the file is empty")
    constructor = yaml.constructor.SafeConstructor()
    value = _convert(node, (), lines, constructor, source)
    return value, Located(source, lines)


def _convert(node: Any, path: Path, lines: dict[Path, int], constructor: Any, source: str) -> Any:
    import yaml

    line = int(node.start_mark.line) + 1
    lines.setdefault(path, line)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise SagaFileError(source, key_node.start_mark.line + 1, path, "keys must be plain strings")
            key = constructor.construct_object(key_node)
            if key == "<<" and key_node.tag == "tag:yaml.org,2002:merge":
                raise SagaFileError(source, key_node.start_mark.line + 1, path,
                                    "YAML merge keys (<<) are not supported")
            if not isinstance(key, str):
                key = str(key) if isinstance(key, (int, float, bool)) else key
                if not isinstance(key, str):
                    raise SagaFileError(source, key_node.start_mark.line + 1, path, "keys must be plain strings")
            if key in out:
                raise SagaFileError(source, key_node.start_mark.line + 1, (*path, key), "duplicate key")
            # A field's line is its key's line (a block mapping's value starts on the next one).
            field_path = (*path, key)
            lines[field_path] = int(key_node.start_mark.line) + 1
            out[key] = _convert(value_node, field_path, lines, constructor, source)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), lines, constructor, source) for i, item in enumerate(node.value)]
    value = constructor.construct_object(node)
    if isinstance(value, (datetime.date, datetime.datetime)):
        raise SagaFileError(source, line, path, "dates and times must be quoted strings")
    if isinstance(value, bytes) or not isinstance(value, (str, int, float, bool, type(None))):
        raise SagaFileError(source, line, path, f"unsupported YAML value of type {type(value).__name__}")
    return value
