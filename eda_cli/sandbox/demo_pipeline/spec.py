"""The demo's design: resource names, the rules, the orders it sends, and where the poison messages end up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_events.type_defs import RetryPolicyTypeDef

TOPIC = "orders"
BUS = "orders-bus"
ORDERS_TABLE = "orders"
IDEMPOTENCY_TABLE = "orders-idempotency"
LAMBDA_DLQ = "notify-lambda-dlq"
FANOUT_QUEUES = ("inventory", "payments", "notifications")
EVENT_SOURCE = "shop.orders"

MAX_RECEIVE_COUNT = 3
#: The DLQ of the EU fulfilment consumer, where a producer's changed event shape ends up (SCHEMA_DRIFT).
SCHEMA_DRIFT_DLQ = "eu-fulfilment-dlq"
#: The schema of order.created events the consumers expect, in eda_cli/sandbox/schemas/.
ORDER_SCHEMA = "order-created.json"
#: DLQs that only configuration names, no RedrivePolicy: what EventBridge could not deliver to the
#: eu-orders rule's target (its DeadLetterConfig, on RULES' eu-orders), and what SNS could not deliver to
#: the inventory queue's subscription (its RedrivePolicy).
TARGET_DLQ = "eu-orders-target-dlq"
SUBSCRIPTION_DLQ = "inventory-subscription-dlq"
SUBSCRIPTION_DLQ_QUEUE = "inventory"
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
class Rule:
    name: str
    description: str
    pattern: dict[str, Any]
    queue: str
    #: The DLQ of the rule's queue (its RedrivePolicy), and of the rule's target unless `target_dlq`.
    dlq: str | None
    #: A DLQ of the rule target's own (DeadLetterConfig), that no RedrivePolicy names.
    target_dlq: str | None = None

    @property
    def target_dead_letter(self) -> str | None:
        """The queue the target's DeadLetterConfig names."""
        return self.target_dlq or self.dlq


RULES: tuple[Rule, ...] = (
    Rule(
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
    Rule(
        "eu-orders",
        "EU orders go to the EU fulfilment centre",
        {"source": [EVENT_SOURCE], "detail-type": ["order.created"], "detail": {"region": ["EU"]}},
        "eu-fulfilment",
        "eu-fulfilment-dlq",
        "eu-orders-target-dlq",
    ),
    Rule(
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
    # EU orders EventBridge could not deliver to eu-fulfilment (see TARGET_FAILURES).
    TARGET_DLQ: ("corr-0017", "corr-0018", "corr-0019"),
    # Orders SNS could not deliver to the inventory queue (see SUBSCRIPTION_FAILURES).
    SUBSCRIPTION_DLQ: ("corr-0020", "corr-0021"),
    # Orders of a producer release that changed the event's shape (see SCHEMA_DRIFT).
    SCHEMA_DRIFT_DLQ: ("corr-0022", "corr-0023", "corr-0024"),
}

# orderId, amount (a string is poison for payments), region, sku, email
ORDERS: tuple[tuple[str, Any, str, str, str | None], ...] = (
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
CANCELLED = (("o-1003", "corr-0013", "customer request"), ("o-1011", "corr-0014", "payment declined"))
LEGACY = (("o-0998", "corr-0015", 129900), ("o-0999", "corr-0016", 4550))
#: The legacy producer still puts the customer's card number in its v1 messages (test numbers that pass the
#: Luhn check): what the sandbox's eda.yaml (redact: preset pci) masks in everything eda prints.
LEGACY_CARDS = {"o-0998": "4111 1111 1111 1111", "o-0999": "5555-5555-5555-4444"}
LAMBDA_FAILURES = (
    ("o-1002", "corr-0002", "Task timed out after 3.00 seconds"),
    ("o-1007", "corr-0007", "KeyError: 'email'"),
    ("o-1011", "corr-0011", "Task timed out after 3.00 seconds"),
)
STATUS_UPDATES = (("o-1001", "PAID"), ("o-1002", "PAID"), ("o-1003", "CANCELLED"), ("o-1011", "CANCELLED"))

#: Orders of an outage an hour before the traffic: while a deploy had replaced eu-fulfilment's queue
#: policy, EventBridge could not send to it (NO_PERMISSIONS: sent to the target's DLQ at once, no retry);
#: then the queue throttled and the retries ran out. (index, orderId, amount, sku, error code, error
#: message, exhausted retry condition or None, retry attempts)
TARGET_FAILURES: tuple[tuple[int, str, Any, str, str, str, str | None, int], ...] = (
    (17, "o-0981", 120, "SKU-100", "NO_PERMISSIONS",
     "Access to the resource https://sqs.{region}.amazonaws.com/ is denied.", None, 0),
    (18, "o-0982", 1890, "SKU-220", "NO_PERMISSIONS",
     "Access to the resource https://sqs.{region}.amazonaws.com/ is denied.", None, 0),
    (19, "o-0983", 64.9, "SKU-310", "THROTTLING", "Request is throttled.", "MaximumEventAgeInSeconds", 6),
)
#: Orders of the same outage SNS could not deliver to the inventory queue (its policy was replaced too):
#: (index, orderId, amount, region, sku).
SUBSCRIPTION_FAILURES: tuple[tuple[int, str, Any, str, str], ...] = (
    (20, "o-0984", 75, "US", "SKU-100"),
    (21, "o-0985", 410, "EU", "SKU-404"),
)
#: EU orders of a producer release (2.0) that moved `customerId` and `email` into a `customer` object (and,
#: in one, sent the amount as a string): the EU fulfilment consumer failed on each until it was
#: dead-lettered. `dlq peek eu-fulfilment-dlq --schema ... --group-by violation` names the missing field.
#: (index, orderId, amount, sku)
SCHEMA_DRIFT: tuple[tuple[int, str, Any, str], ...] = (
    (22, "o-1013", 320, "SKU-100"),
    (23, "o-1014", "79.90", "SKU-220"),
    (24, "o-1015", 1150, "SKU-310"),
)
