"""Validate events against a schema with one compiled validator, and say per event what is wrong (the
JSON path, what the schema says there, what the event has) and, over all events, how many share each
violation."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eda_cli.core.schemas.documents import SchemaDoc, SchemaError, resolve_refs
from eda_cli.core.schemas.fast import compile_fast
from eda_cli.core.schemas.formats import FORMATS
from eda_cli.core.schemas.infer import json_type
from eda_cli.core.schemas.size import SizeFlag, size_flags

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")
_INDEX = re.compile(r"\[\d+\]")
#: A path part that stands for every element of an array: `[*]`.
EACH = -1


def json_path(parts: Iterable[str | int]) -> str:
    """`$.detail.items[0].sku`; a key that is not a plain name in brackets: `$['a.b']`."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += "[*]" if part == EACH else f"[{part}]"
        elif _IDENTIFIER.match(part):
            out += f".{part}"
        else:
            out += "[" + json.dumps(part) + "]"
    return out


def describe(value: Any, limit: int = 40) -> str:
    """What an event has at a path, for people: its type and (shortened) value."""
    kind = json_type(value)
    if kind in ("object", "array"):
        return f"{kind} ({len(value)} {'keys' if kind == 'object' else 'items'})"
    text = json.dumps(value, ensure_ascii=False)
    return f"{kind} {text if len(text) <= limit else text[: limit - 3] + '...'}"


def _said(value: Any, limit: int = 60, as_json: bool = False) -> str:
    """What a schema keyword says: a type (list) in words, anything else (as_json) as JSON, shortened."""
    if isinstance(value, str) and not as_json:
        return value
    words = not as_json and isinstance(value, list) and all(isinstance(v, str) for v in value)
    text = " or ".join(value) if words else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Violation:
    """One way an event breaks the schema: at `path`, the schema's `rule` (a JSON Schema keyword) says
    `expected`; the event has `actual`."""

    path: str
    rule: str
    expected: str
    actual: str

    @property
    def key(self) -> tuple[str, str, str]:
        """What makes two violations 'the same' across events: array indices do not count."""
        return _INDEX.sub("[*]", self.path), self.rule, self.expected

    @property
    def text(self) -> str:
        return f"{self.path}: {self.expected}; has {self.actual}"

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "rule": self.rule, "expected": self.expected, "actual": self.actual}


def _violations_of(error: ValidationError) -> Iterator[Violation]:
    parts = list(error.absolute_path)
    keyword, instance = str(error.validator), error.instance
    value: Any = error.validator_value
    schema: Any = error.schema
    if keyword == "required" and isinstance(instance, dict):
        for name in value:
            if name not in instance:
                yield Violation(json_path([*parts, name]), "required", "required", "missing")
    elif keyword == "additionalProperties" and value is False and isinstance(instance, dict):
        known = set(schema.get("properties", {}))
        patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
        for name in instance:
            if name not in known and not any(p.search(name) for p in patterns):
                yield Violation(json_path([*parts, name]), "additionalProperties", "no such property",
                                describe(instance[name]))
    elif keyword == "type":
        yield Violation(json_path(parts), "type", f"type {_said(value)}", describe(instance))
    elif keyword == "enum":
        yield Violation(json_path(parts), "enum", f"one of {_said(value, as_json=True)}", describe(instance))
    elif keyword == "format":
        yield Violation(json_path(parts), "format", f"format {value}", describe(instance))
    elif keyword in ("anyOf", "oneOf", "allOf", "not"):
        yield Violation(json_path(parts), keyword, f"{keyword} of {len(value) if isinstance(value, list) else 1} "
                        "schemas", describe(instance))
    else:
        yield Violation(json_path(parts), keyword, f"{keyword} {_said(value, as_json=True)}", describe(instance))


def format_checker() -> Any:
    """jsonschema's format checker with eda's own date-time, uuid and email (core.schemas.formats):
    the formats an inferred schema names are checked the way they were recognised."""
    from jsonschema import FormatChecker

    checker = FormatChecker()
    for name, check in FORMATS.items():
        checker.checkers[name] = (_strings_only(check), ())
    return checker


def _strings_only(check: Callable[[str], bool]) -> Callable[[object], bool]:
    """A format applies to strings; any other value passes it (the `type` keyword judges those)."""
    return lambda value: not isinstance(value, str) or check(value)


