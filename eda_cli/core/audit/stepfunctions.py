"""The Step Functions rules: Retry on tasks, Catch on a saga's failing states, Express or Standard
by the flow's length, logging on Express machines."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eda_cli.core.audit.base import TIP, RuleContext, rule
from eda_cli.core.pipeline.model import StateMachine, iter_states
from eda_cli.core.pipeline.writer import looks_like_saga

EXPRESS_MAX_SECONDS = 300
SFN_ERRORS_URL = "https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html"


def _tasks(machine: StateMachine) -> list[tuple[str, Mapping[str, Any]]]:
    return [(path, s) for path, s in iter_states(machine.definition) if s.get("Type") == "Task"]


@rule("sfn-task-retry", "warning", "Task states have a Retry", "AWS: transient errors (throttles, Lambda "
      "service errors) should be retried with backoff", SFN_ERRORS_URL)
def _sfn_retry(ctx: RuleContext) -> None:
    for machine in ctx.pipeline.state_machines:
        missing = [path for path, s in _tasks(machine) if not s.get("Retry")]
        problems = []
        if missing:
            problems.append((f"Task state(s) without Retry: {', '.join(missing)}",
                             'add "Retry": [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 2, '
                             '"MaxAttempts": 3, "BackoffRate": 2}] to each'))
        ctx.check_machine(machine, *problems)


@rule("sfn-saga-catch", "error", "A saga's failing states have a Catch",
      "eda saga pattern: every step that can fail must route to its compensation", SFN_ERRORS_URL)
def _sfn_catch(ctx: RuleContext) -> None:
    for machine in ctx.pipeline.state_machines:
        declared = ctx.spec.state_machine(machine.name)
        saga = declared.saga if declared is not None and declared.saga is not None else looks_like_saga(machine)
        if not saga:
            continue
        missing = [path for path, s in _tasks(machine) if not s.get("Catch")]
        problems = []
        if missing:
            problems.append((f"saga Task state(s) without Catch: {', '.join(missing)}: a failure there ends "
                             "the execution without compensating the steps before it",
                             'add "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "<compensation>"}]'))
        ctx.check_machine(machine, *problems)


def _long_running(machine: StateMachine) -> list[str]:
    reasons = []
    for path, s in iter_states(machine.definition):
        resource = str(s.get("Resource", ""))
        if resource.endswith(".sync") or ".sync:" in resource:
            reasons.append(f"{path} waits for a job (.sync)")
        elif resource.endswith(".waitForTaskToken"):
            reasons.append(f"{path} waits for a callback (.waitForTaskToken)")
        elif ":activity:" in resource:
            reasons.append(f"{path} runs an activity")
        if s.get("Type") == "Wait":
            seconds = s.get("Seconds")
            if not isinstance(seconds, (int, float)) or seconds > EXPRESS_MAX_SECONDS:
                reasons.append(f"{path} waits {seconds if isinstance(seconds, (int, float)) else 'a variable time'}"
                               + ("s" if isinstance(seconds, (int, float)) else ""))
    return reasons


@rule("sfn-type", "warning", "Express for short flows, Standard for long ones",
      f"{TIP}: Express for short high-volume flows; Standard for long-running ones",
      "https://docs.aws.amazon.com/step-functions/latest/dg/choosing-workflow-type.html")
def _sfn_type(ctx: RuleContext) -> None:
    for machine in ctx.pipeline.state_machines:
        declared = ctx.spec.state_machine(machine.name)
        duration = declared.duration if declared else None
        long_parts = _long_running(machine)
        problems: list[tuple[str, str, str]] = []
        if machine.express and (long_parts or duration == "long"):
            why = "; ".join(long_parts) if long_parts else "the pipeline file says it is a long flow"
            problems.append((f"Express, but it can run past Express's 5 minutes: {why}",
                             "re-create it as a Standard state machine", "error"))
        elif not machine.express and duration == "short":
            problems.append(("Standard, but the pipeline file says it is a short flow: Express costs far less "
                             "at high volume", "re-create it as an Express state machine (with logging on)",
                             "warning"))
        ctx.check_machine(machine, *problems)


@rule("sfn-express-logging", "error", "Express state machines log to CloudWatch Logs",
      "AWS: Express executions keep no history; logs are the only record",
      "https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html")
def _sfn_logging(ctx: RuleContext) -> None:
    p = ctx.pipeline
    groups = {g.arn.rstrip(":*") for g in p.log_groups} | {g.name for g in p.log_groups}
    for machine in p.state_machines:
        if not machine.express:
            continue
        problems = []
        if machine.logging_level.upper() == "OFF" or not machine.log_group_arns:
            problems.append(("logging is off: failed Express executions leave no trace",
                             f"aws stepfunctions update-state-machine --state-machine-arn {machine.arn} "
                             "--logging-configuration level=ERROR,includeExecutionData=true,destinations="
                             "[{cloudWatchLogsLogGroup={logGroupArn=<log group ARN>}}]"))
        elif p.log_groups:
            for arn in machine.log_group_arns:
                if arn.rstrip(":*") not in groups and arn.split(":log-group:")[-1].rstrip(":*") not in groups:
                    problems.append((f"it logs to {arn}, which does not exist", "create the log group"))
        ctx.check_machine(machine, *problems)


RULES = (_sfn_retry, _sfn_catch, _sfn_type, _sfn_logging)
