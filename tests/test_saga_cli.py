"""`eda saga` end to end against the moto server: run, deploy, status, history; exit codes; the step view."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from eda_cli.core.saga import asl
from eda_cli.core.saga import model as m
from eda_cli.core.saga.spec import parse_saga, read_saga
from eda_cli.core.saga.stepfunctions import StepFunctionsRun, events_from_sync
from tests.aws_shapes import AwsFake
from tests.backends import Backend
from tests.fixtures.cli import Result, assert_one_line_error
from tests.fixtures.saga import CHECKOUT, ORDER, drain, make_checkout_resources

INPUT = json.dumps(ORDER)


def test_local_run_json_shape_and_exit_codes(eda: Callable[..., Result], boto: Any) -> None:
    make_checkout_resources(boto)
    ok = eda("-o", "json", "saga", "run", str(CHECKOUT), "--input", INPUT)
    assert ok.code == 0, ok.stderr
    doc = ok.json()
    assert list(doc) == ["saga", "engine", "execution", "status", "error", "steps", "compensations",
                         "still_in_effect", "partial", "problems"]
    assert (doc["saga"], doc["engine"], doc["status"]) == ("checkout", "local", "SUCCEEDED")
    assert set(doc["steps"][0]) >= {"name", "status", "attempts", "started_at", "ended_at", "error"}
    assert doc["steps"][0]["started_at"].endswith("Z")
    assert ok.stderr == ""  # JSON output: no progress lines
    failed = eda("-o", "json", "saga", "run", str(CHECKOUT), "--input", json.dumps({**ORDER, "order_id": "o-9"}),
                 "--fail-at", "charge")
    assert failed.code == 1
    doc = failed.json()
    assert [s["status"] for s in doc["steps"]] == ["COMPENSATED", "FAILED", "NOT_RUN"]
    assert doc["compensations"] == [{"step": "reserve", "status": "SUCCEEDED", "attempts": 1, "error": None,
                                     "started_at": doc["compensations"][0]["started_at"],
                                     "ended_at": doc["compensations"][0]["ended_at"], "resumed": False}]


def test_human_output_and_plain_progress_lines(eda: Callable[..., Result], boto: Any) -> None:
    make_checkout_resources(boto)
    result = eda("saga", "run", "example:checkout", "--input", INPUT, "--fail-at", "ship")
    assert result.code == 1
    assert "saga checkout on local: COMPENSATED" in result.stdout
    assert "step ship failed (Saga.InjectedFailure); compensated charge, reserve" in result.stdout
    assert result.stderr.splitlines() == [
        "reserve: attempt 1", "reserve: succeeded", "charge: attempt 1", "charge: succeeded",
        "ship: attempt 1", "ship: FAILED: Saga.InjectedFailure: failure injected at step ship (--fail-at)",
        "compensate charge: attempt 1", "compensate charge: succeeded",
        "compensate reserve: attempt 1", "compensate reserve: succeeded", "saga: COMPENSATED",
    ]


def test_the_live_view_on_a_terminal() -> None:
    from eda_cli.commands.saga import StepView
    from eda_cli.render import Renderer

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    err = Tty()
    renderer = Renderer(output="table", color=False, stdout=io.StringIO(), stderr=err)
    saga = read_saga(str(CHECKOUT))
    with StepView(renderer, saga, "local") as view:
        assert view.live_enabled
        view(m.SagaEvent(m.ACTION, m.STARTED, "reserve"))
        view(m.SagaEvent(m.ACTION, m.ATTEMPT, "reserve", attempt=1))
        view(m.SagaEvent(m.ACTION, m.FAILED, "reserve", error=m.StepError("X", "y")))
    assert "reserve" in err.getvalue() and "FAILED" in err.getvalue()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--input", "{nope"], "is not valid JSON"),
        (["--input", "[1]"], "must be a JSON object"),
        (["--input", "{}"], "the input has no 'order_id'"),
        (["--input", INPUT, "--fail-at", "nope"], "--fail-at 'nope': no such step"),
        (["--input", INPUT, "--engine", "stepfunctions", "--idempotency-table", "t"], "for the local engine"),
        (["--input", INPUT, "--execution-name", "bad name"], "--execution-name"),
        (["--input", "@/nonexistent/order.json"], "cannot read"),
    ],
)
def test_bad_input_exits_2(args: list[str], fragment: str, eda: Callable[..., Result]) -> None:
    result = eda("saga", "run", str(CHECKOUT), *args)
    assert_one_line_error(result, 2)
    assert fragment in result.stderr


def test_input_from_a_file(eda: Callable[..., Result], boto: Any, tmp_path: Path) -> None:
    make_checkout_resources(boto)
    order = tmp_path / "order.json"
    order.write_text(INPUT)
    assert eda("saga", "run", str(CHECKOUT), "--input", f"@{order}").code == 0


def test_an_invalid_file_exits_2(eda: Callable[..., Result], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsteps:\n  - name: a\n    action: {call: sqs:send}\n")
    result = eda("saga", "run", str(bad))
    assert_one_line_error(result, 2)
    assert f"{bad}:4:" in result.stderr


def test_aws_errors_before_the_start_exit_3(eda: Callable[..., Result], boto: Any, sfn_endpoint: str) -> None:
    # The queue the saga names does not exist (resolved before anything runs): nothing was written.
    boto("dynamodb").create_table(
        TableName="orders", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
    )
    for engine in ("local", "stepfunctions"):
        result = eda("saga", "run", str(CHECKOUT), "--input", INPUT, "--engine", engine)
        assert_one_line_error(result, 3)
        assert "queue 'payments' does not exist" in result.stderr
    assert boto("dynamodb").scan(TableName="orders")["Items"] == []
    make_checkout_resources_rest(boto)
    missing_table = eda("saga", "run", str(CHECKOUT), "--input", INPUT, "--idempotency-table", "nope")
    assert_one_line_error(missing_table, 3)
    unreachable = eda("saga", "run", str(CHECKOUT), "--input", INPUT, endpoint_url="http://127.0.0.1:9")
    assert_one_line_error(unreachable, 3)


def make_checkout_resources_rest(boto: Any) -> None:
    boto("sqs").create_queue(QueueName="payments")
    boto("events").create_event_bus(Name="orders-bus")


def test_stepfunctions_run_then_status_and_history(eda: Callable[..., Result], boto: Any, account: str,
                                                   sfn_endpoint: str) -> None:
    make_checkout_resources(boto)
    run = eda("-o", "json", "saga", "run", str(CHECKOUT), "--engine", "stepfunctions", "--input", INPUT,
              "--fail-at", "ship", "--poll", "0.1")
    assert run.code == 1, run.stderr
    report = run.json()
    arn = report["execution"]
    assert arn.startswith(f"arn:aws:states:us-east-1:{account}:execution:checkout:checkout-")
    status = eda("-o", "json", "saga", "status", arn)
    assert status.code == 1
    assert {k: v for k, v in status.json().items()} == report
    human = eda("saga", "status", arn)
    assert "saga checkout on stepfunctions: COMPENSATED" in human.stdout
    history = eda("-o", "json", "saga", "history", arn)
    assert history.code == 0
    events = history.items()
    assert events[0]["type"] == "ExecutionStarted" and events[-1]["type"] == "ExecutionFailed"
    assert events[-1]["error"] == "Saga.Compensated"
    assert {e["step"] for e in events if e["state"] == "compensate charge"} == {"charge"}
    table = eda("saga", "history", arn)
    assert "injected failure: ship" in table.stdout
    # The execution's raw status, as Step Functions reports it.
    described = boto("stepfunctions").describe_execution(executionArn=arn)
    assert (described["status"], described["error"]) == ("FAILED", "Saga.Compensated")
    assert json.loads(described["cause"])["failed"]["ship"]["Error"] == "Saga.InjectedFailure"


def test_status_rejects_what_is_not_a_saga_execution(eda: Callable[..., Result], boto: Any,
                                                     sfn_endpoint: str) -> None:
    assert_one_line_error(eda("saga", "status", "checkout-123"), 2)
    sfn = boto("stepfunctions")
    machine = sfn.create_state_machine(name="plain", roleArn="arn:aws:iam::123456789012:role/r",
                                       definition=json.dumps({"StartAt": "a", "States": {"a": {"Type": "Succeed"}}}))
    execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="e1", input="{}")
    foreign = eda("saga", "status", execution["executionArn"])
    assert_one_line_error(foreign, 2)
    assert "not compiled from a saga by eda" in foreign.stderr
    gone = eda("saga", "status", execution["executionArn"].replace(":e1", ":e2"))
    assert_one_line_error(gone, 3)


def test_deploy_creates_updates_and_checks_the_type(eda: Callable[..., Result], boto: Any, tmp_path: Path,
                                                    account: str, sfn_endpoint: str) -> None:
    make_checkout_resources(boto)
    first = eda("-o", "json", "saga", "deploy", str(CHECKOUT))
    assert first.code == 0, first.stderr
    assert first.json()["action"] == "created" and first.json()["type"] == "STANDARD"
    # role_arn: arn:aws:iam::${account}:role/... names the caller's account
    machine = boto("stepfunctions").describe_state_machine(stateMachineArn=first.json()["arn"])
    assert machine["roleArn"] == f"arn:aws:iam::{account}:role/eda-saga-checkout"
    assert eda("-o", "json", "saga", "deploy", str(CHECKOUT)).json()["action"] == "unchanged"
    changed = tmp_path / "checkout.yaml"
    changed.write_text(CHECKOUT.read_text().replace("timeout: 30", "timeout: 20"))
    arn = first.json()["arn"]
    before = boto("stepfunctions").describe_state_machine(stateMachineArn=arn)["definition"]
    assert eda("-o", "json", "saga", "deploy", str(changed), "--dry-run").json()["action"] == "would update"
    refused = eda("saga", "deploy", str(changed))  # no terminal, no --yes: replacing needs consent
    assert_one_line_error(refused, 2)
    assert "--yes" in refused.stderr
    assert boto("stepfunctions").describe_state_machine(stateMachineArn=arn)["definition"] == before
    assert eda("-o", "json", "saga", "deploy", str(changed), "--yes").json()["action"] == "updated"
    assert boto("stepfunctions").describe_state_machine(stateMachineArn=arn)["definition"] != before
    express = tmp_path / "express.yaml"
    express.write_text(CHECKOUT.read_text().replace("type: standard", "type: express"))
    mismatch = eda("saga", "deploy", str(express))
    assert_one_line_error(mismatch, 2)
    assert "is STANDARD, but the saga file says express" in mismatch.stderr
    assert "deploy under another --name" in mismatch.stderr  # core's neutral hint, in the command's options
    would = eda("-o", "json", "saga", "deploy", str(express), "--name", "checkout-express", "--dry-run")
    assert would.json()["action"] == "would create"
    created = eda("-o", "json", "saga", "deploy", str(express), "--name", "checkout-express")
    assert created.json()["type"] == "EXPRESS"
    no_role = tmp_path / "norole.yaml"
    no_role.write_text("\n".join(line for line in CHECKOUT.read_text().splitlines() if not line.startswith("role_arn")))
    needs_role = eda("saga", "deploy", str(no_role), "--name", "other")
    assert_one_line_error(needs_role, 2)
    assert "--execution-role-arn" in needs_role.stderr
    with_role = eda("-o", "json", "saga", "deploy", str(no_role), "--name", "other",
                    "--execution-role-arn", "arn:aws:iam::123456789012:role/x")
    assert with_role.code == 0
    described = boto("stepfunctions").describe_state_machine(stateMachineArn=with_role.json()["arn"])
    assert described["roleArn"] == "arn:aws:iam::123456789012:role/x"
    # An existing machine with another role takes the file's: its integrations run as the role's account.
    sfn = boto("stepfunctions")
    sfn.update_state_machine(stateMachineArn=arn, roleArn="arn:aws:iam::999999999999:role/old")
    assert eda("-o", "json", "saga", "deploy", str(changed), "--dry-run").json()["action"] == "would update"
    assert eda("-o", "json", "saga", "deploy", str(changed), "--yes").json()["action"] == "updated"
    role = sfn.describe_state_machine(stateMachineArn=arn)["roleArn"]
    assert role == f"arn:aws:iam::{account}:role/eda-saga-checkout"


@pytest.mark.parametrize("fail_at", [None, "charge", "ship"])
def test_express_and_standard_sagas_end_alike(
    eda: Callable[..., Result], boto: Any, tmp_path: Path, sfn_endpoint: str, backend: Backend,
    fail_at: str | None,
) -> None:
    """The checkout saga as Standard and as Express: the same outcome, step by step. Express runs with
    StartSyncExecution where the endpoint has it (LocalStack, AWS), through the host-prefix-free client."""
    make_checkout_resources(boto)
    express = tmp_path / "checkout-express.yaml"
    express.write_text(CHECKOUT.read_text().replace("type: standard", "type: express")
                       .replace("name: checkout", "name: checkout-express"))
    extra = ["--fail-at", fail_at] if fail_at else []
    reports = {}
    for kind, path in (("standard", CHECKOUT), ("express", express)):
        order = {**ORDER, "order_id": f"o-{kind}"}
        result = eda("-o", "json", "saga", "run", str(path), "--engine", "stepfunctions", "--input",
                     json.dumps(order), "--poll", "0.1", *extra)
        assert result.code == (1 if fail_at else 0), result.stderr
        assert ("does not implement StartSyncExecution" in result.stderr) == (
            kind == "express" and not backend.has("sfn-sync-express"))
        reports[kind] = result.json()
    if backend.has("sfn-sync-express"):
        assert ":express:checkout-express:" in reports["express"]["execution"]

    def outcome(report: dict[str, Any]) -> Any:
        return (report["status"], [(s["name"], s["status"], (s["error"] or {}).get("error")) for s in report["steps"]],
                [(c["step"], c["status"]) for c in report["compensations"]])

    assert outcome(reports["express"]) == outcome(reports["standard"])
    assert reports["standard"]["status"] == ("COMPENSATED" if fail_at else "SUCCEEDED")


def test_express_without_start_sync_execution_follows_the_history_and_the_trace_agrees(
    eda: Callable[..., Result], boto: Any, tmp_path: Path, sfn_endpoint: str, backend: Backend,
) -> None:
    """Where the endpoint lacks StartSyncExecution (moto), eda says so and runs an Express saga like a
    Standard one.

    On AWS eda reads an Express run from StartSyncExecution's answer (the Fail states' trace); this
    test feeds the answer the interpreter produced to that reader and checks it reports alike.
    """
    if backend.has("sfn-sync-express"):
        pytest.skip(f"{backend.name} implements StartSyncExecution: there is no fallback to test")
    make_checkout_resources(boto)
    express = tmp_path / "checkout.yaml"
    express.write_text(CHECKOUT.read_text().replace("type: standard", "type: express"))
    result = eda("-o", "json", "saga", "run", str(express), "--engine", "stepfunctions", "--input", INPUT,
                 "--fail-at", "ship", "--poll", "0.1")
    assert result.code == 1, result.stderr
    assert "does not implement StartSyncExecution" in result.stderr
    report = result.json()
    described = boto("stepfunctions").describe_execution(executionArn=report["execution"])
    saga = read_saga(str(express))
    tracker = m.Tracker(saga.name, saga.step_names, "stepfunctions", report["execution"], counts_attempts=False)
    for event in events_from_sync(asl.layout_of(saga), described):
        tracker.apply(event)
    synced = tracker.result().to_dict()
    assert (report.pop("partial"), report.pop("problems")) == (False, [])  # the JSON envelope's
    for doc in (synced, report):
        for entry in doc["steps"] + doc["compensations"]:
            entry.pop("started_at"), entry.pop("ended_at")
            entry["attempts"] = None
    assert synced == report


SM_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:checkout"
CREATED = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


class FakeSyncSfn(AwsFake, service="stepfunctions"):
    """Step Functions answering StartSyncExecution, which moto lacks; `answer` is merged over the
    members every StartSyncExecution answer has (the execution's ARN, start and stop)."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer
        self.started: list[dict[str, Any]] = []

    def get_paginator(self, name: str) -> Any:
        class Pages:
            def paginate(self) -> list[dict[str, Any]]:
                return [{"stateMachines": [{"name": "checkout", "stateMachineArn": SM_ARN, "type": "EXPRESS",
                                            "creationDate": CREATED}]}]

        return Pages()

    def describe_state_machine(self, stateMachineArn: str) -> dict[str, Any]:
        return {"stateMachineArn": stateMachineArn, "name": "checkout", "type": "EXPRESS", "definition": "old",
                "roleArn": "arn:aws:iam::123456789012:role/checkout", "creationDate": CREATED, "status": "ACTIVE"}

    def update_state_machine(self, **kwargs: Any) -> dict[str, Any]:
        return {"updateDate": CREATED}

    def start_sync_execution(self, **kwargs: Any) -> dict[str, Any]:
        self.started.append(kwargs)
        name = kwargs.get("name", "x")
        return {"executionArn": f"{SM_ARN.replace(':stateMachine:', ':express:')}:{name}:0b1c",
                "stateMachineArn": kwargs["stateMachineArn"], "name": name, "startDate": CREATED,
                "stopDate": CREATED, **self.answer}


def test_express_on_aws_uses_start_sync_execution() -> None:
    saga = parse_saga(CHECKOUT.read_text().replace("type: standard", "type: express")
                      .replace("QueueName: payments", "QueueUrl: https://sqs/payments"))
    trace = {"failed": {"charge": {"Error": "SQS.QueueDoesNotExistException", "Cause": "gone"}},
             "compensated": {"reserve": {}}, "compensation_failed": {}}
    sfn = FakeSyncSfn({"status": "FAILED", "error": "Saga.Compensated",
                       "cause": json.dumps(trace)})
    result = StepFunctionsRun(sfn, saga, sleep=lambda s: None).run({"order_id": "o-1"}, execution="e-1")
    assert sfn.started[0]["name"] == "e-1"
    assert result.execution == "arn:aws:states:us-east-1:123456789012:express:checkout:e-1:0b1c"
    assert result.status == "COMPENSATED"
    assert [(s.name, s.status, s.attempts) for s in result.steps] == [
        ("reserve", "COMPENSATED", None), ("charge", "FAILED", None), ("ship", "NOT_RUN", None)]
    assert result.steps[1].error == m.StepError("SQS.QueueDoesNotExistException", "gone")
    ok = StepFunctionsRun(FakeSyncSfn({"status": "SUCCEEDED", "output": "{}"}), saga).run({})
    assert ok.status == "SUCCEEDED" and all(s.status == "SUCCEEDED" for s in ok.steps)
    odd = StepFunctionsRun(FakeSyncSfn({"status": "FAILED", "error": "States.Runtime", "cause": "bad path"}),
                           saga).run({})
    assert odd.status == "FAILED" and odd.error == m.StepError("States.Runtime", "bad path")


def test_idempotency_table_from_the_cli(eda: Callable[..., Result], boto: Any) -> None:
    make_checkout_resources(boto)
    boto("dynamodb").create_table(
        TableName="orders-idempotency", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "messageId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "messageId", "AttributeType": "S"}],
    )
    args = ("-o", "json", "saga", "run", str(CHECKOUT), "--input", INPUT, "--idempotency-table", "orders-idempotency")
    first = eda(*args)
    assert first.code == 0, first.stderr
    second = eda(*args)
    assert second.code == 0
    assert second.json()["execution"] == first.json()["execution"]  # derived from the input
    assert [s["resumed"] for s in second.json()["steps"]] == [True, True, True]
    assert len(drain(boto("sqs"), "payments")) == 1


def test_the_demo_step_on_the_sandbox_pipeline(eda: Callable[..., Result], boto: Any,
                                                sfn_endpoint: str) -> None:
    """The demo's saga step, against the sandbox's own tables and queues: the compensations run."""
    from eda_cli.commands.demo import STEPS
    from eda_cli.sandbox.demo_pipeline import seed_demo

    seed_demo(boto)
    steps = [args for _, args in STEPS if args[:2] == ["saga", "run"]]
    assert len(steps) == 1
    result = eda("-o", "json", *steps[0], "--poll", "0.1")
    assert result.code == 1, result.stderr
    report = result.json()
    assert report["engine"] == "stepfunctions" and report["status"] == "COMPENSATED"
    assert [c["step"] for c in report["compensations"]] == ["charge", "reserve"]
