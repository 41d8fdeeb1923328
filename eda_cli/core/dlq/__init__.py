"""Dead-letter queues: find them (from configuration, else by name), measure them, and peek at their
messages without consuming them.

Modules: `model` (Source, Dlq, the FOUND_BY_* kinds), `origins` (what SNS, EventBridge, Lambda and Pipes
name as a DLQ), `scan` (`scan_dlqs`, `dlqs_for`), `report` (`inspect`: depth, age, alarms, retention), `peek`
(`browse`, `peek`, grouping by error), `violations` (peeked
messages against an event schema, and their sizes).
"""

from __future__ import annotations

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
from eda_cli.core.dlq.report import DlqReport, InspectResult, depth_alarms, inspect, inspect_queues, oldest_ages
from eda_cli.core.dlq.scan import dlqs_for, scan_dlqs
from eda_cli.core.dlq.violations import check_messages

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
