"""Live discovery (`eda topology` / `eda audit` / `eda init`) of a ~500-resource account on a local moto
server, concurrent (eda's default) against the same calls made one after another, in the same run.

Run: .venv/bin/python benchmarks/bench_discovery.py [--scale 1.0] [--repeat 3] [--latency-ms 0 20]
Goal (issue 6): concurrent discovery at most 0.35 of the sequential time.

Both sides run `eda_cli.core.pipeline.discover`: once with `concurrency=DEFAULT_CONCURRENCY`, once
with `concurrency=1`, which makes exactly the same calls (every List call, paginated, then one call
per resource) one after another; the benchmark checks both read the same pipeline with the same
number of calls. Runs are interleaved, median of `--repeat`. The moto server runs in its own process.

As for `dlq inspect` (see benchmarks/RESULTS.md): on raw loopback a call costs moto's CPU and no
network time, so with 2 cores the ratio is bound by moto's single GIL; the emulated-RTT row (the
server sleeps `--latency-ms` before answering each AWS request, benchmarks/_latency_server.py) is
what an account behind a real network round trip looks like.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._moto import dummy_credentials, moto_server

REGION = "us-east-1"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


def seed(client: Callable[[str], Any], scale: float) -> int:
    """An account of ~500 resources (at scale 1): queues with DLQs and alarms, topics with SQS
    subscriptions, buses with rules and targets, tables with streams, functions with mappings,
    state machines, log groups. Returns the number of resources created."""
    from eda_cli.core.concurrency import map_bounded

    def n(count: int) -> int:
        return max(1, round(count * scale))

    sqs, sns, events, dynamodb = client("sqs"), client("sns"), client("events"), client("dynamodb")
    lam, sfn, logs, cloudwatch, iam = (client(s) for s in ("lambda", "stepfunctions", "logs", "cloudwatch", "iam"))

    def make_queue(i: int) -> str:
        dlq = sqs.create_queue(QueueName=f"svc{i:03d}-dlq", Attributes={"MessageRetentionPeriod": "1209600"})
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq["QueueUrl"],
                                           AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        url = sqs.create_queue(QueueName=f"svc{i:03d}", Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})})["QueueUrl"]
        cloudwatch.put_metric_alarm(
            AlarmName=f"svc{i:03d}-dlq-depth", Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": f"svc{i:03d}-dlq"}], Statistic="Maximum", Period=60,
            EvaluationPeriods=1, Threshold=0, ComparisonOperator="GreaterThanThreshold")
        return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])

    queues = [o.value for o in map_bounded(make_queue, range(n(66)), 8) if o.value]

    def make_topic(i: int) -> int:
        topic = sns.create_topic(Name=f"topic{i:03d}")["TopicArn"]
        for queue in (queues[(2 * i) % len(queues)], queues[(2 * i + 1) % len(queues)]):
            sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue)
        return 3

    created = sum(o.value or 0 for o in map_bounded(make_topic, range(n(35)), 8))

    buses = [f"bus{b}" for b in range(3)]
    for bus in buses:
        events.create_event_bus(Name=bus)

    def make_rule(i: int) -> int:
        bus = buses[i % len(buses)]
        events.put_rule(Name=f"rule{i:03d}", EventBusName=bus,
                        EventPattern=json.dumps({"source": [f"svc.{i}"], "detail-type": ["created"]}))
        events.put_targets(Rule=f"rule{i:03d}", EventBusName=bus,
                           Targets=[{"Id": "t", "Arn": queues[i % len(queues)]}])
        return 2

    created += sum(o.value or 0 for o in map_bounded(make_rule, range(n(54)), 8))

    def make_table(i: int) -> str:
        table = dynamodb.create_table(
            TableName=f"table{i:03d}", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})["TableDescription"]
        return str(table["LatestStreamArn"])

    streams = [o.value for o in map_bounded(make_table, range(n(36)), 8) if o.value]
    role = iam.create_role(RoleName="bench-lambda", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": []}))["Role"]["Arn"]
    code = _zip()

    def make_function(i: int) -> int:
        fn = lam.create_function(FunctionName=f"fn{i:03d}", Runtime="python3.11", Role=role, Handler="index.handler",
                                 Code={"ZipFile": code}, Timeout=30)["FunctionArn"]
        lam.create_event_source_mapping(FunctionName=fn, EventSourceArn=streams[i % len(streams)],
                                        StartingPosition="LATEST", BisectBatchOnFunctionError=True)
        return 2

    created += sum(o.value or 0 for o in map_bounded(make_function, range(n(18)), 8))
    definition = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    for i in range(n(8)):
        sfn.create_state_machine(name=f"flow{i:03d}", definition=definition, roleArn=role)
        logs.create_log_group(logGroupName=f"/flows/flow{i:03d}")
    return created + 3 * len(queues) + len(buses) + len(streams) + 2 * n(8)


def measure(scale: float, repeat: int, latency_ms: float) -> tuple[float, float, int, int]:
    from eda_cli.aws.session import AwsSession, AwsSettings
    from eda_cli.core.concurrency import DEFAULT_CONCURRENCY
    from eda_cli.core.pipeline import discover

    dummy_credentials()
    with moto_server(latency_ms) as url:
        session = AwsSession(AwsSettings(region=REGION, endpoint_url=url))
        seed(session.client, scale)
        # Warm both paths (connection pools, botocore's models); check they read the same thing.
        fast, slow = discover(session.client, REGION), discover(session.client, REGION, concurrency=1)
        assert fast.to_dict() == slow.to_dict() and fast.calls == slow.calls and not fast.problems
        sequential: list[float] = []
        concurrent: list[float] = []
        for _ in range(repeat):  # interleaved, so machine noise hits both alike
            t = time.perf_counter()
            discover(session.client, REGION, concurrency=1)
            sequential.append(time.perf_counter() - t)
            t = time.perf_counter()
            discover(session.client, REGION, concurrency=DEFAULT_CONCURRENCY)
            concurrent.append(time.perf_counter() - t)
    return statistics.median(sequential), statistics.median(concurrent), fast.resource_count, fast.calls


def main() -> None:
    from eda_cli.core.concurrency import DEFAULT_CONCURRENCY

    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: ~500 resources")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, nargs="*", default=[0, 20],
                        help="emulated network round trip per AWS call (0: raw loopback moto)")
    args = parser.parse_args()
    rows = []
    for latency in args.latency_ms:
        rows.append((latency, *measure(args.scale, args.repeat, latency)))
    resources, calls = rows[0][3], rows[0][4]
    print(f"discovery of {resources} resources ({calls} API calls, every List paginated), median of "
          f"{args.repeat}, moto server in its own process; concurrency {DEFAULT_CONCURRENCY} vs 1\n")
    print("| emulated RTT per call | sequential (s) | concurrent (s) | ratio concurrent/sequential |")
    print("|---|---|---|---|")
    for latency, seq, conc, _, _ in rows:
        print(f"| {latency:g} ms | {seq:.3f} | {conc:.3f} | {conc / seq:.2f} |")
    print("\ngoal: ratio <= 0.35 (at an AWS-like round trip; on raw loopback moto's own CPU is the bottleneck)")


if __name__ == "__main__":
    main()
