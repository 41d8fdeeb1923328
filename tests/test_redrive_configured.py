"""`eda redrive` of DLQs that configuration names, end to end: an SNS subscription's DLQ to that subscription's
endpoint, a Lambda function's DLQ and on-failure destination back to the function.

The DLQ messages are written as SNS and Lambda write them (the sandbox's builders for SNS envelopes:
eda_cli/sandbox/demo_pipeline/dead_letters.py); topics, subscriptions, queues and functions are real resources
on the backend, so eda finds the origins with ListSubscriptions, GetSubscriptionAttributes, ListFunctions and
ListFunctionEventInvokeConfigs, as on AWS. moto runs functions only in Docker, so Invoke goes to a fake that wraps
the real Lambda client (the listing calls pass through) and answers as AWS answers an asynchronous invoke.
"""

from __future__ import annotations

import base64
import io
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.response import StreamingBody

from eda_cli.sandbox.demo_pipeline.dead_letters import envelope_text, sns_envelope
from tests.aws_shapes import AwsFake, aws_error
from tests.fixtures.cli import REGION, Result
from tests.fixtures.discovery import DeadLetteringLambda, make_function
from tests.fixtures.eventbridge_dlq import depth, dest, drain, ids_left, queue
from tests.fixtures.locked import cli_with_fakes
from tests.fixtures.redrive import assert_one_line_error

Eda = Callable[..., Result]


def args(dlq: str) -> tuple[str, ...]:
    return ("--output", "json", "redrive", dlq, "--yes", "--wait-seconds", "0")


@pytest.fixture
def cli(url: str, capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    return cli_with_fakes(url, capsys)


def subscribe(sns: Any, topic: str, protocol: str, endpoint: str, dlq_arn: str, raw: bool = False) -> str:
    attributes = {"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn})}
    if raw:
        attributes["RawMessageDelivery"] = "true"
    return str(sns.subscribe(TopicArn=topic, Protocol=protocol, Endpoint=endpoint, Attributes=attributes,
                             ReturnSubscriptionArn=True)["SubscriptionArn"])


def enveloped(sqs: Any, dlq_url: str, topic: str, subscription: str, i: int) -> tuple[str, str]:
    """What SNS writes to a subscription's DLQ without raw delivery: the envelope as the body, no attributes.
    Returns (message id, body)."""
    envelope = sns_envelope(topic, subscription, json.dumps({"orderId": f"o-{i:03d}"}), {
        "eventType": ("String", "order.created"), "schemaVersion": ("Number", "2")},
        str(uuid.UUID(int=100 + i)), time.time() - 60)
    body = envelope_text(envelope)
    return str(sqs.send_message(QueueUrl=dlq_url, MessageBody=body)["MessageId"]), body


def ids_visible(sqs: Any, url: str) -> set[str]:
    """The ids of a small queue's visible messages, leaving them visible (a receive with visibility 0)."""
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=0)
    return {m["MessageId"] for m in got.get("Messages", [])}


class FakeInvoke(DeadLetteringLambda, wraps_real_client=True):
    """Lambda with Invoke answered as AWS answers an asynchronous invoke (202, an empty payload), or with an error
    the operation can answer with when `fails(kwargs)`; ListFunctions shows the DeadLetterConfig of the
    functions in `dlqs` (moto drops it); every other call goes to the real client."""

    def __init__(self, real: Any, fails: Callable[[dict[str, Any]], bool], dlqs: dict[str, str]) -> None:
        super().__init__(real, dlqs)
        self._fails = fails
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self._fails(kwargs):
            raise aws_error("lambda", "Invoke", "ResourceNotFoundException", "Function not found")
        return {"StatusCode": 202, "Payload": StreamingBody(io.BytesIO(b""), 0)}


def fake_lambda(fails: Callable[[dict[str, Any]], bool] = lambda kwargs: False, dlqs: dict[str, str] | None = None
                ) -> tuple[list[FakeInvoke], Callable[[Any], FakeInvoke]]:
    made: list[FakeInvoke] = []

    def make(real: Any) -> FakeInvoke:
        made.append(FakeInvoke(real, fails, dlqs or {}))
        return made[-1]

    return made, make


def invoked(made: list[FakeInvoke]) -> list[dict[str, Any]]:
    return [call for fake in made for call in fake.calls]


# -- SNS subscriptions ------------------------------------------------------------------------------


def test_sns_subscription_dlq_goes_to_its_sqs_endpoint_as_the_subscription_delivers(cli: Eda, aws: Any) -> None:
    """As the sandbox's inventory-subscription-dlq: raw delivery off, the envelope as body, no attributes. The
    endpoint gets the envelope exactly; the topic's other subscriber gets nothing."""
    sqs, sns = aws("sqs"), aws("sns")
    dlq_url, dlq_arn = queue(sqs, "inventory-subscription-dlq")
    inventory_url, inventory_arn = queue(sqs, "inventory")
    billing_url, billing_arn = queue(sqs, "billing")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    subscription = subscribe(sns, topic, "sqs", inventory_arn, dlq_arn)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=billing_arn)
    bodies = [enveloped(sqs, dlq_url, topic, subscription, i)[1] for i in range(2)]

    dry = cli("--output", "json", "redrive", "inventory-subscription-dlq", "--dry-run", "--wait-seconds", "0")
    assert dry.code == 0, dry.stderr
    assert dest(dry.json(), "inventory") == {"kind": "sqs", "name": "inventory", "arn": inventory_arn,
                                             "api": "SendMessageBatch", "route": "sns subscription", "moved": 0,
                                             "failed": 0, "would_move": 2}
    assert depth(sqs, dlq_url) == 2

    result = cli(*args("inventory-subscription-dlq"))
    assert result.code == 0, result.stderr
    summary = result.json()
    assert summary["moved"] == 2 and summary["failed"] == 0 and summary["mode"] == "copy"
    assert summary["targets"] == ["inventory"]
    got = drain(sqs, inventory_url)
    assert sorted(m["Body"] for m in got) == sorted(bodies)  # the envelope, byte for byte
    assert all(not m.get("MessageAttributes") for m in got)
    assert drain(sqs, billing_url) == []  # not back to the topic
    assert depth(sqs, dlq_url) == 0
    assert "not back to the topic" in result.stderr and "orders -> inventory" in result.stderr


