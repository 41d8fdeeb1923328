"""`eda redrive` end to end against each backend over HTTP.

On moto the server is tests/fixtures/moto_locked_server.py: moto with its SQS backend serialised by a lock, because
redrive runs several workers and plain moto loses or duplicates messages under concurrent deletes
(MOTO-NOTES.md). Whatever these tests find missing or duplicated is therefore eda's doing. On LocalStack,
which has message move tasks, auto mode goes native where nothing needs copy mode: tests of copy mode's
mechanics ask for it with --mode copy.
"""

from __future__ import annotations

import io
import json
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.backends import Backend
from tests.fixtures.cli import REGION, Result, in_process
from tests.fixtures.redrive import ATTRIBUTES, arn_of, assert_one_line_error, fill, make_pipeline

Eda = Callable[..., Result]


@pytest.fixture
def sqs(url: str) -> Any:
    import boto3

    return boto3.Session(region_name=REGION).client("sqs", endpoint_url=url)


@pytest.fixture
def cli(eda: Eda, url: str) -> Eda:
    def invoke(*args: str) -> Result:
        return eda(*args, endpoint_url=url)

    return invoke


def body_ids(sqs: Any, queue: str) -> list[str]:
    """The body ids of every message in a queue (received, and hidden for a minute: at a test's end)."""
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    return [json.loads(m["Body"])["id"] for m in receive_all(sqs, url)]


def depth(sqs: Any, queue_url: str) -> tuple[int, int]:
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])


def receive_all(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    while True:
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=60,
                                     MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"])
        if not answer.get("Messages"):
            return got
        got.extend(answer["Messages"])


# -- command shape ---------------------------------------------------------------------------------


def test_every_command_shape_parses(cli: Eda, sqs: Any, tmp_path: Path, backend: Backend) -> None:
    make_pipeline(sqs, "payments")
    dry = cli("redrive", "payments-dlq", "--dry-run")
    assert dry.code == 0, dry.stderr
    assert cli("redrive", "--dry-run", "payments-dlq").code == 0  # options before the DLQ too
    replay = cli("redrive", "replay", str(tmp_path / "none.jsonl"), "--to", "payments", "--yes")
    assert_one_line_error(replay, 2)
    assert "no such archive" in replay.stderr  # our check, not click's: the command parsed
    for sub in ("status", "cancel"):
        result = cli("redrive", sub, "payments-dlq")
        assert "No such command" not in result.stderr and "Usage:" not in result.stderr, result.stderr
        if backend.has("sqs-move-tasks"):
            assert result.code == (0 if sub == "status" else 1), result.stderr  # nothing runs: cancel says so
        else:
            assert result.code == 3  # moto has no move tasks; eda says so in one line
            assert "does not support message move tasks" in result.stderr


def test_a_dlq_named_like_a_subcommand_is_redriven_with_run(cli: Eda, sqs: Any) -> None:
    dlq = sqs.create_queue(QueueName="status")["QueueUrl"]
    sqs.create_queue(QueueName="src", Attributes={"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": "3"})})
    fill(sqs, dlq, 3)
    result = cli("--output", "json", "redrive", "run", "status", "--yes", "--wait-seconds", "0")
    assert result.code == 0, result.stderr
    assert result.json()["moved"] == 3


def test_help_is_the_docstring_with_an_example(cli: Eda) -> None:
    result = cli("redrive", "--help")
    assert result.code == 0 and "Example: eda redrive" in result.stdout
    assert "replay" in result.stdout and "status" in result.stdout and "cancel" in result.stdout


# -- moving ----------------------------------------------------------------------------------------


