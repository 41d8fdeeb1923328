"""`eda dlq` end to end against a moto server over HTTP."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.aws_shapes import AwsFake
from tests.fixtures.cli import Result, assert_one_line_error


def make_pipeline(sqs: Any, name: str = "orders", max_receive: int = 3, fifo: bool = False) -> tuple[str, str]:
    """A source queue with a DLQ; returns (source_url, dlq_url)."""
    suffix = ".fifo" if fifo else ""
    extra = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
    dlq = sqs.create_queue(QueueName=f"{name}-dlq{suffix}",
                           Attributes={"MessageRetentionPeriod": "1209600", **extra})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive)})
    source = sqs.create_queue(
        QueueName=f"{name}{suffix}",
        Attributes={"RedrivePolicy": policy, "MessageRetentionPeriod": "345600", **extra},
    )["QueueUrl"]
    return source, dlq


def poison(sqs: Any, source_url: str, body: str, max_receive: int = 3, **kwargs: Any) -> None:
    """Send a message and receive it past maxReceiveCount, so SQS moves it to the DLQ."""
    sqs.send_message(QueueUrl=source_url, MessageBody=body, **kwargs)
    for _ in range(max_receive + 1):
        sqs.receive_message(QueueUrl=source_url, VisibilityTimeout=0, MaxNumberOfMessages=10)


def depth(sqs: Any, url: str) -> dict[str, int]:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return {
        "visible": int(attrs["ApproximateNumberOfMessages"]),
        "in_flight": int(attrs["ApproximateNumberOfMessagesNotVisible"]),
    }


def test_list_finds_redrive_targets_and_dlqs_by_name(eda: Callable[..., Result], boto: Any) -> None:
    sqs = boto("sqs")
    make_pipeline(sqs, "orders")
    make_pipeline(sqs, "payments", max_receive=5)
    sqs.create_queue(QueueName="notify-lambda-dlq")
    sqs.create_queue(QueueName="plain-queue")
    result = eda("--output", "json", "dlq", "list")
    assert result.code == 0, result.stderr
    rows = {row["queue"]: row for row in result.items()}
    assert set(rows) == {"orders-dlq", "payments-dlq", "notify-lambda-dlq"}
    assert rows["orders-dlq"]["found_by"] == "sqs redrive policy"
    assert rows["orders-dlq"]["sources"][0]["queue"] == "orders"
    assert rows["orders-dlq"]["sources"][0]["kind"] == "sqs redrive policy"
    assert rows["payments-dlq"]["sources"][0]["max_receive_count"] == 5
    assert rows["notify-lambda-dlq"]["found_by"] == "by name"
    assert rows["notify-lambda-dlq"]["sources"] == []


def test_list_paginates_past_one_page(eda: Callable[..., Result], boto: Any) -> None:
    """ListQueues returns at most 1000 per page; eda must follow NextToken."""
    sqs = boto("sqs")
    for i in range(1005):
        sqs.create_queue(QueueName=f"q{i:04d}" + ("-dlq" if i in (3, 1004) else ""))
    result = eda("--output", "json", "dlq", "list")
    assert result.code == 0, result.stderr
    assert {row["queue"] for row in result.items()} == {"q0003-dlq", "q1004-dlq"}


def test_inspect_json_agrees_with_get_queue_attributes(eda: Callable[..., Result], boto: Any) -> None:
    sqs = boto("sqs")
    source, dlq = make_pipeline(sqs)
    for i in range(3):
        poison(sqs, source, json.dumps({"orderId": i}))
    sqs.send_message(QueueUrl=dlq, MessageBody="late", DelaySeconds=60)
    result = eda("--output", "json", "dlq", "inspect")
    assert result.code == 0, result.stderr
    [row] = result.items()
    attrs = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["All"])["Attributes"]
    assert row["visible"] == int(attrs["ApproximateNumberOfMessages"]) == 3
    assert row["in_flight"] == int(attrs["ApproximateNumberOfMessagesNotVisible"])
    assert row["delayed"] == int(attrs["ApproximateNumberOfMessagesDelayed"]) == 1
    assert row["retention_seconds"] == int(attrs["MessageRetentionPeriod"])
    assert row["retention_ok"] is True
    orders_arn = sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert row["sources"] == [{"kind": "sqs redrive policy", "owner": "orders", "arn": orders_arn, "queue": "orders",
                               "max_receive_count": 3, "retention_seconds": 345600}]
    assert row["alarm"] is False
    assert row["oldest_age_seconds"] is None  # moto publishes no SQS metrics
    assert set(row) >= {"queue", "url", "arn", "fifo", "visible", "in_flight", "delayed",
                        "oldest_age_seconds", "sources", "alarm", "retention_seconds"}


AWS_CLI = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")


@pytest.mark.skipif(AWS_CLI is None, reason="the AWS CLI is not installed")
def test_inspect_agrees_with_the_aws_cli(eda: Callable[..., Result], boto: Any, endpoint: str) -> None:
    sqs = boto("sqs")
    source, dlq = make_pipeline(sqs)
    other_source, other_dlq = make_pipeline(sqs, "payments")
    for i in range(4):
        poison(sqs, source, f"m{i}")
    poison(sqs, other_source, "x")
    rows = {row["url"]: row for row in eda("--output", "json", "dlq", "inspect").items()}
    for url in (dlq, other_dlq):
        cli = subprocess.run(
            [str(AWS_CLI), "--region", "us-east-1", "--endpoint-url", endpoint, "sqs", "get-queue-attributes",
             "--queue-url", url, "--attribute-names", "All", "--output", "json"],
            capture_output=True, text=True,
        )
        assert cli.returncode == 0, cli.stderr
        attrs = json.loads(cli.stdout)["Attributes"]
        assert rows[url]["visible"] == int(attrs["ApproximateNumberOfMessages"])
        assert rows[url]["in_flight"] == int(attrs["ApproximateNumberOfMessagesNotVisible"])
        assert rows[url]["delayed"] == int(attrs["ApproximateNumberOfMessagesDelayed"])
        assert rows[url]["arn"] == attrs["QueueArn"]


def test_inspect_alarm_age_and_named_queue(eda: Callable[..., Result], boto: Any) -> None:
    sqs, cloudwatch = boto("sqs"), boto("cloudwatch")
    source, dlq = make_pipeline(sqs)
    poison(sqs, source, "x")
    cloudwatch.put_metric_alarm(
        AlarmName="orders-dlq-depth", Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": "orders-dlq"}], Statistic="Maximum", Period=60,
        EvaluationPeriods=1, Threshold=0, ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.put_metric_data(Namespace="AWS/SQS", MetricData=[{
        "MetricName": "ApproximateAgeOfOldestMessage", "Unit": "Seconds", "Value": 321.0,
        "Dimensions": [{"Name": "QueueName", "Value": "orders-dlq"}],
    }])
    result = eda("--output", "json", "dlq", "inspect", dlq)
    assert result.code == 0, result.stderr
    [row] = result.items()
    assert row["queue"] == "orders-dlq"
    assert row["alarm"] is True and row["alarm_names"] == ["orders-dlq-depth"]
    assert row["oldest_age_seconds"] == 321.0
    assert row["sources"][0]["queue"] == "orders"


def test_inspect_fail_above_exits_1(eda: Callable[..., Result], boto: Any) -> None:
    sqs = boto("sqs")
    source, _ = make_pipeline(sqs)
    poison(sqs, source, "a")
    poison(sqs, source, "b")
    assert eda("dlq", "inspect", "--fail-above", "2").code == 0
    failing = eda("dlq", "inspect", "--fail-above", "1")
    assert failing.code == 1
    assert "orders-dlq: 2 visible > 1" in failing.stderr


def test_inspect_table_when_piped(eda: Callable[..., Result], boto: Any) -> None:
    sqs = boto("sqs")
    make_pipeline(sqs)
    result = eda("dlq", "inspect")
    assert result.code == 0
    header = result.stdout.splitlines()[0]
    assert header.split()[:4] == ["DLQ", "Visible", "In", "flight"]
    assert "orders-dlq" in result.stdout and "\x1b[" not in result.stdout


@pytest.mark.parametrize("fmt", ["yaml", "csv", "jsonl"])
def test_inspect_other_formats(eda: Callable[..., Result], boto: Any, fmt: str) -> None:
    make_pipeline(boto("sqs"))
    result = eda("--output", fmt, "dlq", "inspect")
    assert result.code == 0
    if fmt == "yaml":
        import yaml

        assert yaml.safe_load(result.stdout)["items"][0]["queue"] == "orders-dlq"
    elif fmt == "csv":
        assert result.stdout.splitlines()[0].startswith("queue,url,arn,fifo,visible")
    else:
        assert json.loads(result.stdout.splitlines()[0])["queue"] == "orders-dlq"


def test_peek_does_not_consume_and_keeps_every_attribute(eda: Callable[..., Result], boto: Any) -> None:
    sqs = boto("sqs")
    source, dlq = make_pipeline(sqs)
    poison(sqs, source, json.dumps({"orderId": "o-1", "correlationId": "c-1"}), MessageAttributes={
        "tenant": {"DataType": "String.tenant", "StringValue": "acme"},
        "amount": {"DataType": "Number.float", "StringValue": "12.50"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xffraw"},
        "plain": {"DataType": "String", "StringValue": "v"},
    })
    before = depth(sqs, dlq)
    result = eda("--output", "json", "dlq", "peek", "orders-dlq")
    assert result.code == 0, result.stderr
    [message] = result.items()
    assert message["body"] == {"orderId": "o-1", "correlationId": "c-1"}
    # Received maxReceiveCount (3) times by the "consumer"; the receive that moved it delivered nothing,
    # and the peek's own receive is not counted.
    assert message["receive_count"] == 3
    assert message["message_attributes"] == {
        "amount": {"type": "Number.float", "value": "12.50"},
        "blob": {"type": "Binary", "value": "AP9yYXc=", "encoding": "base64"},
        "plain": {"type": "String", "value": "v"},
        "tenant": {"type": "String.tenant", "value": "acme"},
    }
    assert message["sent_at"].endswith("Z")
    assert "SentTimestamp" in message["attributes"]
    # Nothing consumed, nothing left hidden: the message is visible again at once.
    assert depth(sqs, dlq) == before == {"visible": 1, "in_flight": 0}
    again = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0)
    assert len(again.get("Messages", [])) == 1


def test_peek_reads_past_the_first_batch_without_duplicates(eda: Callable[..., Result], boto: Any) -> None:
    sqs = boto("sqs")
    dlq = sqs.create_queue(QueueName="big-dlq")["QueueUrl"]
    for i in range(25):
        sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"n": i}))
    result = eda("--output", "json", "dlq", "peek", "big-dlq", "--max", "100")
    assert result.code == 0, result.stderr
    bodies = [m["body"]["n"] for m in result.items()]
    assert sorted(bodies) == list(range(25))
    assert depth(sqs, dlq) == {"visible": 25, "in_flight": 0}
    limited = eda("--output", "json", "dlq", "peek", "big-dlq", "--max", "7").items()
    assert len(limited) == 7 and len({m["message_id"] for m in limited}) == 7


def test_peek_group_by_error(eda: Callable[..., Result], boto: Any) -> None:
    sqs = boto("sqs")
    dlq = sqs.create_queue(QueueName="notify-lambda-dlq")["QueueUrl"]

    def lambda_failure(message: str, request: str) -> None:
        sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"orderId": request}), MessageAttributes={
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {"DataType": "String", "StringValue": message},
            "RequestID": {"DataType": "String", "StringValue": request},
        })

    lambda_failure("Task timed out after 3.00 seconds", "r1")
    lambda_failure("Task timed out after 3.00 seconds", "r2")
    lambda_failure("KeyError: 'email'", "r3")
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"a": 1, "b": 2}))
    result = eda("--output", "json", "dlq", "peek", "notify-lambda-dlq", "--group-by", "error")
    assert result.code == 0, result.stderr
    groups = {g["signature"]: g for g in result.items()}
    assert groups["error: [200] Task timed out after 3.00 seconds"]["count"] == 2
    assert groups["error: [200] KeyError: 'email'"]["count"] == 1
    assert groups["json {a, b}"]["count"] == 1
    assert result.items()[0]["count"] == 2  # largest group first
    human = eda("dlq", "peek", "notify-lambda-dlq", "--group-by", "error")
    assert "Task timed out" in human.stdout


def test_peek_groups_eventbridge_target_dlq_messages_by_their_error(eda: Callable[..., Result], boto: Any) -> None:
    """EventBridge writes the failure as ERROR_CODE and ERROR_MESSAGE (String attributes): that is the error
    of the message, as Lambda's ErrorCode and ErrorMessage are."""
    sqs = boto("sqs")
    dlq = sqs.create_queue(QueueName="undelivered-events")["QueueUrl"]
    event = {"version": "0", "id": "e1", "detail-type": "order.created", "source": "shop", "detail": {"a": 1}}
    for code, text in (("NO_PERMISSIONS", "denied"), ("NO_PERMISSIONS", "denied"), ("THROTTLING", "throttled")):
        sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(event), MessageAttributes={
            name: {"DataType": "String", "StringValue": value} for name, value in (
                ("RULE_ARN", "arn:aws:events:us-east-1:123456789012:rule/bus/r"),
                ("TARGET_ARN", "arn:aws:sqs:us-east-1:123456789012:t"), ("ERROR_CODE", code),
                ("ERROR_MESSAGE", text), ("RETRY_ATTEMPTS", "0"))})
    result = eda("--output", "json", "dlq", "peek", "undelivered-events", "--group-by", "error")
    assert result.code == 0, result.stderr
    assert {g["signature"]: g["count"] for g in result.items()} == {"error: [NO_PERMISSIONS] denied": 2,
                                                                    "error: [THROTTLING] throttled": 1}
    [first, *_] = eda("--output", "json", "dlq", "peek", "undelivered-events").items()
    assert first["error"]["code"] in ("NO_PERMISSIONS", "THROTTLING") and first["error"]["request_id"] is None
    human = eda("dlq", "peek", "undelivered-events")
    assert "error NO_PERMISSIONS: denied" in human.stdout and "(request" not in human.stdout
    assert "attr ERROR_CODE" not in human.stdout and "attr RULE_ARN (String)" in human.stdout


