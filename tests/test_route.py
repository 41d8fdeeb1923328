"""`eda route test` end to end against a moto server over HTTP (eda's engine, never moto's matcher)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eda_cli.core.patterns import MISSING, Reason
from eda_cli.core.routing import explain_lines, rule_targets, to_envelope, topic_subscriptions
from eda_cli.sandbox.demo_pipeline import BUS, RULES
from tests.backends import Backend
from tests.fixtures.cli import Result, assert_one_line_error

EVENTS = Path(__file__).resolve().parent.parent / "eda_cli" / "sandbox" / "events"


def queue_arn(sqs: Any, name: str) -> str:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def seed_bus(boto: Callable[[str], Any]) -> None:
    """The seed's bus: high-value-orders, eu-orders and cancelled-orders, each with an SQS target."""
    events, sqs = boto("events"), boto("sqs")
    events.create_event_bus(Name=BUS)
    for rule in RULES:
        events.put_rule(Name=rule.name, EventBusName=BUS, EventPattern=json.dumps(rule.pattern), State="ENABLED")
        events.put_targets(Rule=rule.name, EventBusName=BUS,
                           Targets=[{"Id": "q", "Arn": queue_arn(sqs, rule.queue)}])


def order(amount: Any = 250, region: str = "EU", detail_type: str = "order.created") -> dict[str, Any]:
    return {
        "version": "0", "id": "e-1", "detail-type": detail_type, "source": "shop.orders",
        "account": "123456789012", "time": "2024-05-14T09:30:00Z", "region": "us-east-1", "resources": [],
        "detail": {"orderId": "o-1", "amount": amount, "region": region, "items": [{"sku": "SKU-1", "qty": 2}]},
    }


def write(tmp_path: Path, data: Any, name: str = "event.json") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


# -- a bus -----------------------------------------------------------------------------------------


def test_bus_matches_one_rule_and_explains_the_misses(
    eda: Callable[..., Result], boto: Any, tmp_path: Path, account: str
) -> None:
    seed_bus(boto)
    event = write(tmp_path, order())
    result = eda("--output", "json", "route", "test", event, "--bus", BUS)
    assert result.code == 0, result.stderr
    body = result.json()
    assert body["event"] == order()
    assert body["matched"] == [
        {"name": "eu-orders", "targets": [f"arn:aws:sqs:us-east-1:{account}:eu-fulfilment"]}
    ]
    missed = {m["name"]: m["reasons"] for m in body["missed"]}
    assert missed == {
        "high-value-orders": [{"path": "detail.amount", "operator": "numeric",
                               "expected": [{"numeric": [">", 1000]}], "actual": 250}],
        "cancelled-orders": [{"path": "detail-type", "operator": "equals",
                              "expected": ["order.cancelled"], "actual": "order.created"}],
    }

    human = eda("route", "test", event, "--bus", BUS)
    assert human.code == 0, human.stderr
    assert "1 of 3 rules on bus orders-bus matched the event (order.created from shop.orders)" in human.stdout
    assert "matched  eu-orders" in human.stdout
    assert f"-> arn:aws:sqs:us-east-1:{account}:eu-fulfilment" in human.stdout
    assert 'detail.amount: numeric [">", 1000] expected, got 250' in human.stdout
    assert 'detail-type: "order.cancelled" expected, got "order.created"' in human.stdout


def test_no_rule_matches_exits_1(eda: Callable[..., Result], boto: Any, tmp_path: Path) -> None:
    seed_bus(boto)
    result = eda("--output", "json", "route", "test", write(tmp_path, order(region="US")), "--bus", BUS)
    assert result.code == 1, result.stderr
    assert result.json()["matched"] == []
    reasons = {m["name"]: m["reasons"] for m in result.json()["missed"]}
    assert reasons["eu-orders"] == [{"path": "detail.region", "operator": "equals", "expected": ["EU"],
                                     "actual": "US"}]


