"""Shared helpers of the saga tests (no tests here): a backend running Step Functions, and the checkout resources."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.backends import Backend

ROOT = Path(__file__).resolve().parent.parent
CHECKOUT = ROOT / "examples" / "sagas" / "checkout.yaml"
ORDER = {"order_id": "o-2001", "sku": "SKU-100", "amount": 42.5}


@pytest.fixture
def sfn_endpoint(endpoint: str, backend: Backend) -> str:
    """The backend, empty, with Step Functions executions really running (moto needs its interpreter on)."""
    backend.enable_step_functions()
    return endpoint


def make_checkout_resources(boto: Any) -> None:
    """What examples/sagas/checkout.yaml needs, as the sandbox has it, plus a queue that sees shipments."""
    boto("dynamodb").create_table(
        TableName="orders", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
    )
    sqs = boto("sqs")
    sqs.create_queue(QueueName="payments")
    shipments = sqs.create_queue(QueueName="shipments")["QueueUrl"]
    shipments_arn = sqs.get_queue_attributes(QueueUrl=shipments, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto("events")
    events.create_event_bus(Name="orders-bus")
    events.put_rule(Name="shipped", EventBusName="orders-bus",
                    EventPattern=json.dumps({"detail-type": ["order.shipped"]}))
    events.put_targets(Rule="shipped", EventBusName="orders-bus", Targets=[{"Id": "q", "Arn": shipments_arn}])


def drain(sqs: Any, queue: str) -> list[dict[str, Any]]:
    """Every message of a small queue (received once, hidden for a minute)."""
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    out: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60,
                                    MessageAttributeNames=["All"]).get("Messages", [])
        if not batch:
            return out
        out.extend(batch)


def snapshot(boto: Any) -> dict[str, Any]:
    """The final resource state of a checkout run, normalised where the engines may differ.

    - Message bodies are compared as JSON: moto's interpreter serialises an object MessageBody
      with spaces after separators, AWS and the local engine without; the data is the same.
    - A refund names the MessageId of the charge it refunds, an item may hold a MessageId: compared
      as "that message's id" (moto draws new ids each run).
    - EventBridge events keep source, detail-type and detail: their id and time differ run to
      run, and Step Functions adds the execution's ARNs to `resources` (the local engine has none).
    """
    items = boto("dynamodb").scan(TableName="orders")["Items"]
    payments = drain(boto("sqs"), "payments")
    parsed = [_body(m["Body"]) for m in payments]
    charge_ids = {m["MessageId"] for m, body in zip(payments, parsed, strict=True)
                  if isinstance(body, dict) and body.get("type") == "payment.charge"}
    bodies = []
    for body in parsed:
        if isinstance(body, dict) and body.get("charge_message_id") in charge_ids:
            body["charge_message_id"] = "<the charge's MessageId>"
        bodies.append(body)
    shipped = []
    for message in drain(boto("sqs"), "shipments"):
        event = json.loads(message["Body"])
        shipped.append({k: event[k] for k in ("source", "detail-type", "detail")})
    message_ids = {m["MessageId"] for m in payments}
    items = [{k: {"S": "<a payments MessageId>"} if v.get("S") in message_ids else v for k, v in item.items()}
             for item in items]
    return {
        "orders": sorted(items, key=lambda i: i["order_id"]["S"]),
        "payments": sorted(bodies, key=json.dumps),
        "shipments": shipped,
    }


def _body(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def outcomes(result: dict[str, Any]) -> dict[str, Any]:
    """The engine-independent part of a run's JSON: statuses, attempts and error names."""
    return {
        "status": result["status"],
        "steps": [(s["name"], s["status"], s["attempts"], (s["error"] or {}).get("error")) for s in result["steps"]],
        "compensations": [(c["step"], c["status"], c["attempts"], (c["error"] or {}).get("error"))
                          for c in result["compensations"]],
        "still_in_effect": result["still_in_effect"],
    }
