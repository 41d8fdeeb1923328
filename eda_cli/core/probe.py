"""`eda probe`: send one event, stamped with a fresh correlation id, and see which targets it reaches.

The plan (`plan_bus`, `plan_topic`) predicts with eda's engine where the event goes: every rule of the bus
(or subscription of the topic), matched or missed with the reason, and the targets of each. A `Probe` then
taps every feed that leads to a predicted or expected target (a copy of the rule or subscription, into a
queue of the probe's own: a consumer's queue is never read), sends the event once, and waits until every
tap has seen it or the timeout passes. A copy proves that AWS itself routed the event along that feed; the
last hop, which no copy can observe, is checked where eda can: the rule is enabled, the queue exists, and
its access policy lets the rule (or the topic) send to it. Nothing here prints.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from eda_cli.aws.errors import error_code
from eda_cli.aws.resolve import QUEUE_MISSING, Arn
from eda_cli.core.concurrency import map_bounded
from eda_cli.core.tap.feeds import Feed, narrowed
from eda_cli.errors import AwsError, UsageError

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

    from eda_cli.core.routing import Candidate, RouteResult
    from eda_cli.core.tap.tap import Tap, TapResource

#: A probe's correlation id: recognisable in logs and in `eda trace`.
ID_PREFIX = "eda-probe-"
#: Where the id is stamped unless --id-path or eda.yaml's correlation_id_paths say otherwise: a path that
#: `eda trace` looks at by default.
DEFAULT_BUS_ID_PATH = "detail.correlationId"
DEFAULT_TOPIC_ID_PATH = "correlationId"


def new_probe_id() -> str:
    return ID_PREFIX + secrets.token_hex(6)


def stamp(document: Mapping[str, Any], path: str, value: str) -> tuple[dict[str, Any], Any]:
    """A copy of `document` with `value` at the dotted `path` (objects created on the way), and the value it
    replaced (None when there was none). UsageError when a step of the path is not an object."""
    out = copy.deepcopy(dict(document))
    node: dict[str, Any] = out
    parts = path.split(".")
    for n, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise UsageError(f"cannot stamp the probe's id at {path}: {'.'.join(parts[:n + 1])} is not an object",
                             hint="choose another path with --id-path")
        node = child
    previous = node.get(parts[-1])
    node[parts[-1]] = value
    return out, previous


# -- the plan ---------------------------------------------------------------------------------------


@dataclass
class ProbeTarget:
    """One place the event should, or might, reach; and what the probe saw of it."""

    #: The target's ARN (or the subscription's endpoint).
    target: str
    #: The rule or subscription that leads there; None for an --expect target nothing on the bus leads to.
    feed: Feed | None
    #: eda's engine says the event goes there (the rule matches and is enabled; the filter admits it).
    predicted: bool
    #: Named with --expect.
    expected: bool = False
    #: Why it is not predicted (the engine's explanation), in lines.
    missed: tuple[str, ...] = ()
    #: What stops the last hop, found by a check (a disabled rule, a missing queue, a queue policy).
    blocked: str = ""
    #: What was checked of the last hop, in words ("" before the checks run).
    checked: str = ""
    #: The tap copying its feed received the probe: AWS routed it along that feed.
    matched: bool = False
    #: Seconds from the send to the tap's receive.
    latency: float | None = None

    @property
    def wanted(self) -> bool:
        """Counted in the verdict: predicted or expected."""
        return self.predicted or self.expected

    @property
    def arrived(self) -> bool:
        """AWS routed it along the feed (seen on the tap) and nothing eda checked stops the last hop."""
        return self.matched and not self.blocked

    @property
    def via(self) -> str:
        return self.feed.describe() if self.feed is not None else ""

    def reason(self, timeout: float) -> str:
        """Why it did not arrive, or a remark on how it did; "" when there is nothing to say."""
        if self.arrived:
            return "" if self.predicted else "arrived although eda's engine predicted a miss"
        if self.blocked:
            routed = "routed (seen on the tap), but " if self.matched else ""
            return f"{routed}{self.blocked}"
        if self.missed:
            return "; ".join(self.missed)
        if self.feed is None:
            return "nothing on the bus or topic leads to it"
        return f"predicted, but the tap did not see it within {timeout:g} s"

    def to_dict(self, timeout: float) -> dict[str, Any]:
        return {"target": self.target, "via": self.via, "predicted": self.predicted, "expected": self.expected,
                "arrived": self.arrived, "matched": self.matched,
                "latency_ms": None if self.latency is None or not self.arrived else round(self.latency * 1000),
                "reason": self.reason(timeout), "checked": self.checked}


@dataclass
class ProbePlan:
    """What to send, where, and what to expect."""

    #: "bus" or "topic".
    kind: str
    #: The bus name, or the topic ARN.
    destination: str
    correlation_id: str
    id_path: str
    #: For a bus, the PutEvents entry; for a topic, the Publish arguments.
    send: dict[str, Any]
    targets: list[ProbeTarget]
    notes: list[str] = field(default_factory=list)

    @property
    def feeds(self) -> list[Feed]:
        """The feeds to tap: those leading to a predicted or expected target, one per copy (two subscriptions
        with the same filter policy, or two rules with the same pattern on one bus, share a tap)."""
        seen: dict[tuple[str, ...], Feed] = {}
        for target in self.targets:
            if target.wanted and target.feed is not None:
                seen.setdefault(target.feed.copy_key, target.feed)
        return list(seen.values())

    def tap_pattern(self, feed: Feed) -> str | None:
        """The pattern of a feed's tap: for a rule, its pattern narrowed to the probe's id when that is safe
        (so the tap receives the probe, not a copy of the production traffic); else the feed's own."""
        if feed.kind == "rule":
            return narrowed(feed.pattern, self.id_path, self.correlation_id) or feed.pattern
        return feed.pattern


