"""The poison messages of the DLQs only configuration names, built exactly as AWS writes them.

moto never dead-letters an event or a notification (it delivers to any queue, whatever its policy), so
the seed writes what EventBridge and SNS would have written during the demo's outage:

* an EventBridge target DLQ message (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html):
  the body is the event, as the rule matched it (not the target's input transformation); the message
  attributes, every one a String, are RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE, RETRY_ATTEMPTS,
  and EXHAUSTED_RETRY_CONDITION (MaximumRetryAttempts or MaximumEventAgeInSeconds) only when the retry
  policy ran out: an error EventBridge does not retry (NO_PERMISSIONS, NO_RESOURCE) goes to the DLQ at
  once, with RETRY_ATTEMPTS 0 and no EXHAUSTED_RETRY_CONDITION.
* an SNS subscription DLQ message (https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html,
  as AWS answers LocalStack's validated tests/aws/services/sns/test_sns.py::test_redrive_policy_sqs_queue_subscription):
  what the subscription would have delivered. Without raw message delivery (the demo's subscriptions,
  and every Lambda subscription) the body is the notification envelope (Type, MessageId, TopicArn,
  Message, Timestamp, SignatureVersion, Signature, SigningCertURL, UnsubscribeURL, MessageAttributes)
  and the SQS message has no message attributes; with raw delivery the body is the message as published
  and the published attributes are the SQS message attributes. SNS adds no error attribute (ErrorCode,
  ErrorMessage are Lambda's, in a function's own DLQ).

The sandbox's signatures are not real: nothing holds SNS's key. They have a real signature's shape.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from eda_cli.sandbox.demo_pipeline.spec import (
    EVENT_SOURCE,
    SCHEMA_DRIFT,
    SCHEMA_DRIFT_DLQ,
    SUBSCRIPTION_DLQ,
    SUBSCRIPTION_FAILURES,
    TARGET_DLQ,
    TARGET_FAILURES,
)
from eda_cli.sandbox.demo_pipeline.traffic import iso, order_document

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef

#: How long before the traffic the demo's outage was.
OUTAGE_SECONDS_AGO = 3600


def _iso_ms(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def eventbridge_dlq_message(event: dict[str, Any], rule_arn: str, target_arn: str, error_code: str,
                            error_message: str, retry_attempts: int,
                            exhausted: str | None) -> tuple[str, dict[str, MessageAttributeValueTypeDef]]:
    """(body, message attributes) of what EventBridge writes to a target's DLQ."""
    attributes: dict[str, MessageAttributeValueTypeDef] = {
        "RULE_ARN": {"DataType": "String", "StringValue": rule_arn},
        "TARGET_ARN": {"DataType": "String", "StringValue": target_arn},
        "ERROR_CODE": {"DataType": "String", "StringValue": error_code},
        "ERROR_MESSAGE": {"DataType": "String", "StringValue": error_message},
        "RETRY_ATTEMPTS": {"DataType": "String", "StringValue": str(retry_attempts)},
    }
    if exhausted:
        attributes["EXHAUSTED_RETRY_CONDITION"] = {"DataType": "String", "StringValue": exhausted}
    return json.dumps(event, separators=(",", ":")), attributes


def _signature(text: str) -> str:
    """A signature's shape (SignatureVersion 1: 256 bytes of RSA-SHA1, base64), not a valid one."""
    digest = b"".join(hashlib.sha256(f"{i}:{text}".encode()).digest() for i in range(8))
    return base64.b64encode(digest).decode()


def sns_envelope(topic_arn: str, subscription_arn: str, message: str, attributes: dict[str, tuple[str, str]],
                 message_id: str, timestamp: float) -> dict[str, Any]:
    """The notification SNS delivers to an SQS or Lambda endpoint without raw message delivery.
    `attributes`: name -> (type, value), as published."""
    region = topic_arn.split(":")[3]
    envelope: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": topic_arn,
        "Message": message,
        "Timestamp": _iso_ms(timestamp),
        "SignatureVersion": "1",
        "Signature": _signature(message_id + message),
        "SigningCertURL": f"https://sns.{region}.amazonaws.com/SimpleNotificationService-"
                          f"{hashlib.md5(region.encode()).hexdigest()}.pem",
        "UnsubscribeURL": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription_arn}",
    }
    if attributes:
        envelope["MessageAttributes"] = {name: {"Type": kind, "Value": value}
                                         for name, (kind, value) in attributes.items()}
    return envelope


