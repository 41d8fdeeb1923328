"""`seed_demo`: create the demo pipeline, run its traffic, and say what was made."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from eda_cli.sandbox.demo_pipeline.consumer_logs import write_consumer_logs
from eda_cli.sandbox.demo_pipeline.dead_letters import write_dead_letters, write_schema_drift
from eda_cli.sandbox.demo_pipeline.model import DemoPipeline, DemoQueue
from eda_cli.sandbox.demo_pipeline.resources import (
    ensure_bus,
    ensure_queue,
    ensure_subscription,
    ensure_table,
    ensure_ttl,
    planned_queue_arn,
    queue_depth,
    send_policy,
)
from eda_cli.sandbox.demo_pipeline.spec import (
    BUS,
    DLQ_RETENTION_SECONDS,
    FANOUT_QUEUES,
    IDEMPOTENCY_TABLE,
    LAMBDA_DLQ,
    LEGACY_IDEMPOTENCY_TABLE,
    MAX_RECEIVE_COUNT,
    ORDERS_TABLE,
    POISON,
    RETIRED_TOPIC,
    RULES,
    SCHEMA_DRIFT_DLQ,
    SHIPPING_DLQ,
    SHIPPING_MAX_RECEIVE_COUNT,
    SHIPPING_QUEUE,
    SOURCE_RETENTION_SECONDS,
    SUBSCRIPTION_DLQ,
    SUBSCRIPTION_DLQ_QUEUE,
    TARGET_DLQ,
    TARGET_RETRY_POLICY,
    TOPIC,
)
from eda_cli.sandbox.demo_pipeline.traffic import oldest_sent, put_age_metrics, run_traffic

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import TargetTypeDef
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient


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
    bus_arn = ensure_bus(events, BUS)
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
    dlq_names = ([f"{q}-dlq" for q in FANOUT_QUEUES] + [r.dlq for r in RULES if r.dlq] + [LAMBDA_DLQ]
                 + [r.target_dlq for r in RULES if r.target_dlq] + [SUBSCRIPTION_DLQ])
    made: dict[str, tuple[str, str]] = {}
    for name in [*dlq_names, SHIPPING_DLQ]:
        made[name] = ensure_queue(sqs, name, {"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)})
    # A rule target's DLQ must let EventBridge send to it, as the rule's queue does.
    for rule in RULES:
        if rule.target_dead_letter:
            queue_url, queue_arn = made[rule.target_dead_letter]
            policy = send_policy(queue_arn, "events.amazonaws.com", rule_arns[rule.name])
            sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": policy})
    # A subscription's DLQ must let SNS send to it: the topic is the source.
    sqs.set_queue_attributes(QueueUrl=made[SUBSCRIPTION_DLQ][0], Attributes={
        "Policy": send_policy(made[SUBSCRIPTION_DLQ][1], "sns.amazonaws.com", topic_arn)})

    sources: list[tuple[str, str | None, str, str]] = [  # queue, dlq, principal, source arn
        *((q, f"{q}-dlq", "sns.amazonaws.com", topic_arn) for q in FANOUT_QUEUES),
        *((r.queue, r.dlq, "events.amazonaws.com", rule_arns[r.name]) for r in RULES),
    ]
    for name, dlq, principal, source_arn in sources:
        attributes = {
            "MessageRetentionPeriod": str(SOURCE_RETENTION_SECONDS),
            "VisibilityTimeout": "30",
            "Policy": send_policy(planned_queue_arn(region, made, name), principal, source_arn),
        }
        if dlq:
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": made[dlq][1], "maxReceiveCount": MAX_RECEIVE_COUNT}
            )
        made[name] = ensure_queue(sqs, name, attributes)
    # Misconfigured: the policy still names the retired topic, and maxReceiveCount is 10.
    retired_topic_arn = f"{topic_arn.rsplit(':', 1)[0]}:{RETIRED_TOPIC}"
    made[SHIPPING_QUEUE] = ensure_queue(sqs, SHIPPING_QUEUE, {
        "MessageRetentionPeriod": str(SOURCE_RETENTION_SECONDS),
        "VisibilityTimeout": "30",
        "Policy": send_policy(planned_queue_arn(region, made, SHIPPING_QUEUE), "sns.amazonaws.com", retired_topic_arn),
        "RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": made[SHIPPING_DLQ][1], "maxReceiveCount": SHIPPING_MAX_RECEIVE_COUNT}
        ),
    })

    subscription_arns = tuple(ensure_subscription(sns, topic_arn, made[q][1]) for q in FANOUT_QUEUES)
    # What SNS cannot deliver to inventory goes to its subscription's DLQ (the other subscriptions have none).
    inventory_subscription = subscription_arns[FANOUT_QUEUES.index(SUBSCRIPTION_DLQ_QUEUE)]
    sns.set_subscription_attributes(SubscriptionArn=inventory_subscription, AttributeName="RedrivePolicy",
                                    AttributeValue=json.dumps({"deadLetterTargetArn": made[SUBSCRIPTION_DLQ][1]}))
    for rule in RULES:
        target: TargetTypeDef = {"Id": rule.queue, "Arn": made[rule.queue][1]}
        if rule.target_dead_letter:  # cancelled-orders' target has neither: an audit finding
            target["DeadLetterConfig"] = {"Arn": made[rule.target_dead_letter][1]}
            target["RetryPolicy"] = TARGET_RETRY_POLICY
        events.put_targets(Rule=rule.name, EventBusName=BUS, Targets=[target])

    stream_arn = ensure_table(dynamodb, ORDERS_TABLE, "order_id", stream=True)
    ensure_table(dynamodb, IDEMPOTENCY_TABLE, "messageId", stream=False)
    ensure_ttl(dynamodb, IDEMPOTENCY_TABLE, "ttl")
    ensure_table(dynamodb, LEGACY_IDEMPOTENCY_TABLE, "messageId", stream=False)  # no TTL: a finding

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
    traffic = all(queue_depth(sqs, made[q][0], in_flight=True) == 0 for q in all_queues)
    sent = records = 0
    oldest: dict[str, int] = {}
    notes: list[str] = []
    if traffic:
        sent, records, oldest = run_traffic(sqs, sns, events, dynamodb, made, topic_arn, clock)
        eu_rule = next(r for r in RULES if r.target_dlq == TARGET_DLQ)
        sent += write_dead_letters(sqs, made, topic_arn=topic_arn, inventory_subscription_arn=inventory_subscription,
                                   eu_rule_arn=rule_arns[eu_rule.name], target_arn=made[eu_rule.queue][1],
                                   clock=clock)
        target_arn = made[eu_rule.queue][1]
        sent += write_schema_drift(sqs, made, region=target_arn.split(":")[3], account=target_arn.split(":")[4],
                                   clock=clock)
        for dlq in (TARGET_DLQ, SUBSCRIPTION_DLQ, SCHEMA_DRIFT_DLQ):
            first = oldest_sent(sqs, made[dlq][0])
            if first is not None:
                oldest[dlq] = first
        put_age_metrics(cloudwatch, oldest, clock())
        write_consumer_logs(client("logs"), clock)
    else:
        notes.append("the demo queues already held messages: no traffic sent")
    # Subscribed after the traffic: in AWS its policy keeps every message out, but moto does not
    # enforce queue policies, so subscribing earlier would fill the queue AWS would leave empty.
    subscription_arns += (ensure_subscription(sns, topic_arn, made[SHIPPING_QUEUE][1]),)

    depths = {q: queue_depth(sqs, made[q][0]) for q in all_queues}
    for dlq, alarm in alarms.items():
        count = depths[dlq]
        cloudwatch.set_alarm_state(
            AlarmName=alarm,
            StateValue="ALARM" if count else "OK",
            StateReason=f"eda sandbox: {dlq} holds {count} message(s)",
        )

    def demo_queue(name: str, role: str, **details: Any) -> DemoQueue:
        url, arn = made[name]
        return DemoQueue(name=name, url=url, arn=arn, role=role, messages=depths[name], **details)

    queues = [demo_queue(name, "source", dlq=dlq, max_receive_count=MAX_RECEIVE_COUNT if dlq else None)
              for name, dlq, _principal, _arn in sources]
    queues.append(demo_queue(SHIPPING_QUEUE, "source", dlq=SHIPPING_DLQ,
                             max_receive_count=SHIPPING_MAX_RECEIVE_COUNT))
    roles = {LAMBDA_DLQ: "lambda-dlq", TARGET_DLQ: "target-dlq", SUBSCRIPTION_DLQ: "subscription-dlq"}
    queues += [demo_queue(name, roles.get(name, "dlq"), correlation_ids=POISON.get(name, ()), alarm=alarms.get(name))
               for name in [*dlq_names, SHIPPING_DLQ]]

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