def _explained(result: RouteResult, name: str) -> tuple[str, ...]:
    from eda_cli.core.routing import explain_lines

    for miss in result.missed:
        if miss.name == name:
            return tuple(line.strip() for reason in miss.reasons for line in explain_lines(reason))
    return ()


def _build_targets(candidates: Sequence[Candidate], result: RouteResult, targets_of: Mapping[str, tuple[str, ...]],
                   feed_of: Callable[[Candidate], Feed], expect: Sequence[str], nowhere: str) -> list[ProbeTarget]:
    matched = {m.name for m in result.matched}
    out: list[ProbeTarget] = []
    for candidate in candidates:
        feed = feed_of(candidate)
        hit = candidate.name in matched
        for target in targets_of.get(candidate.name, ()):
            predicted = hit and not candidate.disabled
            missed = () if hit else _explained(result, candidate.name)
            blocked = f"rule {candidate.name} is disabled: it delivers nothing" if hit and candidate.disabled else ""
            out.append(ProbeTarget(target, feed, predicted, target in expect, missed, blocked))
    reached = {t.target for t in out}
    for target in expect:
        if target not in reached:
            out.append(ProbeTarget(target, None, False, True, (nowhere,)))
    return out


def bus_entry(event: Mapping[str, Any], bus: str) -> dict[str, Any]:
    """The PutEvents entry for `event`: a full EventBridge event (source, detail-type, detail) or a PutEvents
    entry (Source, DetailType, Detail). A bare detail has no source to send it from: UsageError."""
    if "Source" in event or "DetailType" in event:
        source, detail_type, detail = event.get("Source"), event.get("DetailType"), event.get("Detail")
        if isinstance(detail, str):
            from eda_cli.core.routing import parse_event

            detail = parse_event(detail, "the entry's Detail")
        resources = event.get("Resources") or []
    else:
        source, detail_type, detail = event.get("source"), event.get("detail-type"), event.get("detail")
        resources = event.get("resources") or []
    if not isinstance(source, str) or not isinstance(detail_type, str) or not isinstance(detail, dict):
        raise UsageError("the event needs a source, a detail-type and a detail object to be sent",
                         hint='give a full event ({"source": ..., "detail-type": ..., "detail": {...}}) or a '
                         "PutEvents entry (Source, DetailType, Detail)")
    return {"Source": source, "DetailType": detail_type, "Detail": detail, "Resources": list(resources),
            "EventBusName": bus}