def test_moves_every_message_with_attributes_byte_for_byte(cli: Eda, sqs: Any, backend: Backend) -> None:
    (source,), dlq = make_pipeline(sqs)
    ids = fill(sqs, dlq, 25)
    result = cli("--output", "json", "redrive", "orders-dlq", "--yes", "--wait-seconds", "0")
    assert result.code == 0, result.stderr
    summary = result.json()
    mode = "native" if backend.has("sqs-move-tasks") else "copy"
    assert {k: summary[k] for k in ("source", "targets", "mode", "dry_run", "moved", "skipped", "failed",
                                   "failed_message_ids", "archive", "moved_by_target", "left_in_dlq")} == {
        "source": "orders-dlq", "targets": ["orders"], "mode": mode, "dry_run": False, "moved": 25,
        "skipped": 0, "failed": 0, "failed_message_ids": [], "archive": None, "moved_by_target": {"orders": 25},
        "left_in_dlq": 0}
    assert summary["api_calls"] > 0 and summary["seconds"] >= 0
    if mode == "copy":
        assert "does not support move tasks" in summary["mode_reason"]  # auto fell back on moto, and says why
    assert f"{mode} mode" in result.stderr
    assert depth(sqs, dlq) == (0, 0)
    moved = receive_all(sqs, source)
    assert sorted(json.loads(m["Body"])["id"] for m in moved) == sorted(ids)
    for message in moved:
        assert message["MessageAttributes"] == ATTRIBUTES  # types (custom suffixes too) and bytes exact


def test_api_calls_stay_near_three_per_ten_messages(cli: Eda, sqs: Any) -> None:
    _, dlq = make_pipeline(sqs)
    fill(sqs, dlq, 100, attributes=False)
    result = cli("--output", "json", "redrive", "orders-dlq", "--yes", "--mode", "copy",
                 "--concurrency", "1", "--wait-seconds", "0")
    summary = result.json()
    assert summary["moved"] == 100
    # 10 receives + 10 sends + 10 deletes, plus setup, the empty receives that end the run and the summary.
    assert summary["api_calls"] <= 30 + 12, summary["api_calls"]


def test_the_summary_counts_every_request_the_command_sent(url: str, sqs: Any, capsys: Any, backend: Backend,
                                                           tmp_path: Path) -> None:
    """api_calls is every request eda sent (counted here on the wire, by botocore's before-send on every client of
    eda's session), from the GetQueueUrl that resolves the DLQ's name to the depth check at the end; for a replay
    too."""
    import boto3

    from eda_cli.aws.session import AwsSession

    _, dlq = make_pipeline(sqs)
    fill(sqs, dlq, 25, attributes=False)
    sent: list[str] = []
    wire = boto3.Session(region_name=REGION)
    wire.events.register("before-send", lambda event_name, **_: sent.append(event_name.rsplit(".", 1)[-1]))
    run = in_process(url, capsys, lambda settings: AwsSession(settings, boto_session=wire))
    archive = tmp_path / "moved.jsonl"
    result = run("--output", "json", "redrive", "orders-dlq", "--yes", "--mode", "copy", "--concurrency", "1",
                 "--wait-seconds", "0", "--archive", str(archive))
    assert result.code == 0, result.stderr
    summary = result.json()
    assert summary["moved"] == 25 and summary["left_in_dlq"] == 0
    seen = Counter(sent)
    assert summary["api_calls"] == len(sent), seen
    assert seen["GetQueueUrl"] == 1 and seen["SendMessageBatch"] == seen["DeleteMessageBatch"] >= 3, seen
    if backend.name == "moto":  # moto hands out 10 while it has them and its counts never lag: the exact conversation
        assert dict(seen) == {
            "GetQueueUrl": 1,  # the DLQ's name
            "GetQueueAttributes": 4,  # the DLQ's and its source's (the plan), "is it empty?", the depth left
            "ListDeadLetterSourceQueues": 1,
            "ListMessageMoveTasks": 1,  # can the endpoint run move tasks (for the plan's mode reason)
            # 3 with 10, 10 and 5 messages, then one (short poll) that brings nothing: the depth check ends the run
            "ReceiveMessage": 3 + 1,
            "SendMessageBatch": 3,
            "DeleteMessageBatch": 3,
        }, seen
    sent.clear()
    replayed = run("--output", "json", "redrive", "replay", str(archive), "--to", "orders-dlq", "--yes")
    assert replayed.code == 0, replayed.stderr
    assert replayed.json()["moved"] == 25
    # the --to queue's GetQueueUrl, its attributes, and 3 batches
    assert replayed.json()["api_calls"] == len(sent) == 5, Counter(sent)


