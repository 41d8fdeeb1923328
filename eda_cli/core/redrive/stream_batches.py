"""Stream on-failure records: the DLQ message of a Lambda event source mapping on a DynamoDB stream or a Kinesis
data stream, and how eda delivers what it names.

When a mapping discards a batch, Lambda writes to its on-failure destination a record that names the batch, not
its data ("Retain discarded records", Lambda Developer Guide):

    {"requestContext": {"requestId", "functionArn", "condition", "approximateInvokeCount"},
     "responseContext": {"statusCode", "executedVersion", "functionError"},
     "version": "1.0", "timestamp": "...",
     "DDBStreamBatchInfo" | "KinesisBatchInfo": {"shardId", "startSequenceNumber", "endSequenceNumber",
         "approximateArrivalOfFirstRecord", "approximateArrivalOfLastRecord", "batchSize", "streamArn"}}

eda reads those records back from the stream while it still has them (core/streams/ranges.py) and either invokes
the function again (Invoke, InvocationType=Event) with them in the event Lambda gives a function for that stream,
in as many invocations as the 256 KB asynchronous payload limit needs, or, with --to-file, appends them to a JSON
Lines file (one record a line, in that same event-record shape), fsync'd. A DLQ message leaves the DLQ only when
every record of its range was invoked or written. When the stream has trimmed part of the range, the records still
there are delivered, the message stays in the DLQ and its failure names each gone range (shard, from, to).
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from eda_cli.aws.errors import describe
from eda_cli.core.archive import ArchiveWriter, OutgoingMessage
from eda_cli.core.redrive.destinations import OneByOne, PayloadError
from eda_cli.core.redrive.sqs_io import Caller
from eda_cli.core.streams.ranges import (
    DYNAMODB,
    KINESIS,
    GoneRange,
    RangeRead,
    RangeReadError,
    read_range,
    stream_kind,
)

#: The key of the batch's description in the record, by stream kind.
BATCH_INFO = {DYNAMODB: "DDBStreamBatchInfo", KINESIS: "KinesisBatchInfo"}
#: The largest payload of an asynchronous Invoke (InvocationType=Event).
ASYNC_PAYLOAD_BYTES = 262_144

Reader = Callable[[str, str, str, str, str], RangeRead]


@dataclass(frozen=True)
class StreamBatch:
    """What one on-failure record names: the function, the stream, the shard and the sequence range."""

    kind: str  # DYNAMODB | KINESIS
    function_arn: str
    stream_arn: str
    shard_id: str
    start: str
    end: str
    batch_size: int | None

    @property
    def region(self) -> str:
        parts = self.stream_arn.split(":")
        return parts[3] if len(parts) > 3 else ""


def stream_batch(body: str) -> StreamBatch | None:
    """The batch an event source mapping's on-failure record names, else None (not such a record)."""
    try:
        value = json.loads(body)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    context = value.get("requestContext")
    for kind, key in BATCH_INFO.items():
        info = value.get(key)
        if not isinstance(info, dict):
            continue
        fields = [info.get(k) for k in ("streamArn", "shardId", "startSequenceNumber", "endSequenceNumber")]
        if not all(isinstance(f, str) and f for f in fields):
            return None
        stream, shard, start, end = (str(f) for f in fields)
        if not (start.isdigit() and end.isdigit()) or stream_kind(stream) != kind:
            return None
        function = context.get("functionArn") if isinstance(context, dict) else None
        size = info.get("batchSize")
        return StreamBatch(kind, str(function or ""), stream, shard, start, end,
                           size if isinstance(size, int) else None)
    return None


# -- the records as Lambda gives them to a function --------------------------------------------------------


