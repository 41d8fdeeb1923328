"""A real `python -m eda_cli redrive` of an EventBridge target DLQ, killed with SIGKILL at random moments:
no event is ever lost, whatever its target's API (here SNS PublishBatch, to a topic an SQS queue is
subscribed to, so what reached the target can be counted).

As tests/test_redrive_kill.py for SQS-to-SQS: after each kill, every event is in the DLQ (visible or
in flight), at its target, or both; duplicates are bounded by one batch per worker; and every event that
reached the target is in the archive, written and fsync'd before the send. The server is moto with its
SQS backend serialised (tests/fixtures/moto_locked_server.py), so a loss is eda's to count.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tests.backends import reset_moto
from tests.fixtures.cli import REGION
from tests.fixtures.eventbridge_dlq import add_target, dead_letter, dlq, event, queue, rule
from tests.fixtures.moto_locked_server import all_messages

TRIALS = 12
MESSAGES = 40
CONCURRENCY = 4
BATCH = 10


def _setup(url: str, trial: int) -> list[str]:
    import boto3

    reset_moto(url)
    session = boto3.Session(region_name=REGION)
    sqs, sns, events = (session.client(s, endpoint_url=url) for s in ("sqs", "sns", "events"))
    dlq_url, dlq_arn = dlq(sqs)
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    _, inbox_arn = queue(sqs, "inbox")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    r = rule(events, "orders-to-alerts", bus="shop")
    add_target(events, r, "alerts", topic, dlq_arn)
    ids = []
    for i in range(MESSAGES):
        ev = event(trial * 1000 + i, detail={"id": f"t{trial:02d}-e{i:03d}"})
        dead_letter(sqs, dlq_url, ev, r.arn, topic)
        ids.append(ev["detail"]["id"])
    return ids


def _start(url: str, archive: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "eda_cli", "--endpoint-url", url, "--output", "json", "redrive", "events-dlq",
         "--yes", "--concurrency", str(CONCURRENCY), "--wait-seconds", "0", "--archive", str(archive)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env={**os.environ},
    )


def _in_dlq(url: str) -> list[str]:
    return [json.loads(m["body"])["detail"]["id"] for m in all_messages(url, "events-dlq")]


def _at_target(url: str) -> list[str]:
    return [json.loads(json.loads(m["body"])["Message"])["detail"]["id"] for m in all_messages(url, "inbox")]


def _archived(archive: Path) -> set[str]:
    found = set()
    if archive.exists():
        for line in archive.read_text().splitlines():
            try:
                found.add(json.loads(json.loads(line)["body"])["detail"]["id"])
            except (ValueError, KeyError):
                continue  # a line cut short by the kill: its batch was never sent
    return found


def test_sigkill_at_random_moments_never_loses_an_event(locked: str, tmp_path: Path) -> None:
    seed = int(os.environ.get("REDRIVE_KILL_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    _setup(locked, 99)
    started = time.monotonic()
    whole = _start(locked, tmp_path / "calibrate.jsonl")
    assert whole.wait(timeout=60) == 0, whole.stderr.read() if whole.stderr else ""
    span = time.monotonic() - started
    assert len(_at_target(locked)) == MESSAGES and _in_dlq(locked) == []
    mid_run = 0
    for trial in range(TRIALS):
        ids = _setup(locked, trial)
        archive = tmp_path / f"trial-{trial}.jsonl"
        process = _start(locked, archive)
        if trial % 2:
            time.sleep(rng.uniform(0, span))  # a random moment: start-up, planning, moving or ending
        else:
            deadline = time.monotonic() + 20  # a random point of progress
            goal = rng.randrange(MESSAGES)
            while time.monotonic() < deadline and process.poll() is None and len(_at_target(locked)) < goal:
                time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        in_dlq, at_target = _in_dlq(locked), _at_target(locked)
        context = f"seed {seed}, trial {trial}: {len(in_dlq)} in DLQ, {len(at_target)} at the target"
        assert set(ids) <= set(in_dlq) | set(at_target), f"lost {set(ids) - set(in_dlq) - set(at_target)} ({context})"
        assert set(in_dlq) | set(at_target) <= set(ids), context
        duplicates = sum(n - 1 for n in Counter(in_dlq + at_target).values())
        assert duplicates <= CONCURRENCY * BATCH, f"{duplicates} duplicates ({context})"
        assert set(at_target) <= _archived(archive), f"sent before it was archived ({context})"
        if in_dlq and at_target:
            mid_run += 1
    assert mid_run >= TRIALS // 4, f"only {mid_run} of {TRIALS} kills landed mid-redrive (seed {seed})"
