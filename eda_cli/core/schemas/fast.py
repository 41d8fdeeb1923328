"""A fast yes/no for the common case: a schema of the keywords an event schema mostly uses (type,
properties, required, items, enum of strings, format, additionalProperties false) compiled into Python
closures that say whether an event is valid, without building an error. `Checker` asks it first and goes
to jsonschema only for an event it rejects (to say why), or for every event when the schema uses any
other keyword (then `compile_fast` returns None). Draft 4 semantics: `integer` is an int, `number` an int
or a float, a bool neither; tests/test_schema_core.py holds its verdicts to jsonschema's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eda_cli.core.schemas.formats import FORMATS

Test = Callable[[Any], bool]

#: Keywords that never reject anything (annotations) and those compiled here; any other: no fast path.
_ANNOTATIONS = frozenset({"$schema", "id", "title", "description", "default", "examples", "$comment", "definitions"})
_COMPILED = frozenset({"type", "properties", "required", "items", "enum", "format", "additionalProperties"})


class _Unsupported(Exception):
    pass


def _is_type(name: str) -> Test:
    if name == "object":
        return lambda v: isinstance(v, dict)
    if name == "array":
        return lambda v: isinstance(v, list)
    if name == "string":
        return lambda v: isinstance(v, str)
    if name == "integer":
        return lambda v: isinstance(v, int) and not isinstance(v, bool)
    if name == "number":
        return lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
    if name == "boolean":
        return lambda v: isinstance(v, bool)
    if name == "null":
        return lambda v: v is None
    raise _Unsupported(name)


def _any_type(kinds: tuple[Test, ...]) -> Test:
    if len(kinds) == 1:
        return kinds[0]
    return lambda v: any(k(v) for k in kinds)


def _format(check: Callable[[str], bool]) -> Test:
    return lambda v: not isinstance(v, str) or check(v)


def _compile(schema: Any) -> Test:
    if schema is True or schema == {}:
        return lambda v: True
    if not isinstance(schema, dict):
        raise _Unsupported("schema")
    unknown = set(schema) - _ANNOTATIONS - _COMPILED
    if unknown:
        raise _Unsupported(", ".join(sorted(unknown)))
    tests: list[Test] = []
    kind = schema.get("type")
    if kind is not None:
        names = kind if isinstance(kind, list) else [kind]
        tests.append(_any_type(tuple(_is_type(str(n)) for n in names)))
    if "enum" in schema:
        values = schema["enum"]
        if not isinstance(values, list) or not all(isinstance(x, str) for x in values):
            raise _Unsupported("enum")
        allowed = frozenset(values)
        tests.append(lambda v: isinstance(v, str) and v in allowed)
    if "format" in schema:
        check = FORMATS.get(str(schema["format"]))
        if check is None:  # a format of jsonschema's own: it judges
            raise _Unsupported("format")
        tests.append(_format(check))
    required = tuple(schema.get("required") or ())
    properties = {name: _compile(sub) for name, sub in (schema.get("properties") or {}).items()}
    closed = schema.get("additionalProperties")
    if closed not in (None, True, False):
        raise _Unsupported("additionalProperties")
    if required or properties or closed is False:
        known = frozenset(properties)

        def object_test(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            for name in required:
                if name not in v:
                    return False
            for name, test in properties.items():
                if name in v and not test(v[name]):
                    return False
            return closed is not False or all(name in known for name in v)

        tests.append(object_test)
    if "items" in schema:
        if not isinstance(schema["items"], dict):
            raise _Unsupported("items")
        item = _compile(schema["items"])
        tests.append(lambda v: not isinstance(v, list) or all(item(x) for x in v))
    if not tests:
        return lambda v: True
    if len(tests) == 1:
        return tests[0]
    return lambda v: all(t(v) for t in tests)


def compile_fast(schema: dict[str, Any]) -> Test | None:
    """A yes/no test equivalent to validating against `schema` (refs already resolved), or None when the
    schema uses a keyword this does not compile."""
    import json

    if '"$ref"' in json.dumps(schema, default=str):  # a recursive schema (resolve_refs leaves those refs)
        return None
    try:
        return _compile(schema)
    except _Unsupported:
        return None
