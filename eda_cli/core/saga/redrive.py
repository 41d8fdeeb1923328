"""Redrive failed Step Functions executions: one by ARN, or every failed one of a state machine since a time.

RedriveExecution restarts an execution from the state that failed, keeping what succeeded before it
(Standard workflows only, within 14 days of the failure). It is a real action, not a copy: the failed
step runs again with its side effects. An endpoint that does not implement the call (moto, LocalStack's
free edition) is told apart from a refusal: the first such answer stops the run and says so, instead of
reporting every execution as failed. Nothing here prints.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from eda_cli.aws.errors import describe, error_code, unimplemented
from eda_cli.core.concurrency import map_bounded
from eda_cli.errors import AwsError, UsageError

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient
    from mypy_boto3_stepfunctions.literals import ExecutionStatusType

#: What `--status` may name: the ways an execution ends that RedriveExecution accepts.
REDRIVABLE_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")
#: Errors that mean "this execution cannot be redriven" (an answer about the execution, not the endpoint).
NOT_REDRIVABLE = ("ExecutionNotRedrivable", "ValidationException")


class RedriveUnsupported(AwsError):
    """The endpoint does not implement RedriveExecution."""


@dataclass
class ExecutionRedrive:
    """One execution and what became of it: `outcome` is redriven, would redrive, not redrivable or failed."""

    execution_arn: str
    status: str
    stopped_at: datetime | None = None
    outcome: str = "would redrive"
    redrive_date: datetime | None = None
    error: str = ""

    @property
    def name(self) -> str:
        return self.execution_arn.rsplit(":", 1)[-1]

    def to_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            if value is None:
                return None
            return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")

        return {"execution_arn": self.execution_arn, "name": self.name, "status": self.status,
                "stopped_at": iso(self.stopped_at), "outcome": self.outcome, "redrive_date": iso(self.redrive_date),
                "error": self.error}


@dataclass(frozen=True)
class SagaRedriveResult:
    executions: tuple[ExecutionRedrive, ...]
    dry_run: bool = False

    def count(self, outcome: str) -> int:
        return sum(1 for e in self.executions if e.outcome == outcome)

    @property
    def partial(self) -> bool:
        """Some execution that was to be redriven was not (refused, or the call failed)."""
        return not self.dry_run and any(e.outcome in ("not redrivable", "failed") for e in self.executions)

    def to_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "found": len(self.executions), "redriven": self.count("redriven"),
                "not_redrivable": self.count("not redrivable"), "failed": self.count("failed"),
                "executions": [e.to_dict() for e in self.executions]}


def parse_statuses(text: str) -> tuple[str, ...]:
    """`FAILED,TIMED_OUT` -> ("FAILED", "TIMED_OUT"); anything else is a UsageError naming the choices."""
    statuses = tuple(dict.fromkeys(s.strip().upper() for s in text.split(",") if s.strip()))
    wrong = [s for s in statuses if s not in REDRIVABLE_STATUSES]
    if not statuses or wrong:
        raise UsageError(f"--status {text!r}: choose from {', '.join(REDRIVABLE_STATUSES)} (comma-separated)")
    return statuses


def failed_executions(sfn: SFNClient, state_machine_arn: str, *, since: datetime,
                      statuses: Sequence[str] = ("FAILED", "TIMED_OUT"), limit: int | None = None,
                      ) -> list[ExecutionRedrive]:
    """Executions of the state machine that ended in one of `statuses` at or after `since` (ListExecutions per
    status, every page, newest first; stops reading a status once its executions ended before `since`)."""
    machine = sfn.describe_state_machine(stateMachineArn=state_machine_arn)
    if machine.get("type") == "EXPRESS":
        raise UsageError(f"state machine {machine.get('name')} is an Express workflow: Step Functions redrives "
                         "Standard workflows only", hint="start new executions with the failed input instead")
    found: list[ExecutionRedrive] = []
    for status in statuses:
        status_filter: ExecutionStatusType = status  # type: ignore[assignment]
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=state_machine_arn,
                                                                   statusFilter=status_filter):
            done = False
            for execution in page.get("executions", []):
                stopped = execution.get("stopDate")
                if stopped is not None and stopped < since:
                    done = True  # newest first: the rest ended earlier still
                    break
                found.append(ExecutionRedrive(str(execution["executionArn"]), str(execution["status"]), stopped))
            if done:
                break
    found.sort(key=lambda e: e.stopped_at or since, reverse=True)
    return found[:limit] if limit is not None else found


def describe_executions(sfn: SFNClient, arns: Sequence[str]) -> list[ExecutionRedrive]:
    """The executions named by ARN, as they stand (DescribeExecution each)."""
    def one(arn: str) -> ExecutionRedrive:
        described = sfn.describe_execution(executionArn=arn)
        item = ExecutionRedrive(arn, str(described["status"]), described.get("stopDate"))
        if described.get("redriveStatus") == "NOT_REDRIVABLE":
            item.outcome = "not redrivable"
            item.error = str(described.get("redriveStatusReason") or "Step Functions says it is not redrivable")
        elif item.status not in REDRIVABLE_STATUSES:
            item.outcome = "not redrivable"
            item.error = f"it is {item.status}: only FAILED, TIMED_OUT and ABORTED executions can be redriven"
        return item

    items: list[ExecutionRedrive] = []
    for outcome in map_bounded(one, arns, concurrency=8):
        if outcome.error is not None:
            raise outcome.error
        assert outcome.value is not None
        items.append(outcome.value)
    return items


def redrive_executions(sfn: SFNClient, executions: Sequence[ExecutionRedrive], *, dry_run: bool = False,
                       concurrency: int = 4, token: Callable[[], str] = lambda: str(uuid.uuid4()),
                       on_done: Callable[[ExecutionRedrive], None] = lambda e: None) -> SagaRedriveResult:
    """RedriveExecution for each execution still marked "would redrive". The first call the endpoint does not
    implement raises RedriveUnsupported (nothing else is attempted); a refusal or an error of one execution
    is its outcome, the others go on."""
    todo = [e for e in executions if e.outcome == "would redrive"]
    if dry_run or not todo:
        return SagaRedriveResult(tuple(executions), dry_run)
    first, rest = todo[0], todo[1:]
    _redrive_one(sfn, first, token(), capability_check=True)
    on_done(first)

    def one(item: ExecutionRedrive) -> None:
        _redrive_one(sfn, item, token(), capability_check=False)
        on_done(item)

    for outcome in map_bounded(one, rest, concurrency):
        if outcome.error is not None:
            raise outcome.error
    return SagaRedriveResult(tuple(executions), dry_run)


def _redrive_one(sfn: SFNClient, item: ExecutionRedrive, client_token: str, *, capability_check: bool) -> None:
    try:
        answer = sfn.redrive_execution(executionArn=item.execution_arn, clientToken=client_token)
    except Exception as exc:
        if error_code(exc) is None:
            raise
        if unimplemented(exc) or "not yet been emulated" in str(exc) or "not included in your" in str(exc):
            if capability_check:
                raise RedriveUnsupported(
                    "this endpoint does not implement RedriveExecution (Step Functions redrive): nothing was "
                    "redriven", hint="Step Functions on AWS has it; some emulators do not") from exc
            item.outcome, item.error = "failed", describe(exc)
            return
        item.outcome = "not redrivable" if error_code(exc) in NOT_REDRIVABLE else "failed"
        item.error = describe(exc)
        return
    item.outcome = "redriven"
    item.redrive_date = answer.get("redriveDate")
