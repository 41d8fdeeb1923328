"""A real `python -m eda_cli redrive`, killed with SIGKILL at random moments: no message is ever lost.

What this guards against: a redrive that deletes before the copy is safely in the target (or
archive), so that a crash between the two loses the message. After each kill, every original
message (identified by the unique id in its body) must be in the DLQ (visible or still in flight),
in the target, or in both; duplicates are bounded by one batch per worker; and every message that
reached the target is in the archive, which is written and fsync'd before the send.

The server is tests/fixtures/moto_locked_server.py: moto's SQS backend serialised by a lock, because plain moto
can itself drop or resurrect messages under concurrent deletes (MOTO-NOTES.md), and a loss here
must be eda's to count. Its /_eda_test/messages route shows in-flight messages too, so nothing has
to wait for the killed process's visibility timeouts to run out.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.backends import reset_moto
from tests.fixtures.cli import REGION
from tests.fixtures.kill_trials import Harness, sigkill_trials
from tests.fixtures.moto_locked_server import all_messages

TRIALS = 24
MESSAGES = 40
CONCURRENCY = 4
BATCH = 10


def _setup(url: str, trial: int) -> list[str]:
    import boto3

    reset_moto(url)
    sqs = boto3.Session(region_name=REGION).client("sqs", endpoint_url=url)
    dlq = sqs.create_queue(QueueName="orders-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.create_queue(QueueName="orders", Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "3"})})
    ids = [f"t{trial:02d}-m{i:03d}" for i in range(MESSAGES)]
    for start in range(0, MESSAGES, 10):
        sqs.send_message_batch(QueueUrl=dlq, Entries=[
            {"Id": str(i), "MessageBody": json.dumps({"id": ids[i]}),
             "MessageAttributes": {"n": {"DataType": "Number", "StringValue": str(i)}}}
            for i in range(start, start + 10)])
    return ids


def _start(url: str, archive: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "eda_cli", "--endpoint-url", url, "--output", "json", "redrive", "orders-dlq",
         "--yes", "--mode", "copy", "--concurrency", str(CONCURRENCY), "--wait-seconds", "0",
         "--archive", str(archive), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        env={**os.environ},
    )


def _ids(url: str, queue: str) -> list[str]:
    return [json.loads(m["body"])["id"] for m in all_messages(url, queue)]


def _wait_for(url: str, queue: str, count: int, process: subprocess.Popen[str], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if len(all_messages(url, queue)) >= count:
            return
        time.sleep(0.005)


def test_sigkill_at_random_moments_never_loses_a_message(locked: str, tmp_path: Path) -> None:
    harness = Harness(_setup, _start, lambda url: _ids(url, "orders-dlq"), lambda url: _ids(url, "orders"),
                      archived_id=lambda body: body["id"])
    sigkill_trials(locked, tmp_path, harness, trials=TRIALS, messages=MESSAGES, max_duplicates=CONCURRENCY * BATCH)


def test_ctrl_c_finishes_the_batches_in_flight_and_exits_130(locked: str, tmp_path: Path) -> None:
    """SIGINT (Ctrl-C): stop receiving, finish in-flight sends and deletes, print the summary, exit 130.
    Unlike a kill, nothing is left in flight and nothing is duplicated."""
    import boto3

    ids = _setup(locked, 0)
    sqs = boto3.Session(region_name=REGION).client("sqs", endpoint_url=locked)
    dlq = sqs.get_queue_url(QueueName="orders-dlq")["QueueUrl"]
    more = [f"x-{i:03d}" for i in range(160)]
    for start in range(0, len(more), 10):
        sqs.send_message_batch(QueueUrl=dlq, Entries=[
            {"Id": str(i), "MessageBody": json.dumps({"id": more[i]})} for i in range(start, start + 10)])
    process = _start(locked, tmp_path / "a.jsonl", "--rate", "60")
    _wait_for(locked, "orders", 20, process)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    summary: dict[str, Any] = json.loads(out)
    assert summary["interrupted"] is True
    in_dlq, in_target = _ids(locked, "orders-dlq"), _ids(locked, "orders")
    assert sorted(in_dlq + in_target) == sorted(ids + more)  # each message exactly once
    assert summary["moved"] == len(in_target) and 0 < len(in_target) < len(ids + more)
    assert all(m["visible"] for m in all_messages(locked, "orders-dlq"))  # held messages were put back


SIGINT_TRIALS = 20
SIGINT_MESSAGES = 120


def _fill(url: str, trial: int, count: int) -> list[str]:
    """_setup's queues with `count` messages."""
    import boto3

    ids = _setup(url, trial)
    sqs = boto3.Session(region_name=REGION).client("sqs", endpoint_url=url)
    dlq = sqs.get_queue_url(QueueName="orders-dlq")["QueueUrl"]
    more = [f"t{trial:02d}-x{i:03d}" for i in range(count - len(ids))]
    for start in range(0, len(more), 10):
        sqs.send_message_batch(QueueUrl=dlq, Entries=[
            {"Id": str(i), "MessageBody": json.dumps({"id": more[i]})}
            for i in range(start, min(start + 10, len(more)))])
    return ids + more