def test_the_sandboxs_subscription_dlq_goes_to_inventory(cli: Eda, aws: Any) -> None:
    """The demo's inventory-subscription-dlq, seeded as `eda sandbox seed` seeds it: its two envelopes reach the
    inventory queue exactly, and nothing else does."""
    from eda_cli.sandbox.demo_pipeline import seed_demo

    seed_demo(aws)
    sqs = aws("sqs")
    dlq_url = sqs.get_queue_url(QueueName="inventory-subscription-dlq")["QueueUrl"]
    inventory_url = sqs.get_queue_url(QueueName="inventory")["QueueUrl"]
    held = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    assert len(held) == 2 and all(json.loads(m["Body"])["Type"] == "Notification" for m in held)
    inventory_arn = sqs.get_queue_attributes(QueueUrl=inventory_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"]
    before = {m["MessageId"] for m in drain(sqs, inventory_url)}  # the demo's own traffic (hidden for a minute)
    result = cli(*args("inventory-subscription-dlq"))
    assert result.code == 0, result.stderr
    assert result.json()["destinations"] == [{"kind": "sqs", "name": "inventory", "arn": inventory_arn,
                                              "api": "SendMessageBatch", "route": "sns subscription", "moved": 2,
                                              "failed": 0, "would_move": None}]
    arrived = [m for m in drain(sqs, inventory_url) if m["MessageId"] not in before]
    assert sorted(m["Body"] for m in arrived) == sorted(m["Body"] for m in held)
    assert depth(sqs, dlq_url) == 0


def test_raw_delivery_subscription_dlq_goes_with_its_body_and_attributes(cli: Eda, aws: Any) -> None:
    sqs, sns = aws("sqs"), aws("sns")
    dlq_url, dlq_arn = queue(sqs, "raw-dlq")
    inbox_url, inbox_arn = queue(sqs, "raw-inbox")
    topic = sns.create_topic(Name="raw-orders")["TopicArn"]
    subscribe(sns, topic, "sqs", inbox_arn, dlq_arn, raw=True)
    attributes = {"eventType": {"DataType": "String", "StringValue": "order.created"},
                  "schemaVersion": {"DataType": "Number", "StringValue": "2"},
                  "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01raw"}}
    for i in range(3):
        sqs.send_message(QueueUrl=dlq_url, MessageBody=json.dumps({"orderId": f"o-{i:03d}"}),
                         MessageAttributes=attributes)
    result = cli(*args("raw-dlq"))
    assert result.code == 0, result.stderr
    assert dest(result.json(), "raw-inbox")["moved"] == 3
    got = drain(sqs, inbox_url)
    assert sorted(m["Body"] for m in got) == [json.dumps({"orderId": f"o-{i:03d}"}) for i in range(3)]
    for m in got:
        assert {k: (v["DataType"], v.get("StringValue") or base64.b64encode(v["BinaryValue"]).decode())
                for k, v in m["MessageAttributes"].items()} == {
            "eventType": ("String", "order.created"), "schemaVersion": ("Number", "2"),
            "blob": ("Binary", base64.b64encode(b"\x00\x01raw").decode())}
    assert depth(sqs, dlq_url) == 0


