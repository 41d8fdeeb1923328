"""The searches: one module per kind of place, each search returning what it found in a `Found`.

Every search reads only, with one exception that it undoes: SQS has no read-only receive, so a
queue is read with the `dlq peek` rules (each message hidden for PEEK_VISIBILITY_SECONDS while the
queue is read, then made visible again at once; nothing deleted; a queue with a RedrivePolicy is
refused unless forced, since every receive raises the receive count of its live messages).

Budgets: a search stops at its budget (`QUEUE_MESSAGE_BUDGET`, `LOG_HIT_BUDGET`, ...) and says it
did not read everything (`Place.complete` False).
"""

from __future__ import annotations

from eda_cli.core.trace.sources.base import ERROR_LINE, Clock, Found, Sleep, one_line, plural
from eda_cli.core.trace.sources.dynamodb import (
    SCAN_ITEM_BUDGET,
    TableInfo,
    describe_table,
    lookup_message_ids,
    record_hit,
    search_idempotency_table,
    search_table_items,
)
from eda_cli.core.trace.sources.logs import (
    INSIGHTS_GROUPS_PER_QUERY,
    INSIGHTS_ROW_LIMIT,
    INSIGHTS_TIMEOUT_SECONDS,
    LOG_HIT_BUDGET,
    InsightsFailed,
    insights_query,
    log_hit,
    quoted,
    search_insights,
    search_log_group,
)
from eda_cli.core.trace.sources.sqs import (
    EMPTY_RECEIVES,
    QUEUE_MESSAGE_BUDGET,
    QueueScan,
    redrive_sources,
    scan_queue,
    search_queue,
    sqs_hit,
)
from eda_cli.core.trace.sources.stepfunctions import (
    EXECUTION_BUDGET,
    HISTORY_PAGE_BUDGET,
    failure_of,
    search_state_machine,
)
from eda_cli.core.trace.sources.streams import STREAM_RECORD_BUDGET, search_stream

__all__ = [
    "EMPTY_RECEIVES",
    "ERROR_LINE",
    "EXECUTION_BUDGET",
    "HISTORY_PAGE_BUDGET",
    "INSIGHTS_GROUPS_PER_QUERY",
    "INSIGHTS_ROW_LIMIT",
    "INSIGHTS_TIMEOUT_SECONDS",
    "LOG_HIT_BUDGET",
    "QUEUE_MESSAGE_BUDGET",
    "SCAN_ITEM_BUDGET",
    "STREAM_RECORD_BUDGET",
    "Clock",
    "Found",
    "InsightsFailed",
    "QueueScan",
    "Sleep",
    "TableInfo",
    "describe_table",
    "failure_of",
    "insights_query",
    "log_hit",
    "lookup_message_ids",
    "one_line",
    "plural",
    "quoted",
    "record_hit",
    "redrive_sources",
    "scan_queue",
    "search_idempotency_table",
    "search_insights",
    "search_log_group",
    "search_queue",
    "search_state_machine",
    "search_stream",
    "search_table_items",
    "sqs_hit",
]
