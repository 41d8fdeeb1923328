"""The embedded sandbox: moto's server in a thread, seeded with the demo pipeline.

Everything is asserted through boto3 against the server's HTTP endpoint, as eda will see it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from eda_cli.sandbox import SANDBOX_ENV, DemoPipeline, SandboxError, SandboxServer, seed_demo

ClientFactory = Callable[[str], Any]


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with pytest.MonkeyPatch.context() as mp:
        for name, value in SANDBOX_ENV.items():
            mp.setenv(name, value)
        mp.delenv("AWS_PROFILE", raising=False)
        with SandboxServer() as sandbox:
            yield sandbox


@pytest.fixture(scope="module")
def clients(server: SandboxServer) -> ClientFactory:
    import boto3

    session = boto3.Session(
        aws_access_key_id=SANDBOX_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=SANDBOX_ENV["AWS_SECRET_ACCESS_KEY"],
        region_name=SANDBOX_ENV["AWS_REGION"],
    )
    cache: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in cache:
            cache[service] = session.client(service, endpoint_url=server.endpoint_url)  # type: ignore[call-overload]
        return cache[service]

    return client


@pytest.fixture(scope="module")
def demo(server: SandboxServer, clients: ClientFactory) -> DemoPipeline:
    server.reset()
    return seed_demo(clients)


def _depth(clients: ClientFactory, url: str) -> int:
    attributes = clients("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def _peek(clients: ClientFactory, url: str) -> list[dict[str, Any]]:
    return list(
        clients("sqs")
        .receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        .get("Messages", [])
    )


def _correlation_id(message: dict[str, Any]) -> str:
    body = json.loads(message["Body"])
    if body.get("Type") == "Notification":
        body = json.loads(body["Message"])
    if "detail-type" in body:  # an EventBridge event
        body = body["detail"]
    return str(body["correlationId"])


# -- the server --------------------------------------------------------------------------------


def test_importing_the_package_imports_neither_boto3_nor_moto() -> None:
    code = "import sys, eda_cli.sandbox; print(sorted(m for m in ('boto3', 'moto') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_server_endpoint_env_and_moto_port(server: SandboxServer) -> None:
    assert server.endpoint_url == f"http://127.0.0.1:{server.port}"
    assert os.environ["MOTO_PORT"] == str(server.port)
    env = server.env()
    assert env["EDA_ENDPOINT_URL"] == server.endpoint_url
    assert env["AWS_ACCESS_KEY_ID"] == "testing"
    assert env["AWS_SECRET_ACCESS_KEY"] == "testing"
    assert env["AWS_REGION"] == "us-east-1"


def test_busy_port_raises_sandbox_error(server: SandboxServer) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(SandboxError) as info:
            SandboxServer(port).start()
    message = str(info.value)
    assert str(port) in message
    assert "\n" not in message
    # The failed start left the running sandbox's MOTO_PORT alone.
    assert os.environ["MOTO_PORT"] == str(server.port)


def test_second_server_shares_state_and_restores_moto_port(
    server: SandboxServer, clients: ClientFactory
) -> None:
    import boto3

    name = f"shared-{uuid.uuid4().hex[:8]}"
    clients("sqs").create_queue(QueueName=name)
    with SandboxServer() as other:
        assert other.port != server.port
        assert os.environ["MOTO_PORT"] == str(other.port)
        sqs = boto3.client("sqs", endpoint_url=other.endpoint_url, region_name="us-east-1")
        assert sqs.get_queue_url(QueueName=name)["QueueUrl"]
    assert os.environ["MOTO_PORT"] == str(server.port)
    with pytest.raises(SandboxError):
        _ = other.endpoint_url
    clients("sqs").delete_queue(QueueUrl=clients("sqs").get_queue_url(QueueName=name)["QueueUrl"])


def test_step_functions_executions_run(server: SandboxServer, clients: ClientFactory) -> None:
    """Execution is on, and service integrations reach the server through MOTO_PORT."""
    sfn, sqs = clients("stepfunctions"), clients("sqs")
    queue_url = sqs.create_queue(QueueName=f"sfn-probe-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    definition = {
        "StartAt": "Send",
        "States": {
            "Send": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {"QueueUrl": queue_url, "MessageBody.$": "$.body"},
                "Next": "Done",
            },
            "Done": {"Type": "Pass", "End": True},
        },
    }
    machine = sfn.create_state_machine(
        name=f"probe-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    execution = sfn.start_execution(
        stateMachineArn=machine, name=f"run-{uuid.uuid4().hex}", input=json.dumps({"body": "hello"})
    )["executionArn"]
    deadline = time.monotonic() + 20
    status = "RUNNING"
    while status == "RUNNING" and time.monotonic() < deadline:
        status = sfn.describe_execution(executionArn=execution)["status"]
        if status == "RUNNING":
            time.sleep(0.1)
    assert status == "SUCCEEDED"
    assert [m["Body"] for m in _peek(clients, queue_url)] == ["hello"]


def test_reset_empties_the_backends(server: SandboxServer, clients: ClientFactory) -> None:
    sqs = clients("sqs")
    sqs.create_queue(QueueName="to-be-reset")
    server.reset()
    assert "QueueUrls" not in sqs.list_queues(QueueNamePrefix="to-be-reset")


# -- the demo pipeline -------------------------------------------------------------------------


def test_dlq_depths_match_the_pipeline(demo: DemoPipeline, clients: ClientFactory) -> None:
    assert demo.traffic_sent
    for queue in demo.queues:
        assert _depth(clients, queue.url) == queue.messages, queue.name
    assert demo.message_counts == {
        "inventory": 0,
        "payments": 0,
        "notifications": 0,
        "fraud-review": 3,
        "eu-fulfilment": 7,
        "cancellations": 2,
        "shipping": 0,
        "inventory-dlq": 2,
        "payments-dlq": 4,
        "notifications-dlq": 1,
        "fraud-review-dlq": 0,
        "eu-fulfilment-dlq": 3,
        "notify-lambda-dlq": 3,
        "eu-orders-target-dlq": 3,
        "inventory-subscription-dlq": 2,
        "shipping-dlq": 0,
    }
    assert json.loads(json.dumps(demo.to_dict()))["queues"][0]["name"] == "inventory"


def test_poison_messages_are_in_their_dlqs(demo: DemoPipeline, clients: ClientFactory) -> None:
    for dlq in ("payments-dlq", "inventory-dlq", "notifications-dlq"):
        queue = demo.queue(dlq)
        messages = _peek(clients, queue.url)
        assert sorted(_correlation_id(m) for m in messages) == sorted(queue.correlation_ids)
        # Dead-lettered by SQS, after maxReceiveCount receives.
        assert all(int(m["Attributes"]["ApproximateReceiveCount"]) >= 3 for m in messages)
    assert set(demo.poison_correlation_ids) >= {"corr-0006", "corr-0008", "corr-0015"}


def test_payments_dlq_has_two_shapes_and_typed_attributes(demo: DemoPipeline, clients: ClientFactory) -> None:
    messages = _peek(clients, demo.queue("payments-dlq").url)
    envelopes = [m for m in messages if json.loads(m["Body"]).get("Type") == "Notification"]
    legacy = [m for m in messages if "total_cents" in json.loads(m["Body"])]
    assert len(envelopes) == 2
    assert len(legacy) == 2
    attributes = legacy[0]["MessageAttributes"]
    assert attributes["tenant"]["DataType"] == "String.tenant"
    assert attributes["amount"]["DataType"] == "Number.float"
    assert attributes["schemaVersion"]["DataType"] == "Number"
    assert attributes["signature"]["DataType"] == "Binary"
    assert isinstance(attributes["signature"]["BinaryValue"], bytes)


def test_lambda_dlq_messages_carry_lambda_error_attributes(
    demo: DemoPipeline, clients: ClientFactory
) -> None:
    queue = demo.queue("notify-lambda-dlq")
    assert queue.role == "lambda-dlq"
    messages = _peek(clients, queue.url)
    assert len(messages) == 3
    errors = set()
    for message in messages:
        attributes = message["MessageAttributes"]
        assert attributes["ErrorCode"] == {"StringValue": "200", "DataType": "Number"}
        assert attributes["RequestID"]["DataType"] == "String"
        errors.add(attributes["ErrorMessage"]["StringValue"])
    assert errors == {"Task timed out after 3.00 seconds", "KeyError: 'email'"}
    # Nothing points at it through a RedrivePolicy.
    sqs = clients("sqs")
    for source in demo.queues:
        policy = sqs.get_queue_attributes(QueueUrl=source.url, AttributeNames=["RedrivePolicy"])
        assert queue.arn not in policy.get("Attributes", {}).get("RedrivePolicy", "")


def test_the_target_dlq_holds_events_as_eventbridge_writes_them(demo: DemoPipeline, clients: ClientFactory) -> None:
    """eu-orders' target names its own DLQ (DeadLetterConfig), which no RedrivePolicy names; its messages
    are the events, with the six String attributes EventBridge documents (EXHAUSTED_RETRY_CONDITION only
    when the retry policy ran out)."""
    events, sqs = clients("events"), clients("sqs")
    queue = demo.queue("eu-orders-target-dlq")
    assert queue.role == "target-dlq"
    [target] = events.list_targets_by_rule(Rule="eu-orders", EventBusName=demo.bus_name)["Targets"]
    assert target["DeadLetterConfig"] == {"Arn": queue.arn}
    assert target["Arn"] == demo.queue("eu-fulfilment").arn
    rule_arn = events.describe_rule(Name="eu-orders", EventBusName=demo.bus_name)["Arn"]
    # Its policy lets EventBridge send to it, from that rule only.
    [statement] = json.loads(sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["Policy"])
                             ["Attributes"]["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": rule_arn}}
    messages = _peek(clients, queue.url)
    assert sorted(_correlation_id(m) for m in messages) == sorted(queue.correlation_ids)
    for message in messages:
        event = json.loads(message["Body"])
        assert list(event) == ["version", "id", "detail-type", "source", "account", "time", "region", "resources",
                               "detail"]
        assert event["source"] == "shop.orders" and event["detail"]["region"] == "EU"
        attributes = message["MessageAttributes"]
        assert {a["DataType"] for a in attributes.values()} == {"String"}
        assert attributes["RULE_ARN"]["StringValue"] == rule_arn
        assert attributes["TARGET_ARN"]["StringValue"] == target["Arn"]
        code = attributes["ERROR_CODE"]["StringValue"]
        if code == "NO_PERMISSIONS":  # not retried: straight to the DLQ
            assert set(attributes) == {"RULE_ARN", "TARGET_ARN", "ERROR_CODE", "ERROR_MESSAGE", "RETRY_ATTEMPTS"}
            assert attributes["RETRY_ATTEMPTS"]["StringValue"] == "0"
        else:
            assert attributes["EXHAUSTED_RETRY_CONDITION"]["StringValue"] == "MaximumEventAgeInSeconds"
            assert int(attributes["RETRY_ATTEMPTS"]["StringValue"]) > 0
    # Not named by a RedrivePolicy.
    for source in demo.queues:
        policy = sqs.get_queue_attributes(QueueUrl=source.url, AttributeNames=["RedrivePolicy"])
        assert queue.arn not in policy.get("Attributes", {}).get("RedrivePolicy", "")


def test_the_subscription_dlq_holds_notifications_as_sns_writes_them(
    demo: DemoPipeline, clients: ClientFactory
) -> None:
    """inventory's subscription names its own DLQ (RedrivePolicy); without raw delivery SNS writes there
    the envelope it would have delivered, and no message attribute of its own."""
    sns, sqs = clients("sns"), clients("sqs")
    queue = demo.queue("inventory-subscription-dlq")
    assert queue.role == "subscription-dlq"
    redrive = {}
    for arn in demo.subscription_arns:
        attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
        if "RedrivePolicy" in attributes:
            redrive[attributes["Endpoint"]] = (arn, json.loads(attributes["RedrivePolicy"]))
    inventory = demo.queue("inventory").arn
    assert list(redrive) == [inventory]  # the other subscriptions have none
    subscription, policy = redrive[inventory]
    assert policy == {"deadLetterTargetArn": queue.arn}
    [statement] = json.loads(sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["Policy"])
                             ["Attributes"]["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": demo.topic_arn}}
    messages = _peek(clients, queue.url)
    assert sorted(_correlation_id(m) for m in messages) == sorted(queue.correlation_ids)
    for message in messages:
        assert "MessageAttributes" not in message
        assert message["Body"].startswith('{\n  "Type" : "Notification",\n')
        envelope = json.loads(message["Body"])
        assert list(envelope) == ["Type", "MessageId", "TopicArn", "Message", "Timestamp", "SignatureVersion",
                                  "Signature", "SigningCertURL", "UnsubscribeURL", "MessageAttributes"]
        assert envelope["TopicArn"] == demo.topic_arn
        assert envelope["UnsubscribeURL"].endswith(f"SubscriptionArn={subscription}")
        assert envelope["MessageAttributes"]["eventType"] == {"Type": "String", "Value": "order.created"}
        assert envelope["MessageAttributes"]["schemaVersion"] == {"Type": "Number", "Value": "2"}


def test_redrive_policies_and_retention(demo: DemoPipeline, clients: ClientFactory) -> None:
    sqs = clients("sqs")
    for queue in demo.queues:
        attributes = sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["All"])["Attributes"]
        if queue.role == "source":
            assert attributes["MessageRetentionPeriod"] == "345600"
            policy = json.loads(attributes["Policy"])
            assert policy["Statement"][0]["Action"] == "sqs:SendMessage"
            if queue.dlq:
                redrive = json.loads(attributes["RedrivePolicy"])
                assert redrive["deadLetterTargetArn"] == demo.queue(queue.dlq).arn
                # shipping's 10 is one of the demo's deliberate misconfigurations.
                assert int(redrive["maxReceiveCount"]) == (10 if queue.name == "shipping" else 3)
            else:
                assert "RedrivePolicy" not in attributes
        else:
            assert attributes["MessageRetentionPeriod"] == "1209600"


def test_topic_and_bus_routing(demo: DemoPipeline, clients: ClientFactory) -> None:
    sns, events = clients("sns"), clients("events")
    assert len(demo.subscription_arns) == 4  # inventory, payments, notifications, shipping
    for arn in demo.subscription_arns:
        attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
        assert attributes.get("RawMessageDelivery", "false") == "false"
    rules = events.list_rules(EventBusName=demo.bus_name)["Rules"]
    assert {r["Name"] for r in rules} == set(demo.rule_names)
    high_value = next(r for r in rules if r["Name"] == "high-value-orders")
    assert json.loads(high_value["EventPattern"])["detail"] == {"amount": [{"numeric": [">", 1000]}]}
    fraud = _peek(clients, demo.queue("fraud-review").url)
    assert all(json.loads(m["Body"])["detail"]["amount"] > 1000 for m in fraud)


def test_alarms_exist_on_dlq_depth(demo: DemoPipeline, clients: ClientFactory) -> None:
    alarms = {a["AlarmName"]: a for a in clients("cloudwatch").describe_alarms()["MetricAlarms"]}
    for queue in demo.queues:
        if queue.role == "source":
            continue
        if queue.name == "shipping-dlq":  # a deliberate misconfiguration: a DLQ without an alarm
            assert queue.alarm is None
            assert not any(queue.name in str(a["Dimensions"]) for a in alarms.values())
            continue
        alarm = alarms[queue.alarm or ""]
        assert alarm["Namespace"] == "AWS/SQS"
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": queue.name}]
        assert alarm["Threshold"] == 0
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm["StateValue"] == ("ALARM" if queue.messages else "OK")
    assert set(demo.alarm_names) <= set(alarms)


def test_age_of_oldest_message_is_published(demo: DemoPipeline, clients: ClientFactory) -> None:
    from datetime import datetime, timedelta, timezone

    now = datetime.now(timezone.utc)
    answer = clients("cloudwatch").get_metric_statistics(
        Namespace="AWS/SQS",
        MetricName="ApproximateAgeOfOldestMessage",
        Dimensions=[{"Name": "QueueName", "Value": "payments-dlq"}],
        StartTime=now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=1),
        Period=60,
        Statistics=["Maximum"],
    )
    points = answer["Datapoints"]
    assert points
    assert 0 <= points[0]["Maximum"] < 120
    assert points[0]["Unit"] == "Seconds"


def test_orders_stream_and_idempotency_ttl(demo: DemoPipeline, clients: ClientFactory) -> None:
    dynamodb, streams = clients("dynamodb"), clients("dynamodbstreams")
    table = dynamodb.describe_table(TableName="orders")["Table"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert table["LatestStreamArn"] == demo.stream_arn
    shard = streams.describe_stream(StreamArn=demo.stream_arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=demo.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]
    assert {r["eventName"] for r in records} == {"INSERT", "MODIFY", "REMOVE"}

    ttl = dynamodb.describe_time_to_live(TableName="orders-idempotency")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}
    items = dynamodb.scan(TableName="orders-idempotency")["Items"]
    assert len(items) == demo.idempotency_records > 0
    assert all(int(item["ttl"]["N"]) > time.time() for item in items)


def test_seeding_twice_reuses_resources_and_skips_traffic(
    server: SandboxServer, demo: DemoPipeline, clients: ClientFactory
) -> None:
    again = seed_demo(clients)
    assert not again.traffic_sent
    assert again.notes
    assert again.message_counts == demo.message_counts
    assert [q.url for q in again.queues] == [q.url for q in demo.queues]
    assert again.stream_arn == demo.stream_arn
    for queue in again.queues:
        assert _depth(clients, queue.url) == queue.messages
    assert len(clients("sns").list_subscriptions_by_topic(TopicArn=demo.topic_arn)["Subscriptions"]) == 4


def test_seed_after_reset_sends_traffic_again(server: SandboxServer, clients: ClientFactory) -> None:
    server.reset()
    fresh = seed_demo(clients)
    assert fresh.traffic_sent
    assert fresh.queue("payments-dlq").messages == 4
    assert fresh.seconds < 30
