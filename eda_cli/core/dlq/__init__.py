"""Dead-letter queues: find them (from configuration, else by name), measure them, and peek at their
messages without consuming them.

Modules: `model` (Source, Dlq, the FOUND_BY_* kinds), `origins` (what SNS, EventBridge, Lambda and Pipes
name as a DLQ), `scan` (`scan_dlqs`, `dlqs_for`), `report` (`inspect`: depth, age, alarms, retention), `peek`
(`browse`, `peek`, grouping by error), `violations` (peeked
messages against an event schema, and their sizes).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# `peek` is both a submodule and a function of this package: imported here, the function's name wins as it always did.
from eda_cli.core.dlq.peek import (
    PEEK_VISIBILITY_SECONDS,
    BrowseStats,
    Group,
    PeekRefused,
    PeekResult,
    body_preview,
    browse,
    group_by_error,
    peek,
    refuse_live_queue,
    signature,
)

if TYPE_CHECKING:
    from eda_cli.aws.clients import ClientFactory
    from eda_cli.core.dlq.model import (
        DLQ_SUFFIXES,
        FOUND_BY_EVENTBRIDGE,
        FOUND_BY_LAMBDA_ASYNC,
        FOUND_BY_LAMBDA_ON_FAILURE,
        FOUND_BY_MAPPING,
        FOUND_BY_NAME,
        FOUND_BY_PIPE,
        FOUND_BY_SNS,
        FOUND_BY_SQS,
        KINDS,
        NOT_A_DLQ,
        Dangling,
        Dlq,
        DlqScan,
        Elsewhere,
        Origins,
        Source,
        classify,
        named_like_dlq,
        sqs_source,
    )
    from eda_cli.core.dlq.origins import LAMBDA_FUNCTIONS, SERVICES, find_origins
    from eda_cli.core.dlq.report import DlqReport, InspectResult, depth_alarms, inspect, inspect_queues, oldest_ages
    from eda_cli.core.dlq.scan import dlqs_for, scan_dlqs
    from eda_cli.core.dlq.violations import check_messages

#: The rest is imported on first use (PEP 562): `eda redrive` needs the model, the origins and peek's constant, not
#: the scan, the report (CloudWatch metrics) or the schema checks, which cost start-up time to import.
_LAZY = {
    "ClientFactory": "eda_cli.aws.clients",
    "DLQ_SUFFIXES": "eda_cli.core.dlq.model",
    "FOUND_BY_EVENTBRIDGE": "eda_cli.core.dlq.model",
    "FOUND_BY_LAMBDA_ASYNC": "eda_cli.core.dlq.model",
    "FOUND_BY_LAMBDA_ON_FAILURE": "eda_cli.core.dlq.model",
    "FOUND_BY_MAPPING": "eda_cli.core.dlq.model",
    "FOUND_BY_NAME": "eda_cli.core.dlq.model",
    "FOUND_BY_PIPE": "eda_cli.core.dlq.model",
    "FOUND_BY_SNS": "eda_cli.core.dlq.model",
    "FOUND_BY_SQS": "eda_cli.core.dlq.model",
    "KINDS": "eda_cli.core.dlq.model",
    "NOT_A_DLQ": "eda_cli.core.dlq.model",
    "Dangling": "eda_cli.core.dlq.model",
    "Dlq": "eda_cli.core.dlq.model",
    "DlqScan": "eda_cli.core.dlq.model",
    "Elsewhere": "eda_cli.core.dlq.model",
    "Origins": "eda_cli.core.dlq.model",
    "Source": "eda_cli.core.dlq.model",
    "classify": "eda_cli.core.dlq.model",
    "named_like_dlq": "eda_cli.core.dlq.model",
    "sqs_source": "eda_cli.core.dlq.model",
    "LAMBDA_FUNCTIONS": "eda_cli.core.dlq.origins",
    "SERVICES": "eda_cli.core.dlq.origins",
    "find_origins": "eda_cli.core.dlq.origins",
    "DlqReport": "eda_cli.core.dlq.report",
    "InspectResult": "eda_cli.core.dlq.report",
    "depth_alarms": "eda_cli.core.dlq.report",
    "inspect": "eda_cli.core.dlq.report",
    "inspect_queues": "eda_cli.core.dlq.report",
    "oldest_ages": "eda_cli.core.dlq.report",
    "dlqs_for": "eda_cli.core.dlq.scan",
    "scan_dlqs": "eda_cli.core.dlq.scan",
    "check_messages": "eda_cli.core.dlq.violations",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "DLQ_SUFFIXES",
    "FOUND_BY_EVENTBRIDGE",
    "FOUND_BY_LAMBDA_ASYNC",
    "FOUND_BY_LAMBDA_ON_FAILURE",
    "FOUND_BY_MAPPING",
    "FOUND_BY_NAME",
    "FOUND_BY_PIPE",
    "FOUND_BY_SNS",
    "FOUND_BY_SQS",
    "KINDS",
    "LAMBDA_FUNCTIONS",
    "NOT_A_DLQ",
    "PEEK_VISIBILITY_SECONDS",
    "SERVICES",
    "BrowseStats",
    "ClientFactory",
    "Dangling",
    "Dlq",
    "DlqReport",
    "DlqScan",
    "Elsewhere",
    "Group",
    "InspectResult",
    "Origins",
    "PeekRefused",
    "PeekResult",
    "Source",
    "body_preview",
    "browse",
    "check_messages",
    "classify",
    "depth_alarms",
    "dlqs_for",
    "find_origins",
    "group_by_error",
    "inspect",
    "inspect_queues",
    "named_like_dlq",
    "oldest_ages",
    "peek",
    "refuse_live_queue",
    "scan_dlqs",
    "signature",
    "sqs_source",
]
