"""Which queues the configuration names as DLQs, besides SQS RedrivePolicies: SNS subscriptions
(RedrivePolicy), EventBridge rule targets (DeadLetterConfig), Lambda functions (DeadLetterConfig, and the
on-failure destination of their async invoke configs), event source mappings (on-failure destination)
and EventBridge pipes (DeadLetterConfig of a stream source).

Three waves over every service at once, each fanned out with `map_bounded`, every List call paginated:

1. ListSubscriptions, ListEventBuses, ListFunctions, ListEventSourceMappings, ListPipes;
2. GetSubscriptionAttributes per subscription, ListRules per bus, ListFunctionEventInvokeConfigs per
   function, DescribePipe per pipe whose source is a stream (only those have a DeadLetterConfig);
3. ListTargetsByRule per rule.

Nothing is called per queue. A call that fails is a `Problem` of its service (the rest is still read);
a resource deleted between a List and its Describe is skipped; an operation the endpoint does not
implement at all (an emulator's HTTP 501) is noted in `Origins.unavailable`: nothing can have been
configured through an API that is not there, so nothing is missed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from eda_cli.aws.clients import ClientFactory
from eda_cli.aws.errors import describe, is_client_error, unimplemented
from eda_cli.aws.resolve import RESOURCE_GONE
from eda_cli.core.concurrency import DEFAULT_CONCURRENCY, map_bounded
from eda_cli.core.dlq.model import (
    FOUND_BY_EVENTBRIDGE,
    FOUND_BY_LAMBDA_ASYNC,
    FOUND_BY_LAMBDA_ON_FAILURE,
    FOUND_BY_MAPPING,
    FOUND_BY_PIPE,
    FOUND_BY_SNS,
    Elsewhere,
    Origins,
    Source,
    ordered,
)
from eda_cli.core.pipeline.model import name_from_arn
from eda_cli.core.problems import Problem

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient




#: The services whose configuration can name a DLQ, by the name a client is asked for.
SERVICES = ("sns", "events", "lambda", "pipes")
#: A narrower `services` entry than "lambda": the functions only (their DeadLetterConfig and their async invoke
#: configs' on-failure destinations), not the event source mappings. What a redrive of a Lambda DLQ reads.
LAMBDA_FUNCTIONS = "lambda functions"


class _Vanished(Exception):
    """The resource was deleted between the List and this call: skipped, not a problem."""


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    """Every item under `key` across all pages of `operation`."""
    return [item for page in client.get_paginator(operation).paginate(**kwargs) for item in page.get(key, [])]


def _list_event_buses(events: EventBridgeClient) -> list[dict[str, Any]]:
    """ListEventBuses has no botocore paginator: follow NextToken by hand."""
    buses: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = events.list_event_buses(NextToken=token) if token else events.list_event_buses()
        buses.extend(dict(bus) for bus in page.get("EventBuses", []))
        token = page.get("NextToken")
        if not token:
            return buses


def _dig(row: Any, *keys: str) -> Any:
    value = row
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _is_queue(arn: str) -> bool:
    return arn.startswith("arn:") and arn.split(":")[2:3] == ["sqs"]


def _is_stream(arn: str) -> bool:
    parts = arn.split(":")
    return len(parts) > 5 and ((parts[2] == "dynamodb" and "/stream/" in parts[5])
                               or (parts[2] == "kinesis" and parts[5].startswith("stream/")))


@dataclass(frozen=True)
class _Task:
    service: str
    #: What the task reads, for a Problem ("ListSubscriptions", a subscription ARN, a bus, a function, ...).
    resource: str
    #: The API operation, for `Origins.unavailable`.
    operation: str
    call: Callable[[], Any]


class _Collector:
    """The sources found, destinations elsewhere, problems and unavailable operations, across threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sources: dict[str, list[Source]] = {}
        self.elsewhere: list[Elsewhere] = []
        self.problems: list[Problem] = []
        self.unavailable: set[str] = set()

    def found(self, source: Source, destination: Any) -> None:
        if not isinstance(destination, str) or not destination:
            return
        with self.lock:
            if _is_queue(destination):
                self.sources.setdefault(destination, []).append(source)
            else:
                self.elsewhere.append(Elsewhere(source, destination))

    def run(self, tasks: list[_Task], concurrency: int) -> dict[_Task, Any]:
        """Run one wave: the answers of the tasks that answered; failures recorded."""
        answers: dict[_Task, Any] = {}
        for outcome in map_bounded(lambda task: task.call(), tasks, concurrency):
            task, error = outcome.item, outcome.error
            if error is None:
                answers[task] = outcome.value
            elif isinstance(error, _Vanished):
                continue
            elif unimplemented(error):
                with self.lock:
                    self.unavailable.add(f"{task.service} {task.operation}")
            else:
                with self.lock:
                    self.problems.append(Problem(task.service, task.resource, describe(error), error))
        return answers