def test_two_rules_match_a_big_eu_order(eda: Callable[..., Result], boto: Any, tmp_path: Path) -> None:
    seed_bus(boto)
    result = eda("--output", "json", "route", "test", write(tmp_path, order(amount=1499.99)), "--bus", BUS)
    assert result.code == 0
    assert [m["name"] for m in result.json()["matched"]] == ["high-value-orders", "eu-orders"]


def test_one_rule(eda: Callable[..., Result], boto: Any, tmp_path: Path) -> None:
    seed_bus(boto)
    event = write(tmp_path, order())
    result = eda("--output", "json", "route", "test", event, "--bus", BUS, "--rule", "high-value-orders")
    assert result.code == 1
    body = result.json()
    assert body["matched"] == [] and [m["name"] for m in body["missed"]] == ["high-value-orders"]
    hit = eda("--output", "json", "route", "test", event, "--bus", BUS, "--rule", "eu-orders")
    assert hit.code == 0 and hit.json()["matched"][0]["name"] == "eu-orders"


def test_rule_on_the_default_bus(eda: Callable[..., Result], boto: Any, tmp_path: Path) -> None:
    boto("events").put_rule(Name="any-order", EventPattern=json.dumps({"source": ["shop.orders"]}))
    result = eda("--output", "json", "route", "test", write(tmp_path, order()), "--rule", "any-order")
    assert result.code == 0, result.stderr
    assert result.json()["matched"] == [{"name": "any-order", "targets": []}]


def test_disabled_and_scheduled_rules(eda: Callable[..., Result], boto: Any, tmp_path: Path) -> None:
    events = boto("events")  # schedules live only on the default bus
    events.put_rule(Name="off", EventPattern=json.dumps({"source": ["shop.orders"]}), State="DISABLED")
    events.put_rule(Name="nightly", ScheduleExpression="rate(1 day)")
    result = eda("--output", "json", "route", "test", write(tmp_path, order()), "--bus", "default")
    assert result.code == 0, result.stderr
    assert result.json()["matched"] == [
        {"name": "off", "targets": [], "note": "the rule is DISABLED: its pattern matches, but it delivers nothing"}
    ]
    assert "skipped 1 scheduled rule(s) without an event pattern: nightly" in result.stderr
    scheduled = eda("route", "test", write(tmp_path, order()), "--rule", "nightly")
    assert_one_line_error(scheduled, 2)
    assert "pass --bus to test every rule of the bus" in scheduled.stderr  # core's hint, in the command's options
    missing = eda("route", "test", write(tmp_path, order()), "--rule", "nope")
    assert_one_line_error(missing, 3)
    assert "rule 'nope' does not exist on event bus 'default'" in missing.stderr
    assert "--event-bus-name default`; check --bus" in missing.stderr


def test_list_rules_is_followed_past_one_page(eda: Callable[..., Result], boto: Any, tmp_path: Path,
                                             backend: Backend) -> None:
    """120 rules: more than one ListRules page (moto pages by 50, AWS by up to 100; LocalStack answers all at once)."""
    events = boto("events")
    events.create_event_bus(Name="big")
    for i in range(120):
        events.put_rule(Name=f"r{i:03d}", EventBusName="big",
                        EventPattern=json.dumps({"detail": {"n": [i]}}))
    if backend.name == "moto":
        assert "NextToken" in events.list_rules(EventBusName="big")  # the server really pages
    result = eda("--output", "json", "route", "test", write(tmp_path, {"n": 119}), "--bus", "big")
    assert result.code == 0, result.stderr
    body = result.json()
    assert [m["name"] for m in body["matched"]] == ["r119"]
    assert len(body["missed"]) == 119


