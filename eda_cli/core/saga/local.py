"""The local engine: run a saga's integrations from this process, with Step Functions' semantics.

Steps run in order; a step's call is retried as its Retry says (the waits are Step Functions'
waits: interval x backoff^n, capped by max_delay); when a step fails for good, every completed
step that has a compensation is compensated in reverse order, each compensation retried. The
first compensation that fails ends the saga FAILED: what was not compensated is still in effect.

A template that reads a value that is not there is a runtime error (States.Runtime) and ends the
saga FAILED at once, without compensating, as it does on Step Functions.

With an `IdempotencyStore`, each completed step (and compensation) is recorded with a conditional
put and a TTL (the seed's pattern 5), so running the same execution again after a crash resumes:
recorded steps are not called again, their recorded results feed later templates.

The engine never sleeps or reads the clock directly: `sleep` and `clock` are injected.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from eda_cli.core.saga.integrations import STATES_RUNTIME, TaskFailure, error_matches, invoke
from eda_cli.core.saga.model import (
    ACTION,
    ATTEMPT,
    ATTEMPT_FAILED,
    COMPENSATED,
    COMPENSATION,
    FAIL_AT_FIELD,
    FAILED,
    FINISHED,
    RESUMED,
    SAGA,
    STARTED,
    SUCCEEDED,
    SagaEvent,
    SagaResult,
    StepError,
    Tracker,
    injected_error,
    iso,
)
from eda_cli.core.saga.template import TemplateRuntimeError
from eda_cli.errors import UsageError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from eda_cli.aws.session import AwsSession
    from eda_cli.core.saga.spec import Call, Saga

#: (service, timeout seconds) -> a boto3 client for the integration calls.
ClientFor = Callable[[str, int], Any]
EventSink = Callable[[SagaEvent], None]

DEFAULT_IDEMPOTENCY_TTL = 24 * 3600


def session_clients(session: AwsSession) -> ClientFor:
    """Clients from the shared session, one per (service, timeout), without SDK retries.

    The saga's Retry is the retry policy, as on Step Functions: the SDK makes one attempt per
    call. The step's timeout becomes the client's connect and read timeout.
    """
    return lambda service, timeout: session.single_attempt_client(service, read_timeout=timeout)


def execution_name(saga: str, run_input: Any, fail_at: str | None, *, deterministic: bool) -> str:
    """A name for a run: derived from the input when runs must resume, else unique."""
    if deterministic:
        digest = hashlib.sha256(
            json.dumps([run_input, fail_at], sort_keys=True, separators=(",", ":"), default=str).encode()
        ).hexdigest()[:16]
        return f"{saga}-{digest}"[:80]
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{saga[:56]}-{stamp}-{uuid.uuid4().hex[:6]}"


def with_fail_at(run_input: dict[str, Any], fail_at: str | None) -> dict[str, Any]:
    return {**run_input, FAIL_AT_FIELD: fail_at} if fail_at else dict(run_input)


# -- idempotency ----------------------------------------------------------------------------------


@dataclass
class Progress:
    """What an earlier run of the same execution recorded."""

    steps: dict[str, tuple[Any, str | None]] = field(default_factory=dict)
    compensated: dict[str, str | None] = field(default_factory=dict)
    failed_step: str | None = None
    failed_error: StepError | None = None


class IdempotencyStore:
    """Completed steps of saga executions in a DynamoDB table, with a conditional put and a TTL.

    Works with any table whose key is a single string partition key (the sandbox's
    orders-idempotency table, keyed on messageId, does). Items expire through the table's TTL
    attribute (from DescribeTimeToLive; `ttl` when TTL is off).
    """

    def __init__(self, dynamodb: DynamoDBClient, table: str, *, ttl_seconds: int = DEFAULT_IDEMPOTENCY_TTL,
                 clock: Callable[[], float] = time.time, where: str = "") -> None:
        from eda_cli.aws.resolve import describe_table

        self.dynamodb = dynamodb
        self.table = table
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        description = describe_table(dynamodb, table, where, what="idempotency table",
                                     hint="create it with a string partition key (and TTL on, e.g. on `ttl`)")
        schema = description.get("KeySchema", [])
        types = {a["AttributeName"]: a["AttributeType"] for a in description.get("AttributeDefinitions", [])}
        if len(schema) != 1 or types.get(schema[0]["AttributeName"]) != "S":
            raise UsageError(
                f"idempotency table {table!r} must have a single string partition key",
                hint="eda stores one item per step under a string key",
            )
        self.key = str(schema[0]["AttributeName"])
        self.ttl_attribute = "ttl"
        try:
            ttl = dynamodb.describe_time_to_live(TableName=table).get("TimeToLiveDescription", {})
            if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and ttl.get("AttributeName"):
                self.ttl_attribute = str(ttl["AttributeName"])
        except Exception:  # TTL is an optimisation: without it records simply stay
            pass

    def _id(self, saga: str, execution: str, kind: str, step: str) -> str:
        return f"eda-saga#{saga}#{execution}#{kind}#{step}"

    def load(self, saga: str, execution: str, steps: Sequence[str]) -> Progress:
        ids = {self._id(saga, execution, "step", s): ("step", s) for s in steps}
        ids |= {self._id(saga, execution, "compensation", s): ("compensation", s) for s in steps}
        ids[self._id(saga, execution, "saga", "-")] = ("saga", "-")
        items: list[dict[str, Any]] = []
        keys = list(ids)
        for start in range(0, len(keys), 100):
            request: dict[str, Any] = {
                self.table: {"Keys": [{self.key: {"S": k}} for k in keys[start:start + 100]], "ConsistentRead": True}
            }
            while request:
                answer = self.dynamodb.batch_get_item(RequestItems=request)
                items.extend(answer.get("Responses", {}).get(self.table, []))
                request = answer.get("UnprocessedKeys") or {}
        progress = Progress()
        for item in items:
            kind, step = ids.get(item.get(self.key, {}).get("S", ""), ("", ""))
            recorded_at = item.get("recorded_at", {}).get("S")
            if kind == "step":
                result = json.loads(item.get("result", {}).get("S", "null"))
                progress.steps[step] = (result, recorded_at)
            elif kind == "compensation":
                progress.compensated[step] = recorded_at
            elif kind == "saga" and "failed_step" in item:
                progress.failed_step = item["failed_step"]["S"]
                progress.failed_error = StepError(item.get("error", {}).get("S", ""),
                                                  item.get("cause", {}).get("S", ""))
        return progress

    def _item(self, saga: str, execution: str, kind: str, step: str) -> dict[str, Any]:
        now = self.clock()
        return {
            self.key: {"S": self._id(saga, execution, kind, step)},
            self.ttl_attribute: {"N": str(int(now) + self.ttl_seconds)},
            "saga": {"S": saga},
            "execution": {"S": execution},
            "kind": {"S": kind},
            "step": {"S": step},
            "recorded_at": {"S": iso(now) or ""},
        }

    def record(self, saga: str, execution: str, kind: str, step: str, result: Any = None) -> None:
        """Record a completed step once: a second record of the same step is a no-op."""
        from eda_cli.aws.errors import is_client_error

        item = self._item(saga, execution, kind, step)
        if kind == "step":
            item["result"] = {"S": json.dumps(result, default=str, separators=(",", ":"))}
        try:
            self.dynamodb.put_item(
                TableName=self.table, Item=item,
                ConditionExpression="attribute_not_exists(#k)", ExpressionAttributeNames={"#k": self.key},
            )
        except Exception as exc:
            if not is_client_error(exc, "ConditionalCheckFailedException"):
                raise

    def mark(self, saga: str, execution: str, status: str, failed_step: str | None = None,
             error: StepError | None = None) -> None:
        """The execution's state: which step failed (so a re-run compensates instead of retrying)."""
        item = self._item(saga, execution, "saga", "-")
        item["status"] = {"S": status}
        if failed_step is not None:
            item["failed_step"] = {"S": failed_step}
            item["error"] = {"S": error.error if error else ""}
            item["cause"] = {"S": error.cause if error else ""}
        self.dynamodb.put_item(TableName=self.table, Item=item)