def test_lambda_endpoint_is_invoked_with_the_sns_event(cli: Eda, aws: Any, account: str) -> None:
    sqs, sns = aws("sqs"), aws("sns")
    dlq_url, dlq_arn = queue(sqs, "notify-dlq")
    function = make_function(aws, "notify")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    subscription = subscribe(sns, topic, "lambda", function, dlq_arn)
    sent = dict(enveloped(sqs, dlq_url, topic, subscription, i) for i in range(3))
    made, make = fake_lambda(lambda kwargs: b"o-002" in kwargs["Payload"])
    result = cli(*args("notify-dlq"), replace={"lambda": make})
    assert result.code == 4, result.stderr  # o-002's Invoke failed: it stays, listed
    summary = result.json()
    assert dest(summary, "lambda:notify") == {"kind": "lambda", "name": "lambda:notify", "arn": function,
                                              "api": "Invoke", "route": "sns subscription", "moved": 2, "failed": 1,
                                              "would_move": None}
    calls = invoked(made)
    assert {(c["FunctionName"], c["InvocationType"]) for c in calls} == {(function, "Event")}
    by_message = {json.loads(c["Payload"])["Records"][0]["Sns"]["MessageId"]: json.loads(c["Payload"]) for c in calls}
    for body in sent.values():
        envelope = json.loads(body)
        event = by_message[envelope["MessageId"]]
        assert event == {"Records": [{
            "EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": subscription,
            "Sns": {"Type": "Notification", "MessageId": envelope["MessageId"], "TopicArn": topic, "Subject": None,
                    "Message": envelope["Message"], "Timestamp": envelope["Timestamp"], "SignatureVersion": "1",
                    "Signature": envelope["Signature"], "SigningCertUrl": envelope["SigningCertURL"],
                    "UnsubscribeUrl": envelope["UnsubscribeURL"], "MessageAttributes": envelope["MessageAttributes"]},
        }]}
    failed = [i for i, body in sent.items() if "o-002" in body]
    assert summary["failed_message_ids"] == failed and "Function not found" in summary["failures"][failed[0]]
    assert ids_left(sqs, dlq_url) == set(failed)


def test_a_protocol_eda_does_not_deliver_to_is_refused_unless_to_is_given(cli: Eda, aws: Any) -> None:
    sqs, sns = aws("sqs"), aws("sns")
    dlq_url, dlq_arn = queue(sqs, "hook-dlq")
    topic = sns.create_topic(Name="hooks")["TopicArn"]
    # SMS: a protocol eda does not deliver to that needs no confirmation (an https subscription stays
    # pending until its endpoint confirms it, on AWS and LocalStack; moto confirms everything at once).
    subscription = subscribe(sns, topic, "sms", "+15555550100", dlq_arn)
    ids = {enveloped(sqs, dlq_url, topic, subscription, i)[0] for i in range(2)}
    result = cli(*args("hook-dlq"))
    assert result.code == 4, result.stderr
    summary = result.json()
    assert summary["moved"] == 0 and set(summary["failed_message_ids"]) == ids
    assert all("protocol sms" in why and "--to QUEUE" in why for why in summary["failures"].values())
    assert [(d["kind"], d["api"], d["route"], d["failed"]) for d in summary["destinations"]] == [
        ("sms", None, "sns subscription", 2)]
    assert ids_visible(sqs, dlq_url) == ids
    elsewhere_url, _ = queue(sqs, "hook-replay")
    moved = cli(*args("hook-dlq"), "--to", "hook-replay")
    assert moved.code == 0, moved.stderr
    assert len(drain(sqs, elsewhere_url)) == 2 and depth(sqs, dlq_url) == 0


