"""Benchmark of `eda stream tail`: records per second, and latency from a write to its printed line.

Throughput (records per CPU-second on one core, no network): the same synthetic stream records
(boto3's GetRecords shape: NEW_AND_OLD_IMAGES, a mix of INSERT / MODIFY / REMOVE, ~9 attributes with
decimals, a set, a map and binary) go through

  * eda core: ``to_change`` (DynamoDB JSON -> plain JSON with exact numbers, the diff) and
    ``dumps`` of the JSONL row, written and flushed line by line to /dev/null, as
    ``--output jsonl`` does;
  * eda tail: the whole ``StreamTail`` (puller, conversion, filters) over an in-memory streams client
    serving pages of 1,000 records, rendered the same way;
  * baseline: a plain boto3 loop: ``TypeDeserializer`` on Keys, NewImage and OldImage,
    ``json.dumps`` with a ``default`` for Decimal (as a string), set and Binary, written and flushed the same way.

Latency: a moto server in its own process and ``eda --output jsonl stream tail`` in another; each
sample puts an item after a random pause and times until its line is read from eda's stdout. The goal
is at most the poll interval + 0.2 s.

    .venv/bin/python benchmarks/bench_stream.py [--records 50000] [--samples 15] [--polls 1.0,0.25]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _moto import dummy_credentials, moto_server  # noqa: E402

from eda_cli.core.records import dumps, to_change  # noqa: E402
from eda_cli.core.streams import StreamTail, TailOptions  # noqa: E402

GOAL_THROUGHPUT = 20_000
LATENCY_SLACK = 0.2
ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-05-01T00:00:00.000"


# -- throughput -------------------------------------------------------------------------------------


def synthetic_records(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    statuses = ["CREATED", "PAID", "PACKED", "SHIPPED", "CANCELLED"]
    out = []
    base = datetime(2024, 5, 1, tzinfo=timezone.utc).timestamp()
    for i in range(n):
        key = f"o-{i % 5000:05d}"
        image = {
            "order_id": {"S": key},
            "customer": {"S": f"c-{rng.randrange(1000)}"},
            "amount": {"N": f"{rng.randrange(100, 500000) / 100:.2f}"},
            "quantity": {"N": str(rng.randrange(1, 20))},
            "status": {"S": rng.choice(statuses)},
            "tags": {"SS": rng.sample(["eu", "vip", "gift", "express", "b2b"], 2)},
            "address": {"M": {"city": {"S": rng.choice(["Oslo", "Lyon", "Porto"])}, "zip": {"S": "0150"}}},
            "signature": {"B": rng.randbytes(16)},
            "updated": {"N": str(1714521600 + i)},
        }
        event = ("INSERT", "MODIFY", "MODIFY", "MODIFY", "REMOVE")[i % 5]
        data: dict[str, Any] = {
            "ApproximateCreationDateTime": datetime.fromtimestamp(base + i / 100, timezone.utc),
            "Keys": {"order_id": {"S": key}},
            "SequenceNumber": str(100000000000000000000 + i),
            "SizeBytes": 300,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
        if event != "REMOVE":
            data["NewImage"] = image
        if event != "INSERT":
            old = dict(image)
            old["status"] = {"S": rng.choice(statuses)}
            old["updated"] = {"N": str(1714521600 + i - 60)}
            data["OldImage"] = old
        out.append({"eventID": f"e{i}", "eventName": event, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
                    "awsRegion": "us-east-1", "dynamodb": data})
    return out


def run_eda_core(records: list[dict[str, Any]], sink: IO[str]) -> None:
    for record in records:
        sink.write(dumps(to_change(record, "orders", "shardId-1").to_dict()) + "\n")
        sink.flush()


def run_eda_tail(records: list[dict[str, Any]], sink: IO[str]) -> None:
    class Memory:
        """One closed shard holding every record, in pages of 1,000 (as GetRecords would)."""

        def describe_stream(self, **_: Any) -> dict[str, Any]:
            return {"StreamDescription": {
                "StreamArn": ARN, "StreamStatus": "ENABLED", "TableName": "orders",
                "StreamViewType": "NEW_AND_OLD_IMAGES",
                "KeySchema": [{"AttributeName": "order_id", "KeyType": "HASH"}],
                "Shards": [{"ShardId": "shardId-1", "SequenceNumberRange": {
                    "StartingSequenceNumber": "1", "EndingSequenceNumber": "2"}}]}}

        def get_shard_iterator(self, **_: Any) -> dict[str, Any]:
            return {"ShardIterator": "0"}

        def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
            start = int(ShardIterator)
            answer: dict[str, Any] = {"Records": records[start:start + Limit]}
            if start + Limit < len(records):
                answer["NextShardIterator"] = str(start + Limit)
            return answer

    tail = StreamTail(Memory(), ARN, TailOptions(start="trim-horizon", follow=False))
    for change in tail:
        sink.write(dumps(change.to_dict()) + "\n")  # type: ignore[union-attr]
        sink.flush()


def _default(value: Any) -> Any:
    """What a plain loop needs for TypeDeserializer's output: Decimal, set and Binary."""
    import base64

    from boto3.dynamodb.types import Binary

    if isinstance(value, Binary):
        raw: bytes = getattr(value, "value")  # noqa: B009 - boto3's stubs do not declare Binary.value
        return base64.b64encode(raw).decode("ascii")
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)