def plan_bus(events: EventBridgeClient, bus: str, event: Mapping[str, Any], *, id_path: str, correlation_id: str,
             expect: Sequence[str] = (), region: str = "us-east-1", where: str = "") -> ProbePlan:
    """Stamp the event, match it against every rule of `bus`, and list every rule's targets."""
    from eda_cli.core import routing

    if not id_path.startswith("detail."):
        raise UsageError(f"--id-path {id_path}: on a bus the probe's id goes inside the event's detail",
                         hint=f"e.g. --id-path {DEFAULT_BUS_ID_PATH}")
    entry = bus_entry(event, bus)
    detail, previous = stamp(entry["Detail"], id_path.split(".", 1)[1], correlation_id)
    entry["Detail"] = detail
    notes = [f"replaced {id_path} {previous!r} with the probe's id"] if previous is not None else []
    sources = routing.bus_rules(events, bus, where)
    notes += sources.notes
    envelope, _ = routing.to_envelope({"source": entry["Source"], "detail-type": entry["DetailType"],
                                       "detail": detail, "resources": entry["Resources"]},
                                      account=sources.account, region=region)
    fetched = map_bounded(lambda c: routing.rule_targets(events, c.name, bus), sources.candidates, concurrency=8)
    targets_of: dict[str, tuple[str, ...]] = {}
    for outcome in fetched:
        if outcome.error is not None:
            raise outcome.error
        targets_of[outcome.item.name] = outcome.value or ()
    result = routing.evaluate(sources.candidates, envelope, targets_of=lambda c: targets_of[c.name])

    def feed_of(c: Candidate) -> Feed:
        return Feed("rule", c.name, bus, c.arn or "", c.pattern if isinstance(c.pattern, str) else
                    json.dumps(c.pattern), targets=targets_of.get(c.name, ()))

    targets = _build_targets(sources.candidates, result, targets_of, feed_of, expect, f"no rule on {bus} targets it")
    return ProbePlan("bus", bus, correlation_id, id_path, entry, targets, notes)


