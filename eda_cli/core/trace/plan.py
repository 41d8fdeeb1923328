"""Where to look: the resources named by flags, else a pipeline file's resources, else discovery."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eda_cli.core.concurrency import DEFAULT_CONCURRENCY
from eda_cli.core.pipeline import Pipeline, PipelineSpec, is_idempotency_table, name_from_arn
from eda_cli.core.problems import Problem
from eda_cli.core.trace.model import SQS, Place

#: What `Place.skipped` says of a queue left alone for its RedrivePolicy.
REDRIVE_SKIP = "has a RedrivePolicy: receiving raises its messages' receive counts (--force searches it)"


@dataclass(frozen=True)
class QueueTarget:
    #: The name, URL or ARN as given; `url` is set when discovery already resolved it.
    ref: str
    url: str | None = None
    #: None: decided after the search, from ListDeadLetterSourceQueues and the name.
    is_dlq: bool | None = None
    sources: tuple[str, ...] | None = None
    #: Named by the user: a refusal to read it (RedrivePolicy without --force) is an error, not a skip.
    explicit: bool = False

    @property
    def name(self) -> str:
        return name_from_arn(self.ref) if self.ref.startswith("arn:") else self.ref.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class TableTarget:
    name: str
    ttl_attribute: str | None = None


@dataclass(frozen=True)
class StreamTarget:
    table: str
    stream_arn: str | None = None


@dataclass(frozen=True)
class MachineTarget:
    ref: str
    arn: str | None = None

    @property
    def name(self) -> str:
        return name_from_arn(self.ref) if self.ref.startswith("arn:") else self.ref


@dataclass(frozen=True)
class Plan:
    queues: tuple[QueueTarget, ...] = ()
    log_groups: tuple[str, ...] = ()
    idempotency_tables: tuple[TableTarget, ...] = ()
    tables: tuple[TableTarget, ...] = ()
    streams: tuple[StreamTarget, ...] = ()
    machines: tuple[MachineTarget, ...] = ()
    skipped: tuple[Place, ...] = ()
    problems: tuple[Problem, ...] = ()
    #: "flags", "pipeline file PATH" or "discovery".
    scope: str = "flags"

    @property
    def empty(self) -> bool:
        return not (self.queues or self.log_groups or self.idempotency_tables or self.tables or self.streams
                    or self.machines)


def _unique(items: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i.strip() for i in items if i.strip()))


def plan_from_flags(
    *,
    queues: list[str] | tuple[str, ...] = (),
    log_groups: list[str] | tuple[str, ...] = (),
    tables: list[str] | tuple[str, ...] = (),
    idempotency_tables: list[str] | tuple[str, ...] = (),
    machines: list[str] | tuple[str, ...] = (),
    streams: list[str] | tuple[str, ...] = (),
) -> Plan:
    """Exactly the named resources; each is resolved when it is searched (a missing one is an error
    entry, not the end of the trace)."""
    return Plan(
        queues=tuple(QueueTarget(q, explicit=True) for q in _unique(queues)),
        log_groups=_unique(log_groups),
        idempotency_tables=tuple(TableTarget(t) for t in _unique(idempotency_tables)),
        tables=tuple(TableTarget(t) for t in _unique(tables)),
        machines=tuple(MachineTarget(m) for m in _unique(machines)),
        streams=tuple(StreamTarget(t) for t in _unique(streams)),
        scope="flags",
    )


def plan_from_pipeline(
    pipeline: Pipeline,
    spec: PipelineSpec | None = None,
    *,
    force: bool = False,
    missing: tuple[tuple[str, str, int], ...] = (),
) -> Plan:
    """The places of a discovered pipeline (narrowed to a pipeline file when `spec` names resources).

    Queues: every DLQ; with a pipeline file also the queues it brings that have no RedrivePolicy;
    with `force` every queue. Log groups: with a file, those of its functions and state machines
    (every group when it has none); in discovery, every group. Tables: idempotency tables (tagged
    `eda:role=idempotency`, named so, or marked in the file); with a file, its other tables by key.
    Streams: every stream of a table in scope that is not an idempotency table. State machines:
    every one in scope.
    """
    from_file = spec is not None and spec.names_resources
    scope = f"pipeline file {spec.path}" if from_file and spec is not None else "discovery"
    queues: list[QueueTarget] = []
    skipped: list[Place] = []
    for queue in pipeline.queues:
        if pipeline.is_dlq(queue):
            sources = tuple(s.name for s in pipeline.redrive_sources(queue))
            queues.append(QueueTarget(queue.name, queue.url, is_dlq=True, sources=sources))
        elif queue.dead_letter_target_arn is not None and not force:
            skipped.append(Place(SQS, queue.name, skipped=REDRIVE_SKIP))
        elif force or from_file:
            queues.append(QueueTarget(queue.name, queue.url, is_dlq=False, sources=()))
        else:
            skipped.append(Place(SQS, queue.name, skipped="not a DLQ (name it with --queue, or pass --force)"))

    groups = [g.name for g in pipeline.log_groups]
    if from_file:
        wanted = {f"/aws/lambda/{f.name}" for f in pipeline.functions}
        wanted |= {arn.split(":log-group:", 1)[-1].removesuffix(":*") for m in pipeline.state_machines
                   for arn in m.log_group_arns if ":log-group:" in arn}
        if wanted:
            groups = [g for g in groups if g in wanted]

    idempotent: list[TableTarget] = []
    tables: list[TableTarget] = []
    streams: list[StreamTarget] = []
    for table in pipeline.tables:
        marked = spec.table(table.name) if spec is not None else None
        idempotency = marked.idempotency if marked is not None and marked.idempotency is not None \
            else is_idempotency_table(table)
        if idempotency:
            idempotent.append(TableTarget(table.name, table.ttl_attribute if table.ttl_enabled else None))
            continue
        if from_file:
            tables.append(TableTarget(table.name))
        if table.stream_enabled and table.stream_arn:
            streams.append(StreamTarget(table.name, table.stream_arn))

    problems = list(pipeline.problems)
    problems += [Problem(kind, name,
                           f"named in {spec.path if spec else 'the pipeline file'}"
                           + (f":{line}" if line else "") + " but not found in this account and region")
               for kind, name, line in missing]
    return Plan(
        queues=tuple(queues),
        log_groups=tuple(groups),
        idempotency_tables=tuple(idempotent),
        tables=tuple(tables),
        streams=tuple(streams),
        machines=tuple(MachineTarget(m.name, m.arn) for m in pipeline.state_machines),
        skipped=tuple(skipped),
        problems=tuple(problems),
        scope=scope,
    )


#: The services discovery reads for a trace (alarms are of no use to it).
TRACE_SERVICES = ("sqs", "sns", "events", "dynamodb", "lambda", "stepfunctions", "logs")


@dataclass(frozen=True)
class Scope:
    plan: Plan
    spec: PipelineSpec
    warnings: tuple[str, ...] = ()


def plan_for(
    client: Callable[[str], Any],
    region: str,
    flags: Plan,
    *,
    config: str | None = None,
    force: bool = False,
    cwd: Path | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> Scope:
    """Flags when any resource is named; else the pipeline file (`config`, or ./eda.yaml when it
    exists), discovered and narrowed; else discovery of the whole region. The file is read before
    any AWS call, so an invalid one fails first; its correlation_id_paths apply in every case."""
    from eda_cli.core.pipeline import (
        discover,
        find_pipeline_file,
        load_pipeline_file,
        missing_resources,
        scope_pipeline,
    )

    path = find_pipeline_file(config, cwd)
    spec = load_pipeline_file(path) if path is not None else PipelineSpec()
    warnings: list[str] = []
    if spec.region and spec.region != region:
        warnings.append(f"{spec.path} describes region {spec.region}, but this is {region}")
    if not flags.empty:
        return Scope(flags, spec, tuple(warnings))
    pipeline = discover(client, region, concurrency=concurrency, services=TRACE_SERVICES)
    missing = tuple(missing_resources(pipeline, spec)) if path is not None else ()
    scoped = scope_pipeline(pipeline, spec)
    plan = plan_from_pipeline(scoped, spec if path is not None else None, force=force, missing=missing)
    return Scope(plan, spec, tuple(warnings))
