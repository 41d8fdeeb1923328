"""`eda redrive` of EventBridge target DLQs, end to end: each event to the target it was going to.

The DLQ's messages are written as EventBridge writes them (tests/fixtures/eventbridge_dlq.py); the
targets are real resources on the backend (queues, topics, state machines, buses), configured with
PutTargets, so eda reads them with ListTargetsByRule as it would on AWS. Lambda functions run only in
Docker on moto, so Invoke is checked with a fake Lambda client whose answers botocore's model accepts;
per-entry failures AWS can answer with (PublishBatch's Failed list, PutEvents' FailedEntryCount) are
made by fakes wrapped around the real clients, checked the same way.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.response import StreamingBody

from tests.aws_shapes import AwsFake, aws_error
from tests.backends import Backend
from tests.fixtures.cli import REGION, Result
from tests.fixtures.eventbridge_dlq import (
    add_target,
    body_of,
    collect,
    dead_letter,
    depth,
    dest,
    dlq,
    drain,
    event,
    ids_left,
    queue,
    rule,
    topic_with_inbox,
)
from tests.fixtures.locked import cli_with_fakes
from tests.fixtures.redrive import arn_of, assert_one_line_error, fill, make_pipeline

Eda = Callable[..., Result]
ARGS = ("--output", "json", "redrive", "events-dlq", "--yes", "--wait-seconds", "0")


@pytest.fixture
def cli(url: str, capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    return cli_with_fakes(url, capsys)


# -- one target kind at a time ----------------------------------------------------------------------


def test_sqs_target_gets_the_event_as_eventbridge_delivers_it(cli: Eda, aws: Any, account: str) -> None:
    sqs, events = aws("sqs"), aws("events")
    dlq_url, dlq_arn = dlq(sqs)
    billing_url, billing_arn = queue(sqs, "billing")
    r = rule(events, "orders-to-billing", bus="shop")
    add_target(events, r, "billing", billing_arn, dlq_arn)
    sent = [event(i, account=account) for i in range(3)]
    for ev in sent:
        dead_letter(sqs, dlq_url, ev, r.arn, billing_arn, exhausted="MaximumRetryAttempts", retry_attempts=185)

    result = cli(*ARGS)
    assert result.code == 0, result.stderr
    summary = result.json()
    assert summary["moved"] == 3 and summary["failed"] == 0 and summary["mode"] == "copy"
    assert summary["targets"] == ["billing"] and summary["moved_by_target"] == {"billing": 3}
    assert dest(summary, "billing") == {"kind": "sqs", "name": "billing", "arn": billing_arn,
                                        "api": "SendMessageBatch", "route": "eventbridge target",
                                        "moved": 3, "failed": 0, "would_move": None}
    got = drain(sqs, billing_url)
    assert sorted(m["Body"] for m in got) == sorted(body_of(ev) for ev in sent)  # the event, byte for byte
    assert all(not m.get("MessageAttributes") for m in got)  # EventBridge's DLQ attributes are not passed on
    assert depth(sqs, dlq_url) == 0
    assert "not back to the bus" in result.stderr


def test_sns_target_publishes_to_the_topic_and_its_subscribers_get_it(cli: Eda, aws: Any, account: str) -> None:
    sqs, sns, events = aws("sqs"), aws("sns"), aws("events")
    dlq_url, dlq_arn = dlq(sqs)
    topic, inbox_url = topic_with_inbox(sqs, sns)
    r = rule(events, "orders-to-alerts")
    add_target(events, r, "alerts", topic, dlq_arn)
    sent = [event(i, account=account) for i in range(4)]
    for ev in sent:
        dead_letter(sqs, dlq_url, ev, r.arn, topic)

    result = cli(*ARGS)
    assert result.code == 0, result.stderr
    summary = result.json()
    assert dest(summary, "sns:alerts") == {"kind": "sns", "name": "sns:alerts", "arn": topic, "api": "PublishBatch",
                                           "route": "eventbridge target", "moved": 4, "failed": 0, "would_move": None}
    envelopes = [json.loads(m["Body"]) for m in collect(sqs, inbox_url, 4)]
    assert sorted(e["Message"] for e in envelopes) == sorted(body_of(ev) for ev in sent)
    assert all(e["TopicArn"] == topic for e in envelopes)
    assert depth(sqs, dlq_url) == 0


def test_fifo_queue_target_gets_the_group_its_sqs_parameters_name(cli: Eda, aws: Any, account: str) -> None:
    sqs, events = aws("sqs"), aws("events")
    dlq_url, dlq_arn = dlq(sqs)
    fifo_url, fifo_arn = queue(sqs, "billing.fifo", FifoQueue="true")
    r = rule(events, "orders-to-fifo")
    add_target(events, r, "fifo", fifo_arn, dlq_arn, SqsParameters={"MessageGroupId": "orders"})
    for i in range(3):
        dead_letter(sqs, dlq_url, event(i, account=account), r.arn, fifo_arn)
    result = cli(*ARGS)
    assert result.code == 0, result.stderr
    got = drain(sqs, fifo_url)
    assert [json.loads(m["Body"])["detail"]["orderId"] for m in got] == ["o-000", "o-001", "o-002"]
    assert {m["Attributes"]["MessageGroupId"] for m in got} == {"orders"}


def test_input_and_input_path_are_rebuilt_and_a_transformer_is_said_not_to_be(cli: Eda, aws: Any,
                                                                              account: str) -> None:
    sqs, events = aws("sqs"), aws("events")
    dlq_url, dlq_arn = dlq(sqs)
    path_url, path_arn = queue(sqs, "by-path")
    const_url, const_arn = queue(sqs, "constant")
    shaped_url, shaped_arn = queue(sqs, "shaped")
    r = rule(events, "shapes")
    add_target(events, r, "path", path_arn, dlq_arn, InputPath="$.detail")
    add_target(events, r, "const", const_arn, dlq_arn, Input='{"fixed": true}')
    add_target(events, r, "shaped", shaped_arn, dlq_arn, InputTransformer={
        "InputPathsMap": {"order": "$.detail.orderId"}, "InputTemplate": '{"order": <order>}'})
    ev = event(7, account=account)
    for arn in (path_arn, const_arn, shaped_arn):
        dead_letter(sqs, dlq_url, ev, r.arn, arn)
    result = cli(*ARGS)
    assert result.code == 0, result.stderr
    assert [m["Body"] for m in drain(sqs, path_url)] == ['{"orderId":"o-007","total":17}']
    assert [m["Body"] for m in drain(sqs, const_url)] == ['{"fixed": true}']
    assert [m["Body"] for m in drain(sqs, shaped_url)] == [body_of(ev)]  # as the DLQ holds it, and said so:
    note = [n for n in result.json()["notes"] if n.startswith("shaped")]
    assert note and "InputTransformer is not re-applied" in note[0] and "InputTransformer" in result.stderr


def test_step_functions_target_starts_one_execution_per_event(cli: Eda, aws: Any, account: str,
                                                              backend: Backend) -> None:
    sqs, events, sfn = aws("sqs"), aws("events"), aws("stepfunctions")
    dlq_url, dlq_arn = dlq(sqs)
    machine = sfn.create_state_machine(
        name="fulfil", roleArn=backend.role_arn("sfn"),
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}))["stateMachineArn"]
    r = rule(events, "orders-to-fulfil")
    add_target(events, r, "fulfil", machine, dlq_arn, RoleArn=backend.role_arn("events"))
    sent = [event(i, account=account) for i in range(3)]
    for ev in sent:
        dead_letter(sqs, dlq_url, ev, r.arn, machine)
    result = cli(*ARGS)
    assert result.code == 0, result.stderr
    assert dest(result.json(), "stepfunctions:fulfil")["api"] == "StartExecution"
    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert len(executions) == 3 and all(e["name"].startswith("eda-redrive-") for e in executions)
    inputs = sorted(sfn.describe_execution(executionArn=e["executionArn"])["input"] for e in executions)
    assert inputs == sorted(body_of(ev) for ev in sent)
    assert depth(sqs, dlq_url) == 0


def test_event_bus_target_gets_the_event_put_on_it(cli: Eda, aws: Any, account: str) -> None:
    sqs, events = aws("sqs"), aws("events")
    dlq_url, dlq_arn = dlq(sqs)
    audit = rule(events, "audit-all", bus="audit")
    inbox_url, inbox_arn = queue(sqs, "audit-inbox")
    add_target(events, audit, "inbox", inbox_arn, None)
    bus_arn = events.describe_event_bus(Name="audit")["Arn"]
    forward = rule(events, "forward-to-audit", bus="shop")
    add_target(events, forward, "audit", bus_arn, dlq_arn)
    ev = event(3, account=account)
    dead_letter(sqs, dlq_url, ev, forward.arn, bus_arn)
    result = cli(*ARGS)
    assert result.code == 0, result.stderr
    assert dest(result.json(), "eventbus:audit")["api"] == "PutEvents"
    (got,) = [json.loads(m["Body"]) for m in collect(sqs, inbox_url, 1)]
    assert (got["source"], got["detail-type"], got["detail"]) == (ev["source"], ev["detail-type"], ev["detail"])


# -- several targets in one DLQ, refusals, the plan --------------------------------------------------


def mixed(aws: Any, account: str) -> dict[str, Any]:
    """A DLQ holding events for an SQS target, an SNS target, an API destination and a Logs group (kinds eda
    refuses), and a target its rule no longer has."""
    sqs, sns, events = aws("sqs"), aws("sns"), aws("events")
    dlq_url, dlq_arn = dlq(sqs)
    billing_url, billing_arn = queue(sqs, "billing")
    topic, inbox_url = topic_with_inbox(sqs, sns)
    r = rule(events, "orders", bus="shop")
    add_target(events, r, "billing", billing_arn, dlq_arn)
    add_target(events, r, "alerts", topic, dlq_arn)
    api = f"arn:aws:events:{REGION}:{account}:api-destination/crm/0f1e2d3c"
    logs = f"arn:aws:logs:{REGION}:{account}:log-group:/aws/events/orders"
    gone_url, gone_arn = queue(sqs, "retired")
    refused = {}
    for i in range(3):
        dead_letter(sqs, dlq_url, event(i, account=account), r.arn, billing_arn)
    for i in range(3, 5):
        dead_letter(sqs, dlq_url, event(i, account=account), r.arn, topic)
    refused["api"] = dead_letter(sqs, dlq_url, event(5, account=account), r.arn, api)
    refused["logs"] = dead_letter(sqs, dlq_url, event(6, account=account), r.arn, logs)
    refused["gone"] = dead_letter(sqs, dlq_url, event(7, account=account), r.arn, gone_arn)
    return {"dlq": dlq_url, "billing": billing_url, "inbox": inbox_url, "topic": topic, "refused": refused,
            "gone": gone_url}


def test_a_mixed_dlq_goes_to_each_target_and_refused_ones_stay_listed(cli: Eda, aws: Any, account: str) -> None:
    sqs = aws("sqs")
    m = mixed(aws, account)
    result = cli(*ARGS)
    assert result.code == 4, result.stderr  # partial: some were refused
    summary = result.json()
    assert summary["moved"] == 5 and summary["failed"] == 3 and summary["partial"] is True
    assert set(summary["failed_message_ids"]) == set(m["refused"].values())
    reasons = summary["failures"]
    assert "kind api-destination" in reasons[m["refused"]["api"]]
    assert "kind logs" in reasons[m["refused"]["logs"]]
    assert "no longer has a target" in reasons[m["refused"]["gone"]]
    rows = {d["name"]: (d["kind"], d["api"], d["moved"], d["failed"]) for d in summary["destinations"]}
    assert rows == {"billing": ("sqs", "SendMessageBatch", 3, 0), "sns:alerts": ("sns", "PublishBatch", 2, 0),
                    "api-destination:crm/0f1e2d3c": ("api-destination", None, 0, 1),
                    "logs:/aws/events/orders": ("logs", None, 0, 1), "retired": ("sqs", None, 0, 1)}
    assert len(drain(sqs, m["billing"])) == 3 and len(collect(sqs, m["inbox"], 2)) == 2
    assert drain(sqs, m["gone"]) == []
    assert ids_left(sqs, m["dlq"]) == set(m["refused"].values())  # exactly the refused ones stay


def test_dry_run_shows_each_destination_and_its_api_and_changes_nothing(cli: Eda, aws: Any, account: str) -> None:
    sqs = aws("sqs")
    m = mixed(aws, account)
    result = cli("--output", "json", "redrive", "events-dlq", "--dry-run", "--wait-seconds", "0")
    assert result.code == 4, result.stderr  # as a real run would be: partial, the refused ones listed
    summary = result.json()
    assert summary["dry_run"] and summary["would_move"] == 5 and summary["moved"] == 0
    rows = {d["name"]: (d["api"], d["would_move"], d["failed"]) for d in summary["destinations"]}
    assert rows["billing"] == ("SendMessageBatch", 3, 0) and rows["sns:alerts"] == ("PublishBatch", 2, 0)
    assert rows["retired"] == (None, 0, 1)
    human = cli("redrive", "events-dlq", "--dry-run", "--wait-seconds", "0")
    assert human.code == 4, human.stderr
    for word in ("Would move", "SendMessageBatch", "PublishBatch", "(refused)", "sns:alerts",
                 "the EventBridge targets they name"):
        assert word in human.stdout + human.stderr, word
    assert depth(sqs, m["dlq"]) == 8 and drain(sqs, m["billing"]) == [] and drain(sqs, m["inbox"]) == []


def test_to_bus_puts_the_events_back_on_the_bus_and_warns(cli: Eda, aws: Any, account: str) -> None:
    sqs, events = aws("sqs"), aws("events")
    dlq_url, dlq_arn = dlq(sqs)
    billing_url, billing_arn = queue(sqs, "billing")
    analytics_url, analytics_arn = queue(sqs, "analytics")
    r = rule(events, "orders", bus="shop")
    add_target(events, r, "billing", billing_arn, dlq_arn)
    add_target(events, r, "analytics", analytics_arn, None)
    for i in range(2):
        dead_letter(sqs, dlq_url, event(i, account=account), r.arn, billing_arn)
    result = cli(*ARGS, "--to-bus")
    assert result.code == 0, result.stderr
    assert "EVERY rule that matches it receives it again" in result.stderr
    summary = result.json()
    assert [(d["name"], d["api"], d["route"], d["moved"]) for d in summary["destinations"]] == [
        ("eventbus:shop", "PutEvents", "--to-bus", 2)]
    # what the warning says: the target that failed gets them, and so does every other target of the rule
    assert len(collect(sqs, billing_url, 2)) == 2 and len(collect(sqs, analytics_url, 2)) == 2
    assert depth(sqs, dlq_url) == 0


def test_usage_errors(cli: Eda, aws: Any, account: str) -> None:
    sqs = aws("sqs")
    m = mixed(aws, account)
    native = cli("redrive", "events-dlq", "--mode", "native", "--yes")
    assert_one_line_error(native, 2)
    assert "EventBridge target" in native.stderr
    sqs.create_queue(QueueName="elsewhere")
    both = cli("redrive", "events-dlq", "--to", "elsewhere", "--to-bus", "--yes")
    assert_one_line_error(both, 2)
    plain_url = sqs.create_queue(QueueName="plain-dlq")["QueueUrl"]
    sqs.send_message(QueueUrl=plain_url, MessageBody="{}")
    plain = cli("redrive", "plain-dlq", "--yes", "--wait-seconds", "0")
    assert_one_line_error(plain, 2)
    assert "RULE_ARN" in plain.stderr and "--to" in plain.stderr
    assert depth(sqs, m["dlq"]) == 8 and len(drain(sqs, plain_url)) == 1  # the peek hid nothing


# -- per-entry answers: only what the destination accepted leaves the DLQ -----------------------------


class PartlyFailingSns(AwsFake, service="sns", wraps_real_client=True):
    """PublishBatch as AWS answers when some entries fail (e.g. a KMS key the topic cannot use): the others
    go to the real topic, the failing ones come back in Failed."""

    def __init__(self, real: Any, failing: set[str]) -> None:
        self._real, self._failing = real, failing

    def publish_batch(self, **kwargs: Any) -> dict[str, Any]:
        entries = kwargs["PublishBatchRequestEntries"]
        ok = [e for e in entries if json.loads(e["Message"])["detail"]["orderId"] not in self._failing]
        bad = [e for e in entries if e not in ok]
        answer = self._real.publish_batch(**{**kwargs, "PublishBatchRequestEntries": ok}) if ok else {}
        return {"Successful": answer.get("Successful", []),
                "Failed": [{"Id": e["Id"], "Code": "KMSDisabled", "Message": "the key is disabled",
                            "SenderFault": True} for e in bad]}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class PartlyFailingEvents(AwsFake, service="events", wraps_real_client=True):
    """PutEvents answering FailedEntryCount and an ErrorCode in the failing entries' places."""

    def __init__(self, real: Any, failing: set[str]) -> None:
        self._real, self._failing = real, failing

    def put_events(self, **kwargs: Any) -> dict[str, Any]:
        answers: list[dict[str, Any]] = []
        for entry in kwargs["Entries"]:
            if json.loads(entry["Detail"])["orderId"] in self._failing:
                answers.append({"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed"})
            else:
                answers.extend(self._real.put_events(Entries=[entry])["Entries"])
        return {"FailedEntryCount": sum(1 for a in answers if "ErrorCode" in a), "Entries": answers}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def test_publish_batch_failures_stay_in_the_dlq(cli: Eda, aws: Any, account: str) -> None:
    sqs, sns, events = aws("sqs"), aws("sns"), aws("events")
    dlq_url, dlq_arn = dlq(sqs)
    topic, inbox_url = topic_with_inbox(sqs, sns)
    r = rule(events, "orders-to-alerts")
    add_target(events, r, "alerts", topic, dlq_arn)
    ids = {f"o-{i:03d}": dead_letter(sqs, dlq_url, event(i, account=account), r.arn, topic) for i in range(6)}
    failing = {"o-001", "o-004"}
    result = cli(*ARGS, replace={"sns": lambda real: PartlyFailingSns(real, failing)})
    assert result.code == 4, result.stderr
    summary = result.json()
    assert summary["moved"] == 4 and set(summary["failed_message_ids"]) == {ids[o] for o in failing}
    assert all(summary["failures"][ids[o]] == "KMSDisabled: the key is disabled" for o in failing)
    assert dest(summary, "sns:alerts")["failed"] == 2
    assert len(collect(sqs, inbox_url, 4)) == 4
    assert ids_left(sqs, dlq_url) == {ids[o] for o in failing}