def test_rule_targets_are_followed_past_one_page(boto: Any) -> None:
    events, sqs = boto("events"), boto("sqs")
    events.put_rule(Name="fan", EventPattern=json.dumps({"source": ["x"]}))
    arns = [queue_arn(sqs, f"t{i}") for i in range(5)]
    events.put_targets(Rule="fan", Targets=[{"Id": str(i), "Arn": arn} for i, arn in enumerate(arns)])
    assert rule_targets(events, "fan", "default", page_size=2) == tuple(arns)


def test_unknown_bus_and_rule_exit_3(eda: Callable[..., Result], boto: Any, tmp_path: Path) -> None:
    event = write(tmp_path, order())
    result = eda("route", "test", event, "--bus", "nope")
    assert_one_line_error(result, 3)
    assert "event bus 'nope' does not exist" in result.stderr and "region us-east-1" in result.stderr
    assert_one_line_error(eda("route", "test", event, "--rule", "nope"), 3)


# -- the event -------------------------------------------------------------------------------------


def test_bare_detail_is_wrapped(eda: Callable[..., Result], boto: Any, tmp_path: Path, account: str) -> None:
    seed_bus(boto)
    detail = write(tmp_path, {"orderId": "o-9", "amount": 5000, "region": "US"})
    result = eda("--output", "json", "route", "test", detail, "--bus", BUS,
                 "--source", "shop.orders", "--detail-type", "order.created")
    assert result.code == 0, result.stderr
    event = result.json()["event"]
    assert list(event) == ["version", "id", "detail-type", "source", "account", "time", "region",
                           "resources", "detail"]
    assert event["detail"] == {"orderId": "o-9", "amount": 5000, "region": "US"}
    assert (event["source"], event["detail-type"]) == ("shop.orders", "order.created")
    assert (event["account"], event["region"], event["resources"]) == (account, "us-east-1", [])
    assert [m["name"] for m in result.json()["matched"]] == ["high-value-orders"]
    assert "wrapped the event as detail" in result.stderr

    plain = eda("--output", "json", "route", "test", detail, "--bus", BUS)
    assert plain.code == 1
    assert plain.json()["event"]["source"] == "eda.route-test"


def test_envelope_completion_is_deterministic() -> None:
    envelope, wrapped = to_envelope({"a": 1}, region="eu-west-1", account="111122223333",
                                    clock=lambda: 0.0, new_id=lambda: "id-1")
    assert wrapped
    assert envelope == {"version": "0", "id": "id-1", "detail-type": "eda route test", "source": "eda.route-test",
                        "account": "111122223333", "time": "1970-01-01T00:00:00Z", "region": "eu-west-1",
                        "resources": [], "detail": {"a": 1}}
    entry = {"Source": "shop", "DetailType": "t", "Detail": '{"x": 1}', "Resources": ["arn:r"]}
    from_entry, wrapped = to_envelope(entry, clock=lambda: 0.0, new_id=lambda: "id-2")
    assert not wrapped
    assert (from_entry["source"], from_entry["detail-type"], from_entry["detail"], from_entry["resources"]) == (
        "shop", "t", {"x": 1}, ["arn:r"])
    full, wrapped = to_envelope(order(), clock=lambda: 0.0)
    assert not wrapped and full == order()


def test_event_from_stdin(eda: Callable[..., Result], boto: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    seed_bus(boto)
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(order(detail_type="order.cancelled"))))
    result = eda("--output", "json", "route", "test", "-", "--bus", BUS)
    assert result.code == 0, result.stderr
    assert [m["name"] for m in result.json()["matched"]] == ["cancelled-orders"]


@pytest.mark.parametrize("text", ['{"detail": ', "", "[1, 2]", '"just a string"'])
def test_invalid_event_exits_2(eda: Callable[..., Result], tmp_path: Path, text: str) -> None:
    result = eda("route", "test", write(tmp_path, text), "--pattern", '{"source": ["x"]}')
    assert_one_line_error(result, 2)
    assert "the event in" in result.stderr


