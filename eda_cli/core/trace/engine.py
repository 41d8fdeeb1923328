"""Run a trace: every search at once (bounded), then the idempotency lookup by message id, then the verdict."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from eda_cli.aws.errors import describe as describe_error
from eda_cli.aws.errors import is_client_error, raise_if_environment_failure
from eda_cli.core.concurrency import DEFAULT_CONCURRENCY, map_bounded
from eda_cli.core.dlq import PeekRefused
from eda_cli.core.problems import Problem
from eda_cli.core.trace import sources as src
from eda_cli.core.trace.model import (
    IDEMPOTENCY,
    LOGS,
    SQS,
    STEPFUNCTIONS,
    STREAM,
    TABLE,
    Hit,
    Place,
    TraceResult,
    iso_from_epoch,
    sort_hits,
)
from eda_cli.core.trace.plan import REDRIVE_SKIP, Plan
from eda_cli.core.trace.verdict import verdict
from eda_cli.errors import EdaError, UsageError

ClientFactory = Callable[[str], Any]


@dataclass(frozen=True)
class TraceOptions:
    correlation_id: str
    id_paths: tuple[str, ...]
    #: The window, in epoch seconds: logs, executions and stream records outside it are not read.
    since: float
    until: float
    insights: bool = False
    force: bool = False
    concurrency: int = DEFAULT_CONCURRENCY


@dataclass(frozen=True)
class _Task:
    source: str
    resource: str
    run: Callable[[], src.Found]


def describe(exc: BaseException, source: str, resource: str, where: str, *, listed: bool = False) -> str:
    """One line for a place that could not be searched (`listed`: discovery or a file named it)."""
    if isinstance(exc, EdaError):
        return exc.message + (f" ({exc.hint})" if exc.hint else "")
    if is_client_error(exc, "ResourceNotFoundException", "AWS.SimpleQueueService.NonExistentQueue",
                       "QueueDoesNotExist", "StateMachineDoesNotExist"):
        kind = {LOGS: "log group", SQS: "queue", STEPFUNCTIONS: "state machine"}.get(source, "table")
        text = f"{kind} {resource} does not exist ({where})"
        return text + ("; it may have been deleted since it was listed" if listed else "")
    if isinstance(exc, src.InsightsFailed):
        return str(exc)
    return describe_error(exc)


def _tasks(client: ClientFactory, plan: Plan, options: TraceOptions, *, region: str, where: str, now: float,
           sleep: Callable[[float], None], clock: Callable[[], float]) -> list[_Task]:
    cid, paths = options.correlation_id, options.id_paths
    tasks: list[_Task] = []
    for queue in plan.queues:
        def run_queue(q: Any = queue) -> src.Found:
            sqs = client("sqs")
            url = q.url
            if url is None:
                from eda_cli.aws.resolve import resolve_queue

                url = resolve_queue(sqs, q.ref, region, where).url
            return src.search_queue(sqs, q.name, url, cid, paths, force=options.force, is_dlq=q.is_dlq,
                                    sources=q.sources)

        tasks.append(_Task(SQS, queue.name, run_queue))
    if options.insights:
        groups = list(plan.log_groups)
        for start in range(0, len(groups), src.INSIGHTS_GROUPS_PER_QUERY):
            batch = groups[start : start + src.INSIGHTS_GROUPS_PER_QUERY]
            tasks.append(_Task(LOGS, ", ".join(batch), partial(
                src.search_insights, client("logs"), batch, cid, options.since, options.until,
                sleep=sleep, clock=clock)))
    else:
        for group in plan.log_groups:
            tasks.append(_Task(LOGS, group, partial(
                src.search_log_group, client("logs"), group, cid, options.since, options.until)))
    for table in plan.idempotency_tables:
        tasks.append(_Task(IDEMPOTENCY, table.name, partial(
            src.search_idempotency_table, client("dynamodb"), table.name, cid, paths,
            ttl_attribute=table.ttl_attribute, now=now)))
    for table in plan.tables:
        tasks.append(_Task(TABLE, table.name, partial(src.search_table_items, client("dynamodb"), table.name, cid)))
    for stream in plan.streams:
        def run_stream(s: Any = stream) -> src.Found:
            arn = s.stream_arn
            if arn is None:
                from eda_cli.aws.resolve import resolve_table

                arn = resolve_table(client("dynamodb"), s.table, where).stream_arn
                if not arn:
                    raise UsageError(f"table {s.table} has no stream")
            return src.search_stream(client("dynamodbstreams"), s.table, arn, cid, options.since,
                                     sleep=sleep, clock=clock)

        tasks.append(_Task(STREAM, stream.table, run_stream))
    for machine in plan.machines:
        def run_machine(m: Any = machine) -> src.Found:
            sfn = client("stepfunctions")
            arn = m.arn
            if arn is None:
                from eda_cli.aws.resolve import resolve_state_machine

                arn = resolve_state_machine(sfn, m.ref, where)
            return src.search_state_machine(sfn, m.name, arn, cid, options.since)

        tasks.append(_Task(STEPFUNCTIONS, machine.name, run_machine))
    return tasks


def run_trace(
    client: ClientFactory,
    plan: Plan,
    options: TraceOptions,
    *,
    region: str,
    where: str = "",
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> TraceResult:
    """Search every place of `plan` for the correlation id, at most `options.concurrency` at once.

    `client(service)` returns a thread-safe boto3 client. A place that cannot be searched becomes
    an entry in `problems`; the others are searched all the same. When no place could be searched, all
    for one environment-level reason (no credentials, an unreachable endpoint), that error is raised.
    """
    now = clock()
    where = where or f"region {region}"
    hits: list[Hit] = []
    places: list[Place] = []
    skipped: list[Place] = list(plan.skipped)
    problems: list[Problem] = list(plan.problems)
    tables: list[src.TableInfo] = []
    tasks = _tasks(client, plan, options, region=region, where=where, now=now, sleep=sleep, clock=monotonic)
    listed = plan.scope != "flags"
    # A plan from discovery means discovery answered (it raises when nothing did).
    answered = 1 if listed else 0
    for outcome in map_bounded(lambda task: task.run(), tasks, options.concurrency):
        task = outcome.item
        if outcome.error is not None:
            refused = isinstance(outcome.error, PeekRefused)
            explicit = any(q.explicit and q.name == task.resource for q in plan.queues)
            if refused and not explicit:
                skipped.append(Place(task.source, task.resource, skipped=REDRIVE_SKIP))
                answered += 1
            elif task.source == LOGS and options.insights and "," in task.resource:
                message = describe(outcome.error, task.source, task.resource, where, listed=listed)
                problems.extend(Problem(LOGS, g, message, outcome.error) for g in task.resource.split(", "))
            else:
                problems.append(Problem(task.source, task.resource, describe(
                    outcome.error, task.source, task.resource, where, listed=listed), outcome.error))
            continue
        answered += 1
        found = outcome.value
        assert found is not None
        hits.extend(found.hits)
        places.extend(found.places)
        skipped.extend(found.skipped)
        tables.extend(found.tables)
    # No credentials, no endpoint, access denied everywhere: one error (exit 3), not "not found"
    # beside a NOT SEARCHED line per place.
    raise_if_environment_failure([p.cause for p in problems], succeeded=answered)

    hits = _lookup_by_message_id(client, hits, tables, problems, now, options.concurrency)
    ordered = sort_hits(hits)
    return TraceResult(
        correlation_id=options.correlation_id,
        hits=ordered,
        verdict=verdict(ordered, searched=len(places), errors=len(problems), skipped=len(skipped)),
        searched=tuple(places),
        skipped=tuple(skipped),
        problems=tuple(problems),
        scope=plan.scope,
        since=iso_from_epoch(options.since),
        id_paths=options.id_paths,
    )


def _lookup_by_message_id(client: ClientFactory, hits: list[Hit], tables: list[src.TableInfo],
                          problems: list[Problem], now: float, concurrency: int) -> list[Hit]:
    """Second wave: the idempotency records keyed by the message ids the queues found, so a poison
    message can be called processed or never processed; marks each SQS hit accordingly."""
    message_ids = [str(h.detail["message_id"]) for h in hits if h.source == SQS]
    if not tables:
        return hits
    found: list[Hit] = []
    failed = False
    if message_ids:
        for outcome in map_bounded(lambda t: src.lookup_message_ids(client("dynamodb"), t, message_ids, now),
                                   tables, concurrency):
            if outcome.error is not None:
                failed = True
                problems.append(Problem(IDEMPOTENCY, outcome.item.name, describe(
                    outcome.error, IDEMPOTENCY, outcome.item.name, "")))
            else:
                found.extend(outcome.value or [])
    known = {(h.resource, str(h.detail.get("key"))) for h in hits if h.source == IDEMPOTENCY}
    extra = [h for h in found if (h.resource, str(h.detail.get("key"))) not in known]
    records = [h for h in hits if h.source == IDEMPOTENCY] + extra
    keyed = {str(v) for h in records for v in (h.detail.get("key") or {}).values()}
    unattributed = any(r.detail.get("by") is None for r in records)
    out: list[Hit] = []
    for hit in [*hits, *extra]:
        if hit.source == SQS:
            labels = set(hit.detail.get("redrive_sources") or ()) | {hit.resource}
            mine = hit.detail["message_id"] in keyed or any(_written_by(r.detail.get("by"), labels) for r in records)
            state = ("found" if mine else "unknown" if failed else "unattributed" if unattributed else "none")
            hit = replace(hit, detail={**hit.detail, "idempotency_record": state})
        out.append(hit)
    return out


def _written_by(by: Any, labels: set[str]) -> bool:
    """A record's writer (`queue` attribute, or a Powertools key's function name) is one of these
    queues, or a function named after one (`payments-consumer` for the queue `payments`)."""
    if not isinstance(by, str) or not by:
        return False
    return any(by == label or by.startswith(tuple(label + sep for sep in "-_./")) for label in labels)
