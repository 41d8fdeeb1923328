"""The vocabulary of a stream read: the API's iterator types, the puller's limits, shards and what the puller yields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from eda_cli.aws.errors import THROTTLED

LATEST: Final = "LATEST"
TRIM_HORIZON: Final = "TRIM_HORIZON"
AFTER_SEQUENCE_NUMBER: Final = "AFTER_SEQUENCE_NUMBER"

#: GetRecords returns at most this many records per call (the API's maximum).
GET_RECORDS_LIMIT: Final = 1000
#: Open shards polled at once. A busy table has a few dozen open shards at most.
DEFAULT_CONCURRENCY: Final = 8
#: How often the stream is described again to find new shards (besides whenever a shard closes).
DESCRIBE_INTERVAL: Final = 10.0
#: Backoff after throttling: doubles from the first value up to the cap, per shard.
BACKOFF_FIRST: Final = 0.5
BACKOFF_CAP: Final = 10.0
#: Attempts at DescribeStream while it is throttled, before giving up.
DESCRIBE_ATTEMPTS: Final = 8
#: The least time between two GetRecords on a shard that is at its tip but busy (5 calls/s).
TIP_GAP: Final = 0.2
#: After a shard closes with no child in sight, describe again this many times, a poll interval apart.
CHILD_RESCANS: Final = 5

#: Errors that mean "slow down and try again", for DynamoDB Streams.
BACK_OFF: Final = THROTTLED | {"LimitExceededException", "InternalServerError", "InternalFailure",
                                "ServiceUnavailable"}


@dataclass(frozen=True)
class Shard:
    shard_id: str
    parent_id: str | None = None
    starting_sequence: str | None = None
    #: Set once the shard is closed (it will receive no more records).
    ending_sequence: str | None = None

    @property
    def closed(self) -> bool:
        return self.ending_sequence is not None

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Shard:
        numbers = raw.get("SequenceNumberRange") or {}
        return cls(
            shard_id=raw["ShardId"],
            parent_id=raw.get("ParentShardId") or None,
            starting_sequence=numbers.get("StartingSequenceNumber"),
            ending_sequence=numbers.get("EndingSequenceNumber"),
        )


@dataclass(frozen=True)
class StreamInfo:
    arn: str
    table: str
    view_type: str
    status: str
    key_names: tuple[str, ...]
    shards: tuple[Shard, ...]

    @property
    def open_shards(self) -> int:
        return sum(1 for s in self.shards if not s.closed)


@dataclass(frozen=True, slots=True)
class RawRecord:
    """A stream record as GetRecords returned it, and the shard it came from."""

    shard_id: str
    record: Mapping[str, Any]


@dataclass(frozen=True)
class Notice:
    """Something the reader should know that is not a record: trimmed data, throttling, a new shard."""

    message: str
    level: str = "info"  # "info" | "warning"
    shard_id: str | None = None