def test_missing_event_file_exits_2(eda: Callable[..., Result], tmp_path: Path) -> None:
    assert_one_line_error(eda("route", "test", str(tmp_path / "nope.json"), "--pattern", "{}"), 2)


# -- patterns --------------------------------------------------------------------------------------


def test_patterns_inline_and_from_a_file(eda: Callable[..., Result], tmp_path: Path) -> None:
    event = write(tmp_path, order())
    rule_file = write(tmp_path, {"detail": {"items": {"sku": ["SKU-1"], "qty": [3]}}}, "rule.json")
    result = eda("--output", "json", "route", "test", event,
                 "--pattern", '{"detail": {"region": [{"prefix": "E"}]}}', "--pattern", f"@{rule_file}")
    assert result.code == 0, result.stderr
    body = result.json()
    assert body["matched"] == [{"name": "pattern 1", "targets": []}]
    assert body["missed"] == [{"name": "pattern 2", "reasons": [
        {"path": "detail.items[0].qty", "operator": "equals", "expected": [3], "actual": 2}]}]
    human = eda("route", "test", event, "--pattern", f"@{rule_file}")
    assert human.code == 1
    assert "detail.items[0].qty: 3 expected, got 2" in human.stdout


def test_or_miss_is_explained_per_alternative(eda: Callable[..., Result], tmp_path: Path) -> None:
    pattern = {"$or": [{"detail": {"amount": [{"numeric": [">", 1000]}]}}, {"detail": {"vip": [True]}}]}
    result = eda("route", "test", write(tmp_path, order()), "--pattern", json.dumps(pattern))
    assert result.code == 1
    assert "$or: none of the 2 alternatives matched" in result.stdout
    assert 'detail.amount: numeric [">", 1000] expected, got 250' in result.stdout
    assert "detail.vip: true expected, field is missing" in result.stdout


@pytest.mark.parametrize(
    ("pattern", "path"),
    [
        ('{"detail": {"amount": [{"numeric": [">", 10, "<", 5]}]}}', "detail.amount[0].numeric"),
        ('{"detail": {"amount": [{"bigger": 5}]}}', "detail.amount[0]"),
        ('{"detail": {"amount": 5}}', "detail.amount"),
        ('{"detail": {"sku": [{"wildcard": "SKU-**"}]}}', "detail.sku[0].wildcard"),
        ('{"detail": ', ""),
    ],
)
def test_invalid_pattern_exits_2_naming_the_path(
    eda: Callable[..., Result], tmp_path: Path, pattern: str, path: str
) -> None:
    result = eda("route", "test", write(tmp_path, order()), "--pattern", '{"source": ["x"]}', "--pattern", pattern)
    assert_one_line_error(result, 2)
    line = result.stderr.splitlines()[0]
    assert line.startswith("eda: error: pattern 2: invalid pattern")
    assert f"at {path}:" in line if path else "invalid JSON" in line


def test_invalid_pattern_is_reported_before_any_aws_call(eda: Callable[..., Result], tmp_path: Path) -> None:
    result = eda("route", "test", write(tmp_path, order()), "--bus", "nope", "--pattern", '{"a": 1}')
    assert_one_line_error(result, 2)


def test_lambda_dialect(eda: Callable[..., Result], tmp_path: Path) -> None:
    record = {"messageId": "m-1", "body": json.dumps({"orderId": "o-1", "amount": 42}), "eventSource": "aws:sqs"}
    criteria = {"Filters": [{"Pattern": json.dumps({"body": {"amount": [{"numeric": [">", 100]}]}})},
                            {"Pattern": json.dumps({"body": {"orderId": [{"prefix": "o-"}]}})}]}
    event = write(tmp_path, record)
    result = eda("--output", "json", "route", "test", event, "--dialect", "lambda", "--pattern", json.dumps(criteria))
    assert result.code == 0, result.stderr
    assert result.json()["event"] == record  # a Lambda record is not wrapped in an EventBridge envelope
    wildcard = eda("route", "test", event, "--dialect", "lambda", "--pattern",
                   '{"body": {"orderId": [{"wildcard": "o-*"}]}}')
    assert_one_line_error(wildcard, 2)