def _check_interrupted_run(url: str, ids: list[str], process: subprocess.Popen[str], context: str) -> dict[str, Any]:
    """After a Ctrl-C: every message exactly once in the two queues, the DLQ's all visible, and the printed
    summary equal to what the queues hold."""
    out, err = process.communicate(timeout=60)
    in_dlq, in_target = _ids(url, "orders-dlq"), _ids(url, "orders")
    context = f"{context}: exit {process.returncode}, {len(in_dlq)} in DLQ, {len(in_target)} in target; {err[-500:]}"
    assert sorted(in_dlq + in_target) == sorted(ids), context  # nothing lost, nothing duplicated
    assert all(m["visible"] for m in all_messages(url, "orders-dlq")), f"messages left hidden ({context})"
    if not out.strip():  # stopped before the redrive began (start-up or planning): nothing moved
        # 130 from eda; -SIGINT or 1 when the signal came before eda's own code ran (the interpreter's start)
        assert in_target == [] and process.returncode in (130, -signal.SIGINT, 1), context
        return {}
    summary: dict[str, Any] = json.loads(out)
    assert summary["moved"] == len(in_target), context
    assert summary["not_deleted_message_ids"] == [] and summary["in_flight_message_ids"] == [], context
    assert summary["left_in_dlq"] == len(in_dlq), context
    if summary["interrupted"]:
        assert process.returncode == 130, context
    else:
        # The run had finished and printed its (complete) summary when the signal came: the process may
        # then end by the signal while it exits. The summary still equals the queues, checked above.
        assert process.returncode in (0, 130, -signal.SIGINT), context
    return summary


def test_sigint_at_random_moments_leaves_a_summary_that_matches_the_queues(locked: str, tmp_path: Path) -> None:
    """Ctrl-C at random moments, 20 times: the summary equals the queue depths every time, each message is
    in exactly one queue, and nothing stays hidden."""
    seed = int(os.environ.get("REDRIVE_KILL_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    ids = _fill(locked, 98, SIGINT_MESSAGES)
    started = time.monotonic()
    whole = _start(locked, tmp_path / "calibrate.jsonl", "--rate", "80")
    assert whole.wait(timeout=60) == 0, whole.stderr.read() if whole.stderr else ""
    span = time.monotonic() - started
    mid_run = 0
    for trial in range(SIGINT_TRIALS):
        ids = _fill(locked, trial, SIGINT_MESSAGES)
        rate = ["--rate", "80"] if trial % 3 else []
        process = _start(locked, tmp_path / f"int-{trial}.jsonl", *rate)
        if trial % 2:
            time.sleep(rng.uniform(0, span))  # a random moment: start-up, planning, moving or ending
        else:
            _wait_for(locked, "orders", rng.randrange(1, SIGINT_MESSAGES), process)  # a random point of progress
        process.send_signal(signal.SIGINT)
        summary = _check_interrupted_run(locked, ids, process, f"seed {seed}, trial {trial}")
        if summary.get("interrupted") and 0 < summary["moved"] < len(ids):
            mid_run += 1
    assert mid_run >= SIGINT_TRIALS // 4, (
        f"only {mid_run} of {SIGINT_TRIALS} interrupts landed mid-redrive (seed {seed})")


def test_sigterm_is_a_ctrl_c(locked: str, tmp_path: Path) -> None:
    ids = _fill(locked, 0, SIGINT_MESSAGES)
    process = _start(locked, tmp_path / "a.jsonl", "--rate", "40")
    _wait_for(locked, "orders", 20, process)
    process.send_signal(signal.SIGTERM)
    summary = _check_interrupted_run(locked, ids, process, "SIGTERM")
    assert summary["interrupted"] is True and 0 < summary["moved"] < len(ids)


def test_a_second_ctrl_c_stops_waiting_and_names_what_was_in_flight(locked: str, tmp_path: Path) -> None:
    """The second Ctrl-C exits at once. Nothing is lost; a message sent but not yet deleted may be in both
    queues, and then it is named in in_flight_message_ids (exit 130, a partial summary)."""
    ids = _fill(locked, 0, SIGINT_MESSAGES)
    process = _start(locked, tmp_path / "a.jsonl", "--rate", "40")
    _wait_for(locked, "orders", 20, process)
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    summary = json.loads(out)
    assert summary["interrupted"] is True
    in_dlq, in_target = _ids(locked, "orders-dlq"), _ids(locked, "orders")
    assert set(ids) == set(in_dlq) | set(in_target)  # nothing lost
    in_both = set(in_dlq) & set(in_target)
    assert len(in_target) >= summary["moved"]
    # Whatever is in both queues, or in the target without being counted, was in flight, and is named.
    assert len(in_both) <= len(summary["in_flight_message_ids"]) + len(summary["not_deleted_message_ids"])