def test_a_dlq_of_several_subscriptions_goes_by_the_envelopes_subscription(cli: Eda, aws: Any) -> None:
    """Each envelope's UnsubscribeURL names its subscription; a raw message names none: it stays, listed."""
    sqs, sns = aws("sqs"), aws("sns")
    dlq_url, dlq_arn = queue(sqs, "shared-dlq")
    a_url, a_arn = queue(sqs, "endpoint-a")
    b_url, b_arn = queue(sqs, "endpoint-b")
    topic = sns.create_topic(Name="shared")["TopicArn"]
    sub_a = subscribe(sns, topic, "sqs", a_arn, dlq_arn)
    sub_b = subscribe(sns, topic, "sqs", b_arn, dlq_arn)
    to_a = [enveloped(sqs, dlq_url, topic, sub_a, i)[1] for i in range(2)]
    to_b = [enveloped(sqs, dlq_url, topic, sub_b, i)[1] for i in range(2, 5)]
    raw = str(sqs.send_message(QueueUrl=dlq_url, MessageBody='{"orderId": "o-raw"}')["MessageId"])
    result = cli(*args("shared-dlq"))
    assert result.code == 4, result.stderr
    summary = result.json()
    assert summary["moved"] == 5 and summary["failed_message_ids"] == [raw]
    assert "2 subscriptions name shared-dlq" in summary["failures"][raw] and "--to" in summary["failures"][raw]
    assert sorted(m["Body"] for m in drain(sqs, a_url)) == sorted(to_a)
    assert sorted(m["Body"] for m in drain(sqs, b_url)) == sorted(to_b)
    assert ids_left(sqs, dlq_url) == {raw}


class PartlySending(AwsFake, service="sqs", wraps_real_client=True):
    """SendMessageBatch to one queue as AWS answers when some entries fail: the others are sent for real, the
    failing ones come back in Failed (a sender's fault, not retried)."""

    def __init__(self, real: Any, queue_name: str, failing: str) -> None:
        self._real, self._queue, self._failing = real, queue_name, failing

    def send_message_batch(self, **kwargs: Any) -> dict[str, Any]:
        entries = kwargs["Entries"]
        if not kwargs["QueueUrl"].endswith("/" + self._queue):
            return dict(self._real.send_message_batch(**kwargs))
        ok = [e for e in entries if self._failing not in e["MessageBody"]]
        bad = [e for e in entries if e not in ok]
        answer = self._real.send_message_batch(**{**kwargs, "Entries": ok}) if ok else {}
        return {"Successful": answer.get("Successful", []),
                "Failed": [{"Id": e["Id"], "SenderFault": True, "Code": "InvalidParameterValue",
                            "Message": "the message is refused"} for e in bad]}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def test_entries_the_endpoint_queue_refuses_stay_in_the_dlq(cli: Eda, aws: Any) -> None:
    sqs, sns = aws("sqs"), aws("sns")
    dlq_url, dlq_arn = queue(sqs, "stock-dlq")
    stock_url, stock_arn = queue(sqs, "stock")
    topic = sns.create_topic(Name="stock-events")["TopicArn"]
    subscription = subscribe(sns, topic, "sqs", stock_arn, dlq_arn)
    sent = dict(enveloped(sqs, dlq_url, topic, subscription, i) for i in range(5))
    result = cli(*args("stock-dlq"), replace={"sqs": lambda real: PartlySending(real, "stock", "o-003")})
    assert result.code == 4, result.stderr
    summary = result.json()
    failed = {i for i, body in sent.items() if "o-003" in body}
    assert summary["moved"] == 4 and set(summary["failed_message_ids"]) == failed
    assert dest(summary, "stock")["failed"] == 1
    assert len(drain(sqs, stock_url)) == 4
    assert ids_left(sqs, dlq_url) == failed


# -- Lambda functions -------------------------------------------------------------------------------


def test_lambda_async_dlq_invokes_the_function_again_with_the_event(cli: Eda, aws: Any) -> None:
    sqs = aws("sqs")
    dlq_url, dlq_arn = queue(sqs, "ship-dlq")
    function = make_function(aws, "ship-order", dlq_arn=dlq_arn)  # (moto drops the DeadLetterConfig: see dlqs)
    events = [json.dumps({"orderId": f"o-{i:03d}", "total": 10 + i}) for i in range(3)]
    for i, body in enumerate(events):
        sqs.send_message(QueueUrl=dlq_url, MessageBody=body, MessageAttributes={
            "RequestID": {"DataType": "String", "StringValue": str(uuid.UUID(int=i))},
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {"DataType": "String", "StringValue": "Task timed out after 3.00 seconds"}})
    made, make = fake_lambda(dlqs={"ship-order": dlq_arn})
    dry = cli("--output", "json", "redrive", "ship-dlq", "--dry-run", "--wait-seconds", "0",
              replace={"lambda": make})
    assert dry.code == 0, dry.stderr
    assert [(d["name"], d["api"], d["route"], d["would_move"]) for d in dry.json()["destinations"]] == [
        ("lambda:ship-order", "Invoke", "lambda async", 3)]
    assert invoked(made) == [] and depth(sqs, dlq_url) == 3
    result = cli(*args("ship-dlq"), replace={"lambda": make})
    assert result.code == 0, result.stderr
    assert dest(result.json(), "lambda:ship-order")["moved"] == 3
    calls = invoked(made)
    assert {(c["FunctionName"], c["InvocationType"]) for c in calls} == {(function, "Event")}
    assert sorted(c["Payload"] for c in calls) == sorted(body.encode() for body in events)
    assert depth(sqs, dlq_url) == 0
    assert "function ship-order (its DeadLetterConfig)" in result.stderr


