"""`eda redrive` of an event source mapping's DLQ: stream on-failure records name a shard and a sequence range;
eda reads those records back from the stream and invokes the function with them (or writes them --to-file).

End to end against the backend: a DynamoDB table with a stream and real writes, a function and its mapping (created
disabled, so that no backend runs it), and the on-failure record built as Lambda writes it. moto runs functions
only in Docker, so Invoke goes to a fake wrapping the real Lambda client. Shard splits, paging, expired iterators,
throttling and trimmed ranges, which moto's one endless shard cannot show, are tested on the range reader and the
destination with fake stream clients valid against botocore's model (tests/fixtures/stream_failures.py).
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.response import StreamingBody

from eda_cli.core.archive import OutgoingMessage
from eda_cli.core.redrive.destinations import PayloadError
from eda_cli.core.redrive.sqs_io import Caller
from eda_cli.core.redrive.stream_batches import ASYNC_PAYLOAD_BYTES, StreamBatchDestination, payloads, stream_batch
from eda_cli.core.streams.ranges import read_range
from tests.aws_shapes import AwsFake, aws_error
from tests.fixtures.cli import Result
from tests.fixtures.discovery import make_function
from tests.fixtures.eventbridge_dlq import depth, dest, ids_left, queue
from tests.fixtures.locked import cli_with_fakes
from tests.fixtures.stream_failures import (
    FakeDynamoDBStreams,
    FakeKinesis,
    ddb_record,
    kinesis_record,
    on_failure_record,
    shard_records,
    sq,
)
from tests.fixtures.streams import await_records, make_table

Eda = Callable[..., Result]
DDB_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-12-05T00:00:00.000"
KINESIS_ARN = "arn:aws:kinesis:eu-west-1:123456789012:stream/clicks"
FUNCTION = "arn:aws:lambda:eu-west-1:123456789012:function:project-orders"


@pytest.fixture
def cli(url: str, capsys: pytest.CaptureFixture[str]) -> Eda:
    return cli_with_fakes(url, capsys)


class Invoked(AwsFake, service="lambda", wraps_real_client=True):
    """Lambda whose Invoke answers as AWS answers an asynchronous invoke (202); the rest is the real client's."""

    def __init__(self, real: Any = None, fail_after: int | None = None) -> None:
        self._real = real
        self._fail_after = fail_after
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self._fail_after is not None and len(self.calls) > self._fail_after:
            raise aws_error("lambda", "Invoke", "TooManyRequestsException", "Rate exceeded")
        return {"StatusCode": 202, "Payload": StreamingBody(io.BytesIO(b""), 0)}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def orders_with_mapping(aws: Any, dlq_arn: str, items: int = 3) -> tuple[str, str, str, list[dict[str, Any]]]:
    """A table `orders` with a stream holding `items` INSERTs, function project-orders, and its (disabled)
    mapping on the stream whose on-failure destination is the DLQ: (function ARN, stream ARN, shard, records)."""
    ddb = aws("dynamodb")
    stream = make_table(ddb, "orders")
    assert stream is not None
    for i in range(items):
        ddb.put_item(TableName="orders", Item={"order_id": {"S": f"o-{i}"}, "total": {"N": str(10 + i)}})
    await_records(ddb, "orders", items)
    function = make_function(aws, "project-orders")
    aws("lambda").create_event_source_mapping(
        FunctionName="project-orders", EventSourceArn=stream, StartingPosition="LATEST", Enabled=False,
        DestinationConfig={"OnFailure": {"Destination": dlq_arn}})
    shard, records = shard_records(aws("dynamodbstreams"), stream)
    return function, stream, shard, records


def dead_letter(sqs: Any, url: str, function: str, stream: str, shard: str, records: list[dict[str, Any]]) -> str:
    numbers = [r["dynamodb"]["SequenceNumber"] for r in records]
    body = on_failure_record(function, stream, shard, numbers[0], numbers[-1], len(records))
    return str(sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))["MessageId"])


def run(*extra: str) -> tuple[str, ...]:
    return ("--output", "json", "redrive", "orders-failures", "--wait-seconds", "0", *extra)


# -- end to end ------------------------------------------------------------------------------------------------


