"""What a saga run reports, built the same way for both engines.

Each engine produces a stream of `SagaEvent`s: the local engine as it calls AWS, the Step Functions
runner by translating the execution's history. One `Tracker` folds that stream into the
`SagaResult`, so both engines report with the same shape and the same rules, and the live step
view renders the same events whichever engine runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, ClassVar

# Saga statuses.
RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"
COMPENSATED = "COMPENSATED"
FAILED = "FAILED"
# Step statuses (besides RUNNING, SUCCEEDED, FAILED, COMPENSATED).
NOT_RUN = "NOT_RUN"

# Event kinds (SagaEvent.kind): what an event is about.
ACTION = "action"  # a step's action
COMPENSATION = "compensation"  # a step's compensation
SAGA = "saga"  # the run as a whole (FINISHED only)

# Event phases (SagaEvent.phase), besides SUCCEEDED and FAILED.
STARTED = "started"
ATTEMPT = "attempt"  # one call; `attempt` counts them from 1
ATTEMPT_FAILED = "attempt_failed"  # a call failed; `retry_in` says whether another follows
RESUMED = "resumed"  # an earlier run of the execution recorded it done: not called again
FINISHED = "finished"  # SAGA only: `status` is the run's final status

#: The input field that carries --fail-at into a run (both engines put it there).
FAIL_AT_FIELD = "eda_fail_at"

#: The error of a failure injected with --fail-at (both engines report it the same way).
INJECTED_ERROR = "Saga.InjectedFailure"


def injected_cause(step: str) -> str:
    return f"failure injected at step {step} (--fail-at)"


def injected_error(step: str) -> StepError:
    """The error of a failure injected at `step` (--fail-at), the same on both engines."""
    return StepError(INJECTED_ERROR, injected_cause(step))


def now_iso() -> str:
    return iso(datetime.now(timezone.utc)) or ""


def iso(moment: datetime | float | None) -> str | None:
    if moment is None:
        return None
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class StepError:
    error: str
    cause: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.error, "cause": self.cause}

    def __str__(self) -> str:
        return f"{self.error}: {self.cause}" if self.cause else self.error


@dataclass(frozen=True)
class SagaEvent:
    """One thing that happened in a run. `step` is empty for SAGA events."""

    kind: str
    phase: str
    step: str = ""
    at: str | None = None
    attempt: int = 0
    error: StepError | None = None
    #: FINISHED: the saga's final status.
    status: str | None = None
    #: ATTEMPT_FAILED on the local engine: the wait before the next attempt (None: no retry follows).
    retry_in: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "phase": self.phase, "step": self.step or None, "at": self.at,
            "attempt": self.attempt or None, "error": self.error.to_dict() if self.error else None,
            "status": self.status,
        }


@dataclass(frozen=True)
class StepOutcome:
    """How a step's action went."""

    name: str
    status: str
    attempts: int | None
    started_at: str | None
    ended_at: str | None
    error: StepError | None
    resumed: bool = False

    #: The key that names the step in `to_dict`.
    _name_key: ClassVar[str] = "name"

    def to_dict(self) -> dict[str, Any]:
        return {
            self._name_key: self.name, "status": self.status, "attempts": self.attempts,
            "started_at": self.started_at, "ended_at": self.ended_at,
            "error": self.error.to_dict() if self.error else None, "resumed": self.resumed,
        }


@dataclass(frozen=True)
class CompensationOutcome(StepOutcome):
    """How a step's compensation went: `step` (also `name`) is the step compensated."""

    _name_key: ClassVar[str] = "step"

    @property
    def step(self) -> str:
        return self.name


