"""Sizes on a real queue: `dlq peek` and `schema check --queue` flag a message near EventBridge's limit."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.fixtures.cli import Result

NEAR = 240_000  # within 10% of EventBridge's 262,144 bytes, under what SQS (and moto) accept


def test_peek_and_check_flag_a_message_near_the_eventbridge_limit(eda: Callable[..., Result], boto: Any,
                                                                  tmp_path: Path) -> None:
    sqs = boto("sqs")
    url = sqs.create_queue(QueueName="big-dlq")["QueueUrl"]
    big = json.dumps({"detail-type": "report.ready", "detail": {"blob": "x" * NEAR}})
    sqs.send_message(QueueUrl=url, MessageBody=big)
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"detail-type": "report.ready", "detail": {}}))
    peeked = eda("-o", "json", "dlq", "peek", "big-dlq", "--max", "2")  # both, no wait for more
    assert peeked.code == 0, peeked.stderr
    flags = {item["size"]: item["size_flags"] for item in peeked.items()}
    assert flags[len(big)] == [{"service": "EventBridge", "limit": 262144, "size": len(big), "level": "near"}]
    assert [f for size, f in flags.items() if size != len(big)] == [[]]
    assert f"{len(big):,} bytes: within 10% of EventBridge's 256 KB limit" in peeked.stderr
    schema = tmp_path / "report.json"
    schema.write_text('{"type": "object", "required": ["detail-type", "detail"]}')
    checked = eda("-o", "json", "schema", "check", "--queue", "big-dlq", "--max", "2", "--schema", str(schema))
    assert checked.code == 0, checked.stderr  # near a limit is a warning; over one would be exit 1
    body = checked.json()
    assert (body["events"], body["invalid"]) == (2, 0)
    assert [f["flags"][0]["level"] for f in body["size_flags"]] == ["near"]
    assert "within 10% of EventBridge's 256 KB limit" in checked.stderr