# -- the engine -----------------------------------------------------------------------------------


@dataclass
class _Outcome:
    ok: bool
    result: Any = None
    error: StepError | None = None
    runtime: bool = False


@dataclass
class LocalEngine:
    """Runs one saga execution. `run()` returns the SagaResult; `on_event` sees every event."""

    saga: Saga
    client_for: ClientFor
    _: KW_ONLY
    execution: str
    fail_at: str | None = None
    store: IdempotencyStore | None = None
    on_event: EventSink | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    tracker: Tracker = field(init=False)
    _feed: EventSink = field(init=False, repr=False)

    def __post_init__(self) -> None:
        saga, fail_at = self.saga, self.fail_at
        if fail_at is not None and fail_at not in saga.step_names:
            raise UsageError(f"no step {fail_at!r} to inject a failure at (steps: {', '.join(saga.step_names)})")
        self.tracker = Tracker(saga.name, saga.step_names, "local", self.execution)
        self._feed = self.tracker.feeding(self.on_event)

    def _emit(self, kind: str, phase: str, step: str = "", **kwargs: Any) -> None:
        self._feed(SagaEvent(kind, phase, step, at=kwargs.pop("at", None) or iso(self.clock()), **kwargs))

    def _finish(self, status: str, error: StepError | None = None) -> SagaResult:
        self._emit(SAGA, FINISHED, status=status, error=error)
        return self.tracker.result()

    def run(self, run_input: dict[str, Any]) -> SagaResult:
        saga, store = self.saga, self.store
        data: dict[str, Any] = {
            "input": with_fail_at(run_input, self.fail_at),
            "steps": {},
            "execution": {"name": self.execution},
        }
        progress = store.load(saga.name, self.execution, saga.step_names) if store else Progress()
        failed_at: int | None = None
        for index, step in enumerate(saga.steps):
            if progress.failed_step == step.name:
                self._emit(ACTION, STARTED, step.name)
                self._emit(ACTION, FAILED, step.name, error=progress.failed_error)
                failed_at = index
                break
            if step.name in progress.steps:
                result, recorded_at = progress.steps[step.name]
                data["steps"][step.name] = {"result": result}
                self._emit(ACTION, RESUMED, step.name, at=recorded_at)
                continue
            outcome = self._call(ACTION, step.name, step.action, data, injected=step.name == self.fail_at)
            if outcome.ok:
                data["steps"][step.name] = {"result": outcome.result}
                if store:
                    store.record(saga.name, self.execution, "step", step.name, outcome.result)
                continue
            if outcome.runtime:
                return self._finish(FAILED, outcome.error)
            failed_at = index
            if store:
                store.mark(saga.name, self.execution, "COMPENSATING", step.name, outcome.error)
            break
        if failed_at is None:
            if store:
                store.mark(saga.name, self.execution, SUCCEEDED)
            return self._finish(SUCCEEDED)
        for step in reversed(saga.steps[:failed_at]):
            if step.compensate is None:
                continue
            if step.name in progress.compensated:
                self._emit(COMPENSATION, RESUMED, step.name, at=progress.compensated[step.name])
                continue
            outcome = self._call(COMPENSATION, step.name, step.compensate, data)
            if not outcome.ok:
                return self._finish(FAILED, outcome.error if outcome.runtime else None)
            if store:
                store.record(saga.name, self.execution, "compensation", step.name)
        if store:
            store.mark(saga.name, self.execution, COMPENSATED, saga.steps[failed_at].name,
                       self.tracker.result().steps[failed_at].error)
        return self._finish(COMPENSATED)

    def _call(self, kind: str, step: str, call: Call, data: dict[str, Any], injected: bool = False) -> _Outcome:
        self._emit(kind, STARTED, step)
        if injected:
            error = injected_error(step)
            self._emit(kind, ATTEMPT, step, attempt=1)
            self._emit(kind, FAILED, step, error=error)
            return _Outcome(False, error=error)
        try:
            params = call.render(data)
        except TemplateRuntimeError as exc:
            error = StepError(STATES_RUNTIME, f"the parameters of {step} read {exc.ref.text}: {exc.reason}")
            self._emit(kind, FAILED, step, error=error)
            return _Outcome(False, error=error, runtime=True)
        client = self.client_for(call.integration.service, call.timeout)
        retry = call.retry
        attempt = 0
        while True:
            attempt += 1
            self._emit(kind, ATTEMPT, step, attempt=attempt)
            try:
                result = invoke(call.integration, client, params)
            except TaskFailure as failure:
                error = StepError(failure.error, failure.cause)
                if attempt < retry.attempts and error_matches(failure.error, retry.errors):
                    delay = retry.delay(attempt)
                    self._emit(kind, ATTEMPT_FAILED, step, attempt=attempt, error=error, retry_in=delay)
                    self.sleep(delay)
                    continue
                self._emit(kind, ATTEMPT_FAILED, step, attempt=attempt, error=error)
                self._emit(kind, FAILED, step, error=error)
                return _Outcome(False, error=error)
            self._emit(kind, SUCCEEDED, step)
            return _Outcome(True, result=result)
