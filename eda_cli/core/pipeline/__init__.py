"""The pipeline: one model of an account's event pipeline, built live or narrowed by a pipeline file.

Public API (all results are frozen dataclasses with `to_dict()`)::

    from eda_cli.core.pipeline import discover, load_pipeline_file, scope_pipeline

    pipeline = discover(session.client, session.region)      # every List call paginated, concurrently
    spec = load_pipeline_file("eda.yaml")                    # UsageError naming file:line when invalid
    mine = scope_pipeline(pipeline, spec)                    # only what the file names, and its DLQs...

    pipeline.queue("payments"), pipeline.dlq_arns, pipeline.redrive_sources(dlq),
    pipeline.consumers(queue_or_table_arn), pipeline.depth_alarms(queue), pipeline.subscriptions_of(topic)

`spec.correlation_id_paths` says where messages carry their correlation id (used by `eda trace`).
Importing this package imports neither boto3 nor yaml.
"""

from __future__ import annotations

from eda_cli.core.pipeline.discovery import SERVICES, discover
from eda_cli.core.pipeline.load import Loaded, load_pipeline, open_pipeline_file
from eda_cli.core.pipeline.model import (
    Alarm,
    EventBus,
    EventSourceMapping,
    Function,
    LogGroup,
    Pipeline,
    Queue,
    Rule,
    StateMachine,
    Subscription,
    Table,
    Target,
    Topic,
    iter_states,
    name_from_arn,
)
from eda_cli.core.pipeline.scope import missing_resources, scope_pipeline
from eda_cli.core.pipeline.spec import (
    DEFAULT_PATH,
    BusSpec,
    MappingSpec,
    PipelineFileError,
    PipelineFileUnusable,
    PipelineSpec,
    StateMachineSpec,
    TableSpec,
    find_pipeline_file,
    load_pipeline_file,
    parse_pipeline_text,
)
from eda_cli.core.pipeline.writer import (
    is_idempotency_table,
    looks_like_saga,
    render_pipeline_file,
    spec_document,
)
from eda_cli.core.problems import Problem

__all__ = [
    "DEFAULT_PATH",
    "SERVICES",
    "Alarm",
    "BusSpec",
    "EventBus",
    "EventSourceMapping",
    "Function",
    "Loaded",
    "LogGroup",
    "MappingSpec",
    "Pipeline",
    "PipelineFileError",
    "PipelineFileUnusable",
    "PipelineSpec",
    "Problem",
    "Queue",
    "Rule",
    "StateMachine",
    "StateMachineSpec",
    "Subscription",
    "Table",
    "TableSpec",
    "Target",
    "Topic",
    "discover",
    "find_pipeline_file",
    "is_idempotency_table",
    "iter_states",
    "load_pipeline",
    "load_pipeline_file",
    "looks_like_saga",
    "missing_resources",
    "name_from_arn",
    "open_pipeline_file",
    "parse_pipeline_text",
    "render_pipeline_file",
    "scope_pipeline",
    "spec_document",
]
