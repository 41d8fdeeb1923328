"""The EventBridge schema registry (the `schemas` API): list a registry's schemas, read one (a version),
and push one (CreateSchema, or UpdateSchema when it exists and its content changed).

No mypy_boto3 stubs are installed for `schemas`: the client is typed Any here and held to botocore's
model by the tests (Stubber)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from eda_cli.aws.errors import error_code, unimplemented
from eda_cli.core.schemas.documents import JSON_SCHEMA, OPENAPI, SchemaDoc, SchemaError, schema_doc
from eda_cli.errors import AwsError, ResourceNotFound, UsageError

PREFIX = "registry:"
T = TypeVar("T")


class RegistryUnavailable(AwsError):
    """The endpoint does not implement the EventBridge schemas API (moto, LocalStack's free edition)."""


def _call(what: Callable[[], T], operation: str, where: str) -> T:
    try:
        return what()
    except Exception as exc:
        if unimplemented(exc):
            raise RegistryUnavailable(
                f"the endpoint does not implement the EventBridge schemas API ({operation}){where}",
                hint="use a schema file (--schema FILE), or run against AWS: moto and LocalStack's free "
                "edition have no schema registry") from None
        raise


def parse_spec(spec: str) -> tuple[str, str, str | None]:
    """`registry:REGISTRY/NAME[@VERSION]` -> (registry, name, version or None); else exit 2."""
    rest = spec[len(PREFIX):] if spec.startswith(PREFIX) else spec
    registry, slash, name = rest.partition("/")
    version: str | None = None
    if "@" in name:
        at = name.rindex("@")  # names may hold @ (source@DetailType): a version is digits after the last
        if name[at + 1:].isdigit():
            name, version = name[:at], name[at + 1:]
    if not registry or not slash or not name:
        raise UsageError(f"cannot read {spec!r} as a registry schema",
                         hint="write registry:REGISTRY/NAME or registry:REGISTRY/NAME@VERSION "
                         "(e.g. registry:discovered-schemas/shop.orders@OrderCreated@3)")
    return registry, name, version


@dataclass(frozen=True)
class SchemaSummary:
    name: str
    arn: str | None
    version_count: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arn": self.arn, "version_count": self.version_count}


def list_schemas(client: Any, registry: str, prefix: str | None = None, where: str = "") -> list[SchemaSummary]:
    """Every schema of `registry` (ListSchemas, every page)."""
    def pages() -> list[SchemaSummary]:
        kwargs: dict[str, Any] = {"RegistryName": registry}
        if prefix:
            kwargs["SchemaNamePrefix"] = prefix
        found = []
        for page in client.get_paginator("list_schemas").paginate(**kwargs):
            for item in page.get("Schemas", []):
                count = item.get("VersionCount")
                found.append(SchemaSummary(str(item["SchemaName"]), item.get("SchemaArn"),
                                           int(count) if count is not None else None))
        return found

    try:
        return _call(pages, "ListSchemas", where)
    except Exception as exc:
        if error_code(exc) == "NotFoundException":
            raise ResourceNotFound(f"schema registry {registry} not found{where}") from None
        raise


def describe_schema(client: Any, registry: str, name: str, version: str | None = None, where: str = "") -> SchemaDoc:
    """A schema of the registry (its latest version, or `version`) as a SchemaDoc."""
    kwargs: dict[str, Any] = {"RegistryName": registry, "SchemaName": name}
    if version:
        kwargs["SchemaVersion"] = version
    label = f"{registry}/{name}" + (f"@{version}" if version else "")
    try:
        answer = _call(lambda: client.describe_schema(**kwargs), "DescribeSchema", where)
    except Exception as exc:
        if error_code(exc) == "NotFoundException":
            raise ResourceNotFound(f"schema {label} not found in the registry{where}",
                                   hint=f"list the registry's schemas: eda schema pull {registry}") from None
        raise
    content = str(answer.get("Content") or "")
    try:
        document = json.loads(content)
    except ValueError:
        raise SchemaError(f"schema {label}: its content in the registry is not JSON") from None
    return schema_doc(document, f"{PREFIX}{registry}/{name}@{answer.get('SchemaVersion')}",
                      str(answer.get("SchemaVersion")) if answer.get("SchemaVersion") is not None else None)


@dataclass(frozen=True)
class PushResult:
    registry: str
    name: str
    #: created | updated | unchanged
    action: str
    version: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"registry": self.registry, "name": self.name, "action": self.action, "version": self.version}


def registry_type(document: dict[str, Any]) -> str:
    return OPENAPI if "openapi" in document else JSON_SCHEMA


def push_schema(client: Any, registry: str, name: str, schema: SchemaDoc, *, description: str | None = None,
                where: str = "") -> PushResult:
    """Create the schema, or add a version when its content differs from the latest; same content: no call
    that writes (`unchanged`)."""
    content = json.dumps(schema.document, indent=2, sort_keys=False)
    kind = schema.kind
    try:
        current = _call(lambda: client.describe_schema(RegistryName=registry, SchemaName=name),
                        "DescribeSchema", where)
    except Exception as exc:
        if error_code(exc) != "NotFoundException":
            raise
        current = None
    extra = {"Description": description} if description else {}
    if current is None:
        made = _call(lambda: client.create_schema(RegistryName=registry, SchemaName=name, Type=kind,
                                                  Content=content, **extra), "CreateSchema", where)
        return PushResult(registry, name, "created", _version(made))
    try:
        same = json.loads(str(current.get("Content") or "")) == schema.document and current.get("Type") == kind
    except ValueError:
        same = False
    if same:
        return PushResult(registry, name, "unchanged", _version(current))
    updated = _call(lambda: client.update_schema(RegistryName=registry, SchemaName=name, Type=kind,
                                                 Content=content, **extra), "UpdateSchema", where)
    return PushResult(registry, name, "updated", _version(updated))


def _version(answer: Any) -> str | None:
    value = answer.get("SchemaVersion") if isinstance(answer, dict) else None
    return str(value) if value is not None else None