def test_lambda_on_failure_records_invoke_the_function_with_the_request_payload(cli: Eda, aws: Any,
                                                                                 account: str) -> None:
    sqs = aws("sqs")
    dlq_url, dlq_arn = queue(sqs, "audit-failures")
    function = make_function(aws, "audit-log")
    aws("lambda").put_function_event_invoke_config(
        FunctionName="audit-log", DestinationConfig={"OnFailure": {"Destination": dlq_arn}})
    qualified = f"{function}:$LATEST"
    payloads = [{"orderId": f"o-{i:03d}", "action": "created"} for i in range(3)]
    for i, payload in enumerate(payloads):
        record = {  # what Lambda writes to an SQS on-failure destination
            "version": "1.0", "timestamp": "2026-12-05T06:00:00.000Z",
            "requestContext": {"requestId": str(uuid.UUID(int=i)), "functionArn": qualified,
                               "condition": "RetriesExhausted", "approximateInvokeCount": 3},
            "requestPayload": payload,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorMessage": "boom", "errorType": "Exception"},
        }
        sqs.send_message(QueueUrl=dlq_url, MessageBody=json.dumps(record))
    other = str(sqs.send_message(QueueUrl=dlq_url, MessageBody=json.dumps({
        "version": "1.0", "requestContext": {"functionArn": f"arn:aws:lambda:{REGION}:{account}:function:elsewhere"},
        "requestPayload": {}}))["MessageId"])
    made, make = fake_lambda()
    result = cli(*args("audit-failures"), replace={"lambda": make})
    assert result.code == 4, result.stderr  # the record of a function that does not send here stays
    summary = result.json()
    assert summary["moved"] == 3 and summary["failed_message_ids"] == [other]
    assert "whose on-failure destination is not audit-failures" in summary["failures"][other]
    assert dest(summary, "lambda:audit-log") == {"kind": "lambda", "name": "lambda:audit-log", "arn": qualified,
                                                 "api": "Invoke", "route": "lambda on-failure", "moved": 3,
                                                 "failed": 0, "would_move": None}
    calls = invoked(made)
    assert {(c["FunctionName"], c["InvocationType"]) for c in calls} == {(qualified, "Event")}
    assert sorted(json.loads(c["Payload"])["orderId"] for c in calls) == ["o-000", "o-001", "o-002"]
    assert all(json.loads(c["Payload"]) in payloads for c in calls)
    assert ids_left(sqs, dlq_url) == {other}


def test_a_queue_nothing_names_is_still_refused(cli: Eda, aws: Any) -> None:
    sqs = aws("sqs")
    url, _ = queue(sqs, "lonely-dlq")
    sqs.send_message(QueueUrl=url, MessageBody="{}")
    result = cli("redrive", "lonely-dlq", "--yes", "--wait-seconds", "0")
    assert_one_line_error(result, 2)
    assert "no SNS subscription, Lambda function or event source mapping names it" in result.stderr
    assert "--to" in result.stderr


def test_a_dlq_several_functions_name_is_refused_for_want_of_the_function(cli: Eda, aws: Any) -> None:
    """A Lambda DLQ message does not say which function it comes from: with two, eda guesses neither."""
    sqs = aws("sqs")
    dlq_url, dlq_arn = queue(sqs, "shared-fn-dlq")
    make_function(aws, "first")
    make_function(aws, "second")
    sent = {str(sqs.send_message(QueueUrl=dlq_url, MessageBody='{"n": 1}', MessageAttributes={
        "RequestID": {"DataType": "String", "StringValue": str(uuid.UUID(int=9))},
        "ErrorCode": {"DataType": "Number", "StringValue": "200"},
        "ErrorMessage": {"DataType": "String", "StringValue": "boom"}})["MessageId"])}
    made, make = fake_lambda(dlqs={"first": dlq_arn, "second": dlq_arn})
    result = cli(*args("shared-fn-dlq"), replace={"lambda": make})
    assert result.code == 4, result.stderr
    summary = result.json()
    assert set(summary["failed_message_ids"]) == sent and invoked(made) == []
    why = summary["failures"][next(iter(sent))]
    assert "2 functions name shared-fn-dlq" in why and "first" in why and "second" in why and "--to" in why
    assert ids_left(sqs, dlq_url) == sent