def test_conflicting_options_exit_2(eda: Callable[..., Result], tmp_path: Path) -> None:
    event = write(tmp_path, order())
    assert_one_line_error(eda("route", "test", event), 2)
    assert_one_line_error(eda("route", "test", event, "--bus", "b", "--topic", "t"), 2)
    assert_one_line_error(eda("route", "test", event, "--bus", "b", "--dialect", "sns"), 2)
    assert_one_line_error(eda("route", "test", event, "--topic", "t", "--dialect", "lambda"), 2)


# -- a topic ---------------------------------------------------------------------------------------


def seed_topic(boto: Callable[[str], Any]) -> str:
    sns, sqs = boto("sns"), boto("sqs")
    topic = str(sns.create_topic(Name="orders")["TopicArn"])
    subscriptions = {
        "eu-only": {"FilterPolicy": json.dumps({"region": ["EU"]})},  # MessageAttributes (the default)
        "big-orders": {"FilterPolicy": json.dumps({"amount": [{"numeric": [">=", 1000]}]}),
                       "FilterPolicyScope": "MessageBody"},
        "audit": {},
    }
    for name, attributes in subscriptions.items():
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(sqs, name), Attributes=attributes)
    return topic


def sns_message(region: str, amount: int) -> dict[str, Any]:
    """An SNS notification as SNS delivers it to SQS."""
    return {
        "Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:us-east-1:123456789012:orders",
        "Message": json.dumps({"orderId": "o-1", "amount": amount}),
        "MessageAttributes": {"region": {"Type": "String", "Value": region}},
    }


def test_topic_filter_policies_with_both_scopes(eda: Callable[..., Result], boto: Any, tmp_path: Path,
                                                account: str) -> None:
    seed_topic(boto)
    result = eda("--output", "json", "route", "test", write(tmp_path, sns_message("US", 1500)), "--topic", "orders")
    assert result.code == 0, result.stderr
    body = result.json()
    assert body["matched"] == [
        {"name": "big-orders", "targets": [f"arn:aws:sqs:us-east-1:{account}:big-orders"]},
        {"name": "audit", "targets": [f"arn:aws:sqs:us-east-1:{account}:audit"],
         "note": "no filter policy: receives every message"},
    ]
    assert body["missed"] == [{"name": "eu-only", "reasons": [
        {"path": "region", "operator": "equals", "expected": ["EU"], "actual": "US"}]}]

    other = eda("route", "test", write(tmp_path, sns_message("EU", 10)), "--topic",
                f"arn:aws:sns:us-east-1:{account}:orders")
    assert other.code == 0, other.stderr
    assert "2 of 3 subscriptions of topic orders matched" in other.stdout
    assert "matched  eu-only" in other.stdout
    assert "matched  audit  (no filter policy: receives every message)" in other.stdout
    assert 'amount: numeric [">=", 1000] expected, got 10' in other.stdout


def test_sns_patterns_take_publish_arguments(eda: Callable[..., Result], tmp_path: Path) -> None:
    publish = {"Message": json.dumps({"amount": 5}),
               "MessageAttributes": {"tags": {"DataType": "String.Array", "StringValue": '["a", "b"]'}}}
    event = write(tmp_path, publish)
    attributes = eda("--output", "json", "route", "test", event, "--dialect", "sns", "--pattern", '{"tags": ["b"]}')
    assert attributes.code == 0, attributes.stderr
    body = eda("--output", "json", "route", "test", event, "--dialect", "sns", "--scope", "MessageBody",
               "--pattern", '{"amount": [{"numeric": ["<", 1]}]}')
    assert body.code == 1
    assert body.json()["missed"][0]["reasons"][0]["actual"] == 5


