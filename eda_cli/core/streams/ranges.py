"""Reading back one range of one shard: the records from a start sequence number to an end one, as a Lambda
event source mapping's on-failure record names them (DDBStreamBatchInfo / KinesisBatchInfo).

GetShardIterator AT_SEQUENCE_NUMBER start, then GetRecords (every page) until a record past the end; an
expired iterator is acquired again after the last record read, throttling is backed off (per call, with the
stream reader's limits), and a record seen twice is kept once. What the stream no longer holds is said exactly,
as `GoneRange`s: the whole range when the shard is gone or its start is trimmed (TrimmedDataAccessException,
ResourceNotFoundException), the head of the range when the first record the shard answers with is past the
start (the records before it were trimmed), the tail when the shard ends (or holds nothing more) before the end.

DynamoDB Streams and Kinesis differ only in names: `StreamArn`/`SequenceNumber` and `record["dynamodb"]
["SequenceNumber"]` against `StreamARN`/`StartingSequenceNumber` and `record["SequenceNumber"]`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from eda_cli.aws.errors import error_code
from eda_cli.core.streams.model import BACK_OFF, BACKOFF_CAP, BACKOFF_FIRST, GET_RECORDS_LIMIT

DYNAMODB: Final = "dynamodb"
KINESIS: Final = "kinesis"
#: Errors that mean "slow down and try again", for either service.
RANGE_BACK_OFF: Final = BACK_OFF | {"ProvisionedThroughputExceededException", "KMSThrottlingException"}
#: Throttled or failed attempts at one call before the read gives up (the range is then not read).
CALL_ATTEMPTS: Final = 8
#: Empty answers in a row from a shard that is not behind before the read decides it holds nothing more.
EMPTY_ANSWERS: Final = 5
#: A bound on GetRecords calls for one range, whatever the shard answers (a range holds at most 10,000 records).
MAX_CALLS: Final = 2_000
#: What says that the records asked for are no longer there.
GONE_CODES: Final = frozenset({"TrimmedDataAccessException", "ResourceNotFoundException"})


class RangeReadError(Exception):
    """The range could not be read (throttled past every attempt, or an unexpected AWS error)."""


def stream_kind(arn: str) -> str | None:
    """"dynamodb" for a table's stream ARN, "kinesis" for a Kinesis data stream's, else None."""
    parts = arn.split(":", 5)
    if len(parts) != 6:
        return None
    if parts[2] == "dynamodb" and "/stream/" in parts[5]:
        return DYNAMODB
    if parts[2] == "kinesis" and parts[5].startswith("stream/"):
        return KINESIS
    return None


def sequence_of(kind: str, record: Mapping[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"] if kind == DYNAMODB else record["SequenceNumber"])


@dataclass(frozen=True)
class GoneRange:
    """Records of `shard_id` the stream no longer holds, between sequence numbers `first` and `last`, each bound
    included or not: the head of a range is gone up to the first record still there (not included), the tail
    after the last record read (not included)."""

    shard_id: str
    first: str
    last: str
    reason: str
    first_included: bool = True
    last_included: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"shard": self.shard_id, "from": self.first, "from_included": self.first_included,
                "to": self.last, "to_included": self.last_included, "reason": self.reason}

    def __str__(self) -> str:
        since = f"from {self.first}" if self.first_included else f"after {self.first}"
        upto = f"to {self.last}" if self.last_included else f"up to (not including) {self.last}"
        return f"shard {self.shard_id} {since} {upto} ({self.reason})"


@dataclass(frozen=True)
class RangeRead:
    """The records read (in order, each once) and the parts of the range that are gone."""

    records: tuple[Mapping[str, Any], ...]
    gone: tuple[GoneRange, ...] = ()
    calls: dict[str, int] = field(default_factory=dict)


class _Shard:
    """The two calls, spelled for the stream's service, each retried with backoff while throttled."""

    def __init__(self, client: Any, kind: str, stream_arn: str, shard_id: str, sleep: Callable[[float], None]) -> None:
        self.client = client
        self.kind = kind
        self.stream_arn = stream_arn
        self.shard_id = shard_id
        self.sleep = sleep
        self.calls = {"get_shard_iterator": 0, "get_records": 0}

    def _call(self, name: str, **kwargs: Any) -> Mapping[str, Any]:
        delay = BACKOFF_FIRST
        for attempt in range(CALL_ATTEMPTS):
            self.calls[name] += 1
            try:
                answer: Mapping[str, Any] = getattr(self.client, name)(**kwargs)
                return answer
            except Exception as exc:
                if error_code(exc) in RANGE_BACK_OFF and attempt + 1 < CALL_ATTEMPTS:
                    self.sleep(delay)
                    delay = min(delay * 2, BACKOFF_CAP)
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def iterator(self, kind: str, sequence: str) -> str | None:
        if self.kind == DYNAMODB:
            answer = self._call("get_shard_iterator", StreamArn=self.stream_arn, ShardId=self.shard_id,
                                ShardIteratorType=kind, SequenceNumber=sequence)
        else:
            answer = self._call("get_shard_iterator", StreamARN=self.stream_arn, ShardId=self.shard_id,
                                ShardIteratorType=kind, StartingSequenceNumber=sequence)
        value = answer.get("ShardIterator")
        return str(value) if value else None

    def records(self, iterator: str, limit: int) -> Mapping[str, Any]:
        if self.kind == DYNAMODB:
            return self._call("get_records", ShardIterator=iterator, Limit=limit)
        return self._call("get_records", ShardIterator=iterator, Limit=limit, StreamARN=self.stream_arn)


