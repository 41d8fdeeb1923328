"""Run a saga on Step Functions: deploy, start, follow the execution's history, report.

The history follower translates GetExecutionHistory events into the same SagaEvents the local
engine emits, and the same Tracker folds them into the SagaResult: both engines report alike.

An Express execution keeps no history on AWS: eda runs it with StartSyncExecution and reads the
outcome from the trace the compiled state machine puts in its Fail states' cause (attempts and
step times are then unknown). Where an endpoint does not implement StartSyncExecution (moto), eda
says so and runs Express like Standard.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

from eda_cli.aws.errors import http_status, unimplemented
from eda_cli.aws.resolve import find_state_machine
from eda_cli.core.saga import asl
from eda_cli.core.saga import model as m
from eda_cli.core.saga.model import SagaEvent, SagaResult, StepError, Tracker, iso
from eda_cli.core.saga.spec import Saga
from eda_cli.errors import UsageError

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

EventSink = Callable[[SagaEvent], None]
DEFAULT_POLL_SECONDS = 0.5
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


def unique_execution_name(saga: str) -> str:
    """Always a fresh name: moto names an unnamed execution "None", and a second one then clashes."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{saga[:56]}-{stamp}-{uuid.uuid4().hex[:6]}"


# -- deploying ------------------------------------------------------------------------------------


#: DeployError.reason: creating the state machine needs a role none was given; its type would change.
NEEDS_ROLE = "needs-role"
TYPE_CHANGE = "type-change"


class DeployError(UsageError):
    """The saga cannot be deployed as asked; `reason` (NEEDS_ROLE, TYPE_CHANGE) says why."""

    def __init__(self, message: str, reason: str, hint: str) -> None:
        super().__init__(message, hint=hint)
        self.reason = reason


@dataclass(frozen=True)
class Deployment:
    name: str
    arn: str
    type: str
    #: "created", "updated" or "unchanged"; in a dry run "would create", "would update" or "unchanged".
    action: str

    def to_dict(self) -> dict[str, Any]:
        return {"state_machine": self.name, "arn": self.arn, "type": self.type, "action": self.action}


def deploy(sfn: SFNClient, saga: Saga, definition: dict[str, Any], *, name: str | None = None,
           role_arn: str | None = None, dry_run: bool = False) -> Deployment:
    """Create the state machine, or update it when it exists (its type must match the file's).

    With `dry_run`, only say what would happen ("would create", "would update" or "unchanged"):
    every check is made, nothing is changed.
    """
    name = name or saga.name
    sm_type: Literal["STANDARD", "EXPRESS"] = "EXPRESS" if saga.type == "express" else "STANDARD"
    text = json.dumps(definition, ensure_ascii=False)
    arn = find_state_machine(sfn, name)
    if arn is None:
        role = role_arn or saga.role_arn
        if not role:
            raise DeployError(
                f"state machine {name!r} does not exist yet, and creating it needs an execution role",
                NEEDS_ROLE, hint="give it an execution role, or put role_arn: in the saga file",
            )
        if dry_run:
            return Deployment(name, "", sm_type, "would create")
        created = sfn.create_state_machine(name=name, definition=text, roleArn=role, type=sm_type)
        return Deployment(name, str(created["stateMachineArn"]), sm_type, "created")
    current = sfn.describe_state_machine(stateMachineArn=arn)
    if str(current.get("type", "STANDARD")) != sm_type:
        raise DeployError(
            f"state machine {name!r} is {current.get('type')}, but the saga file says {saga.type}",
            TYPE_CHANGE, hint="Step Functions cannot change a state machine's type: deploy under another name",
        )
    # The file's role applies to an existing state machine too: keeping an old role would run the
    # integrations as whatever account that role belongs to.
    role = role_arn or saga.role_arn
    if current.get("definition") == text and (role is None or role == current.get("roleArn")):
        return Deployment(name, arn, sm_type, "unchanged")
    if dry_run:
        return Deployment(name, arn, sm_type, "would update")
    kwargs: dict[str, Any] = {"stateMachineArn": arn, "definition": text}
    if role:
        kwargs["roleArn"] = role
    sfn.update_state_machine(**kwargs)
    return Deployment(name, arn, sm_type, "updated")


# -- following an execution -----------------------------------------------------------------------