def test_dry_run_changes_nothing_and_puts_visibility_back(cli: Eda, sqs: Any, url: str) -> None:
    (source,), dlq = make_pipeline(sqs)
    fill(sqs, dlq, 12)
    result = cli("--output", "json", "redrive", "orders-dlq", "--dry-run", "--wait-seconds", "0")
    assert result.code == 0, result.stderr
    summary = result.json()
    assert summary["dry_run"] is True and summary["moved"] == 0 and summary["would_move"] == 12
    assert summary["moved_by_target"] == {"orders": 12}
    assert len(summary["sample"]) == 5 and summary["sample"][0]["target"] == "orders"
    assert all(s["body"].startswith('{"id":"m0') for s in summary["sample"])
    assert depth(sqs, dlq) == (12, 0)  # all visible again at once, as `dlq peek` leaves them
    assert depth(sqs, source) == (0, 0)


def test_the_dry_run_sample_shows_what_an_sns_envelope_carries(cli: Eda, sqs: Any) -> None:
    _, dlq = make_pipeline(sqs)
    envelope = {"Type": "Notification", "MessageId": "n-1", "TopicArn": "arn:aws:sns:us-east-1:1:orders",
                "Message": json.dumps({"orderId": "o-1006", "amount": "12,50"})}
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(envelope))
    summary = cli("-o", "json", "redrive", "orders-dlq", "--dry-run", "--wait-seconds", "0").json()
    assert summary["sample"][0]["body"] == '{"amount":"12,50","orderId":"o-1006"}'


def test_without_a_terminal_yes_is_required(cli: Eda, sqs: Any) -> None:
    _, dlq = make_pipeline(sqs)
    fill(sqs, dlq, 3)
    result = cli("redrive", "orders-dlq")
    assert_one_line_error(result, 2)
    assert "--yes" in result.stderr
    assert depth(sqs, dlq) == (3, 0)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "code", "moved"), [("y\n", 0, 3), ("n\n", 130, 0)])
def test_on_a_terminal_it_asks(cli: Eda, sqs: Any, monkeypatch: pytest.MonkeyPatch, answer: str,
                               code: int, moved: int) -> None:
    (source,), dlq = make_pipeline(sqs)
    fill(sqs, dlq, 3)
    monkeypatch.setattr(sys, "stdin", _Terminal(answer))
    result = cli("redrive", "orders-dlq", "--wait-seconds", "0")
    assert result.code == code, result.stderr
    assert "Move ~3 message(s) from orders-dlq to orders?" in result.stderr
    assert depth(sqs, source)[0] == moved


def test_filter_moves_matches_and_ends_when_only_skipped_messages_come_back(cli: Eda, sqs: Any, url: str) -> None:
    """moto serves a standard queue from its head: 15 skipped messages sit in front of the 5 to move."""
    _, dlq = make_pipeline(sqs)
    fill(sqs, dlq, 15, body=lambda i: {"kind": "keep"})
    fill(sqs, dlq, 5, start=15, body=lambda i: {"kind": "move", "amount": i})
    pattern = json.dumps({"body": {"kind": ["move"], "amount": [{"numeric": [">=", 15]}]},
                          "message_attributes": {"tenant": ["acme"], "amount": [{"numeric": [">", 3]}]}})
    result = cli("--output", "json", "redrive", "orders-dlq", "--filter", pattern, "--yes", "--wait-seconds", "0")
    assert result.code == 0, result.stderr
    summary = result.json()
    assert (summary["moved"], summary["skipped"], summary["failed"]) == (5, 15, 0)
    assert sorted(body_ids(sqs, "orders")) == [f"m{i:03d}" for i in range(15, 20)]
    assert depth(sqs, dlq) == (15, 0)  # the skipped ones are visible again