def publish_attributes(attributes: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """--attributes as SNS Publish wants them: `{"type": "order.created", "amount": 12, "tags": ["a"]}`
    (String, Number, String.Array), or already in Publish form (`{"DataType": ..., "StringValue": ...}`)."""
    out: dict[str, dict[str, str]] = {}
    for name, value in attributes.items():
        if isinstance(value, Mapping) and "DataType" in value:
            out[name] = {str(k): str(v) for k, v in value.items()}
        elif isinstance(value, bool):
            out[name] = {"DataType": "String", "StringValue": "true" if value else "false"}
        elif isinstance(value, str):
            out[name] = {"DataType": "String", "StringValue": value}
        elif isinstance(value, (int, float)):
            out[name] = {"DataType": "Number", "StringValue": json.dumps(value)}
        elif isinstance(value, list):
            out[name] = {"DataType": "String.Array", "StringValue": json.dumps(value)}
        else:
            raise UsageError(f"--attributes: {name}: a string, number or list expected, got {json.dumps(value)}")
    return out


def plan_topic(sns: SNSClient, topic_arn: str, message: Mapping[str, Any], *, id_path: str, correlation_id: str,
               attributes: Mapping[str, Any] | None = None, expect: Sequence[str] = (), where: str = "",
               ) -> ProbePlan:
    """Stamp the message, match it against the filter policy of every subscription of the topic."""
    from eda_cli.core import routing

    if topic_arn.endswith(".fifo"):
        raise UsageError("eda probe cannot probe a FIFO topic: its taps are standard queues, which a FIFO topic "
                         "does not deliver to")
    body, previous = stamp(message, id_path, correlation_id)
    notes = [f"replaced {id_path} {previous!r} with the probe's id"] if previous is not None else []
    send: dict[str, Any] = {"TopicArn": topic_arn, "Message": json.dumps(body)}
    if attributes:
        send["MessageAttributes"] = publish_attributes(attributes)
    sources = routing.topic_subscriptions(sns, topic_arn, where)
    notes += sources.notes
    result = routing.evaluate(sources.candidates, {"Message": body, "MessageAttributes":
                                                   send.get("MessageAttributes", {})})
    targets_of = {c.name: c.targets or () for c in sources.candidates}

    def feed_of(c: Candidate) -> Feed:
        policy = c.pattern if c.pattern is None or isinstance(c.pattern, str) else json.dumps(c.pattern)
        return Feed("subscription", topic_arn.rsplit(":", 1)[-1], topic_arn, c.arn or "", policy, c.scope,
                    c.targets or ())

    targets = _build_targets(sources.candidates, result, targets_of, feed_of, expect,
                             "no subscription of the topic delivers to it")
    return ProbePlan("topic", topic_arn, correlation_id, id_path, send, targets, notes)


# -- the last hop -----------------------------------------------------------------------------------


def check_delivery(sqs: SQSClient, target: ProbeTarget, region: str) -> None:
    """Check what eda can of the last hop, in place: a queue target must exist and its access policy must
    let the rule (or topic) send to it. Other targets are not checked (said in `checked`)."""
    from eda_cli.core.audit.policy import queue_policy_allows

    feed = target.feed
    if feed is None or target.blocked:
        return
    arn = Arn.parse(target.target) if target.target.startswith("arn:") else None
    if arn is None or arn.service != "sqs":
        kind = arn.service if arn is not None else "an endpoint"
        target.checked = f"not checked: eda checks the last hop to SQS queues only, not to {kind}"
        return
    if arn.region and arn.region != region:
        target.checked = f"not checked: the queue is in {arn.region}"
        return
    try:
        url = sqs.get_queue_url(QueueName=arn.resource, QueueOwnerAWSAccountId=arn.account)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {})
        policy_text = attributes.get("Policy")
    except Exception as exc:
        code = error_code(exc)
        if code in QUEUE_MISSING:
            target.blocked = "the queue does not exist"
            target.checked = "the queue exists"
            return
        if code is None:
            raise
        target.checked = f"not checked: reading the queue's policy failed ({code})"
        return
    try:
        policy = json.loads(policy_text) if policy_text else None
    except ValueError:
        policy = None
    who = f"rule {feed.name}" if feed.kind == "rule" else f"topic {feed.name}"
    allowed = queue_policy_allows(policy, target.target, feed.service, feed.source_arn)
    if allowed is False:
        target.blocked = f"the queue's policy does not let {who} send to it"
        target.checked = (f"the queue's access policy: no statement allows {feed.service} sqs:SendMessage from "
                          f"aws:SourceArn {feed.source_arn}")
    elif allowed is None:
        target.checked = "the queue's access policy: conditions eda does not evaluate, so not proven"
    else:
        target.checked = f"the queue's access policy admits {who}"


