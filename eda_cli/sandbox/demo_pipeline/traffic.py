"""The demo's traffic: orders published and put on the bus, a legacy producer, table writes, and the
fan-out consumers that process the healthy messages and fail on the poison ones until SQS dead-letters them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from eda_cli.aws.errors import is_client_error
from eda_cli.sandbox.demo_pipeline.spec import (
    BUS,
    CANCELLED,
    EVENT_SOURCE,
    FANOUT_QUEUES,
    IDEMPOTENCY_TABLE,
    IDEMPOTENCY_TTL_SECONDS,
    LAMBDA_DLQ,
    LAMBDA_FAILURES,
    LEGACY,
    LEGACY_CARDS,
    MAX_RECEIVE_COUNT,
    ORDERS,
    ORDERS_TABLE,
    POISON,
    STATUS_UPDATES,
)
from eda_cli.sandbox.server import SandboxError

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef, MessageTypeDef


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def order_document(index: int, row: tuple[str, Any, str, str, str | None], created: float) -> dict[str, Any]:
    """The demo's order document `index` (its correlation id is corr-NNNN) from a row of spec.ORDERS."""
    order_id, amount, region, sku, email = row
    order: dict[str, Any] = {
        "orderId": order_id,
        "correlationId": f"corr-{index:04d}",
        "customerId": f"cust-{200 + index}",
        "amount": amount,
        "currency": "EUR" if region == "EU" else "USD",
        "region": region,
        "items": [{"sku": sku, "qty": 1 + index % 3}],
        "createdAt": iso(created),
    }
    if email is not None:
        order["email"] = email
    return order


def run_traffic(
    sqs: SQSClient,
    sns: SNSClient,
    events: EventBridgeClient,
    dynamodb: DynamoDBClient,
    made: dict[str, tuple[str, str]],
    topic_arn: str,
    clock: Callable[[], float],
) -> tuple[int, int, dict[str, int]]:
    """Send the demo's traffic and run its consumers: (messages sent, records written, oldest
    SentTimestamp in ms per DLQ filled)."""
    now = clock()
    orders = [order_document(i, row, now - 60 * (len(ORDERS) - i)) for i, row in enumerate(ORDERS, start=1)]
    sent = 0

    # 1. Fan-out: SNS wraps each order in its envelope (RawMessageDelivery is false).
    for order in orders:
        sns.publish(
            TopicArn=topic_arn,
            Message=json.dumps(order),
            MessageAttributes={
                "eventType": {"DataType": "String", "StringValue": "order.created"},
                "schemaVersion": {"DataType": "Number", "StringValue": "2"},
                "correlationId": {"DataType": "String", "StringValue": order["correlationId"]},
            },
        )
        sent += 1

    # 2. The event bus: every order, and two cancellations.
    entries: list[Any] = [
        {"Source": EVENT_SOURCE, "DetailType": "order.created", "Detail": json.dumps(o), "EventBusName": BUS}
        for o in orders
    ]
    entries += [
        {
            "Source": EVENT_SOURCE,
            "DetailType": "order.cancelled",
            "Detail": json.dumps({"orderId": oid, "correlationId": corr, "reason": reason}),
            "EventBusName": BUS,
        }
        for oid, corr, reason in CANCELLED
    ]
    for batch in _chunks(entries, 10):
        answer = events.put_events(Entries=batch)
        if answer.get("FailedEntryCount"):
            raise SandboxError(f"the demo's PutEvents failed for {answer['FailedEntryCount']} event(s)")
        sent += len(batch)

    # 3. A legacy producer writes v1 messages straight to the payments queue, typed attributes and all.
    for order_id, corr, cents in LEGACY:
        sqs.send_message(
            QueueUrl=made["payments"][0],
            MessageBody=json.dumps(
                {"order_id": order_id, "total_cents": cents, "cust": "c-77", "v": 1, "correlationId": corr,
                 "card": {"number": LEGACY_CARDS[order_id], "expiry": "12/29"}}
            ),
            MessageAttributes=_legacy_attributes(cents),
        )
        sent += 1

    # 4. Change data capture: the orders table's writes become INSERT, MODIFY and REMOVE records.
    for order in orders:
        amount = order["amount"]
        item: dict[str, Any] = {
            "order_id": {"S": order["orderId"]},
            "correlationId": {"S": order["correlationId"]},
            "amount": {"N": str(amount)} if isinstance(amount, (int, float)) else {"S": str(amount)},
            "region": {"S": order["region"]},
            "status": {"S": "CREATED"},
            "createdAt": {"S": order["createdAt"]},
        }
        dynamodb.put_item(TableName=ORDERS_TABLE, Item=item)
    for order_id, status in STATUS_UPDATES:
        dynamodb.update_item(
            TableName=ORDERS_TABLE,
            Key={"order_id": {"S": order_id}},
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": status}},
        )
    dynamodb.put_item(
        TableName=ORDERS_TABLE, Item={"order_id": {"S": "o-smoke-test"}, "status": {"S": "TEST"}}
    )
    dynamodb.delete_item(TableName=ORDERS_TABLE, Key={"order_id": {"S": "o-smoke-test"}})

    # 5. The fan-out consumers: process and delete, or fail until SQS dead-letters the message.
    records = 0
    oldest: dict[str, int] = {}
    for queue in FANOUT_QUEUES:
        dlq = f"{queue}-dlq"
        written, first = _consume(sqs, dynamodb, queue, made[queue][0], set(POISON[dlq]), clock)
        records += written
        if first is not None:
            oldest[dlq] = first

    # 6. The notify Lambda's failed async invocations, as Lambda sends them to its DLQ.
    for order_id, corr, error in LAMBDA_FAILURES:
        sqs.send_message(
            QueueUrl=made[LAMBDA_DLQ][0],
            MessageBody=json.dumps(
                {"orderId": order_id, "correlationId": corr, "template": "order-confirmation"}
            ),
            MessageAttributes={
                "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid5(uuid.NAMESPACE_URL, corr))},
                "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                "ErrorMessage": {"DataType": "String", "StringValue": error},
            },
        )
        sent += 1
    first = oldest_sent(sqs, made[LAMBDA_DLQ][0])
    if first is not None:
        oldest[LAMBDA_DLQ] = first
    return sent, records, oldest


