"""The demo's resources, created or updated in place: queues and their policies, subscriptions, the bus, tables."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from eda_cli.aws.errors import is_client_error

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient


def ensure_queue(sqs: SQSClient, name: str, attributes: dict[str, str]) -> tuple[str, str]:
    """(url, arn) of the queue, created with `attributes` or updated to them."""
    from botocore.exceptions import ClientError

    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as exc:
        if not is_client_error(exc, "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            raise
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]  # type: ignore[arg-type]
    else:
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)  # type: ignore[arg-type]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def planned_queue_arn(region: str, made: dict[str, tuple[str, str]], name: str) -> str:
    """The ARN a queue has (or will have): the account comes from a queue already made."""
    account = next(iter(made.values()))[1].split(":")[4]
    return f"arn:aws:sqs:{region}:{account}:{name}"


def send_policy(queue_arn: str, principal: str, source_arn: str) -> str:
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


def ensure_subscription(sns: SNSClient, topic_arn: str, queue_arn: str) -> str:
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


def ensure_bus(events: EventBridgeClient, name: str) -> str:
    from botocore.exceptions import ClientError

    try:
        return events.describe_event_bus(Name=name)["Arn"]
    except ClientError as exc:
        if not is_client_error(exc, "ResourceNotFoundException"):
            raise
    return events.create_event_bus(Name=name)["EventBusArn"]


def ensure_table(dynamodb: DynamoDBClient, name: str, key: str, *, stream: bool) -> str:
    """Create the table if missing; return its stream ARN ("" without a stream)."""
    from botocore.exceptions import ClientError

    try:
        table = dynamodb.describe_table(TableName=name)["Table"]
    except ClientError as exc:
        if not is_client_error(exc, "ResourceNotFoundException"):
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


def ensure_ttl(dynamodb: DynamoDBClient, table: str, attribute: str) -> None:
    current = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    if current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
        return
    dynamodb.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
    )


def queue_depth(sqs: SQSClient, url: str, *, in_flight: bool = False) -> int:
    names: list[Any] = ["ApproximateNumberOfMessages"]
    if in_flight:
        names += ["ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes.get(n, "0")) for n in names)
