"""EventBridge target DLQs: which target a dead-lettered event was going to, and how to deliver it there.

When EventBridge cannot deliver an event to a rule's target, it sends the event to the target's
DeadLetterConfig queue (a standard SQS queue) with the String message attributes RULE_ARN, TARGET_ARN,
ERROR_CODE, ERROR_MESSAGE, EXHAUSTED_RETRY_CONDITION (only when a retry limit ended the delivery) and
RETRY_ATTEMPTS ("Using dead-letter queues to process undelivered events", EventBridge User Guide). The
body is the event. AWS's page does not say whether it is the original event or the target's input
after Input / InputPath / InputTransformer; what EventBridge is observed to write is the original event,
so eda reads the target's configuration (ListTargetsByRule, once per rule and target) and rebuilds the
input where that is exact: a constant Input, or a simple InputPath ($.detail, $.a.b, $.a[0]). An
InputTransformer (or a JSONPath eda does not evaluate) is not re-applied: the event goes as the DLQ holds
it, and the run says so in a note.

Each message goes to its own target directly, never back to the bus (which would fan it out again to
every other rule's targets), unless `--to-bus` asks for exactly that.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from eda_cli.aws.errors import describe, is_client_error
from eda_cli.core.archive import OutgoingMessage
from eda_cli.core.redrive.destinations import (
    PARTITION_KEY,
    SMALL_BATCH_BYTES,
    BusDestination,
    Destination,
    FirehoseDestination,
    KinesisDestination,
    LambdaDestination,
    PayloadError,
    Refused,
    SnsDestination,
    StatesDestination,
    event_entry,
    sqs_destination,
)
from eda_cli.core.redrive.sqs_io import MAX_BATCH_BYTES, ApiCounter, Caller, queue_info

#: The message attributes EventBridge sets on what it dead-letters (all of DataType String).
RULE_ARN = "RULE_ARN"
TARGET_ARN = "TARGET_ARN"
DLQ_ATTRIBUTES = ("RULE_ARN", "TARGET_ARN", "ERROR_CODE", "ERROR_MESSAGE", "EXHAUSTED_RETRY_CONDITION",
                  "RETRY_ATTEMPTS")
#: Target kinds eda delivers to, and the API it uses for each.
APIS = {"sqs": "SendMessageBatch", "sns": "PublishBatch", "lambda": "Invoke", "stepfunctions": "StartExecution",
        "eventbus": "PutEvents", "kinesis": "PutRecords", "firehose": "PutRecordBatch"}
#: What each kind is called in messages.
KINDS = "SQS, SNS, Lambda, Step Functions, event bus, Kinesis and Firehose"

Clients = Callable[[str], Any]


def _string(attributes: Mapping[str, Any], name: str) -> str | None:
    attr = attributes.get(name)
    if not isinstance(attr, Mapping):
        return None
    value = attr.get("StringValue")
    return str(value) if value else None


def eventbridge_origin(message_attributes: Mapping[str, Any]) -> tuple[str, str] | None:
    """(rule ARN, target ARN) of a message EventBridge dead-lettered, else None."""
    rule, target = _string(message_attributes, RULE_ARN), _string(message_attributes, TARGET_ARN)
    return (rule, target) if rule and target else None


@dataclass(frozen=True)
class RuleRef:
    arn: str
    partition: str
    region: str
    account: str
    bus: str  # "default" for the default bus
    name: str

    @property
    def bus_arn(self) -> str:
        return f"arn:{self.partition}:events:{self.region}:{self.account}:event-bus/{self.bus}"


def parse_rule_arn(arn: str) -> RuleRef | None:
    """arn:aws:events:REGION:ACCOUNT:rule/[BUS/]NAME (a rule on the default bus has no BUS)."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "events" or not parts[5].startswith("rule/"):
        return None
    path = parts[5].split("/")[1:]
    if len(path) == 1 and path[0]:
        return RuleRef(arn, parts[1], parts[3], parts[4], "default", path[0])
    if len(path) == 2 and all(path):
        return RuleRef(arn, parts[1], parts[3], parts[4], path[0], path[1])
    return None


