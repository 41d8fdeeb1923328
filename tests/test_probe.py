"""`eda probe`: one stamped event, its targets predicted, its feeds tapped, the last hop checked; end to end on
a server. Neither moto nor LocalStack enforces queue policies, so a "broken" target is one whose queue
policy does not admit its rule: the probe sees AWS route it (on the tap) and reports it blocked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from eda_cli.core.probe import ProbeTarget, publish_attributes, stamp
from eda_cli.core.tap.feeds import Feed, narrowed
from eda_cli.errors import UsageError
from tests.fixtures.cli import Result
from tests.fixtures.taps import PREFIX, leftovers

BUS = "orders-bus"
ORDER = {"source": "shop.orders", "detail-type": "order.created",
         "detail": {"orderId": "o-1", "region": "EU", "amount": 250, "correlationId": "corr-1"}}
FAST = ("--settle", "0", "--yes")


def queue(boto: Callable[[str], Any], name: str) -> tuple[str, str]:
    url = boto("sqs").create_queue(QueueName=name)["QueueUrl"]
    arn = boto("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def admit(boto: Callable[[str], Any], url: str, arn: str, service: str, source: str) -> None:
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": service}, "Action": "sqs:SendMessage", "Resource": arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": source}}}]}
    boto("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})


def rule_to(boto: Callable[[str], Any], name: str, pattern: dict[str, Any], target: tuple[str, str],
            policy: bool = True) -> None:
    rule_arn = boto("events").put_rule(Name=name, EventBusName=BUS, EventPattern=json.dumps(pattern))["RuleArn"]
    boto("events").put_targets(Rule=name, EventBusName=BUS, Targets=[{"Id": "q", "Arn": target[1]}])
    if policy:
        admit(boto, *target, "events.amazonaws.com", rule_arn)


def received(boto: Callable[[str], Any], url: str) -> list[dict[str, Any]]:
    messages = boto("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


@pytest.fixture
def bus(boto: Callable[[str], Any]) -> dict[str, tuple[str, str]]:
    """eu-orders -> eu (admits the rule); eu-audit -> audit (no queue policy: broken);
    high-value -> fraud (amount > 1000: filtered out)."""
    boto("events").create_event_bus(Name=BUS)
    queues = {name: queue(boto, name) for name in ("eu", "audit", "fraud")}
    rule_to(boto, "eu-orders", {"source": ["shop.orders"], "detail": {"region": ["EU"]}}, queues["eu"])
    rule_to(boto, "eu-audit", {"detail": {"region": ["EU"]}}, queues["audit"], policy=False)
    rule_to(boto, "high-value", {"source": ["shop.orders"], "detail": {"amount": [{"numeric": [">", 1000]}]}},
            queues["fraud"])
    return queues


def by_target(result: Result) -> dict[str, dict[str, Any]]:
    return {t["target"].rsplit(":", 1)[-1]: t for t in result.json()["targets"]}


def test_a_broken_target_is_reported_with_its_reason_and_exit_1(eda: Callable[..., Result],
                                                                boto: Callable[[str], Any],
                                                                bus: dict[str, tuple[str, str]]) -> None:
    result = eda("-o", "json", "probe", "--bus", BUS, "--event", json.dumps(ORDER), "--timeout", "10", *FAST)
    assert result.code == 1, result.stderr
    doc = result.json()
    cid = doc["correlation_id"]
    assert cid.startswith("eda-probe-") and doc["sent_at"].endswith("Z") and doc["ok"] is False
    targets = by_target(result)
    eu, audit, fraud = targets["eu"], targets["audit"], targets["fraud"]
    assert eu["predicted"] and eu["arrived"] and isinstance(eu["latency_ms"], int) and eu["reason"] == ""
    assert eu["via"] == f"rule eu-orders on {BUS}"
    assert audit["predicted"] and audit["matched"] and not audit["arrived"]
    assert "the queue's policy does not let rule eu-audit send to it" in audit["reason"]
    assert not fraud["predicted"] and not fraud["arrived"]
    assert fraud["reason"] == 'detail.amount: numeric [">", 1000] expected, got 250'
    # the event went into the pipeline once, stamped with the probe's id where `eda trace` looks
    [event] = received(boto, bus["eu"][0])
    assert event["detail"]["correlationId"] == cid and event["detail"]["orderId"] == "o-1"
    assert received(boto, bus["fraud"][0]) == []
    assert "replaced detail.correlationId 'corr-1' with the probe's id" in result.stderr
    assert f"created queue {PREFIX}" in result.stderr and f"removed queue {PREFIX}" in result.stderr
    assert leftovers(boto) == []


def test_every_target_reached_is_exit_0_and_the_table_says_so(eda: Callable[..., Result],
                                                              boto: Callable[[str], Any],
                                                              bus: dict[str, tuple[str, str]]) -> None:
    boto("events").remove_targets(Rule="eu-audit", EventBusName=BUS, Ids=["q"])
    boto("events").delete_rule(Name="eu-audit", EventBusName=BUS)
    result = eda("probe", "--bus", BUS, "--event", json.dumps(ORDER), "--timeout", "10", *FAST)
    assert result.code == 0, result.stderr
    assert "1 of 1 predicted or expected target(s) received the probe" in result.stdout
    [eu_line] = [line for line in result.stdout.splitlines() if line.startswith("eu ")]
    assert " yes " in eu_line and " ms " in eu_line
    assert leftovers(boto) == []


def test_an_expected_target_nothing_routes_to_is_explained(eda: Callable[..., Result], boto: Callable[[str], Any],
                                                           bus: dict[str, tuple[str, str]]) -> None:
    queue(boto, "orphan")
    result = eda("-o", "json", "probe", "--bus", BUS, "--event", json.dumps(ORDER), "--timeout", "2",
                 "--expect", "orphan", "--expect", "fraud", *FAST)
    assert result.code == 1, result.stderr
    targets = by_target(result)
    assert targets["orphan"]["expected"] and targets["orphan"]["reason"] == f"no rule on {BUS} targets it"
    assert targets["fraud"]["expected"] and not targets["fraud"]["arrived"]
    assert "numeric" in targets["fraud"]["reason"]
    assert leftovers(boto) == []


def test_a_topic_probe_applies_filter_policies(eda: Callable[..., Result], boto: Callable[[str], Any]) -> None:
    sns = boto("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    for name, policy in (("created", {"type": ["order.created"]}), ("cancelled", {"type": ["order.cancelled"]})):
        url, arn = queue(boto, name)
        admit(boto, url, arn, "sns.amazonaws.com", topic)
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"FilterPolicy": json.dumps(policy)})
    result = eda("-o", "json", "probe", "--topic", "orders", "--message", '{"orderId": "o-9"}',
                 "--attributes", '{"type": "order.created"}', "--timeout", "10", *FAST)
    assert result.code == 0, result.stderr
    targets = by_target(result)
    assert targets["created"]["arrived"] and targets["created"]["via"] == "subscription to topic orders"
    assert not targets["cancelled"]["predicted"]
    assert targets["cancelled"]["reason"] == 'type: "order.cancelled" expected, got "order.created"'
    assert result.json()["id_path"] == "correlationId"
    assert leftovers(boto) == []


def test_without_a_terminal_it_needs_yes_and_dry_run_sends_nothing(eda: Callable[..., Result],
                                                                   boto: Callable[[str], Any],
                                                                   bus: dict[str, tuple[str, str]]) -> None:
    refused = eda("probe", "--bus", BUS, "--event", json.dumps(ORDER))
    assert refused.code == 2 and "--yes" in refused.stderr
    dry = eda("-o", "json", "probe", "--bus", BUS, "--event", json.dumps(ORDER), "--dry-run")
    assert dry.code == 0, dry.stderr
    assert dry.json()["sent_at"] is None and by_target(dry)["eu"]["predicted"]
    assert "would be created" in dry.stderr and "created queue" not in dry.stderr
    assert all(received(boto, url) == [] for url, _ in bus.values())
    assert leftovers(boto) == []


def test_nothing_predicted_and_nothing_expected_sends_nothing(eda: Callable[..., Result],
                                                             boto: Callable[[str], Any],
                                                             bus: dict[str, tuple[str, str]]) -> None:
    other = {**ORDER, "detail": {"region": "US", "amount": 5}}
    result = eda("probe", "--bus", BUS, "--event", json.dumps(other), *FAST)
    assert result.code == 1, result.stderr
    assert "nothing to prove" in result.stderr and "created" not in result.stderr
    assert all(received(boto, url) == [] for url, _ in bus.values())


@pytest.mark.parametrize(("args", "words"), [
    (("--bus", BUS, "--topic", "t", "--event", "{}"), "say where to send"),
    (("--bus", BUS), "--bus sends an --event"),
    (("--topic", "t", "--event", "{}"), "--topic publishes a --message"),
    (("--bus", BUS, "--event", "[1]"), "must be a JSON object"),
    (("--bus", BUS, "--event", "{nope"), "not valid JSON"),
    (("--bus", BUS, "--event", '{"orderId": 1}'), "needs a source, a detail-type and a detail"),
    (("--bus", BUS, "--event", json.dumps(ORDER), "--id-path", "correlationId"), "inside the event's detail"),
])
def test_bad_input_is_exit_2_and_nothing_is_created(eda: Callable[..., Result], boto: Callable[[str], Any],
                                                    bus: dict[str, tuple[str, str]], args: tuple[str, ...],
                                                    words: str) -> None:
    result = eda("probe", *args, *FAST)
    assert result.code == 2, result.stderr
    assert words in result.stderr and "Traceback" not in result.stderr
    assert leftovers(boto) == []


def test_ctrl_c_while_waiting_removes_the_taps_and_exits_130(endpoint: str, boto: Callable[[str], Any],
                                                            bus: dict[str, tuple[str, str]]) -> None:
    env = {**os.environ, "EDA_ENDPOINT_URL": endpoint}
    process = subprocess.Popen(
        [sys.executable, "-m", "eda_cli", "probe", "--bus", BUS, "--event", json.dumps(ORDER), "--expect", "fraud",
         "--timeout", "60", *FAST], stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        text=True, env=env)
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("sent eda-probe-"):
            break
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert f"removed queue {PREFIX}" in err
    assert leftovers(boto) == []


# -- the parts ------------------------------------------------------------------------------------


def test_stamp_sets_the_path_and_returns_what_it_replaced() -> None:
    doc, previous = stamp({"a": {"b": 1}}, "a.c.d", "x")
    assert doc == {"a": {"b": 1, "c": {"d": "x"}}} and previous is None
    doc, previous = stamp({"a": {"b": 1}}, "a.b", "x")
    assert doc == {"a": {"b": "x"}} and previous == 1
    with pytest.raises(UsageError, match=r"a\.b is not an object"):
        stamp({"a": {"b": 1}}, "a.b.c", "x")


def test_narrowed_adds_the_id_unless_the_pattern_already_speaks_of_it() -> None:
    pattern = json.dumps({"source": ["s"], "detail": {"region": ["EU"]}})
    assert json.loads(narrowed(pattern, "detail.correlationId", "eda-probe-1") or "") == {
        "source": ["s"], "detail": {"region": ["EU"], "correlationId": ["eda-probe-1"]}}
    assert narrowed(json.dumps({"detail": {"correlationId": [{"exists": True}]}}), "detail.correlationId", "x") is None
    assert narrowed(json.dumps({"detail": ["x"]}), "detail.correlationId", "x") is None
    assert json.loads(narrowed(None, "detail.id", "x") or "") == {"detail": {"id": ["x"]}}


def test_publish_attributes_types_values() -> None:
    assert publish_attributes({"s": "a", "n": 12, "b": True, "l": ["x", 1],
                               "raw": {"DataType": "Number", "StringValue": "3"}}) == {
        "s": {"DataType": "String", "StringValue": "a"}, "n": {"DataType": "Number", "StringValue": "12"},
        "b": {"DataType": "String", "StringValue": "true"},
        "l": {"DataType": "String.Array", "StringValue": '["x", 1]'},
        "raw": {"DataType": "Number", "StringValue": "3"}}
    with pytest.raises(UsageError):
        publish_attributes({"bad": {"nested": 1}})


def test_a_target_arrives_only_when_seen_and_not_blocked() -> None:
    feed = Feed("rule", "r", BUS, "arn:aws:events:us-east-1:1:rule/orders-bus/r", "{}")
    seen = ProbeTarget("arn:aws:sqs:us-east-1:1:q", feed, True, matched=True, latency=0.25)
    assert seen.arrived and seen.to_dict(5)["latency_ms"] == 250
    blocked = ProbeTarget("arn:aws:sqs:us-east-1:1:q", feed, True, matched=True, latency=0.25, blocked="no policy")
    assert not blocked.arrived and blocked.to_dict(5)["latency_ms"] is None
    assert blocked.reason(5) == "routed (seen on the tap), but no policy"
    late = ProbeTarget("arn:aws:sqs:us-east-1:1:q", feed, True)
    assert late.reason(5) == "predicted, but the tap did not see it within 5 s"


def test_jsonl_and_csv_print_one_record_per_target(eda: Callable[..., Result], boto: Callable[[str], Any],
                                                   bus: dict[str, tuple[str, str]]) -> None:
    lines = eda("-o", "jsonl", "probe", "--bus", BUS, "--event", json.dumps(ORDER), "--dry-run")
    assert lines.code == 0, lines.stderr
    records = [json.loads(line) for line in lines.stdout.splitlines()]
    assert sorted(r["target"].rsplit(":", 1)[-1] for r in records) == ["audit", "eu", "fraud"]
    assert len({r["correlation_id"] for r in records}) == 1
    table = eda("-o", "csv", "probe", "--bus", BUS, "--event", json.dumps(ORDER), "--dry-run")
    assert table.stdout.splitlines()[0] == ("correlation_id,target,via,predicted,expected,arrived,matched,"
                                            "latency_ms,reason,checked")
    assert len(table.stdout.splitlines()) == 4


def test_the_id_path_comes_from_eda_yaml_unless_given(eda: Callable[..., Result], boto: Callable[[str], Any],
                                                      bus: dict[str, tuple[str, str]], tmp_path: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "eda.yaml").write_text("version: 1\ncorrelation_id_paths: [meta.cid, detail.trace.id]\n")
    from_file = eda("-o", "json", "probe", "--bus", BUS, "--event", json.dumps(ORDER), "--dry-run")
    assert from_file.code == 0, from_file.stderr
    assert from_file.json()["id_path"] == "detail.trace.id"
    given = eda("-o", "json", "probe", "--bus", BUS, "--event", json.dumps(ORDER), "--dry-run",
                "--id-path", "$.detail.ref")
    assert given.json()["id_path"] == "detail.ref"
    (tmp_path / "eda.yaml").write_text("version: 1\ncorrelation_id_paths: [[nope]]\n")
    broken = eda("probe", "--bus", BUS, "--event", json.dumps(ORDER), "--dry-run")
    assert broken.code == 2 and "eda.yaml" in broken.stderr