def test_put_events_failed_entries_stay_in_the_dlq(cli: Eda, aws: Any, account: str) -> None:
    sqs, events = aws("sqs"), aws("events")
    dlq_url, dlq_arn = dlq(sqs)
    billing_url, billing_arn = queue(sqs, "billing")
    r = rule(events, "orders", bus="shop")
    add_target(events, r, "billing", billing_arn, dlq_arn)
    ids = {f"o-{i:03d}": dead_letter(sqs, dlq_url, event(i, account=account), r.arn, billing_arn) for i in range(5)}
    result = cli(*ARGS, "--to-bus", replace={"events": lambda real: PartlyFailingEvents(real, {"o-002"})})
    assert result.code == 4, result.stderr
    summary = result.json()
    assert summary["moved"] == 4 and summary["failed_message_ids"] == [ids["o-002"]]
    assert summary["failures"][ids["o-002"]] == "MalformedDetail: Detail is malformed"
    assert len(collect(sqs, billing_url, 4)) == 4
    assert ids_left(sqs, dlq_url) == {ids["o-002"]}


class FakeLambda(AwsFake, service="lambda"):
    """Lambda Invoke as AWS answers an asynchronous invoke (202, an empty payload), or with an error the
    operation can answer with, for the events whose order id is in `failing`; `meta` is the real client's."""

    def __init__(self, real: Any, failing: set[str]) -> None:
        self.meta, self._failing = real.meta, failing
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if json.loads(kwargs["Payload"])["detail"]["orderId"] in self._failing:
            raise aws_error("lambda", "Invoke", "RequestTooLargeException", "Request must be smaller than 262144")
        return {"StatusCode": 202, "Payload": StreamingBody(io.BytesIO(b""), 0)}


