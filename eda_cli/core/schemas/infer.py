"""Infer a JSON Schema (Draft 4) from sample events: the types seen at each path, required = present in
every sample of its object, formats (date-time, uuid, email) when every string there has one, enums only
when asked.

Why not genson: it infers the same required set, but recognises no string format and no enum, and adding
both means subclassing its strategies; a small inferrer whose rules are tested here is less to keep.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from eda_cli.core.schemas.formats import formats_of

DRAFT4 = "http://json-schema.org/draft-04/schema#"
#: The canonical order of JSON types in a `type` list.
TYPE_ORDER = ("null", "boolean", "integer", "number", "string", "array", "object")
#: With enums on, a string field becomes an enum when it takes at most this many distinct values.
MAX_ENUM = 10


def json_type(value: Any) -> str:
    """The JSON type of a decoded JSON value (bool before int: a bool is an int to Python)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


@dataclass
class _Node:
    """What the samples had at one path."""

    types: set[str] = field(default_factory=set)
    #: Object samples seen here, and per property the samples it was present in.
    objects: int = 0
    properties: dict[str, _Node] = field(default_factory=dict)
    present: dict[str, int] = field(default_factory=dict)
    items: _Node | None = None
    strings: int = 0
    #: The formats every string seen here has (None: no string yet).
    formats: frozenset[str] | None = None
    #: Distinct string values, in the order first seen, until there are more than MAX_ENUM + 1.
    values: dict[str, None] = field(default_factory=dict)

    def add(self, value: Any, max_enum: int) -> None:
        kind = json_type(value)
        self.types.add(kind)
        if kind == "object":
            self.objects += 1
            for key, child in value.items():
                self.present[key] = self.present.get(key, 0) + 1
                self.properties.setdefault(key, _Node()).add(child, max_enum)
        elif kind == "array":
            if self.items is None:
                self.items = _Node()
            for element in value:
                self.items.add(element, max_enum)
        elif kind == "string":
            self.strings += 1
            mine = formats_of(value)
            self.formats = mine if self.formats is None else self.formats & mine
            if len(self.values) <= max_enum:
                self.values.setdefault(value, None)

    def schema(self, enums: bool, max_enum: int) -> dict[str, Any]:
        types = [t for t in TYPE_ORDER if t in self.types]
        if "integer" in types and "number" in types:
            types.remove("integer")
        out: dict[str, Any] = {}
        if types:  # no type at all: an array that was always empty; its items may be anything
            out["type"] = types[0] if len(types) == 1 else types
        if "string" in types:
            if self.formats:
                out["format"] = sorted(self.formats)[0]
            elif (enums and set(types) <= {"string", "null"} and len(self.values) <= max_enum
                  and len(self.values) < self.strings):
                out["enum"] = [*self.values, None] if "null" in types else list(self.values)
        if "object" in types:
            out["properties"] = {key: node.schema(enums, max_enum) for key, node in sorted(self.properties.items())}
            required = sorted(key for key, seen in self.present.items() if seen == self.objects)
            if required:
                out["required"] = required
        if "array" in types and self.items is not None and self.items.types:
            out["items"] = self.items.schema(enums, max_enum)
        return out


def infer_schema(
    samples: Iterable[Any], *, enums: bool = False, max_enum: int = MAX_ENUM, title: str | None = None
) -> dict[str, Any]:
    """A JSON Schema (Draft 4) that every sample is valid against. Raises ValueError without a sample."""
    root = _Node()
    count = 0
    for sample in samples:
        root.add(sample, max_enum)
        count += 1
    if not count:
        raise ValueError("no sample to infer a schema from")
    schema: dict[str, Any] = {"$schema": DRAFT4}
    if title:
        schema["title"] = title
    schema.update(root.schema(enums, max_enum))
    return schema


@dataclass(frozen=True)
class InferredSchema:
    """A schema inferred from `samples` events, of one source and detail-type (None: not grouped, or
    samples that are not EventBridge events)."""

    schema: dict[str, Any]
    samples: int
    source: str | None = None
    detail_type: str | None = None

    @property
    def name(self) -> str:
        """The registry's name for an event's schema (`source@DetailType`, as schema discovery names
        them), else `events`."""
        if self.source is None and self.detail_type is None:
            return "events"
        return f"{self.source or 'unknown'}@{pascal(self.detail_type or 'unknown')}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "detail_type": self.detail_type,
                "samples": self.samples, "schema": self.schema}


def pascal(text: str) -> str:
    """`order.created` -> `OrderCreated`: how schema discovery names an event's detail."""
    words = [w for w in "".join(c if c.isalnum() else " " for c in text).split() if w]
    return "".join(w[:1].upper() + w[1:] for w in words) or "Event"


def event_key(event: Any) -> tuple[str | None, str | None]:
    """(source, detail-type) of an EventBridge event, else (None, None)."""
    if isinstance(event, dict) and isinstance(event.get("source"), str) and isinstance(event.get("detail-type"), str):
        return event["source"], event["detail-type"]
    return None, None


def infer_schemas(
    samples: Iterable[Any], *, by_detail_type: bool = False, enums: bool = False, max_enum: int = MAX_ENUM
) -> list[InferredSchema]:
    """One schema for all samples, or (`by_detail_type`) one per source and detail-type, in the order each
    was first seen."""
    groups: dict[tuple[str | None, str | None], list[Any]] = {}
    for sample in samples:
        groups.setdefault(event_key(sample) if by_detail_type else (None, None), []).append(sample)
    out = []
    for (source, detail_type), members in groups.items():
        title = pascal(detail_type) if detail_type else None
        out.append(InferredSchema(infer_schema(members, enums=enums, max_enum=max_enum, title=title),
                                  len(members), source, detail_type))
    return out
