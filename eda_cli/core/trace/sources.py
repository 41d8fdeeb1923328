"""The searches: one function per kind of place, each returning what it found in a `Found`.

Every search reads only, with one exception that it undoes: SQS has no read-only receive, so a
queue is read with the `dlq peek` rules (each message hidden for PEEK_VISIBILITY_SECONDS while the
queue is read, then made visible again at once; nothing deleted; a queue with a RedrivePolicy is
refused unless forced, since every receive raises the receive count of its live messages).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eda_cli.aws.errors import is_client_error
from eda_cli.core.concurrency import map_bounded
from eda_cli.core.dlq import PEEK_VISIBILITY_SECONDS, BrowseStats, browse, named_like_dlq, refuse_live_queue
from eda_cli.core.records import item_to_plain
from eda_cli.core.sqs import Message, get_queue_info, parse_body
from eda_cli.core.trace.match import carries, match_message, mentions, powertools_hash
from eda_cli.core.trace.model import (
    IDEMPOTENCY,
    LOGS,
    SQS,
    STEPFUNCTIONS,
    STREAM,
    TABLE,
    Hit,
    Place,
    epoch_of,
    iso_from_epoch,
)

#: Budgets: a search stops there and says it did not read everything (`Place.complete` False).
QUEUE_MESSAGE_BUDGET = 10_000
LOG_HIT_BUDGET = 1_000
SCAN_ITEM_BUDGET = 100_000
STREAM_RECORD_BUDGET = 100_000
EXECUTION_BUDGET = 1_000
HISTORY_PAGE_BUDGET = 25
#: Logs Insights: groups per query (the API's limit), rows per query, and how long to wait.
INSIGHTS_GROUPS_PER_QUERY = 50
INSIGHTS_ROW_LIMIT = 10_000
INSIGHTS_TIMEOUT_SECONDS = 120.0
#: Receives in a row that bring nothing new before a queue counts as read.
EMPTY_RECEIVES = 3

Sleep = Callable[[float], None]
Clock = Callable[[], float]


@dataclass
class Found:
    """What one search found. Errors are raised, not returned: the engine turns them into entries."""

    hits: list[Hit] = field(default_factory=list)
    places: list[Place] = field(default_factory=list)
    skipped: list[Place] = field(default_factory=list)
    #: Idempotency tables read, for the lookup by message id that follows the first wave.
    tables: list[TableInfo] = field(default_factory=list)


def one_line(text: str, limit: int = 160) -> str:
    line = " ".join(text.strip().split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


# -- SQS ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueScan:
    name: str
    url: str
    seen: int
    visible_before: int | None
    in_flight_before: int | None
    receives: int
    matches: tuple[tuple[Message, tuple[str, ...]], ...]
    not_restored: tuple[str, ...] = ()
    has_redrive_policy: bool = False
    complete: bool = True


def scan_queue(
    sqs: Any,
    name: str,
    url: str,
    correlation_id: str,
    paths: tuple[str, ...],
    *,
    force: bool = False,
    budget: int = QUEUE_MESSAGE_BUDGET,
) -> QueueScan:
    """Read a whole queue for the id, with the `dlq peek` rules: never consume, put back at once.

    The reading is `core.dlq.browse` (when it stops, and why), up to `budget` messages; only
    matching messages are kept.
    """
    info = get_queue_info(sqs, url)
    if info.redrive_policy and not force:
        raise refuse_live_queue(name, info.max_receive_count)
    visible = info.int_attr("ApproximateNumberOfMessages")
    matches: list[tuple[Message, tuple[str, ...]]] = []
    stats = BrowseStats()
    with contextlib.closing(browse(sqs, url, limit=budget, visible=visible, stats=stats,
                                   empty_receives=EMPTY_RECEIVES)) as messages:
        for message in messages:
            where = match_message(message, correlation_id, paths)
            if where:
                matches.append((message, tuple(where)))
    return QueueScan(
        name=name,
        url=url,
        seen=stats.seen,
        visible_before=visible,
        in_flight_before=info.int_attr("ApproximateNumberOfMessagesNotVisible"),
        receives=stats.receives,
        matches=tuple(matches),
        not_restored=stats.not_restored,
        has_redrive_policy=bool(info.redrive_policy),
        complete=stats.seen < budget,
    )


def redrive_sources(sqs: Any, url: str) -> tuple[str, ...]:
    """Names of the queues whose RedrivePolicy targets this one (ListDeadLetterSourceQueues)."""
    from eda_cli.aws.resolve import queue_name_from_url

    names: list[str] = []
    for page in sqs.get_paginator("list_dead_letter_source_queues").paginate(QueueUrl=url):
        names.extend(queue_name_from_url(u) for u in page.get("queueUrls", []))
    return tuple(sorted(names))


def sqs_hit(queue: str, message: Message, where: tuple[str, ...], *, dlq: bool,
            sources: tuple[str, ...]) -> Hit:
    from eda_cli.core.sqs import unwrap_envelope

    count = message.receive_count
    error = message.error
    parts = [f"message {message.message_id}"]
    if count is not None:
        parts.append(plural(count, "receive"))
    if error and error.get("message"):
        parts.append(f"ErrorMessage {one_line(str(error['message']), 100)!r}")
    state = "dead-lettered" if dlq else "waiting"
    first = message.attributes.get("ApproximateFirstReceiveTimestamp")
    return Hit(
        epoch=epoch_of(message.attributes.get("SentTimestamp")),
        source=SQS,
        resource=queue,
        summary=f"{state}: " + ", ".join(parts),
        detail={
            "message_id": message.message_id,
            "dlq": dlq,
            "redrive_sources": list(sources),
            "sent_at": message.sent_at,
            "first_received_at": iso_from_epoch(epoch_of(first)) if first else None,
            "receive_count": count,
            "error": error,
            "matched": list(where),
            "body": unwrap_envelope(message.body),
            "message_attributes": message.message_attributes,
            "group_id": message.group_id,
            #: Filled after the idempotency lookup: "found", "none", or None when no table was read.
            "idempotency_record": None,
        },
    )


def search_queue(
    sqs: Any,
    name: str,
    url: str,
    correlation_id: str,
    paths: tuple[str, ...],
    *,
    force: bool,
    is_dlq: bool | None,
    sources: tuple[str, ...] | None,
    budget: int = QUEUE_MESSAGE_BUDGET,
) -> Found:
    scan = scan_queue(sqs, name, url, correlation_id, paths, force=force, budget=budget)
    note = f"{plural(scan.seen, 'message')} read"
    if scan.in_flight_before:
        note += f"; {scan.in_flight_before} in flight could not be read"
    if scan.not_restored:
        note += f"; {len(scan.not_restored)} could not be made visible again (they reappear within " \
                f"{PEEK_VISIBILITY_SECONDS}s)"
    complete = scan.complete
    if not scan.complete:
        note += f"; stopped at {budget} messages"
    elif name.endswith(".fifo") and scan.visible_before is not None and scan.seen < scan.visible_before:
        # SQS hands out no message of a group while an earlier one of that group is in flight.
        note += f" of {scan.visible_before}: a FIFO queue shows only the head of each message group " \
                "to a reader that does not delete"
        complete = False
    found = Found(places=[Place(SQS, name, note, complete=complete)])
    if scan.matches:
        if sources is None:
            sources = redrive_sources(sqs, url)
        if is_dlq is None:
            is_dlq = bool(sources) or (named_like_dlq(name) and not scan.has_redrive_policy)
        for message, where in scan.matches:
            found.hits.append(sqs_hit(name, message, where, dlq=is_dlq, sources=sources or ()))
    return found


# -- CloudWatch Logs ------------------------------------------------------------------------------


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
    logs: Any,
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
    logs: Any,
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


# -- DynamoDB: idempotency tables and items ------------------------------------------------------


@dataclass(frozen=True)
class TableInfo:
    name: str
    hash_key: str
    hash_type: str
    range_key: str | None = None
    range_type: str | None = None
    ttl_attribute: str | None = None


def describe_table(dynamodb: Any, name: str, ttl_attribute: str | None = None, *, with_ttl: bool = True) -> TableInfo:
    table = dynamodb.describe_table(TableName=name)["Table"]
    types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
    hash_key = range_key = None
    for key in table.get("KeySchema", []):
        if key.get("KeyType") == "HASH":
            hash_key = key["AttributeName"]
        elif key.get("KeyType") == "RANGE":
            range_key = key["AttributeName"]
    if ttl_attribute is None and with_ttl:
        ttl = dynamodb.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
        if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
            ttl_attribute = ttl.get("AttributeName")
    return TableInfo(
        name=name,
        hash_key=str(hash_key or ""),
        hash_type=types.get(str(hash_key), "S"),
        range_key=range_key,
        range_type=types.get(range_key) if range_key else None,
        ttl_attribute=ttl_attribute,
    )


#: Attributes that say when a record was written, in the order they are tried.
_WRITTEN_AT = ("processedAt", "processed_at", "completedAt", "completed_at", "createdAt", "created_at",
               "timestamp", "time")
#: Attributes that say who wrote a record.
_WRITTEN_BY = ("queue", "consumer", "function", "handler", "service")


def _number(value: Any) -> float | None:
    try:
        return float(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def record_hit(table: TableInfo, item: dict[str, Any], found_by: str, now: float) -> Hit:
    """An idempotency record, as Powertools writes it (`id`, `status`, `expiration`) or as a
    consumer with its own table does (a message id and a TTL attribute)."""
    key = item.get(table.hash_key)
    status = item.get("status")
    powertools = isinstance(status, str) and ("expiration" in item or table.hash_key == "id")
    expires = _number(item.get(table.ttl_attribute or "expiration"))
    if expires is None and table.ttl_attribute:
        expires = _number(item.get("expiration"))
    expired = expires is not None and expires < now
    written = next((epoch_of(item[k]) for k in _WRITTEN_AT if k in item and epoch_of(item[k])), None)
    by = next((str(item[k]) for k in _WRITTEN_BY if isinstance(item.get(k), str) and item[k]), None)
    if by is None and powertools and isinstance(key, str) and "#" in key:
        by = key.split("#", 1)[0]
    state = str(status).upper() if powertools else "PROCESSED"
    words = {"COMPLETED": "processed", "PROCESSED": "processed", "INPROGRESS": "in progress"}
    text = words.get(state, state.lower())
    if by:
        text += f" by {by}"
    text += f", {table.hash_key}={key}"
    lock_expired = False
    if state == "INPROGRESS":
        lock = _number(item.get("in_progress_expiration"))
        if lock is not None:
            lock_epoch = lock / 1000 if lock > 1e11 else lock
            lock_expired = lock_epoch < now
            if lock_expired:
                text += f"; its in-progress lock expired at {iso_from_epoch(lock_epoch)} (the handler crashed " \
                        "or timed out before completing)"
    if expires is not None:
        if expired:
            text += (f"; EXPIRED at {iso_from_epoch(expires)} but not yet deleted by DynamoDB's TTL "
                     "(a redelivery would be processed again)")
        else:
            text += f"; expires {iso_from_epoch(expires)}"
    return Hit(
        epoch=written,
        source=IDEMPOTENCY,
        resource=table.name,
        summary=text,
        detail={
            "key": {table.hash_key: key, **({table.range_key: item.get(table.range_key)} if table.range_key else {})},
            "status": state,
            "by": by,
            "written_at": iso_from_epoch(written),
            "expires_at": iso_from_epoch(expires),
            "expired": expired,
            "lock_expired": lock_expired,
            "format": "powertools" if powertools else "ttl-record",
            "found_by": found_by,
            "item": item,
        },
    )


def _record_carries(table: TableInfo, item: dict[str, Any], correlation_id: str) -> bool:
    key = item.get(table.hash_key)
    if isinstance(key, str) and key.endswith("#" + powertools_hash(correlation_id)):
        return True
    if isinstance(key, str) and mentions(key, correlation_id):
        return True
    return carries(item, correlation_id)


def search_idempotency_table(
    dynamodb: Any,
    name: str,
    correlation_id: str,
    paths: tuple[str, ...],
    *,
    ttl_attribute: str | None = None,
    now: float,
    budget: int = SCAN_ITEM_BUDGET,
) -> Found:
    """Records that carry the id: a Scan filtered on the key (the id itself, or the hash Powertools
    makes of it), the top-level id attributes, and Powertools' `data`. Records keyed by message id
    are looked up afterwards (`lookup_message_ids`), once the queues have named the messages."""
    table = describe_table(dynamodb, name, ttl_attribute)
    names: dict[str, str] = {}
    values: dict[str, Any] = {":cid": {"S": correlation_id}}
    clauses: list[str] = []
    if table.hash_type == "S":
        names["#k"] = table.hash_key
        values[":h"] = {"S": powertools_hash(correlation_id)}
        clauses += ["contains(#k, :cid)", "contains(#k, :h)"]
    attributes = [p for p in paths if "." not in p and p != table.hash_key]
    for i, attribute in enumerate(attributes):
        names[f"#a{i}"] = attribute
        clauses.append(f"#a{i} = :cid")
    names["#d"] = "data"
    clauses.append("contains(#d, :cid)")
    scanned = 0
    complete = True
    hits: list[Hit] = []
    kwargs: dict[str, Any] = {"TableName": name, "FilterExpression": " OR ".join(clauses),
                              "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}
    while True:
        page = dynamodb.scan(**kwargs)
        scanned += int(page.get("ScannedCount", 0))
        for raw in page.get("Items", []):
            item = item_to_plain(raw) or {}
            if _record_carries(table, item, correlation_id):
                hits.append(record_hit(table, item, "correlation id", now))
        last = page.get("LastEvaluatedKey")
        if not last:
            break
        if scanned >= budget:
            complete = False
            break
        kwargs["ExclusiveStartKey"] = last
    note = f"scanned {plural(scanned, 'item')}, {plural(len(hits), 'record')} carry the id"
    if not complete:
        note += f"; stopped after {budget} items"
    return Found(hits=hits, places=[Place(IDEMPOTENCY, name, note, complete=complete)], tables=[table])


def lookup_message_ids(dynamodb: Any, table: TableInfo, message_ids: list[str], now: float) -> list[Hit]:
    """Records keyed by these SQS message ids (BatchGetItem), for tables keyed by one string."""
    if table.hash_type != "S" or table.range_key or not message_ids:
        return []
    hits: list[Hit] = []
    unique = sorted(set(message_ids))
    for start in range(0, len(unique), 100):
        keys = [{table.hash_key: {"S": mid}} for mid in unique[start : start + 100]]
        request: dict[str, Any] = {table.name: {"Keys": keys}}
        for _ in range(5):
            answer = dynamodb.batch_get_item(RequestItems=request)
            for raw in answer.get("Responses", {}).get(table.name, []):
                item = item_to_plain(raw) or {}
                hits.append(record_hit(table, item, "message id", now))
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
        else:
            raise RuntimeError(f"DynamoDB left keys of {table.name} unprocessed after 5 attempts")
    return hits


def search_table_items(dynamodb: Any, name: str, correlation_id: str) -> Found:
    """Items whose partition key is the id: GetItem on a one-key table, Query on a two-key one."""
    table = describe_table(dynamodb, name, with_ttl=False)
    value: dict[str, str]
    if table.hash_type == "N":
        if _number(correlation_id) is None:
            return Found(places=[Place(TABLE, name, f"its key {table.hash_key} is a number: not looked up")])
        value = {"N": correlation_id}
    elif table.hash_type == "S":
        value = {"S": correlation_id}
    else:
        return Found(places=[Place(TABLE, name, f"its key {table.hash_key} is binary: not looked up")])
    items: list[dict[str, Any]] = []
    if table.range_key is None:
        answer = dynamodb.get_item(TableName=name, Key={table.hash_key: value})
        if answer.get("Item"):
            items.append(answer["Item"])
        how = "GetItem"
    else:
        answer = dynamodb.query(TableName=name, KeyConditionExpression="#k = :v",
                                ExpressionAttributeNames={"#k": table.hash_key},
                                ExpressionAttributeValues={":v": value}, Limit=100)
        items.extend(answer.get("Items", []))
        how = "Query"
    hits = []
    for raw in items:
        item = item_to_plain(raw) or {}
        written = next((epoch_of(item[k]) for k in _WRITTEN_AT if k in item and epoch_of(item[k])), None)
        keys = {table.hash_key: item.get(table.hash_key)}
        if table.range_key:
            keys[table.range_key] = item.get(table.range_key)
        text = "item " + ", ".join(f"{k}={v}" for k, v in keys.items())
        if isinstance(item.get("status"), str):
            text += f", status {item['status']}"
        hits.append(Hit(written, TABLE, name, text, {"key": keys, "item": item}))
    return Found(hits=hits, places=[Place(TABLE, name, f"{how} by {table.hash_key}: {plural(len(hits), 'item')}")])


# -- DynamoDB streams -----------------------------------------------------------------------------


def _change_text(change: Any) -> str:
    keys = ", ".join(f"{k}={v}" for k, v in change.keys.items())
    text = f"{change.event} {keys}"
    if change.event == "MODIFY" and change.changed:
        diffs = []
        for name in change.changed[:3]:
            old = (change.old or {}).get(name)
            new = (change.new or {}).get(name)
            diffs.append(f"{name} {old} -> {new}")
        text += ": " + "; ".join(diffs)
    if change.ttl_expiry:
        text += " (TTL expiry)"
    return text


def search_stream(
    streams: Any,
    table: str,
    stream_arn: str,
    correlation_id: str,
    since: float,
    *,
    budget: int = STREAM_RECORD_BUDGET,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
) -> Found:
    """Every record still in the stream (24 hours) written since `since` whose keys or images carry
    the id, read with `eda stream`'s puller (every shard, parents first) without following."""
    from eda_cli.core.streams import Notice, StreamTail, TailOptions

    tail = StreamTail(streams, stream_arn, TailOptions(start="trim-horizon", since=since, follow=False, poll=0.2),
                      sleep=sleep, clock=clock)
    hits: list[Hit] = []
    notes: list[str] = []
    complete = True
    try:
        for item in tail:
            if isinstance(item, Notice):
                if item.level == "warning":
                    notes.append(item.message)
                continue
            if carries(item.keys, correlation_id) or carries(item.new, correlation_id) \
                    or carries(item.old, correlation_id):
                hits.append(Hit(item.epoch, STREAM, table, _change_text(item), item.to_dict()))
            if tail.records_read >= budget:
                complete = False
                break
    finally:
        tail.close()
    note = f"{plural(tail.records_read, 'record')} read"
    if not complete:
        note += f"; stopped at {budget} records"
    if notes:
        note += "; " + "; ".join(notes)
    return Found(hits=hits, places=[Place(STREAM, table, note, complete=complete)])


