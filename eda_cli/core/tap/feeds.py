"""What feeds a queue, so that a tap can copy it: the EventBridge rules that target the queue and the SNS
subscriptions that deliver to it.

A tap never reads the real queue (that would take messages from its consumers, or count receives against
their redrive policy). It copies each feed instead: a rule with the same pattern on the same bus, or a
subscription to the same topic with the same filter policy, each into a tap queue of its own, so that
what arrives is attributed to the feed that brought it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eda_cli.core.tap.naming import MATCH_ALL
from eda_cli.core.tap.stale import pages

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sns import SNSClient

    from eda_cli.core.tap.tap import Tap, TapResource


@dataclass(frozen=True)
class Feed:
    """One rule or subscription that delivers to a queue (or any target)."""

    #: "rule" or "subscription".
    kind: str
    #: The rule's name; for a subscription, the topic's name.
    name: str
    #: The bus of a rule; the topic ARN of a subscription.
    parent: str
    #: The rule's ARN, or the subscription's ARN.
    arn: str
    #: The event pattern, or the filter policy (JSON text); None: every message (a subscription without one).
    pattern: str | None = None
    #: A subscription's FilterPolicyScope.
    scope: str = "MessageAttributes"
    #: Where it delivers (the targets of a rule, the endpoint of a subscription).
    targets: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.kind == "rule":
            return f"rule {self.name} on {self.parent}"
        return f"subscription to topic {self.name}"

    @property
    def copy_key(self) -> tuple[str, ...]:
        """Feeds with the same key are copied by the same tap: same kind, same bus or topic, same pattern."""
        return (self.kind, self.parent, self.pattern or "", self.scope)

    @property
    def source_arn(self) -> str:
        """What a queue policy must admit for this feed to deliver: the rule's ARN, or the topic's."""
        return self.arn if self.kind == "rule" else self.parent

    @property
    def service(self) -> str:
        return "events.amazonaws.com" if self.kind == "rule" else "sns.amazonaws.com"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "parent": self.parent, "arn": self.arn,
                "pattern": self.pattern, "scope": self.scope, "targets": list(self.targets)}

    def open(self, tap: Tap, on_created: Callable[[TapResource], None], pattern: str | None = None
             ) -> list[TapResource]:
        """Copy this feed into `tap`: a rule with this pattern (or `pattern`, a narrower one) on the same bus,
        or a subscription to the same topic with the same filter policy."""
        if self.kind == "rule":
            return tap.open_bus(self.parent, pattern or self.pattern or MATCH_ALL, on_created)
        return tap.open_topic(self.parent, pattern or self.pattern, on_created, self.scope)


@dataclass(frozen=True)
class QueueFeeds:
    """The feeds of one queue that a tap can copy, and in words what it cannot."""

    queue_arn: str
    feeds: tuple[Feed, ...]
    #: Rules and subscriptions left out, and why (a scheduled rule, a disabled rule, a FIFO topic).
    skipped: tuple[str, ...] = ()
    #: The queues whose DLQ this queue is (their redrive policy moves messages here: no tap sees them).
    dlq_of: tuple[str, ...] = ()


def _topic_name(arn: str) -> str:
    return arn.rsplit(":", 1)[-1]


def rule_feeds(events: EventBridgeClient, target_arn: str, skipped: list[str]) -> list[Feed]:
    """Every rule, on every bus, that targets `target_arn` (ListEventBuses, ListRuleNamesByTarget per bus,
    DescribeRule). Scheduled and disabled rules go to `skipped`: neither delivers what is put on the bus."""
    found: list[Feed] = []
    for bus in pages(events.list_event_buses, "EventBuses"):
        bus_name = str(bus["Name"])
        for page in events.get_paginator("list_rule_names_by_target").paginate(TargetArn=target_arn,
                                                                              EventBusName=bus_name):
            for name in page.get("RuleNames", []):
                rule = events.describe_rule(Name=name, EventBusName=bus_name)
                if not rule.get("EventPattern"):
                    skipped.append(f"rule {name} on {bus_name} runs on a schedule: there is no traffic to copy")
                elif rule.get("State", "ENABLED") != "ENABLED":
                    skipped.append(f"rule {name} on {bus_name} is {rule.get('State')}: it delivers nothing")
                else:
                    found.append(Feed("rule", str(name), bus_name, str(rule["Arn"]), str(rule["EventPattern"]),
                                      targets=(target_arn,)))
    return found


def subscription_feeds(sns: SNSClient, endpoint_arn: str, skipped: list[str]) -> list[Feed]:
    """Every confirmed subscription whose endpoint is `endpoint_arn` (ListSubscriptions, every page), with
    its filter policy and scope (GetSubscriptionAttributes)."""
    found: list[Feed] = []
    for page in sns.get_paginator("list_subscriptions").paginate():
        for sub in page.get("Subscriptions", []):
            if sub.get("Endpoint") != endpoint_arn:
                continue
            arn, topic = str(sub.get("SubscriptionArn", "")), str(sub.get("TopicArn", ""))
            if not arn.startswith("arn:"):
                skipped.append(f"the subscription to topic {_topic_name(topic)} is pending confirmation")
                continue
            if topic.endswith(".fifo"):
                skipped.append(f"topic {_topic_name(topic)} is FIFO: a tap (a standard queue) cannot subscribe "
                               "to it")
                continue
            attrs = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
            found.append(Feed("subscription", _topic_name(topic), topic, arn, attrs.get("FilterPolicy") or None,
                              attrs.get("FilterPolicyScope") or "MessageAttributes", targets=(endpoint_arn,)))
    return found


def queue_feeds(events: EventBridgeClient, sns: SNSClient, queue_arn: str,
                dlq_sources: Callable[[], list[str]] = list) -> QueueFeeds:
    """The rules and subscriptions that deliver to a queue; `dlq_sources()` names the queues whose DLQ it is."""
    skipped: list[str] = []
    feeds = rule_feeds(events, queue_arn, skipped) + subscription_feeds(sns, queue_arn, skipped)
    return QueueFeeds(queue_arn, tuple(feeds), tuple(skipped), tuple(dlq_sources()))


def narrowed(pattern: str | None, path: str, value: str) -> str | None:
    """An EventBridge pattern that matches what `pattern` matches and also requires `value` at the dotted
    `path`: a probe's tap then receives the probe alone, not a copy of the production traffic. None when
    the pattern already says something about that path (narrowing it could change what it matches)."""
    try:
        doc = json.loads(pattern) if pattern else {}
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    node = doc
    parts = path.split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            return None
        node = child
    if parts[-1] in node:
        return None
    node[parts[-1]] = [value]
    return json.dumps(doc, separators=(",", ":"))

