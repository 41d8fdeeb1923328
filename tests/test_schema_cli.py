"""`eda schema` and `dlq peek --schema` end to end on the seeded demo sandbox (read-only tests: the module
seeds its own copy once per backend), and `schema infer|check` on files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from eda_cli.core.schemas import EVENTBRIDGE_LIMIT
from tests.fixtures.cli import Result, assert_one_line_error
from tests.fixtures.seeded import Seeded

SANDBOX = Path(__file__).resolve().parent.parent / "eda_cli" / "sandbox"
ORDER_SCHEMA = str(SANDBOX / "schemas" / "order-created.json")


def _depth(seeded: Seeded, queue: str) -> int:
    sqs = seeded.client("sqs")
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                                                         "ApproximateNumberOfMessagesNotVisible"])
    return sum(int(v) for v in attributes["Attributes"].values())


def test_peek_grouped_by_violation_names_the_missing_field(eda_ro: Callable[..., Result], seeded: Seeded) -> None:
    result = eda_ro("-o", "json", "dlq", "peek", "eu-fulfilment-dlq", "--schema", ORDER_SCHEMA,
                    "--group-by", "violation")
    assert result.code == 0, result.stderr
    body = result.json()
    assert (body["queue"], body["events"], body["invalid"]) == ("eu-fulfilment-dlq", 3, 3)
    groups = [(g["path"], g["rule"], g["count"], g["example"]) for g in body["groups"]]
    assert groups == [("$.detail.customerId", "required", 3, "missing"),
                      ("$.detail.amount", "type", 1, 'string "79.90"')]
    assert _depth(seeded, "eu-fulfilment-dlq") == 3  # peeked, not consumed
    table = eda_ro("--no-color", "dlq", "peek", "eu-fulfilment-dlq", "--schema", ORDER_SCHEMA,
                   "--group-by", "violation")
    assert table.code == 0, table.stderr
    first = next(line for line in table.stdout.splitlines() if line.startswith("$.detail.customerId"))
    assert first.split()[1:4] == ["required", "3", "missing"], table.stdout


def test_peek_with_a_schema_shows_each_message_s_violations(eda_ro: Callable[..., Result]) -> None:
    result = eda_ro("-o", "json", "dlq", "peek", "eu-orders-target-dlq", "--schema", ORDER_SCHEMA)
    assert result.code == 0, result.stderr
    items = result.items()
    assert len(items) == 3
    assert all(item["violations"] == [] and item["size"] > 0 and item["size_flags"] == [] for item in items)


def test_group_by_violation_needs_a_schema(eda_ro: Callable[..., Result]) -> None:
    result = eda_ro("dlq", "peek", "eu-fulfilment-dlq", "--group-by", "violation")
    assert_one_line_error(result, 2)
    assert "--group-by violation needs --schema" in result.stderr


def test_check_a_queue_exits_1_and_consumes_nothing(eda_ro: Callable[..., Result], seeded: Seeded) -> None:
    result = eda_ro("-o", "json", "schema", "check", "--queue", "eu-fulfilment-dlq", "--schema", ORDER_SCHEMA)
    assert result.code == 1, result.stderr
    body = result.json()
    assert body["invalid"] == 3 and body["groups"][0]["path"] == "$.detail.customerId"
    assert _depth(seeded, "eu-fulfilment-dlq") == 3
    valid = eda_ro("schema", "check", "--queue", "eu-orders-target-dlq", "--schema", ORDER_SCHEMA)
    assert valid.code == 0, valid.stdout + valid.stderr


def test_infer_from_a_queue_then_check_the_drifted_events_against_it(
        eda_ro: Callable[..., Result], tmp_path: Path) -> None:
    inferred = eda_ro("schema", "infer", "--from-queue", "eu-orders-target-dlq", "--by", "detail-type",
                      "--out", str(tmp_path))
    assert inferred.code == 0, inferred.stderr
    path = tmp_path / "shop.orders@OrderCreated.json"
    schema = json.loads(path.read_text())
    assert "customerId" in schema["properties"]["detail"]["required"]
    assert schema["properties"]["time"]["format"] == "date-time"
    check = eda_ro("-o", "json", "schema", "check", "--queue", "eu-fulfilment-dlq", "--schema", str(path))
    assert check.code == 1
    assert "$.detail.customerId" in [g["path"] for g in check.json()["groups"]]


def test_infer_from_a_table_s_stream(eda_ro: Callable[..., Result]) -> None:
    result = eda_ro("schema", "infer", "--from-stream", "orders", "--count", "20", "--format", "openapi")
    assert result.code == 0, result.stderr
    component = json.loads(result.stdout)["components"]["schemas"]["Event"]
    assert {"order_id", "status"} <= set(component["required"])


# -- files (no AWS) ------------------------------------------------------------------------------


def test_check_a_file_exit_codes(cli: Callable[..., Result], tmp_path: Path) -> None:
    event = json.loads((SANDBOX / "events" / "order-created-eu.json").read_text())
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(event) + "\n")
    assert cli("schema", "check", str(good), "--schema", ORDER_SCHEMA).code == 0
    drifted = dict(event, detail={k: v for k, v in event["detail"].items() if k != "customerId"})
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(event) + "\n" + json.dumps(drifted) + "\n")
    result = cli("--no-color", "schema", "check", str(bad), "--schema", ORDER_SCHEMA)
    assert result.code == 1
    assert "line 2:\n  $.detail.customerId: required; has missing" in result.stdout
    assert cli("schema", "check", str(tmp_path / "none.jsonl"), "--schema", ORDER_SCHEMA).code == 2
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert_one_line_error(cli("schema", "check", str(empty), "--schema", ORDER_SCHEMA), 2)
    assert_one_line_error(cli("schema", "check", str(good), "--schema", str(good)), 2)  # an event is no schema
    assert_one_line_error(cli("schema", "check", "--schema", ORDER_SCHEMA), 2)  # no events at all


def test_check_reads_stdin_and_flags_an_event_over_the_eventbridge_limit(
        cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    big = {"detail-type": "x", "blob": "x" * EVENTBRIDGE_LIMIT}
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps({"a": 1}) + "\n" + json.dumps(big) + "\n"))
    result = cli("-o", "json", "schema", "check", "-", "--schema", str(SANDBOX / "schemas" / "order-created.json"))
    assert result.code == 1
    body = result.json()
    assert body["size_flags"][0]["ref"] == "line 2"
    assert body["size_flags"][0]["flags"][0] == {"service": "EventBridge", "limit": EVENTBRIDGE_LIMIT,
                                                 "size": len(json.dumps(big)), "level": "over"}
    assert "line 2: 262,1" in result.stderr and "over EventBridge's 256 KB limit" in result.stderr


def test_infer_from_a_file_prints_a_schema_and_needs_one_source(cli: Callable[..., Result], tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"id": "6f2c1d9e-0b7a-4c55-9a8e-3d2f1c0b9a77", "state": "running"}\n'
                      '{"id": "7bf73129-1428-4cd3-a780-95db273d1602", "state": "running", "extra": 1}\nnope\n')
    result = cli("schema", "infer", "--from-file", str(events), "--enums")
    assert result.code == 0, result.stderr
    schema = json.loads(result.stdout)
    assert schema["required"] == ["id", "state"]
    assert schema["properties"]["id"]["format"] == "uuid"
    assert schema["properties"]["state"]["enum"] == ["running"]
    assert "1 event(s)" in result.stderr and "not JSON" in result.stderr
    assert_one_line_error(cli("schema", "infer"), 2)
    assert_one_line_error(cli("schema", "infer", "--from-file", str(events), "--from-queue", "q"), 2)


def test_check_masks_what_a_violation_quotes(cli: Callable[..., Result], tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps({"card": "4111 1111 1111 1111", "customer": {"email": "ann@example.com"}}) + "\n")
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"type": "object", "properties": {
        "card": {"type": "integer"}, "customer": {"type": "object", "properties": {"email": {"type": "integer"}}}}}))
    plain = cli("schema", "check", str(events), "--schema", str(schema))
    assert plain.code == 1 and "4111 1111 1111 1111" in plain.stdout and "ann@example.com" in plain.stdout
    for output in ("table", "json"):
        masked = cli("-o", output, "schema", "check", str(events), "--schema", str(schema),
                     "--redact-preset", "pci", "--redact", "customer.email")
        assert masked.code == 1, masked.stderr
        assert "4111" not in masked.stdout and "ann@example.com" not in masked.stdout, masked.stdout
        assert "<card ••••1111>" in masked.stdout and "<redacted>" in masked.stdout