# -- Step Functions -------------------------------------------------------------------------------


def _details(event: dict[str, Any]) -> dict[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


_EXECUTION_END = ("ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted")


def failure_of(sfn: Any, execution_arn: str, page_budget: int = HISTORY_PAGE_BUDGET) -> dict[str, Any]:
    """The first state that failed (a Task/Lambda/Map... failure, caught or not), with its error and
    cause; else the state the execution ended in and the execution's own error."""
    current: str | None = None
    first: dict[str, Any] | None = None
    last: dict[str, Any] = {}
    pager = sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn, includeExecutionData=True)
    for pages, page in enumerate(pager, start=1):
        for event in page.get("events", []):
            kind = str(event.get("type", ""))
            details = _details(event)
            if kind.endswith("StateEntered"):
                current = details.get("name")
            elif kind in _EXECUTION_END:
                last = {"state": current, "error": details.get("error") or kind, "cause": details.get("cause")}
            elif first is None and (kind.endswith("Failed") or kind.endswith("TimedOut")):
                first = {"state": current, "error": details.get("error") or kind, "cause": details.get("cause")}
        if pages >= page_budget:
            break
    return first or last


def search_state_machine(
    sfn: Any,
    name: str,
    arn: str,
    correlation_id: str,
    since: float,
    *,
    budget: int = EXECUTION_BUDGET,
    concurrency: int = 8,
) -> Found:
    """Executions started since `since` (ListExecutions is newest first) whose name or input carries
    the id; the failing state and error of those that did not succeed."""
    listed: list[dict[str, Any]] = []
    complete = True
    try:
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
            older = False
            for execution in page.get("executions", []):
                started = epoch_of(execution.get("startDate"))
                if started is not None and started < since:
                    older = True
                    break
                listed.append(execution)
            if older:
                break
            if len(listed) >= budget:
                complete = False
                break
    except Exception as exc:
        if is_client_error(exc, "StateMachineTypeNotSupported"):
            return Found(skipped=[Place(STEPFUNCTIONS, name, skipped="an Express state machine keeps no execution "
                                        "list: search its log group instead")])
        raise
    listed = listed[:budget]

    def inspect(execution: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
        exec_name = str(execution.get("name", ""))
        if exec_name == correlation_id or mentions(exec_name, correlation_id):
            return sfn.describe_execution(executionArn=execution["executionArn"]), "name"
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        raw = described.get("input") or ""
        if raw and (carries(parse_body(raw), correlation_id) or mentions(raw, correlation_id)):
            return described, "input"
        return None

    hits: list[Hit] = []
    for outcome in map_bounded(inspect, listed, concurrency):
        if outcome.error is not None:
            if is_client_error(outcome.error, "ExecutionDoesNotExist"):
                continue
            raise outcome.error
        if outcome.value is None:
            continue
        described, matched = outcome.value
        status = str(described.get("status", ""))
        failure: dict[str, Any] = {}
        if status in ("FAILED", "TIMED_OUT", "ABORTED"):
            failure = failure_of(sfn, described["executionArn"])
            failure.setdefault("error", described.get("error"))
            failure.setdefault("cause", described.get("cause"))
        text = f"execution {described.get('name')} {status}"
        if failure.get("state"):
            text += f" at {failure['state']}"
        if failure.get("error"):
            text += f": {failure['error']}"
        if failure.get("cause"):
            text += f" ({one_line(str(failure['cause']), 80)})"
        input_doc = parse_body(described.get("input") or "")
        hits.append(Hit(
            epoch_of(described.get("startDate")),
            STEPFUNCTIONS,
            name,
            text,
            {
                "execution_arn": described.get("executionArn"),
                "name": described.get("name"),
                "status": status,
                "started_at": iso_from_epoch(epoch_of(described.get("startDate"))),
                "stopped_at": iso_from_epoch(epoch_of(described.get("stopDate"))),
                "matched": matched,
                "failed_state": failure.get("state"),
                "error": failure.get("error"),
                "cause": failure.get("cause"),
                "input": input_doc,
            },
        ))
    note = f"{plural(len(listed), 'execution')} since the start of the window"
    if not complete:
        note += f"; stopped at {budget}"
    return Found(hits=hits, places=[Place(STEPFUNCTIONS, name, note, complete=complete)])


#: Words that mark a log line as an error, for the verdict.
ERROR_LINE = re.compile(r"\b(ERROR|Error|Exception|Traceback|FATAL|CRITICAL|failed|Task timed out)\b")