# -- the run ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProbeResult:
    plan: ProbePlan
    sent_at: float | None
    timeout: float
    #: Messages the taps received that were not the probe (an unnarrowed copy sees production traffic).
    ignored: int = 0
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Sent, and every predicted or expected target arrived (vacuously true when none is wanted)."""
        return self.sent_at is not None and all(t.arrived for t in self.plan.targets if t.wanted)

    def to_dict(self) -> dict[str, Any]:
        sent = None if self.sent_at is None else datetime.fromtimestamp(self.sent_at, timezone.utc).isoformat(
            timespec="milliseconds").replace("+00:00", "Z")
        return {"correlation_id": self.plan.correlation_id, "kind": self.plan.kind,
                "destination": self.plan.destination, "id_path": self.plan.id_path, "sent_at": sent,
                "targets": [t.to_dict(self.timeout) for t in self.plan.targets], "ok": self.ok,
                "ignored": self.ignored, "notes": list(self.notes)}


class SendError(AwsError):
    """AWS accepted the PutEvents call but refused the entry."""


class Probe:
    """Open the taps, send, wait, close: the command drives these steps so that it can let Ctrl-C cut only
    the wait short. `close()` removes every tap on every way out."""

    def __init__(self, plan: ProbePlan, sqs: SQSClient, *, events: EventBridgeClient | None = None,
                 sns: SNSClient | None = None, lifetime: float | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.plan = plan
        self.sqs, self.events, self.sns = sqs, events, sns
        self.clock = clock
        self.lifetime = lifetime
        self.feeds = plan.feeds
        self.taps: list[Tap] = []
        self.sent_at: float | None = None
        self.ignored = 0
        self.notes: list[str] = []

    def check(self, region: str) -> None:
        """The last-hop checks of every wanted target (concurrently: one or two SQS calls each)."""
        wanted = [t for t in self.plan.targets if t.wanted]
        for outcome in map_bounded(lambda t: check_delivery(self.sqs, t, region), wanted, concurrency=8):
            if outcome.error is not None:
                raise outcome.error

    def open(self, on_created: Callable[[TapResource], None]) -> None:
        from eda_cli.core.tap import Tap

        for feed in self.feeds:
            tap = Tap(self.sqs, events=self.events, sns=self.sns, lifetime=self.lifetime, clock=self.clock)
            self.taps.append(tap)
            feed.open(tap, on_created, self.plan.tap_pattern(feed))

    def send(self) -> None:
        self.sent_at = self.clock()
        if self.plan.kind == "bus":
            if self.events is None:
                raise ValueError("a bus probe needs an EventBridge client")
            entry = dict(self.plan.send)
            entry["Detail"] = json.dumps(entry["Detail"])
            entries: list[PutEventsRequestEntryTypeDef] = [entry]  # type: ignore[list-item]
            response = self.events.put_events(Entries=entries)
            if response.get("FailedEntryCount"):
                failed = response.get("Entries", [{}])[0]
                raise SendError(f"EventBridge refused the probe: {failed.get('ErrorCode', '')} "
                                f"{failed.get('ErrorMessage', '')}".strip())
        else:
            if self.sns is None:
                raise ValueError("a topic probe needs an SNS client")
            self.sns.publish(**self.plan.send)

    def wait(self, timeout: float, cancel: threading.Event | None = None) -> None:
        """Receive on every tap until each has seen the probe, or `timeout` seconds after the send."""
        from eda_cli.core.tap.fanin import receive_all

        if self.sent_at is None or not self.taps:
            return
        waiting = set(range(len(self.taps)))
        remaining = max(0.0, timeout - (self.clock() - self.sent_at))
        for index, delivery in receive_all(self.taps, timeout=remaining, cancel=cancel, clock=self.clock):
            if self.plan.correlation_id not in delivery.raw:
                self.ignored += 1
                continue
            if index not in waiting:
                continue  # a second copy (a retry): the first one's latency stands
            waiting.discard(index)
            key = self.feeds[index].copy_key
            for target in self.plan.targets:
                if target.feed is not None and target.feed.copy_key == key:
                    target.matched = True
                    target.latency = delivery.received_at - self.sent_at
            if not waiting:
                return

    def close(self) -> tuple[list[TapResource], list[tuple[TapResource, str]]]:
        """Remove every tap; returns what was removed and what could not be (with the error)."""
        from eda_cli.core.tap import close_all

        return close_all(self.taps)

    def result(self, timeout: float) -> ProbeResult:
        return ProbeResult(self.plan, self.sent_at, timeout, self.ignored, tuple(self.notes))
