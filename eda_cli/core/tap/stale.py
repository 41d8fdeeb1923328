"""Taps left behind by a tail that was killed (SIGKILL, a lost machine): find them, remove them.

Queues are found by name prefix and aged by their CreatedTimestamp; rules (every bus, by name prefix)
and subscriptions (whose endpoint is an eda-tap queue) belong to the queue of the same name and are
stale when that queue is stale or already gone. A queue younger than `older_than` may belong to a tail
still running, so it and its feed are left alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eda_cli.aws.errors import error_code
from eda_cli.aws.resolve import RESOURCE_GONE
from eda_cli.core.tap.naming import PREFIX
from eda_cli.core.tap.tap import TARGET_ID, TapResource

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient


@dataclass(frozen=True)
class StaleResource:
    resource: TapResource
    #: Seconds since the tap's queue was created; None when its queue is gone (a rule or subscription
    #: whose queue was deleted).
    age: float | None

    def to_dict(self) -> dict[str, Any]:
        return {**self.resource.to_dict(), "age_seconds": None if self.age is None else round(self.age)}


def count_taps(sqs: SQSClient) -> int:
    """How many eda-tap queues exist (one ListQueues call): the cheap check a tail makes at start."""
    return len(sqs.list_queues(QueueNamePrefix=PREFIX, MaxResults=1000).get("QueueUrls", []))


def find_stale(sqs: SQSClient, events: EventBridgeClient, sns: SNSClient, older_than: float,
               clock: Callable[[], float] = time.time) -> list[StaleResource]:
    """Every eda-tap queue older than `older_than` seconds, and the rules and subscriptions of those
    taps (or of taps whose queue is gone). Rules first, then subscriptions, then queues: removal order."""
    now = clock()
    ages: dict[str, float | None] = {}
    queues: list[StaleResource] = []
    for page in sqs.get_paginator("list_queues").paginate(QueueNamePrefix=PREFIX):
        for url in page.get("QueueUrls", []):
            name = url.rstrip("/").rsplit("/", 1)[-1]
            try:
                attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["CreatedTimestamp"])["Attributes"]
            except Exception as exc:
                if error_code(exc) in RESOURCE_GONE:
                    continue
                raise
            age = now - float(attrs.get("CreatedTimestamp", now))
            ages[name] = age
            if age >= older_than:
                queues.append(StaleResource(TapResource("queue", name, url), age))

    def stale(name: str) -> tuple[bool, float | None]:
        if name not in ages:
            return True, None  # its queue is gone: nothing can still be reading it
        age = ages[name]
        return age is not None and age >= older_than, age

    rules: list[StaleResource] = []
    for bus_page in pages(events.list_event_buses, "EventBuses"):
        bus = bus_page["Name"]
        for rule in pages(lambda bus=bus, **kw: events.list_rules(NamePrefix=PREFIX, EventBusName=bus, **kw),
                           "Rules"):
            rule_stale, rule_age = stale(rule["Name"])
            if rule_stale:
                rules.append(StaleResource(TapResource("rule", rule["Name"], rule["Arn"], bus), rule_age))
    subscriptions: list[StaleResource] = []
    for sub_page in sns.get_paginator("list_subscriptions").paginate():
        for sub in sub_page.get("Subscriptions", []):
            endpoint = sub.get("Endpoint", "")
            name = endpoint.rsplit(":", 1)[-1]
            arn = sub.get("SubscriptionArn", "")
            if sub.get("Protocol") != "sqs" or not name.startswith(PREFIX) or not arn.startswith("arn:"):
                continue  # "PendingConfirmation" has no ARN to unsubscribe yet
            sub_stale, sub_age = stale(name)
            if sub_stale:
                subscriptions.append(StaleResource(TapResource("subscription", name, arn, sub.get("TopicArn", "")),
                                                   sub_age))
    return rules + subscriptions + queues


def pages(call: Callable[..., Any], key: str) -> list[Any]:
    """Every item of a NextToken-paged List call that has no paginator for every argument."""
    items: list[Any] = []
    token: str | None = None
    while True:
        page = call(NextToken=token) if token else call()
        items += page.get(key, [])
        token = page.get("NextToken")
        if not token:
            return items


def remove(sqs: SQSClient, events: EventBridgeClient, sns: SNSClient, stale: list[StaleResource]
           ) -> tuple[list[TapResource], list[tuple[TapResource, str]]]:
    """Remove `stale` (in its order): returns what was removed and what could not be, with the error."""
    removed: list[TapResource] = []
    failed: list[tuple[TapResource, str]] = []
    for item in stale:
        r = item.resource
        try:
            if r.kind == "rule":
                targets = [t["Id"] for t in events.list_targets_by_rule(Rule=r.name, EventBusName=r.parent)
                           .get("Targets", [])] or [TARGET_ID]
                try:
                    events.remove_targets(Rule=r.name, EventBusName=r.parent, Ids=targets)
                except Exception as exc:
                    if error_code(exc) not in RESOURCE_GONE:
                        raise
                events.delete_rule(Name=r.name, EventBusName=r.parent)
            elif r.kind == "subscription":
                sns.unsubscribe(SubscriptionArn=r.id)
            else:
                sqs.delete_queue(QueueUrl=r.id)
        except Exception as exc:
            if error_code(exc) not in RESOURCE_GONE:
                failed.append((r, f"{type(exc).__name__}: {exc}"))
                continue
        removed.append(r)
    return removed, failed
