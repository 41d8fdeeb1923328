"""Trace one correlation id across queues, DLQs, logs, tables, streams and state machines.

Public API (frozen dataclasses with `to_dict()`; nothing here prints)::

    from eda_cli.core.trace import TraceOptions, plan_for, plan_from_flags, run_trace

    scope = plan_for(session.client, region, plan_from_flags(queues=["payments-dlq"]), config=None)
    result = run_trace(session.client, scope.plan, TraceOptions("corr-0006", id_paths(), since, until),
                       region=region)
    result.hits        # the timeline, sorted by time
    result.verdict     # "stuck in payments-dlq (sent ...; 3 receives by anyone, ...): ...; never processed by ..."
    result.problems    # places that could not be searched (the trace went on without them)

Importing this package imports neither boto3 nor yaml.
"""

from __future__ import annotations

from eda_cli.core.problems import Problem
from eda_cli.core.trace.engine import TraceOptions, run_trace
from eda_cli.core.trace.match import DEFAULT_ID_PATHS, id_paths, normalize_path
from eda_cli.core.trace.model import Hit, Place, TraceResult
from eda_cli.core.trace.plan import (
    MachineTarget,
    Plan,
    QueueTarget,
    Scope,
    StreamTarget,
    TableTarget,
    plan_for,
    plan_from_flags,
    plan_from_pipeline,
)
from eda_cli.core.trace.sources import scan_queue

__all__ = [
    "DEFAULT_ID_PATHS",
    "Hit",
    "MachineTarget",
    "Place",
    "Plan",
    "Problem",
    "QueueTarget",
    "Scope",
    "StreamTarget",
    "TableTarget",
    "TraceOptions",
    "TraceResult",
    "id_paths",
    "normalize_path",
    "plan_for",
    "plan_from_flags",
    "plan_from_pipeline",
    "run_trace",
    "scan_queue",
]
