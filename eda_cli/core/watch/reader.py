"""Reading what `eda watch` shows: the scope (what is watched, read once) and each refresh.

`read_scope` finds the DLQs as `dlq list` does (`core.dlq.scan_dlqs`: RedrivePolicies and what SNS, EventBridge,
Lambda and Pipes name), the streams with an event source mapping and the state machines (`core.pipeline.discover`
of Lambda and Step Functions), and whether the endpoint has SQS message move tasks. It is read once: the
configuration changes rarely, and reading it at every refresh would cost hundreds of calls a minute.

`WatchReader.refresh` then reads, all at once on a bounded pool:
- GetQueueAttributes per DLQ (depth, in flight);
- one GetMetricData (per 500 metrics) for every DLQ's ApproximateAgeOfOldestMessage and every stream
  consumer's IteratorAge;
- one DescribeAlarms (paginated): the alarms on each DLQ's depth, and those in ALARM on any pipeline resource;
- ListExecutions with statusFilter FAILED and TIMED_OUT per standard state machine (paginated);
- ListMessageMoveTasks per DLQ, where the endpoint has move tasks.
It waits for them until its budget (less than the interval) runs out: a call that has not answered by then
is shown with its previous value, marked stale, and a call still running is not started again.
Each refresh is given one client factory: one scope (account and region) per reader.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import TYPE_CHECKING, Any

from eda_cli.aws.clients import ClientFactory
from eda_cli.aws.errors import describe, http_status, unimplemented
from eda_cli.core.concurrency import DEFAULT_CONCURRENCY
from eda_cli.core.dlq import FOUND_BY_SQS, Dlq, depth_alarms, scan_dlqs
from eda_cli.core.metrics import MetricQuery, metric_values
from eda_cli.core.pipeline import discover
from eda_cli.core.pipeline.model import Alarm, EventSourceMapping, StateMachine, name_from_arn
from eda_cli.core.problems import Problem
from eda_cli.core.redrive.tasks import MoveTask
from eda_cli.core.sqs import get_queue_info
from eda_cli.core.watch.model import AlarmRow, DlqRow, MachineRow, RedriveRow, Snapshot, StreamRow
from eda_cli.core.watch.pool import CallCounter, DeadlinePool, counted, monotonic

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

#: Refreshes of history kept per row (the sparkline's width).
HISTORY = 30
#: State machine failures are counted over this window.
FAILURE_WINDOW_MINUTES = 60
#: ListExecutions lists newest start first: paging stops at executions started this long before the window
#: (an execution that started earlier and failed within the window is not counted).
EXECUTION_LOOKBACK = timedelta(hours=24)
#: The metrics are read over this window; the newest datapoint is shown.
METRIC_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class Scope:
    """What one account and region's board watches: read once, by `read_scope`."""

    region: str
    dlqs: tuple[Dlq, ...]
    streams: tuple[EventSourceMapping, ...] = ()
    state_machines: tuple[StateMachine, ...] = ()
    #: Names and ARNs of the pipeline's resources: an alarm naming one in its dimensions is the pipeline's.
    resources: frozenset[str] = frozenset()
    #: Whether ListMessageMoveTasks answers here (running redrives are shown only then).
    move_tasks: bool = False
    problems: tuple[Problem, ...] = ()
    unavailable: tuple[str, ...] = ()
    calls: int = 0


