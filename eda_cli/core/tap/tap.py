"""One tap: create its queue and its feed (a rule on a bus, or a subscription to a topic), receive what
arrives, and remove all of it again.

The queue is eda's own, so what is received is deleted at once. `close()` removes in reverse order of
creation whatever was created, even when creation stopped half way, and tolerates resources that are
already gone; call it in a `finally` (the command does, under deferred interrupts).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from eda_cli.aws.errors import error_code
from eda_cli.aws.resolve import RESOURCE_GONE
from eda_cli.core.tap.naming import EPHEMERAL_TAG, EXPIRES_TAG, tap_name
from eda_cli.errors import AwsError

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

#: Short retention: what nobody reads is gone in 5 minutes (SQS's minimum is 60 s).
RETENTION_SECONDS = 300
#: The longest long poll SQS allows.
MAX_WAIT_SECONDS = 20
#: The target id of the tap's rule.
TARGET_ID = "eda-tap"
#: How long a tap without --timeout is presumed to live (its eda:expires tag).
DEFAULT_LIFETIME = 3600.0



@dataclass(frozen=True)
class TapResource:
    """One thing a tap created (or found left over): `kind` is queue, rule or subscription."""

    kind: str
    name: str
    #: The queue's URL, the rule's ARN, or the subscription's ARN.
    id: str
    #: Where it lives: the bus of a rule, the topic of a subscription.
    parent: str = ""

    def describe(self) -> str:
        where = f" on {self.parent}" if self.parent else ""
        return f"{self.kind} {self.name}{where}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "id": self.id, "parent": self.parent}


@dataclass(frozen=True)
class Delivery:
    """One message the tap received: `body` as delivered (an EventBridge event, or an SNS notification),
    parsed when it is JSON."""

    body: Any
    raw: str
    received_at: float


@dataclass
class _State:
    queue_url: str = ""
    queue_arn: str = ""
    rule: TapResource | None = None
    target: bool = False
    subscription: TapResource | None = None
    queue: TapResource | None = None
    closed: bool = False
    left: list[tuple[TapResource, str]] = field(default_factory=list)


class TapError(AwsError):
    """AWS accepted a call but refused part of it (a failed PutTargets entry)."""


class Tap:
    """A temporary queue fed by a temporary rule (`open_bus`) or subscription (`open_topic`)."""

    def __init__(self, sqs: SQSClient, *, events: EventBridgeClient | None = None, sns: SNSClient | None = None,
                 name: str | None = None, lifetime: float | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.sqs = sqs
        self.events = events
        self.sns = sns
        self.name = name or tap_name()
        self.clock = clock
        self.lifetime = lifetime if lifetime is not None else DEFAULT_LIFETIME
        self._state = _State()
        self.received = 0

    # -- create -----------------------------------------------------------------------------------

    def _tags(self) -> dict[str, str]:
        expires = datetime.fromtimestamp(self.clock(), timezone.utc) + timedelta(seconds=self.lifetime)
        return {EPHEMERAL_TAG: "true", EXPIRES_TAG: expires.strftime("%Y-%m-%dT%H:%M:%SZ")}

    def _create_queue(self) -> TapResource:
        url = self.sqs.create_queue(QueueName=self.name, Attributes={"MessageRetentionPeriod": str(RETENTION_SECONDS)},
                                    tags=self._tags())["QueueUrl"]
        self._state.queue_url = url
        self._state.queue = TapResource("queue", self.name, url)
        attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
        self._state.queue_arn = attrs["QueueArn"]
        return self._state.queue

    def _admit(self, service: str, source_arn: str) -> None:
        """The queue's policy: only `source_arn` (the tap's rule, or the topic) may send to it."""
        policy = {"Version": "2012-10-17", "Statement": [{
            "Sid": "eda-tap", "Effect": "Allow", "Principal": {"Service": service}, "Action": "sqs:SendMessage",
            "Resource": self._state.queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": source_arn}}}]}
        self.sqs.set_queue_attributes(QueueUrl=self._state.queue_url, Attributes={"Policy": json.dumps(policy)})

    def open_bus(self, bus: str, pattern: str, on_created: Callable[[TapResource], None] = lambda r: None
                 ) -> list[TapResource]:
        """Create the queue and a rule on `bus` with `pattern` (JSON) targeting it; returns what it created.
        On an error, what was created so far is in `created` and `close()` removes it."""
        if self.events is None:
            raise ValueError("open_bus needs an EventBridge client")
        created = [self._create_queue()]
        on_created(created[-1])
        rule_arn = self.events.put_rule(Name=self.name, EventBusName=bus, EventPattern=pattern, State="ENABLED",
                                        Description="eda tail: temporary, removed when the tail ends",
                                        Tags=[{"Key": k, "Value": v} for k, v in self._tags().items()])["RuleArn"]
        self._state.rule = TapResource("rule", self.name, rule_arn, bus)
        created.append(self._state.rule)
        on_created(created[-1])
        self._admit("events.amazonaws.com", rule_arn)
        self._state.target = True  # set before the call: a half-done PutTargets is still removed
        response = self.events.put_targets(Rule=self.name, EventBusName=bus,
                                           Targets=[{"Id": TARGET_ID, "Arn": self._state.queue_arn}])
        if response.get("FailedEntryCount"):
            failed = response.get("FailedEntries", [{}])[0]
            raise TapError(f"could not target the tap queue from rule {self.name}: "
                           f"{failed.get('ErrorCode', '')} {failed.get('ErrorMessage', '')}".strip())
        return created

    def open_topic(self, topic_arn: str, filter_policy: str | None = None,
                   on_created: Callable[[TapResource], None] = lambda r: None,
                   scope: str | None = None) -> list[TapResource]:
        """Create the queue and subscribe it to `topic_arn` (raw delivery off, so attributes show), with
        `filter_policy` on `scope` (MessageAttributes, SNS's default, or MessageBody) when given."""
        if self.sns is None:
            raise ValueError("open_topic needs an SNS client")
        created = [self._create_queue()]
        on_created(created[-1])
        self._admit("sns.amazonaws.com", topic_arn)
        attributes = {"RawMessageDelivery": "false"}
        if filter_policy is not None:
            attributes["FilterPolicy"] = filter_policy
            if scope is not None and scope != "MessageAttributes":
                attributes["FilterPolicyScope"] = scope
        arn = self.sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=self._state.queue_arn,
                                 Attributes=attributes, ReturnSubscriptionArn=True)["SubscriptionArn"]
        self._state.subscription = TapResource("subscription", self.name, arn, topic_arn)
        created.append(self._state.subscription)
        on_created(created[-1])
        return created

    # -- receive ----------------------------------------------------------------------------------

    def receive(self, *, count: int | None = None, timeout: float | None = None,
                cancel: threading.Event | None = None) -> Iterator[Delivery]:
        """What arrives, until `count` deliveries, `timeout` seconds, or `cancel`. Long polls (up to 20 s,
        never past the timeout), hands each batch over as soon as it is received (`received_at` is that
        moment), then deletes it: the queue is the tap's own. A batch cut short by `count`, or whose
        consumer stops, is not deleted: it goes with the queue."""
        start = self.clock()
        while True:
            if cancel is not None and cancel.is_set():
                return
            if count is not None and self.received >= count:
                return
            wait = MAX_WAIT_SECONDS
            if timeout is not None:
                remaining = timeout - (self.clock() - start)
                if remaining <= 0:
                    return
                wait = max(0, min(MAX_WAIT_SECONDS, int(remaining + 0.999)))
            wanted = 10 if count is None else max(1, min(10, count - self.received))
            messages = self.sqs.receive_message(QueueUrl=self._state.queue_url, MaxNumberOfMessages=wanted,
                                                WaitTimeSeconds=wait).get("Messages", [])
            now = self.clock()
            for message in messages:
                if count is not None and self.received >= count:
                    return  # more than asked arrived in one batch: the queue is deleted with them
                raw = message.get("Body", "")
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw
                self.received += 1
                yield Delivery(body, raw, now)
            if messages:  # after they are shown: the queue is the tap's own, nobody else can receive them
                self.sqs.delete_message_batch(QueueUrl=self._state.queue_url, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])

    # -- remove -----------------------------------------------------------------------------------

    @property
    def left(self) -> list[tuple[TapResource, str]]:
        """What `close()` could not remove, with the error: for a warning and `eda tail cleanup`."""
        return list(self._state.left)

    def close(self) -> list[TapResource]:
        """Remove what this tap created, in reverse order; idempotent; already-gone counts as removed.
        Returns what it removed; what it could not remove is in `left` (it never raises for that)."""
        state = self._state
        if state.closed:
            return []
        state.closed = True
        removed: list[TapResource] = []
        if state.rule is not None and self.events is not None:
            rule, events = state.rule, self.events
            if state.target:
                _attempt(lambda: events.remove_targets(Rule=rule.name, EventBusName=rule.parent, Ids=[TARGET_ID]),
                         None, removed, state.left, rule)
            _attempt(lambda: events.delete_rule(Name=rule.name, EventBusName=rule.parent), rule, removed,
                     state.left)
        if state.subscription is not None and self.sns is not None:
            sub, sns = state.subscription, self.sns
            _attempt(lambda: sns.unsubscribe(SubscriptionArn=sub.id), sub, removed, state.left)
        if state.queue is not None:
            queue = state.queue
            _attempt(lambda: self.sqs.delete_queue(QueueUrl=queue.id), queue, removed, state.left)
        return removed


def close_all(taps: Sequence[Tap]) -> tuple[list[TapResource], list[tuple[TapResource, str]]]:
    """Close every tap, the last opened first: what was removed, and what could not be (with the error)."""
    removed: list[TapResource] = []
    left: list[tuple[TapResource, str]] = []
    for tap in reversed(taps):
        removed += tap.close()
        left += tap.left
    return removed, left


def _attempt(call: Callable[[], object], resource: TapResource | None, removed: list[TapResource],
             left: list[tuple[TapResource, str]], owner: TapResource | None = None) -> bool:
    """Run one removal; gone already counts as done. Any other error is recorded in `left`."""
    try:
        call()
    except Exception as exc:
        if error_code(exc) not in RESOURCE_GONE:  # already gone: removing it again is not a failure
            subject = resource or owner
            if subject is not None:
                left.append((subject, f"{type(exc).__name__}: {exc}"))
            return False
    if resource is not None:
        removed.append(resource)
    return True
