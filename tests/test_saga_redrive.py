"""`eda saga redrive`: failed Step Functions executions found on a server, and redriven.

Neither moto nor LocalStack's free edition implements RedriveExecution: on both, a real run must say so
(exit 3) after finding the executions. The redrive itself is checked with botocore's Stubber, whose
requests and answers botocore validates against the Step Functions model."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from eda_cli.core.saga.redrive import ExecutionRedrive, parse_statuses, redrive_executions
from eda_cli.errors import UsageError
from tests.backends import Backend
from tests.fixtures.cli import Result, in_process
from tests.fixtures.sessions import session_factory

FAILING = {"StartAt": "Charge", "States": {"Charge": {"Type": "Fail", "Error": "CardDeclined", "Cause": "test"}}}
ROLE = "arn:aws:iam::123456789012:role/saga"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:checkout"


def failed_machine(boto: Callable[[str], Any], backend: Backend, runs: int = 2) -> list[str]:
    backend.enable_step_functions()
    sfn = boto("stepfunctions")
    arn = sfn.create_state_machine(name="checkout", definition=json.dumps(FAILING),
                                   roleArn=backend.role_arn("saga"))["stateMachineArn"]
    executions = [sfn.start_execution(stateMachineArn=arn, name=f"order-{n}")["executionArn"] for n in range(runs)]
    deadline = time.monotonic() + 30
    while any(sfn.describe_execution(executionArn=e)["status"] == "RUNNING" for e in executions):
        assert time.monotonic() < deadline, "the executions never ended"
        time.sleep(0.2)
    return executions


def test_failed_executions_are_found_and_an_endpoint_without_redrive_says_so(eda: Callable[..., Result],
                                                                             boto: Callable[[str], Any],
                                                                             backend: Backend) -> None:
    executions = failed_machine(boto, backend)
    plan = eda("-o", "json", "saga", "redrive", "--state-machine", "checkout", "--since", "1h", "--dry-run")
    assert plan.code == 0, plan.stderr
    doc = plan.json()
    assert doc["dry_run"] and doc["found"] == 2 and doc["redriven"] == 0
    assert sorted(e["execution_arn"] for e in doc["executions"]) == sorted(executions)
    assert {e["outcome"] for e in doc["executions"]} == {"would redrive"}
    run = eda("saga", "redrive", "--state-machine", "checkout", "--since", "1h", "--yes")
    assert run.code == 3, run.stderr
    assert "this endpoint does not implement RedriveExecution" in run.stderr and "Traceback" not in run.stderr
    by_arn = eda("-o", "json", "saga", "redrive", executions[0], "--dry-run")
    assert by_arn.code == 0 and by_arn.json()["found"] == 1, by_arn.stderr
    # `eda redrive --state-machine` is the same command: the same plan, the same exit 3.
    alias = eda("-o", "json", "redrive", "--state-machine", "checkout", "--since", "1h", "--dry-run")
    assert alias.code == 0 and alias.json() == doc, alias.stderr
    alias_run = eda("redrive", "--state-machine", "checkout", "--since", "1h", "--max", "1", "--yes")
    assert alias_run.code == 3 and "this endpoint does not implement RedriveExecution" in alias_run.stderr


def test_an_express_workflow_is_refused(eda: Callable[..., Result], boto: Callable[[str], Any],
                                        backend: Backend) -> None:
    boto("stepfunctions").create_state_machine(name="fast", definition=json.dumps(FAILING),
                                               roleArn=backend.role_arn("saga"), type="EXPRESS")
    result = eda("saga", "redrive", "--state-machine", "fast", "--dry-run")
    assert result.code == 2 and "Express" in result.stderr, result.stderr


@pytest.mark.parametrize(("args", "words"), [
    ((), "name the executions to redrive"),
    (("arn:aws:states:us-east-1:1:execution:m:e", "--state-machine", "m"), "name the executions to redrive"),
    (("not-an-arn",), "not an execution ARN"),
    (("--state-machine", "m", "--status", "SUCCEEDED"), "--status 'SUCCEEDED'"),
    (("--state-machine", "m", "--since", "soon"), "--since: cannot read 'soon'"),
    (("--state-machine", "m"), "--yes"),
])
def test_bad_input_is_exit_2(cli: Callable[..., Result], args: tuple[str, ...], words: str) -> None:
    result = cli("saga", "redrive", *args)
    assert result.code == 2, result.stderr
    assert words in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(("args", "words"), [
    (("run",), "name the DLQ to redrive, or --state-machine NAME"),
    (("payments-dlq", "--state-machine", "m"), "DLQ do not apply"),
    (("--state-machine", "m", "--to-file", "x.jsonl"), "--to-file do not apply"),
    (("payments-dlq", "--since", "1h"), "--since applies with --state-machine only"),
    (("--state-machine", "m", "--status", "SUCCEEDED", "--dry-run"), "--status 'SUCCEEDED'"),
])
def test_redrive_state_machine_bad_input_is_exit_2(cli: Callable[..., Result], args: tuple[str, ...],
                                                   words: str) -> None:
    result = cli("redrive", *args)
    assert result.code == 2, result.stderr
    assert words in result.stderr and "Traceback" not in result.stderr


def test_parse_statuses() -> None:
    assert parse_statuses("failed, TIMED_OUT,failed") == ("FAILED", "TIMED_OUT")
    with pytest.raises(UsageError):
        parse_statuses("")


# -- the redrive itself, on botocore's Stubber -------------------------------------------------------


def stubbed(real: Any, plan: Callable[[Any], None]) -> Any:
    import boto3
    from botocore.stub import Stubber

    client = boto3.Session(region_name="us-east-1").client("stepfunctions", aws_access_key_id="x",
                                                           aws_secret_access_key="x")
    stubber = Stubber(client)
    plan(stubber)
    stubber.activate()
    return client


def test_bulk_redrive_stops_at_since_and_reports_a_refusal_as_partial(capsys: pytest.CaptureFixture[str]) -> None:
    now = datetime.now(timezone.utc)
    old = now - timedelta(days=3)

    def execution(name: str, stopped: datetime) -> dict[str, Any]:
        return {"executionArn": f"arn:aws:states:us-east-1:123456789012:execution:checkout:{name}",
                "stateMachineArn": MACHINE, "name": name, "status": "FAILED", "startDate": stopped,
                "stopDate": stopped}

    def plan(stub: Any) -> None:
        stub.add_response("list_state_machines", {"stateMachines": [
            {"stateMachineArn": MACHINE, "name": "checkout", "type": "STANDARD", "creationDate": old}]})
        stub.add_response("describe_state_machine", {
            "stateMachineArn": MACHINE, "name": "checkout", "definition": json.dumps(FAILING), "roleArn": ROLE,
            "type": "STANDARD", "creationDate": old})
        stub.add_response("list_executions", {"executions": [execution("a", now), execution("b", now)],
                                              "nextToken": "t"},
                          {"stateMachineArn": MACHINE, "statusFilter": "FAILED"})
        stub.add_response("list_executions", {"executions": [execution("c", old)]},
                          {"stateMachineArn": MACHINE, "statusFilter": "FAILED", "nextToken": "t"})
        stub.add_response("redrive_execution", {"redriveDate": now})
        stub.add_client_error("redrive_execution", "ExecutionNotRedrivable", "the execution is older than 14 days")

    eda = in_process(None, capsys, session_factory(stepfunctions=lambda real: stubbed(real, plan)))
    # through `eda redrive --state-machine`, the alias of `eda saga redrive --state-machine`
    result = eda("-o", "json", "redrive", "--state-machine", "checkout", "--since", "1d", "--status",
                 "FAILED", "--yes")
    assert result.code == 4, result.stderr
    doc = result.json()
    assert doc["found"] == 2 and doc["redriven"] == 1 and doc["not_redrivable"] == 1 and doc["partial"] is True
    refused = next(e for e in doc["executions"] if e["outcome"] == "not redrivable")
    assert "ExecutionNotRedrivable" in refused["error"]


def test_redrive_executions_in_core_sends_one_call_each_with_a_client_token() -> None:
    calls: list[dict[str, Any]] = []

    class Sfn:
        def redrive_execution(self, **kwargs: Any) -> dict[str, Any]:
            calls.append(kwargs)
            return {"redriveDate": datetime.now(timezone.utc)}

    items = [ExecutionRedrive(f"arn:aws:states:us-east-1:1:execution:m:{n}", "FAILED") for n in "abc"]
    items[2].outcome = "not redrivable"
    result = redrive_executions(Sfn(), items, token=lambda: "tok")  # type: ignore[arg-type]
    assert [c["executionArn"].rsplit(":", 1)[-1] for c in calls] == ["a", "b"]
    assert all(c["clientToken"] == "tok" for c in calls)
    assert result.count("redriven") == 2 and result.partial