def read_scope(clients: ClientFactory, region: str, *, probe: ClientFactory | None = None,
               concurrency: int = DEFAULT_CONCURRENCY) -> Scope:
    """What to watch in the scope `clients` reach. `probe` (a factory of clients that do not retry, e.g.
    `AwsSession.single_attempt_client`) asks once whether the endpoint has message move tasks; default
    `clients`. A failure to list the queues is raised (there is no board without them); the rest is partial."""
    counter = CallCounter()
    reach = counted(clients, counter)
    scan = scan_dlqs(reach("sqs"), concurrency, clients=reach)
    pipeline = discover(reach, region, concurrency=concurrency, services=("lambda", "stepfunctions"))
    problems = [*scan.problems, *pipeline.problems]
    unavailable = [*scan.unavailable]
    move_tasks = False
    if scan.dlqs:
        try:
            counted(probe or clients, counter)("sqs").list_message_move_tasks(
                SourceArn=scan.dlqs[0].info.arn, MaxResults=1)
            move_tasks = True
        except Exception as exc:
            if unimplemented(exc):
                unavailable.append(f"sqs ListMessageMoveTasks (answered HTTP {http_status(exc)}): "
                                   "running redrives are not shown")
            else:
                problems.append(Problem("sqs", "ListMessageMoveTasks", describe(exc), exc))
    machines = [m for m in pipeline.state_machines if not m.express]
    express = sorted(m.name for m in pipeline.state_machines if m.express)
    if express:
        unavailable.append(f"stepfunctions ListExecutions of EXPRESS state machines ({', '.join(express)}): "
                           "their failures are in their logs, not shown")
    resources: set[str] = set()
    for dlq in scan.dlqs:
        resources |= {dlq.info.name, dlq.info.arn}
        resources |= {s.owner for s in dlq.sources if s.kind == FOUND_BY_SQS}
    for fn in pipeline.functions:
        resources |= {fn.name, fn.arn}
    for mapping in pipeline.mappings:
        resources |= {name_from_arn(mapping.function_arn), name_from_arn(mapping.source_arn)}
    for machine in pipeline.state_machines:
        resources |= {machine.name, machine.arn}
    return Scope(
        region=region,
        dlqs=scan.dlqs,
        streams=tuple(m for m in pipeline.mappings if m.is_stream),
        state_machines=tuple(machines),
        resources=frozenset(r for r in resources if r),
        move_tasks=move_tasks,
        problems=tuple(problems),
        unavailable=tuple(unavailable),
        calls=counter.value,
    )


def execution_failures(sfn: SFNClient, arn: str, since: datetime,
                       lookback: timedelta = EXECUTION_LOOKBACK) -> tuple[int, int, str | None, str | None]:
    """Executions of `arn` that FAILED and TIMED_OUT (stopped at or after `since`), and the newest of them (its
    name and stop time): ListExecutions with statusFilter, paginated, newest start first, until executions
    started `lookback` before `since`."""
    counts = {"FAILED": 0, "TIMED_OUT": 0}
    newest: tuple[datetime, str] | None = None
    for status in counts:
        pages = sfn.get_paginator("list_executions").paginate(
            stateMachineArn=arn, statusFilter=status,  # type: ignore[arg-type]  # a literal of the enum
            PaginationConfig={"PageSize": 100})
        for page in pages:
            executions = page.get("executions", [])
            for execution in executions:
                stopped = execution.get("stopDate")
                if stopped is not None and stopped >= since:
                    counts[status] += 1
                    if newest is None or stopped > newest[0]:
                        newest = (stopped, str(execution.get("name", "")))
            if executions and min(e["startDate"] for e in executions) < since - lookback:
                break
    last_name, last_at = (newest[1], newest[0].astimezone(timezone.utc).isoformat()) if newest else (None, None)
    return counts["FAILED"], counts["TIMED_OUT"], last_name, last_at


def _alarm_state(alarms: list[Alarm]) -> str:
    states = {a.state for a in alarms}
    for state in ("ALARM", "INSUFFICIENT_DATA", "OK"):
        if state in states:
            return state
    return "NONE"


def _describe_metric(namespace: str, metric: str, dimensions: tuple[tuple[str, str], ...]) -> str:
    return " ".join([namespace, metric, *(f"{k}={v}" for k, v in dimensions)])


@dataclass
class _Read:
    """The latest answer of one keyed call, and the refresh it came from."""

    value: Any = None
    refresh: int = 0