def read_range(
    client: Any,
    stream_arn: str,
    shard_id: str,
    start: str,
    end: str,
    *,
    kind: str | None = None,
    limit: int = GET_RECORDS_LIMIT,
    sleep: Callable[[float], None] = time.sleep,
) -> RangeRead:
    """The records of `shard_id` from sequence number `start` to `end` (both included) that the stream still
    holds, and what it does not (see the module). `client` is a dynamodbstreams or kinesis client, as `kind`
    (default: from the ARN) says. RangeReadError when the read fails for another reason than the data being gone."""
    kind = kind or stream_kind(stream_arn)
    if kind not in (DYNAMODB, KINESIS):
        raise ValueError(f"{stream_arn} is neither a DynamoDB stream nor a Kinesis data stream")
    low, high = int(start), int(end)
    shard = _Shard(client, kind, stream_arn, shard_id, sleep)
    records: list[Mapping[str, Any]] = []
    gone: list[GoneRange] = []
    last: int | None = None
    last_text = ""

    def rest_gone(reason: str) -> None:
        if last is None:
            gone.append(GoneRange(shard_id, start, end, reason))
        elif last < high:
            gone.append(GoneRange(shard_id, last_text, end, reason, first_included=False))

    try:
        try:
            iterator = shard.iterator("AT_SEQUENCE_NUMBER", start)
        except Exception as exc:
            if error_code(exc) in GONE_CODES:
                rest_gone(_gone_reason(exc))
                return RangeRead((), tuple(gone), shard.calls)
            raise
        empty = 0
        while iterator is not None:
            if shard.calls["get_records"] >= MAX_CALLS:
                rest_gone(f"not found within {MAX_CALLS} GetRecords calls")
                break
            try:
                page = shard.records(iterator, limit)
            except Exception as exc:
                code = error_code(exc)
                if code == "ExpiredIteratorException":
                    iterator = (shard.iterator("AFTER_SEQUENCE_NUMBER", last_text) if last is not None
                                else shard.iterator("AT_SEQUENCE_NUMBER", start))
                    continue
                if code in GONE_CODES:
                    rest_gone(_gone_reason(exc))
                    break
                raise
            past_end = False
            for record in page.get("Records") or []:
                text = sequence_of(kind, record)
                number = int(text)
                if number < low or (last is not None and number <= last):
                    continue  # before the range, or already read (an iterator acquired again)
                if number > high:
                    past_end = True
                    break
                if last is None and number > low:
                    gone.append(GoneRange(shard_id, start, text,
                                          "trimmed: the shard's first record still there is past the start",
                                          last_included=False))
                records.append(record)
                last, last_text = number, text
            if past_end or (last is not None and last >= high):
                if last is None:
                    gone.append(GoneRange(shard_id, start, end,
                                          "trimmed: the shard's first record still there is past the end"))
                break
            next_iterator = page.get("NextShardIterator")
            if not next_iterator:
                rest_gone("the shard ended before the end of the range")
                break
            behind = page.get("MillisBehindLatest")
            if page.get("Records"):
                empty = 0
            elif not behind:  # at the tip (Kinesis says 0; DynamoDB Streams says nothing)
                empty += 1
                if empty >= EMPTY_ANSWERS:
                    rest_gone("the shard holds no record up to the end of the range")
                    break
            iterator = str(next_iterator)
        else:
            rest_gone("the shard ended before the end of the range")
    except Exception as exc:
        raise RangeReadError(f"cannot read shard {shard_id} of {stream_arn}: {_why(exc)}") from exc
    return RangeRead(tuple(records), tuple(gone), shard.calls)


def _gone_reason(exc: BaseException) -> str:
    if error_code(exc) == "ResourceNotFoundException":
        return "the shard no longer exists: ResourceNotFoundException"
    return "trimmed, past the stream's retention: TrimmedDataAccessException"


def _why(exc: BaseException) -> str:
    from eda_cli.aws.errors import describe

    return describe(exc)
