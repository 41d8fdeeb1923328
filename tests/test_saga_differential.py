"""The differential test: each saga runs on both engines against the backend (moto, LocalStack), and the
final resource state (DynamoDB items, queue messages) and the per-step outcomes must be identical.

Both runs go through the CLI (`eda -o json saga run ... --engine local|stepfunctions`) with the same
execution name, each in an empty AWS (moto reset, or a new LocalStack account). Step Functions runs on the
backend's interpreter, whose service integrations call back into the same server, as the execution role's
account: the sagas' role_arn names `${account}`, the account of the credentials in use.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.backends import Backend
from tests.fixtures.cli import Result, boto_clients
from tests.fixtures.saga import CHECKOUT, ORDER, make_checkout_resources, outcomes, snapshot

#: The refund (the charge's compensation) replaced by a conditional delete that always fails,
#: retried once: a compensation that fails, with a retry on both engines.
BROKEN_REFUND = """\
    compensate:
      call: dynamodb:deleteItem
      parameters:
        TableName: orders
        Key: {order_id: {S: "${input.order_id}"}}
        ConditionExpression: attribute_exists(refundable)
      retry: {attempts: 2, interval: 1, errors: [States.ALL]}

  - name: ship"""

#: Text templates with quotes, braces, backslashes and non-ASCII (they travel as literals in ASL),
#: typed values, and both filters.
TEMPLATES = """\
name: templates
role_arn: arn:aws:iam::${account}:role/eda-saga-test
steps:
  - name: note
    action:
      call: sqs:sendMessage
      parameters:
        QueueName: payments
        MessageBody: "it's {\\"order\\": \\"${input.order_id}\\"} x${input.amount} \\\\ é ${input.nested} $${literal}"
  - name: record
    action:
      call: dynamodb:putItem
      parameters:
        TableName: orders
        Item:
          order_id: {S: "${input.order_id}"}
          amount: {N: "${input.amount | string}"}
          flags: {M: {vip: {BOOL: "${input.vip}"}, note: {S: "${input.nested | json}"}}}
          message: {S: "${steps.note.result.MessageId}"}
