"""`eda watch --once` (and not on a terminal) end to end against the backend: one snapshot in each output
format, the filter, partial and AWS-error exit codes; and the board's key handling, without a terminal."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest

from tests.backends import Backend
from tests.fixtures.cli import Result, assert_one_line_error, in_process
from tests.fixtures.fakes import Failing
from tests.fixtures.servers import free_port
from tests.fixtures.sessions import session_factory


def alarm_in_alarm(cloudwatch: Any, name: str, namespace: str, metric: str, dimension: tuple[str, str],
                   statistic: str, value: float) -> None:
    """An alarm on `metric` (> 0), set to ALARM. LocalStack evaluates alarms on its own schedule: a breaching
    datapoint, and missing data ignored, keep an evaluation between here and the snapshot from undoing the
    ALARM (moto never evaluates)."""
    dimensions = [{"Name": dimension[0], "Value": dimension[1]}]
    cloudwatch.put_metric_data(Namespace=namespace, MetricData=[{
        "MetricName": metric, "Dimensions": dimensions, "Timestamp": datetime.now(timezone.utc), "Value": value,
        "Unit": "Count"}])
    cloudwatch.put_metric_alarm(
        AlarmName=name, Namespace=namespace, MetricName=metric, Dimensions=dimensions, Statistic=statistic,
        Period=60, EvaluationPeriods=1, Threshold=0, ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="ignore")
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="test")


def arrange(boto: Callable[[str], Any]) -> None:
    """orders -> orders-dlq (two messages, a depth alarm in ALARM, an age of 300 s in CloudWatch), and
    idle-dlq, empty, a DLQ by name only."""
    sqs, cloudwatch = boto("sqs"), boto("cloudwatch")
    dlq = sqs.create_queue(QueueName="orders-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.create_queue(QueueName="orders", Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})})
    sqs.create_queue(QueueName="idle-dlq")
    for n in range(2):
        sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"orderId": n}))
    alarm_in_alarm(cloudwatch, "orders-dlq-not-empty", "AWS/SQS", "ApproximateNumberOfMessagesVisible",
                   ("QueueName", "orders-dlq"), "Maximum", 2.0)
    cloudwatch.put_metric_data(Namespace="AWS/SQS", MetricData=[{
        "MetricName": "ApproximateAgeOfOldestMessage", "Dimensions": [{"Name": "QueueName", "Value": "orders-dlq"}],
        "Timestamp": datetime.now(timezone.utc), "Value": 300.0, "Unit": "Seconds"}])


def test_once_prints_one_json_snapshot_sorted_by_urgency(eda: Callable[..., Result], boto: Any,
                                                         backend: Backend) -> None:
    arrange(boto)
    result = eda("-o", "json", "watch", "--once")
    assert result.code == 0, result.stderr
    body = result.json()
    assert body["partial"] is False and body["problems"] == []
    assert [d["queue"] for d in body["dlqs"]] == ["orders-dlq", "idle-dlq"]
    orders, idle = body["dlqs"]
    assert (orders["visible"], orders["in_flight"], orders["alarm"], orders["alarm_names"]) == (
        2, 0, "ALARM", ["orders-dlq-not-empty"])
    assert orders["oldest_age_seconds"] == 300.0 and orders["history"] == [2] and orders["level"] == "fire"
    assert orders["found_by"] == "sqs redrive policy" and idle["found_by"] == "by name"
    assert (idle["visible"], idle["alarm"], idle["level"]) == (0, "NONE", "ok")
    assert body["refresh"] == 1 and body["calls"] >= 4  # 2 GetQueueAttributes, GetMetricData, DescribeAlarms
    assert body["alarms"] == []  # the DLQ's depth alarm is on its row
    moves_missing = any("ListMessageMoveTasks" in line for line in body["unavailable"])
    assert moves_missing == (backend.name == "moto")  # moto has no move tasks; LocalStack has
    if not moves_missing:
        assert body["calls"] >= 6 and body["redrives"] == []  # a ListMessageMoveTasks per DLQ, none running



def test_not_a_terminal_prints_the_tables_and_filtered_csv_rows(eda: Callable[..., Result], boto: Any) -> None:
    arrange(boto)
    table = eda("watch", "--interval", "5")  # stdout is not a terminal: one snapshot, no --once needed
    assert table.code == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].startswith("eda watch  us-east-1  ") and "refresh 1: " in lines[0] and "API calls" in lines[0]
    dlq_lines = [line for line in lines if "-dlq" in line]
    assert dlq_lines[0].split()[:4] == ["!!", "orders-dlq", "2", "0"] and dlq_lines[0].rstrip().endswith("ALARM")
    assert dlq_lines[1].split()[:2] == ["idle-dlq", "0"] and dlq_lines[1].rstrip().endswith("NONE")

    rows = eda("-o", "csv", "watch", "--filter", "IDLE").stdout.splitlines()
    assert rows[0].startswith("kind,level,urgency,queue,") and [row.split(",")[:4] for row in rows[1:]] == [
        ["dlq", "ok", "0", "idle-dlq"]]


def test_a_service_that_cannot_be_read_is_a_partial_snapshot(endpoint: str, boto: Any,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    arrange(boto)
    denied = session_factory(cloudwatch=lambda real: Failing("cloudwatch", real, {"get_metric_data": "AccessDenied"}))
    result = in_process(endpoint, capsys, denied)("-o", "json", "watch", "--once")
    assert result.code == 4, result.stderr
    body = result.json()
    assert body["partial"] is True and [p["resource"] for p in body["problems"]] == ["GetMetricData"]
    assert body["dlqs"][0]["visible"] == 2 and body["dlqs"][0]["stale"] == ["age"]
    assert "could not read cloudwatch GetMetricData" in result.stderr


def test_an_unreachable_endpoint_is_exit_3(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    result = in_process(f"http://127.0.0.1:{free_port()}", capsys)("watch", "--once")
    assert_one_line_error(result, 3)


# -- the board without a terminal: keys and what they do ---------------------------------------------------


def test_keys_arrows_and_the_filter_line() -> None:
    from eda_cli.commands._watch_board import Board, handle_key, split_keys

    assert split_keys("\x1b[A\x1b[Bq/ab\x7f\r\x1b") == ["up", "down", "q", "/", "a", "b", "backspace", "enter", "esc"]
    board = Board(filter="old")
    assert handle_key(board, "/") is None and board.editing == "old"
    for key in ["backspace", "backspace", "backspace", "p", "a", "y", "q"]:
        assert handle_key(board, key) is None  # while typing, q and p are letters
    assert board.editing == "payq" and board.filter == "old"
    handle_key(board, "backspace")
    handle_key(board, "enter")
    assert (board.filter, board.editing) == ("pay", None)
    handle_key(board, "/")
    handle_key(board, "x")
    handle_key(board, "esc")
    assert (board.filter, board.editing) == ("pay", None)
    assert [handle_key(board, k) for k in ("p", "r", "q")] == ["peek", "refresh", "quit"]


def test_selection_moves_over_the_shown_dlqs() -> None:
    from eda_cli.commands._watch_board import Board
    from eda_cli.commands.watch import sparkline
    from eda_cli.core.watch import DlqRow, Snapshot

    rows = tuple(DlqRow(name, f"url/{name}", f"arn:{name}", "by name", visible, 0, None)
                 for name, visible in (("a-dlq", 3), ("b-dlq", 2), ("c-dlq", 1)))
    board = Board(snapshot=Snapshot("us-east-1", "2026-12-05T09:00:00Z", 1, 0.1, 4, dlqs=rows))
    assert board.selected_row() is not None and board.selected_row().name == "a-dlq"  # type: ignore[union-attr]
    board.move(1)
    board.move(1)
    board.move(1)  # stops at the last
    assert board.selected == "arn:c-dlq"  # by ARN: names repeat across scopes
    board.filter = "b-"
    assert board.selected_row().name == "b-dlq"  # type: ignore[union-attr]  # the selection hidden: the first shown
    assert sparkline((0, 4, None, 8)) == "▁▄ █"


def test_streams_state_machines_and_alarms_on_the_snapshot(sfn_endpoint: str, eda: Callable[..., Result],
                                                           boto: Any) -> None:
    """build_account's stream mapping (its consumer's IteratorAge put in CloudWatch), a standard state machine
    with one failed execution (really run), an alarm in ALARM on the consumer, and an EXPRESS machine (not
    listed: said so)."""
    import time
    import uuid

    from tests.fixtures.discovery import build_account

    build_account(boto)
    sfn, cloudwatch = boto("stepfunctions"), boto("cloudwatch")
    machine = sfn.create_state_machine(
        name="orders-saga", roleArn="arn:aws:iam::123456789012:role/sfn",
        definition=json.dumps({"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "Oops"}}}),
    )["stateMachineArn"]
    name = f"run-{uuid.uuid4().hex[:8]}"
    execution = sfn.start_execution(stateMachineArn=machine, name=name)["executionArn"]
    deadline = time.monotonic() + 10
    while sfn.describe_execution(executionArn=execution)["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.1)
    cloudwatch.put_metric_data(Namespace="AWS/Lambda", MetricData=[{
        "MetricName": "IteratorAge", "Dimensions": [{"Name": "FunctionName", "Value": "worker"}],
        "Timestamp": datetime.now(timezone.utc), "Value": 120_000.0, "Unit": "Milliseconds"}])
    alarm_in_alarm(cloudwatch, "worker-errors", "AWS/Lambda", "Errors", ("FunctionName", "worker"), "Sum", 1.0)

    result = eda("-o", "json", "watch", "--once")
    assert result.code == 0, result.stderr
    body = result.json()
    [stream] = body["streams"]
    assert (stream["stream"], stream["function"], stream["iterator_age_seconds"], stream["level"]) == (
        "items", "worker", 120.0, "warn")
    [saga] = body["state_machines"]
    assert (saga["state_machine"], saga["failed"], saga["timed_out"], saga["last_failure"], saga["level"]) == (
        "orders-saga", 1, 0, name, "fire")
    assert [(a["alarm"], a["resources"]) for a in body["alarms"]] == [("worker-errors", ["worker"])]
    assert any("EXPRESS" in line and "flow" in line for line in body["unavailable"])


def test_the_board_fits_the_screen_and_keeps_the_selection_in_view() -> None:
    from rich.console import Console

    from eda_cli.commands._watch_board import Board, draw
    from eda_cli.core.watch import DlqRow, Snapshot

    rows = tuple(DlqRow(f"q{i:02d}-dlq", "u", f"arn:q{i:02d}", "by name", 30 - i, 0, None) for i in range(30))
    board = Board(snapshot=Snapshot("us-east-1", "2026-12-05T09:00:00Z", 1, 0.1, 31, dlqs=rows))
    for _ in range(25):
        board.move(1)
    console = Console(width=100, height=20, record=True)
    console.print(draw(board, 100, 20))
    lines = console.export_text().rstrip("\n").splitlines()
    assert len(lines) <= 20 and lines[1].startswith("q quit")  # the keys stay at the top
    assert any(line.startswith("│ >! │ q25-dlq") for line in lines)
    assert "DLQs 16-26 of 30 (up/down scrolls)" in "\n".join(lines) and "q00-dlq" not in "\n".join(lines)
