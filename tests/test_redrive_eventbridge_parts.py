"""The pure parts of redriving an EventBridge target DLQ: reading its attributes and ARNs, rebuilding a
target's input, and the entries eda builds. (End to end: tests/test_redrive_eventbridge.py.)"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from eda_cli.core.archive import OutgoingMessage
from eda_cli.core.redrive.destinations import PayloadError, event_entry, execution_name
from eda_cli.core.redrive.eventbridge import (
    compile_path,
    eventbridge_origin,
    input_of,
    parse_rule_arn,
    select,
    target_kind,
    target_name,
)
from tests.fixtures.eventbridge_dlq import body_of, event

RULE = "arn:aws:events:us-east-1:123456789012:rule/shop/orders"


def test_origin_needs_both_arns_as_strings() -> None:
    both = {"RULE_ARN": {"DataType": "String", "StringValue": RULE},
            "TARGET_ARN": {"DataType": "String", "StringValue": "arn:aws:sqs:us-east-1:123456789012:q"}}
    assert eventbridge_origin(both) == (RULE, "arn:aws:sqs:us-east-1:123456789012:q")
    assert eventbridge_origin({"RULE_ARN": both["RULE_ARN"]}) is None
    assert eventbridge_origin({**both, "TARGET_ARN": {"DataType": "String", "StringValue": ""}}) is None
    assert eventbridge_origin({}) is None


def test_rule_arns_on_the_default_and_a_custom_bus() -> None:
    custom = parse_rule_arn(RULE)
    assert custom is not None and (custom.bus, custom.name, custom.account) == ("shop", "orders", "123456789012")
    assert custom.bus_arn == "arn:aws:events:us-east-1:123456789012:event-bus/shop"
    default = parse_rule_arn("arn:aws:events:eu-west-1:1:rule/nightly")
    assert default is not None and (default.bus, default.name) == ("default", "nightly")
    for bad in ("arn:aws:sqs:us-east-1:1:rule/x", "arn:aws:events:us-east-1:1:event-bus/x",
                "arn:aws:events:us-east-1:1:rule/", "arn:aws:events:us-east-1:1:rule/a/b/c", "nonsense"):
        assert parse_rule_arn(bad) is None, bad


@pytest.mark.parametrize(("arn", "kind", "name"), [
    ("arn:aws:sqs:us-east-1:1:billing.fifo", "sqs", "billing.fifo"),
    ("arn:aws:sns:us-east-1:1:alerts", "sns", "alerts"),
    ("arn:aws:lambda:us-east-1:1:function:ship", "lambda", "ship"),
    ("arn:aws:lambda:us-east-1:1:function:ship:live", "lambda", "ship:live"),
    ("arn:aws:states:us-east-1:1:stateMachine:fulfil", "stepfunctions", "fulfil"),
    ("arn:aws:events:us-east-1:1:event-bus/audit", "eventbus", "audit"),
    ("arn:aws:events:us-east-1:1:api-destination/crm/0f1e", "api-destination", "crm/0f1e"),
    ("arn:aws:kinesis:us-east-1:1:stream/clicks", "kinesis", "clicks"),
    ("arn:aws:firehose:us-east-1:1:deliverystream/archive", "firehose", "archive"),
    ("arn:aws:logs:us-east-1:1:log-group:/aws/events/x", "logs", "/aws/events/x"),
    ("arn:aws:ecs:us-east-1:1:cluster/web", "ecs", "web"),
])
def test_target_kinds_and_names(arn: str, kind: str, name: str) -> None:
    assert (target_kind(arn), target_name(arn)) == (kind, name)


def test_simple_json_paths_only() -> None:
    assert compile_path("$") == []
    assert compile_path("$.detail.items[0]['sku']") == ["detail", "items", 0, "sku"]
    assert compile_path('$["detail-type"]') == ["detail-type"]
    for unsupported in ("$..id", "$.items[*]", "detail", "$.a[?(@.x)]"):
        assert compile_path(unsupported) is None, unsupported
    ev = event(1)
    assert select(ev, ["detail", "orderId"]) == "o-001"
    with pytest.raises(PayloadError):
        select(ev, ["detail", "missing"])


def test_input_of_a_target() -> None:
    body = body_of(event(2))
    constant, note = input_of({"Input": '{"k": 1}'})
    assert constant is not None and constant(body) == '{"k": 1}' and note is None
    by_path, note = input_of({"InputPath": "$.detail"})
    assert by_path is not None and json.loads(by_path(body)) == event(2)["detail"] and note is None
    with pytest.raises(PayloadError):
        by_path("not json")
    as_is, note = input_of({"InputTransformer": {"InputTemplate": "<x>"}})
    assert as_is is None and note is not None and "InputTransformer" in note
    assert input_of({"InputPath": "$..x"})[0] is None
    assert input_of({}) == (None, None)


def test_a_put_events_entry_from_an_event() -> None:
    ev = {**event(3), "resources": ["arn:aws:s3:::b"]}
    entry = event_entry(body_of(ev), "arn:aws:events:us-east-1:1:event-bus/shop")
    detail = json.dumps(ev["detail"], separators=(",", ":"))
    assert entry == {"Source": "shop", "DetailType": "OrderPlaced", "Detail": detail,
                     "EventBusName": "arn:aws:events:us-east-1:1:event-bus/shop", "Resources": ["arn:aws:s3:::b"],
                     "Time": datetime(2026, 12, 1, 10, 0, 3, tzinfo=timezone.utc)}
    for body in ("not json", "[1]", '{"detail": {}}'):
        with pytest.raises(PayloadError):
            event_entry(body, "bus")


def test_execution_names_are_valid_and_stable_within_a_run() -> None:
    name = execution_name("run-1", "m-1")
    assert len(name) <= 80 and name == execution_name("run-1", "m-1") != execution_name("run-2", "m-1")
    assert all(c.isalnum() or c in "-_" for c in name)


def test_payloads_carry_no_dlq_attributes() -> None:
    from eda_cli.core.redrive.eventbridge import _as_delivered

    message = OutgoingMessage("m", body_of(event(4)), {"RULE_ARN": {"DataType": "String", "StringValue": RULE}},
                              trace_header="Root=1-abc")
    delivered = _as_delivered(None, "g")(message)
    assert (delivered.body, delivered.message_attributes, delivered.group_id, delivered.trace_header) == (
        message.body, {}, "g", "Root=1-abc")
