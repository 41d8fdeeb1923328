"""Redrive under faults moto cannot produce: partial batch failures, throttling, 5xx, move tasks.

botocore's Stubber scripts the exact SQS conversation (and checks what eda sends: which entries it
deletes, which it puts back); a before-send hook injects throttling and 5xx answers into a real
client talking to moto over HTTP, so botocore's own retries run too; a thin proxy adds the
DeadLetterQueueSourceArn that moto never sets.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from eda_cli.aws.resolve import QueueRef
from eda_cli.core.redrive import (
    MAX_BATCH_BYTES,
    RedriveOptions,
    RedriveProgress,
    TokenBucket,
    dedup_id,
    plan_redrive,
    redrive,
    run_redrive,
    split_by_size,
)
from tests.aws_shapes import AwsFake, assert_known_error
from tests.fixtures.cli import REGION, Result
from tests.fixtures.redrive import assert_one_line_error, fill, make_pipeline

ACCOUNT = "123456789012"
BASE = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}"
DLQ = QueueRef("orders-dlq", f"{BASE}/orders-dlq", f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders-dlq")
SRC = QueueRef("orders", f"{BASE}/orders", f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders")
FDLQ = QueueRef("orders-dlq.fifo", f"{BASE}/orders-dlq.fifo", f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders-dlq.fifo")
FSRC = QueueRef("orders.fifo", f"{BASE}/orders.fifo", f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders.fifo")


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    import boto3

    client = boto3.Session(region_name=REGION).client("sqs", endpoint_url="http://stubbed.invalid")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def attrs(ref: QueueRef, visible: int = 0, policy: bool = False) -> dict[str, Any]:
    values = {"QueueArn": ref.arn, "ApproximateNumberOfMessages": str(visible),
              "ApproximateNumberOfMessagesNotVisible": "0"}
    if ref.name.endswith(".fifo"):
        values["FifoQueue"] = "true"
    if policy:
        values["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": DLQ.arn, "maxReceiveCount": 3})
    return {"Attributes": values}


def message(i: int, group: str | None = None, trace: str | None = None, source: str | None = None) -> dict[str, Any]:
    system = {"SentTimestamp": "1700000000000", "ApproximateReceiveCount": "4"}
    if group:
        system["MessageGroupId"] = group
    if trace:
        system["AWSTraceHeader"] = trace
    if source:
        system["DeadLetterQueueSourceArn"] = source
    return {
        "MessageId": f"m-{i}",
        "ReceiptHandle": f"h-{i}",
        "MD5OfBody": "x",
        "Body": json.dumps({"id": i}),
        "Attributes": system,
        "MessageAttributes": {
            "amount": {"DataType": "Number.float", "StringValue": "1.5"},
            "sig": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
        },
    }


UNSUPPORTED = "unsupported"


def expect_plan(stub: Stubber, dlq: QueueRef = DLQ, src: QueueRef = SRC, visible: int = 3,
                tasks: list[dict[str, Any]] | str | None = None, native: bool = False) -> None:
    """The plan's reads: the DLQ, its sources, and the move-task probe (which every mode makes: a task
    already running stops any redrive). `tasks`: the probe's answer, or UNSUPPORTED for moto's HTTP 500.
    `native`: the plan chooses a move task, so it first looks whether EventBridge wrote any of the DLQ's
    messages (a peek that finds none)."""
    stub.add_response("get_queue_attributes", attrs(dlq, visible), {"QueueUrl": dlq.url, "AttributeNames": ["All"]})
    stub.add_response("list_dead_letter_source_queues", {"queueUrls": [src.url]}, {"QueueUrl": dlq.url})
    stub.add_response("get_queue_attributes", attrs(src, policy=True), {"QueueUrl": src.url, "AttributeNames": ["All"]})
    if tasks == UNSUPPORTED:
        # What moto answers: an HTML 500 page, which botocore names by its status.
        stub.add_client_error("list_message_move_tasks", "500", "<!doctype html>", 500)
    else:
        stub.add_response("list_message_move_tasks", {"Results": list(tasks or [])},
                          {"SourceArn": dlq.arn, "MaxResults": 10})
    if native:
        stub.add_response("receive_message", {}, {
            "QueueUrl": dlq.url, "MaxNumberOfMessages": 10, "VisibilityTimeout": 0, "WaitTimeSeconds": ANY,
            "MessageAttributeNames": ["RULE_ARN", "TARGET_ARN"]})


DEPTH_ATTRIBUTES = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed"]


def expect_depth(stub: Stubber, ref: QueueRef, visible: int) -> None:
    stub.add_response("get_queue_attributes", {"Attributes": {
        "ApproximateNumberOfMessages": str(visible), "ApproximateNumberOfMessagesNotVisible": "0",
        "ApproximateNumberOfMessagesDelayed": "0"}}, {"QueueUrl": ref.url, "AttributeNames": DEPTH_ATTRIBUTES})


def system_attributes(dlq: QueueRef) -> list[str]:
    """What a run asks SQS for with each message when it moves to SQS queues without archive, filter or dry run."""
    names = ["AWSTraceHeader", "SentTimestamp", "DeadLetterQueueSourceArn"]
    return [*names, "MessageGroupId"] if dlq.name.endswith(".fifo") else names


def expect_receive(stub: Stubber, messages: list[dict[str, Any]], dlq: QueueRef = DLQ) -> None:
    stub.add_response("receive_message", {"Messages": messages} if messages else {},
                      {"QueueUrl": dlq.url, "MaxNumberOfMessages": ANY, "VisibilityTimeout": ANY,
                       "WaitTimeSeconds": ANY, "MessageSystemAttributeNames": system_attributes(dlq),
                       "MessageAttributeNames": ["All"]})


def expect_end(stub: Stubber, visible: int = 0, release: list[str] | None = None, dlq: QueueRef = DLQ,
               empties: int = 1) -> None:
    """The end of a run: the empty receive(s), the depth check (visible, in flight, delayed: the quick end), putting
    held messages back, the final depth."""
    for _ in range(empties):
        expect_receive(stub, [], dlq)
    stub.add_response("get_queue_attributes", {"Attributes": {"ApproximateNumberOfMessages": str(visible)}},
                      {"QueueUrl": dlq.url, "AttributeNames": DEPTH_ATTRIBUTES})
    if release:
        stub.add_response(
            "change_message_visibility_batch",
            {"Successful": [{"Id": str(i)} for i in range(len(release))], "Failed": []},
            {"QueueUrl": dlq.url, "Entries": [{"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
                                              for i, h in enumerate(release)]},
        )
    stub.add_response("get_queue_attributes", {"Attributes": {"ApproximateNumberOfMessages": str(visible)}}, None)


def sent(*entries: int) -> dict[str, Any]:
    """A SendMessageBatch answer where these entry ids succeeded."""
    return {"Successful": [{"Id": str(i), "MessageId": f"n{i}", "MD5OfMessageBody": "x"} for i in entries],
            "Failed": []}


def delete_params(handles: list[str], dlq: QueueRef = DLQ) -> dict[str, Any]:
    return {"QueueUrl": dlq.url, "Entries": [{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(handles)]}


def options(**kwargs: Any) -> RedriveOptions:
    base: dict[str, Any] = {"mode": "copy", "concurrency": 1, "wait_seconds": 0, "empty_receives": 1}
    return RedriveOptions(**{**base, **kwargs})


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


# -- partial batch failure -------------------------------------------------------------------------


def script_partial_failure(stub: Stubber, empties: int = 1) -> None:
    expect_plan(stub)
    expect_receive(stub, [message(0), message(1), message(2)])
    stub.add_response("send_message_batch", {
        "Successful": [{"Id": "0", "MessageId": "n0", "MD5OfMessageBody": "x"},
                       {"Id": "2", "MessageId": "n2", "MD5OfMessageBody": "x"}],
        "Failed": [{"Id": "1", "SenderFault": True, "Code": "InvalidParameterValue", "Message": "too big"}],
    }, {"QueueUrl": SRC.url, "Entries": ANY})
    # Only the entries whose send succeeded are deleted.
    stub.add_response("delete_message_batch", {"Successful": [{"Id": "0"}, {"Id": "1"}], "Failed": []},
                      delete_params(["h-0", "h-2"]))
    # The failed one is put back to visibility 0: it stays in the DLQ.
    expect_end(stub, visible=0, release=["h-1"], empties=empties)


def test_partial_batch_failure_deletes_only_what_was_sent(stubbed: tuple[Any, Stubber]) -> None:
    client, stub = stubbed
    script_partial_failure(stub)
    result = redrive(client, DLQ, options=options(), sleep=Sleeps())
    assert result.moved == 2
    assert result.failed_message_ids == ("m-1",)
    assert result.failures["m-1"] == "InvalidParameterValue: too big"
    assert result.partial and result.api_calls == 11  # 4 to plan (with the move-task probe), 7 to move


@pytest.fixture
def stub_session(monkeypatch: pytest.MonkeyPatch, stubbed: tuple[Any, Stubber]) -> Stubber:
    """Every AwsSession hands out the stubbed client (the CLI path, through the real error boundary)."""
    from eda_cli.aws.session import AwsSession

    client, stub = stubbed
    monkeypatch.setattr(AwsSession, "client", lambda self, service: client)
    monkeypatch.setattr(AwsSession, "single_attempt_client", lambda self, service: client)
    monkeypatch.setattr(AwsSession, "unvalidated_client", lambda self, service: client)
    return stub


def expect_resolve(stub: Stubber, ref: QueueRef) -> None:
    stub.add_response("get_queue_url", {"QueueUrl": ref.url}, {"QueueName": ref.name})


def test_partial_batch_failure_exits_4_and_lists_the_failures(
    stub_session: Stubber, cli: Callable[..., Result]
) -> None:
    expect_resolve(stub_session, DLQ)
    # once the plan's 3 messages were seen, the first receive that brings nothing is followed by the depth check
    script_partial_failure(stub_session)
    result = cli("--output", "json", "redrive", "orders-dlq", "--mode", "copy", "--yes",
                 "--concurrency", "1", "--wait-seconds", "0")
    assert result.code == 4, result.stderr
    summary = result.json()
    assert (summary["moved"], summary["failed"], summary["failed_message_ids"]) == (2, 1, ["m-1"])


def test_partial_failure_human_output(stub_session: Stubber, cli: Callable[..., Result]) -> None:
    expect_resolve(stub_session, DLQ)
    script_partial_failure(stub_session)
    result = cli("redrive", "orders-dlq", "--mode", "copy", "--yes", "--concurrency", "1", "--wait-seconds", "0")
    assert result.code == 4, result.stderr
    assert "moved 2 message(s)" in result.stdout
    assert "1 message(s) failed (still in the DLQ)" in result.stdout and "m-1" in result.stdout


def receive_waiting(stub: Stubber, wait: int, messages: list[dict[str, Any]]) -> None:
    stub.add_response("receive_message", {"Messages": messages} if messages else {}, {
        "QueueUrl": DLQ.url, "MaxNumberOfMessages": 10, "VisibilityTimeout": ANY, "WaitTimeSeconds": wait,
        "MessageSystemAttributeNames": system_attributes(DLQ), "MessageAttributeNames": ["All"]})


def test_the_quick_end_falls_back_to_long_polls_when_the_queue_is_not_empty(stubbed: tuple[Any, Stubber]) -> None:
    """The plan's 3 messages are seen: receives stop waiting, and the first empty one asks for the depth. Messages in
    flight that are not the run's (someone else's) keep it going: back to long polls and the empty-streak end."""
    client, stub = stubbed
    expect_plan(stub, visible=3)
    receive_waiting(stub, 0, [message(0), message(1), message(2)])  # 3 could be all: no long poll
    stub.add_response("send_message_batch", sent(0, 1, 2), {"QueueUrl": SRC.url, "Entries": ANY})
    stub.add_response("delete_message_batch", {"Successful": [{"Id": str(i)} for i in range(3)], "Failed": []},
                      delete_params(["h-0", "h-1", "h-2"]))
    receive_waiting(stub, 0, [])
    stub.add_response("get_queue_attributes", {"Attributes": {
        "ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "2",
        "ApproximateNumberOfMessagesDelayed": "0"}}, {"QueueUrl": DLQ.url, "AttributeNames": DEPTH_ATTRIBUTES})
    # not empty: the run ends as it always did (here after 1 empty receive, then a check of what is visible)
    stub.add_response("get_queue_attributes", {"Attributes": {"ApproximateNumberOfMessages": "1"}},
                      {"QueueUrl": DLQ.url, "AttributeNames": ["ApproximateNumberOfMessages"]})
    receive_waiting(stub, 5, [])  # a long poll again
    stub.add_response("get_queue_attributes", {"Attributes": {"ApproximateNumberOfMessages": "0"}},
                      {"QueueUrl": DLQ.url, "AttributeNames": ["ApproximateNumberOfMessages"]})
    stub.add_response("get_queue_attributes", {"Attributes": {"ApproximateNumberOfMessages": "0"}}, None)
    result = redrive(client, DLQ, options=options(wait_seconds=5), sleep=Sleeps())
    assert (result.moved, result.failed, result.left_in_dlq) == (3, 0, 0)


@pytest.mark.parametrize("seen, claimed, concurrency, wait", [
    (250, 20, 10, 0),   # 30 left unasked, 10 workers: one round of receives could take them all: no long poll
    (190, 10, 10, 0),   # exactly a round (100) left
    (180, 10, 10, 5),   # more than a round left: long polls, as always
    (280, 0, 1, 5),     # one worker: only its own receive counts (20 left, it asks for 10)
    (290, 0, 1, 0),
])
def test_receives_stop_long_polling_a_round_before_the_end(seen: int, claimed: int, concurrency: int,
                                                            wait: int) -> None:
    """A long poll for the last few messages can lose them to receives that reach SQS after it and then wait its
    whole wait for nothing, holding the end (on moto: a 1 s tail in about a third of 300-message runs)."""
    from types import SimpleNamespace

    from eda_cli.core.redrive.copy import CopyRun

    run = SimpleNamespace(quick_end=True, seen=seen, claimed=claimed, plan=SimpleNamespace(visible=300),
                          options=SimpleNamespace(concurrency=concurrency, wait_seconds=5))
    assert CopyRun._wait_seconds(run, 10) == wait  # type: ignore[arg-type]
    run.quick_end = False  # the quick end gave way (the queue was not empty): long polls again
    assert CopyRun._wait_seconds(run, 10) == 5  # type: ignore[arg-type]


# -- retries ---------------------------------------------------------------------------------------


def test_throttling_and_5xx_answers_are_retried_and_nothing_is_lost(stubbed: tuple[Any, Stubber]) -> None:
    client, stub = stubbed
    expect_plan(stub)
    stub.add_client_error("receive_message", "InternalError", "boom", 500)
    expect_receive(stub, [message(0), message(1)])
    stub.add_client_error("send_message_batch", "ThrottlingException", "slow down", 400)
    stub.add_client_error("send_message_batch", "ServiceUnavailable", "later", 503)
    stub.add_response("send_message_batch", sent(0, 1), {"QueueUrl": SRC.url, "Entries": ANY})
    stub.add_client_error("delete_message_batch", "RequestThrottled", "slow down", 400)
    stub.add_response("delete_message_batch", {"Successful": [{"Id": "0"}, {"Id": "1"}], "Failed": []},
                      delete_params(["h-0", "h-1"]))
    expect_end(stub)
    sleeps = Sleeps()
    result = redrive(client, DLQ, options=options(), sleep=sleeps)
    assert (result.moved, result.failed, result.not_deleted_message_ids) == (2, 0, ())
    assert len(sleeps) == 4  # one backoff per retried call
    assert any("retried" in note for note in result.notes)


def test_server_side_entry_failures_are_resent_with_the_same_dedup_id(stubbed: tuple[Any, Stubber]) -> None:
    """FIFO: a resent entry carries the same deduplication id, so SQS cannot enqueue it twice."""
    client, stub = stubbed
    expect_plan(stub, FDLQ, FSRC)
    expect_receive(stub, [message(0, "g"), message(1, "g")], FDLQ)
    first: dict[str, Any] = {}

    def entry(i: int) -> dict[str, Any]:
        return {"Id": str(i), "MessageBody": json.dumps({"id": i}),
                "MessageAttributes": {"amount": {"DataType": "Number.float", "StringValue": "1.5"},
                                      "sig": {"DataType": "Binary", "BinaryValue": b"\x00\xff"}},
                "MessageGroupId": "g", "MessageDeduplicationId": dedup_id("run-1", f"m-{i}")}

    first = {"QueueUrl": FSRC.url, "Entries": [entry(0), entry(1)]}
    stub.add_response("send_message_batch", {
        "Successful": [{"Id": "0", "MessageId": "n0", "MD5OfMessageBody": "x"}],
        "Failed": [{"Id": "1", "SenderFault": False, "Code": "InternalError"}]}, first)
    stub.add_response("send_message_batch", {"Successful": [{"Id": "1", "MessageId": "n1", "MD5OfMessageBody": "x"}],
                                             "Failed": []}, {"QueueUrl": FSRC.url, "Entries": [entry(1)]})
    stub.add_response("delete_message_batch", {"Successful": [{"Id": "0"}, {"Id": "1"}], "Failed": []},
                      delete_params(["h-0", "h-1"], FDLQ))
    expect_end(stub, dlq=FDLQ)
    plan = plan_redrive(client, FDLQ, options=options(), run_id="run-1")
    result = run_redrive(client, plan, sleep=Sleeps())
    assert (result.moved, result.failed) == (2, 0)
    assert dedup_id("run-1", "m-1") != dedup_id("run-2", "m-1")


def test_trace_header_is_sent_as_a_system_attribute(stubbed: tuple[Any, Stubber]) -> None:
    """moto drops AWSTraceHeader on SendMessageBatch, so what eda sends is checked here."""
    client, stub = stubbed
    expect_plan(stub)
    expect_receive(stub, [message(0, trace="Root=1-5759e988-bd862e3fe1be46a994272793")])
    stub.add_response("send_message_batch", {"Successful": [{"Id": "0", "MessageId": "n0", "MD5OfMessageBody": "x"}],
                                             "Failed": []},
                      {"QueueUrl": SRC.url, "Entries": [{
                          "Id": "0", "MessageBody": json.dumps({"id": 0}),
                          "MessageAttributes": {"amount": {"DataType": "Number.float", "StringValue": "1.5"},
                                                "sig": {"DataType": "Binary", "BinaryValue": b"\x00\xff"}},
                          "MessageSystemAttributes": {"AWSTraceHeader": {
                              "DataType": "String", "StringValue": "Root=1-5759e988-bd862e3fe1be46a994272793"}}}]})
    stub.add_response("delete_message_batch", {"Successful": [{"Id": "0"}], "Failed": []}, delete_params(["h-0"]))
    expect_end(stub)
    assert redrive(client, DLQ, options=options(), sleep=Sleeps()).moved == 1


def test_an_error_before_anything_moved_exits_3_and_puts_messages_back(stub_session: Stubber,
                                                                       cli: Callable[..., Result]) -> None:
    expect_resolve(stub_session, DLQ)
    expect_plan(stub_session)
    expect_receive(stub_session, [message(0), message(1)])
    stub_session.add_client_error("send_message_batch", "AccessDenied", "not allowed", 403)
    stub_session.add_response(
        "change_message_visibility_batch", {"Successful": [{"Id": "0"}, {"Id": "1"}], "Failed": []},
        {"QueueUrl": DLQ.url, "Entries": [{"Id": "0", "ReceiptHandle": "h-0", "VisibilityTimeout": 0},
                                          {"Id": "1", "ReceiptHandle": "h-1", "VisibilityTimeout": 0}]})
    stub_session.add_response("get_queue_attributes", {"Attributes": {"ApproximateNumberOfMessages": "2"}}, None)
    result = cli("redrive", "orders-dlq", "--mode", "copy", "--yes", "--concurrency", "1", "--wait-seconds", "0")
    assert_one_line_error(result, 3)
    assert "access denied" in result.stderr


def test_an_error_after_some_moved_is_partial(stubbed: tuple[Any, Stubber]) -> None:
    client, stub = stubbed
    expect_plan(stub)
    expect_receive(stub, [message(0)])
    stub.add_response("send_message_batch", {"Successful": [{"Id": "0", "MessageId": "n0", "MD5OfMessageBody": "x"}],
                                             "Failed": []}, None)
    stub.add_response("delete_message_batch", {"Successful": [{"Id": "0"}], "Failed": []}, None)
    expect_receive(stub, [message(1)])
    stub.add_client_error("send_message_batch", "AccessDenied", "not allowed", 403)
    stub.add_response("change_message_visibility_batch", {"Successful": [{"Id": "0"}], "Failed": []}, None)
    stub.add_response("get_queue_attributes", {"Attributes": {"ApproximateNumberOfMessages": "1"}}, None)
    result = redrive(client, DLQ, options=options(), sleep=Sleeps())
    assert (result.moved, result.failed_message_ids) == (1, ("m-1",))
    assert result.error is not None and "access denied" in result.error
    assert result.partial


def test_a_failed_delete_is_reported_and_a_redelivery_is_deleted_not_resent(stubbed: tuple[Any, Stubber]) -> None:
    client, stub = stubbed
    expect_plan(stub)
    expect_receive(stub, [message(0), message(1)])
    stub.add_response("send_message_batch", sent(0, 1), None)
    stub.add_response("delete_message_batch", {"Successful": [{"Id": "0"}], "Failed": [
        {"Id": "1", "SenderFault": True, "Code": "ReceiptHandleIsInvalid"}]}, None)
    # m-1 comes back (its visibility ran out): eda deletes it with the new handle, and sends nothing.
    again = message(1)
    again["ReceiptHandle"] = "h-1-again"
    expect_receive(stub, [again])
    stub.add_response("delete_message_batch", {"Successful": [{"Id": "0"}], "Failed": []}, delete_params(["h-1-again"]))
    expect_end(stub, empties=0)  # that receive brought nothing new: the depth check follows
    result = redrive(client, DLQ, options=options(), sleep=Sleeps())
    assert (result.moved, result.failed, result.not_deleted_message_ids, result.error) == (2, 0, (), None)


# -- several sources -------------------------------------------------------------------------------


class _WithSourceArn(AwsFake, service="sqs", wraps_real_client=True):
    """A moto client whose received messages say which source they came from, as SQS does; what it
    answers is checked against botocore's model."""

    def __init__(self, client: Any, source_of: Callable[[dict[str, Any]], str]) -> None:
        self._client = client
        self._source_of = source_of

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def receive_message(self, **kwargs: Any) -> Any:
        answer = self._client.receive_message(**kwargs)
        for raw in answer.get("Messages", []):
            raw.setdefault("Attributes", {})["DeadLetterQueueSourceArn"] = self._source_of(raw)
        return answer


