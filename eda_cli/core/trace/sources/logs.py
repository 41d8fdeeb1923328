"""CloudWatch Logs: FilterLogEvents per log group, or one Logs Insights query over up to 50 groups."""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING

from eda_cli.core.trace.match import mentions
from eda_cli.core.trace.model import LOGS, Hit, Place, epoch_of
from eda_cli.core.trace.sources.base import Clock, Found, Sleep, one_line, plural

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

#: Budget: a search stops there and says it did not read everything (`Place.complete` False).
LOG_HIT_BUDGET = 1_000
#: Logs Insights: groups per query (the API's limit), rows per query, and how long to wait.
INSIGHTS_GROUPS_PER_QUERY = 50
INSIGHTS_ROW_LIMIT = 10_000
INSIGHTS_TIMEOUT_SECONDS = 120.0


def quoted(correlation_id: str) -> str:
    return '"' + correlation_id.replace("\\", "\\\\").replace('"', '\\"') + '"'


def log_hit(group: str, epoch: float | None, message: str, stream: str | None, event_id: str | None,
            via: str) -> Hit:
    return Hit(
        epoch=epoch,
        source=LOGS,
        resource=group,
        summary=one_line(message),
        detail={"log_stream": stream, "event_id": event_id, "message": message.rstrip("\n"), "via": via},
    )


def search_log_group(
    logs: CloudWatchLogsClient,
    group: str,
    correlation_id: str,
    since: float,
    until: float,
    *,
    budget: int = LOG_HIT_BUDGET,
) -> Found:
    """FilterLogEvents with the quoted id over [since, until], every page; lines are checked again
    here (the id as a whole token), since an endpoint may not apply the filter pattern."""
    hits: list[Hit] = []
    pages = 0
    complete = True
    paginator = logs.get_paginator("filter_log_events")
    for page in paginator.paginate(
        logGroupName=group,
        filterPattern=quoted(correlation_id),
        startTime=int(since * 1000),
        endTime=int(until * 1000),
    ):
        pages += 1
        for event in page.get("events", []):
            text = str(event.get("message", ""))
            if not mentions(text, correlation_id):
                continue
            hits.append(log_hit(group, epoch_of(event.get("timestamp")), text, event.get("logStreamName"),
                                event.get("eventId"), "FilterLogEvents"))
        if len(hits) >= budget:
            complete = False
            break
    note = f"{plural(len(hits), 'line')} matched ({plural(pages, 'page')} of FilterLogEvents)"
    if not complete:
        note += f"; stopped at {budget} lines"
    return Found(hits=hits[:budget], places=[Place(LOGS, group, note, complete=complete)])


class InsightsFailed(Exception):
    pass


def insights_query(correlation_id: str) -> str:
    return (
        "fields @timestamp, @message, @logStream, @log"
        f" | filter @message like {quoted(correlation_id)}"
        f" | sort @timestamp asc | limit {INSIGHTS_ROW_LIMIT}"
    )


def search_insights(
    logs: CloudWatchLogsClient,
    groups: list[str],
    correlation_id: str,
    since: float,
    until: float,
    *,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    timeout: float = INSIGHTS_TIMEOUT_SECONDS,
) -> Found:
    """One Logs Insights query over up to 50 log groups; polls GetQueryResults until it completes."""
    query_id = logs.start_query(
        logGroupNames=groups,
        startTime=int(since),
        endTime=int(until) + 1,
        queryString=insights_query(correlation_id),
    )["queryId"]
    deadline = clock() + timeout
    delay = 0.5
    while True:
        answer = logs.get_query_results(queryId=query_id)
        status = str(answer.get("status", ""))
        if status == "Complete":
            break
        if status in ("Failed", "Cancelled", "Timeout", "Unknown"):
            raise InsightsFailed(f"the Logs Insights query ended {status.lower()}")
        if clock() >= deadline:
            with contextlib.suppress(Exception):  # best effort: the query stops by itself later
                logs.stop_query(queryId=query_id)
            raise InsightsFailed(f"the Logs Insights query did not finish within {timeout:g}s")
        sleep(delay)
        delay = min(delay * 2, 5.0)
    rows = answer.get("results", [])
    hits: list[Hit] = []
    counts = dict.fromkeys(groups, 0)
    for row in rows:
        fields = {str(f.get("field")): str(f.get("value", "")) for f in row}
        text = fields.get("@message", "")
        if not mentions(text, correlation_id):
            continue
        group = fields.get("@log", "")
        account, sep, rest = group.partition(":")
        if sep and account.isdigit():
            group = rest
        group = group or (groups[0] if len(groups) == 1 else "?")
        counts[group] = counts.get(group, 0) + 1
        hits.append(log_hit(group, epoch_of(fields.get("@timestamp")), text, fields.get("@logStream"),
                            fields.get("@ptr"), "Logs Insights"))
    complete = len(rows) < INSIGHTS_ROW_LIMIT
    places = [
        Place(LOGS, g, f"{plural(counts.get(g, 0), 'line')} matched (Logs Insights)"
              + ("" if complete else f"; the query hit its {INSIGHTS_ROW_LIMIT}-row limit"), complete=complete)
        for g in groups
    ]
    return Found(hits=hits, places=places)
