"""DynamoDB streams: every record still in a table's stream that carries the id, read with `eda stream`'s puller."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from eda_cli.core.trace.match import carries
from eda_cli.core.trace.model import STREAM, Hit, Place
from eda_cli.core.trace.sources.base import Clock, Found, Sleep, plural

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient

    from eda_cli.core.records import Change

#: Budget: a search stops there and says it did not read everything (`Place.complete` False).
STREAM_RECORD_BUDGET = 100_000


def _change_text(change: Change) -> str:
    keys = ", ".join(f"{k}={v}" for k, v in change.keys.items())
    text = f"{change.event} {keys}"
    if change.event == "MODIFY" and change.changed:
        diffs = []
        for name in change.changed[:3]:
            old = (change.old or {}).get(name)
            new = (change.new or {}).get(name)
            diffs.append(f"{name} {old} -> {new}")
        text += ": " + "; ".join(diffs)
    if change.ttl_expiry:
        text += " (TTL expiry)"
    return text


def search_stream(
    streams: DynamoDBStreamsClient,
    table: str,
    stream_arn: str,
    correlation_id: str,
    since: float,
    *,
    budget: int = STREAM_RECORD_BUDGET,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
) -> Found:
    """Every record still in the stream (24 hours) written since `since` whose keys or images carry
    the id, read with `eda stream`'s puller (every shard, parents first) without following."""
    from eda_cli.core.streams import Notice, StreamTail, TailOptions

    tail = StreamTail(streams, stream_arn, TailOptions(start="trim-horizon", since=since, follow=False, poll=0.2),
                      sleep=sleep, clock=clock)
    hits: list[Hit] = []
    notes: list[str] = []
    complete = True
    try:
        for item in tail:
            if isinstance(item, Notice):
                if item.level == "warning":
                    notes.append(item.message)
                continue
            if carries(item.keys, correlation_id) or carries(item.new, correlation_id) \
                    or carries(item.old, correlation_id):
                hits.append(Hit(item.epoch, STREAM, table, _change_text(item), item.to_dict()))
            if tail.records_read >= budget:
                complete = False
                break
    finally:
        tail.close()
    note = f"{plural(tail.records_read, 'record')} read"
    if not complete:
        note += f"; stopped at {budget} records"
    if notes:
        note += "; " + "; ".join(notes)
    return Found(hits=hits, places=[Place(STREAM, table, note, complete=complete)])
