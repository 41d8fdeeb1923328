"""Compile a saga to Amazon States Language, and read an eda-compiled definition back.

The state machine, for steps a, b, c where a and b have compensations:

    init (Pass: $.input, $.steps, $.trace, $.literals)
    fail-at? a (Choice on $.input.eda_fail_at) -> injected failure: a (Pass) -> saga compensated
    a (Task, Retry, Catch States.ALL -> ResultPath $.trace.failed.a -> saga compensated)
    fail-at? b ... b (Task ... Catch -> compensate a)
    fail-at? c ... c (Task ... Catch -> compensate b) -> saga succeeded (Succeed)
    compensate b (Task, Retry, Catch -> $.trace.compensation_failed.b -> saga failed) -> compensate a
    compensate a (Task, Retry, Catch -> saga failed) -> saga compensated
    saga compensated (Fail Saga.Compensated, cause: the trace as JSON)
    saga failed (Fail Saga.Failed, cause: the trace as JSON)

A failure injected with --fail-at is an input-driven Choice, so the definition a rehearsal runs is
the one production runs; the injected failure skips the Task, so it is never retried. The trace
in the Fail states' cause lets eda report an Express execution, which keeps no history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from eda_cli import __version__
from eda_cli.core.saga import template as tpl
from eda_cli.core.saga.integrations import STATES_ALL
from eda_cli.core.saga.model import FAIL_AT_FIELD, injected_error
from eda_cli.core.saga.spec import Call, Saga
from eda_cli.errors import UsageError

INIT = "init"
SUCCEED = "saga succeeded"
#: The Fail states a saga that did not succeed ends in, and their errors.
COMPENSATED_STATE, COMPENSATED_ERROR = "saga compensated", "Saga.Compensated"
FAILED_STATE, FAILED_ERROR = "saga failed", "Saga.Failed"

#: The states of a step, by role: the step's name behind the role's prefix. The action's Task is
#: named as the step itself.
_PREFIX = {"check": "fail-at? ", "injected": "injected failure: ", "compensation": "compensate "}


def check_state(step: str) -> str:
    return _PREFIX["check"] + step


def inject_state(step: str) -> str:
    return _PREFIX["injected"] + step


def compensate_state(step: str) -> str:
    return _PREFIX["compensation"] + step


def _retry(call: Call) -> list[dict[str, Any]]:
    retry = call.retry
    if retry.attempts <= 1:
        return []
    retrier: dict[str, Any] = {
        "ErrorEquals": list(retry.errors),
        "IntervalSeconds": retry.interval,
        "MaxAttempts": retry.attempts - 1,
        "BackoffRate": retry.backoff,
    }
    if retry.max_delay is not None:
        retrier["MaxDelaySeconds"] = retry.max_delay
    return [retrier]


def _task(call: Call, literals: tpl.Literals, result_path: str, catch_path: str, on_error: str,
          next_state: str | None) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": call.integration.resource,
        "Parameters": tpl.to_asl(call.template, literals),
        "ResultPath": result_path,
        "TimeoutSeconds": call.timeout,
    }
    retry = _retry(call)
    if retry:
        state["Retry"] = retry
    state["Catch"] = [{"ErrorEquals": [STATES_ALL], "ResultPath": catch_path, "Next": on_error}]
    if next_state is None:
        state["End"] = True
    else:
        state["Next"] = next_state
    return state


def compile_saga(saga: Saga) -> dict[str, Any]:
    """The ASL definition (a dict; `json.dumps` it for Step Functions)."""
    for _, _, call in saga.calls():
        for key in ("QueueName", "TopicName"):
            if key in call.parameters:
                raise UsageError(f"{key} {call.parameters[key]!r} must be resolved before compiling")
    literals = tpl.Literals()
    steps = saga.steps

    def compensation_entry(before: int) -> str:
        """Where a failure at step `before` goes: the nearest earlier compensation, else the end."""
        for step in reversed(steps[:before]):
            if step.compensate is not None:
                return compensate_state(step.name)
        return COMPENSATED_STATE

    states: dict[str, Any] = {}
    body: dict[str, Any] = {}
    for index, step in enumerate(steps):
        name = step.name
        after = check_state(steps[index + 1].name) if index + 1 < len(steps) else SUCCEED
        on_error = compensation_entry(index)
        body[check_state(name)] = {
            "Type": "Choice",
            "Choices": [{
                "And": [
                    {"Variable": f"$.input.{FAIL_AT_FIELD}", "IsPresent": True},
                    {"Variable": f"$.input.{FAIL_AT_FIELD}", "StringEquals": name},
                ],
                "Next": inject_state(name),
            }],
            "Default": name,
        }
        injected = injected_error(name)
        body[inject_state(name)] = {
            "Type": "Pass",
            "Result": {"Error": injected.error, "Cause": injected.cause},
            "ResultPath": tpl.jsonpath(("trace", "failed", name)),
            "Next": on_error,
        }
        body[name] = _task(step.action, literals, tpl.jsonpath(("steps", name, "result")),
                           tpl.jsonpath(("trace", "failed", name)), on_error, after)
    for index in range(len(steps) - 1, -1, -1):
        step = steps[index]
        if step.compensate is None:
            continue
        body[compensate_state(step.name)] = _task(
            step.compensate, literals,
            tpl.jsonpath(("trace", "compensated", step.name)),
            tpl.jsonpath(("trace", "compensation_failed", step.name)),
            FAILED_STATE, compensation_entry(index),
        )
    init: dict[str, Any] = {
        "input.$": "$",
        "steps": {},
        "trace": {"failed": {}, "compensated": {}, "compensation_failed": {}},
    }
    if literals.values:
        init["literals"] = literals.values
    states[INIT] = {"Type": "Pass", "Parameters": init, "Next": check_state(steps[0].name)}
    states.update(body)
    states[SUCCEED] = {"Type": "Succeed"}
    states[COMPENSATED_STATE] = {"Type": "Fail", "Error": COMPENSATED_ERROR,
                                 "CausePath": "States.JsonToString($.trace)"}
    states[FAILED_STATE] = {"Type": "Fail", "Error": FAILED_ERROR, "CausePath": "States.JsonToString($.trace)"}
    comment = f"eda saga {saga.name} (compiled by eda {__version__})"
    if saga.comment:
        comment += f": {saga.comment}"
    return {"Comment": comment, "StartAt": INIT, "States": states}


def definition_json(saga: Saga) -> str:
    return json.dumps(compile_saga(saga), indent=2, ensure_ascii=False)


# -- reading a definition back ---------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """The saga a deployed definition runs: its step names in order and which have compensations."""

    saga: str
    steps: tuple[str, ...]
    compensated: frozenset[str]

    def role_of(self, state: str) -> tuple[str, str] | None:
        """(kind, step) of a state: ("action"|"injected"|"compensation", step), or None."""
        for role, steps in (("compensation", self.compensated), ("injected", self.steps)):
            prefix = _PREFIX[role]
            if state.startswith(prefix) and state[len(prefix):] in steps:
                return role, state[len(prefix):]
        if state in self.steps:
            return "action", state
        return None


def layout_of(saga: Saga) -> Layout:
    return Layout(saga.name, saga.step_names,
                  frozenset(s.name for s in saga.steps if s.compensate is not None))


def read_layout(definition: str, fallback_name: str) -> Layout:
    """The Layout of an eda-compiled definition; UsageError for any other state machine."""
    try:
        asl = json.loads(definition)
        states = asl["States"]
        if asl.get("StartAt") != INIT or not all(s in states for s in (SUCCEED, COMPENSATED_STATE, FAILED_STATE)):
            raise KeyError("States")
        steps: list[str] = []
        current = states[INIT]["Next"]
        while current != SUCCEED:
            if not current.startswith(_PREFIX["check"]):
                raise KeyError(current)
            name = states[current]["Default"]
            steps.append(name)
            current = states[name]["Next"]
            if len(steps) > len(states):
                raise KeyError("loop")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(
            "this state machine was not compiled from a saga by eda",
            hint="`eda saga status` and `eda saga history` read executions of `eda saga deploy`ed state machines",
        ) from exc
    comment = str(asl.get("Comment", ""))
    name = fallback_name
    if comment.startswith("eda saga "):
        name = comment[len("eda saga "):].split(" ", 1)[0] or fallback_name
    compensated = frozenset(s for s in steps if compensate_state(s) in states)
    return Layout(name, tuple(steps), compensated)
