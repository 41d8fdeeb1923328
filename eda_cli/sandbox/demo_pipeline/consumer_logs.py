"""What the demo's consumers would have logged, written to CloudWatch Logs for `eda trace` to find."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from eda_cli.aws.errors import is_client_error
from eda_cli.sandbox.demo_pipeline.spec import (
    FANOUT_QUEUES,
    IDEMPOTENCY_TABLE,
    LAMBDA_FAILURES,
    LEGACY,
    MAX_RECEIVE_COUNT,
    ORDERS,
    POISON,
)
from eda_cli.sandbox.demo_pipeline.traffic import iso

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

#: The log groups of the demo's consumers, by the queue they consume ("notify" is the notify
#: Lambda, whose failed async invocations fill notify-lambda-dlq). The seed writes what each
#: consumer would have logged: a line per message processed, an ERROR line per failed attempt.
CONSUMER_LOG_GROUPS: dict[str, str] = {
    **{queue: f"/aws/lambda/{queue}-consumer" for queue in FANOUT_QUEUES},
    "notify": "/aws/lambda/notify",
}


def _consumer_error(queue: str, index: int) -> str | None:
    """Why the consumer of `queue` failed on order number `index` (None: it processed it)."""
    _order_id, amount, _region, sku, email = ORDERS[index - 1]
    if queue == "payments" and isinstance(amount, str):
        return f"ValueError: amount {amount!r} is not a number"
    if queue == "inventory" and f"corr-{index:04d}" in POISON["inventory-dlq"]:
        return f"LookupError: unknown SKU {sku!r}"
    if queue == "notifications" and email is None:
        return "KeyError: 'email'"
    return None


def write_consumer_logs(logs: CloudWatchLogsClient, clock: Callable[[], float]) -> int:
    """Write the consumers' log lines (CONSUMER_LOG_GROUPS); returns how many. Called with the traffic."""
    lines: dict[str, list[str]] = {group: [] for group in CONSUMER_LOG_GROUPS.values()}
    for queue in FANOUT_QUEUES:
        logged = lines[CONSUMER_LOG_GROUPS[queue]]
        for index, row in enumerate(ORDERS, start=1):
            corr, error = f"corr-{index:04d}", _consumer_error(queue, index)
            if error is None:
                logged.append(f"INFO processed {corr} (order {row[0]}): recorded in {IDEMPOTENCY_TABLE}")
            else:
                logged += [f"ERROR processing {corr} (order {row[0]}): {error} (attempt {n} of {MAX_RECEIVE_COUNT})"
                          for n in range(1, MAX_RECEIVE_COUNT + 1)]
    for order_id, corr, _cents in LEGACY:
        lines[CONSUMER_LOG_GROUPS["payments"]] += [
            f"ERROR processing {corr} (order {order_id}): KeyError: 'amount' (a v1 message: total_cents, "
            f"no amount) (attempt {n} of {MAX_RECEIVE_COUNT})" for n in range(1, MAX_RECEIVE_COUNT + 1)]
    for order_id, corr, error in LAMBDA_FAILURES:  # an async invocation is tried three times
        lines[CONSUMER_LOG_GROUPS["notify"]] += [
            f"ERROR sending order-confirmation for {corr} (order {order_id}): {error} (attempt {n} of 3)"
            for n in range(1, 4)]
    start = int(clock() * 1000)
    stream = f"{iso(clock())[:10].replace('-', '/')}/[$LATEST]{uuid.uuid5(uuid.NAMESPACE_URL, 'eda-demo').hex}"
    for group, messages in lines.items():
        _create(logs.create_log_group, logGroupName=group)
        _create(logs.create_log_stream, logGroupName=group, logStreamName=stream)
        logs.put_log_events(logGroupName=group, logStreamName=stream,
                            logEvents=[{"timestamp": start + i, "message": m} for i, m in enumerate(messages)])
    return sum(len(m) for m in lines.values())


def _create(create: Callable[..., object], **names: str) -> None:
    """CreateLogGroup or CreateLogStream; one that exists already is fine (a second seed)."""
    from botocore.exceptions import ClientError

    try:
        create(**names)
    except ClientError as exc:
        if not is_client_error(exc, "ResourceAlreadyExistsException"):
            raise