def test_unknown_topic_exits_3(eda: Callable[..., Result], tmp_path: Path) -> None:
    event = write(tmp_path, sns_message("EU", 1))
    assert_one_line_error(eda("route", "test", event, "--topic", "nope"), 3)
    assert_one_line_error(eda("route", "test", event, "--topic", "arn:aws:sns:us-east-1:123456789012:nope"), 3)


def test_pending_subscriptions_are_skipped() -> None:
    """moto confirms every subscription at once; AWS lists unconfirmed ones as PendingConfirmation."""
    import boto3
    from botocore.stub import Stubber

    sns = boto3.client("sns", region_name="us-east-1")
    topic = "arn:aws:sns:us-east-1:123456789012:orders"
    sub = f"{topic}:1111"
    with Stubber(sns) as stub:
        stub.add_response("list_subscriptions_by_topic", {"Subscriptions": [
            {"SubscriptionArn": "PendingConfirmation", "Protocol": "email", "Endpoint": "a@example.com"}],
            "NextToken": "t"}, {"TopicArn": topic})
        stub.add_response("list_subscriptions_by_topic", {"Subscriptions": [
            {"SubscriptionArn": sub, "Protocol": "lambda",
             "Endpoint": "arn:aws:lambda:us-east-1:123456789012:function:notify"}]},
            {"TopicArn": topic, "NextToken": "t"})
        stub.add_response("get_subscription_attributes", {"Attributes": {"FilterPolicy": '{"a": ["b"]}'}},
                          {"SubscriptionArn": sub})
        sources = topic_subscriptions(sns, topic)
    assert [(c.name, c.scope, c.pattern) for c in sources.candidates] == [("notify", "MessageAttributes",
                                                                           '{"a": ["b"]}')]
    assert sources.notes == ("skipped 1 subscription(s) pending confirmation",)


# -- plain words, the demo, startup ----------------------------------------------------------------


def test_plain_words() -> None:
    assert explain_lines(Reason("detail.amount", "numeric", [{"numeric": [">", 1000]}], 250)) == [
        'detail.amount: numeric [">", 1000] expected, got 250']
    assert explain_lines(Reason("region", "equals|prefix", ["EU", {"prefix": "eu-"}], MISSING)) == [
        'region: "EU" or prefix "eu-" expected, field is missing']
    assert explain_lines(Reason("", "json", "a JSON object", "hello")) == [
        'event: a JSON object expected, got "hello"']


def test_demo_routes_the_shipped_event(eda: Callable[..., Result], boto: Any) -> None:
    from eda_cli.commands.demo import EVENTS_PLACEHOLDER, STEPS

    steps = [args for _, args in STEPS if args[:2] == ["route", "test"]]
    assert len(steps) == 1
    seed_bus(boto)
    args = [a.replace(EVENTS_PLACEHOLDER, str(EVENTS)) for a in steps[0]]
    result = eda(*args)
    assert result.code == 0, result.stderr
    assert "matched  eu-orders" in result.stdout
    assert 'detail.amount: numeric [">", 1000] expected, got 250' in result.stdout


def test_importing_the_command_imports_neither_boto3_nor_the_engine() -> None:
    code = ("import sys, eda_cli.app; "
            "print(sorted(m for m in sys.modules if m.startswith(('boto3', 'eda_cli.core.patterns', "
            "'eda_cli.core.routing'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_invalid_rule_pattern_from_the_bus_exits_2(eda: Callable[..., Result], boto: Any, tmp_path: Path) -> None:
    """moto accepts patterns AWS rejects; eda's engine names the rule and the offending path."""
    boto("events").put_rule(Name="broken", EventPattern=json.dumps({"detail": {"sku": [{"wildcard": "SKU-**"}]}}))
    result = eda("route", "test", write(tmp_path, order()), "--bus", "default")
    assert_one_line_error(result, 2)
    assert "rule 'broken': invalid pattern at detail.sku[0].wildcard:" in result.stderr
