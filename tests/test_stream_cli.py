"""`eda stream tail` end to end against each backend over HTTP.

moto's streams have one shard per table that never closes; lineage and faults are tested in
test_stream_lineage.py against a fake client. moto also emits a MODIFY for an update that changes
nothing (real DynamoDB and LocalStack's DynamoDB Local emit none), so the tests make real changes only.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from tests.fixtures.cli import Result, assert_one_line_error
from tests.fixtures.streams import await_records, make_table

Eda = Callable[..., Result]


def set_status(ddb: Any, order_id: str, status: str, table: str = "orders") -> None:
    ddb.update_item(TableName=table, Key={"order_id": {"S": order_id}}, UpdateExpression="SET #s = :s",
                    ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":s": {"S": status}})


def order_lifecycle(ddb: Any, table: str = "orders") -> None:
    ddb.put_item(TableName=table, Item={
        "order_id": {"S": "o-1"}, "status": {"S": "CREATED"}, "amount": {"N": "1499.99"},
        "big": {"N": "123456789012345678901234567890.123"}, "tags": {"SS": ["vip", "eu"]},
        "sig": {"B": b"\x00\x01"}, "address": {"M": {"city": {"S": "Oslo"}}},
    })
    set_status(ddb, "o-1", "PAID", table)
    ddb.update_item(TableName=table, Key={"order_id": {"S": "o-1"}}, UpdateExpression="SET note = :n",
                    ExpressionAttributeValues={":n": {"S": "gift"}})  # a change that leaves status alone
    ddb.delete_item(TableName=table, Key={"order_id": {"S": "o-1"}})
    await_records(ddb, table, 4)


def rows(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line, parse_float=Decimal) for line in result.stdout.splitlines()]


def test_no_follow_human_view_shows_inserts_changes_and_deletes(eda: Eda, boto: Any) -> None:
    ddb = boto("dynamodb")
    make_table(ddb)
    order_lifecycle(ddb)
    result = eda("stream", "tail", "orders", "--no-follow")
    assert result.code == 0, result.stderr
    out = result.stdout
    assert "\x1b[" not in out  # plain text when piped
    lines = out.splitlines()
    headers = [line.split()[1] for line in lines if not line.startswith(" ")]
    assert headers == ["INSERT", "MODIFY", "MODIFY", "REMOVE"]
    assert '    + amount: 1499.99' in lines
    assert '    + tags: ["eu", "vip"]' in lines
    assert '    ~ status: "CREATED" -> "PAID"' in lines
    assert '    + note: "gift"' in lines
    assert '    - status: "PAID"' in lines
    assert "order_id=o-1" in lines[0]
    assert "4 record(s) shown, 4 read" in result.stderr


def test_jsonl_rows_are_plain_json_with_exact_numbers(eda: Eda, boto: Any) -> None:
    ddb = boto("dynamodb")
    make_table(ddb)
    order_lifecycle(ddb)
    result = eda("--output", "jsonl", "stream", "tail", "orders", "--no-follow")
    assert result.code == 0, result.stderr
    assert '"big": 123456789012345678901234567890.123' in result.stdout
    got = rows(result)
    assert [r["event"] for r in got] == ["INSERT", "MODIFY", "MODIFY", "REMOVE"]
    first = got[0]
    assert set(first) == {"event", "table", "keys", "old", "new", "changed", "sequence", "shard", "time",
                          "ttl_expiry"}
    assert first["table"] == "orders" and first["keys"] == {"order_id": "o-1"} and first["old"] is None
    assert first["new"]["amount"] == Decimal("1499.99")
    assert first["new"]["tags"] == ["eu", "vip"] and first["new"]["sig"] == "AAE="
    assert first["time"].endswith("Z") and first["ttl_expiry"] is False
    assert got[1]["changed"] == ["status"] and got[2]["changed"] == ["note"]
    assert got[3]["new"] is None and got[3]["old"]["status"] == "PAID"
    assert len({r["sequence"] for r in got}) == 4


def test_changed_drops_the_update_that_left_the_field_alone(eda: Eda, boto: Any) -> None:
    ddb = boto("dynamodb")
    make_table(ddb)
    order_lifecycle(ddb)
    result = eda("-o", "jsonl", "stream", "tail", "orders", "--no-follow", "--changed", "status")
    assert result.code == 0, result.stderr
    assert [(r["event"], r["changed"]) for r in rows(result)] == [
        ("INSERT", ["address", "amount", "big", "order_id", "sig", "status", "tags"]),
        ("MODIFY", ["status"]),
        ("REMOVE", ["address", "amount", "big", "note", "order_id", "sig", "status", "tags"]),
    ]
    only = eda("-o", "json", "stream", "tail", "orders", "--no-follow", "--changed", "status",
               "--events", "MODIFY")
    assert [r["new"]["status"] for r in only.items()] == ["PAID"]


def test_filter_takes_a_bare_pattern_or_a_whole_filter_criteria(eda: Eda, boto: Any, tmp_path: Any) -> None:
    ddb = boto("dynamodb")
    arn = make_table(ddb)
    order_lifecycle(ddb)
    bare = '{"eventName": ["MODIFY"], "dynamodb": {"NewImage": {"status": {"S": ["PAID"]}}}}'
    result = eda("-o", "json", "stream", "tail", "orders", "--no-follow", "--filter", bare)
    assert result.code == 0, result.stderr
    assert [r["event"] for r in result.items()] == ["MODIFY", "MODIFY"]
    criteria = {"Filters": [{"Pattern": json.dumps({"eventName": ["REMOVE"]})},
                            {"Pattern": json.dumps({"eventSourceARN": [arn], "eventName": ["INSERT"]})}]}
    path = tmp_path / "criteria.json"
    path.write_text(json.dumps(criteria))
    result = eda("-o", "json", "stream", "tail", "orders", "--no-follow", "--filter", f"file://{path}")
    assert [r["event"] for r in result.items()] == ["INSERT", "REMOVE"]


def test_invalid_filter_is_a_one_line_usage_error(eda: Eda, boto: Any) -> None:
    make_table(boto("dynamodb"))
    result = eda("stream", "tail", "orders", "--no-follow", "--filter", '{"eventName": "MODIFY"}')
    assert_one_line_error(result, 2)
    assert "--filter" in result.stderr
    result = eda("stream", "tail", "orders", "--no-follow", "--filter", "{not json")
    assert_one_line_error(result, 2)


@pytest.mark.parametrize("args", [
    ["--from", "yesterday-ish"],
    ["--events", "UPDATE"],
    ["--output", "json"],  # json needs --no-follow or --count
    ["--output", "csv", "--no-follow"],
])
def test_bad_options_are_usage_errors(eda: Eda, boto: Any, args: list[str]) -> None:
    make_table(boto("dynamodb"))
    output = []
    if args[0] == "--output":
        output, args = args[:2], args[2:]
    result = eda(*output, "stream", "tail", "orders", *args)
    assert_one_line_error(result, 2)


def test_from_time_drops_older_records(eda: Eda, boto: Any) -> None:
    ddb = boto("dynamodb")
    make_table(ddb)
    order_lifecycle(ddb)
    recent = eda("-o", "json", "stream", "tail", "orders", "--from", "15m", "--no-follow")
    assert len(recent.items()) == 4
    future = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    assert eda("-o", "json", "stream", "tail", "orders", "--from", future, "--no-follow").items() == []


def test_from_latest_with_no_follow_reads_nothing_old(eda: Eda, boto: Any) -> None:
    ddb = boto("dynamodb")
    make_table(ddb)
    order_lifecycle(ddb)
    result = eda("-o", "json", "stream", "tail", "orders", "--from", "latest", "--no-follow")
    assert result.code == 0 and result.items() == []


def test_stream_arn_works_as_the_target(eda: Eda, boto: Any) -> None:
    ddb = boto("dynamodb")
    arn = make_table(ddb)
    ddb.put_item(TableName="orders", Item={"order_id": {"S": "o-9"}})
    await_records(ddb, "orders", 1)
    result = eda("-o", "json", "stream", "tail", str(arn), "--no-follow")
    assert result.code == 0, result.stderr
    assert [r["keys"] for r in result.items()] == [{"order_id": "o-9"}]
    table_arn = str(arn).split("/stream/")[0]
    result = eda("-o", "json", "stream", "tail", table_arn, "--no-follow")
    assert [r["keys"] for r in result.items()] == [{"order_id": "o-9"}]
    gone = eda("stream", "tail", table_arn.replace("table/orders", "table/gone") + "/stream/2024-01-01T00:00:00.000",
               "--no-follow")
    assert_one_line_error(gone, 3)
    assert "does not exist" in gone.stderr


@pytest.mark.parametrize("view", ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE"])
def test_partial_view_types_show_what_they_have(eda: Eda, boto: Any, view: str) -> None:
    ddb = boto("dynamodb")
    make_table(ddb, view=view)
    ddb.put_item(TableName="orders", Item={"order_id": {"S": "o-1"}, "status": {"S": "CREATED"}})
    await_records(ddb, "orders", 1)
    set_status(ddb, "o-1", "PAID")
    got = eda("-o", "json", "stream", "tail", "orders", "--no-follow").items()
    modify = got[1]
    assert modify["changed"] is None
    assert modify["keys"] == {"order_id": "o-1"}
    assert (modify["new"] is not None) == (view == "NEW_IMAGE")
    assert (modify["old"] is not None) == (view == "OLD_IMAGE")
    human = eda("stream", "tail", "orders", "--no-follow")
    assert human.code == 0 and view in human.stdout
    warned = eda("stream", "tail", "orders", "--no-follow", "--changed", "status")
    assert "MODIFY without both images cannot show what changed" in " ".join(warned.stderr.split())
    assert "MODIFY" not in warned.stdout


def test_missing_table_and_table_without_stream_are_aws_errors(eda: Eda, boto: Any) -> None:
    result = eda("stream", "tail", "nope", "--no-follow")
    assert_one_line_error(result, 3)
    assert "nope" in result.stderr
    make_table(boto("dynamodb"), "plain", view=None)
    result = eda("stream", "tail", "plain", "--no-follow")
    assert_one_line_error(result, 3)
    assert "has no stream" in result.stderr and "StreamEnabled=true" in result.stderr


def test_follow_prints_a_new_record_and_stops_at_count(endpoint: str, capsys: Any, boto: Any) -> None:
    from tests.fixtures.cli import in_process
    from tests.fixtures.sessions import session_factory

    ddb = boto("dynamodb")
    make_table(ddb)
    ddb.put_item(TableName="orders", Item={"order_id": {"S": "before"}})  # LATEST: not shown
    reading = threading.Event()  # the tail holds its LATEST iterators: what is written now, it shows

    def watched(client: Any) -> Any:
        client.meta.events.register("after-call.dynamodbstreams.GetRecords", lambda **_: reading.set())
        return client

    def write_once_reading() -> None:
        # Writing after a fixed delay raced the tail's start on a loaded machine (the record came before
        # the iterator, so LATEST never showed it): write once the tail has read.
        if reading.wait(20):
            ddb.put_item(TableName="orders", Item={"order_id": {"S": "o-new"}, "status": {"S": "CREATED"}})
            set_status(ddb, "o-new", "PAID")

    eda = in_process(endpoint, capsys, session_factory(dynamodbstreams=watched))
    writer = threading.Thread(target=write_once_reading)
    writer.start()
    try:
        result = eda("-o", "jsonl", "stream", "tail", "orders", "--count", "2", "--poll", "0.2", "--timeout", "20")
    finally:
        reading.set()
        writer.join()
    assert result.code == 0, result.stderr
    assert [(r["event"], r["keys"]["order_id"]) for r in rows(result)] == [("INSERT", "o-new"), ("MODIFY", "o-new")]


def test_count_not_reached_before_timeout_exits_1(eda: Eda, boto: Any) -> None:
    make_table(boto("dynamodb"))
    started = time.monotonic()
    result = eda("-o", "json", "stream", "tail", "orders", "--count", "1", "--timeout", "0.5", "--poll", "0.2")
    assert result.code == 1, result.stderr
    assert result.items() == []
    assert "0 of 1 record(s)" in result.stderr
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_exits_130_cleanly(endpoint: str, boto: Any, sig: signal.Signals) -> None:
    make_table(boto("dynamodb"))
    env = {**os.environ, "EDA_ENDPOINT_URL": endpoint}
    process = subprocess.Popen([sys.executable, "-m", "eda_cli", "stream", "tail", "orders", "--poll", "0.2"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert process.stderr is not None
    banner = process.stderr.readline()  # the tail is running once it has said so
    assert "tailing orders" in banner
    time.sleep(0.3)
    process.send_signal(sig)
    _, err = process.communicate(timeout=20)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert "0 record(s) shown" in err