def _guard(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception as exc:
        if is_client_error(exc, *RESOURCE_GONE, "NotFoundException"):
            raise _Vanished(str(exc)) from exc
        raise


def find_origins(
    clients: ClientFactory, *, concurrency: int = DEFAULT_CONCURRENCY, services: Iterable[str] = SERVICES
) -> Origins:
    """Every queue the configuration of `services` names as a DLQ, with what names it (see the module).
    `services` holds names of SERVICES, or LAMBDA_FUNCTIONS for the functions without the mappings."""
    wanted = set(services)
    found = _Collector()

    # -- wave 1: the List calls -------------------------------------------------------------------
    listings: list[_Task] = []
    if "sns" in wanted:
        listings.append(_Task("sns", "ListSubscriptions", "ListSubscriptions",
                              lambda: _pages(clients("sns"), "list_subscriptions", "Subscriptions")))
    if "events" in wanted:
        listings.append(_Task("events", "ListEventBuses", "ListEventBuses",
                              lambda: _list_event_buses(clients("events"))))
    if "lambda" in wanted or LAMBDA_FUNCTIONS in wanted:
        listings.append(_Task("lambda", "ListFunctions", "ListFunctions",
                              lambda: _pages(clients("lambda"), "list_functions", "Functions")))
    if "lambda" in wanted:
        listings.append(_Task("lambda", "ListEventSourceMappings", "ListEventSourceMappings",
                              lambda: _pages(clients("lambda"), "list_event_source_mappings", "EventSourceMappings")))
    if "pipes" in wanted:
        listings.append(_Task("pipes", "ListPipes", "ListPipes",
                              lambda: _pages(clients("pipes"), "list_pipes", "Pipes")))
    listed = {task.operation: list(answer or []) for task, answer in found.run(listings, concurrency).items()}

    functions = listed.get("ListFunctions", [])
    for fn in functions:
        found.found(_function_source(FOUND_BY_LAMBDA_ASYNC, fn.get("FunctionArn", "")),
                    _dig(fn, "DeadLetterConfig", "TargetArn"))
    for mapping in listed.get("ListEventSourceMappings", []):
        found.found(_mapping_source(mapping), _dig(mapping, "DestinationConfig", "OnFailure", "Destination"))

    # -- wave 2: one call per subscription, bus, function and stream pipe -------------------------
    details: list[_Task] = []
    for sub in listed.get("ListSubscriptions", []):
        arn = str(sub.get("SubscriptionArn", ""))
        if arn.startswith("arn:"):  # "PendingConfirmation" has no attributes to read
            details.append(_Task("sns", arn, "GetSubscriptionAttributes", partial(_subscription, clients, found, sub)))
    for bus in listed.get("ListEventBuses", []):
        name = str(bus.get("Name", ""))
        details.append(_Task("events", name, "ListRules", partial(lambda n: _guard(
            lambda: _pages(clients("events"), "list_rules", "Rules", EventBusName=n)), name)))
    for fn in functions:
        name = str(fn.get("FunctionName", ""))
        details.append(_Task("lambda", name, "ListFunctionEventInvokeConfigs",
                             partial(_invoke_configs, clients, found, name)))
    for pipe in listed.get("ListPipes", []):
        if _is_stream(str(pipe.get("Source", ""))):
            name = str(pipe.get("Name", ""))
            details.append(_Task("pipes", name, "DescribePipe", partial(_pipe, clients, found, name)))
    answers = found.run(details, concurrency)

    # -- wave 3: the targets of each rule -----------------------------------------------------------
    targets: list[_Task] = []
    for task, rules in answers.items():
        if task.operation != "ListRules":
            continue
        for rule in rules or []:
            bus, name = str(rule.get("EventBusName") or task.resource), str(rule.get("Name", ""))
            targets.append(_Task("events", f"{bus}/{name}", "ListTargetsByRule",
                                 partial(_targets, clients, found, bus, name, str(rule.get("Arn", "")))))
    found.run(targets, concurrency)

    return Origins(
        by_queue={arn: ordered(sources) for arn, sources in found.sources.items()},
        elsewhere=tuple(sorted(found.elsewhere, key=lambda e: (e.source.kind, e.source.owner))),
        problems=tuple(found.problems),
        unavailable=tuple(sorted(found.unavailable)),
    )


# -- each kind of source ---------------------------------------------------------------------------


def _function_source(kind: str, function_arn: str) -> Source:
    """A function, as the owner of an async DLQ or an on-failure destination. A qualified ARN (an alias
    or a version, as ListFunctionEventInvokeConfigs names its configs) keeps its qualifier, but not $LATEST."""
    parts = function_arn.split(":")
    name = parts[6] if len(parts) > 6 else name_from_arn(function_arn)
    qualifier = parts[7] if len(parts) > 7 else None
    owner = f"{name}:{qualifier}" if qualifier and qualifier != "$LATEST" else name
    return Source(kind, owner, function_arn, (("function", name), ("qualifier", qualifier)))


def _mapping_source(mapping: dict[str, Any]) -> Source:
    function_arn = str(mapping.get("FunctionArn", ""))
    source_arn = str(mapping.get("EventSourceArn", ""))
    function = name_from_arn(function_arn)
    owner = f"{name_from_arn(source_arn.split('/stream/')[0])} -> {function}"
    return Source(FOUND_BY_MAPPING, owner, str(mapping.get("EventSourceMappingArn") or mapping.get("UUID", "")), (
        ("function", function), ("function_arn", function_arn), ("event_source_arn", source_arn),
        ("uuid", mapping.get("UUID")),
    ))


def _subscription(clients: ClientFactory, found: _Collector, sub: dict[str, Any]) -> None:
    arn = str(sub["SubscriptionArn"])
    attributes = _guard(lambda: clients("sns").get_subscription_attributes(SubscriptionArn=arn)).get("Attributes", {})
    try:
        redrive = json.loads(attributes.get("RedrivePolicy") or "null")
    except ValueError:
        redrive = None
    if not isinstance(redrive, dict):
        return
    topic, endpoint = str(sub.get("TopicArn", "")), str(sub.get("Endpoint", ""))
    owner = f"{name_from_arn(topic)} -> {name_from_arn(endpoint) if endpoint.startswith('arn:') else endpoint}"
    found.found(Source(FOUND_BY_SNS, owner, arn, (
        ("topic_arn", topic), ("protocol", sub.get("Protocol")), ("endpoint", endpoint),
        ("raw_message_delivery", str(attributes.get("RawMessageDelivery", "false")).lower() == "true"),
    )), redrive.get("deadLetterTargetArn"))


def _invoke_configs(clients: ClientFactory, found: _Collector, function: str) -> None:
    configs = _guard(lambda: _pages(clients("lambda"), "list_function_event_invoke_configs",
                                    "FunctionEventInvokeConfigs", FunctionName=function))
    for config in configs:
        found.found(_function_source(FOUND_BY_LAMBDA_ON_FAILURE, str(config.get("FunctionArn", ""))),
                    _dig(config, "DestinationConfig", "OnFailure", "Destination"))


def _pipe(clients: ClientFactory, found: _Collector, name: str) -> None:
    pipe = _guard(lambda: clients("pipes").describe_pipe(Name=name))
    parameters = pipe.get("SourceParameters") or {}
    source = Source(FOUND_BY_PIPE, name, str(pipe.get("Arn", "")), (
        ("source_arn", pipe.get("Source")), ("target_arn", pipe.get("Target")),
    ))
    for key in ("DynamoDBStreamParameters", "KinesisStreamParameters"):
        found.found(source, _dig(parameters, key, "DeadLetterConfig", "Arn"))


def _targets(clients: ClientFactory, found: _Collector, bus: str, rule: str, rule_arn: str) -> None:
    targets = _guard(lambda: _pages(clients("events"), "list_targets_by_rule", "Targets", Rule=rule,
                                    EventBusName=bus))
    for target in targets:
        target_arn = str(target.get("Arn", ""))
        found.found(Source(FOUND_BY_EVENTBRIDGE, f"{bus}/{rule} -> {name_from_arn(target_arn)}", rule_arn, (
            ("bus", bus), ("rule", rule), ("target_id", target.get("Id")), ("target_arn", target_arn),
        )), _dig(target, "DeadLetterConfig", "Arn"))