"""


def _saga_file(tmp_path: Path, name: str) -> Path:
    text = CHECKOUT.read_text()
    if name == "checkout":
        return CHECKOUT
    if name == "broken-refund":
        before, after = text.split("\n  - name: ship", 1)
        start = before.rindex("    compensate:\n      call: sqs:sendMessage")
        text = before[:start] + BROKEN_REFUND + after
    elif name == "templates":
        text = TEMPLATES
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def _preexisting_order(boto: Any) -> None:
    boto("dynamodb").put_item(TableName="orders", Item={"order_id": {"S": ORDER["order_id"]}, "status": {"S": "OLD"}})


SCENARIOS: list[tuple[str, str, str | None, Callable[[Any], None] | None, str, int]] = [
    # id, saga, --fail-at, setup, expected status, expected exit code
    ("succeeds", "checkout", None, None, "SUCCEEDED", 0),
    ("fail-at-reserve", "checkout", "reserve", None, "COMPENSATED", 1),
    ("fail-at-charge", "checkout", "charge", None, "COMPENSATED", 1),
    ("fail-at-ship", "checkout", "ship", None, "COMPENSATED", 1),
    ("reserve-fails-for-real", "checkout", None, _preexisting_order, "COMPENSATED", 1),
    ("a-compensation-fails", "broken-refund", "ship", None, "FAILED", 1),
    ("templates", "templates", None, None, "SUCCEEDED", 0),
]


@pytest.mark.parametrize(("saga", "fail_at", "setup", "status", "code"),
                         [s[1:] for s in SCENARIOS], ids=[s[0] for s in SCENARIOS])
def test_both_engines_end_in_the_same_state(
    saga: str, fail_at: str | None, setup: Callable[[Any], None] | None, status: str, code: int,
    sfn_endpoint: str, eda: Callable[..., Result], backend: Backend, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    path = _saga_file(tmp_path, saga)
    run_input = {**ORDER, "vip": True, "nested": {"a": [1, "b"]}} if saga == "templates" else ORDER
    reports: dict[str, dict[str, Any]] = {}
    states: dict[str, dict[str, Any]] = {}
    for engine in ("local", "stepfunctions"):
        backend.fresh(monkeypatch)
        backend.enable_step_functions()
        boto = boto_clients(sfn_endpoint)  # with the new account's credentials
        make_checkout_resources(boto)
        if setup is not None:
            setup(boto)
        args = ["-o", "json", "saga", "run", str(path), "--engine", engine, "--input", json.dumps(run_input),
                "--execution-name", "order-o-2001", "--poll", "0.1"]
        if fail_at:
            args += ["--fail-at", fail_at]
        result = eda(*args)
        assert result.code == code, (engine, result.stdout, result.stderr)
        reports[engine] = result.json()
        states[engine] = snapshot(boto)
        assert reports[engine]["status"] == status, reports[engine]
        assert reports[engine]["engine"] == engine
    assert outcomes(reports["local"]) == outcomes(reports["stepfunctions"])
    assert states["local"] == states["stepfunctions"]
    assert reports["stepfunctions"]["execution"].endswith(":execution:" + path.stem + ":order-o-2001") or (
        reports["stepfunctions"]["execution"].endswith(":order-o-2001"))


def test_what_the_scenarios_leave_behind(sfn_endpoint: str, eda: Callable[..., Result], boto: Any,
                                          tmp_path: Path) -> None:
    """Pin the expected outcomes themselves (the differential test only says the engines agree)."""
    make_checkout_resources(boto)
    result = eda("-o", "json", "saga", "run", str(_saga_file(tmp_path, "broken-refund")), "--engine",
                 "stepfunctions", "--input", json.dumps(ORDER), "--fail-at", "ship", "--poll", "0.1")
    report = result.json()
    assert outcomes(report) == {
        "status": "FAILED",
        "steps": [("reserve", "SUCCEEDED", 1, None), ("charge", "SUCCEEDED", 1, None),
                  ("ship", "FAILED", 1, "Saga.InjectedFailure")],
        "compensations": [("charge", "FAILED", 2, "DynamoDB.ConditionalCheckFailedException")],
        "still_in_effect": ["reserve", "charge"],
    }
    state = snapshot(boto)
    assert [i["status"]["S"] for i in state["orders"]] == ["RESERVED"]
    assert state["payments"] == [{"type": "payment.charge", "order_id": "o-2001", "amount": 42.5}]
    assert state["shipments"] == []


RUNTIME = """\
name: runtime
role_arn: arn:aws:iam::${account}:role/eda-saga-test
steps:
  - name: a
    action: {call: sqs:sendMessage, parameters: {QueueName: payments, MessageBody: "a"}}
    compensate: {call: sqs:sendMessage, parameters: {QueueName: payments, MessageBody: "undo a"}}
  - name: b
    action:
      call: sqs:sendMessage
      parameters: {QueueName: payments, MessageBody: "${steps.a.result.Nope}"}
      retry: {attempts: 1}
"""


def test_a_runtime_error_is_where_moto_differs_from_aws(sfn_endpoint: str, eda: Callable[..., Result],
                                                        boto: Any, tmp_path: Path) -> None:
    """A template reading a missing value is States.Runtime. On AWS, States.ALL does not catch it: the
    execution fails at once, without compensating, and the local engine does the same. moto's and
    LocalStack's interpreters (one code base) lack that rule: their Catch on States.ALL catches the runtime
    error and compensates. This test pins both behaviours, so that an emulator that fixes it shows up here."""
    path = tmp_path / "runtime.yaml"
    path.write_text(RUNTIME)
    make_checkout_resources(boto)
    local = eda("-o", "json", "saga", "run", str(path), "--engine", "local")
    assert local.code == 1
    assert outcomes(local.json())["status"] == "FAILED" and local.json()["compensations"] == []
    assert local.json()["error"]["error"] == "States.Runtime"
    on_moto = eda("-o", "json", "saga", "run", str(path), "--engine", "stepfunctions", "--poll", "0.1")
    assert on_moto.code == 1
    assert on_moto.json()["status"] == "COMPENSATED"  # AWS: FAILED, like the local engine
    assert on_moto.json()["steps"][1]["error"]["error"] == "States.Runtime"
