"""The audit rule public-access-policy: queues and topics whose access policy lets anyone send or receive
without a Condition; on hand-built pipelines, and through discovery on the server."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from eda_cli.core.audit import audit
from eda_cli.core.audit.access import QUEUE_ACTIONS, TOPIC_ACTIONS, open_to_anyone
from eda_cli.core.pipeline import Pipeline, Queue, Topic
from tests.fixtures.cli import Result

ACCOUNT = "123456789012"
RULE = "public-access-policy"


def statement(action: Any, principal: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": "*", **extra}


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


@pytest.mark.parametrize("doc, found", [
    (policy(statement("sqs:SendMessage")), [("send", "#0")]),
    (policy(statement("SQS:*", {"AWS": "*"}, Sid="open")), [("send", "open"), ("receive", "open")]),
    (policy(statement(["sqs:ReceiveMessage"], {"AWS": ["*"]})), [("receive", "#0")]),
    (policy(statement("sqs:Send*")), [("send", "#0")]),
    (policy({"Effect": "Allow", "Principal": "*", "NotAction": "sqs:DeleteQueue", "Resource": "*"}),
     [("send", "#0"), ("receive", "#0")]),
    (policy(statement("*")), [("send", "#0"), ("receive", "#0")]),
])
def test_open_queue_policies(doc: dict[str, Any], found: list[tuple[str, str]]) -> None:
    assert open_to_anyone(doc, QUEUE_ACTIONS) == found


@pytest.mark.parametrize("doc", [
    None,
    policy(statement("sqs:SendMessage", Condition={"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:1:t"}})),
    policy(statement("sqs:SendMessage", {"Service": "sns.amazonaws.com"})),
    policy(statement("sqs:SendMessage", {"AWS": f"arn:aws:iam::{ACCOUNT}:root"})),
    policy(statement("sqs:GetQueueAttributes")),
    policy({**statement("sqs:SendMessage"), "Effect": "Deny"}),
])
def test_closed_queue_policies(doc: dict[str, Any] | None) -> None:
    assert open_to_anyone(doc, QUEUE_ACTIONS) == []


def test_topic_policies_publish_and_subscribe() -> None:
    assert open_to_anyone(policy(statement(["sns:Publish", "sns:Subscribe"])), TOPIC_ACTIONS) == [
        ("send", "#0"), ("receive", "#0")]
    # SNS's default policy: anyone in the account, by a condition on the owner.
    default = policy(statement(["SNS:Publish", "SNS:Subscribe"], {"AWS": "*"},
                               Condition={"StringEquals": {"AWS:SourceOwner": ACCOUNT}}))
    assert open_to_anyone(default, TOPIC_ACTIONS) == []


def test_the_rule_on_a_hand_built_pipeline() -> None:
    def queue(name: str, doc: dict[str, Any] | None) -> Queue:
        return Queue(name=name, url=f"https://sqs/{ACCOUNT}/{name}", arn=f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}",
                     policy=doc)

    pipeline = Pipeline(
        region="us-east-1",
        queues=(queue("open", policy(statement("sqs:*"))), queue("closed", policy(statement(
            "sqs:SendMessage", {"Service": "events.amazonaws.com"}))), queue("none", None)),
        topics=(Topic("orders", f"arn:aws:sns:us-east-1:{ACCOUNT}:orders", policy(statement("sns:Publish"))),),
    )
    report = audit(pipeline, only=[RULE])
    found = {f.resource: f for f in report.findings}
    assert set(found) == {"open", "orders"}
    assert "send messages to it" in found["open"].message and "receive its messages" in found["open"].message
    assert "publish to it" in found["orders"].message and found["orders"].severity == "error"
    checked = {c.resource for c in report.checks if c.rule == RULE}
    assert checked == {"open", "closed", "orders"}  # a queue without a policy is nobody's but its account's


def test_audit_finds_public_queues_and_topics_on_the_server(eda: Callable[..., Result], boto: Any) -> None:
    sqs, sns = boto("sqs"), boto("sns")
    public = sqs.create_queue(QueueName="public")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=public, Attributes={"Policy": json.dumps(policy(statement("sqs:SendMessage")))})
    sqs.create_queue(QueueName="private")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy",
                             AttributeValue=json.dumps(policy(statement("sns:Subscribe", {"AWS": "*"}))))
    sns.create_topic(Name="default-policy")
    result = eda("-o", "json", "audit", "--only", RULE)
    assert result.code == 1, result.stderr
    found = {(f["rule"], f["resource"]) for f in result.json()["findings"]}
    assert found == {(RULE, "public"), (RULE, "orders")}
