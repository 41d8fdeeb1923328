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
import subprocess
import sys
from pathlib import Path

from tests.backends import reset_moto
from tests.fixtures.cli import REGION
from tests.fixtures.eventbridge_dlq import add_target, dead_letter, dlq, event, rule, topic_with_inbox
from tests.fixtures.kill_trials import Harness, sigkill_trials
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
    topic, _ = topic_with_inbox(sqs, sns, inbox="inbox")
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


def test_sigkill_at_random_moments_never_loses_an_event(locked: str, tmp_path: Path) -> None:
    harness = Harness(_setup, _start, _in_dlq, _at_target, archived_id=lambda body: body["detail"]["id"])
    sigkill_trials(locked, tmp_path, harness, trials=TRIALS, messages=MESSAGES, max_duplicates=CONCURRENCY * BATCH)
