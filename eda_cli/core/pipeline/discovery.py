"""Live discovery: read the pipeline from the account, paginating every List call, concurrently.

Three waves, each fanned out with `map_bounded` (so one slow or forbidden service does not hide
the others' answers, and a resource deleted mid-scan is skipped, not an error):

1. every List/Describe-all call, one task per call (queues, topics, subscriptions, buses,
   tables, functions, event source mappings, state machines, alarms, log groups);
2. one task per resource that needs its own call (queue attributes, subscription attributes,
   the rules of each bus, table + TTL + tags, each state machine's definition);
3. the targets of each rule;
4. the DLQs the resources above do not hold themselves, through core/dlq/origins.py: each function's
   asynchronous on-failure destination (ListFunctionEventInvokeConfigs) and each stream pipe's
   dead-letter config (ListPipes, DescribePipe).

With `concurrency=1` the same calls are made one after another (the benchmark's baseline).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from eda_cli.aws.clients import ClientFactory
from eda_cli.aws.errors import describe, error_code, is_client_error, raise_if_environment_failure
from eda_cli.aws.resolve import RESOURCE_GONE, queue_name_from_url
from eda_cli.core.concurrency import DEFAULT_CONCURRENCY, map_bounded
from eda_cli.core.pipeline.model import (
    Alarm,
    DlqOrigin,
    EventBus,
    EventSourceMapping,
    Function,
    LogGroup,
    Pipeline,
    Queue,
    Rule,
    StateMachine,
    Subscription,
    Table,
    Target,
    Topic,
    name_from_arn,
)
from eda_cli.core.problems import Problem

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient



#: The services discovery reads, by the name `client_factory` is called with.
SERVICES = ("sqs", "sns", "events", "dynamodb", "lambda", "stepfunctions", "cloudwatch", "logs", "pipes")

#: Errors that mean "this resource went away between the List and the Describe".
_VANISHED = frozenset({*RESOURCE_GONE, "StateMachineDoesNotExist"})


class _Vanished(Exception):
    pass


@dataclass
class _Counter:
    """Counts API calls (pages included) across threads."""

    value: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def add(self, n: int = 1) -> None:
        with self._lock:
            self.value += n



def _pages(client: Any, operation: str, key: str, counter: _Counter, **kwargs: Any) -> list[Any]:
    """Every item under `key` across all pages of `operation`. `client` is any of the typed clients:
    the stubs type `get_paginator` per literal operation name, which this one walker takes as a str."""
    items: list[Any] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        counter.add()
        items.extend(page.get(key, []))
    return items


def _list_event_buses(events: EventBridgeClient, counter: _Counter) -> list[dict[str, Any]]:
    """ListEventBuses has no botocore paginator: follow NextToken by hand."""
    buses: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = events.list_event_buses(NextToken=token) if token else events.list_event_buses()
        counter.add()
        buses.extend(dict(bus) for bus in page.get("EventBuses", []))
        token = page.get("NextToken")
        if not token:
            return buses


def _guard(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception as exc:
        if is_client_error(exc) and error_code(exc) in _VANISHED:
            raise _Vanished(str(exc)) from exc
        raise


def discover(
    client_factory: ClientFactory,
    region: str,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    services: Iterable[str] = SERVICES,
) -> Pipeline:
    """Read every queue, topic, subscription, bus, rule, target, table, function, event source
    mapping, state machine, alarm and log group of the account in `region`.

    `client_factory(service)` returns a (thread-safe) boto3 client, e.g. `AwsSession.client`.
    Errors do not abort the scan: what could not be read is listed in `Pipeline.problems`. The one
    exception: when every List call fails for one environment-level reason (no credentials, an
    unreachable endpoint, access denied to all), that error is raised (`raise_if_environment_failure`).
    """
    wanted = set(services)
    counter = _Counter()
    problems: list[Problem] = []

    # -- wave 1: the List calls ------------------------------------------------------------------
    listings: dict[str, Callable[[], Any]] = {}
    if "sqs" in wanted:
        listings["sqs:queues"] = lambda: _pages(
            client_factory("sqs"), "list_queues", "QueueUrls", counter, PaginationConfig={"PageSize": 1000}
        )
    if "sns" in wanted:
        listings["sns:topics"] = lambda: _pages(client_factory("sns"), "list_topics", "Topics", counter)
        listings["sns:subscriptions"] = lambda: _pages(
            client_factory("sns"), "list_subscriptions", "Subscriptions", counter
        )
    if "events" in wanted:
        listings["events:buses"] = lambda: _list_event_buses(client_factory("events"), counter)
    if "dynamodb" in wanted:
        listings["dynamodb:tables"] = lambda: _pages(client_factory("dynamodb"), "list_tables", "TableNames", counter)
    if "lambda" in wanted:
        listings["lambda:functions"] = lambda: _pages(client_factory("lambda"), "list_functions", "Functions", counter)
        listings["lambda:mappings"] = lambda: _pages(
            client_factory("lambda"), "list_event_source_mappings", "EventSourceMappings", counter
        )
    if "stepfunctions" in wanted:
        listings["stepfunctions:machines"] = lambda: _pages(
            client_factory("stepfunctions"), "list_state_machines", "stateMachines", counter
        )
    if "cloudwatch" in wanted:
        listings["cloudwatch:alarms"] = lambda: _pages(
            client_factory("cloudwatch"), "describe_alarms", "MetricAlarms", counter, AlarmTypes=["MetricAlarm"]
        )
    if "logs" in wanted:
        listings["logs:groups"] = lambda: _pages(client_factory("logs"), "describe_log_groups", "logGroups", counter)

    listed: dict[str, list[Any]] = {}
    answered = 0
    for outcome in map_bounded(lambda key: listings[key](), list(listings), concurrency):
        if outcome.error is not None:
            service, what = outcome.item.split(":")
            problems.append(Problem(service, f"list {what}", describe(outcome.error), outcome.error))
            listed[outcome.item] = []
        else:
            answered += 1
            listed[outcome.item] = list(outcome.value or [])
    # No credentials, no endpoint, access denied to every List call: an error (exit 3), not an empty
    # pipeline with a problem per service.
    raise_if_environment_failure([p.cause for p in problems], succeeded=answered)

    # -- wave 2: one call (or three) per resource --------------------------------------------------
    calls = _Calls(client_factory, counter)
    tasks: list[_Task] = []
    for url in listed.get("sqs:queues", []):
        tasks.append(_Task("queue", url, partial(calls.queue_attributes, url)))
    for topic in listed.get("sns:topics", []):
        tasks.append(_Task("topic", topic["TopicArn"], partial(calls.topic_attributes, topic["TopicArn"])))
    for sub in listed.get("sns:subscriptions", []):
        arn = sub.get("SubscriptionArn", "")
        if arn.startswith("arn:"):  # "PendingConfirmation" has no attributes to read
            tasks.append(_Task("subscription", arn, partial(calls.subscription_attributes, arn)))
    for bus in listed.get("events:buses", []):
        tasks.append(_Task("rules", bus.get("Name", ""), partial(calls.rules, bus.get("Name", ""))))
    for table in listed.get("dynamodb:tables", []):
        tasks.append(_Task("table", table, partial(calls.describe_table, table)))
        tasks.append(_Task("ttl", table, partial(calls.time_to_live, table)))
    for machine in listed.get("stepfunctions:machines", []):
        arn = machine.get("stateMachineArn", "")
        tasks.append(_Task("machine", arn, partial(calls.state_machine, arn)))
    answers: dict[tuple[str, str], Any] = {}
    _run(tasks, concurrency, answers, problems)

    # -- wave 3: the targets of each rule, and the tags of each table -----------------------------
    rule_rows = [r for bus in listed.get("events:buses", []) for r in answers.get(("rules", bus.get("Name", "")), [])]
    tables_described = {name: answers[("table", name)] for name in listed.get("dynamodb:tables", [])
                        if ("table", name) in answers}
    followups: list[_Task] = []
    for rule in rule_rows:
        bus_name, rule_name = rule.get("EventBusName", "default"), rule.get("Name", "")
        followups.append(_Task("targets", f"{bus_name}/{rule_name}", partial(calls.targets, bus_name, rule_name)))
    for name, table in tables_described.items():
        followups.append(_Task("tags", name, partial(calls.tags, table.get("TableArn", ""))))
    _run(followups, concurrency, answers, problems)

    # -- wave 4: DLQs named where the model does not look itself (core/dlq/origins.py) -----------------
    # (the functions again only when discovery could list them: else its problem is said once, above)
    origin_services = {s for s in wanted if s != "lambda" or ("lambda:functions" in listed and not any(
        p.service == "lambda" and p.resource == "list functions" for p in problems))}
    dlq_origins = _dlq_origins(client_factory, origin_services, concurrency, counter, problems)

    return Pipeline(
        region=region,
        queues=tuple(sorted(
            (Queue.from_attributes(url, queue_name_from_url(url), answers[("queue", url)])
             for url in listed.get("sqs:queues", []) if ("queue", url) in answers),
            key=lambda q: q.name,
        )),
        topics=tuple(sorted((Topic(name_from_arn(t["TopicArn"]), t["TopicArn"],
                                   _topic_policy(answers.get(("topic", t["TopicArn"]))))
                             for t in listed.get("sns:topics", [])), key=lambda t: t.name)),
        subscriptions=tuple(
            _subscription(s, answers.get(("subscription", s.get("SubscriptionArn", ""))))
            for s in listed.get("sns:subscriptions", [])
            if ("subscription", s.get("SubscriptionArn", "")) in answers
            or not s.get("SubscriptionArn", "").startswith("arn:")
        ),
        buses=tuple(sorted((EventBus(b.get("Name", ""), b.get("Arn", "")) for b in listed.get("events:buses", [])),
                           key=lambda b: b.name)),
        rules=tuple(sorted(
            (_rule(r, answers.get(("targets", f"{r.get('EventBusName', 'default')}/{r.get('Name', '')}"), []))
             for r in rule_rows),
            key=lambda r: (r.bus_name, r.name),
        )),
        tables=tuple(sorted(
            (_table(t, answers.get(("ttl", name)), answers.get(("tags", name), []))
             for name, t in tables_described.items()),
            key=lambda t: t.name,
        )),
        functions=tuple(sorted((_function(f) for f in listed.get("lambda:functions", [])), key=lambda f: f.name)),
        mappings=tuple(_mapping(m) for m in listed.get("lambda:mappings", [])),
        state_machines=tuple(sorted(
            (_machine(answers[("machine", m.get("stateMachineArn", ""))])
             for m in listed.get("stepfunctions:machines", [])
             if ("machine", m.get("stateMachineArn", "")) in answers),
            key=lambda m: m.name,
        )),
        alarms=tuple(Alarm.from_api(a) for a in listed.get("cloudwatch:alarms", [])),
        log_groups=tuple(
            LogGroup(g.get("logGroupName", ""), g.get("logGroupArn") or g.get("arn", ""), g.get("retentionInDays"))
            for g in listed.get("logs:groups", [])
        ),
        dlq_origins=dlq_origins,
        problems=tuple(problems),
        calls=counter.value,
    )


def _topic_policy(attributes: Mapping[str, Any] | None) -> dict[str, Any] | None:
    policy = _loads((attributes or {}).get("Policy"))
    return policy if isinstance(policy, dict) else None


def _dlq_origins(client_factory: ClientFactory, wanted: set[str], concurrency: int, counter: _Counter,
                 problems: list[Problem]) -> tuple[DlqOrigin, ...]:
    """Functions' async on-failure destinations and pipes' DLQs, by find_origins (its calls counted, its problems
    kept; an API the endpoint lacks, as LocalStack's free edition lacks Pipes, is no problem)."""
    # imported here: core/dlq/origins.py imports the pipeline model, whose package imports this module
    from eda_cli.core.dlq.model import FOUND_BY_LAMBDA_ON_FAILURE, FOUND_BY_PIPE
    from eda_cli.core.dlq.origins import LAMBDA_FUNCTIONS, find_origins

    services = ([LAMBDA_FUNCTIONS] if "lambda" in wanted else []) + (["pipes"] if "pipes" in wanted else [])
    if not services:
        return ()
    hook = f"eda-discovery-{id(counter)}"
    hooked: dict[str, Any] = {}
    lock = threading.Lock()

    def counted(service: str) -> Any:
        client = client_factory(service)
        with lock:
            events = getattr(getattr(client, "meta", None), "events", None)  # an injected fake may have none
            if service not in hooked and events is not None:
                events.register("before-parameter-build", lambda **_: counter.add(), unique_id=hook)
                hooked[service] = events
        return client

    try:
        origins = find_origins(counted, concurrency=concurrency, services=services)
    finally:
        for events in hooked.values():
            events.unregister("before-parameter-build", unique_id=hook)
    problems.extend(origins.problems)
    found: list[DlqOrigin] = []
    edges = [(dlq, s) for dlq, sources in origins.by_queue.items() for s in sources]
    edges += [(e.destination_arn, e.source) for e in origins.elsewhere]
    for dlq, source in edges:
        if source.kind in (FOUND_BY_LAMBDA_ON_FAILURE, FOUND_BY_PIPE):  # the origins the model lacks
            found.append(DlqOrigin(source.kind, source.owner, source.arn, dlq,
                                   str(source.detail("source_arn")) if source.detail("source_arn") else None))
    return tuple(sorted(found, key=lambda o: (o.kind, o.owner, o.dlq_arn)))


@dataclass(frozen=True)
class _Task:
    kind: str
    resource: str
    call: Callable[[], Any]


def _run(tasks: list[_Task], concurrency: int, answers: dict[tuple[str, str], Any],
         problems: list[Problem]) -> None:
    """Run one wave; answers by (kind, resource); vanished resources skipped, other errors kept."""
    for outcome in map_bounded(lambda task: task.call(), tasks, concurrency):
        task = outcome.item
        if outcome.error is not None:
            if not isinstance(outcome.error, _Vanished):
                problems.append(Problem(_SERVICE_OF[task.kind], task.resource, describe(outcome.error),
                                        outcome.error))
            continue
        answers[(task.kind, task.resource)] = outcome.value


class _Calls:
    """The per-resource calls, each counted and with "it vanished" told apart from failures."""

    def __init__(self, client_factory: ClientFactory, counter: _Counter) -> None:
        self.client = client_factory
        self.counter = counter

    def _one(self, fn: Callable[[], Any]) -> Any:
        self.counter.add()
        return _guard(fn)

    def queue_attributes(self, url: str) -> dict[str, str]:
        return dict(self._one(lambda: self.client("sqs").get_queue_attributes(
            QueueUrl=url, AttributeNames=["All"])).get("Attributes", {}))

    def topic_attributes(self, arn: str) -> dict[str, str]:
        return dict(self._one(lambda: self.client("sns").get_topic_attributes(TopicArn=arn)).get("Attributes", {}))

    def subscription_attributes(self, arn: str) -> dict[str, str]:
        return dict(self._one(lambda: self.client("sns").get_subscription_attributes(
            SubscriptionArn=arn)).get("Attributes", {}))

    def describe_table(self, name: str) -> dict[str, Any]:
        return dict(self._one(lambda: self.client("dynamodb").describe_table(TableName=name))["Table"])

    def time_to_live(self, name: str) -> dict[str, Any]:
        return dict(self._one(lambda: self.client("dynamodb").describe_time_to_live(
            TableName=name)).get("TimeToLiveDescription", {}))

    def state_machine(self, arn: str) -> dict[str, Any]:
        return dict(self._one(lambda: self.client("stepfunctions").describe_state_machine(stateMachineArn=arn)))

    def rules(self, bus: str) -> list[Any]:
        return list(_guard(lambda: _pages(self.client("events"), "list_rules", "Rules", self.counter,
                                          EventBusName=bus)))

    def targets(self, bus: str, rule: str) -> list[Any]:
        return list(_guard(lambda: _pages(self.client("events"), "list_targets_by_rule", "Targets", self.counter,
                                          Rule=rule, EventBusName=bus)))

    def tags(self, table_arn: str) -> list[Any]:
        return list(_guard(lambda: _pages(self.client("dynamodb"), "list_tags_of_resource", "Tags", self.counter,
                                          ResourceArn=table_arn)))


_SERVICE_OF = {
    "queue": "sqs", "topic": "sns", "subscription": "sns", "rules": "events", "targets": "events", "table": "dynamodb",
    "ttl": "dynamodb", "tags": "dynamodb", "machine": "stepfunctions",
}


# -- AWS answers -> model -----------------------------------------------------------------------------


def _loads(raw: Any) -> Any:
    if not isinstance(raw, str) or not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _dig(row: Mapping[str, Any], *keys: str) -> Any:
    """`row[k1][k2]...`, None where a level is absent or empty."""
    value: Any = row
    for key in keys:
        value = (value or {}).get(key)
    return value


def _pick(row: Mapping[str, Any], **fields: tuple[str, Any]) -> dict[str, Any]:
    """Model fields copied from an AWS answer: field=(the answer's key, the default when absent)."""
    return {name: row.get(key, default) for name, (key, default) in fields.items()}


def _subscription(row: dict[str, Any], attributes: dict[str, Any] | None) -> Subscription:
    attributes = attributes or {}
    redrive = _loads(attributes.get("RedrivePolicy"))
    policy = _loads(attributes.get("FilterPolicy"))
    arn = row.get("SubscriptionArn", "")
    return Subscription(
        arn=arn,
        topic_arn=row.get("TopicArn", ""),
        protocol=row.get("Protocol", ""),
        endpoint=row.get("Endpoint", ""),
        filter_policy=policy if isinstance(policy, dict) else None,
        filter_policy_scope=attributes.get("FilterPolicyScope") or "MessageAttributes",
        raw_message_delivery=str(attributes.get("RawMessageDelivery", "false")).lower() == "true",
        dead_letter_target_arn=(
            str(redrive["deadLetterTargetArn"]) if isinstance(redrive, dict) and redrive.get("deadLetterTargetArn")
            else None
        ),
        pending=not arn.startswith("arn:") or str(attributes.get("PendingConfirmation", "false")).lower() == "true",
    )


def _rule(row: dict[str, Any], targets: list[dict[str, Any]]) -> Rule:
    return Rule(
        **_pick(row, name=("Name", ""), arn=("Arn", ""), bus_name=("EventBusName", "default"),
                event_pattern=("EventPattern", None), schedule=("ScheduleExpression", None),
                state=("State", "ENABLED")),
        targets=tuple(
            Target(
                id=t.get("Id", ""),
                arn=t.get("Arn", ""),
                dead_letter_arn=_dig(t, "DeadLetterConfig", "Arn"),
                max_retry_attempts=_dig(t, "RetryPolicy", "MaximumRetryAttempts"),
                max_event_age_seconds=_dig(t, "RetryPolicy", "MaximumEventAgeInSeconds"),
                has_retry_policy="RetryPolicy" in t,
                input_transformed=bool(t.get("InputTransformer") or t.get("InputPath") or t.get("Input")),
            )
            for t in targets
        ),
    )


def _table(table: dict[str, Any], ttl: dict[str, Any] | None, tags: list[dict[str, Any]]) -> Table:
    spec = table.get("StreamSpecification") or {}
    enabled = bool(spec.get("StreamEnabled"))
    return Table(
        name=table.get("TableName", ""),
        arn=table.get("TableArn", ""),
        stream_enabled=enabled,
        stream_view_type=spec.get("StreamViewType") if enabled else None,
        stream_arn=table.get("LatestStreamArn") if enabled else None,
        ttl_status=(ttl or {}).get("TimeToLiveStatus"),
        ttl_attribute=(ttl or {}).get("AttributeName"),
        tags={str(t.get("Key")): str(t.get("Value", "")) for t in tags},
        key_names=tuple(k.get("AttributeName", "") for k in table.get("KeySchema", [])),
    )


def _function(row: dict[str, Any]) -> Function:
    return Function(
        name=row.get("FunctionName", ""),
        arn=row.get("FunctionArn", ""),
        timeout_seconds=row.get("Timeout"),
        runtime=row.get("Runtime"),
        dead_letter_arn=_dig(row, "DeadLetterConfig", "TargetArn") or None,
    )


def _mapping(row: dict[str, Any]) -> EventSourceMapping:
    return EventSourceMapping(
        **_pick(row, uuid=("UUID", ""), function_arn=("FunctionArn", ""), source_arn=("EventSourceArn", ""),
                state=("State", None), batch_size=("BatchSize", None),
                maximum_retry_attempts=("MaximumRetryAttempts", None), starting_position=("StartingPosition", None)),
        filters=tuple(str(f.get("Pattern", "")) for f in _dig(row, "FilterCriteria", "Filters") or []),
        function_response_types=tuple(row.get("FunctionResponseTypes") or ()),
        bisect_on_error=bool(row.get("BisectBatchOnFunctionError")),
        on_failure_arn=_dig(row, "DestinationConfig", "OnFailure", "Destination") or None,
    )


def _machine(answer: dict[str, Any]) -> StateMachine:
    logging = answer.get("loggingConfiguration") or {}
    definition = _loads(answer.get("definition"))
    return StateMachine(
        name=answer.get("name", ""),
        arn=answer.get("stateMachineArn", ""),
        type=answer.get("type", "STANDARD"),
        definition=definition if isinstance(definition, dict) else None,
        logging_level=logging.get("level", "OFF"),
        log_group_arns=tuple(
            d.get("cloudWatchLogsLogGroup", {}).get("logGroupArn", "")
            for d in logging.get("destinations", []) if d.get("cloudWatchLogsLogGroup")
        ),
    )


