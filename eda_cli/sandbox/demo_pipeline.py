"""The demo pipeline the sandbox is seeded with: an order system built on the five patterns.

    orders (SNS) ──> inventory ──> inventory-dlq          1. fan-out, a DLQ per queue, DLQ alarms
               ├──> payments ───> payments-dlq
               └──> notifications ──> notifications-dlq
    orders-bus (EventBridge)                              2. content-based routing
        high-value-orders (order.created, amount > 1000) ──> fraud-review ──> fraud-review-dlq
        eu-orders         (order.created, region = EU)   ──> eu-fulfilment ──> eu-fulfilment-dlq
        cancelled-orders  (order.cancelled)              ──> cancellations (no DLQ: an audit finding)
    orders (DynamoDB, NEW_AND_OLD_IMAGES stream)          3. change data capture
    orders-idempotency (DynamoDB, TTL on `ttl`)           5. idempotent consumers
    notify-lambda-dlq                                     a Lambda's async on-failure DLQ

Deliberate misconfigurations, for `eda audit` to catch (see MISCONFIGURED):
    cancelled-orders' target has no DeadLetterConfig (the other two targets have one, and a RetryPolicy)
    shipping, subscribed to orders, still allows only the retired topic orders-v1 to send to it (nothing
        arrives in AWS) and has maxReceiveCount 10; its DLQ shipping-dlq has no alarm
    legacy-idempotency (DynamoDB) is an idempotency table without TTL

Then traffic, as it would flow in AWS: orders are published to the topic and put on the bus, the
fan-out consumers process their queues (deleting what they handled and recording it in the
idempotency table) and fail on the poison messages, which SQS moves to the DLQs once they are
received more than maxReceiveCount times. The event-bus queues keep their events: their
consumers have not run yet.

Every message body carries a `correlationId` (corr-0001 ...); see POISON for where the poison
messages end up.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from eda_cli.sandbox.server import SandboxError

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import RetryPolicyTypeDef, TargetTypeDef
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef, MessageTypeDef

TOPIC = "orders"
BUS = "orders-bus"
ORDERS_TABLE = "orders"
IDEMPOTENCY_TABLE = "orders-idempotency"
LAMBDA_DLQ = "notify-lambda-dlq"
FANOUT_QUEUES = ("inventory", "payments", "notifications")
EVENT_SOURCE = "shop.orders"

MAX_RECEIVE_COUNT = 3
#: The misconfigured slice: a queue set up in a hurry, and an idempotency table nobody expires.
SHIPPING_QUEUE = "shipping"
SHIPPING_DLQ = "shipping-dlq"
SHIPPING_MAX_RECEIVE_COUNT = 10
#: The topic shipping's access policy still names (it was renamed to `orders`).
RETIRED_TOPIC = "orders-v1"
LEGACY_IDEMPOTENCY_TABLE = "legacy-idempotency"
#: The RetryPolicy of the well-configured rule targets.
TARGET_RETRY_POLICY: RetryPolicyTypeDef = {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 3600}
SOURCE_RETENTION_SECONDS = 4 * 24 * 3600  # 345600
DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # 1209600: longer than the source's, so nothing expires on the way
IDEMPOTENCY_TTL_SECONDS = 24 * 3600


@dataclass(frozen=True)
class _Rule:
    name: str
    description: str
    pattern: dict[str, Any]
    queue: str
    dlq: str | None


RULES: tuple[_Rule, ...] = (
    _Rule(
        "high-value-orders",
        "Orders over 1000 go to fraud review",
        {
            "source": [EVENT_SOURCE],
            "detail-type": ["order.created"],
            "detail": {"amount": [{"numeric": [">", 1000]}]},
        },
        "fraud-review",
        "fraud-review-dlq",
    ),
    _Rule(
        "eu-orders",
        "EU orders go to the EU fulfilment centre",
        {"source": [EVENT_SOURCE], "detail-type": ["order.created"], "detail": {"region": ["EU"]}},
        "eu-fulfilment",
        "eu-fulfilment-dlq",
    ),
    _Rule(
        "cancelled-orders",
        "Cancellations",
        {"source": [EVENT_SOURCE], "detail-type": ["order.cancelled"]},
        "cancellations",
        None,
    ),
)

#: What `eda audit` finds in the demo pipeline on purpose: (rule id, resource).
MISCONFIGURED: tuple[tuple[str, str], ...] = (
    ("sqs-redrive-policy", "cancellations"),
    ("events-target-dlq", "orders-bus/cancelled-orders -> cancellations"),
    ("sqs-dlq-alarm", SHIPPING_DLQ),
    ("sqs-max-receive-count", SHIPPING_QUEUE),
    ("sns-queue-policy", f"{TOPIC} -> {SHIPPING_QUEUE}"),
    ("dynamodb-idempotency-ttl", LEGACY_IDEMPOTENCY_TABLE),
)

#: The correlation ids of the poison messages, by the DLQ they end up in.
POISON: dict[str, tuple[str, ...]] = {
    # SNS envelopes whose order has a non-numeric amount, and raw messages of a legacy v1 producer.
    "payments-dlq": ("corr-0006", "corr-0009", "corr-0015", "corr-0016"),
    # Orders for SKUs the inventory service does not know.
    "inventory-dlq": ("corr-0008", "corr-0010"),
    # An order without a customer email.
    "notifications-dlq": ("corr-0007",),
    # The notify Lambda's failed async invocations (two timeouts, one KeyError).
    LAMBDA_DLQ: ("corr-0002", "corr-0007", "corr-0011"),
}

# orderId, amount (a string is poison for payments), region, sku, email
_ORDERS: tuple[tuple[str, Any, str, str, str | None], ...] = (
    ("o-1001", 250.00, "US", "SKU-100", "ana@example.com"),
    ("o-1002", 1499.99, "EU", "SKU-220", "ben@example.com"),
    ("o-1003", 89.50, "EU", "SKU-100", "chloe@example.com"),
    ("o-1004", 2300, "US", "SKU-310", "dev@example.com"),
    ("o-1005", 42, "US", "SKU-100", "eli@example.com"),
    ("o-1006", "12,50", "EU", "SKU-220", "fay@example.com"),
    ("o-1007", 175, "US", "SKU-310", None),
    ("o-1008", 610, "EU", "SKU-404", "gus@example.com"),
    ("o-1009", "1.200,00", "EU", "SKU-100", "hana@example.com"),
    ("o-1010", 95, "EU", "SKU-999", "ivo@example.com"),
    ("o-1011", 330, "US", "SKU-220", "jo@example.com"),
    ("o-1012", 5000, "EU", "SKU-310", "kai@example.com"),
)
_CANCELLED = (("o-1003", "corr-0013", "customer request"), ("o-1011", "corr-0014", "payment declined"))
_LEGACY = (("o-0998", "corr-0015", 129900), ("o-0999", "corr-0016", 4550))
_LAMBDA_FAILURES = (
    ("o-1002", "corr-0002", "Task timed out after 3.00 seconds"),
    ("o-1007", "corr-0007", "KeyError: 'email'"),
    ("o-1011", "corr-0011", "Task timed out after 3.00 seconds"),
)
_STATUS_UPDATES = (("o-1001", "PAID"), ("o-1002", "PAID"), ("o-1003", "CANCELLED"), ("o-1011", "CANCELLED"))


@dataclass(frozen=True)
class DemoQueue:
    """One SQS queue of the demo, and how many messages it held when the seed finished."""

    name: str
    url: str
    arn: str
    #: "source", "dlq" (a RedrivePolicy points at it) or "lambda-dlq" (a Lambda's on-failure DLQ).
    role: str
    #: ApproximateNumberOfMessages after seeding.
    messages: int
    #: For a source queue: its DLQ's name.
    dlq: str | None = None
    max_receive_count: int | None = None
    #: For a DLQ: the correlation ids of the poison messages the demo puts there.
    correlation_ids: tuple[str, ...] = ()
    alarm: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "arn": self.arn,
            "role": self.role,
            "messages": self.messages,
            "dlq": self.dlq,
            "max_receive_count": self.max_receive_count,
            "correlation_ids": list(self.correlation_ids),
            "alarm": self.alarm,
        }


@dataclass(frozen=True)
class DemoPipeline:
    """What `seed_demo` created, and the state it left the queues in."""

    region: str
    queues: tuple[DemoQueue, ...]
    topic_arn: str
    subscription_arns: tuple[str, ...]
    bus_name: str
    bus_arn: str
    rule_names: tuple[str, ...]
    table_names: tuple[str, ...]
    stream_arn: str
    alarm_names: tuple[str, ...]
    #: Every poison message's correlation id, sorted.
    poison_correlation_ids: tuple[str, ...]
    #: False when the queues already held messages, so this seed sent no traffic.
    traffic_sent: bool
    #: Messages this seed published to SNS, put on the bus, or sent straight to SQS.
    messages_sent: int = 0
    #: Idempotency records this seed wrote (one per message a consumer processed).
    idempotency_records: int = 0
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def dlq_names(self) -> tuple[str, ...]:
        return tuple(q.name for q in self.queues if q.role != "source")

    @property
    def message_counts(self) -> dict[str, int]:
        """ApproximateNumberOfMessages per queue name, after seeding."""
        return {q.name: q.messages for q in self.queues}

    def queue(self, name: str) -> DemoQueue:
        for q in self.queues:
            if q.name == name:
                return q
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "queues": [q.to_dict() for q in self.queues],
            "topic_arn": self.topic_arn,
            "subscription_arns": list(self.subscription_arns),
            "bus_name": self.bus_name,
            "bus_arn": self.bus_arn,
            "rule_names": list(self.rule_names),
            "table_names": list(self.table_names),
            "stream_arn": self.stream_arn,
            "alarm_names": list(self.alarm_names),
            "poison_correlation_ids": list(self.poison_correlation_ids),
            "traffic_sent": self.traffic_sent,
            "messages_sent": self.messages_sent,
            "idempotency_records": self.idempotency_records,
            "seconds": round(self.seconds, 3),
            "notes": list(self.notes),
        }


def seed_demo(
    client: Callable[[str], Any],
    *,
    region: str = "us-east-1",
    clock: Callable[[], float] = time.time,
) -> DemoPipeline:
    """Create the demo pipeline and run traffic through it; return what was created.

    `client(service)` returns a boto3 client pointed at the sandbox. Meant for the sandbox: it
    creates resources without waiting for them to become active, as moto makes them at once.

    Idempotent: resources that exist are reused (and their attributes set again). Traffic is sent
    only when every demo queue is empty, so a second seed neither doubles the DLQs nor adds stream
    records; after `SandboxServer.reset()` (or purging the queues) a seed sends it again.

    moto publishes no AWS/SQS metrics. So that the age of a DLQ's oldest message can be read from
    CloudWatch as in AWS, the seed puts `ApproximateAgeOfOldestMessage` (AWS/SQS, QueueName,
    Seconds) for each DLQ it filled, computed from the real SentTimestamp of its oldest message
    and `clock()`. It also sets each DLQ alarm's state (ALARM when the DLQ holds messages, else OK),
    as CloudWatch would once SQS had published the depth.
    """
    started = clock()
    sqs: SQSClient = client("sqs")
    sns: SNSClient = client("sns")
    events: EventBridgeClient = client("events")
    dynamodb: DynamoDBClient = client("dynamodb")
    cloudwatch: CloudWatchClient = client("cloudwatch")

    topic_arn = sns.create_topic(Name=TOPIC)["TopicArn"]
    bus_arn = _ensure_bus(events, BUS)
    rule_arns = {
        rule.name: events.put_rule(
            Name=rule.name,
            EventBusName=BUS,
            EventPattern=json.dumps(rule.pattern),
            State="ENABLED",
            Description=rule.description,
        )["RuleArn"]
        for rule in RULES
    }

    # DLQs first: a RedrivePolicy must name a queue that exists.
    dlq_names = [f"{q}-dlq" for q in FANOUT_QUEUES] + [r.dlq for r in RULES if r.dlq] + [LAMBDA_DLQ]
    made: dict[str, tuple[str, str]] = {}
    for name in [*dlq_names, SHIPPING_DLQ]:
        made[name] = _ensure_queue(sqs, name, {"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)})
    # A rule target's DLQ must let EventBridge send to it, as the rule's queue does.
    for rule in RULES:
        if rule.dlq:
            policy = _send_policy(made[rule.dlq][1], "events.amazonaws.com", rule_arns[rule.name])
            sqs.set_queue_attributes(QueueUrl=made[rule.dlq][0], Attributes={"Policy": policy})

    sources: list[tuple[str, str | None, str, str]] = [  # queue, dlq, principal, source arn
        *((q, f"{q}-dlq", "sns.amazonaws.com", topic_arn) for q in FANOUT_QUEUES),
        *((r.queue, r.dlq, "events.amazonaws.com", rule_arns[r.name]) for r in RULES),
    ]
    for name, dlq, principal, source_arn in sources:
        attributes = {
            "MessageRetentionPeriod": str(SOURCE_RETENTION_SECONDS),
            "VisibilityTimeout": "30",
            "Policy": _send_policy(_queue_arn(region, made, name), principal, source_arn),
        }
        if dlq:
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": made[dlq][1], "maxReceiveCount": MAX_RECEIVE_COUNT}
            )
        made[name] = _ensure_queue(sqs, name, attributes)
    # Misconfigured: the policy still names the retired topic, and maxReceiveCount is 10.
    retired_topic_arn = f"{topic_arn.rsplit(':', 1)[0]}:{RETIRED_TOPIC}"
    made[SHIPPING_QUEUE] = _ensure_queue(sqs, SHIPPING_QUEUE, {
        "MessageRetentionPeriod": str(SOURCE_RETENTION_SECONDS),
        "VisibilityTimeout": "30",
        "Policy": _send_policy(_queue_arn(region, made, SHIPPING_QUEUE), "sns.amazonaws.com", retired_topic_arn),
        "RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": made[SHIPPING_DLQ][1], "maxReceiveCount": SHIPPING_MAX_RECEIVE_COUNT}
        ),
    })

    subscription_arns = tuple(_ensure_subscription(sns, topic_arn, made[q][1]) for q in FANOUT_QUEUES)
    for rule in RULES:
        target: TargetTypeDef = {"Id": rule.queue, "Arn": made[rule.queue][1]}
        if rule.dlq:  # cancelled-orders' target has neither: an audit finding
            target["DeadLetterConfig"] = {"Arn": made[rule.dlq][1]}
            target["RetryPolicy"] = TARGET_RETRY_POLICY
        events.put_targets(Rule=rule.name, EventBusName=BUS, Targets=[target])

    stream_arn = _ensure_table(dynamodb, ORDERS_TABLE, "order_id", stream=True)
    _ensure_table(dynamodb, IDEMPOTENCY_TABLE, "messageId", stream=False)
    _ensure_ttl(dynamodb, IDEMPOTENCY_TABLE, "ttl")
    _ensure_table(dynamodb, LEGACY_IDEMPOTENCY_TABLE, "messageId", stream=False)  # no TTL: a finding

    alarms = {dlq: f"{dlq}-not-empty" for dlq in dlq_names}
    for dlq, alarm in alarms.items():
        cloudwatch.put_metric_alarm(
            AlarmName=alarm,
            AlarmDescription=f"Messages are waiting in the dead-letter queue {dlq}",
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": dlq}],
            Statistic="Maximum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="notBreaching",
        )

    all_queues = [*dlq_names, *(s[0] for s in sources), SHIPPING_QUEUE, SHIPPING_DLQ]
    traffic = all(_depth(sqs, made[q][0], in_flight=True) == 0 for q in all_queues)
    sent = records = 0
    oldest: dict[str, int] = {}
    notes: list[str] = []
    if traffic:
        sent, records, oldest = _run_traffic(sqs, sns, events, dynamodb, made, topic_arn, clock)
        _put_age_metrics(cloudwatch, oldest, clock())
        _write_consumer_logs(client("logs"), clock)
    else:
        notes.append("the demo queues already held messages: no traffic sent")
    # Subscribed after the traffic: in AWS its policy keeps every message out, but moto does not
    # enforce queue policies, so subscribing earlier would fill the queue AWS would leave empty.
    subscription_arns += (_ensure_subscription(sns, topic_arn, made[SHIPPING_QUEUE][1]),)

    depths = {q: _depth(sqs, made[q][0]) for q in all_queues}
    for dlq, alarm in alarms.items():
        count = depths[dlq]
        cloudwatch.set_alarm_state(
            AlarmName=alarm,
            StateValue="ALARM" if count else "OK",
            StateReason=f"eda sandbox: {dlq} holds {count} message(s)",
        )

    queues: list[DemoQueue] = []
    for name, dlq, _principal, _arn in sources:
        url, arn = made[name]
        queues.append(
            DemoQueue(
                name=name,
                url=url,
                arn=arn,
                role="source",
                messages=depths[name],
                dlq=dlq,
                max_receive_count=MAX_RECEIVE_COUNT if dlq else None,
            )
        )
    url, arn = made[SHIPPING_QUEUE]
    queues.append(DemoQueue(name=SHIPPING_QUEUE, url=url, arn=arn, role="source", messages=depths[SHIPPING_QUEUE],
                            dlq=SHIPPING_DLQ, max_receive_count=SHIPPING_MAX_RECEIVE_COUNT))
    for name in [*dlq_names, SHIPPING_DLQ]:
        url, arn = made[name]
        queues.append(
            DemoQueue(
                name=name,
                url=url,
                arn=arn,
                role="lambda-dlq" if name == LAMBDA_DLQ else "dlq",
                messages=depths[name],
                correlation_ids=POISON.get(name, ()),
                alarm=alarms.get(name),
            )
        )

    return DemoPipeline(
        region=region,
        queues=tuple(queues),
        topic_arn=topic_arn,
        subscription_arns=subscription_arns,
        bus_name=BUS,
        bus_arn=bus_arn,
        rule_names=tuple(r.name for r in RULES),
        table_names=(ORDERS_TABLE, IDEMPOTENCY_TABLE, LEGACY_IDEMPOTENCY_TABLE),
        stream_arn=stream_arn,
        alarm_names=tuple(alarms.values()),
        poison_correlation_ids=tuple(sorted({c for ids in POISON.values() for c in ids})),
        traffic_sent=traffic,
        messages_sent=sent,
        idempotency_records=records,
        seconds=max(0.0, clock() - started),
        notes=tuple(notes),
    )


# -- resources ---------------------------------------------------------------------------------


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _ensure_queue(sqs: SQSClient, name: str, attributes: dict[str, str]) -> tuple[str, str]:
    """(url, arn) of the queue, created with `attributes` or updated to them."""
    from botocore.exceptions import ClientError

    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as exc:
        if _error_code(exc) not in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            raise
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]  # type: ignore[arg-type]
    else:
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)  # type: ignore[arg-type]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _queue_arn(region: str, made: dict[str, tuple[str, str]], name: str) -> str:
    """The ARN a queue has (or will have): the account comes from a queue already made."""
    account = next(iter(made.values()))[1].split(":")[4]
    return f"arn:aws:sqs:{region}:{account}:{name}"


def _send_policy(queue_arn: str, principal: str, source_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "allow-" + principal.split(".")[0],
                    "Effect": "Allow",
                    "Principal": {"Service": principal},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": source_arn}},
                }
            ],
        }
    )


def _ensure_subscription(sns: SNSClient, topic_arn: str, queue_arn: str) -> str:
    paginator = sns.get_paginator("list_subscriptions_by_topic")
    for page in paginator.paginate(TopicArn=topic_arn):
        for sub in page.get("Subscriptions", []):
            if sub.get("Protocol") == "sqs" and sub.get("Endpoint") == queue_arn:
                return sub["SubscriptionArn"]
    return sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "false"},
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]


def _ensure_bus(events: EventBridgeClient, name: str) -> str:
    from botocore.exceptions import ClientError

    try:
        return events.describe_event_bus(Name=name)["Arn"]
    except ClientError as exc:
        if _error_code(exc) != "ResourceNotFoundException":
            raise
    return events.create_event_bus(Name=name)["EventBusArn"]


def _ensure_table(dynamodb: DynamoDBClient, name: str, key: str, *, stream: bool) -> str:
    """Create the table if missing; return its stream ARN ("" without a stream)."""
    from botocore.exceptions import ClientError

    try:
        table = dynamodb.describe_table(TableName=name)["Table"]
    except ClientError as exc:
        if _error_code(exc) != "ResourceNotFoundException":
            raise
        kwargs: dict[str, Any] = {}
        if stream:
            kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        table = dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            **kwargs,
        )["TableDescription"]
    else:
        if stream and not table.get("StreamSpecification", {}).get("StreamEnabled"):
            table = dynamodb.update_table(
                TableName=name,
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            )["TableDescription"]
    return str(table.get("LatestStreamArn", "")) if stream else ""


def _ensure_ttl(dynamodb: DynamoDBClient, table: str, attribute: str) -> None:
    current = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    if current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
        return
    dynamodb.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
    )


def _depth(sqs: SQSClient, url: str, *, in_flight: bool = False) -> int:
    names: list[Any] = ["ApproximateNumberOfMessages"]
    if in_flight:
        names += ["ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes.get(n, "0")) for n in names)


# -- traffic -----------------------------------------------------------------------------------


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _order(index: int, row: tuple[str, Any, str, str, str | None], created: float) -> dict[str, Any]:
    order_id, amount, region, sku, email = row
    order: dict[str, Any] = {
        "orderId": order_id,
        "correlationId": f"corr-{index:04d}",
        "customerId": f"cust-{200 + index}",
        "amount": amount,
        "currency": "EUR" if region == "EU" else "USD",
        "region": region,
        "items": [{"sku": sku, "qty": 1 + index % 3}],
        "createdAt": _iso(created),
    }
    if email is not None:
        order["email"] = email
    return order


def _run_traffic(
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
    orders = [_order(i, row, now - 60 * (len(_ORDERS) - i)) for i, row in enumerate(_ORDERS, start=1)]
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
        for oid, corr, reason in _CANCELLED
    ]
    for batch in _chunks(entries, 10):
        answer = events.put_events(Entries=batch)
        if answer.get("FailedEntryCount"):
            raise SandboxError(f"the demo's PutEvents failed for {answer['FailedEntryCount']} event(s)")
        sent += len(batch)

    # 3. A legacy producer writes v1 messages straight to the payments queue, typed attributes and all.
    for order_id, corr, cents in _LEGACY:
        sqs.send_message(
            QueueUrl=made["payments"][0],
            MessageBody=json.dumps(
                {"order_id": order_id, "total_cents": cents, "cust": "c-77", "v": 1, "correlationId": corr}
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
    for order_id, status in _STATUS_UPDATES:
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
    for order_id, corr, error in _LAMBDA_FAILURES:
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
    first = _oldest_sent(sqs, made[LAMBDA_DLQ][0])
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
                        "processedAt": {"S": _iso(clock())},
                    },
                    ConditionExpression="attribute_not_exists(messageId)",
                )
                records += 1
            except ClientError as exc:
                if _error_code(exc) != "ConditionalCheckFailedException":
                    raise
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    raise SandboxError(f"the demo consumer could not drain the queue {queue}")


def _oldest_sent(sqs: SQSClient, url: str) -> int | None:
    """The oldest SentTimestamp (ms) among a small queue's messages.

    Receives with VisibilityTimeout 0, which leaves the messages visible but raises their
    ApproximateReceiveCount by one, as any peek does in AWS.
    """
    messages = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["SentTimestamp"]
    ).get("Messages", [])
    stamps = [int(m.get("Attributes", {}).get("SentTimestamp", "0")) for m in messages]
    return min(stamps) if stamps else None


def _put_age_metrics(cloudwatch: CloudWatchClient, oldest: dict[str, int], now: float) -> None:
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


# -- consumer logs (for `eda trace`) ------------------------------------------------------------

#: The log groups of the demo's consumers, by the queue they consume ("notify" is the notify
#: Lambda, whose failed async invocations fill notify-lambda-dlq). The seed writes what each
#: consumer would have logged: a line per message processed, an ERROR line per failed attempt.
CONSUMER_LOG_GROUPS: dict[str, str] = {
    **{queue: f"/aws/lambda/{queue}-consumer" for queue in FANOUT_QUEUES},
    "notify": "/aws/lambda/notify",
}


def _consumer_error(queue: str, index: int) -> str | None:
    """Why the consumer of `queue` failed on order number `index` (None: it processed it)."""
    _order_id, amount, _region, sku, email = _ORDERS[index - 1]
    if queue == "payments" and isinstance(amount, str):
        return f"ValueError: amount {amount!r} is not a number"
    if queue == "inventory" and f"corr-{index:04d}" in POISON["inventory-dlq"]:
        return f"LookupError: unknown SKU {sku!r}"
    if queue == "notifications" and email is None:
        return "KeyError: 'email'"
    return None


def _write_consumer_logs(logs: Any, clock: Callable[[], float]) -> int:
    """Write the consumers' log lines (CONSUMER_LOG_GROUPS); returns how many. Called with the traffic."""
    from botocore.exceptions import ClientError

    lines: dict[str, list[str]] = {group: [] for group in CONSUMER_LOG_GROUPS.values()}
    for queue in FANOUT_QUEUES:
        logged = lines[CONSUMER_LOG_GROUPS[queue]]
        for index, row in enumerate(_ORDERS, start=1):
            corr, error = f"corr-{index:04d}", _consumer_error(queue, index)
            if error is None:
                logged.append(f"INFO processed {corr} (order {row[0]}): recorded in {IDEMPOTENCY_TABLE}")
            else:
                logged += [f"ERROR processing {corr} (order {row[0]}): {error} (attempt {n} of {MAX_RECEIVE_COUNT})"
                          for n in range(1, MAX_RECEIVE_COUNT + 1)]
    for order_id, corr, _cents in _LEGACY:
        lines[CONSUMER_LOG_GROUPS["payments"]] += [
            f"ERROR processing {corr} (order {order_id}): KeyError: 'amount' (a v1 message: total_cents, "
            f"no amount) (attempt {n} of {MAX_RECEIVE_COUNT})" for n in range(1, MAX_RECEIVE_COUNT + 1)]
    for order_id, corr, error in _LAMBDA_FAILURES:  # an async invocation is tried three times
        lines[CONSUMER_LOG_GROUPS["notify"]] += [
            f"ERROR sending order-confirmation for {corr} (order {order_id}): {error} (attempt {n} of 3)"
            for n in range(1, 4)]
    start = int(clock() * 1000)
    stream = f"{_iso(clock())[:10].replace('-', '/')}/[$LATEST]{uuid.uuid5(uuid.NAMESPACE_URL, 'eda-demo').hex}"
    for group, messages in lines.items():
        try:
            logs.create_log_group(logGroupName=group)
        except ClientError as exc:
            if _error_code(exc) != "ResourceAlreadyExistsException":
                raise
        try:
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
        except ClientError as exc:
            if _error_code(exc) != "ResourceAlreadyExistsException":
                raise
        logs.put_log_events(logGroupName=group, logStreamName=stream,
                            logEvents=[{"timestamp": start + i, "message": m} for i, m in enumerate(messages)])
    return sum(len(m) for m in lines.values())