def test_to_file_writes_the_records_the_on_failure_record_names(cli: Eda, aws: Any, tmp_path: Path) -> None:
    sqs = aws("sqs")
    url, arn = queue(sqs, "orders-failures")
    function, stream, shard, records = orders_with_mapping(aws, arn)
    failed = records[1:]  # Lambda committed o-0; the batch o-1, o-2 was discarded
    dead_letter(sqs, url, function, stream, shard, failed)
    stray = str(sqs.send_message(QueueUrl=url, MessageBody='{"orderId": "o-9"}')["MessageId"])
    out = tmp_path / "replay.jsonl"
    dry = cli(*run("--to-file", str(out), "--dry-run"))
    assert dry.code == 4, dry.stderr  # as the real run will: the stray message goes nowhere
    row = dest(dry.json(), str(out))
    assert dry.json()["would_move"] == 1 and dry.json()["failed_message_ids"] == [stray]
    assert (row["kind"], row["api"], row["route"], row["would_move"], row["records_named"]) == (
        "file", "GetRecords -> JSONL", "event source mapping", 1, 2)
    assert not out.exists() and depth(sqs, url) == 2
    result = cli(*run("--to-file", str(out), "--yes"))
    assert result.code == 4, result.stderr  # the message that is no on-failure record stays
    summary = result.json()
    assert summary["moved"] == 1 and summary["failed_message_ids"] == [stray]
    assert "--to-file writes the records of stream on-failure records" in summary["failures"][stray]
    assert {k: dest(summary, str(out))[k] for k in ("moved", "records", "gone_ranges")} == {
        "moved": 1, "records": 2, "gone_ranges": []}
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["dynamodb"]["SequenceNumber"] for line in lines] == [r["dynamodb"]["SequenceNumber"] for r in failed]
    assert [line["dynamodb"]["Keys"] for line in lines] == [{"order_id": {"S": "o-1"}}, {"order_id": {"S": "o-2"}}]
    assert all(line["eventSource"] == "aws:dynamodb" and line["eventName"] == "INSERT"
               and line["eventSourceARN"] == stream and isinstance(line["dynamodb"]["ApproximateCreationDateTime"],
                                                                   (int, float)) for line in lines)
    assert ids_left(sqs, url) == {stray}
    assert "reads them back from the stream" in result.stderr


def test_the_function_is_invoked_with_its_stream_event_and_a_trimmed_range_stays(cli: Eda, aws: Any) -> None:
    sqs = aws("sqs")
    url, arn = queue(sqs, "orders-failures")
    function, stream, shard, records = orders_with_mapping(aws, arn, items=4)
    whole = dead_letter(sqs, url, function, stream, shard, records[:2])
    trimmed_start = records[2]["dynamodb"]["SequenceNumber"]
    trimmed = dead_letter(sqs, url, function, stream, shard, records[2:])
    invoked: list[Invoked] = []

    class Trimming(AwsFake, service="dynamodbstreams", wraps_real_client=True):
        """The real stream, except that the second batch's range is past the trim horizon."""

        def __init__(self, real: Any) -> None:
            self._real = real

        def get_shard_iterator(self, **kwargs: Any) -> dict[str, Any]:
            if kwargs.get("SequenceNumber") == trimmed_start:
                raise aws_error("dynamodbstreams", "GetShardIterator", "TrimmedDataAccessException",
                                "the requested sequence number is beyond the trim horizon")
            return dict(self._real.get_shard_iterator(**kwargs))

        def __getattr__(self, name: str) -> Any:
            return getattr(self._real, name)

    def lam(real: Any) -> Invoked:
        invoked.append(Invoked(real))
        return invoked[-1]

    result = cli(*run("--yes"), replace={"lambda": lam, "dynamodbstreams": Trimming})
    assert result.code == 4, result.stderr
    summary = result.json()
    assert summary["moved"] == 1 and summary["failed_message_ids"] == [trimmed]
    last = records[3]["dynamodb"]["SequenceNumber"]
    assert f"shard {shard} from {trimmed_start} to {last}" in summary["failures"][trimmed]
    row = dest(summary, "lambda:project-orders")
    assert (row["api"], row["route"], row["moved"], row["failed"], row["records"]) == (
        "GetRecords -> Invoke", "event source mapping", 1, 1, 2)
    assert row["gone_ranges"] == [{"shard": shard, "from": trimmed_start, "from_included": True, "to": last,
                                   "to_included": True, "reason": row["gone_ranges"][0]["reason"]}]
    calls = [c for fake in invoked for c in fake.calls]
    assert [(c["FunctionName"], c["InvocationType"]) for c in calls] == [(function, "Event")]
    event = json.loads(calls[0]["Payload"])
    assert [r["dynamodb"]["Keys"]["order_id"]["S"] for r in event["Records"]] == ["o-0", "o-1"]
    assert {(r["eventSource"], r["eventSourceARN"]) for r in event["Records"]} == {("aws:dynamodb", stream)}
    assert ids_left(sqs, url) == {trimmed} and whole not in ids_left(sqs, url)