def _legacy_attributes(cents: int) -> dict[str, MessageAttributeValueTypeDef]:
    return {
        "tenant": {"DataType": "String.tenant", "StringValue": "acme"},
        "amount": {"DataType": "Number.float", "StringValue": f"{cents / 100:.2f}"},
        "schemaVersion": {"DataType": "Number", "StringValue": "1"},
        "signature": {"DataType": "Binary", "BinaryValue": uuid.uuid5(uuid.NAMESPACE_OID, str(cents)).bytes},
    }


def _correlation_id(message: MessageTypeDef) -> str:
    try:
        body = json.loads(message.get("Body", ""))
        if isinstance(body, dict) and body.get("Type") == "Notification" and "Message" in body:
            body = json.loads(body["Message"])
        return str(body.get("correlationId", "")) if isinstance(body, dict) else ""
    except ValueError:
        return ""


def _consume(
    sqs: SQSClient,
    dynamodb: DynamoDBClient,
    queue: str,
    url: str,
    poison: set[str],
    clock: Callable[[], float],
) -> tuple[int, int | None]:
    """Drain a queue like a consumer would: (idempotency records written, oldest poison SentTimestamp).

    Healthy messages are recorded and deleted; poison ones are left to become visible again
    (VisibilityTimeout 0), so each pass raises their receive count until SQS moves them to the
    DLQ, at the receive after maxReceiveCount.
    """
    from botocore.exceptions import ClientError

    records = 0
    oldest: int | None = None
    # Each pass sees every visible message up to 10; a poison message needs maxReceiveCount + 1.
    for _ in range(4 * (MAX_RECEIVE_COUNT + 2)):
        messages = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=0,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return records, oldest
        for message in messages:
            if _correlation_id(message) in poison:
                sent_at = int(message.get("Attributes", {}).get("SentTimestamp", "0"))
                oldest = sent_at if oldest is None else min(oldest, sent_at)
                continue
            try:
                dynamodb.put_item(
                    TableName=IDEMPOTENCY_TABLE,
                    Item={
                        "messageId": {"S": message["MessageId"]},
                        "ttl": {"N": str(int(clock()) + IDEMPOTENCY_TTL_SECONDS)},
                        "queue": {"S": queue},
                        "correlationId": {"S": _correlation_id(message)},
                        "processedAt": {"S": iso(clock())},
                    },
                    ConditionExpression="attribute_not_exists(messageId)",
                )
                records += 1
            except ClientError as exc:
                if not is_client_error(exc, "ConditionalCheckFailedException"):
                    raise
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    raise SandboxError(f"the demo consumer could not drain the queue {queue}")


def oldest_sent(sqs: SQSClient, url: str) -> int | None:
    """The oldest SentTimestamp (ms) among a small queue's messages.

    Receives with VisibilityTimeout 0, which leaves the messages visible but raises their
    ApproximateReceiveCount by one, as any peek does in AWS.
    """
    messages = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["SentTimestamp"]
    ).get("Messages", [])
    stamps = [int(m.get("Attributes", {}).get("SentTimestamp", "0")) for m in messages]
    return min(stamps) if stamps else None


def put_age_metrics(cloudwatch: CloudWatchClient, oldest: dict[str, int], now: float) -> None:
    """What CloudWatch would show for AWS/SQS ApproximateAgeOfOldestMessage (moto publishes none)."""
    if not oldest:
        return
    cloudwatch.put_metric_data(
        Namespace="AWS/SQS",
        MetricData=[
            {
                "MetricName": "ApproximateAgeOfOldestMessage",
                "Dimensions": [{"Name": "QueueName", "Value": dlq}],
                "Timestamp": datetime.fromtimestamp(now, timezone.utc),
                "Value": max(0.0, now - sent_ms / 1000),
                "Unit": "Seconds",
            }
            for dlq, sent_ms in sorted(oldest.items())
        ],
    )


def _chunks(items: Sequence[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
