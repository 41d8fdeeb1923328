"""Narrow a discovered pipeline to the resources a pipeline file names, and what hangs off them.

A named queue brings its DLQ, the subscriptions and mappings that feed from it; a named topic
brings its subscriptions and their queues; a named bus brings its rules (all, or those listed)
and their targets' queues and state machines; a named table brings the mappings on its stream;
a named function brings its mappings and their sources and its on-failure destination (a pipe's DLQ comes
with the table it reads). Alarms and log groups are kept whole:
they are only ever looked up by the resources in scope.
"""

from __future__ import annotations

from dataclasses import replace

from eda_cli.core.pipeline.model import Pipeline
from eda_cli.core.pipeline.spec import PipelineSpec


def _matches(names: set[str], name: str, arn: str, *extra: str) -> bool:
    return name in names or arn in names or any(e in names for e in extra)


def scope_pipeline(pipeline: Pipeline, spec: PipelineSpec) -> Pipeline:
    """The part of `pipeline` that `spec` names (all of it when the spec names no resource)."""
    if not spec.names_resources:
        return pipeline
    queue_names = set(spec.queues)
    topic_names = set(spec.topics)
    table_names = {t.name for t in spec.tables}
    function_names = set(spec.functions)
    machine_names = {s.name for s in spec.state_machines}
    buses = {b.name: b for b in spec.buses}

    topics = {t.arn for t in pipeline.topics if _matches(topic_names, t.name, t.arn)}
    queues = {q.arn for q in pipeline.queues if _matches(queue_names, q.name, q.arn, q.url)}
    tables = {t.arn for t in pipeline.tables if _matches(table_names, t.name, t.arn)}
    functions = {f.arn for f in pipeline.functions if _matches(function_names, f.name, f.arn)}
    machines = {m.arn for m in pipeline.state_machines if _matches(machine_names, m.name, m.arn)}

    rules = []
    for rule in pipeline.rules:
        bus = buses.get(rule.bus_name) or next(
            (b for b in buses.values() if b.name.endswith(f"/{rule.bus_name}")), None
        )
        if bus is None or (bus.rules is not None and rule.name not in bus.rules and rule.arn not in bus.rules):
            continue
        rules.append(rule)
        for target in rule.targets:
            service = target.arn.split(":")[2] if target.arn.count(":") >= 5 else ""
            if service == "sqs":
                queues.add(target.arn)
            elif service == "states":
                machines.add(target.arn)
            elif service == "lambda":
                functions.add(target.arn)
            if target.dead_letter_arn:
                queues.add(target.dead_letter_arn)

    subscriptions = [s for s in pipeline.subscriptions if s.topic_arn in topics or s.endpoint in queues]
    for sub in subscriptions:
        topics.add(sub.topic_arn)
        if sub.protocol == "sqs":
            queues.add(sub.endpoint)
        if sub.dead_letter_target_arn:
            queues.add(sub.dead_letter_target_arn)

    stream_arns = {t.stream_arn for t in pipeline.tables if t.arn in tables and t.stream_arn}

    def function_arn(arn: str) -> str:
        function = pipeline.function_by_arn(arn)
        return function.arn if function is not None else arn

    mappings = [
        m for m in pipeline.mappings
        if function_arn(m.function_arn) in functions or m.source_arn in queues or m.source_arn in stream_arns
        or any(m.source_arn.startswith(t + "/stream/") for t in tables)
    ]
    for m in mappings:
        function = pipeline.function_by_arn(m.function_arn)
        if function is not None:
            functions.add(function.arn)
        if m.source_kind == "sqs":
            queues.add(m.source_arn)
        elif m.source_kind == "dynamodb":
            tables.add(m.source_arn.split("/stream/")[0])
        if m.on_failure_arn:
            queues.add(m.on_failure_arn)
    for f in pipeline.functions:
        if f.arn in functions and f.dead_letter_arn:
            queues.add(f.dead_letter_arn)
    # A function's on-failure destination, a pipe's DLQ: with the function, or with the stream the pipe reads.
    origins = [o for o in pipeline.dlq_origins
               if function_arn(o.owner_arn) in functions
               or (o.source_arn and (o.source_arn in stream_arns or o.source_arn.split("/stream/")[0] in tables))]
    queues.update(o.dlq_arn for o in origins)
    # A queue in scope brings its DLQ (one hop: a DLQ's own DLQ is rare and named if wanted).
    for q in pipeline.queues:
        if q.arn in queues and q.dead_letter_target_arn:
            queues.add(q.dead_letter_target_arn)

    return replace(
        pipeline,
        queues=tuple(q for q in pipeline.queues if q.arn in queues),
        topics=tuple(t for t in pipeline.topics if t.arn in topics),
        subscriptions=tuple(subscriptions),
        buses=tuple(b for b in pipeline.buses if b.name in {r.bus_name for r in rules} or b.name in buses),
        rules=tuple(rules),
        tables=tuple(t for t in pipeline.tables if t.arn in tables),
        functions=tuple(f for f in pipeline.functions if f.arn in functions),
        mappings=tuple(mappings),
        dlq_origins=tuple(origins),
        state_machines=tuple(m for m in pipeline.state_machines if m.arn in machines),
    )


def missing_resources(pipeline: Pipeline, spec: PipelineSpec) -> list[tuple[str, str, int]]:
    """Resources the file names that the account does not have: (kind, name, line)."""
    missing: list[tuple[str, str, int]] = []

    def check(kind: str, names: list[str], present: set[str]) -> None:
        for name in names:
            if name not in present:
                missing.append((kind, name, spec.lines.get((kind, name), 0)))

    check("queue", list(spec.queues), {q.name for q in pipeline.queues} | {q.arn for q in pipeline.queues}
          | {q.url for q in pipeline.queues})
    check("topic", list(spec.topics), {t.name for t in pipeline.topics} | {t.arn for t in pipeline.topics})
    check("bus", [b.name for b in spec.buses], {b.name for b in pipeline.buses} | {b.arn for b in pipeline.buses})
    check("table", [t.name for t in spec.tables], {t.name for t in pipeline.tables} | {t.arn for t in pipeline.tables})
    check("function", list(spec.functions),
          {f.name for f in pipeline.functions} | {f.arn for f in pipeline.functions})
    check("state_machine", [s.name for s in spec.state_machines],
          {m.name for m in pipeline.state_machines} | {m.arn for m in pipeline.state_machines})
    return missing