def test_filter_from_a_file(cli: Eda, sqs: Any, url: str, tmp_path: Path) -> None:
    _, dlq = make_pipeline(sqs)
    fill(sqs, dlq, 6, body=lambda i: {"even": i % 2 == 0})
    pattern = tmp_path / "p.json"
    pattern.write_text(json.dumps({"body": {"even": [True]}}))
    result = cli("--output", "json", "redrive", "orders-dlq", "--filter", f"@{pattern}", "--yes",
                 "--wait-seconds", "0")
    assert result.json()["moved"] == 3


@pytest.mark.parametrize("pattern", ['{"body": {"n": [{"numeric": [">", "x"]}]}}', "{not json", "{}"])
def test_an_invalid_filter_is_a_usage_error(cli: Eda, sqs: Any, pattern: str) -> None:
    _, dlq = make_pipeline(sqs)
    fill(sqs, dlq, 2)
    result = cli("redrive", "orders-dlq", "--filter", pattern, "--yes")
    assert_one_line_error(result, 2)
    assert "--filter" in result.stderr
    assert depth(sqs, dlq) == (2, 0)


def test_max_stops_there_and_leaves_the_rest_visible(cli: Eda, sqs: Any, url: str) -> None:
    _, dlq = make_pipeline(sqs)
    fill(sqs, dlq, 23)
    result = cli("--output", "json", "redrive", "orders-dlq", "--max", "7", "--yes", "--wait-seconds", "0")
    assert result.code == 0, result.stderr
    assert result.json()["moved"] == 7
    assert len(body_ids(sqs, "orders")) == 7
    assert depth(sqs, dlq) == (16, 0)


def test_to_another_queue(cli: Eda, sqs: Any, url: str) -> None:
    _, dlq = make_pipeline(sqs)
    sqs.create_queue(QueueName="elsewhere")
    fill(sqs, dlq, 4)
    result = cli("--output", "json", "redrive", "orders-dlq", "--to", "elsewhere", "--yes", "--wait-seconds", "0")
    assert result.json()["targets"] == ["elsewhere"]
    assert len(body_ids(sqs, "elsewhere")) == 4 and body_ids(sqs, "orders") == []


def test_several_sources_and_no_source_arn_refuses_and_lists_them(cli: Eda, sqs: Any, url: str) -> None:
    """moto sets no DeadLetterQueueSourceArn: with two sources eda cannot know where a message belongs."""
    _, dlq = make_pipeline(sqs, sources=2)
    fill(sqs, dlq, 4)
    result = cli("redrive", "orders-dlq", "--yes", "--wait-seconds", "0")
    assert_one_line_error(result, 2)
    assert "orders-1, orders-2" in result.stderr and "--to" in result.stderr
    assert depth(sqs, dlq) == (4, 0)


def test_no_source_and_no_to_is_a_usage_error(cli: Eda, sqs: Any) -> None:
    sqs.create_queue(QueueName="lonely-dlq")
    result = cli("redrive", "lonely-dlq", "--yes")
    assert_one_line_error(result, 2)
    assert "--to" in result.stderr


def test_a_missing_dlq_is_an_aws_error(cli: Eda) -> None:
    assert_one_line_error(cli("redrive", "nope-dlq", "--yes"), 3)


def test_native_mode_cannot_filter(cli: Eda, sqs: Any) -> None:
    make_pipeline(sqs)
    result = cli("redrive", "orders-dlq", "--mode", "native", "--max", "3", "--yes")
    assert_one_line_error(result, 2)
    assert "--max" in result.stderr


# -- FIFO ------------------------------------------------------------------------------------------