def target_kind(arn: str) -> str:
    """sqs, sns, lambda, stepfunctions, eventbus, or what else the ARN names (api-destination, kinesis, logs...)."""
    parts = arn.split(":", 5)
    if len(parts) != 6:
        return "unknown"
    service, resource = parts[2], parts[5]
    if service == "states":
        return "stepfunctions" if resource.startswith("stateMachine:") else "states"
    if service == "events":
        if resource.startswith("event-bus/"):
            return "eventbus"
        return resource.split("/", 1)[0] or "events"  # api-destination, ...
    if service == "lambda":
        return "lambda" if resource.startswith("function:") else "lambda-" + resource.split(":", 1)[0]
    return service


def target_name(arn: str) -> str:
    """The resource's own name: a queue, topic, function (with its qualifier), state machine or bus."""
    parts = arn.split(":", 5)
    if len(parts) != 6:
        return arn
    resource = parts[5]
    for prefix in ("function:", "stateMachine:", "event-bus/", "api-destination/", "log-group:"):
        if resource.startswith(prefix):
            return resource[len(prefix):]
    return resource.rsplit("/", 1)[-1]


# -- the target's input -----------------------------------------------------------------------------

_STEP = re.compile(r"""\.([A-Za-z0-9_$-]+)|\[\s*'([^']*)'\s*\]|\[\s*"([^"]*)"\s*\]|\[\s*(\d+)\s*\]""")


def compile_path(path: str) -> list[str | int] | None:
    """A simple JSONPath as steps ($, $.a.b, $['a'], $.a[0]); None for anything eda does not evaluate."""
    path = path.strip()
    if not path.startswith("$"):
        return None
    steps: list[str | int] = []
    pos = 1
    while pos < len(path):
        match = _STEP.match(path, pos)
        if match is None:
            return None
        name = match.group(1) or match.group(2) or match.group(3)
        steps.append(int(match.group(4)) if match.group(4) is not None else str(name))
        pos = match.end()
    return steps


def select(value: Any, steps: list[str | int]) -> Any:
    for step in steps:
        found = (isinstance(step, int) and isinstance(value, list) and step < len(value)) or (
            isinstance(step, str) and isinstance(value, dict) and step in value)
        if found:
            value = value[step]
        else:
            raise PayloadError("the target's InputPath selects nothing in this event")
    return value


def input_of(target: Mapping[str, Any]) -> tuple[Callable[[str], str] | None, str | None]:
    """How to rebuild the target's input from the event: (body -> input, or None for the event as it is;
    a note when eda cannot rebuild it)."""
    if "Input" in target:
        constant = str(target["Input"])
        return (lambda body: constant), None
    if "InputPath" in target:
        steps = compile_path(str(target["InputPath"]))
        if steps is None:
            return None, f"InputPath {target['InputPath']} is not a simple path eda evaluates"

        def by_path(body: str) -> str:
            try:
                event = json.loads(body)
            except ValueError as exc:
                raise PayloadError("the body is not JSON, so the target's InputPath cannot select from it") from exc
            return json.dumps(select(event, steps), separators=(",", ":"), ensure_ascii=False)

        return by_path, None
    if "InputTransformer" in target:
        return None, "its InputTransformer is not re-applied"
    return None, None


def _as_delivered(rebuild: Callable[[str], str] | None, group: str | None
                  ) -> Callable[[OutgoingMessage], OutgoingMessage]:
    """The message as EventBridge would have delivered it: the input as body, none of the DLQ's attributes."""

    def transform(message: OutgoingMessage) -> OutgoingMessage:
        body = rebuild(message.body) if rebuild is not None else message.body
        return OutgoingMessage(message_id=message.message_id, body=body, group_id=group,
                               trace_header=message.trace_header)

    return transform


