"""What changed between two versions of an event's schema, and whether it breaks consumers.

Breaking: a required field added (events valid before are rejected), a field removed or renamed, a
field no longer required (a consumer that reads it may not get it), a type narrowed or changed, an enum
value removed (or an enum where there was none), a format added, additionalProperties closed.
Compatible: an optional field added, a type widened, an enum value added (or the enum dropped), a format
dropped, additionalProperties opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eda_cli.core.schemas.check import EACH, json_path
from eda_cli.core.schemas.documents import SchemaDoc, resolve_refs

#: kind -> (breaking, what it means). The kinds are stable: CI configurations and SARIF rule ids use them.
KINDS: dict[str, tuple[bool, str]] = {
    "required-field-added": (True, "a new required field: events without it are rejected"),
    "field-removed": (True, "a field consumers may read is gone"),
    "field-renamed": (True, "a field consumers may read is gone, under a new name"),
    "field-made-required": (True, "an optional field became required: events without it are rejected"),
    "field-made-optional": (True, "a required field became optional: consumers that read it may not get it"),
    "type-narrowed": (True, "values of a type accepted before are rejected"),
    "type-changed": (True, "the field's type changed"),
    "enum-value-removed": (True, "a value accepted before is rejected"),
    "enum-added": (True, "a field that took any value now takes only the listed ones"),
    "format-added": (True, "values accepted before may be rejected"),
    "additional-properties-closed": (True, "fields not in the schema are now rejected"),
    "optional-field-added": (False, "a new optional field"),
    "type-widened": (False, "more types are accepted"),
    "enum-value-added": (False, "a new value is accepted"),
    "enum-removed": (False, "any value is accepted"),
    "format-removed": (False, "any string is accepted"),
    "additional-properties-opened": (False, "fields not in the schema are accepted"),
}


@dataclass(frozen=True)
class Change:
    kind: str
    path: str
    old: Any = None
    new: Any = None

    @property
    def breaking(self) -> bool:
        return KINDS[self.kind][0]

    @property
    def meaning(self) -> str:
        return KINDS[self.kind][1]

    @property
    def text(self) -> str:
        detail = ""
        if self.kind == "field-renamed":
            detail = f" (to {self.new})"
        elif self.old is not None or self.new is not None:
            detail = f" ({_show(self.old)} -> {_show(self.new)})"
        return f"{self.path}: {self.kind}{detail}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": self.path, "breaking": self.breaking, "old": self.old, "new": self.new,
                "meaning": self.meaning}


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


@dataclass(frozen=True)
class DiffResult:
    old: str
    new: str
    changes: tuple[Change, ...]

    @property
    def breaking(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.breaking)

    @property
    def compatible(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if not c.breaking)

    def to_dict(self) -> dict[str, Any]:
        return {"old": self.old, "new": self.new, "breaking": len(self.breaking), "compatible": len(self.compatible),
                "changes": [c.to_dict() for c in self.changes]}


_NUMERIC = {"integer", "number"}


def _types(schema: dict[str, Any]) -> set[str] | None:
    """The types a schema accepts (integer inside number), None when it does not say."""
    value = schema.get("type")
    if value is None:
        return None
    types = set(value) if isinstance(value, list) else {value}
    if "number" in types:
        types.add("integer")
    return types


def _same_shape(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return _types(a) == _types(b) and set(a.get("properties", {})) == set(b.get("properties", {}))


def _walk(old: dict[str, Any], new: dict[str, Any], parts: list[str | int], out: list[Change]) -> None:
    path = json_path(parts)
    old_types, new_types = _types(old), _types(new)
    if old_types != new_types:
        if new_types is None:
            out.append(Change("type-widened", path, old.get("type"), None))
        elif old_types is None or new_types < old_types:
            out.append(Change("type-narrowed", path, old.get("type"), new.get("type")))
        elif new_types > old_types:
            out.append(Change("type-widened", path, old.get("type"), new.get("type")))
        else:
            out.append(Change("type-changed", path, old.get("type"), new.get("type")))
    _enum(old, new, path, out)
    if old.get("format") != new.get("format"):
        if old.get("format") is None:
            out.append(Change("format-added", path, None, new.get("format")))
        elif new.get("format") is None:
            out.append(Change("format-removed", path, old.get("format"), None))
        else:
            out.append(Change("type-changed", path, f"format {old.get('format')}", f"format {new.get('format')}"))
    old_open, new_open = old.get("additionalProperties", True) is not False, new.get("additionalProperties", True) \
        is not False
    if old_open and not new_open:
        out.append(Change("additional-properties-closed", path))
    elif new_open and not old_open:
        out.append(Change("additional-properties-opened", path))
    _properties(old, new, parts, out)
    old_items, new_items = old.get("items"), new.get("items")
    if isinstance(old_items, dict) and isinstance(new_items, dict):
        _walk(old_items, new_items, [*parts, EACH], out)


def _enum(old: dict[str, Any], new: dict[str, Any], path: str, out: list[Change]) -> None:
    old_enum, new_enum = old.get("enum"), new.get("enum")
    if old_enum is None and new_enum is not None:
        out.append(Change("enum-added", path, None, new_enum))
    elif old_enum is not None and new_enum is None:
        out.append(Change("enum-removed", path, old_enum, None))
    elif old_enum is not None and new_enum is not None:
        removed = [v for v in old_enum if v not in new_enum]
        added = [v for v in new_enum if v not in old_enum]
        for value in removed:
            out.append(Change("enum-value-removed", path, value, None))
        for value in added:
            out.append(Change("enum-value-added", path, None, value))


def _properties(old: dict[str, Any], new: dict[str, Any], parts: list[str | int], out: list[Change]) -> None:
    old_props: dict[str, Any] = old.get("properties") or {}
    new_props: dict[str, Any] = new.get("properties") or {}
    old_required, new_required = set(old.get("required") or ()), set(new.get("required") or ())
    removed = [name for name in old_props if name not in new_props]
    added = [name for name in new_props if name not in old_props]
    renamed: dict[str, str] = {}
    for name in removed:  # a field gone and a new one of the same shape at the same level: a rename
        twins = [a for a in added if a not in renamed.values() and _same_shape(old_props[name], new_props[a])
                 and (name in old_required) == (a in new_required)]
        if len(twins) == 1:
            renamed[name] = twins[0]
    for name in removed:
        if name in renamed:
            out.append(Change("field-renamed", json_path([*parts, name]), name, renamed[name]))
        else:
            out.append(Change("field-removed", json_path([*parts, name])))
    for name in added:
        if name in renamed.values():
            continue
        kind = "required-field-added" if name in new_required else "optional-field-added"
        out.append(Change(kind, json_path([*parts, name])))
    # Required names without a property schema of their own count too.
    for name in sorted((new_required - old_required) - set(added)):
        out.append(Change("field-made-required", json_path([*parts, name])))
    for name in sorted((old_required - new_required) - set(removed)):
        out.append(Change("field-made-optional", json_path([*parts, name])))
    for name in old_props:
        if name in new_props and isinstance(old_props[name], dict) and isinstance(new_props[name], dict):
            _walk(old_props[name], new_props[name], [*parts, name], out)


def diff_schemas(old: SchemaDoc, new: SchemaDoc) -> DiffResult:
    """Every change from `old` to `new` (either JSON Schema or OpenAPI 3), breaking ones first."""
    changes: list[Change] = []
    _walk(resolve_refs(old.root), resolve_refs(new.root), [], changes)
    ordered = sorted(changes, key=lambda c: (not c.breaking, c.path, c.kind))
    return DiffResult(old.name, new.name, tuple(ordered))
