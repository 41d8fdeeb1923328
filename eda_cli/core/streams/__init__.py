"""Read a DynamoDB stream the way AWS says to: every shard, parents before children, nothing twice.

Two layers:

* ``StreamPuller`` is the puller: a cancellable generator of raw records (``RawRecord``) and of
  things the user should know (``Notice``). It describes the stream with its pagination, builds the
  lineage from ``ParentShardId``, reads a parent shard to its end before any of its children, polls the
  open shards concurrently (bounded), finds new shards by describing the stream again periodically and
  whenever a shard closes, re-acquires expired iterators after the last record it saw, moves on past
  trimmed data, and backs off when throttled. It takes ``sleep`` and ``clock``, so tests never wait.
* ``StreamTail`` puts the puller, the record conversion (``records.py``) and the user's filters
  together and yields ``Change`` objects for a consumer to render.

Modules: ``model`` (limits, shards, ``RawRecord``, ``Notice``), ``shards`` (which stream, DescribeStream,
lineage), ``puller``, ``options`` (``--from``, ``--events``, ``TailOptions``) and ``tail``; ``ranges`` reads
one shard's sequence range back (DynamoDB Streams or Kinesis), as a stream on-failure record names it, and
says which parts the stream no longer holds (``eda redrive``).
"""

from __future__ import annotations

from eda_cli.core.streams.model import (
    DEFAULT_CONCURRENCY,
    GET_RECORDS_LIMIT,
    LATEST,
    TRIM_HORIZON,
    Notice,
    RawRecord,
    Shard,
    StreamInfo,
)
from eda_cli.core.streams.options import TailOptions, parse_age, parse_events, parse_since
from eda_cli.core.streams.puller import StreamPuller
from eda_cli.core.streams.ranges import GoneRange, RangeRead, RangeReadError, read_range
from eda_cli.core.streams.shards import describe_stream, stream_arn_for
from eda_cli.core.streams.tail import StreamTail

__all__ = [
    "DEFAULT_CONCURRENCY",
    "GET_RECORDS_LIMIT",
    "LATEST",
    "TRIM_HORIZON",
    "GoneRange",
    "Notice",
    "RangeRead",
    "RangeReadError",
    "RawRecord",
    "Shard",
    "StreamInfo",
    "StreamPuller",
    "StreamTail",
    "TailOptions",
    "describe_stream",
    "parse_age",
    "parse_events",
    "parse_since",
    "read_range",
    "stream_arn_for",
]
