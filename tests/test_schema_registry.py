"""The EventBridge schema registry: `schema pull|push` and `--schema registry:...`.

moto has no schemas API, and LocalStack's free edition neither (tests/backends), so the conversation is
scripted with botocore's Stubber, which holds every request and answer to botocore's model of the
`schemas` service. What an endpoint without the API does is tested against the server itself."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from eda_cli.core.schemas import (
    JSON_SCHEMA,
    OPENAPI,
    RegistryUnavailable,
    describe_schema,
    list_schemas,
    parse_spec,
    push_schema,
    schema_doc,
)
from eda_cli.errors import ResourceNotFound, UsageError
from tests.fixtures.cli import Result, assert_one_line_error, in_process
from tests.fixtures.sessions import session_factory

SCHEMA: dict[str, Any] = {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
                          "required": ["detail"], "properties": {"detail": {"type": "object",
                                                                            "required": ["orderId"]}}}
WHEN = datetime(2026, 12, 1, tzinfo=timezone.utc)


@pytest.fixture
def client() -> Iterator[tuple[Any, Stubber]]:
    real = boto3.client("schemas", region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing")
    with Stubber(real) as stubber:
        yield real, stubber
        stubber.assert_no_pending_responses()


def _described(content: dict[str, Any], version: str = "3", kind: str = JSON_SCHEMA) -> dict[str, Any]:
    return {"Content": json.dumps(content), "SchemaName": "shop.orders@OrderCreated", "SchemaVersion": version,
            "Type": kind, "LastModified": WHEN, "VersionCreatedDate": WHEN,
            "SchemaArn": "arn:aws:schemas:us-east-1:123456789012:schema/orders/shop.orders@OrderCreated"}


def test_list_schemas_reads_every_page(client: tuple[Any, Stubber]) -> None:
    real, stubber = client
    stubber.add_response("list_schemas", {"Schemas": [{"SchemaName": "a", "VersionCount": 2}], "NextToken": "t1"},
                         {"RegistryName": "orders", "SchemaNamePrefix": "shop"})
    stubber.add_response("list_schemas", {"Schemas": [{"SchemaName": "b", "VersionCount": 1}]},
                         {"RegistryName": "orders", "SchemaNamePrefix": "shop", "NextToken": "t1"})
    assert [(s.name, s.version_count) for s in list_schemas(real, "orders", "shop")] == [("a", 2), ("b", 1)]


def test_describe_schema_reads_a_version(client: tuple[Any, Stubber]) -> None:
    real, stubber = client
    stubber.add_response("describe_schema", _described(SCHEMA, "2"),
                         {"RegistryName": "orders", "SchemaName": "shop.orders@OrderCreated", "SchemaVersion": "2"})
    doc = describe_schema(real, "orders", "shop.orders@OrderCreated", "2")
    assert (doc.kind, doc.version, doc.document) == (JSON_SCHEMA, "2", SCHEMA)
    assert doc.name == "registry:orders/shop.orders@OrderCreated@2"


def test_a_missing_schema_is_not_found(client: tuple[Any, Stubber]) -> None:
    real, stubber = client
    stubber.add_client_error("describe_schema", "NotFoundException", "Schema not found", 404)
    with pytest.raises(ResourceNotFound, match="schema orders/nope not found"):
        describe_schema(real, "orders", "nope")


def test_push_creates_then_updates_and_writes_nothing_for_the_same_content(client: tuple[Any, Stubber]) -> None:
    real, stubber = client
    doc = schema_doc(SCHEMA, "order.json")
    name = "shop.orders@OrderCreated"
    stubber.add_client_error("describe_schema", "NotFoundException", "Schema not found", 404)
    stubber.add_response("create_schema", {"SchemaName": name, "SchemaVersion": "1", "Type": JSON_SCHEMA},
                         {"RegistryName": "orders", "SchemaName": name, "Type": JSON_SCHEMA,
                          "Content": json.dumps(SCHEMA, indent=2), "Description": "orders"})
    assert push_schema(real, "orders", name, doc, description="orders").to_dict() == {
        "registry": "orders", "name": name, "action": "created", "version": "1"}
    changed = {**SCHEMA, "required": ["detail", "id"]}
    stubber.add_response("describe_schema", _described(SCHEMA, "1"), {"RegistryName": "orders", "SchemaName": name})
    stubber.add_response("update_schema", {"SchemaName": name, "SchemaVersion": "2"},
                         {"RegistryName": "orders", "SchemaName": name, "Type": JSON_SCHEMA,
                          "Content": json.dumps(changed, indent=2)})
    assert push_schema(real, "orders", name, schema_doc(changed, "order.json")).action == "updated"
    stubber.add_response("describe_schema", _described(changed, "2"), {"RegistryName": "orders", "SchemaName": name})
    unchanged = push_schema(real, "orders", name, schema_doc(changed, "order.json"))
    assert (unchanged.action, unchanged.version) == ("unchanged", "2")


def test_an_endpoint_without_the_api_says_so(client: tuple[Any, Stubber]) -> None:
    real, stubber = client
    stubber.add_client_error("list_schemas", "501", "<html>Not Implemented</html>", 501)
    with pytest.raises(RegistryUnavailable, match="does not implement the EventBridge schemas API"):
        list_schemas(real, "orders")


@pytest.mark.parametrize(("spec", "expected"), [
    ("registry:orders/shop.orders@OrderCreated", ("orders", "shop.orders@OrderCreated", None)),
    ("registry:orders/shop.orders@OrderCreated@3", ("orders", "shop.orders@OrderCreated", "3")),
    ("registry:discovered-schemas/Order@12", ("discovered-schemas", "Order", "12")),
])
def test_registry_specs(spec: str, expected: tuple[str, str, str | None]) -> None:
    assert parse_spec(spec) == expected


@pytest.mark.parametrize("spec", ["registry:orders", "registry:/x", "registry:orders/"])
def test_bad_registry_specs_are_usage_errors(spec: str) -> None:
    with pytest.raises(UsageError, match="as a registry schema") as raised:
        parse_spec(spec)
    assert raised.value.hint is not None and "registry:REGISTRY/NAME" in raised.value.hint


# -- the commands, with the schemas client stubbed ------------------------------------------------


def _cli(capsys: pytest.CaptureFixture[str], responses: list[tuple[str, dict[str, Any], dict[str, Any] | None]],
         *args: str) -> Result:
    """Run eda with its schemas client answering `responses` (method, answer, expected params) in order."""
    stubbers: list[Stubber] = []

    def stub(real: Any) -> Any:
        stubber = Stubber(real)
        for method, answer, params in responses:
            stubber.add_response(method, answer, params)
        stubber.activate()
        stubbers.append(stubber)
        return real

    result = in_process(None, capsys, session_factory(schemas=stub))("--region", "us-east-1", *args)
    for stubber in stubbers:
        stubber.assert_no_pending_responses()
    return result


def test_pull_one_schema_prints_its_content(capsys: pytest.CaptureFixture[str]) -> None:
    result = _cli(capsys, [("describe_schema", _described(SCHEMA),
                            {"RegistryName": "orders", "SchemaName": "shop.orders@OrderCreated"})],
                  "schema", "pull", "orders", "shop.orders@OrderCreated")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout) == SCHEMA


def test_pull_a_registry_to_a_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    openapi = {"openapi": "3.0.0", "info": {"version": "1.0.0", "title": "X"}, "paths": {},
               "components": {"schemas": {"X": {"type": "object"}}}}
    result = _cli(capsys, [
        ("list_schemas", {"Schemas": [{"SchemaName": "a"}], "NextToken": "n"}, {"RegistryName": "orders"}),
        ("list_schemas", {"Schemas": [{"SchemaName": "b@B"}]}, {"RegistryName": "orders", "NextToken": "n"}),
        ("describe_schema", _described(SCHEMA, "4"), {"RegistryName": "orders", "SchemaName": "a"}),
        ("describe_schema", _described(openapi, "1", OPENAPI), {"RegistryName": "orders", "SchemaName": "b@B"}),
    ], "-o", "json", "schema", "pull", "orders", "--out", str(tmp_path / "schemas"))
    assert result.code == 0, result.stderr
    rows = result.items()
    assert [(r["name"], r["version"], r["type"]) for r in rows] == [("a", "4", JSON_SCHEMA), ("b@B", "1", OPENAPI)]
    assert json.loads((tmp_path / "schemas" / "a.json").read_text()) == SCHEMA
    assert json.loads((tmp_path / "schemas" / "b@B.json").read_text()) == openapi


def test_check_against_a_registry_schema_version(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"detail": {"orderId": "o-1"}}\n{"detail": {}}\n')
    params = {"RegistryName": "orders", "SchemaName": "shop.orders@OrderCreated", "SchemaVersion": "2"}
    result = _cli(capsys, [("describe_schema", _described(SCHEMA, "2"), params)],
                  "-o", "json", "schema", "check", str(events), "--schema",
                  "registry:orders/shop.orders@OrderCreated@2")
    assert result.code == 1, result.stderr
    body = result.json()
    assert body["schema"] == "registry:orders/shop.orders@OrderCreated@2"
    assert [(g["path"], g["refs"]) for g in body["groups"]] == [("$.detail.orderId", ["line 2"])]


def test_push_names_an_openapi_schema_after_its_event(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from eda_cli.core.schemas import InferredSchema, to_openapi

    document = to_openapi(InferredSchema(SCHEMA, 1, "shop.orders", "order.created"))
    path = tmp_path / "order.json"
    path.write_text(json.dumps(document))
    name = "shop.orders@OrderCreated"
    result = _cli(capsys, [
        ("describe_schema", _described(SCHEMA, "1"), {"RegistryName": "orders", "SchemaName": name}),
        ("update_schema", {"SchemaName": name, "SchemaVersion": "2"},
         {"RegistryName": "orders", "SchemaName": name, "Type": OPENAPI, "Content": json.dumps(document, indent=2)}),
    ], "-o", "json", "schema", "push", str(path), "--registry", "orders")
    assert result.code == 0, result.stderr
    assert {k: v for k, v in result.json().items() if k not in ("partial", "problems")} == {
        "registry": "orders", "name": name, "action": "updated", "version": "2"}


def test_pull_against_a_server_without_the_schemas_api_is_exit_3(eda: Callable[..., Result]) -> None:
    result = eda("schema", "pull", "discovered-schemas")
    assert_one_line_error(result, 3)
    assert "does not implement the EventBridge schemas API (ListSchemas)" in result.stderr
