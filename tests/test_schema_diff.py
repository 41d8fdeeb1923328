"""`schema diff`: each breaking and compatible change, as a table of (old, new, expected changes), then the
command's exit codes and its SARIF."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eda_cli.core.schemas import InferredSchema, diff_schemas, schema_doc, to_openapi
from tests.fixtures.cli import Result

BASE: dict[str, Any] = {
    "type": "object",
    "required": ["id", "detail"],
    "properties": {
        "id": {"type": "string"},
        "detail": {
            "type": "object",
            "required": ["customerId", "amount", "status"],
            "properties": {
                "customerId": {"type": "string"},
                "amount": {"type": "number"},
                "count": {"type": "integer"},
                "status": {"type": "string", "enum": ["NEW", "PAID"]},
                "note": {"type": "string"},
                "createdAt": {"type": "string", "format": "date-time"},
                "items": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"}}}},
            },
        },
    },
}


def _with(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    schema = json.loads(json.dumps(BASE))
    change(schema)
    return schema


def _detail(schema: dict[str, Any]) -> dict[str, Any]:
    return schema["properties"]["detail"]  # type: ignore[no-any-return]


def _rename(schema: dict[str, Any]) -> None:
    detail = _detail(schema)
    detail["properties"]["clientId"] = detail["properties"].pop("customerId")
    detail["required"] = ["clientId", "amount", "status"]


#: (what changed, the new schema, the expected (kind, path, breaking) changes)
CASES: list[tuple[str, dict[str, Any], list[tuple[str, str, bool]]]] = [
    ("nothing", _with(lambda s: None), []),
    ("required field added", _with(lambda s: (_detail(s)["properties"].update(region={"type": "string"}),
                                              _detail(s)["required"].append("region"))),
     [("required-field-added", "$.detail.region", True)]),
    ("optional field added", _with(lambda s: _detail(s)["properties"].update(region={"type": "string"})),
     [("optional-field-added", "$.detail.region", False)]),
    ("field removed", _with(lambda s: _detail(s)["properties"].pop("note")),
     [("field-removed", "$.detail.note", True)]),
    ("field renamed", _with(_rename), [("field-renamed", "$.detail.customerId", True)]),
    ("field made required", _with(lambda s: _detail(s)["required"].append("note")),
     [("field-made-required", "$.detail.note", True)]),
    ("field made optional", _with(lambda s: _detail(s)["required"].remove("amount")),
     [("field-made-optional", "$.detail.amount", True)]),
    ("type narrowed", _with(lambda s: _detail(s)["properties"]["amount"].update(type="integer")),
     [("type-narrowed", "$.detail.amount", True)]),
    ("type widened", _with(lambda s: _detail(s)["properties"]["count"].update(type="number")),
     [("type-widened", "$.detail.count", False)]),
    ("type made nullable", _with(lambda s: _detail(s)["properties"]["note"].update(type=["string", "null"])),
     [("type-widened", "$.detail.note", False)]),
    ("type changed", _with(lambda s: _detail(s)["properties"]["customerId"].update(type="integer")),
     [("type-changed", "$.detail.customerId", True)]),
    ("enum value removed", _with(lambda s: _detail(s)["properties"]["status"].update(enum=["NEW"])),
     [("enum-value-removed", "$.detail.status", True)]),
    ("enum value added", _with(lambda s: _detail(s)["properties"]["status"].update(enum=["NEW", "PAID", "SHIPPED"])),
     [("enum-value-added", "$.detail.status", False)]),
    ("enum added", _with(lambda s: _detail(s)["properties"]["note"].update(enum=["a", "b"])),
     [("enum-added", "$.detail.note", True)]),
    ("enum dropped", _with(lambda s: _detail(s)["properties"]["status"].pop("enum")),
     [("enum-removed", "$.detail.status", False)]),
    ("format added", _with(lambda s: _detail(s)["properties"]["note"].update(format="email")),
     [("format-added", "$.detail.note", True)]),
    ("format dropped", _with(lambda s: _detail(s)["properties"]["createdAt"].pop("format")),
     [("format-removed", "$.detail.createdAt", False)]),
    ("additionalProperties closed", _with(lambda s: _detail(s).update(additionalProperties=False)),
     [("additional-properties-closed", "$.detail", True)]),
    ("inside array items", _with(lambda s: _detail(s)["properties"]["items"]["items"]["properties"].update(
        sku={"type": "integer"})), [("type-changed", "$.detail.items[*].sku", True)]),
]


@pytest.mark.parametrize(("new", "expected"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_each_change_and_its_verdict(new: dict[str, Any], expected: list[tuple[str, str, bool]]) -> None:
    result = diff_schemas(schema_doc(BASE, "old"), schema_doc(new, "new"))
    assert [(c.kind, c.path, c.breaking) for c in result.changes] == expected
    # The reverse of a change is its opposite: never breaking both ways, except a type that changed
    # outright, a rename (seen backwards, a rename too), required <-> optional, and a required field
    # added (seen backwards, removed): breaking for someone either way.
    back = diff_schemas(schema_doc(new, "new"), schema_doc(BASE, "old"))
    if expected and expected[0][0] not in ("type-changed", "field-renamed", "field-made-required",
                                           "field-made-optional", "required-field-added", "field-removed"):
        assert bool(back.breaking) != bool(result.breaking), back.changes


def test_additional_properties_opened_is_compatible() -> None:
    closed = _with(lambda s: s.update(additionalProperties=False))
    result = diff_schemas(schema_doc(closed, "old"), schema_doc(BASE, "new"))
    assert [(c.kind, c.breaking) for c in result.changes] == [("additional-properties-opened", False)]


def test_openapi_and_json_schema_of_the_same_event_do_not_differ() -> None:
    openapi = to_openapi(InferredSchema(json.loads(json.dumps(BASE)), 1, "shop.orders", "order.created"))
    assert diff_schemas(schema_doc(BASE, "json"), schema_doc(openapi, "openapi")).changes == ()


# -- the command ---------------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path) -> Callable[[dict[str, Any]], str]:
    def write(schema: dict[str, Any]) -> str:
        path = tmp_path / f"schema-{len(list(tmp_path.iterdir()))}.json"
        path.write_text(json.dumps(schema))
        return str(path)
    return write


def test_diff_exits_1_on_a_breaking_change_and_0_on_a_compatible_one(
        cli: Callable[..., Result], files: Callable[[dict[str, Any]], str]) -> None:
    old = files(BASE)
    breaking = cli("--no-color", "schema", "diff", old, files(_with(lambda s: _detail(s)["properties"].pop("note"))))
    assert breaking.code == 1, breaking.stderr
    assert "BREAKING" in breaking.stdout and "$.detail.note" in breaking.stdout
    added = files(_with(lambda s: _detail(s)["properties"].update(x={"type": "string"})))
    compatible = cli("schema", "diff", old, added, "--format", "json")
    assert compatible.code == 0, compatible.stderr
    body = compatible.json()
    assert body["breaking"] == 0 and [c["kind"] for c in body["changes"]] == ["optional-field-added"]
    assert body["partial"] is False


def test_diff_sarif_is_one_result_per_change(cli: Callable[..., Result],
                                             files: Callable[[dict[str, Any]], str]) -> None:
    new = files(_with(lambda s: (_rename(s), _detail(s)["properties"]["status"].update(enum=["NEW", "PAID", "X"]))))
    result = cli("schema", "diff", files(BASE), new, "--format", "sarif")
    assert result.code == 1, result.stderr
    sarif = json.loads(result.stdout)
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    assert run["tool"]["driver"]["name"] == "eda"
    assert [(r["ruleId"], r["level"]) for r in run["results"]] == [("field-renamed", "error"),
                                                                   ("enum-value-added", "note")]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert all(rules[r["ruleIndex"]] == r["ruleId"] for r in run["results"])
    assert run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == new
    assert run["results"][0]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "$.detail.customerId"


def test_diff_of_a_file_that_is_not_a_schema_is_exit_2(cli: Callable[..., Result], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = cli("schema", "diff", str(bad), str(bad))
    assert result.code == 2 and "is not JSON" in result.stderr and "Traceback" not in result.stderr
    missing = cli("schema", "diff", str(tmp_path / "nope.json"), str(bad))
    assert missing.code == 2 and "cannot read" in missing.stderr