def run_baseline(records: list[dict[str, Any]], sink: IO[str]) -> None:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    for record in records:
        data = record["dynamodb"]
        row = {
            "event": record["eventName"],
            "keys": {k: deserializer.deserialize(v) for k, v in data["Keys"].items()},
            "new": {k: deserializer.deserialize(v) for k, v in data.get("NewImage", {}).items()},
            "old": {k: deserializer.deserialize(v) for k, v in data.get("OldImage", {}).items()},
            "sequence": data["SequenceNumber"],
            "time": data["ApproximateCreationDateTime"],
        }
        sink.write(json.dumps(row, default=_default) + "\n")
        sink.flush()


def best_rates(paths: dict[str, Callable[[list[dict[str, Any]], IO[str]], None]],
               records: list[dict[str, Any]], repeats: int) -> dict[str, float]:
    """Records per CPU-second of each path (user + system time of this process, so other work on a
    shared machine does not count), best of `repeats`; the paths take turns."""
    best = dict.fromkeys(paths, float("inf"))
    with open(os.devnull, "w", encoding="utf-8") as sink:
        for _ in range(repeats):
            for name, fn in paths.items():
                started = time.process_time()
                fn(records, sink)
                best[name] = min(best[name], time.process_time() - started)
    return {name: len(records) / seconds for name, seconds in best.items()}


# -- latency ----------------------------------------------------------------------------------------


def measure_latency(endpoint: str, poll: float, samples: int, seed: int = 11) -> list[float]:
    import boto3

    ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    table = f"latency-{str(poll).replace('.', '-')}"
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST",
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    env = {**os.environ, "EDA_ENDPOINT_URL": endpoint}
    process = subprocess.Popen(
        [sys.executable, "-m", "eda_cli", "--output", "jsonl", "stream", "tail", table,
         "--from", "trim-horizon", "--poll", str(poll)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT,
    )
    assert process.stdout is not None
    rng = random.Random(seed)
    try:
        ddb.put_item(TableName=table, Item={"pk": {"S": "warm-up"}})
        assert "warm-up" in process.stdout.readline()  # the tail is running and caught up
        latencies = []
        for i in range(samples):
            time.sleep(rng.uniform(0, poll))  # land anywhere in the poll cycle
            key = f"k{i}"
            started = time.perf_counter()
            ddb.put_item(TableName=table, Item={"pk": {"S": key}, "n": {"N": str(i)}})
            line = process.stdout.readline()
            latencies.append(time.perf_counter() - started)
            assert json.loads(line)["keys"]["pk"] == key, line
        return latencies
    finally:
        process.terminate()
        process.wait(timeout=10)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--samples", type=int, default=15)
    parser.add_argument("--polls", default="1.0,0.25", help="poll intervals for the latency runs")
    args = parser.parse_args()
    dummy_credentials()

    records = synthetic_records(args.records)
    rates = best_rates({"baseline": run_baseline, "core": run_eda_core, "tail": run_eda_tail},
                       records, args.repeats)
    baseline, core, whole = rates["baseline"], rates["core"], rates["tail"]

    print(f"## eda stream tail ({platform.python_implementation()} {platform.python_version()}, "
          f"{platform.machine()}, {os.cpu_count()} CPUs)\n")
    print(f"Throughput: {args.records:,} records (NEW_AND_OLD_IMAGES, ~9 attributes), best of {args.repeats}, "
          "JSONL written and flushed per line to /dev/null; records per CPU-second of one core "
          "(process time, so other load on the machine does not count).\n")
    print("| Path | records/CPU-s | vs baseline | goal |")
    print("|---|---:|---:|---|")
    print(f"| baseline: boto3 TypeDeserializer + json.dumps | {baseline:,.0f} | 1.00x | - |")
    for name, rate in (("eda: to_change + exact dumps", core), ("eda: whole StreamTail (puller + filters)", whole)):
        verdict = "ok" if rate >= GOAL_THROUGHPUT else "MISSED"
        print(f"| {name} | {rate:,.0f} | {rate / baseline:.2f}x | >= {GOAL_THROUGHPUT:,} {verdict} |")

    print("\nLatency: put_item to its JSONL line, moto server and eda in separate processes on loopback, "
          f"{args.samples} samples per poll interval.\n")
    print("| --poll | p50 s | p95 s | max s | bound (poll + 0.2) s | within |")
    print("|---:|---:|---:|---:|---:|---|")
    with moto_server() as endpoint:
        for poll in (float(p) for p in args.polls.split(",")):
            lat = measure_latency(endpoint, poll, args.samples)
            bound = poll + LATENCY_SLACK
            print(f"| {poll:g} | {percentile(lat, 0.5):.3f} | {percentile(lat, 0.95):.3f} | {max(lat):.3f} "
                  f"| {bound:.2f} | {'yes' if max(lat) <= bound else 'NO'} |")


if __name__ == "__main__":
    main()
