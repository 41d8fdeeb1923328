"""core/schemas without AWS: inference (a property test over generated events), formats, OpenAPI and JSON
Schema documents, checking (violations, grouping, AWS-service events against their published schemas),
sizes and reading event files."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eda_cli.core.schemas import (
    EVENTBRIDGE_LIMIT,
    SQS_LIMIT,
    Checker,
    InferredSchema,
    SchemaError,
    check_events,
    infer_schema,
    infer_schemas,
    json_path,
    parse_schema,
    read_events,
    schema_doc,
    size_flags,
    to_openapi,
)

EVENTS = Path(__file__).parent / "events"
SANDBOX = Path(__file__).resolve().parent.parent / "eda_cli" / "sandbox"


def _checker(schema: dict[str, Any], name: str = "s") -> Checker:
    return Checker(schema_doc(schema, name))


# -- inference: the round trip, as a property ------------------------------------------------------

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                     st.floats(allow_nan=False, allow_infinity=False, width=32), st.text(max_size=8),
                     st.sampled_from(["2024-05-14T09:30:00Z", "6f2c1d9e-0b7a-4c55-9a8e-3d2f1c0b9a77",
                                      "ana@example.com"]))
_keys = st.sampled_from(["id", "amount", "customer", "items", "status", "detail-type", "a.b", "x"])
_values = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(_keys, inner, max_size=4)), max_leaves=12)
_events = st.dictionaries(_keys, _values, min_size=1, max_size=5)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(samples=st.lists(_events, min_size=1, max_size=6), enums=st.booleans())
def test_an_inferred_schema_accepts_every_sample_it_came_from(samples: list[dict[str, Any]], enums: bool) -> None:
    schema = infer_schema(samples, enums=enums)
    checker = _checker(schema)
    for sample in samples:
        assert checker.violations(sample) == (), (sample, schema)
    # The OpenAPI 3 form, read back, accepts them too.
    openapi = _checker(to_openapi(InferredSchema(schema, len(samples))))
    for sample in samples:
        assert openapi.violations(sample) == (), (sample, to_openapi(InferredSchema(schema, len(samples))))


@settings(max_examples=60, deadline=None)
@given(learn=st.lists(_events, min_size=1, max_size=4), events=st.lists(_events, min_size=1, max_size=4),
       enums=st.booleans(), closed=st.booleans())
def test_the_fast_test_agrees_with_jsonschema(learn: list[dict[str, Any]], events: list[dict[str, Any]],
                                               enums: bool, closed: bool) -> None:
    schema = infer_schema(learn, enums=enums)
    if closed:
        schema["additionalProperties"] = False
    fast, plain = _checker(schema), Checker(schema_doc(schema, "s"), fast=False)
    assert fast.fast
    for event in [*learn, *events]:
        assert (fast.violations(event) == ()) == plain._validator.is_valid(event), (event, schema)


def test_a_schema_with_other_keywords_has_no_fast_test() -> None:
    assert not _checker({"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}}).fast
    assert not _checker({"type": "object", "properties": {"n": {"anyOf": [{"type": "string"}]}}}).fast
    assert _checker(json.loads((EVENTS / "schemas" / "aws.s3@ObjectCreated.json").read_text())).fast  # $ref resolved
    recursive = {"definitions": {"node": {"type": "object", "properties": {"next": {"$ref": "#/definitions/node"}}}},
                 "$ref": "#/definitions/node"}
    checker = _checker(recursive)
    assert not checker.fast
    assert [v.path for v in checker.violations({"next": {"next": 1}})] == ["$.next.next"]


@settings(max_examples=40, deadline=None)
@given(samples=st.lists(_events, min_size=1, max_size=6))
def test_an_inferred_schema_rejects_a_sample_without_a_required_field(samples: list[dict[str, Any]]) -> None:
    schema = infer_schema(samples)
    required = schema.get("required", [])
    assert sorted(required) == sorted(set.intersection(*(set(s) for s in samples)))
    checker = _checker(schema)
    for name in required:
        broken = {k: v for k, v in samples[0].items() if k != name}
        found = checker.violations(broken)
        assert ("required", json_path([name])) in [(v.rule, v.path) for v in found], found


def test_required_is_what_every_sample_has_at_every_level() -> None:
    schema = infer_schema([
        {"detail": {"customer": {"id": "c-1", "email": "a@example.com"}, "amount": 1}},
        {"detail": {"customer": {"id": "c-2"}, "amount": 2.5, "note": None}},
    ])
    detail = schema["properties"]["detail"]
    assert detail["required"] == ["amount", "customer"]
    assert detail["properties"]["amount"] == {"type": "number"}  # integer and number: number
    assert detail["properties"]["note"] == {"type": "null"}
    assert detail["properties"]["customer"]["required"] == ["id"]
    assert detail["properties"]["customer"]["properties"]["email"] == {"type": "string", "format": "email"}
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"


def test_formats_are_recognised_only_when_every_value_has_one() -> None:
    props = infer_schema([
        {"t": "2024-05-14T09:30:00.123+02:00", "u": "6F2C1D9E-0B7A-4C55-9A8E-3D2F1C0B9A77", "e": "a@b.co",
         "m": "a@b.co"},
        {"t": "2024-05-14T09:31:00Z", "u": "6f2c1d9e-0b7a-4c55-9a8e-3d2f1c0b9a77", "e": "x.y@example.org", "m": "n/a"},
    ])["properties"]
    assert props["t"]["format"] == "date-time"
    assert props["u"]["format"] == "uuid"
    assert props["e"]["format"] == "email"
    assert "format" not in props["m"]
    assert "format" not in infer_schema([{"t": "2024-13-40T09:30:00Z"}])["properties"]["t"]


def test_enums_only_when_asked_and_only_for_repeated_strings() -> None:
    samples = [{"state": s, "id": f"i-{n}", "n": n % 2} for n, s in enumerate(["running", "stopped", "running"])]
    assert "enum" not in infer_schema(samples)["properties"]["state"]
    props = infer_schema(samples, enums=True)["properties"]
    assert props["state"]["enum"] == ["running", "stopped"]
    assert "enum" not in props["id"]  # every value distinct: an id, not an enum
    assert "enum" not in props["n"]  # strings only
    many = [{"s": f"v{n % 12}"} for n in range(30)]
    assert "enum" not in infer_schema(many, enums=True)["properties"]["s"]  # more than 10 values


def test_by_detail_type_one_schema_per_source_and_detail_type() -> None:
    events = [
        {"source": "shop.orders", "detail-type": "order.created", "detail": {"orderId": "o-1", "amount": 1}},
        {"source": "shop.orders", "detail-type": "order.cancelled", "detail": {"orderId": "o-1", "reason": "x"}},
        {"source": "shop.orders", "detail-type": "order.created", "detail": {"orderId": "o-2", "amount": 2}},
    ]
    inferred = infer_schemas(events, by_detail_type=True)
    assert [(i.name, i.samples) for i in inferred] == [("shop.orders@OrderCreated", 2),
                                                         ("shop.orders@OrderCancelled", 1)]
    assert inferred[0].schema["properties"]["detail"]["required"] == ["amount", "orderId"]
    openapi = to_openapi(inferred[0])
    components = openapi["components"]["schemas"]
    assert set(components) == {"AWSEvent", "OrderCreated"}
    assert components["AWSEvent"]["x-amazon-events-detail-type"] == "order.created"
    assert components["AWSEvent"]["properties"]["detail"] == {"$ref": "#/components/schemas/OrderCreated"}
    [single] = infer_schemas(events)
    assert single.name == "events" and single.samples == 3


def test_openapi_nullable_and_mixed_types_round_trip() -> None:
    schema = infer_schema([{"a": None, "b": 1}, {"a": "x", "b": "one"}])
    openapi = to_openapi(InferredSchema(schema, 2))
    a = openapi["components"]["schemas"]["Event"]["properties"]["a"]
    assert a == {"type": "string", "nullable": True}
    checker = _checker(openapi)
    assert checker.violations({"a": None, "b": 2}) == ()
    assert [v.path for v in checker.violations({"a": 3, "b": 2})] == ["$.a"]


# -- checking ------------------------------------------------------------------------------------


def test_violations_name_the_path_what_the_schema_says_and_what_the_event_has() -> None:
    checker = Checker(parse_schema((SANDBOX / "schemas" / "order-created.json").read_text(), "order-created"))
    event = json.loads((SANDBOX / "events" / "order-created-eu.json").read_text())
    assert checker.violations(event) == ()
    broken = copy.deepcopy(event)
    del broken["detail"]["customerId"]
    broken["detail"]["amount"] = "12,50"
    broken["detail"]["items"][0]["qty"] = "2"
    broken["detail"]["currency"] = "GBP"
    broken["time"] = "yesterday"
    found = {v.path: (v.rule, v.expected, v.actual) for v in checker.violations(broken)}
    assert found == {
        "$.detail.customerId": ("required", "required", "missing"),
        "$.detail.amount": ("type", "type number", 'string "12,50"'),
        "$.detail.items[0].qty": ("type", "type integer", 'string "2"'),
        "$.detail.currency": ("enum", 'one of ["EUR", "USD"]', 'string "GBP"'),
        "$.time": ("format", "format date-time", 'string "yesterday"'),
    }


def test_additional_properties_closed_names_each_extra_field() -> None:
    checker = _checker({"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False})
    assert [(v.path, v.rule) for v in checker.violations({"a": "x", "b": 1, "c.d": 2})] == [
        ("$.b", "additionalProperties"), ('$["c.d"]', "additionalProperties")]


def test_the_summary_groups_events_by_violation_with_array_indices_folded() -> None:
    checker = _checker(infer_schema([{"id": "a", "items": [{"sku": "s", "qty": 1}]}]))
    samples = [
        ("line 1", {"id": "a", "items": [{"sku": "s", "qty": 1}]}, 10, None),
        ("line 2", {"items": [{"sku": "s", "qty": "1"}, {"sku": "t", "qty": "2"}]}, 10, None),
        ("line 3", {"items": []}, 10, None),
        ("line 4", None, 8, "Expecting value"),
    ]
    result = check_events(checker, samples)
    assert result.invalid == 3
    groups = {(g.path, g.rule): g.refs for g in result.groups}
    assert groups == {("$.id", "required"): ("line 2", "line 3"),
                      ("$.items[*].qty", "type"): ("line 2",),
                      ("$", "json"): ("line 4",)}
    assert result.groups[0].path == "$.id"  # most events first
    body = result.to_dict()
    assert body["events"] == 4 and body["valid"] == 1
    assert [r["ref"] for r in body["results"]] == ["line 2", "line 3", "line 4"]


def test_an_invalid_schema_is_a_usage_error() -> None:
    with pytest.raises(SchemaError, match="not a valid JSON Schema"):
        _checker({"type": "objekt"})
    with pytest.raises(SchemaError, match="not JSON"):
        parse_schema("{", "bad.json")
    with pytest.raises(SchemaError, match="components"):
        parse_schema(json.dumps({"openapi": "3.0.0", "info": {}}), "empty.json")


@pytest.mark.parametrize(("event", "schema"), [
    ("ec2-instance-state-change.json", "aws.ec2@EC2InstanceStateChangeNotification.json"),
    ("s3-object-created.json", "aws.s3@ObjectCreated.json"),
])
def test_aws_service_events_match_their_published_schemas(event: str, schema: str) -> None:
    checker = Checker(parse_schema((EVENTS / "schemas" / schema).read_text(), schema))
    document = json.loads((EVENTS / event).read_text())
    assert checker.violations(document) == ()
    # Every field the published schema requires, the event has: a schema inferred from it requires them too.
    inferred = _checker(infer_schema([document]))
    assert inferred.violations(document) == ()
    assert [v.path for v in inferred.violations({**document, "detail": {}})] == [
        f"$.detail.{name}" for name in sorted(document["detail"])]


def test_an_ec2_event_with_an_unknown_state_or_without_its_instance_is_named() -> None:
    checker = Checker(parse_schema((EVENTS / "schemas" / "aws.ec2@EC2InstanceStateChangeNotification.json")
                                   .read_text(), "ec2"))
    event = json.loads((EVENTS / "ec2-instance-state-change.json").read_text())
    event["detail"]["state"] = "hibernating"
    del event["detail"]["instance-id"]
    assert [(v.path, v.rule) for v in checker.violations(event)] == [
        ("$.detail.instance-id", "required"), ("$.detail.state", "enum")]


def test_an_s3_event_whose_object_lost_its_key_is_named() -> None:
    checker = Checker(parse_schema((EVENTS / "schemas" / "aws.s3@ObjectCreated.json").read_text(), "s3"))
    event = json.loads((EVENTS / "s3-object-created.json").read_text())
    del event["detail"]["object"]["key"]
    event["detail"]["object"]["size"] = "5"
    assert [(v.path, v.rule) for v in checker.violations(event)] == [
        ("$.detail.object.key", "required"), ("$.detail.object.size", "type")]


# -- sizes ---------------------------------------------------------------------------------------


def test_size_flags_over_and_near_the_limits() -> None:
    assert size_flags(1000) == ()
    assert size_flags(int(EVENTBRIDGE_LIMIT * 0.9) - 1) == ()
    [near] = size_flags(int(EVENTBRIDGE_LIMIT * 0.95))
    assert (near.service, near.over) == ("EventBridge", False)
    assert "within 10% of EventBridge's 256 KB limit" in near.text
    [over] = size_flags(EVENTBRIDGE_LIMIT + 1)
    assert over.over and "over EventBridge's 256 KB limit" in over.text
    both = size_flags(SQS_LIMIT + 1)
    assert [(f.service, f.over) for f in both] == [("EventBridge", True), ("SQS", True)]
    assert "SQS's 1 MiB limit" in both[1].text


def test_check_flags_a_large_event() -> None:
    checker = _checker({"type": "object"})
    big = {"blob": "x" * (EVENTBRIDGE_LIMIT + 10)}
    text = json.dumps(big)
    [(ref, event, size, error)] = read_events(text)
    result = check_events(checker, [(ref, event, size, error)])
    assert result.invalid == 0
    assert [c.ref for c in result.flagged] == ["line 1"]
    assert result.flagged[0].size_flags[0].over


# -- reading events ------------------------------------------------------------------------------


def test_read_events_takes_jsonl_an_array_one_document_and_archives() -> None:
    assert [(r, e) for r, e, _, _ in read_events('{"a":1}\n\n{"a":2}\n')] == [("line 1", {"a": 1}),
                                                                         ("line 3", {"a": 2})]
    assert [(r, e) for r, e, _, _ in read_events('[{"a":1}, {"a":2}]')] == [("item 1", {"a": 1}), ("item 2", {"a": 2})]
    assert [(r, e) for r, e, _, _ in read_events('{\n  "a": 1\n}\n')] == [("document", {"a": 1})]
    archive = json.dumps({"message_id": "m-1", "body": json.dumps({"a": 3}), "attributes": {}})
    assert [e for _, e, _, _ in read_events(archive)] == [{"a": 3}]
    [(ref, event, size, error)] = read_events("not json\n")
    assert (ref, event, size) == ("line 1", None, 8) and error
    assert read_events("  \n") == []