def test_each_message_goes_back_to_its_own_source(boto: Callable[[str], Any], account: str) -> None:
    sqs = boto("sqs")
    (first, second), dlq_url = make_pipeline(sqs, sources=2)
    fill(sqs, dlq_url, 10, attributes=False, body=lambda i: {"from": "orders-1" if i % 3 else "orders-2"})
    arn = f"arn:aws:sqs:{REGION}:{account}:"
    proxy = _WithSourceArn(sqs, lambda raw: arn + json.loads(raw["Body"])["from"])
    result = redrive(proxy, QueueRef("orders-dlq", dlq_url, arn + "orders-dlq"),
                     options=RedriveOptions(concurrency=1, wait_seconds=0), sleep=Sleeps())
    assert result.mode == "copy" and "routing each message" in result.mode_reason
    assert result.moved_by_target == {"orders-1": 6, "orders-2": 4}
    for url, name in ((first, "orders-1"), (second, "orders-2")):
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        assert {json.loads(m["Body"])["from"] for m in got} == {name}


# -- throttling and 5xx at the HTTP level, with botocore's own retries -----------------------------


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._body


def test_injected_http_faults_lose_nothing(boto: Callable[[str], Any]) -> None:
    from botocore.awsrequest import AWSResponse

    sqs = boto("sqs")
    (source,), dlq_url = make_pipeline(sqs)
    ids = fill(sqs, dlq_url, 30)
    faults = {"SendMessageBatch": [503, 400], "DeleteMessageBatch": [400, 500], "ReceiveMessage": [500]}
    seen: dict[str, int] = {}

    def inject(request: Any, event_name: str, **kwargs: Any) -> Any:
        operation_name = event_name.rsplit(".", 1)[-1]
        seen[operation_name] = seen.get(operation_name, 0) + 1
        pending = faults.get(operation_name)
        if not pending or seen[operation_name] % 2:  # every other attempt fails, until the list is used up
            return None
        status = pending.pop(0)
        if status == 400:
            assert_known_error("sqs", operation_name, "ThrottlingException")
        body = json.dumps({"__type": "com.amazonaws.sqs#ThrottlingException", "message": "Rate exceeded"}) \
            if status == 400 else "<html>oops</html>"
        headers: Any = {"Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, status, headers, _Raw(body.encode()))

    sqs.meta.events.register("before-send.sqs", inject)
    result = redrive(sqs, QueueRef("orders-dlq", dlq_url, f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders-dlq"),
                     options=RedriveOptions(mode="copy", concurrency=1, wait_seconds=0))
    sqs.meta.events.unregister("before-send.sqs", inject)
    assert not any(faults.values()), faults  # every fault was served
    assert (result.moved, result.failed, result.not_deleted_message_ids) == (30, 0, ())
    got = []
    while batch := sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages"):
        got += [json.loads(m["Body"])["id"] for m in batch]
    assert sorted(got) == sorted(ids)


# -- native mode -----------------------------------------------------------------------------------


def task(status: str, moved: int, to_move: int = 3, handle: str | None = "t-1", reason: str | None = None) -> dict:
    raw: dict[str, Any] = {"Status": status, "SourceArn": DLQ.arn, "ApproximateNumberOfMessagesMoved": moved,
                           "ApproximateNumberOfMessagesToMove": to_move, "StartedTimestamp": 1700000000000,
                           "MaxNumberOfMessagesPerSecond": 50}
    if handle:
        raw["TaskHandle"] = handle
    if reason:
        raw["FailureReason"] = reason
    return raw


def test_auto_chooses_native_where_supported_and_watches_the_task(stubbed: tuple[Any, Stubber]) -> None:
    client, stub = stubbed
    expect_plan(stub, tasks=[task("COMPLETED", 9, handle=None)], native=True)
    expect_depth(stub, SRC, 5)
    # The only source is named: a move task without DestinationArn fails on messages SQS did not
    # dead-letter itself (no DeadLetterQueueSourceArn).
    stub.add_response("start_message_move_task", {"TaskHandle": "t-1"},
                      {"SourceArn": DLQ.arn, "DestinationArn": SRC.arn, "MaxNumberOfMessagesPerSecond": 50})
    stub.add_response("list_message_move_tasks", {"Results": [task("RUNNING", 1)]}, None)
    stub.add_response("list_message_move_tasks", {"Results": [task("COMPLETED", 3, handle=None)]}, None)
    expect_depth(stub, SRC, 8)  # the 3 arrived
    expect_depth(stub, DLQ, 0)
    seen: list[RedriveProgress] = []
    plan = plan_redrive(client, DLQ, options=RedriveOptions(rate=50))
    assert plan.mode == "native" and "supports move tasks" in plan.mode_reason
    result = run_redrive(client, plan, sleep=Sleeps(), on_progress=seen.append)
    assert (result.mode, result.moved, result.error, result.unverified) == ("native", 3, None, 0)
    assert (result.moved_by_target, result.left_in_dlq, result.task_reported_moved) == ({"orders": 3}, 0, 3)
    assert not result.partial
    assert [p.moved for p in seen] == [1, 3] and seen[0].total == 3


def test_a_move_task_whose_messages_do_not_arrive_is_partial(stubbed: tuple[Any, Stubber]) -> None:
    """A move task that counts messages as moved while the destination never gets them (LocalStack's FIFO
    move tasks re-send with the original deduplication ids, which the source drops): eda reports as moved
    only what it saw arrive."""
    client, stub = stubbed
    expect_plan(stub, native=True)
    expect_depth(stub, SRC, 0)
    stub.add_response("start_message_move_task", {"TaskHandle": "t-1"}, None)
    stub.add_response("list_message_move_tasks", {"Results": [task("COMPLETED", 3, handle=None)]}, None)
    for _ in range(5):  # SQS's counts may lag: read a few times before saying so
        expect_depth(stub, SRC, 1)
    expect_depth(stub, DLQ, 0)
    sleeps = Sleeps()
    result = redrive(client, DLQ, options=RedriveOptions(mode="native"), sleep=sleeps)
    assert (result.moved, result.task_reported_moved, result.unverified) == (1, 3, 2)
    assert result.partial and result.moved_by_target == {"orders": 1}
    assert any("2 are unaccounted for" in note for note in result.notes)
    assert len(sleeps) == 1 + 4  # one poll of the task, four waits between depth reads


def test_auto_copies_a_fifo_dlq_unless_told_native(stubbed: tuple[Any, Stubber]) -> None:
    client, stub = stubbed
    expect_plan(stub, FDLQ, FSRC)
    plan = plan_redrive(client, FDLQ, options=RedriveOptions())
    assert plan.mode == "copy" and "FIFO" in plan.mode_reason
    expect_plan(stub, FDLQ, FSRC, native=True)
    native = plan_redrive(client, FDLQ, options=RedriveOptions(mode="native"))
    assert native.mode == "native" and any("FIFO" in note for note in native.notes)


@pytest.mark.parametrize("mode", ["auto", "copy", "native"])
def test_every_mode_refuses_while_a_move_task_runs(stubbed: tuple[Any, Stubber], mode: str) -> None:
    from eda_cli.errors import AwsError

    client, stub = stubbed
    expect_plan(stub, tasks=[task("RUNNING", 1)])
    with pytest.raises(AwsError, match="already running"):
        plan_redrive(client, DLQ, options=RedriveOptions(mode=mode))
    expect_plan(stub, tasks=[task("RUNNING", 1)], native=mode != "copy")
    dry = plan_redrive(client, DLQ, options=RedriveOptions(mode=mode, dry_run=True))
    assert any("a real run would be refused" in note for note in dry.notes)


def test_a_second_start_refused_by_sqs_exits_3(stub_session: Stubber, cli: Callable[..., Result]) -> None:
    """A task started by someone else between eda's probe and its start: SQS says no (exit 3, not 2)."""
    expect_resolve(stub_session, DLQ)
    expect_plan(stub_session, native=True)
    expect_depth(stub_session, SRC, 0)
    stub_session.add_client_error("start_message_move_task", "InvalidParameterValue",
                                  "There is already a task running.", 400)
    result = cli("redrive", "orders-dlq", "--mode", "native", "--yes")
    assert_one_line_error(result, 3)
    assert "already a task running" in result.stderr


def test_native_rate_above_500_is_refused(stubbed: tuple[Any, Stubber]) -> None:
    from eda_cli.errors import UsageError

    client, stub = stubbed
    expect_plan(stub)
    with pytest.raises(UsageError, match="500"):
        plan_redrive(client, DLQ, options=RedriveOptions(mode="native", rate=900))


def test_auto_falls_back_to_copy_when_a_task_is_unsupported(stubbed: tuple[Any, Stubber]) -> None:
    from eda_cli.errors import AwsError

    client, stub = stubbed
    expect_plan(stub, tasks=UNSUPPORTED)
    plan = plan_redrive(client, DLQ, options=RedriveOptions())
    assert plan.mode == "copy" and "HTTP 500" in plan.mode_reason
    expect_plan(stub, tasks=UNSUPPORTED)
    with pytest.raises(AwsError, match="does not support message move tasks"):
        plan_redrive(client, DLQ, options=RedriveOptions(mode="native"))


def test_a_failed_move_task_that_moved_nothing_exits_3(stub_session: Stubber, cli: Callable[..., Result],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import eda_cli.core.redrive.native as core

    monkeypatch.setattr(core, "NATIVE_POLL_SECONDS", 0.0)
    expect_resolve(stub_session, DLQ)
    expect_plan(stub_session, native=True)
    expect_depth(stub_session, SRC, 0)
    stub_session.add_response("start_message_move_task", {"TaskHandle": "t-1"},
                              {"SourceArn": DLQ.arn, "DestinationArn": SRC.arn})
    stub_session.add_response("list_message_move_tasks", {"Results": [
        task("FAILED", 0, handle=None, reason="AWS.SimpleQueueService.NonExistentQueue")]}, None)
    expect_depth(stub_session, DLQ, 3)
    result = cli("redrive", "orders-dlq", "--mode", "native", "--yes")
    assert_one_line_error(result, 3)
    assert "move task failed" in result.stderr and "NonExistentQueue" in result.stderr


def test_ctrl_c_cancels_the_move_task(stubbed: tuple[Any, Stubber]) -> None:
    client, stub = stubbed
    expect_plan(stub, native=True)
    expect_depth(stub, SRC, 0)
    stub.add_response("start_message_move_task", {"TaskHandle": "t-1"}, None)
    stub.add_response("list_message_move_tasks", {"Results": [task("RUNNING", 1)]}, None)
    stub.add_response("cancel_message_move_task", {"ApproximateNumberOfMessagesMoved": 2}, {"TaskHandle": "t-1"})
    expect_depth(stub, SRC, 2)
    expect_depth(stub, DLQ, 1)

    calls = Sleeps()

    def sleep(seconds: float) -> None:
        calls(seconds)
        if len(calls) == 2:
            raise KeyboardInterrupt

    result = redrive(client, DLQ, options=RedriveOptions(mode="native"), sleep=sleep)
    assert (result.interrupted, result.moved, result.left_in_dlq) == (True, 2, 1)


def test_status_and_cancel(stub_session: Stubber, cli: Callable[..., Result]) -> None:
    def resolve() -> None:
        expect_resolve(stub_session, DLQ)
        stub_session.add_response("get_queue_attributes", attrs(DLQ), None)

    resolve()
    stub_session.add_response("list_message_move_tasks",
                              {"Results": [task("RUNNING", 1), task("COMPLETED", 5, 5, None)]},
                              {"SourceArn": DLQ.arn, "MaxResults": 10})
    resolve()
    stub_session.add_response("list_message_move_tasks", {"Results": [task("RUNNING", 1)]}, None)
    stub_session.add_response("cancel_message_move_task", {"ApproximateNumberOfMessagesMoved": 2},
                              {"TaskHandle": "t-1"})
    resolve()
    stub_session.add_response("list_message_move_tasks", {"Results": [task("CANCELLED", 2, handle=None)]}, None)
    status = cli("--output", "json", "redrive", "status", "orders-dlq")
    assert status.code == 0, status.stderr
    assert [t["status"] for t in status.items()] == ["RUNNING", "COMPLETED"]
    cancel = cli("--output", "json", "redrive", "cancel", "orders-dlq")
    assert cancel.code == 0 and cancel.json()["cancelled"] is True and cancel.json()["moved"] == 2
    nothing = cli("redrive", "cancel", "orders-dlq")
    assert nothing.code == 1 and "no move task is running" in nothing.stdout


# -- pieces ----------------------------------------------------------------------------------------


def test_split_by_size_keeps_order_and_limits() -> None:
    sizes = [10] * 25 + [600_000, 600_000, 500_000, 48_576, 1]
    batches = list(split_by_size(sizes, lambda s: s))
    assert [s for b in batches for s in b] == sizes
    assert all(len(b) <= 10 and sum(b) <= MAX_BATCH_BYTES for b in batches)
    assert batches == [[10] * 10, [10] * 10, [10] * 5 + [600_000], [600_000], [500_000, 48_576, 1]]


def test_token_bucket_holds_the_rate_across_workers() -> None:
    import threading

    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(5, clock=lambda: now[0], sleep=sleep)
    stop = threading.Event()
    taken = 0
    while now[0] < 10:
        assert bucket.acquire(bucket.batch, stop)
        taken += bucket.batch
    assert bucket.batch == 5 and 50 <= taken <= 60  # 5 per second for 10 s, plus the first burst


def test_the_commands_default_concurrency_is_the_cores() -> None:
    from eda_cli.commands import redrive as command
    from eda_cli.core import redrive as core

    assert command.DEFAULT_CONCURRENCY == core.DEFAULT_CONCURRENCY


class _Tty:
    def __init__(self) -> None:
        import io

        self.buffer = io.StringIO()

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return self.buffer.write(text)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize(("output", "tty", "shown"), [("table", True, True), ("json", True, False),
                                                      ("table", False, False)])
def test_a_progress_bar_only_for_people_on_a_terminal(output: str, tty: bool, shown: bool) -> None:
    import io

    from eda_cli.commands.redrive import _Bar
    from eda_cli.render import Renderer

    stderr: Any = _Tty() if tty else io.StringIO()
    renderer = Renderer(output=output, color=False, stdout=io.StringIO(), stderr=stderr)
    with _Bar(renderer, "redrive orders-dlq", enabled=True) as bar:
        bar.update(RedriveProgress(moved=5, skipped=1, failed=0, total=10, elapsed=1.0))
        assert (bar._progress is not None) is shown


def test_auto_never_starts_a_move_task_on_a_dlq_that_also_holds_eventbridge_dead_letters(
        stubbed: tuple[Any, Stubber]) -> None:
    """A move task would send EventBridge's dead letters to the source queue: a peek that finds one makes
    auto mode copy (each goes to its target), and --mode native is refused."""
    from eda_cli.errors import UsageError

    client, stub = stubbed
    rule = "arn:aws:events:us-east-1:123456789012:rule/orders-bus/eu-orders"
    message = {"MessageId": "m-1", "ReceiptHandle": "r-1", "Body": "{}", "MessageAttributes": {
        "RULE_ARN": {"DataType": "String", "StringValue": rule},
        "TARGET_ARN": {"DataType": "String", "StringValue": SRC.arn}}}
    for mode in ("auto", "native"):
        expect_plan(stub)
        stub.add_response("receive_message", {"Messages": [message]}, {
            "QueueUrl": DLQ.url, "MaxNumberOfMessages": 10, "VisibilityTimeout": 0, "WaitTimeSeconds": ANY,
            "MessageAttributeNames": ["RULE_ARN", "TARGET_ARN"]})
        if mode == "auto":
            plan = plan_redrive(client, DLQ, options=RedriveOptions())
            assert plan.mode == "copy" and "EventBridge" in plan.mode_reason
            assert any("also holds events EventBridge could not deliver" in note for note in plan.notes)
        else:
            with pytest.raises(UsageError, match="--mode native cannot do"):
                plan_redrive(client, DLQ, options=RedriveOptions(mode="native"))
