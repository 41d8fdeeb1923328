"""`dlq inspect` and `audit` over 2 regions x 3 accounts at once (`--regions`, `--accounts`), against the sequential
sweep of the same scopes (what a shell loop over `eda --region R --role-arn ...` does, without its process
start-ups), in the same run, on one moto server with an emulated network round trip.

Run: .venv/bin/python benchmarks/bench_scopes.py [--sources 10] [--repeat 3] [--latency-ms 0 20]
Goal (issue 17): the multi-scope run at most 0.2x the sequential sweep's time.

Both sides run eda's own core in each scope (aws/scopes.py: AssumeRole once per account, a session per scope,
then `inspect_queues` with the configuration's DLQ origins, or discovery plus the audit rules), with the same
fan-out inside each scope (core/concurrency.DEFAULT_CONCURRENCY); the sweep enters the accounts and runs the
scopes one after another (scope concurrency 1), the multi-scope run all at once (DEFAULT_SCOPE_CONCURRENCY).
moto gives AssumeRole's credentials the role's account, so one server holds the three accounts. Each scope
holds SOURCES queues with a DLQ each. The round trip is emulated by benchmarks/_latency_server.py.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._moto import dummy_credentials, moto_server

ACCOUNTS = ("111111111111", "222222222222", "333333333333")
REGIONS = ("us-east-1", "eu-west-1")
ROLE = "eda-bench"


def seed(url: str, sources: int) -> None:
    import boto3

    sts = boto3.client("sts", endpoint_url=url, region_name="us-east-1")
    for account in ACCOUNTS:
        c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{ROLE}", RoleSessionName="seed")["Credentials"]
        for region in REGIONS:
            sqs = boto3.client("sqs", endpoint_url=url, region_name=region, aws_access_key_id=c["AccessKeyId"],
                               aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
            for i in range(sources):
                dlq = sqs.create_queue(QueueName=f"svc{i:03d}-dlq")["QueueUrl"]
                arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
                sqs.create_queue(QueueName=f"svc{i:03d}", Attributes={
                    "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "3"})})


def inspect_work(scope: Any, session: Any) -> int:
    from eda_cli.core.dlq import inspect_queues

    return len(inspect_queues(session.client("sqs"), session.client("cloudwatch"), [],
                              clients=session.client).reports)


def audit_work(scope: Any, session: Any) -> int:
    from eda_cli.core.audit import audit
    from eda_cli.core.pipeline import load_pipeline

    loaded = load_pipeline(session.client, session.region, None)
    return len(audit(loaded.pipeline, loaded.spec, missing=loaded.missing).checks)


def sweep(url: str, work: Callable[[Any, Any], int], concurrency: int) -> tuple[int, int]:
    """Plan the 6 scopes and run `work` in each, `concurrency` at a time: (answers summed, API calls made)."""
    from eda_cli.aws.scopes import parse_scope_options, plan_scopes, run_scoped
    from eda_cli.aws.session import AwsSession, AwsSettings

    base = AwsSession(AwsSettings(region="us-east-1", endpoint_url=url))
    calls = CallCounter(base)
    plan = plan_scopes(base, parse_scope_options(",".join(REGIONS), ",".join(ACCOUNTS), ROLE), concurrency)
    for scoped in plan.sessions:
        calls.watch(scoped.session)
    run = run_scoped(plan, work, concurrency)
    assert not run.problems and len(run.results) == len(ACCOUNTS) * len(REGIONS), run.problems
    return sum(n for _, n in run.results), calls.total


class CallCounter:
    """Counts the AWS calls a session's clients (and later sessions') make, through botocore's event hooks."""

    def __init__(self, base: Any) -> None:
        self.total = 0
        self.watch(base)

    def watch(self, session: Any) -> None:
        session.boto_session.events.register("before-send", self._count)

    def _count(self, **_: Any) -> None:
        self.total += 1  # the GIL keeps += on an int whole enough for a count


def server_cpu(url: str) -> float:
    """The CPU seconds the server on `url`'s port has used (Linux /proc; 0 where there is none)."""
    port = url.rsplit(":", 1)[-1]
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            words = (proc / "cmdline").read_bytes().split(b"\0")
            if port.encode() not in words or not any(b"moto" in w or b"_latency_server" in w for w in words):
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            continue
    return 0.0


def measure(sources: int, repeat: int, latency_ms: float) -> dict[str, tuple[float, float, int, float, float]]:
    from eda_cli.aws.scopes import DEFAULT_SCOPE_CONCURRENCY

    dummy_credentials()
    found: dict[str, tuple[float, float, int, float, float]] = {}
    with moto_server(latency_ms) as url:
        seed(url, sources)
        for name, work in (("dlq inspect", inspect_work), ("audit", audit_work)):
            # Warm both paths (moto's backends per account and region, botocore's models).
            one, calls = sweep(url, work, 1)
            assert sweep(url, work, DEFAULT_SCOPE_CONCURRENCY)[0] == one
            seq: list[float] = []
            par: list[float] = []
            cpu: list[float] = []
            served: list[float] = []
            for _ in range(repeat):  # interleaved, so machine noise hits both alike
                t = time.perf_counter()
                sweep(url, work, 1)
                seq.append(time.perf_counter() - t)
                t, c, m = time.perf_counter(), time.process_time(), server_cpu(url)
                sweep(url, work, DEFAULT_SCOPE_CONCURRENCY)
                par.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)  # this process only: the server is another
                served.append(server_cpu(url) - m)
            found[name] = (statistics.median(seq), statistics.median(par), calls, statistics.median(cpu),
                           statistics.median(served))
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sources", type=int, default=10, help="source queues (each with a DLQ) per scope")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, nargs="*", default=[0, 20, 80],
                        help="emulated network round trip per AWS call (0: raw loopback moto)")
    args = parser.parse_args()
    os.chdir(tempfile.mkdtemp())  # no ./eda.yaml narrows the audit
    scopes = len(ACCOUNTS) * len(REGIONS)
    print(f"{len(REGIONS)} regions x {len(ACCOUNTS)} accounts = {scopes} scopes, {args.sources * 2} queues each; "
          f"median of {args.repeat}; one moto server in its own process\n")
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    print("| command | emulated RTT per call | API calls | sequential sweep (s) | multi-scope (s) | ratio "
          "| CPU per call, multi-scope: eda / moto (ms) |")
    print("|---|---|---|---|---|---|---|")
    for latency in args.latency_ms:
        for name, (seq, par, calls, cpu, served) in measure(args.sources, args.repeat, latency).items():
            print(f"| {name} | {latency:g} ms | {calls} | {seq:.2f} | {par:.2f} | {par / seq:.2f} "
                  f"| {cpu / calls * 1000:.1f} / {served / calls * 1000:.1f} |")
    print("\ngoal: ratio <= 0.2 at an AWS-like round trip (on raw loopback, moto's own CPU is the bottleneck)")


if __name__ == "__main__":
    main()