def test_fifo_keeps_groups_order_and_never_reuses_the_dedup_id(cli: Eda, sqs: Any) -> None:
    _, dlq = make_pipeline(sqs, fifo=True)
    for seq in range(12):
        for group in ("g1", "g2", "g3"):
            sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"id": f"{group}-{seq:02d}", "seq": seq}),
                             MessageGroupId=group, MessageDeduplicationId=f"orig-{group}-{seq}",
                             MessageAttributes={"n": {"DataType": "Number", "StringValue": str(seq)}})
    result = cli("--output", "json", "redrive", "orders-dlq.fifo", "--yes", "--concurrency", "4",
                 "--wait-seconds", "0")
    assert result.code == 0, result.stderr
    assert result.json()["moved"] == 36 and result.json()["mode"] == "copy"  # auto copies a FIFO DLQ
    source = sqs.get_queue_url(QueueName="orders.fifo")["QueueUrl"]
    moved: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, VisibilityTimeout=30,
                                       MessageSystemAttributeNames=["All"]).get("Messages"):
        moved.extend(batch)  # FIFO: each group in order; deleted as read, so the next batch goes on
        sqs.delete_message_batch(QueueUrl=source, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])
    assert len(moved) == 36
    for group in ("g1", "g2", "g3"):
        in_group = [json.loads(m["Body"])["seq"] for m in moved if m["Attributes"]["MessageGroupId"] == group]
        assert in_group == list(range(12)), (group, in_group)  # every message kept its group, in order
    dedup = {m["Attributes"]["MessageDeduplicationId"] for m in moved}
    assert len(dedup) == 36 and not any(d.startswith("orig-") for d in dedup)


# -- native mode (message move tasks), where the backend has them ------------------------------------


def test_native_and_auto_move_exactly_what_they_say(cli: Eda, sqs: Any, backend: Backend, tmp_path: Path) -> None:
    """Messages SQS did not dead-letter itself (put there by `redrive replay --to DLQ`, so without
    DeadLetterQueueSourceArn) go back to the DLQ's only source, and the JSON matches the queues."""
    backend.require("sqs-move-tasks")
    (source,), dlq = make_pipeline(sqs)
    ids = fill(sqs, dlq, 12)
    archive = tmp_path / "a.jsonl"
    assert cli("redrive", "orders-dlq", "--archive", str(archive), "--yes", "--wait-seconds", "0").code == 0
    assert cli("redrive", "replay", str(archive), "--to", "orders-dlq", "--yes").code == 0
    receive_all(sqs, source)  # empty the source again (received and hidden; then purged)
    sqs.purge_queue(QueueUrl=source)
    assert depth(sqs, dlq) == (12, 0) and depth(sqs, source) == (0, 0)

    dry = cli("-o", "json", "redrive", "orders-dlq", "--dry-run", "--wait-seconds", "0")
    assert dry.code == 0, dry.stderr
    assert dry.json()["mode"] == "native" and "native mode" in dry.stderr  # what the plan says, the JSON says
    for mode in ("native", "auto"):
        if mode == "auto":
            fill(sqs, dlq, 5, start=100)
        expected = 12 if mode == "native" else 5
        result = cli("-o", "json", "redrive", "orders-dlq", "--mode", mode, "--yes")
        assert result.code == 0, result.stderr
        summary = result.json()
        assert (summary["mode"], summary["moved"], summary["task_reported_moved"], summary["unverified"]) == (
            "native", expected, expected, 0)
        assert summary["moved_by_target"] == {"orders": expected} and summary["left_in_dlq"] == 0
        assert depth(sqs, dlq) == (0, 0)
        got = body_ids(sqs, "orders")
        assert len(got) == expected
    assert set(ids) <= set(ids + got)


