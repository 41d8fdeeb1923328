"""`eda init`: turn a discovered pipeline into a pipeline file (eda.yaml) a team can edit and commit."""

from __future__ import annotations

import json
from typing import Any

from eda_cli.core.pipeline.model import Pipeline, StateMachine, Table, iter_states
from eda_cli.core.pipeline.spec import VERSION

DEFAULT_CORRELATION_PATHS = ("correlationId", "detail.correlationId")

HEADER = """\
# eda pipeline file: the resources this team owns and how its messages are correlated.
# Written by `eda init`; edit freely. `eda audit` and `eda topology` read it (--config PATH,
# default ./eda.yaml). Schema: https://github.com/eda-cli/eda/blob/main/docs/pipeline-file.md
#
# tables[].idempotency / ttl_attribute: idempotency tables must expire records (TTL on that attribute).
# tables[].stream_view_type: the stream view the table's consumers need.
# event_source_mappings[].filter: a filter the mapping must keep (the audit flags it when it is gone).
# state_machines[].saga: failing states must have a Catch; duration: short (Express) | long (Standard).
"""


def is_idempotency_table(table: Table) -> bool:
    """Tagged `eda:role=idempotency`, or named like one."""
    return table.tags.get("eda:role", "").lower() == "idempotency" or "idempotency" in table.name.lower()


def looks_like_saga(machine: StateMachine) -> bool:
    if "saga" in machine.name.lower():
        return True
    return any("Catch" in state for _, state in iter_states(machine.definition))


def spec_document(pipeline: Pipeline, correlation_id_paths: tuple[str, ...] = DEFAULT_CORRELATION_PATHS,
                  ) -> dict[str, Any]:
    """The pipeline file's content, as plain data (see `render_pipeline_file`)."""
    doc: dict[str, Any] = {"version": VERSION, "region": pipeline.region,
                           "correlation_id_paths": list(correlation_id_paths)}
    if pipeline.topics:
        doc["topics"] = [t.name for t in pipeline.topics]
    if pipeline.queues:
        doc["queues"] = [q.name for q in pipeline.queues]
    with_rules = sorted({r.bus_name for r in pipeline.rules})
    if with_rules:
        doc["event_buses"] = with_rules
    tables: list[Any] = []
    for table in pipeline.tables:
        entry: dict[str, Any] = {"name": table.name}
        if is_idempotency_table(table):
            entry["idempotency"] = True
            if table.ttl_enabled and table.ttl_attribute:
                entry["ttl_attribute"] = table.ttl_attribute
        if table.stream_view_type and pipeline.consumers(table.arn):
            entry["stream_view_type"] = table.stream_view_type
        tables.append(entry if len(entry) > 1 else table.name)
    if tables:
        doc["tables"] = tables
    if pipeline.functions:
        doc["functions"] = [f.name for f in pipeline.functions]
    mappings = []
    for m in pipeline.mappings:
        function = pipeline.function_by_arn(m.function_arn)
        for pattern in m.filters:
            try:
                parsed = json.loads(pattern)
            except ValueError:
                continue
            source = pipeline.queue_by_arn(m.source_arn)
            mappings.append({
                "function": function.name if function else m.function_arn,
                "source": source.name if source else m.source_arn,
                "filter": parsed,
            })
    if mappings:
        doc["event_source_mappings"] = mappings
    machines: list[Any] = []
    for machine in pipeline.state_machines:
        entry = {"name": machine.name}
        if looks_like_saga(machine):
            entry["saga"] = True
        machines.append(entry if len(entry) > 1 else machine.name)
    if machines:
        doc["state_machines"] = machines
    return doc


def render_pipeline_file(pipeline: Pipeline,
                         correlation_id_paths: tuple[str, ...] = DEFAULT_CORRELATION_PATHS) -> str:
    """The text of an eda.yaml describing `pipeline`; `load_pipeline_file` reads it back."""
    import yaml

    body = yaml.safe_dump(spec_document(pipeline, correlation_id_paths), sort_keys=False,
                          default_flow_style=False, allow_unicode=True, width=100)
    return HEADER + "\n" + body
