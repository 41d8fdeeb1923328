"""Step Functions: executions whose name or input carries the id, and where the failed ones failed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from eda_cli.aws.errors import is_client_error
from eda_cli.core.concurrency import map_bounded
from eda_cli.core.sqs import parse_body
from eda_cli.core.trace.match import carries, mentions
from eda_cli.core.trace.model import STEPFUNCTIONS, Hit, Place, epoch_of, iso_from_epoch
from eda_cli.core.trace.sources.base import Found, one_line, plural

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

#: Budgets: a search stops there and says it did not read everything (`Place.complete` False).
EXECUTION_BUDGET = 1_000
HISTORY_PAGE_BUDGET = 25


def _details(event: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


_EXECUTION_END = ("ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted")


def failure_of(sfn: SFNClient, execution_arn: str, page_budget: int = HISTORY_PAGE_BUDGET) -> dict[str, Any]:
    """The first state that failed (a Task/Lambda/Map... failure, caught or not), with its error and
    cause; else the state the execution ended in and the execution's own error."""
    current: str | None = None
    first: dict[str, Any] | None = None
    last: dict[str, Any] = {}
    pager = sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn, includeExecutionData=True)
    for pages, page in enumerate(pager, start=1):
        for event in page.get("events", []):
            kind = str(event.get("type", ""))
            details = _details(event)
            if kind.endswith("StateEntered"):
                current = details.get("name")
            elif kind in _EXECUTION_END:
                last = {"state": current, "error": details.get("error") or kind, "cause": details.get("cause")}
            elif first is None and (kind.endswith("Failed") or kind.endswith("TimedOut")):
                first = {"state": current, "error": details.get("error") or kind, "cause": details.get("cause")}
        if pages >= page_budget:
            break
    return first or last


def search_state_machine(
    sfn: SFNClient,
    name: str,
    arn: str,
    correlation_id: str,
    since: float,
    *,
    budget: int = EXECUTION_BUDGET,
    concurrency: int = 8,
) -> Found:
    """Executions started since `since` (ListExecutions is newest first) whose name or input carries
    the id; the failing state and error of those that did not succeed."""
    listed: list[Mapping[str, Any]] = []
    complete = True
    try:
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
            older = False
            for execution in page.get("executions", []):
                started = epoch_of(execution.get("startDate"))
                if started is not None and started < since:
                    older = True
                    break
                listed.append(execution)
            if older:
                break
            if len(listed) >= budget:
                complete = False
                break
    except Exception as exc:
        if is_client_error(exc, "StateMachineTypeNotSupported"):
            return Found(skipped=[Place(STEPFUNCTIONS, name, skipped="an Express state machine keeps no execution "
                                        "list: search its log group instead")])
        raise
    listed = listed[:budget]

    def inspect(execution: Mapping[str, Any]) -> tuple[Mapping[str, Any], str] | None:
        exec_name = str(execution.get("name", ""))
        if exec_name == correlation_id or mentions(exec_name, correlation_id):
            return sfn.describe_execution(executionArn=execution["executionArn"]), "name"
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        raw = described.get("input") or ""
        if raw and (carries(parse_body(raw), correlation_id) or mentions(raw, correlation_id)):
            return described, "input"
        return None

    hits: list[Hit] = []
    for outcome in map_bounded(inspect, listed, concurrency):
        if outcome.error is not None:
            if is_client_error(outcome.error, "ExecutionDoesNotExist"):
                continue
            raise outcome.error
        if outcome.value is None:
            continue
        described, matched = outcome.value
        status = str(described.get("status", ""))
        failure: dict[str, Any] = {}
        if status in ("FAILED", "TIMED_OUT", "ABORTED"):
            failure = failure_of(sfn, described["executionArn"])
            failure.setdefault("error", described.get("error"))
            failure.setdefault("cause", described.get("cause"))
        text = f"execution {described.get('name')} {status}"
        if failure.get("state"):
            text += f" at {failure['state']}"
        if failure.get("error"):
            text += f": {failure['error']}"
        if failure.get("cause"):
            text += f" ({one_line(str(failure['cause']), 80)})"
        input_doc = parse_body(described.get("input") or "")
        hits.append(Hit(
            epoch_of(described.get("startDate")),
            STEPFUNCTIONS,
            name,
            text,
            {
                "execution_arn": described.get("executionArn"),
                "name": described.get("name"),
                "status": status,
                "started_at": iso_from_epoch(epoch_of(described.get("startDate"))),
                "stopped_at": iso_from_epoch(epoch_of(described.get("stopDate"))),
                "matched": matched,
                "failed_state": failure.get("state"),
                "error": failure.get("error"),
                "cause": failure.get("cause"),
                "input": input_doc,
            },
        ))
    note = f"{plural(len(listed), 'execution')} since the start of the window"
    if not complete:
        note += f"; stopped at {budget}"
    return Found(hits=hits, places=[Place(STEPFUNCTIONS, name, note, complete=complete)])