def test_lambda_target_is_invoked_asynchronously_with_the_event(cli: Eda, aws: Any, account: str) -> None:
    sqs, events = aws("sqs"), aws("events")
    dlq_url, dlq_arn = dlq(sqs)
    function = f"arn:aws:lambda:{REGION}:{account}:function:ship-order"
    r = rule(events, "orders-to-ship")
    add_target(events, r, "ship", function, dlq_arn)
    sent = {f"o-{i:03d}": event(i, account=account) for i in range(4)}
    ids = {o: dead_letter(sqs, dlq_url, ev, r.arn, function) for o, ev in sent.items()}
    fakes: list[FakeLambda] = []

    def fake(real: Any) -> FakeLambda:
        fakes.append(FakeLambda(real, {"o-003"}))
        return fakes[-1]

    result = cli(*ARGS, replace={"lambda": fake})
    assert result.code == 4, result.stderr
    summary = result.json()
    assert summary["moved"] == 3 and summary["failed_message_ids"] == [ids["o-003"]]
    assert "RequestTooLargeException" in summary["failures"][ids["o-003"]]
    assert dest(summary, "lambda:ship-order") == {
        "kind": "lambda", "name": "lambda:ship-order", "arn": function, "api": "Invoke", "route": "eventbridge target",
        "moved": 3, "failed": 1, "would_move": None}
    (client,) = fakes
    assert sorted(c["Payload"] for c in client.calls) == sorted(body_of(ev).encode() for ev in sent.values())
    assert {(c["FunctionName"], c["InvocationType"]) for c in client.calls} == {(function, "Event")}
    assert ids_left(sqs, dlq_url) == {ids["o-003"]}