# -- the range reader -------------------------------------------------------------------------------------------


def ddb_shard(*numbers: int) -> list[tuple[int, dict[str, Any]]]:
    return [(n, ddb_record(n, f"o-{n}")) for n in numbers]


def numbers(records: Any) -> list[int]:
    return [int(r["dynamodb"]["SequenceNumber"]) - int(sq(0)) for r in records]


def test_a_range_is_read_across_pages_expired_iterators_and_throttling() -> None:
    fake = FakeDynamoDBStreams({"s1": ddb_shard(100, 110, 120, 130, 140, 150, 160)}, page=2,
                               throttle_at=frozenset({1}), expire_at=frozenset({3}))
    sleeps: list[float] = []
    read = read_range(fake, DDB_ARN, "s1", sq(110), sq(150), sleep=sleeps.append)
    assert numbers(read.records) == [110, 120, 130, 140, 150] and read.gone == ()
    assert sleeps == [0.5]  # throttled once, backed off once
    again = [k for name, k in fake.calls if name == "get_shard_iterator"][1]
    assert (again["ShardIteratorType"], again["SequenceNumber"]) == ("AFTER_SEQUENCE_NUMBER", sq(120))


def test_a_split_parent_shard_is_read_to_its_end_and_what_it_lacks_is_named() -> None:
    # The batch came from the parent shard, which closed at 130 when it split (its children hold what follows).
    fake = FakeDynamoDBStreams({"parent": ddb_shard(100, 110, 120, 130), "child": ddb_shard(200)},
                               closed=frozenset({"parent"}), page=3)
    read = read_range(fake, DDB_ARN, "parent", sq(110), sq(130), sleep=lambda s: None)
    assert numbers(read.records) == [110, 120, 130] and read.gone == ()
    short = read_range(fake, DDB_ARN, "parent", sq(120), sq(150), sleep=lambda s: None)
    assert numbers(short.records) == [120, 130]
    [gone] = short.gone
    assert str(gone) == f"shard parent after {sq(130)} to {sq(150)} (the shard ended before the end of the range)"


def test_trimmed_ranges_are_said_exactly() -> None:
    fake = FakeDynamoDBStreams({"s1": ddb_shard(300, 310), "old": ddb_shard(1, 2)}, trimmed=frozenset({"old"}))
    head = read_range(fake, DDB_ARN, "s1", sq(250), sq(310), sleep=lambda s: None)
    assert numbers(head.records) == [300, 310]
    assert [g.to_dict() for g in head.gone] == [{
        "shard": "s1", "from": sq(250), "from_included": True, "to": sq(300), "to_included": False,
        "reason": "trimmed: the shard's first record still there is past the start"}]
    whole = read_range(fake, DDB_ARN, "old", sq(1), sq(2), sleep=lambda s: None)
    assert whole.records == () and [(g.first, g.last, g.last_included) for g in whole.gone] == [(sq(1), sq(2), True)]
    assert "TrimmedDataAccessException" in whole.gone[0].reason
    vanished = read_range(fake, DDB_ARN, "shardId-gone", sq(1), sq(2), sleep=lambda s: None)
    assert vanished.records == () and "ResourceNotFoundException" in vanished.gone[0].reason
    past = read_range(fake, DDB_ARN, "s1", sq(200), sq(250), sleep=lambda s: None)
    assert past.records == () and str(past.gone[0]).startswith(f"shard s1 from {sq(200)} to {sq(250)}")