def _keyed(rebuild: Callable[[str], str] | None, target: Mapping[str, Any]
           ) -> Callable[[OutgoingMessage], OutgoingMessage]:
    """A Kinesis record as EventBridge would have put it: the input as data, and as partition key what the
    target's KinesisParameters.PartitionKeyPath selects from the event, else the event's id."""
    path = (target.get("KinesisParameters") or {}).get("PartitionKeyPath")
    steps: list[str | int] | None = compile_path(str(path)) if path else ["id"]
    if steps is None:
        raise PayloadError(f"PartitionKeyPath {path} is not a simple path eda evaluates")

    def transform(message: OutgoingMessage) -> OutgoingMessage:
        try:
            event = json.loads(message.body)
        except ValueError as exc:
            raise PayloadError("the body is not JSON, so it has no partition key to select") from exc
        key = select(event, steps)
        body = rebuild(message.body) if rebuild is not None else message.body
        return OutgoingMessage(message_id=message.message_id, body=body, trace_header=message.trace_header,
                               attributes={PARTITION_KEY: key if isinstance(key, str) else json.dumps(key)})

    return transform


# -- resolving a (rule, target) once ----------------------------------------------------------------


class EventBridgeRoutes:
    """The destination of each (rule, target) pair, read once (ListTargetsByRule, every page) and kept.

    `clients(service)` hands out boto3 clients (the session's); their calls are counted. Without it
    (the Python API called with an SQS client only) EventBridge messages are refused, not guessed."""

    def __init__(self, sqs: Any, clients: Clients | None, call: Caller, dlq_name: str, to_bus: bool,
                 dlq_arn: str = "") -> None:
        self.sqs = sqs
        self.dlq_arn = dlq_arn
        self.clients = clients
        self.call = call
        self.dlq_name = dlq_name
        self.to_bus = to_bus
        self._lock = threading.Lock()
        self._routes: dict[tuple[str, str], Destination | Refused] = {}
        self._clients: dict[str, Any] = {}
        self._counters: list[ApiCounter] = []
        self.notes: list[str] = []

    @property
    def calls(self) -> int:
        return sum(c.calls for c in self._counters)

    def close(self) -> None:
        for counter in self._counters:
            counter.__exit__()
        self._counters.clear()

    def client(self, service: str) -> Any:
        if service not in self._clients:
            assert self.clients is not None
            client = self.clients(service)
            counter = ApiCounter(client, event="before-parameter-build")
            counter.__enter__()
            self._counters.append(counter)
            self._clients[service] = client
        return self._clients[service]

    def resolve(self, rule_arn: str, target_arn: str) -> Destination | Refused:
        key = (rule_arn, target_arn) if not self.to_bus else (rule_arn, "")
        known = self._routes.get(key)  # the common case, without waiting for a lookup of another target
        if known is not None:
            return known
        with self._lock:
            if key not in self._routes:
                try:
                    route = self._resolve(rule_arn, target_arn)
                    if isinstance(route, Destination):
                        route.isolated_errors = True
                    self._routes[key] = route
                except Exception as exc:  # a failed lookup answers for this target's messages only
                    kind = "eventbus" if self.to_bus else target_kind(target_arn)
                    self._routes[key] = Refused(kind, self._name(kind, target_arn), target_arn,
                                                f"cannot read the target's configuration: {describe(exc)}")
            return self._routes[key]

    @staticmethod
    def _name(kind: str, arn: str) -> str:
        name = target_name(arn)
        return name if kind == "sqs" else f"{kind}:{name}"

    def _resolve(self, rule_arn: str, target_arn: str) -> Destination | Refused:
        rule = parse_rule_arn(rule_arn)
        kind = "eventbus" if self.to_bus else target_kind(target_arn)
        name = self._name(kind, target_arn)
        if self.clients is None:
            return Refused(kind, name, target_arn, "eda was given no AWS clients for EventBridge targets")
        if rule is None:
            return Refused(kind, name, target_arn, f"RULE_ARN {rule_arn} is not an EventBridge rule ARN")
        if self.to_bus:
            return self._bus(rule.bus_arn, "--to-bus")
        if target_arn == self.dlq_arn:
            return Refused(kind, name, target_arn, "the target is this DLQ itself: delivering would only loop")
        if kind not in APIS:
            return Refused(kind, name, target_arn,
                           f"eda does not redrive to EventBridge targets of kind {kind} (it delivers to {KINDS} "
                           "targets); pass --to-bus or --to QUEUE")
        target = self._target(rule, target_arn)
        if isinstance(target, str):
            return Refused(kind, name, target_arn, target)
        if kind == "eventbus":
            return self._bus(target_arn, "eventbridge target")
        rebuild, why_not = input_of(target)
        if why_not is not None:
            self.notes.append(f"{name} (rule {rule.name}): {why_not}: its messages are delivered as the DLQ holds "
                              "them (the event), not as the target's input")
        route = "eventbridge target"
        if kind == "sqs":
            return self._queue(target_arn, route, rebuild, target)
        deliver = _as_delivered(rebuild, None)
        if kind == "sns":
            return SnsDestination(kind, name, target_arn, APIS[kind], route, max_bytes=SMALL_BATCH_BYTES,
                                  transform=deliver, sns=self.client("sns"), default_group=self.dlq_name)
        if kind == "lambda":
            return LambdaDestination(kind, name, target_arn, APIS[kind], route, transform=deliver,
                                     client=self.client("lambda"))
        if kind == "kinesis":
            return KinesisDestination(kind, name, target_arn, APIS[kind], route, max_bytes=MAX_BATCH_BYTES,
                                      transform=_keyed(rebuild, target), client=self.client("kinesis"))
        if kind == "firehose":
            return FirehoseDestination(kind, name, target_arn, APIS[kind], route, max_bytes=MAX_BATCH_BYTES,
                                       transform=deliver, client=self.client("firehose"))
        return StatesDestination(kind, name, target_arn, APIS[kind], route, transform=deliver,
                                 client=self.client("stepfunctions"))

    def _target(self, rule: RuleRef, target_arn: str) -> Mapping[str, Any] | str:
        """The rule's target with this ARN (ListTargetsByRule, every page), or why there is none."""
        events = self.client("events")
        kwargs: dict[str, Any] = {"Rule": rule.name}
        if rule.bus != "default":
            kwargs["EventBusName"] = rule.bus

        def every_page() -> list[Mapping[str, Any]]:
            pages = events.get_paginator("list_targets_by_rule").paginate(**kwargs)
            return [target for page in pages for target in page.get("Targets", [])]

        try:
            targets = self.call(every_page)
        except Exception as exc:
            if is_client_error(exc, "ResourceNotFoundException"):
                return (f"rule {rule.name} (bus {rule.bus}) no longer exists: eda does not deliver "
                        "for a rule that is gone")
            raise
        matching = [t for t in targets if t.get("Arn") == target_arn]
        if not matching:
            return (f"rule {rule.name} no longer has a target {target_arn}: eda does not deliver to a target "
                    "the rule no longer sends to")
        if len(matching) > 1:
            ids = ", ".join(str(t.get("Id")) for t in matching)
            self.notes.append(f"rule {rule.name} has {len(matching)} targets with ARN {target_arn} ({ids}): "
                              f"eda uses the configuration of {matching[0].get('Id')}")
        return matching[0]

    def _queue(self, arn: str, route: str, rebuild: Callable[[str], str] | None,
               target: Mapping[str, Any]) -> Destination | Refused:
        parts = arn.split(":")
        name, account = parts[5], parts[4]
        try:
            url = self.call(self.sqs.get_queue_url, QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            queue = queue_info(self.sqs, url, name)
        except Exception as exc:
            return Refused("sqs", name, arn, f"cannot read the target queue: {describe(exc)}")
        group = target.get("SqsParameters", {}).get("MessageGroupId") if queue.fifo else None
        if queue.fifo and not group:
            self.notes.append(f"{name} is FIFO and its target has no SqsParameters.MessageGroupId: "
                              f"messages go to group {self.dlq_name!r}")
        return sqs_destination(queue, self.sqs, route, self.dlq_name, _as_delivered(rebuild, group))

    def _bus(self, bus_arn: str, route: str) -> BusDestination:
        def check(message: OutgoingMessage) -> OutgoingMessage:
            event_entry(message.body, bus_arn)  # raises PayloadError when the body is no event
            return message

        return BusDestination("eventbus", f"eventbus:{target_name(bus_arn)}", bus_arn, APIS["eventbus"], route,
                              max_bytes=SMALL_BATCH_BYTES, transform=check, client=self.client("events"))
