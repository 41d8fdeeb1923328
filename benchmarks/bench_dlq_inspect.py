"""`eda dlq inspect` over 200 queues (100 sources, 100 DLQs) against a local moto server, against a
plain sequential boto3 loop making the same calls, in the same run.

Run: .venv/bin/python benchmarks/bench_dlq_inspect.py [--sources 100] [--repeat 5]
Goal (issue 2): eda at most 0.35 of the sequential loop's time.

Both sides make the same calls: ListQueues (paginated), GetQueueAttributes(All) per queue,
DescribeAlarms (paginated), GetMetricData for the DLQs. eda fans GetQueueAttributes out over
threads (eda_cli.core.concurrency, DEFAULT_CONCURRENCY); the baseline calls them one by one.
The moto server runs in its own process, as in the end-to-end tests.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._moto import dummy_credentials, moto_server


def seed(sqs: Any, sources: int) -> None:
    for i in range(sources):
        dlq = sqs.create_queue(QueueName=f"svc{i:03d}-dlq")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.create_queue(QueueName=f"svc{i:03d}", Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "3"})})


def sequential(sqs: Any, cloudwatch: Any) -> int:
    """The baseline: the same calls, one after another, as a plain script would make them."""
    urls: list[str] = []
    for page in sqs.get_paginator("list_queues").paginate(PaginationConfig={"PageSize": 1000}):
        urls += page.get("QueueUrls", [])
    attrs = {u: sqs.get_queue_attributes(QueueUrl=u, AttributeNames=["All"])["Attributes"] for u in urls}
    targets = {json.loads(a["RedrivePolicy"])["deadLetterTargetArn"] for a in attrs.values() if "RedrivePolicy" in a}
    dlqs = [a["QueueArn"].rsplit(":", 1)[-1] for a in attrs.values() if a["QueueArn"] in targets]
    for _ in cloudwatch.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"]):
        pass
    now = datetime.now(timezone.utc)
    for start in range(0, len(dlqs), 500):
        cloudwatch.get_metric_data(
            MetricDataQueries=[{"Id": f"q{i}", "MetricStat": {"Metric": {
                "Namespace": "AWS/SQS", "MetricName": "ApproximateAgeOfOldestMessage",
                "Dimensions": [{"Name": "QueueName", "Value": n}]}, "Period": 60, "Stat": "Maximum"}}
                for i, n in enumerate(dlqs[start:start + 500])],
            StartTime=now - timedelta(minutes=5), EndTime=now + timedelta(minutes=1))
    return len(dlqs)


def with_eda(sqs: Any, cloudwatch: Any) -> int:
    from eda_cli.core.dlq import inspect, scan_dlqs

    scan = scan_dlqs(sqs)
    result = inspect(sqs, cloudwatch, list(scan.dlqs), problems=list(scan.problems))
    return len(result.reports)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sources", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, nargs="*", default=[0, 20],
                        help="emulated network round trip per AWS call (0: raw loopback moto)")
    args = parser.parse_args()
    print(f"{args.sources * 2} queues ({args.sources} DLQs), median of {args.repeat}, moto server in its own process\n")
    print("| emulated RTT per call | sequential boto3 loop (s) | eda dlq inspect core (s) | ratio eda/sequential |")
    print("|---|---|---|---|")
    for latency in args.latency_ms:
        b, m = measure(args.sources, args.repeat, latency)
        print(f"| {latency:g} ms | {b:.3f} | {m:.3f} | {m / b:.2f} |")
    print("\ngoal: ratio <= 0.35 (at an AWS-like round trip; on raw loopback moto's own CPU is the bottleneck)")


def measure(sources: int, repeat: int, latency_ms: float) -> tuple[float, float]:
    from eda_cli.aws.session import AwsSession, AwsSettings

    dummy_credentials()
    with moto_server(latency_ms) as url:
        session = AwsSession(AwsSettings(region="us-east-1", endpoint_url=url))
        sqs, cloudwatch = session.client("sqs"), session.client("cloudwatch")
        seed(sqs, sources)
        # Warm both paths (connection pools, botocore's model loading).
        assert sequential(sqs, cloudwatch) == with_eda(sqs, cloudwatch) == sources
        base: list[float] = []
        mine: list[float] = []
        for _ in range(repeat):  # interleaved, so machine noise hits both alike
            t = time.perf_counter()
            sequential(sqs, cloudwatch)
            base.append(time.perf_counter() - t)
            t = time.perf_counter()
            with_eda(sqs, cloudwatch)
            mine.append(time.perf_counter() - t)
    return statistics.median(base), statistics.median(mine)


if __name__ == "__main__":
    main()
