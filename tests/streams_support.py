"""DynamoDB tables with streams for the end-to-end tests, made so that every backend records every write.

LocalStack creates a table's stream a moment after the table (items written before its shard exists never
reach it) and publishes records a moment after the write; moto does both at once.
"""

from __future__ import annotations

import time
from typing import Any


def _streams(ddb: Any) -> Any:
    import boto3

    # A new session: boto3's default one may hold an earlier test's credentials (another LocalStack account).
    return boto3.Session(region_name=ddb.meta.region_name).client("dynamodbstreams", endpoint_url=ddb.meta.endpoint_url)


def make_table(ddb: Any, name: str = "orders", view: str | None = "NEW_AND_OLD_IMAGES") -> str | None:
    """A table, and its stream ready to take records: LocalStack drops items written before its stream's
    shard exists (~0.5 s after CreateTable); moto's is ready at once."""
    kwargs: dict[str, Any] = {}
    if view:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view}
    table = ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **kwargs,
    )["TableDescription"]
    arn = table.get("LatestStreamArn")
    if arn:
        streams = _streams(ddb)
        deadline = time.monotonic() + 20
        while True:
            try:
                stream = streams.describe_stream(StreamArn=arn)["StreamDescription"]
            except streams.exceptions.ResourceNotFoundException:
                stream = {}  # LocalStack creates the stream a moment after the table
            if stream.get("StreamStatus") == "ENABLED" and stream.get("Shards"):
                break
            assert time.monotonic() < deadline, f"the stream of {name} never became ready"
            time.sleep(0.05)
    return arn


def await_records(ddb: Any, table: str, count: int) -> None:
    """Wait until the table's stream holds `count` records: a backend may publish them a moment after the
    write (LocalStack, through kinesis-mock), and a --no-follow tail reads only what is there."""
    streams = _streams(ddb)
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    deadline = time.monotonic() + 20
    while True:
        seen = 0
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                                  ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            for _ in range(10):
                page = streams.get_records(ShardIterator=iterator)
                seen += len(page["Records"])
                iterator = page.get("NextShardIterator")
                if not page["Records"] or not iterator:
                    break
        if seen >= count:
            return
        assert time.monotonic() < deadline, f"{table}'s stream holds {seen} records, not {count}"
        time.sleep(0.05)