def test_peek_unwraps_sns_envelopes_for_grouping(eda: Callable[..., Result], boto: Any) -> None:
    sqs = boto("sqs")
    dlq = sqs.create_queue(QueueName="fanout-dlq")["QueueUrl"]
    envelope = {"Type": "Notification", "MessageId": "x", "TopicArn": "arn:aws:sns:us-east-1:1:t",
                "Message": json.dumps({"orderId": "o-9", "amount": 5})}
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(envelope))
    [group] = eda("--output", "json", "dlq", "peek", "fanout-dlq", "--group-by", "error").items()
    assert group["signature"] == "json {amount, orderId}"


def test_peek_fifo_shows_group_id(eda: Callable[..., Result], boto: Any) -> None:
    sqs = boto("sqs")
    dlq = sqs.create_queue(QueueName="orders-dlq.fifo",
                           Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    sqs.send_message(QueueUrl=dlq, MessageBody="a", MessageGroupId="customer-7")
    [message] = eda("--output", "json", "dlq", "peek", dlq).items()
    assert message["group_id"] == "customer-7"


def test_peek_refuses_a_queue_with_a_redrive_policy(eda: Callable[..., Result], boto: Any) -> None:
    sqs = boto("sqs")
    source, _dlq = make_pipeline(sqs)
    sqs.send_message(QueueUrl=source, MessageBody="live")
    refused = eda("dlq", "peek", "orders")
    assert_one_line_error(refused, 2)
    assert "RedrivePolicy" in refused.stderr and "--force" in refused.stderr
    # Nothing was received: the live message's receive count is untouched.
    message = sqs.receive_message(QueueUrl=source, MessageSystemAttributeNames=["All"])["Messages"][0]
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    sqs.change_message_visibility(QueueUrl=source, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    forced = eda("--output", "json", "dlq", "peek", "orders", "--force")
    assert forced.code == 0 and forced.items()[0]["body"] == "live"


def test_peek_by_url_and_arn(eda: Callable[..., Result], boto: Any) -> None:
    sqs = boto("sqs")
    dlq = sqs.create_queue(QueueName="x-dlq")["QueueUrl"]
    sqs.send_message(QueueUrl=dlq, MessageBody="hello")
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for ref in (dlq, arn, "x-dlq"):
        result = eda("--output", "json", "dlq", "peek", ref)
        assert result.code == 0, result.stderr
        assert result.items()[0]["body"] == "hello"


def test_unknown_queue_is_one_line_exit_3(eda: Callable[..., Result], endpoint: str) -> None:
    result = eda("dlq", "peek", "no-such-queue")
    assert_one_line_error(result, 3)
    assert "no-such-queue" in result.stderr and "us-east-1" in result.stderr and endpoint in result.stderr
    assert_one_line_error(eda("dlq", "inspect", "no-such-dlq"), 3)


def test_arn_in_another_region_is_a_usage_error(eda: Callable[..., Result]) -> None:
    result = eda("dlq", "peek", "arn:aws:sqs:eu-west-1:123456789012:x-dlq")
    assert_one_line_error(result, 2)
    assert "--region eu-west-1" in result.stderr


class SamplingSqs(AwsFake, service="sqs"):
    """A queue whose short receives miss a message (as one SQS server sample can) and whose
    ApproximateNumberOfMessages lags at 0; only a long-polled receive finds it."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.visibility: list[list[dict[str, Any]]] = []

    def receive_message(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if kwargs["WaitTimeSeconds"] == 0:
            return {}
        return {"Messages": [{"MessageId": "m1", "ReceiptHandle": f"h{len(self.calls)}", "Body": "{}",
                              "Attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1000"}}]}

    def change_message_visibility_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.visibility.append(Entries)
        return {"Successful": [{"Id": entry["Id"]} for entry in Entries], "Failed": []}


def test_browse_long_polls_before_trusting_an_empty_answer() -> None:
    from contextlib import closing

    from eda_cli.core.dlq import BrowseStats, browse

    sqs = SamplingSqs()
    stats = BrowseStats()
    with closing(browse(sqs, "url", limit=10, visible=0, stats=stats)) as messages:
        found = [m.message_id for m in messages]
    assert found == ["m1"]
    assert [c["WaitTimeSeconds"] for c in sqs.calls][:2] == [0, 1]
    # Nothing deleted, and everything seen made visible again at once with its latest handle.
    assert sqs.visibility == [[{"Id": "0", "ReceiptHandle": f"h{len(sqs.calls)}", "VisibilityTimeout": 0}]]
    assert stats.receives == len(sqs.calls) and stats.seen == 1


def test_browse_restores_visibility_when_stopped_early() -> None:
    from contextlib import closing

    from eda_cli.core.dlq import BrowseStats, browse

    sqs = SamplingSqs()
    stats = BrowseStats()
    with closing(browse(sqs, "url", limit=10, visible=5, stats=stats)) as messages:
        next(iter(messages))  # the consumer stops here (Ctrl-C, an error, enough found)
    assert sqs.visibility and sqs.visibility[0][0]["VisibilityTimeout"] == 0


def test_ctrl_c_during_peek_hands_every_message_back_and_says_so(endpoint: str, boto: Any) -> None:
    """Ctrl-C while `dlq peek` reads: it stops between receives (never inside one, so no receipt handle is
    lost), makes every message it read visible again at once, says so on stderr, and exits 130."""
    import os
    import signal
    import time

    sqs = boto("sqs")
    url = sqs.create_queue(QueueName="big-dlq")["QueueUrl"]
    for start in range(0, 110, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": json.dumps({"n": start + i})}
                                                      for i in range(10)])
    mid_read = 0
    for trial in range(8):
        process = subprocess.Popen([sys.executable, "-m", "eda_cli", "--endpoint-url", endpoint, "dlq", "peek",
                                    "big-dlq", "--max", "500"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   stdin=subprocess.DEVNULL, text=True, env={**os.environ})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # wait until the peek holds some messages, then Ctrl-C
            hidden = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
            if int(hidden["Attributes"]["ApproximateNumberOfMessagesNotVisible"]) >= 10 * (trial % 4 + 1):
                break
            time.sleep(0.005)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        context = (trial, process.returncode, err)
        assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0", context  # none left hidden
        assert attributes["ApproximateNumberOfMessages"] == "110", context
        assert "Traceback" not in err, context
        if process.returncode == 130:
            assert out == "" and "were made visible again at once" in err, context
            mid_read += 1
        else:  # done before the signal: a complete answer (the signal may still end the exiting process)
            assert process.returncode in (0, -signal.SIGINT) and "110 message(s) peeked" in out, context
    assert mid_read >= 4, f"only {mid_read} of 8 interrupts landed while the peek was reading"


def test_inspect_fail_above_without_a_dlq_is_not_a_pass(eda: Callable[..., Result], boto: Any, account: str) -> None:
    """Was `no dead-letter queues found`, exit 0: a CI gate that checks nothing must not pass silently."""
    result = eda("dlq", "inspect", "--fail-above", "0")
    assert result.code == 5, result.stderr
    assert f"no DLQs found in us-east-1/{account}; pass --allow-empty" in result.stderr
    assert eda("dlq", "inspect", "--fail-above", "0", "--allow-empty").code == 0
    assert eda("-o", "json", "dlq", "inspect").code == 0  # no gate, no verdict: an empty list is an answer
    sqs = boto("sqs")
    sqs.create_queue(QueueName="plain")  # a queue, but no DLQ
    assert eda("dlq", "inspect", "--fail-above", "0").code == 5
    make_pipeline(sqs)
    assert eda("dlq", "inspect", "--fail-above", "0").code == 0


def test_inspect_marks_a_named_queue_that_is_not_a_dlq(eda: Callable[..., Result], boto: Any) -> None:
    """Was "(by name)": a live source queue named on the command line (it has a RedrivePolicy of its own
    and no queue sends to it) is no DLQ, and says so in the table and in JSON."""
    sqs = boto("sqs")
    make_pipeline(sqs, "payments")
    sqs.create_queue(QueueName="plain")
    sqs.create_queue(QueueName="notify-lambda-dlq")
    named = ("payments", "plain", "notify-lambda-dlq", "payments-dlq")
    result = eda("-o", "json", "dlq", "inspect", *named)
    assert result.code == 0, result.stderr
    rows = {row["queue"]: (row["found_by"], row["is_dlq"]) for row in result.items()}
    assert rows == {
        "payments": ("own-redrive-policy", False),
        "plain": ("none", False),
        "notify-lambda-dlq": ("by name", True),
        "payments-dlq": ("sqs redrive policy", True),
    }
    table = eda("dlq", "inspect", *named)
    assert table.code == 0, table.stderr
    lines = {line.split()[0]: line for line in table.stdout.splitlines()[2:] if line.strip()}
    assert "(not a DLQ: it has its own RedrivePolicy)" in lines["payments"], table.stdout
    assert "(not a DLQ: nothing names it as a DLQ)" in lines["plain"], table.stdout
    assert "(by name)" in lines["notify-lambda-dlq"] and "(by name)" not in lines["payments"], table.stdout
    assert "payments (3)" in lines["payments-dlq"], table.stdout
    # Every DLQ of the region, when none is named: the source queues are not among them.
    assert {row["queue"] for row in eda("-o", "json", "dlq", "inspect").items()} == {"payments-dlq",
                                                                                   "notify-lambda-dlq"}


# -- part of the read fails: exit 4, and the JSON envelope says partial and what failed -------------


def test_list_with_a_queue_it_cannot_read_exits_4_and_says_partial(
    endpoint: str, boto: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.fixtures.cli import in_process
    from tests.fixtures.fakes import Failing
    from tests.fixtures.sessions import session_factory

    sqs = boto("sqs")
    make_pipeline(sqs, "orders")
    hidden = sqs.create_queue(QueueName="secret-dlq")["QueueUrl"]
    denied = session_factory(sqs=lambda real: Failing("sqs", real, {"get_queue_attributes": "AccessDenied"},
                                                      when=lambda call: call.get("QueueUrl") == hidden))
    result = in_process(endpoint, capsys, denied)("-o", "json", "dlq", "list")
    assert result.code == 4, result.stderr
    assert [row["queue"] for row in result.items()] == ["orders-dlq"]  # what could be read is there
    body = result.json()
    assert body["partial"] is True
    assert [(p["service"], p["resource"]) for p in body["problems"]] == [("sqs", hidden)]
    assert "access denied" in body["problems"][0]["error"].lower(), body["problems"]
    assert hidden in result.stderr  # warned about on stderr too


def test_inspect_with_cloudwatch_unreachable_exits_4_and_says_partial(
    endpoint: str, boto: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.fixtures.cli import in_process
    from tests.fixtures.sessions import session_factory, unreachable

    sqs = boto("sqs")
    _, dlq = make_pipeline(sqs, "orders")
    sqs.send_message(QueueUrl=dlq, MessageBody="x")
    eda = in_process(endpoint, capsys, session_factory(cloudwatch=unreachable))
    for args in ((), ("orders-dlq",)):  # every DLQ of the region, and a named one
        result = eda("-o", "json", "dlq", "inspect", *args)
        assert result.code == 4, (args, result.stderr)
        rows = result.items()
        assert [(r["queue"], r["visible"]) for r in rows] == [("orders-dlq", 1)]  # SQS's answer is kept
        assert rows[0]["oldest_age_seconds"] is None and rows[0]["alarm"] is False
        body = result.json()
        assert body["partial"] is True
        assert [(p["service"], p["resource"]) for p in body["problems"]] == [
            ("cloudwatch", "DescribeAlarms"), ("cloudwatch", "GetMetricData")], body["problems"]


def _peek_that_cannot_restore(endpoint: str, boto: Any, capsys: pytest.CaptureFixture[str]) -> Result:
    """`dlq peek -o json` on a DLQ of 3 messages whose ChangeMessageVisibilityBatch (putting them back) fails."""
    from tests.fixtures.cli import in_process
    from tests.fixtures.fakes import Failing
    from tests.fixtures.sessions import session_factory

    sqs = boto("sqs")
    _, dlq = make_pipeline(sqs, "orders")
    for n in range(3):
        sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"n": n}))
    throttled = session_factory(sqs=lambda real: Failing(
        "sqs", real, {"change_message_visibility_batch": "RequestThrottled"}))
    return in_process(endpoint, capsys, throttled)("-o", "json", "dlq", "peek", "orders-dlq")


def test_peek_that_cannot_put_messages_back_exits_4(
    endpoint: str, boto: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """peek reads every message (that part cannot be partial: a receive that fails is an error, exit 3),
    then makes them visible again; when that fails, the messages stay hidden up to 30 s: exit 4, said."""
    result = _peek_that_cannot_restore(endpoint, boto, capsys)
    assert result.code == 4, result.stderr
    assert sorted(m["body"]["n"] for m in result.items()) == [0, 1, 2]  # every message was read
    assert ("could not make visible again the messages read from sqs orders-dlq: 3 message(s) reappear within 30s"
            in result.stderr)


def test_peek_that_cannot_put_messages_back_says_partial_in_json(
    endpoint: str, boto: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    body = _peek_that_cannot_restore(endpoint, boto, capsys).json()
    assert body["partial"] is True
    assert [p["service"] for p in body["problems"]] == ["sqs"], body["problems"]