def test_a_source_queues_dlq_that_also_holds_eventbridge_events_routes_each_by_its_origin(
        cli: Eda, aws: Any, account: str, backend: Backend) -> None:
    """SQS's own dead letters go back to the source queue; EventBridge's to their target. (Copy mode: a move
    task would move every message to the source.)"""
    sqs, events = aws("sqs"), aws("events")
    (source_url,), dlq_url = make_pipeline(sqs, "orders")
    billing_url, billing_arn = queue(sqs, "billing")
    r = rule(events, "orders-to-billing")
    add_target(events, r, "billing", billing_arn, arn_of(sqs, dlq_url))
    fill(sqs, dlq_url, 3, attributes=False)
    ev = event(1, account=account)
    dead_letter(sqs, dlq_url, ev, r.arn, billing_arn)
    result = cli("--output", "json", "redrive", "orders-dlq", "--yes", "--wait-seconds", "0", "--mode", "copy")
    assert result.code == 0, result.stderr
    summary = result.json()
    assert summary["targets"] == ["orders", "billing"]
    assert summary["moved_by_target"] == {"billing": 1, "orders": 3}
    assert [(d["name"], d["route"], d["api"], d["moved"]) for d in summary["destinations"]] == [
        ("billing", "eventbridge target", "SendMessageBatch", 1), ("orders", "source queue", "SendMessageBatch", 3)]
    assert [m["Body"] for m in drain(sqs, billing_url)] == [body_of(ev)]
    assert len(drain(sqs, source_url)) == 3


