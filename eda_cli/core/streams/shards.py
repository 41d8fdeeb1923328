"""The stream and its shards: which stream to read, DescribeStream with all its pages, parents before children."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from eda_cli.aws.errors import error_code, is_client_error
from eda_cli.aws.resolve import resolve_table
from eda_cli.core.streams.model import BACK_OFF, BACKOFF_CAP, BACKOFF_FIRST, DESCRIBE_ATTEMPTS, Shard, StreamInfo
from eda_cli.errors import ResourceNotFound

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient


def stream_arn_for(dynamodb: DynamoDBClient, target: str, where: str = "") -> str:
    """A table name, table ARN or stream ARN -> the stream ARN to read (a table's current stream)."""
    target = target.strip()
    if target.startswith("arn:") and "/stream/" in target:
        return resolve_table(dynamodb, target).stream_arn or target  # checks the ARN's shape only
    table = resolve_table(dynamodb, target, where)
    if table.stream_arn is None:
        at = f" ({where})" if where else ""
        raise ResourceNotFound(
            f"table {table.name!r} has no stream{at}",
            hint=f"enable one: aws dynamodb update-table --table-name {table.name} "
            "--stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES",
        )
    return table.stream_arn


def describe_stream(
    client: DynamoDBStreamsClient,
    stream_arn: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> StreamInfo:
    """DescribeStream with all its pages (ExclusiveStartShardId / LastEvaluatedShardId).

    Throttling is retried with backoff; a stream that does not exist is ResourceNotFound.
    """
    shards: dict[str, Shard] = {}
    kwargs: dict[str, Any] = {"StreamArn": stream_arn}
    first: Mapping[str, Any] | None = None
    while True:
        page = _describe_page(client, kwargs, sleep)
        if first is None:
            first = page
        added = 0
        for raw in page.get("Shards", []):
            shard = Shard.from_api(raw)
            if shard.shard_id not in shards:
                added += 1
            shards[shard.shard_id] = shard
        last = page.get("LastEvaluatedShardId")
        # Stop on the last page, and on an endpoint that ignores ExclusiveStartShardId (moto).
        if not last or last == kwargs.get("ExclusiveStartShardId") or not added:
            break
        kwargs["ExclusiveStartShardId"] = last
    assert first is not None
    keys = sorted(first.get("KeySchema", []), key=lambda k: 0 if k.get("KeyType") == "HASH" else 1)
    return StreamInfo(
        arn=stream_arn,
        table=str(first.get("TableName", "")),
        view_type=str(first.get("StreamViewType", "")),
        status=str(first.get("StreamStatus", "")),
        key_names=tuple(str(k["AttributeName"]) for k in keys),
        shards=tuple(lineage_order(list(shards.values()))),
    )


def _describe_page(client: DynamoDBStreamsClient, kwargs: dict[str, Any],
                   sleep: Callable[[float], None]) -> Mapping[str, Any]:
    delay = BACKOFF_FIRST
    for attempt in range(DESCRIBE_ATTEMPTS):
        try:
            return client.describe_stream(**kwargs)["StreamDescription"]
        except Exception as exc:
            if is_client_error(exc, "ResourceNotFoundException"):
                raise ResourceNotFound(
                    f"stream {kwargs['StreamArn']} does not exist",
                    hint="a table's stream ARN changes each time the stream is re-enabled; "
                    "pass the table name to follow its current stream",
                ) from exc
            if error_code(exc) in BACK_OFF and attempt + 1 < DESCRIBE_ATTEMPTS:
                sleep(delay)
                delay = min(delay * 2, BACKOFF_CAP)
                continue
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def lineage_order(shards: list[Shard]) -> list[Shard]:
    """Parents before their children; otherwise the order DescribeStream gave."""
    by_id = {s.shard_id: s for s in shards}
    out: list[Shard] = []
    placed: set[str] = set()

    def place(shard: Shard, trail: frozenset[str]) -> None:
        if shard.shard_id in placed:
            return
        parent = by_id.get(shard.parent_id or "")
        if parent is not None and parent.shard_id not in trail:
            place(parent, trail | {shard.shard_id})
        placed.add(shard.shard_id)
        out.append(shard)

    for shard in shards:
        place(shard, frozenset())
    return out

