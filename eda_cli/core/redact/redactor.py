"""The one redaction: a Redactor (paths and presets) and the Scope a result is masked in.

A result is masked in one Scope: first its documents (message bodies, events, images: paths apply at their
root, and at the root of any JSON document a string inside them holds, such as an SNS envelope's Message),
then its free text (summaries, error messages, log lines: the presets, and every value a path masked, found
again). So a value a path masks never shows through a summary or an error message that quotes it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from eda_cli.core.redact.detect import PRESETS, scrub, scrub_number
from eda_cli.core.redact.paths import PathError, RedactPath, apply_path, parse_path, values_at

#: What a path hit becomes, whatever it was (a string, a number, an object).
REDACTED = "<redacted>"
#: Values a path masked shorter than this are not searched for in free text (they would mask "EU" everywhere).
MIN_LITERAL = 4


def parse_presets(values: Iterable[str]) -> tuple[str, ...]:
    """`pci`, `pii`, `pci,pii` (repeatable) -> the presets, each once, in PRESETS order; PathError otherwise."""
    wanted: list[str] = []
    for value in values:
        for part in str(value).split(","):
            name = part.strip().lower()
            if not name:
                continue
            if name not in PRESETS:
                raise PathError(f"unknown redaction preset {part.strip()!r} (known: {', '.join(PRESETS)})",
                                hint="e.g. --redact-preset pci,pii")
            wanted.append(name)
    return tuple(p for p in PRESETS if p in wanted)


@dataclass(frozen=True)
class Redactor:
    """Masks message contents by path (`<redacted>`) and by preset (typed masks). `Redactor()` masks nothing."""

    paths: tuple[RedactPath, ...] = ()
    presets: tuple[str, ...] = ()

    @classmethod
    def build(cls, paths: Iterable[str] = (), presets: Iterable[str] = ()) -> Redactor:
        parsed: list[RedactPath] = []
        for text in paths:
            path = parse_path(text)
            if path.text not in {p.text for p in parsed}:
                parsed.append(path)
        return cls(tuple(parsed), parse_presets(presets))

    @property
    def active(self) -> bool:
        return bool(self.paths or self.presets)

    def covers(self, dotted: str) -> bool:
        """Whether a dotted field path (`detail.card.number`, as the routing engine names fields) is one a
        path masks, or lies inside one."""
        parts = dotted.split(".")
        for path in self.paths:
            if len(path.steps) <= len(parts) and all(_step_matches(step, part)
                                                     for step, part in zip(path.steps, parts, strict=False)):
                return True
        return False

    def describe(self) -> str:
        parts = [f"preset {p}" for p in self.presets] + [f"path {p}" for p in self.paths]
        return ", ".join(parts) if parts else "nothing"

    def scope(self) -> Scope:
        return Scope(self)

    # One-off conveniences (a Scope of their own).
    def document(self, value: Any) -> Any:
        return self.scope().document(value)

    def text(self, value: str) -> str:
        return self.scope().text(value)


def _step_matches(step: tuple[str, str], part: str) -> bool:
    kind, value = step
    if kind == "key":
        return value == part
    if kind == "any-key":
        return True
    return part.isdigit() and (kind == "any-index" or value == part)


def _json_text(value: str) -> Any:
    """The JSON document a string holds (an object or an array), else None."""
    stripped = value.strip()
    if stripped[:1] not in ("{", "[") or stripped[-1:] not in ("}", "]"):
        return None
    try:
        parsed = json.loads(stripped)
    except ValueError:
        return None
    return parsed if isinstance(parsed, (dict, list)) else None


def _literal(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float, Decimal)):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        return None
    return text if len(text) >= MIN_LITERAL else None


@dataclass
class Scope:
    """One result's masking: documents first, then free text (see the module's docstring)."""

    redactor: Redactor
    #: The values paths masked so far, longest first when used.
    literals: set[str] = field(default_factory=set)

    # -- documents ------------------------------------------------------------------------------

    def document(self, value: Any, *, paths: bool = True) -> Any:
        """A masked copy of a plain JSON value (dicts, lists, strings, numbers). `paths`: apply the paths at its
        root (False for values that are not a message's document, such as message attributes)."""
        if not self.redactor.active:
            return value
        if paths and self.redactor.paths:
            self._learn(value)
        return self._rewrite(value, paths)

    def _learn(self, value: Any) -> None:
        """Collect what the paths name in `value` and in every JSON document nested in its strings."""
        for path in self.redactor.paths:
            for hit in values_at(value, path):
                self._collect(hit)
        for text in _strings(value):
            nested = _json_text(text)
            if nested is not None:
                self._learn(nested)

    def _collect(self, value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                self._collect(item)
        elif isinstance(value, list):
            for item in value:
                self._collect(item)
        else:
            literal = _literal(value)
            if literal is not None:
                self.literals.add(literal)

    def _rewrite(self, value: Any, paths: bool) -> Any:
        if paths and self.redactor.paths and isinstance(value, (dict, list)):
            value = copy.deepcopy(value)
            for path in self.redactor.paths:
                apply_path(value, path, lambda _: REDACTED)
        return self._scrub_tree(value)

    def _scrub_tree(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: self._scrub_tree(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._scrub_tree(item) for item in value]
        if isinstance(value, str):
            if value == REDACTED:
                return value
            nested = _json_text(value)
            if nested is not None:  # a document inside a string (an SNS envelope's Message): masked as one
                return json.dumps(self._rewrite(nested, True), ensure_ascii=False)
            return self.free(value)
        if isinstance(value, int) and not isinstance(value, bool):
            mask = scrub_number(value, self.redactor.presets)
            if mask is not None:
                return mask
            if self.literals and str(value) in self.literals:
                return REDACTED
        return value

    # -- free text ------------------------------------------------------------------------------

    def text(self, value: str) -> str:
        """A string that may hold a JSON document (masked as one, written back compactly) or free text."""
        if not self.redactor.active or not value:
            return value
        nested = _json_text(value)
        if nested is not None:
            return json.dumps(self.document(nested), ensure_ascii=False)
        return self.free(value)

    def free(self, value: str) -> str:
        """Free text: every value a path masked so far, then the presets."""
        if not self.redactor.active or not value:
            return value
        for literal in sorted(self.literals, key=len, reverse=True):
            if literal in value:
                value = value.replace(literal, REDACTED)
        return scrub(value, self.redactor.presets)

    def any(self, value: Any) -> Any:
        """A structure that is not a message's document (attributes, error fields): strings masked as
        `text`, numbers as the presets say; no path applies at its root."""
        return self.document(value, paths=False)


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