@dataclass(frozen=True)
class SagaResult:
    saga: str
    engine: str
    execution: str
    status: str
    steps: tuple[StepOutcome, ...]
    compensations: tuple[CompensationOutcome, ...]
    #: A saga-level error (the execution failed outside any step, or a runtime error).
    error: StepError | None = None

    @property
    def failed_step(self) -> StepOutcome | None:
        return next((s for s in self.steps if s.status == FAILED), None)

    @property
    def failed_compensation(self) -> CompensationOutcome | None:
        return next((c for c in self.compensations if c.status == FAILED), None)

    @property
    def still_in_effect(self) -> list[str]:
        """Steps that completed and were not compensated: what a human must look at when FAILED."""
        if self.status != FAILED:
            return []
        return [s.name for s in self.steps if s.status == SUCCEEDED]

    def to_dict(self) -> dict[str, Any]:
        return {
            "saga": self.saga,
            "engine": self.engine,
            "execution": self.execution,
            "status": self.status,
            "error": self.error.to_dict() if self.error else None,
            "steps": [s.to_dict() for s in self.steps],
            "compensations": [c.to_dict() for c in self.compensations],
            "still_in_effect": self.still_in_effect,
        }


@dataclass
class _Rec:
    status: str = NOT_RUN
    attempts: int = 0
    started_at: str | None = None
    ended_at: str | None = None
    error: StepError | None = None
    resumed: bool = False


@dataclass
class Tracker:
    """Folds SagaEvents into the state of a run; `result()` at any moment."""

    saga: str
    step_names: Sequence[str]
    engine: str
    execution: str
    status: str = RUNNING
    error: StepError | None = None
    #: False when an engine cannot count attempts (an Express execution on AWS).
    counts_attempts: bool = True
    _steps: dict[str, _Rec] = field(default_factory=dict)
    _comps: list[tuple[str, _Rec]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._steps = {name: _Rec() for name in self.step_names}

    def _comp(self, step: str) -> _Rec:
        for name, rec in reversed(self._comps):
            if name == step:
                return rec
        rec = _Rec()
        self._comps.append((step, rec))
        return rec

    def feeding(self, on_event: Callable[[SagaEvent], None] | None = None) -> Callable[[SagaEvent], None]:
        """A sink for a run's events: each is folded into this tracker, then handed to `on_event`."""

        def feed(event: SagaEvent) -> None:
            self.apply(event)
            if on_event is not None:
                on_event(event)

        return feed

    def apply(self, event: SagaEvent) -> None:
        if event.kind == SAGA:
            if event.phase == FINISHED:
                self.status = event.status or FAILED
                self.error = event.error
            return
        if event.kind == ACTION:
            rec = self._steps.get(event.step)
            if rec is None:
                return
        else:
            if event.phase == STARTED or event.phase == RESUMED:
                rec = _Rec()
                self._comps.append((event.step, rec))
            else:
                rec = self._comp(event.step)
        if event.phase == STARTED:
            rec.status = RUNNING
            rec.started_at = event.at
            rec.attempts = 0
        elif event.phase == ATTEMPT:
            rec.attempts = event.attempt
        elif event.phase == ATTEMPT_FAILED:
            rec.error = event.error
        elif event.phase == SUCCEEDED:
            rec.status = SUCCEEDED
            rec.ended_at = event.at
            rec.error = None
            if event.kind == COMPENSATION and event.step in self._steps:
                self._steps[event.step].status = COMPENSATED
        elif event.phase == FAILED:
            rec.status = FAILED
            rec.ended_at = event.at
            rec.error = event.error or rec.error
        elif event.phase == RESUMED:
            rec.status = SUCCEEDED
            rec.resumed = True
            rec.ended_at = event.at
            rec.attempts = 0
            if event.kind == COMPENSATION and event.step in self._steps:
                self._steps[event.step].status = COMPENSATED

    def result(self) -> SagaResult:
        def attempts(rec: _Rec) -> int | None:
            return rec.attempts if self.counts_attempts or rec.resumed else None

        steps = tuple(
            StepOutcome(name, r.status, attempts(r), r.started_at, r.ended_at, r.error, r.resumed)
            for name, r in self._steps.items()
        )
        comps = tuple(
            CompensationOutcome(name, r.status, attempts(r), r.started_at, r.ended_at, r.error, r.resumed)
            for name, r in self._comps
        )
        return SagaResult(self.saga, self.engine, self.execution, self.status, steps, comps, self.error)