def _plain(value: Any) -> Any:
    """A GetRecords answer as JSON: bytes (binary attributes) as base64, timestamps as epoch seconds."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, datetime):
        seconds = value.timestamp()
        return int(seconds) if seconds == int(seconds) else seconds
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    return value


def event_record(batch: StreamBatch, record: Mapping[str, Any]) -> dict[str, Any]:
    """One record of the event Lambda invokes a function with, for this stream kind (the "Records" items of the
    DynamoDB Streams and Kinesis events in the Lambda Developer Guide). Lambda adds to a Kinesis record the
    function's execution role as invokeIdentityArn; eda does not read the function's configuration for it."""
    if batch.kind == DYNAMODB:
        out = {str(k): _plain(v) for k, v in record.items()}
        out["eventSourceARN"] = batch.stream_arn
        return out
    arrival = record.get("ApproximateArrivalTimestamp")
    data = record.get("Data", b"")
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": record.get("PartitionKey"),
            "sequenceNumber": record.get("SequenceNumber"),
            "data": base64.b64encode(bytes(data) if not isinstance(data, str) else data.encode()).decode("ascii"),
            "approximateArrivalTimestamp": arrival.timestamp() if isinstance(arrival, datetime) else arrival,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{batch.shard_id}:{record.get('SequenceNumber')}",
        "eventName": "aws:kinesis:record",
        "awsRegion": batch.region,
        "eventSourceARN": batch.stream_arn,
    }


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def payloads(records: list[dict[str, Any]], limit: int = ASYNC_PAYLOAD_BYTES) -> list[tuple[str, int]]:
    """`{"Records": [...]}` payloads in order, each within `limit` bytes, with how many records each holds.
    PayloadError when one record alone does not fit."""
    empty = len(b'{"Records":[]}')
    out: list[tuple[str, int]] = []
    chunk: list[str] = []
    size = empty
    for record in records:
        text = _dumps(record)
        length = len(text.encode("utf-8"))
        if empty + length > limit:
            raise PayloadError(f"a record ({length} bytes) is larger than an asynchronous invocation takes "
                               f"({limit} bytes)")
        if chunk and size + 1 + length > limit:
            out.append(('{"Records":[' + ",".join(chunk) + "]}", len(chunk)))
            chunk, size = [], empty
        size += length + (1 if chunk else 0)
        chunk.append(text)
    if chunk:
        out.append(('{"Records":[' + ",".join(chunk) + "]}", len(chunk)))
    return out


# -- the destination ---------------------------------------------------------------------------------------


def _check(message: OutgoingMessage) -> OutgoingMessage:
    if stream_batch(message.body) is None:
        raise PayloadError("the body is not an event source mapping's on-failure record (DDBStreamBatchInfo or "
                           "KinesisBatchInfo with streamArn, shardId and the sequence range)")
    return message


@dataclass
class StreamBatchDestination(OneByOne):
    """Reads each message's range back from its stream, then invokes the function with it (`client`: Lambda) or,
    with `writer`, appends its records to the --to-file file. `reader(kind, stream, shard, start, end)` reads a
    range (core/streams/ranges.read_range on the session's clients). Counts the records it delivered and keeps
    the gone ranges, for the summary (`stats`)."""

    reader: Reader | None = field(default=None, repr=False)
    writer: ArchiveWriter | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _records: int = 0
    _planned: int = 0
    _gone: list[GoneRange] = field(default_factory=list, repr=False)
    _notes: list[str] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if self.transform is None:
            self.transform = self._plan

    def _plan(self, message: OutgoingMessage) -> OutgoingMessage:
        _check(message)
        batch = stream_batch(message.body)
        with self._lock:
            self._planned += (batch.batch_size or 0) if batch is not None else 0
        return message

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"records": self._records, "records_named": self._planned,
                    "gone_ranges": [g.to_dict() for g in self._gone]}

    @property
    def notes(self) -> list[str]:
        with self._lock:
            return list(self._notes)

    def deliver(self, call: Caller, message: OutgoingMessage, run_id: str) -> str | None:
        batch = stream_batch(message.body)
        if batch is None or self.reader is None:
            return "the body is not an event source mapping's on-failure record"
        try:
            read = self.reader(batch.kind, batch.stream_arn, batch.shard_id, batch.start, batch.end)
        except RangeReadError as exc:  # throttled past every attempt, denied, ...: this message stays
            return str(exc)
        records = [event_record(batch, r) for r in read.records]
        if batch.batch_size is not None and len(records) != batch.batch_size and not read.gone:
            with self._lock:
                self._notes.append(
                    f"message {message.message_id}: the range holds {len(records)} record(s) and the batch had "
                    f"{batch.batch_size} (a FilterCriteria of the mapping leaves records out of its batches; eda "
                    "delivers every record of the range)")
        done = 0
        why_not: str | None = None
        if records:
            if self.writer is not None:
                self.writer.append([_dumps(r) + "\n" for r in records])
                done = len(records)
            else:
                try:
                    chunks = payloads(records)
                except PayloadError as exc:
                    return str(exc)
                for payload, count in chunks:
                    try:
                        why_not = self._invoke(call, batch.function_arn, payload)
                    except Exception as exc:  # this message's answer: it stays, with what was invoked before
                        why_not = describe(exc)
                    if why_not is not None:
                        break
                    done += count
        with self._lock:
            self._records += done
            self._gone.extend(read.gone)
        if why_not is not None:
            return (f"{why_not} ({done} of the range's {len(records)} record(s) were invoked; another redrive "
                    "invokes them again)")
        if read.gone:
            where = "written" if self.writer is not None else "invoked"
            rest = (f"the {done} record(s) still there were {where}" if done else
                    "no record of the range is left to deliver")
            return f"the stream no longer holds {'; '.join(str(g) for g in read.gone)}; {rest}"
        return None

    def _invoke(self, call: Caller, function_arn: str, payload: str) -> str | None:
        response = call(self.client.invoke, FunctionName=function_arn, InvocationType="Event",
                        Payload=payload.encode("utf-8"))
        if response.get("FunctionError"):
            return f"FunctionError: {response['FunctionError']}"
        if response.get("StatusCode") != 202:
            return f"Invoke answered StatusCode {response.get('StatusCode')}, not 202 (queued)"
        return None

    def row(self) -> dict[str, Any]:
        return {**super().row(), **self.stats()}


def range_reader(client: Callable[[str], Any], sleep: Callable[[float], None]) -> Reader:
    """read_range on the session's dynamodbstreams or kinesis client, as the stream's kind says."""

    def read(kind: str, stream_arn: str, shard_id: str, start: str, end: str) -> RangeRead:
        service = "dynamodbstreams" if kind == DYNAMODB else "kinesis"
        return read_range(client(service), stream_arn, shard_id, start, end, kind=kind, sleep=sleep)

    return read