def test_a_kinesis_range_becomes_the_kinesis_event() -> None:
    fake = FakeKinesis({"shardId-000000000001": [(n, kinesis_record(n, f"click-{n}".encode())) for n in (5, 6, 7)]})
    dest_ = StreamBatchDestination("lambda", "lambda:clicks", FUNCTION, "GetRecords -> Invoke", "event source mapping",
                                   client=Invoked(),
                                   reader=lambda kind, arn, shard, a, b: read_range(fake, arn, shard, a, b, kind=kind,
                                                                                    sleep=lambda s: None))
    body = json.dumps(on_failure_record(FUNCTION, KINESIS_ARN, "shardId-000000000001", "6", "7", 2, kinesis=True))
    message = OutgoingMessage(message_id="m1", body=body)
    assert dest_.send(Caller(lambda s: None), [dest_.payload(message)], "run", lambda s: None) == (["m1"], {})
    [call] = dest_.client.calls
    [first, second] = json.loads(call["Payload"])["Records"]
    assert base64.b64decode(first["kinesis"]["data"]) == b"click-6" and second["kinesis"]["sequenceNumber"] == "7"
    fields = ("eventSource", "eventName", "eventID", "awsRegion", "eventSourceARN")
    assert tuple(first[f] for f in fields) == (
        "aws:kinesis", "aws:kinesis:record", "shardId-000000000001:6", "eu-west-1", KINESIS_ARN)
    iterator = fake.calls[0][1]
    assert (iterator["StreamARN"], iterator["ShardIteratorType"], iterator["StartingSequenceNumber"]) == (
        KINESIS_ARN, "AT_SEQUENCE_NUMBER", "6")


# -- the payloads and a partial invoke --------------------------------------------------------------------------


def test_payloads_stay_under_the_asynchronous_limit_and_keep_the_order() -> None:
    records = [{"n": i, "pad": "x" * 100_000} for i in range(5)]
    chunks = payloads(records)
    assert [count for _, count in chunks] == [2, 2, 1]
    assert all(len(text.encode()) <= ASYNC_PAYLOAD_BYTES for text, _ in chunks)
    assert [r["n"] for text, _ in chunks for r in json.loads(text)["Records"]] == [0, 1, 2, 3, 4]
    with pytest.raises(PayloadError, match="larger than an asynchronous invocation takes"):
        payloads([{"pad": "x" * ASYNC_PAYLOAD_BYTES}])


def test_an_invoke_that_fails_partway_leaves_the_message_with_what_was_sent() -> None:
    def big(n: int) -> dict[str, Any]:
        record = ddb_record(n, f"o-{n}")
        record["dynamodb"]["NewImage"]["pad"] = {"S": "x" * 100_000}
        return record

    fake = FakeDynamoDBStreams({"s1": [(n, big(n)) for n in (1, 2, 3)]}, page=10)
    lam = Invoked(fail_after=1)
    dest_ = StreamBatchDestination("lambda", "lambda:project-orders", FUNCTION, "GetRecords -> Invoke",
                                   "event source mapping", client=lam,
                                   reader=lambda kind, arn, shard, a, b: read_range(fake, arn, shard, a, b, kind=kind))
    body = json.dumps(on_failure_record(FUNCTION, DDB_ARN, "s1", sq(1), sq(3), 3))
    accepted, failed = dest_.send(Caller(lambda s: None, attempts=1), [OutgoingMessage("m1", body)], "run",
                                  lambda s: None)
    assert accepted == [] and "throttling Invoke" in failed["m1"]
    assert "2 of the range's 3 record(s) were invoked" in failed["m1"]
    assert len(lam.calls) == 2 and dest_.stats()["records"] == 2


def test_what_is_and_is_not_an_on_failure_record() -> None:
    record = on_failure_record(FUNCTION, DDB_ARN, "s1", "1", "3", 3)
    batch = stream_batch(json.dumps(record))
    assert batch is not None and (batch.kind, batch.shard_id, batch.start, batch.end, batch.batch_size) == (
        "dynamodb", "s1", "1", "3", 3)
    wrong_stream = dict(record, DDBStreamBatchInfo={**record["DDBStreamBatchInfo"], "streamArn": KINESIS_ARN})
    assert stream_batch(json.dumps(wrong_stream)) is None
    assert stream_batch(json.dumps({"requestContext": {"functionArn": FUNCTION}, "requestPayload": {}})) is None
    assert stream_batch("not json") is None