def _details(event: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


class HistoryTranslator:
    """Turns an execution's history events, in order, into SagaEvents."""

    def __init__(self, layout: asl.Layout) -> None:
        self.layout = layout
        self.current: tuple[str, str] | None = None
        self.attempt = 0
        self.last_ok = False
        self.last_error: StepError | None = None
        self.finished = False

    def feed(self, event: Mapping[str, Any]) -> list[SagaEvent]:
        kind = str(event.get("type", ""))
        at = iso(event.get("timestamp")) if isinstance(event.get("timestamp"), datetime) else None
        details = _details(event)
        out: list[SagaEvent] = []
        if kind.endswith("StateEntered"):
            role = self.layout.role_of(str(details.get("name", "")))
            self.current = role
            self.attempt, self.last_ok, self.last_error = 0, False, None
            if role is not None:
                what, step = role
                event_kind = m.COMPENSATION if what == "compensation" else m.ACTION
                out.append(SagaEvent(event_kind, m.STARTED, step, at=at))
                if what == "injected":
                    self.attempt = 1
                    out.append(SagaEvent(m.ACTION, m.ATTEMPT, step, at=at, attempt=1))
        elif kind == "TaskScheduled" and self.current is not None:
            self.attempt += 1
            out.append(SagaEvent(self._kind(), m.ATTEMPT, self.current[1], at=at, attempt=self.attempt))
        elif kind == "TaskSucceeded":
            self.last_ok = True
        elif kind in ("TaskFailed", "TaskTimedOut", "TaskStartFailed", "TaskSubmitFailed") and self.current:
            self.last_ok = False
            self.last_error = StepError(str(details.get("error", "")), str(details.get("cause", "")))
            out.append(SagaEvent(self._kind(), m.ATTEMPT_FAILED, self.current[1], at=at, attempt=self.attempt,
                                 error=self.last_error))
        elif kind.endswith("StateExited") and self.current is not None:
            what, step = self.current
            if what == "injected":
                out.append(SagaEvent(m.ACTION, m.FAILED, step, at=at,
                                     error=m.injected_error(step)))
            elif self.last_ok:
                out.append(SagaEvent(self._kind(), m.SUCCEEDED, step, at=at))
            else:
                out.append(SagaEvent(self._kind(), m.FAILED, step, at=at, error=self.last_error))
            self.current = None
        elif kind == "ExecutionSucceeded":
            out.append(self.finish(m.SUCCEEDED, None, at))
        elif kind in ("ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"):
            error = str(details.get("error") or {"ExecutionTimedOut": "States.Timeout"}.get(kind, kind))
            cause = str(details.get("cause") or "")
            if error == asl.COMPENSATED_ERROR:
                out.append(self.finish(m.COMPENSATED, None, at))
            elif error == asl.FAILED_ERROR:
                out.append(self.finish(m.FAILED, None, at))
            else:
                problem = StepError(error, cause)
                if self.current is not None:
                    out.append(SagaEvent(self._kind(), m.FAILED, self.current[1], at=at, error=problem))
                    self.current = None
                out.append(self.finish(m.FAILED, problem, at))
        return out

    def _kind(self) -> str:
        return m.COMPENSATION if self.current and self.current[0] == "compensation" else m.ACTION

    def finish(self, status: str, error: StepError | None, at: str | None) -> SagaEvent:
        self.finished = True
        return SagaEvent(m.SAGA, m.FINISHED, at=at, status=status, error=error)


def history_events(sfn: SFNClient, execution_arn: str) -> Iterator[Mapping[str, Any]]:
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
        if token:
            kwargs["nextToken"] = token
        page = sfn.get_execution_history(**kwargs)
        yield from page.get("events", [])
        token = page.get("nextToken")
        if not token:
            return


def follow(sfn: SFNClient, execution_arn: str, translator: HistoryTranslator, on_event: EventSink, *,
           sleep: Callable[[float], None] = time.sleep, poll: float = DEFAULT_POLL_SECONDS,
           once: bool = False) -> str:
    """Feed the execution's history to `translator` until it ends (or once); the execution status."""
    seen = 0
    while True:
        # Describe first: once it says the execution ended, the history read next holds the end.
        described = sfn.describe_execution(executionArn=execution_arn)
        status = str(described.get("status", m.RUNNING))
        for event in history_events(sfn, execution_arn):
            if int(event.get("id", 0)) <= seen:
                continue
            seen = int(event["id"])
            for saga_event in translator.feed(event):
                on_event(saga_event)
        if translator.finished:
            return status
        if status in TERMINAL:
            # A history without its final event: report what DescribeExecution says.
            error = StepError(str(described.get("error") or status), str(described.get("cause") or ""))
            final = m.SUCCEEDED if status == "SUCCEEDED" else m.FAILED
            on_event(translator.finish(final, None if final == m.SUCCEEDED else error,
                                       iso(described.get("stopDate"))))
            return status
        if once:
            return status
        sleep(poll)


def events_from_sync(layout: asl.Layout, answer: Mapping[str, Any]) -> list[SagaEvent]:
    """SagaEvents for a StartSyncExecution answer (Express), read from the Fail states' trace."""
    status = str(answer.get("status", "FAILED"))
    start = iso(answer.get("startDate")) if isinstance(answer.get("startDate"), datetime) else None
    stop = iso(answer.get("stopDate")) if isinstance(answer.get("stopDate"), datetime) else None
    out: list[SagaEvent] = []
    if status == "SUCCEEDED":
        for step in layout.steps:
            out += [SagaEvent(m.ACTION, m.STARTED, step, at=start), SagaEvent(m.ACTION, m.SUCCEEDED, step, at=stop)]
        return [*out, SagaEvent(m.SAGA, m.FINISHED, at=stop, status=m.SUCCEEDED)]
    error, cause = str(answer.get("error") or status), str(answer.get("cause") or "")
    trace: dict[str, Any] | None = None
    if error in (asl.COMPENSATED_ERROR, asl.FAILED_ERROR):
        try:
            loaded = json.loads(cause)
            trace = loaded if isinstance(loaded, dict) else None
        except ValueError:
            trace = None
    if trace is None:
        return [SagaEvent(m.SAGA, m.FINISHED, at=stop, status=m.FAILED, error=StepError(error, cause))]
    failed = trace.get("failed") or {}
    done = trace.get("compensated") or {}
    broken = trace.get("compensation_failed") or {}
    failed_index = next((i for i, s in enumerate(layout.steps) if s in failed), len(layout.steps))
    for step in layout.steps[:failed_index]:
        out += [SagaEvent(m.ACTION, m.STARTED, step, at=start), SagaEvent(m.ACTION, m.SUCCEEDED, step, at=stop)]
    if failed_index < len(layout.steps):
        step = layout.steps[failed_index]
        info = failed.get(step) or {}
        out += [SagaEvent(m.ACTION, m.STARTED, step, at=start),
                SagaEvent(m.ACTION, m.FAILED, step, at=stop,
                          error=StepError(str(info.get("Error", "")), str(info.get("Cause", ""))))]
    for step in reversed(layout.steps[:failed_index]):
        if step in done:
            out += [SagaEvent(m.COMPENSATION, m.STARTED, step, at=stop),
                    SagaEvent(m.COMPENSATION, m.SUCCEEDED, step, at=stop)]
        elif step in broken:
            info = broken.get(step) or {}
            out += [SagaEvent(m.COMPENSATION, m.STARTED, step, at=stop),
                    SagaEvent(m.COMPENSATION, m.FAILED, step, at=stop,
                              error=StepError(str(info.get("Error", "")), str(info.get("Cause", ""))))]
            break
    final = m.COMPENSATED if error == asl.COMPENSATED_ERROR else m.FAILED
    return [*out, SagaEvent(m.SAGA, m.FINISHED, at=stop, status=final)]


@dataclass
class StepFunctionsRun:
    """One saga run on Step Functions, deployed from `saga` (whose names are already resolved)."""

    sfn: SFNClient
    saga: Saga
    state_machine: str | None = None
    role_arn: str | None = None
    #: The client for StartSyncExecution (Express sagas): one without retries, because an endpoint that lacks
    #: the operation answers HTTP 500 (and a retried StartSyncExecution could run the saga twice). Default: sfn.
    sync_client: SFNClient | None = None
    sleep: Callable[[float], None] = time.sleep
    poll: float = DEFAULT_POLL_SECONDS

    def deploy(self, dry_run: bool = False) -> Deployment:
        return deploy(self.sfn, self.saga, asl.compile_saga(self.saga), name=self.state_machine,
                      role_arn=self.role_arn, dry_run=dry_run)

    def start(self, deployment: Deployment, run_input: dict[str, Any], execution: str | None = None) -> str:
        name = execution or unique_execution_name(self.saga.name)
        answer = self.sfn.start_execution(stateMachineArn=deployment.arn, name=name,
                                          input=json.dumps(run_input, ensure_ascii=False))
        return str(answer["executionArn"])

    def run(self, run_input: dict[str, Any], *, execution: str | None = None,
            on_event: EventSink | None = None,
            on_started: Callable[[str], None] | None = None,
            on_note: Callable[[str], None] | None = None) -> SagaResult:
        """Deploy, start and follow. Errors before the start propagate (AWS errors: exit 3).

        Express sagas run with StartSyncExecution. Where the endpoint does not implement it (moto), eda
        says so through `on_note` and runs them as Standard ones are run: StartExecution, then the
        execution's history (which AWS itself keeps only for Standard executions)."""
        deployment = self.deploy()
        layout = asl.layout_of(self.saga)
        if self.saga.type == "express":
            name = execution or unique_execution_name(self.saga.name)
            try:
                answer = (self.sync_client or self.sfn).start_sync_execution(
                    stateMachineArn=deployment.arn, name=name, input=json.dumps(run_input, ensure_ascii=False))
            except Exception as exc:
                if not unimplemented(exc):
                    raise
                if on_note is not None:
                    on_note(f"the endpoint does not implement StartSyncExecution (HTTP {http_status(exc)}): "
                            "running the Express saga with StartExecution and following its history")
                execution = name
            else:
                tracker = Tracker(self.saga.name, layout.steps, "stepfunctions",
                                  str(answer.get("executionArn", name)), counts_attempts=False)
                if on_started is not None:
                    on_started(tracker.execution)
                feed = tracker.feeding(on_event)
                for event in events_from_sync(layout, answer):
                    feed(event)
                return tracker.result()
        execution_arn = self.start(deployment, run_input, execution)
        if on_started is not None:
            on_started(execution_arn)
        tracker = Tracker(self.saga.name, layout.steps, "stepfunctions", execution_arn)
        follow(self.sfn, execution_arn, HistoryTranslator(layout), tracker.feeding(on_event),
               sleep=self.sleep, poll=self.poll)
        return tracker.result()


# -- status and history of any execution of a deployed saga ------------------------------------


def require_execution_arn(execution: str) -> str:
    execution = execution.strip()
    if not execution.startswith("arn:") or (":execution:" not in execution and ":express:" not in execution):
        raise UsageError(
            f"not an execution ARN: {execution!r}",
            hint="pass the execution ARN `eda saga run --engine stepfunctions` prints "
            "(arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME)",
        )
    return execution


def layout_for_execution(sfn: SFNClient, execution_arn: str) -> asl.Layout:
    machine = sfn.describe_state_machine_for_execution(executionArn=execution_arn)
    return asl.read_layout(str(machine.get("definition", "")), str(machine.get("name", "")))


def execution_status(sfn: SFNClient, execution: str) -> SagaResult:
    """The saga outcome of an execution so far (status RUNNING while it runs)."""
    execution_arn = require_execution_arn(execution)
    layout = layout_for_execution(sfn, execution_arn)
    tracker = Tracker(layout.saga, layout.steps, "stepfunctions", execution_arn)
    follow(sfn, execution_arn, HistoryTranslator(layout), tracker.apply, once=True)
    return tracker.result()


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    timestamp: str | None
    type: str
    state: str | None
    step: str | None
    error: str | None
    cause: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "timestamp": self.timestamp, "type": self.type, "state": self.state,
                "step": self.step, "error": self.error, "cause": self.cause}


def execution_history(sfn: SFNClient, execution: str) -> list[HistoryEntry]:
    """The execution's history events, each with the state (and saga step) it belongs to."""
    execution_arn = require_execution_arn(execution)
    layout = layout_for_execution(sfn, execution_arn)
    entries: list[HistoryEntry] = []
    state: str | None = None
    for event in history_events(sfn, execution_arn):
        details = _details(event)
        kind = str(event.get("type", ""))
        if kind.endswith("StateEntered"):
            state = str(details.get("name", "")) or None
        role = layout.role_of(state) if state else None
        stamp = event.get("timestamp")
        entries.append(HistoryEntry(
            id=int(event.get("id", 0)),
            timestamp=iso(stamp) if isinstance(stamp, datetime) else None,
            type=kind,
            state=state if not kind.startswith("Execution") else None,
            step=role[1] if role and not kind.startswith("Execution") else None,
            error=str(details["error"]) if details.get("error") else None,
            cause=str(details["cause"]) if details.get("cause") else None,
        ))
        if kind.endswith("StateExited"):
            state = None
    return entries