def test_kinesis_target_gets_records_keyed_as_eventbridge_keys_them(cli: Eda, aws: Any, account: str) -> None:
    sqs, events, kinesis = aws("sqs"), aws("events"), aws("kinesis")
    dlq_url, dlq_arn = dlq(sqs)
    kinesis.create_stream(StreamName="orders-stream", ShardCount=1)
    deadline = time.monotonic() + 30
    while (summary := kinesis.describe_stream_summary(StreamName="orders-stream")["StreamDescriptionSummary"]
           )["StreamStatus"] != "ACTIVE":  # CREATING for a moment on AWS and LocalStack: records are refused
        assert time.monotonic() < deadline, "the stream never became ACTIVE"
        time.sleep(0.1)
    stream = summary["StreamARN"]
    keyed = rule(events, "orders-keyed")
    add_target(events, keyed, "keyed", stream, dlq_arn, KinesisParameters={"PartitionKeyPath": "$.detail.orderId"})
    plain = rule(events, "orders-plain")
    add_target(events, plain, "plain", stream, dlq_arn)
    first, second = event(1, account=account), event(2, account=account)
    dead_letter(sqs, dlq_url, first, keyed.arn, stream)
    dead_letter(sqs, dlq_url, second, plain.arn, stream)
    result = cli(*ARGS)
    assert result.code == 0, result.stderr + result.stdout
    assert dest(result.json(), "kinesis:orders-stream")["api"] == "PutRecords"
    shard = kinesis.list_shards(StreamName="orders-stream")["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName="orders-stream", ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator)["Records"]
    got = sorted((r["PartitionKey"], r["Data"].decode()) for r in records)
    assert got == sorted([("o-001", body_of(first)), (second["id"], body_of(second))])  # path, else the event id
    assert depth(sqs, dlq_url) == 0


def test_firehose_target_gets_the_event_as_a_record(cli: Eda, aws: Any, account: str) -> None:
    sqs, events, firehose, s3 = aws("sqs"), aws("events"), aws("firehose"), aws("s3")
    dlq_url, dlq_arn = dlq(sqs)
    s3.create_bucket(Bucket="archive")
    stream = firehose.create_delivery_stream(
        DeliveryStreamName="orders-archive", DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={"RoleARN": f"arn:aws:iam::{account}:role/firehose",
                                            "BucketARN": "arn:aws:s3:::archive"})["DeliveryStreamARN"]
    deadline = time.monotonic() + 30
    while firehose.describe_delivery_stream(DeliveryStreamName="orders-archive")["DeliveryStreamDescription"][
            "DeliveryStreamStatus"] != "ACTIVE":  # CREATING for a while on AWS: records are refused until then
        assert time.monotonic() < deadline, "the delivery stream never became ACTIVE"
        time.sleep(0.1)
    r = rule(events, "orders-to-archive")
    add_target(events, r, "archive", stream, dlq_arn)
    ev = event(4, account=account)
    dead_letter(sqs, dlq_url, ev, r.arn, stream)
    result = cli(*ARGS)
    assert result.code == 0, result.stderr + result.stdout
    assert dest(result.json(), "firehose:orders-archive")["api"] == "PutRecordBatch"
    deadline = time.monotonic() + 30  # moto writes at once; a Firehose that buffers writes within its interval
    while not (objects := s3.list_objects_v2(Bucket="archive").get("Contents", [])) and time.monotonic() < deadline:
        time.sleep(0.5)
    data = b"".join(s3.get_object(Bucket="archive", Key=o["Key"])["Body"].read() for o in objects)
    assert data == body_of(ev).encode()
    assert depth(sqs, dlq_url) == 0


def test_filter_by_error_code_and_archive_before_sending(cli: Eda, aws: Any, account: str, tmp_path: Any) -> None:
    """EventBridge's attributes can be filtered on (e.g. only what failed for want of a permission, now granted);
    every message sent was archived first, naming where it went."""
    sqs, events = aws("sqs"), aws("events")
    dlq_url, dlq_arn = dlq(sqs)
    billing_url, billing_arn = queue(sqs, "billing")
    r = rule(events, "orders-to-billing")
    add_target(events, r, "billing", billing_arn, dlq_arn)
    denied = {dead_letter(sqs, dlq_url, event(i, account=account), r.arn, billing_arn) for i in range(3)}
    throttled = {dead_letter(sqs, dlq_url, event(i, account=account), r.arn, billing_arn, error_code="THROTTLING",
                             exhausted="MaximumEventAgeInSeconds") for i in range(3, 5)}
    archive = tmp_path / "eb.jsonl"
    result = cli(*ARGS, "--filter", '{"message_attributes": {"ERROR_CODE": ["NO_PERMISSIONS"]}}',
                 "--archive", str(archive))
    assert result.code == 0, result.stderr
    assert result.json()["moved"] == 3 and result.json()["skipped"] == 2
    lines = [json.loads(line) for line in archive.read_text().splitlines()]
    assert {line["message_id"] for line in lines} == denied
    assert {line["target_queue"] for line in lines} == {billing_arn}
    assert all(line["message_attributes"]["RULE_ARN"]["string_value"] == r.arn for line in lines)
    assert len(drain(sqs, billing_url)) == 3
    assert ids_left(sqs, dlq_url) == throttled


def test_a_target_whose_api_refuses_the_whole_batch_fails_alone(cli: Eda, aws: Any, account: str) -> None:
    """A deleted topic answers PublishBatch with NotFound: its events stay in the DLQ, listed, and the other
    targets' events still move (one broken target does not stop the run, as an SQS source's error does)."""
    sqs, sns, events = aws("sqs"), aws("sns"), aws("events")
    dlq_url, dlq_arn = dlq(sqs)
    billing_url, billing_arn = queue(sqs, "billing")
    topic = sns.create_topic(Name="retired-alerts")["TopicArn"]
    r = rule(events, "orders")
    add_target(events, r, "billing", billing_arn, dlq_arn)
    add_target(events, r, "alerts", topic, dlq_arn)
    sns.delete_topic(TopicArn=topic)
    to_topic = {dead_letter(sqs, dlq_url, event(i, account=account), r.arn, topic) for i in range(2)}
    for i in range(2, 5):
        dead_letter(sqs, dlq_url, event(i, account=account), r.arn, billing_arn)
    result = cli(*ARGS)
    assert result.code == 4, result.stderr
    summary = result.json()
    assert summary["moved"] == 3 and set(summary["failed_message_ids"]) == to_topic and summary["error"] is None
    assert all(reason.startswith("not sent: ") for reason in summary["failures"].values())
    assert dest(summary, "sns:retired-alerts")["failed"] == 2 and dest(summary, "billing")["moved"] == 3
    assert len(drain(sqs, billing_url)) == 3
    assert ids_left(sqs, dlq_url) == to_topic