def test_a_native_fifo_redrive_reports_only_what_arrived(cli: Eda, sqs: Any, backend: Backend) -> None:
    """A FIFO DLQ: auto copies (fresh deduplication ids); a native move task may re-send the original ids,
    which the source drops inside its 5-minute window: eda then says so, exit 4, and never counts as moved
    what did not arrive. Either way, summary == queues."""
    backend.require("sqs-move-tasks")
    (source,), dlq = make_pipeline(sqs, fifo=True)
    for i in range(6):
        body = json.dumps({"id": f"m{i:03d}"})
        sqs.send_message(QueueUrl=source, MessageBody=body, MessageGroupId="g", MessageDeduplicationId=f"d{i}")
        sqs.send_message(QueueUrl=dlq, MessageBody=body, MessageGroupId="g", MessageDeduplicationId=f"d{i}")
    receive_all(sqs, source)
    sqs.purge_queue(QueueUrl=source)  # the source saw these deduplication ids a moment ago
    result = cli("-o", "json", "redrive", "orders-dlq.fifo", "--mode", "native", "--yes")
    summary = result.json()
    arrived = depth(sqs, source)[0]
    assert summary["moved"] == arrived and summary["moved_by_target"] == {"orders.fifo": arrived}
    assert summary["task_reported_moved"] - summary["moved"] == summary["unverified"]
    assert result.code == (4 if summary["unverified"] else 0), result.stderr
    if summary["unverified"]:
        assert "unaccounted for" in result.stderr
    assert "is FIFO" in result.stderr


# -- sizes -----------------------------------------------------------------------------------------


def test_big_messages_split_batches_by_size(sqs: Any, url: str) -> None:
    """Near-1 MiB messages: each SendMessageBatch stays within 1 MiB (moto rejects more)."""
    from eda_cli.aws.resolve import QueueRef
    from eda_cli.core.redrive import MAX_BATCH_BYTES, RedriveOptions, redrive

    _, dlq = make_pipeline(sqs)
    sizes = [600_000, 600_000, 300_000, 1_000_000, 20, 20]
    for i, size in enumerate(sizes):
        body = json.dumps({"id": f"m{i:03d}", "pad": "x" * (size - 30)})
        sqs.send_message(QueueUrl=dlq, MessageBody=body,
                         MessageAttributes={"tenant": {"DataType": "String", "StringValue": "acme"}})
    batches: list[int] = []

    def spy(params: dict[str, Any], **kwargs: Any) -> None:
        batches.append(sum(len(e["MessageBody"].encode()) for e in params["Entries"]))

    sqs.meta.events.register("provide-client-params.sqs.SendMessageBatch", spy)
    result = redrive(sqs, QueueRef("orders-dlq", dlq, arn_of(sqs, dlq)),
                     options=RedriveOptions(mode="copy", concurrency=1, wait_seconds=0))
    assert result.moved == 6 and not result.failed_message_ids
    # 2.5 MB in six messages: at least three batches, none over 1 MiB, where one batch of 10 would have done.
    assert len(batches) >= 3 and max(batches) <= MAX_BATCH_BYTES, batches
    assert sum(batches) == sum(len(json.dumps({"id": "m000", "pad": "x" * (s - 30)})) for s in sizes)
    assert sorted(body_ids(sqs, "orders")) == [f"m{i:03d}" for i in range(6)]


# -- archive and replay ----------------------------------------------------------------------------


def test_archive_then_replay_round_trip(cli: Eda, sqs: Any, url: str, tmp_path: Path) -> None:
    _, dlq = make_pipeline(sqs)
    ids = fill(sqs, dlq, 14)
    archive = tmp_path / "run.jsonl"
    result = cli("--output", "json", "redrive", "orders-dlq", "--archive", str(archive), "--yes",
                 "--wait-seconds", "0")
    assert result.code == 0 and result.json()["archive"] == str(archive)
    records = [json.loads(line) for line in archive.read_text().splitlines()]
    assert sorted(json.loads(r["body"])["id"] for r in records) == sorted(ids)
    assert records[0]["format"] == "eda-redrive-archive/1"
    assert records[0]["message_attributes"]["blob"]["data_type"] == "Binary"
    replay_target = sqs.create_queue(QueueName="replayed")["QueueUrl"]
    again = cli("--output", "json", "redrive", "replay", str(archive), "--to", "replayed", "--yes")
    assert again.code == 0, again.stderr
    assert again.json()["moved"] == 14 and again.json()["mode"] == "replay"
    replayed = receive_all(sqs, replay_target)
    assert sorted(json.loads(m["Body"])["id"] for m in replayed) == sorted(ids)
    assert all(m["MessageAttributes"] == ATTRIBUTES for m in replayed)
    assert len(body_ids(sqs, "orders")) == 14  # replay deletes nothing, moves nothing else