class Checker:
    """A schema compiled once (`validator_for(schema)(schema)`), for any number of events; with `fast`, an
    event is first put to core.schemas.fast's yes/no test, and jsonschema says why only when it fails."""

    def __init__(self, schema: SchemaDoc, *, fast: bool = True) -> None:
        from jsonschema import Draft4Validator
        from jsonschema.exceptions import SchemaError as JsonSchemaError
        from jsonschema.validators import validator_for

        self.schema = schema
        cls = validator_for(schema.root, default=Draft4Validator)
        try:
            cls.check_schema(schema.root)
        except JsonSchemaError as exc:
            where = json_path(list(exc.absolute_path))
            raise SchemaError(f"schema {schema.name} is not a valid JSON Schema at {where}: {exc.message}") from None
        self._validator: Validator = cls(schema.root, format_checker=format_checker())
        #: A yes/no test for the valid majority (core.schemas.fast), when the schema allows one.
        self._fast = compile_fast(resolve_refs(schema.root)) if fast else None

    @property
    def fast(self) -> bool:
        return self._fast is not None

    def violations(self, event: Any) -> tuple[Violation, ...]:
        """What is wrong with `event` (a decoded JSON value); () when it is valid."""
        if self._fast is not None and self._fast(event):
            return ()
        found: dict[tuple[str, str, str], Violation] = {}
        for error in self._validator.iter_errors(event):
            for violation in _violations_of(error):
                found.setdefault((violation.path, violation.rule, violation.expected), violation)
        return tuple(sorted(found.values(), key=lambda v: (v.path, v.rule)))


NOT_JSON = "not JSON"


@dataclass(frozen=True)
class EventCheck:
    """One event's verdict: `ref` names it (`line 3`, a message id), `size` its bytes."""

    ref: str
    violations: tuple[Violation, ...]
    size: int
    size_flags: tuple[SizeFlag, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.violations

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "valid": self.valid, "size": self.size,
                "violations": [v.to_dict() for v in self.violations],
                "size_flags": [f.to_dict() for f in self.size_flags]}


def check_one(checker: Checker, ref: str, event: Any, size: int, parse_error: str | None = None) -> EventCheck:
    """`event` (decoded; `parse_error` when its text was not JSON) checked; its size flagged."""
    if parse_error is not None:
        violations: tuple[Violation, ...] = (Violation("$", "json", "a JSON value", f"{NOT_JSON}: {parse_error}"),)
    else:
        violations = checker.violations(event)
    return EventCheck(ref, violations, size, size_flags(size))


@dataclass(frozen=True)
class ViolationGroup:
    """The events that share one violation (path with [*] for indices, rule, what the schema says)."""

    path: str
    rule: str
    expected: str
    refs: tuple[str, ...]
    #: What the first of them has there.
    example: str

    @property
    def count(self) -> int:
        return len(self.refs)

    @property
    def text(self) -> str:
        return f"{self.path}: {self.expected}"

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "rule": self.rule, "expected": self.expected, "count": self.count,
                "example": self.example, "refs": list(self.refs)}


def group_violations(checks: Iterable[EventCheck]) -> list[ViolationGroup]:
    """Each violation once, with the events that have it: most events first."""
    groups: dict[tuple[str, str, str], tuple[list[str], str]] = {}
    for check in checks:
        for key in dict.fromkeys(v.key for v in check.violations):
            example = next(v.actual for v in check.violations if v.key == key)
            refs, _ = groups.setdefault(key, ([], example))
            refs.append(check.ref)
    return sorted((ViolationGroup(path, rule, expected, tuple(refs), example)
                   for (path, rule, expected), (refs, example) in groups.items()),
                  key=lambda g: (-g.count, g.path, g.rule))


@dataclass(frozen=True)
class CheckResult:
    schema: str
    checks: tuple[EventCheck, ...]
    groups: tuple[ViolationGroup, ...] = field(default=())

    @property
    def invalid(self) -> int:
        return sum(1 for c in self.checks if not c.valid)

    @property
    def flagged(self) -> tuple[EventCheck, ...]:
        return tuple(c for c in self.checks if c.size_flags)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": self.schema, "events": len(self.checks), "valid": len(self.checks) - self.invalid,
                "invalid": self.invalid, "groups": [g.to_dict() for g in self.groups],
                "size_flags": [{"ref": c.ref, "flags": [f.to_dict() for f in c.size_flags]} for c in self.flagged],
                "results": [c.to_dict() for c in self.checks if not c.valid or c.size_flags]}


def check_events(checker: Checker, events: Iterable[tuple[str, Any, int, str | None]]) -> CheckResult:
    """Check each (ref, decoded event, size in bytes, parse error or None)."""
    checks = tuple(check_one(checker, ref, event, size, error) for ref, event, size, error in events)
    return CheckResult(checker.schema.name, checks, tuple(group_violations(checks)))
