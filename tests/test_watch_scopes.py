"""`eda watch` over several scopes end to end: `--once` over two regions (a DLQ in each, Account and Region
columns, one headline of both), and over two accounts one of which cannot be entered (partial, exit 4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.fixtures.cli import Result, assert_one_line_error, in_process
from tests.fixtures.fakes import Failing
from tests.fixtures.scopes import ROLE, clients_in, fresh_accounts, queue_with_dlq
from tests.fixtures.sessions import session_factory

TWO_REGIONS = ("--regions", "us-east-1,eu-west-1")


def test_once_over_two_regions(eda: Callable[..., Result], endpoint: str, account: str) -> None:
    import boto3

    east = boto3.Session().client("sqs", region_name="us-east-1", endpoint_url=endpoint)
    west = boto3.Session().client("sqs", region_name="eu-west-1", endpoint_url=endpoint)
    east.send_message(QueueUrl=queue_with_dlq(east, "orders"), MessageBody="{}")
    for _ in range(2):
        west.send_message(QueueUrl=queue_with_dlq(west, "billing"), MessageBody="{}")

    result = eda(*TWO_REGIONS, "-o", "json", "watch", "--once")
    assert result.code == 0, result.stderr
    body = result.json()
    assert body["partial"] is False and body["region"] is None and body["account"] == account
    assert body["scopes"] == [f"us-east-1/{account}", f"eu-west-1/{account}"] and body["scopes_failed"] == 0
    rows = [(d["account"], d["region"], d["queue"], d["visible"]) for d in body["dlqs"]]
    assert rows == [(account, "eu-west-1", "billing-dlq", 2), (account, "us-east-1", "orders-dlq", 1)]
    assert body["calls"] >= 6  # per region: GetQueueAttributes, GetMetricData, DescribeAlarms

    table = eda(*TWO_REGIONS, "watch", "--once", "--filter", "west")
    assert table.code == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].startswith("eda watch  2 scopes (1 account x 2 regions)  ") and "API calls" in lines[0]
    header = next(line for line in lines if "DLQ" in line and "Visible" in line)
    assert header.split()[:4] == ["Account", "Region", "DLQ", "Visible"]
    assert [line.split()[:5] for line in lines if "-dlq" in line] == [
        ["!", account, "eu-west-1", "billing-dlq", "2"]]


def test_an_account_whose_role_is_refused_is_a_problem_and_exit_4(endpoint: str,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    accounts = fresh_accounts()
    allowed, refused = accounts
    sqs = clients_in(endpoint, allowed, "us-east-1")("sqs")
    sqs.send_message(QueueUrl=queue_with_dlq(sqs, "orders"), MessageBody="{}")

    def sts(real: Any) -> Any:
        return Failing("sts", real, {"assume_role": "AccessDenied"}, when=lambda kw: f":{refused}:" in kw["RoleArn"])

    eda = in_process(endpoint, capsys, session_factory(sts=sts))
    result = eda("--accounts", ",".join(accounts), "--role-name", ROLE, "-o", "json", "watch", "--once")
    assert result.code == 4, result.stderr
    body = result.json()
    assert body["partial"] is True and body["scopes"] == [f"us-east-1/{allowed}"] and body["scopes_failed"] == 1
    assert [(d["account"], d["queue"], d["visible"]) for d in body["dlqs"]] == [(allowed, "orders-dlq", 1)]
    [problem] = [p for p in body["problems"] if p.get("account") == refused]
    assert problem["service"] == "role" and problem["resource"] == f"arn:aws:iam::{refused}:role/{ROLE}"
    assert f"could not assume role arn:aws:iam::{refused}:role/{ROLE}" in result.stderr

    nowhere = in_process(endpoint, capsys, session_factory(sts=lambda real: Failing(
        "sts", real, {"assume_role": "AccessDenied"})))("--accounts", ",".join(accounts), "--role-name", ROLE,
                                                        "-o", "json", "watch", "--once")
    assert_one_line_error(nowhere, 3)  # no scope opened, each for the same reason: that reason, in one line


def test_p_peeks_a_dlq_through_its_own_scope(endpoint: str, account: str) -> None:
    """The board's peek of a row from eu-west-1 goes through eu-west-1's client (the home region's would not
    find the queue there)."""
    import queue

    import boto3

    from eda_cli.aws.scopes import parse_scope_options
    from eda_cli.aws.session import AwsSettings
    from eda_cli.commands._watch_board import _peek
    from eda_cli.commands.watch import _scopes_reader
    from eda_cli.context import AppContext

    west = boto3.Session().client("sqs", region_name="eu-west-1", endpoint_url=endpoint)
    west.send_message(QueueUrl=queue_with_dlq(west, "billing"), MessageBody='{"error": "card declined"}')
    app_ = AppContext(AwsSettings(region="us-east-1", endpoint_url=endpoint),
                      scope_options=parse_scope_options("us-east-1,eu-west-1", None, None))
    reader, sqs_of = _scopes_reader(app_, 2.0)
    try:
        [row] = reader.refresh().dlqs
    finally:
        reader.close()
    events: queue.Queue[tuple[Any, ...]] = queue.Queue()
    _peek(sqs_of, row, events)
    _, (state, label, *rest) = events.get_nowait()
    assert (state, label) == ("done", f"billing-dlq (eu-west-1/{account})"), rest
    assert len(rest[0].messages) == 1 and sqs_of(row).meta.region_name == "eu-west-1"