@dataclass
class WatchReader:
    """Refreshes one scope's board through `clients`. `budget` (seconds) is how long a refresh waits for its
    calls; `now` the wall clock (UTC), `clock` a monotonic one. `close()` when done."""

    clients: ClientFactory
    scope: Scope
    budget: float
    now: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))
    clock: Callable[[], float] = monotonic
    concurrency: int = DEFAULT_CONCURRENCY
    number: int = 0
    _reads: dict[Hashable, _Read] = field(default_factory=dict)
    _history: dict[str, deque[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.counter = CallCounter()
        self._reach = counted(self.clients, self.counter)
        self.pool = DeadlinePool(self.concurrency)

    def close(self) -> None:
        self.pool.close()

    # -- the calls of a refresh --------------------------------------------------------------------------------

    def _queries(self) -> list[MetricQuery]:
        queries = [MetricQuery(f"age:{d.info.name}", "AWS/SQS", "ApproximateAgeOfOldestMessage",
                               (("QueueName", d.info.name),)) for d in self.scope.dlqs]
        functions = sorted({name_from_arn(m.function_arn) for m in self.scope.streams})
        queries += [MetricQuery(f"iterator:{fn}", "AWS/Lambda", "IteratorAge", (("FunctionName", fn),))
                    for fn in functions]
        return queries

    def _calls(self, now: datetime) -> dict[tuple[str, str, str], Callable[[], Any]]:
        """Each call of a refresh by (service, operation, resource)."""
        sqs, cloudwatch = self._reach("sqs"), self._reach("cloudwatch")
        calls: dict[tuple[str, str, str], Callable[[], Any]] = {}
        for dlq in self.scope.dlqs:
            calls[("sqs", "GetQueueAttributes", dlq.info.url)] = partial(get_queue_info, sqs, dlq.info.url)
        queries = self._queries()
        if queries:
            calls[("cloudwatch", "GetMetricData", "")] = partial(
                metric_values, cloudwatch, queries, now - METRIC_WINDOW, now + timedelta(minutes=1))
        calls[("cloudwatch", "DescribeAlarms", "")] = partial(depth_alarms, cloudwatch)
        since = now - timedelta(minutes=FAILURE_WINDOW_MINUTES)
        for machine in self.scope.state_machines:
            calls[("stepfunctions", "ListExecutions", machine.arn)] = partial(
                execution_failures, self._reach("stepfunctions"), machine.arn, since)
        if self.scope.move_tasks:
            for dlq in self.scope.dlqs:
                calls[("sqs", "ListMessageMoveTasks", dlq.info.url)] = partial(
                    lambda arn: sqs.list_message_move_tasks(SourceArn=arn, MaxResults=10).get("Results", []),
                    dlq.info.arn)
        return calls

    # -- a refresh ---------------------------------------------------------------------------------------------

    def refresh(self) -> Snapshot:
        """Read everything once, waiting at most `budget` seconds; see the module."""
        started, now = self.clock(), self.now()
        calls_before = self.counter.value
        self.number += 1
        calls = self._calls(now)
        futures = {key: self.pool.submit(key, fn) for key, fn in calls.items()}
        self.pool.wait(futures.values(), self.budget - (self.clock() - started))
        problems: list[Problem] = list(self.scope.problems)  # what the scope could not read stays missing
        fresh: set[Hashable] = set()
        for key, future in futures.items():
            service, operation, resource = key
            short = name_from_arn(resource) if resource.startswith("arn:") else resource.rsplit("/", 1)[-1]
            label = f"{operation} {short}"
            if not future.done():
                previous = self._reads.get(key)
                shown = f"showing refresh {previous.refresh}'s" if previous else "nothing to show yet"
                problems.append(Problem(service, label.strip(), f"no answer within {self.budget:g}s ({shown})"))
            elif future.exception() is not None:
                error = future.exception()
                assert error is not None
                problems.append(Problem(service, label.strip(), describe(error), error))
            else:
                self._reads[key] = _Read(future.result(), self.number)
                fresh.add(key)
        elapsed = self.clock() - started
        return Snapshot(
            region=self.scope.region,
            taken_at=now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            refresh=self.number,
            elapsed_seconds=elapsed,
            calls=self.counter.value - calls_before,
            dlqs=tuple(self._dlq_rows(fresh)),
            streams=tuple(self._stream_rows(fresh)),
            state_machines=tuple(self._machine_rows(fresh)),
            redrives=tuple(self._redrive_rows(fresh)),
            alarms=tuple(self._alarm_rows(fresh)),
            problems=tuple(problems),
            unavailable=self.scope.unavailable,
        )

    def _value(self, key: Hashable) -> Any:
        read = self._reads.get(key)
        return read.value if read else None

    def _remember(self, key: str, value: Any) -> tuple[Any, ...]:
        history = self._history.setdefault(key, deque(maxlen=HISTORY))
        history.append(value)
        return tuple(history)

    def _dlq_rows(self, fresh: set[Hashable]) -> list[DlqRow]:
        metrics_key = ("cloudwatch", "GetMetricData", "")
        alarms_key = ("cloudwatch", "DescribeAlarms", "")
        metrics: dict[str, list[float]] = self._value(metrics_key) or {}
        alarms: list[Alarm] = self._value(alarms_key) or []
        rows = []
        for dlq in self.scope.dlqs:
            key = ("sqs", "GetQueueAttributes", dlq.info.url)
            info = self._value(key)
            visible = info.int_attr("ApproximateNumberOfMessages") if info else None
            in_flight = info.int_attr("ApproximateNumberOfMessagesNotVisible") if info else None
            history = self._history.get(dlq.info.url)
            previous = history[-1] if history else None
            shown = self._remember(dlq.info.url, visible if key in fresh else None)
            ages = metrics.get(f"age:{dlq.info.name}") or []
            watching = [a for a in alarms if a.watches_queue_depth(dlq.info.name)]
            stale = tuple(name for name, k in (("depth", key), ("age", metrics_key), ("alarm", alarms_key))
                          if k not in fresh)
            rows.append(DlqRow(
                name=dlq.info.name, url=dlq.info.url, arn=dlq.info.arn, found_by=dlq.found_by,
                visible=visible, in_flight=in_flight, oldest_age_seconds=ages[0] if ages else None,
                history=shown, alarm=_alarm_state(watching), alarm_names=tuple(a.name for a in watching),
                grew=key in fresh and visible is not None and previous is not None and visible > previous,
                stale=stale,
            ))
        return rows

    def _stream_rows(self, fresh: set[Hashable]) -> list[StreamRow]:
        metrics_key = ("cloudwatch", "GetMetricData", "")
        metrics: dict[str, list[float]] = self._value(metrics_key) or {}
        rows = []
        for mapping in self.scope.streams:
            function = name_from_arn(mapping.function_arn)
            values = metrics.get(f"iterator:{function}") or []
            age = values[0] / 1000.0 if values else None  # IteratorAge is in milliseconds
            rows.append(StreamRow(
                stream_arn=mapping.source_arn, stream=name_from_arn(mapping.source_arn), function=function,
                mapping_uuid=mapping.uuid, mapping_state=mapping.state, iterator_age_seconds=age,
                history=self._remember(f"stream:{mapping.uuid}", age if metrics_key in fresh else None),
                stale=metrics_key not in fresh,
            ))
        return rows

    def _machine_rows(self, fresh: set[Hashable]) -> list[MachineRow]:
        rows = []
        for machine in self.scope.state_machines:
            key = ("stepfunctions", "ListExecutions", machine.arn)
            answer = self._value(key)
            failed, timed_out, last, last_at = answer if answer else (None, None, None, None)
            rows.append(MachineRow(name=machine.name, arn=machine.arn, failed=failed, timed_out=timed_out,
                                   window_minutes=FAILURE_WINDOW_MINUTES, last_failure=last,
                                   last_failure_at=last_at, stale=key not in fresh))
        return rows

    def _redrive_rows(self, fresh: set[Hashable]) -> list[RedriveRow]:
        rows = []
        for dlq in self.scope.dlqs:
            key = ("sqs", "ListMessageMoveTasks", dlq.info.url)
            for raw in self._value(key) or []:
                task = MoveTask.from_api(raw)
                if task.status == "RUNNING":
                    rows.append(RedriveRow(dlq=dlq.info.name, task=task, stale=key not in fresh))
        return rows

    def _alarm_rows(self, fresh: set[Hashable]) -> list[AlarmRow]:
        key = ("cloudwatch", "DescribeAlarms", "")
        rows = []
        for alarm in self._value(key) or []:
            if alarm.state != "ALARM" or any(alarm.watches_queue_depth(d.info.name) for d in self.scope.dlqs):
                continue  # a DLQ's depth alarm is shown on the DLQ's row
            named = sorted({v for _, _, dims in alarm.metrics for _, v in dims if v in self.scope.resources})
            if named:
                rows.append(AlarmRow(name=alarm.name, arn=alarm.arn,
                                     metrics=tuple(_describe_metric(*m) for m in alarm.metrics),
                                     resources=tuple(name_from_arn(n) for n in named), stale=key not in fresh))
        return rows
