"""The demo pipeline the sandbox is seeded with: an order system built on the five patterns.

    orders (SNS) ──> inventory ──> inventory-dlq          1. fan-out, a DLQ per queue, DLQ alarms
               │    (undeliverable: inventory-subscription-dlq, the subscription's RedrivePolicy)
               ├──> payments ───> payments-dlq
               └──> notifications ──> notifications-dlq
    orders-bus (EventBridge)                              2. content-based routing
        high-value-orders (order.created, amount > 1000) ──> fraud-review ──> fraud-review-dlq
        eu-orders         (order.created, region = EU)   ──> eu-fulfilment ──> eu-fulfilment-dlq
                          (undeliverable: eu-orders-target-dlq, the target's DeadLetterConfig)
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
messages end up. The two DLQs only configuration names (eu-orders-target-dlq, inventory-subscription-dlq)
hold what EventBridge and SNS could not deliver during an outage an hour before the traffic, written
as AWS writes them (`dead_letters`): moto never dead-letters an event or a notification itself.
eu-fulfilment-dlq holds three orders of a producer release that changed the event's shape (`customerId`
moved into `customer`: see SCHEMA_DRIFT), for `dlq peek --schema` against the schema the consumers
expect (eda_cli/sandbox/schemas/order-created.json, ORDER_SCHEMA).

Modules: `spec` (names, rules, orders, POISON), `model` (DemoPipeline, DemoQueue), `resources`,
`traffic`, `dead_letters`, `consumer_logs` and `seed` (`seed_demo`).
"""

from __future__ import annotations

from eda_cli.sandbox.demo_pipeline.consumer_logs import CONSUMER_LOG_GROUPS
from eda_cli.sandbox.demo_pipeline.model import DemoPipeline, DemoQueue
from eda_cli.sandbox.demo_pipeline.seed import seed_demo
from eda_cli.sandbox.demo_pipeline.spec import (
    BUS,
    FANOUT_QUEUES,
    IDEMPOTENCY_TABLE,
    LAMBDA_DLQ,
    LEGACY_IDEMPOTENCY_TABLE,
    MISCONFIGURED,
    ORDER_SCHEMA,
    ORDERS_TABLE,
    POISON,
    RULES,
    SCHEMA_DRIFT_DLQ,
    SHIPPING_DLQ,
    SHIPPING_QUEUE,
    SUBSCRIPTION_DLQ,
    TARGET_DLQ,
    TOPIC,
    Rule,
)

__all__ = [
    "BUS",
    "CONSUMER_LOG_GROUPS",
    "FANOUT_QUEUES",
    "IDEMPOTENCY_TABLE",
    "LAMBDA_DLQ",
    "LEGACY_IDEMPOTENCY_TABLE",
    "MISCONFIGURED",
    "ORDERS_TABLE",
    "ORDER_SCHEMA",
    "POISON",
    "RULES",
    "SCHEMA_DRIFT_DLQ",
    "SHIPPING_DLQ",
    "SHIPPING_QUEUE",
    "SUBSCRIPTION_DLQ",
    "TARGET_DLQ",
    "TOPIC",
    "DemoPipeline",
    "DemoQueue",
    "Rule",
    "seed_demo",
]