def test_a_line_cut_by_a_killed_run_is_skipped_and_never_glued(cli: Eda, sqs: Any, url: str, tmp_path: Path) -> None:
    _, dlq = make_pipeline(sqs)
    fill(sqs, dlq, 3)
    archive = tmp_path / "run.jsonl"
    archive.write_text('{"format": "eda-redrive-archive/1", "message_id": "half')  # a killed run's last write
    archive.chmod(0o600)  # as eda created it
    result = cli("redrive", "orders-dlq", "--archive", str(archive), "--yes", "--wait-seconds", "0")
    assert result.code == 0, result.stderr
    lines = archive.read_text().splitlines()
    assert len(lines) == 4 and all(json.loads(line)["format"] for line in lines[1:])
    sqs.create_queue(QueueName="replayed")
    again = cli("--output", "json", "redrive", "replay", str(archive), "--to", "replayed",
                "--filter", '{"body": {"id": ["m000", "m002"]}}', "--yes")
    assert again.code == 0, again.stderr
    assert (again.json()["moved"], again.json()["skipped"]) == (2, 1)
    assert "are not archive records and are skipped" in " ".join(again.stderr.split())  # rich wraps stderr


def test_replay_of_something_else_is_a_usage_error(cli: Eda, sqs: Any, tmp_path: Path) -> None:
    sqs.create_queue(QueueName="q")
    other = tmp_path / "other.txt"
    other.write_text("hello\nworld\n")
    result = cli("redrive", "replay", str(other), "--to", "q", "--yes")
    assert_one_line_error(result, 2)
    assert "not an eda redrive archive" in result.stderr


def test_archive_in_a_missing_directory_is_refused_before_anything_moves(cli: Eda, sqs: Any, tmp_path: Path) -> None:
    _, dlq = make_pipeline(sqs)
    fill(sqs, dlq, 2)
    result = cli("redrive", "orders-dlq", "--archive", str(tmp_path / "no" / "such.jsonl"), "--yes")
    assert_one_line_error(result, 2)
    assert depth(sqs, dlq) == (2, 0)


# -- the human summary -----------------------------------------------------------------------------


def test_human_summary(cli: Eda, sqs: Any, tmp_path: Path) -> None:
    _, dlq = make_pipeline(sqs)
    fill(sqs, dlq, 5)
    result = cli("redrive", "orders-dlq", "--archive", str(tmp_path / "a.jsonl"), "--yes", "--wait-seconds", "0")
    assert result.code == 0, result.stderr
    assert "orders-dlq: moved 5 message(s) to orders (copy mode)" in result.stdout  # --archive needs copy mode
    assert "eda redrive replay" in result.stdout and "now holds ~0" in result.stdout


def test_demo_redrives_the_payments_dlq_back_to_zero() -> None:
    from tests.fixtures.cli import run_cli

    result = run_cli("--no-color", "demo", timeout=300)
    assert result.code == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "payments-dlq: moved 4 message(s) to payments" in result.stdout
    tail = result.stdout.split("The payments DLQ is empty again", 1)[1]
    row = next(line for line in tail.splitlines() if line.startswith("payments-dlq"))
    assert row.split()[1:3] == ["0", "0"]  # visible, in flight