def envelope_text(envelope: dict[str, Any]) -> str:
    """An envelope as SNS writes it: a key a line, `"Key" : value`, each message attribute on one line."""
    def one(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"))

    lines = []
    for key, value in envelope.items():
        if key == "MessageAttributes":
            inner = ",\n".join(f"    {one(name)} : {one(attr)}" for name, attr in value.items())
            lines.append(f'  "MessageAttributes" : {{\n{inner}\n  }}')
        else:
            lines.append(f"  {one(key)} : {one(value)}")
    return "{\n" + ",\n".join(lines) + "\n}"


def order_event(index: int, order_id: str, amount: Any, sku: str, created: float, region: str,
                account: str) -> dict[str, Any]:
    """An order.created event of the EU producer, as EventBridge delivers it."""
    return {
        "version": "0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"event/{order_id}")),
        "detail-type": "order.created",
        "source": EVENT_SOURCE,
        "account": account,
        "time": iso(created),
        "region": region,
        "resources": [],
        "detail": order_document(index, (order_id, amount, "EU", sku, f"customer{index}@example.com"), created),
    }


def drifted_event(index: int, order_id: str, amount: Any, sku: str, created: float, region: str,
                  account: str) -> dict[str, Any]:
    """An order.created event of the producer release that changed its shape: `customerId` and `email`
    moved into `customer` ({id, email})."""
    event = order_event(index, order_id, amount, sku, created, region, account)
    detail = event["detail"]
    detail["customer"] = {"id": detail.pop("customerId"), "email": detail.pop("email")}
    return event


def write_schema_drift(sqs: SQSClient, made: dict[str, tuple[str, str]], *, region: str, account: str,
                       clock: Callable[[], float]) -> int:
    """The changed-shape orders the EU fulfilment consumer could not process, in its DLQ (written there
    directly: the traffic's consumer never receives them). How many."""
    start = clock() - OUTAGE_SECONDS_AGO / 2
    for index, order_id, amount, sku in SCHEMA_DRIFT:
        event = drifted_event(index, order_id, amount, sku, start + 20 * index, region, account)
        sqs.send_message(QueueUrl=made[SCHEMA_DRIFT_DLQ][0], MessageBody=json.dumps(event, separators=(",", ":")))
    return len(SCHEMA_DRIFT)


def write_dead_letters(sqs: SQSClient, made: dict[str, tuple[str, str]], *, topic_arn: str,
                       inventory_subscription_arn: str, eu_rule_arn: str, target_arn: str,
                       clock: Callable[[], float]) -> int:
    """Write the outage's poison messages to the target DLQ and the subscription DLQ; how many."""
    outage = clock() - OUTAGE_SECONDS_AGO
    region, account = target_arn.split(":")[3], target_arn.split(":")[4]
    sent = 0
    for index, order_id, amount, sku, code, message, exhausted, attempts in TARGET_FAILURES:
        created = outage + 20 * index
        event = order_event(index, order_id, amount, sku, created, region, account)
        body, attributes = eventbridge_dlq_message(event, eu_rule_arn, target_arn, code,
                                                   message.format(region=region), attempts, exhausted)
        sqs.send_message(QueueUrl=made[TARGET_DLQ][0], MessageBody=body, MessageAttributes=attributes)
        sent += 1
    for index, order_id, amount, order_region, sku in SUBSCRIPTION_FAILURES:
        created = outage + 20 * index
        document = order_document(index, (order_id, amount, order_region, sku, f"customer{index}@example.com"), created)
        envelope = sns_envelope(topic_arn, inventory_subscription_arn, json.dumps(document), {
            "eventType": ("String", "order.created"),
            "schemaVersion": ("Number", "2"),
            "correlationId": ("String", document["correlationId"]),
        }, str(uuid.uuid5(uuid.NAMESPACE_URL, f"notification/{order_id}")), created + 0.25)
        sqs.send_message(QueueUrl=made[SUBSCRIPTION_DLQ][0], MessageBody=envelope_text(envelope))
        sent += 1
    return sent
