"""Schema documents as the EventBridge schema registry stores them: JSON Schema Draft 4
(`JSONSchemaDraft4`) or OpenAPI 3 (`OpenApi3`, what schema discovery writes: the event is
`components.schemas.AWSEvent`, its detail another component). Read either into one JSON Schema that
a validator takes and a diff walks; write an inferred schema as either."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from eda_cli.core.schemas.infer import DRAFT4, InferredSchema, pascal
from eda_cli.errors import UsageError

JSON_SCHEMA = "JSONSchemaDraft4"
OPENAPI = "OpenApi3"
#: What an EventBridge event's envelope holds besides its detail (schema discovery's AWSEvent).
ENVELOPE_FIELDS = ("account", "detail-type", "id", "region", "resources", "source", "time", "version")


class SchemaError(UsageError):
    """A schema document eda cannot use: not JSON, not a schema, or an invalid one."""


@dataclass(frozen=True)
class SchemaDoc:
    """A schema as given (`document`, of registry type `kind`), and `root`: the same schema as one JSON
    Schema (an OpenAPI document's components become `definitions`)."""

    name: str
    kind: str
    document: dict[str, Any]
    root: dict[str, Any]
    version: str | None = None


def parse_schema(text: str, name: str) -> SchemaDoc:
    """A schema document from its text; anything else -> SchemaError (exit 2)."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise SchemaError(f"schema {name} is not JSON: {exc}") from None
    return schema_doc(document, name)


def schema_doc(document: Any, name: str, version: str | None = None) -> SchemaDoc:
    if not isinstance(document, dict):
        raise SchemaError(f"schema {name} is not a JSON object")
    if "openapi" in document:
        return SchemaDoc(name, OPENAPI, document, openapi_to_jsonschema(document, name), version)
    if not any(key in document for key in _SCHEMA_KEYWORDS):
        # Valid as a JSON Schema (unknown keywords are ignored) but accepting anything: an event given
        # where a schema was meant, most likely.
        raise SchemaError(f"{name} does not look like a schema: it has none of "
                          f"{', '.join(sorted(_SCHEMA_KEYWORDS))}",
                          hint="give a JSON Schema (Draft 4) or an OpenAPI 3 document; an event is not one")
    return SchemaDoc(name, JSON_SCHEMA, document, document, version)


_SCHEMA_KEYWORDS = frozenset({"$schema", "$ref", "type", "properties", "required", "definitions", "anyOf", "oneOf",
                              "allOf", "not", "enum", "items", "additionalProperties", "patternProperties"})


def _root_component(components: dict[str, Any], name: str) -> str:
    for key, value in components.items():
        if isinstance(value, dict) and any(k.startswith("x-amazon-events-") for k in value):
            return key
    if "AWSEvent" in components:
        return "AWSEvent"
    if len(components) == 1:
        return next(iter(components))
    raise SchemaError(f"schema {name}: cannot tell which of its components is the event "
                      f"({', '.join(sorted(components))})",
                      hint="name it AWSEvent, or mark it with x-amazon-events-source")


def _from_openapi(node: Any) -> Any:
    """OpenAPI 3.0 schema objects -> JSON Schema: `nullable` becomes a null type, component refs
    become definition refs; what OpenAPI adds (discriminator, example, x-*) is left out."""
    if isinstance(node, list):
        return [_from_openapi(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("nullable", "discriminator", "example", "xml", "externalDocs", "deprecated", "readOnly",
                   "writeOnly") or key.startswith("x-"):
            continue
        if key == "$ref" and isinstance(value, str) and value.startswith("#/components/schemas/"):
            out[key] = "#/definitions/" + value[len("#/components/schemas/"):]
        elif key in ("properties", "patternProperties", "definitions") and isinstance(value, dict):
            out[key] = {k: _from_openapi(v) for k, v in value.items()}
        else:
            out[key] = _from_openapi(value)
    if node.get("nullable") is True and "type" in out:
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = [*types, "null"] if "null" not in types else types
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    elif node.get("nullable") is True:  # nullable beside anyOf/oneOf: null, or what they say
        out = {"anyOf": [out, {"type": "null"}]}
    return out


def openapi_to_jsonschema(document: dict[str, Any], name: str) -> dict[str, Any]:
    components = (document.get("components") or {}).get("schemas")
    if not isinstance(components, dict) or not components:
        raise SchemaError(f"schema {name} is an OpenAPI document without components.schemas")
    root = _root_component(components, name)
    return {"$schema": DRAFT4, "$ref": f"#/definitions/{root}",
            "definitions": {key: _from_openapi(value) for key, value in components.items()}}


def resolve_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with its local `$ref`s (`#/...`) replaced by what they point to; a ref inside its own
    target (a recursive schema) is left as it is."""
    def target(ref: str) -> Any:
        node: Any = schema
        for part in ref[2:].split("/") if ref != "#" else []:
            part = part.replace("~1", "/").replace("~0", "~")
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    def walk(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [walk(n, seen) for n in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#") and ref not in seen:
            try:
                found = target(ref)
            except (KeyError, IndexError, ValueError):
                raise SchemaError(f"$ref {ref} points at nothing in the schema") from None
            return walk(found, (*seen, ref))
        return {k: walk(v, seen) for k, v in node.items() if k != "definitions"}

    return walk(schema, ())  # type: ignore[no-any-return]


# -- writing -------------------------------------------------------------------------------------


def _to_openapi_node(node: Any) -> Any:
    """JSON Schema -> an OpenAPI 3.0 schema object: a type list becomes one type (+ nullable) or anyOf."""
    if isinstance(node, list):
        return [_to_openapi_node(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("$schema", "title"):
            continue
        if key in ("properties", "patternProperties") and isinstance(value, dict):
            out[key] = {k: _to_openapi_node(v) for k, v in value.items()}
        else:
            out[key] = _to_openapi_node(value)
    types = node.get("type")
    if isinstance(types, list):
        concrete = [t for t in types if t != "null"]
        if "null" in types:
            out["nullable"] = True
        if len(concrete) == 1:
            out["type"] = concrete[0]
        else:
            del out["type"]
            kept = {k: v for k, v in out.items() if k != "nullable"}
            out = {"anyOf": [_typed_part(t, kept) for t in concrete], **({"nullable": True} if "null" in types else {})}
        if "enum" in out and None in out["enum"]:
            out["enum"] = [v for v in out["enum"] if v is not None]
    return out


def _typed_part(kind: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The part of `schema` that applies to values of type `kind` (for an anyOf of types)."""
    keep = {"object": ("properties", "required", "additionalProperties"), "array": ("items",),
            "string": ("format", "enum")}.get(kind, ())
    return {"type": kind, **{k: v for k, v in schema.items() if k in keep}}


def to_openapi(inferred: InferredSchema) -> dict[str, Any]:
    """An inferred schema as the registry stores an OpenAPI 3 one (as schema discovery writes it): an
    EventBridge event is `AWSEvent`, with `x-amazon-events-source` / `-detail-type`, its detail the
    component named after its detail-type."""
    schema = copy.deepcopy(inferred.schema)
    title = pascal(inferred.detail_type) if inferred.detail_type else "Event"
    components: dict[str, Any] = {}
    properties = schema.get("properties", {})
    if inferred.detail_type is not None and isinstance(properties.get("detail"), dict):
        components[title] = _to_openapi_node(properties["detail"])
        properties["detail"] = {"$ref": f"#/components/schemas/{title}"}
        event = _to_openapi_node(schema)
        event["x-amazon-events-detail-type"] = inferred.detail_type
        event["x-amazon-events-source"] = inferred.source
        components = {"AWSEvent": event, **components}
    else:
        components[title] = _to_openapi_node(schema)
    return {"openapi": "3.0.0", "info": {"version": "1.0.0", "title": title}, "paths": {},
            "components": {"schemas": components}}


def render_schema(inferred: InferredSchema, kind: str) -> dict[str, Any]:
    """The document of an inferred schema in registry type `kind` (JSON_SCHEMA or OPENAPI)."""
    return to_openapi(inferred) if kind == OPENAPI else inferred.schema
