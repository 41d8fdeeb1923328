"""The pipeline model: one typed picture of an account's event pipeline.

Every type here is a frozen dataclass built from what AWS answers (see `discover`) and never
mutated afterwards; `Pipeline` adds the lookups the audit, the topology and the trace need
(queue by ARN, the sources of a DLQ, the consumers of a queue or stream, the alarms on a queue).
Everything has `to_dict()` with snake_case keys, for `--output json`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any

from eda_cli.core.problems import Problem

#: Name endings that mark a queue as a DLQ even when nothing points at it (Lambda async DLQs).
DLQ_SUFFIXES = ("-dlq", "-deadletter", "_dlq", "-dead-letter", "_deadletter")
#: CloudWatch metrics that count as "an alarm watches this queue's depth".
DEPTH_METRICS = frozenset({"ApproximateNumberOfMessagesVisible", "ApproximateNumberOfMessages"})


def name_from_arn(arn: str) -> str:
    """The short name in an ARN: `orders` for a queue, topic, table, function or state machine."""
    resource = arn.split(":", 5)[-1] if arn.startswith("arn:") else arn
    if resource.startswith("table/"):
        return resource.split("/")[1]
    if resource.startswith(("function:", "stateMachine:")):
        return resource.split(":")[1]
    if resource.startswith(("rule/", "event-bus/")):
        return resource.rsplit("/", 1)[-1]
    return resource.rsplit(":", 1)[-1].rsplit("/", 1)[-1]


def service_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[2] if len(parts) > 2 and parts[0] == "arn" else ""


def account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[0] == "arn" else ""


def _plain(obj: Any, **replace: Any) -> dict[str, Any]:
    """A model's fields in order, as JSON-ready values (tuples as lists, mappings as dicts), with
    `replace` overriding some of them."""

    def value(v: Any) -> Any:
        return list(v) if isinstance(v, tuple) else dict(v) if isinstance(v, Mapping) else v

    return {f.name: replace[f.name] if f.name in replace else value(getattr(obj, f.name)) for f in fields(obj)}


def _json_or_none(raw: str | None) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


# -- SQS ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Queue:
    """An SQS queue and the attributes the audit and the topology read."""

    name: str
    url: str
    arn: str
    retention_seconds: int | None = None
    visibility_timeout: int | None = None
    #: RedrivePolicy: where poison messages go, after how many receives.
    dead_letter_target_arn: str | None = None
    max_receive_count: int | None = None
    #: RedriveAllowPolicy (None: absent, which AWS treats as allowAll).
    redrive_allow_policy: Mapping[str, Any] | None = None
    #: The access policy (None: no policy).
    policy: Mapping[str, Any] | None = None
    sse_sqs: bool = False
    kms_key_id: str | None = None
    visible: int | None = None
    in_flight: int | None = None
    delayed: int | None = None

    @property
    def fifo(self) -> bool:
        return self.name.endswith(".fifo")

    @property
    def encrypted(self) -> bool:
        return self.sse_sqs or bool(self.kms_key_id)

    @property
    def named_like_dlq(self) -> bool:
        base = self.name[: -len(".fifo")] if self.fifo else self.name
        return base.lower().endswith(DLQ_SUFFIXES)

    @classmethod
    def from_attributes(cls, url: str, name: str, attributes: Mapping[str, str]) -> Queue:
        def num(key: str) -> int | None:
            try:
                return int(attributes[key])
            except (KeyError, ValueError):
                return None

        redrive = _json_or_none(attributes.get("RedrivePolicy"))
        target = max_receive = None
        if isinstance(redrive, dict):
            target = str(redrive["deadLetterTargetArn"]) if redrive.get("deadLetterTargetArn") else None
            try:
                max_receive = int(redrive["maxReceiveCount"])
            except (KeyError, TypeError, ValueError):
                max_receive = None
        allow = _json_or_none(attributes.get("RedriveAllowPolicy"))
        policy = _json_or_none(attributes.get("Policy"))
        return cls(
            name=name,
            url=url,
            arn=attributes.get("QueueArn", ""),
            retention_seconds=num("MessageRetentionPeriod"),
            visibility_timeout=num("VisibilityTimeout"),
            dead_letter_target_arn=target,
            max_receive_count=max_receive,
            redrive_allow_policy=allow if isinstance(allow, dict) else None,
            policy=policy if isinstance(policy, dict) else None,
            sse_sqs=attributes.get("SqsManagedSseEnabled", "false").lower() == "true",
            kms_key_id=attributes.get("KmsMasterKeyId") or None,
            visible=num("ApproximateNumberOfMessages"),
            in_flight=num("ApproximateNumberOfMessagesNotVisible"),
            delayed=num("ApproximateNumberOfMessagesDelayed"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "arn": self.arn,
            "fifo": self.fifo,
            "retention_seconds": self.retention_seconds,
            "visibility_timeout": self.visibility_timeout,
            "dead_letter_target_arn": self.dead_letter_target_arn,
            "max_receive_count": self.max_receive_count,
            "redrive_allow_policy": self.redrive_allow_policy,
            "policy": self.policy,
            "encrypted": self.encrypted,
            "kms_key_id": self.kms_key_id,
            "visible": self.visible,
            "in_flight": self.in_flight,
            "delayed": self.delayed,
        }


# -- SNS ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Topic:
    name: str
    arn: str
    #: The access policy (None: not read, or none).
    policy: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return _plain(self, policy=self.policy)


@dataclass(frozen=True)
class Subscription:
    """An SNS subscription: topic to endpoint, with its filter policy and its DLQ."""

    arn: str
    topic_arn: str
    protocol: str
    endpoint: str
    filter_policy: Mapping[str, Any] | None = None
    #: "MessageAttributes" (SNS's default) or "MessageBody".
    filter_policy_scope: str = "MessageAttributes"
    raw_message_delivery: bool = False
    #: The subscription's RedrivePolicy target (undeliverable messages).
    dead_letter_target_arn: str | None = None
    pending: bool = False

    def to_dict(self) -> dict[str, Any]:
        return _plain(self, filter_policy=self.filter_policy)


# -- EventBridge ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventBus:
    name: str
    arn: str

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True)
class Target:
    """A rule's target, with its DeadLetterConfig and RetryPolicy."""

    id: str
    arn: str
    dead_letter_arn: str | None = None
    max_retry_attempts: int | None = None
    max_event_age_seconds: int | None = None
    has_retry_policy: bool = False
    input_transformed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "arn": self.arn,
            "dead_letter_arn": self.dead_letter_arn,
            "retry_policy": (
                {"maximum_retry_attempts": self.max_retry_attempts,
                 "maximum_event_age_seconds": self.max_event_age_seconds}
                if self.has_retry_policy else None
            ),
            "input_transformed": self.input_transformed,
        }


@dataclass(frozen=True)
class Rule:
    name: str
    arn: str
    bus_name: str
    event_pattern: str | None = None
    schedule: str | None = None
    state: str = "ENABLED"
    targets: tuple[Target, ...] = ()

    @property
    def key(self) -> str:
        """`bus/rule`: rule names are unique per bus only."""
        return f"{self.bus_name}/{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return _plain(self, event_pattern=_json_or_none(self.event_pattern) or self.event_pattern,
                      targets=[t.to_dict() for t in self.targets])


# -- DynamoDB -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    name: str
    arn: str
    stream_enabled: bool = False
    stream_view_type: str | None = None
    stream_arn: str | None = None
    ttl_status: str | None = None
    ttl_attribute: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    key_names: tuple[str, ...] = ()

    @property
    def ttl_enabled(self) -> bool:
        return self.ttl_status in ("ENABLED", "ENABLING")

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


# -- Lambda ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Function:
    name: str
    arn: str
    timeout_seconds: int | None = None
    runtime: str | None = None
    #: The function's own DeadLetterConfig (failed async invocations).
    dead_letter_arn: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True)
class EventSourceMapping:
    """A Lambda event source mapping: a queue or stream polled by a function."""

    uuid: str
    function_arn: str
    source_arn: str
    state: str | None = None
    batch_size: int | None = None
    #: The FilterCriteria patterns, as JSON text, in order.
    filters: tuple[str, ...] = ()
    function_response_types: tuple[str, ...] = ()
    bisect_on_error: bool = False
    on_failure_arn: str | None = None
    maximum_retry_attempts: int | None = None
    starting_position: str | None = None

    @property
    def source_kind(self) -> str:
        """sqs | dynamodb | kinesis | kafka | mq | other."""
        service = service_of(self.source_arn)
        if service in ("sqs", "kinesis", "kafka", "mq"):
            return service
        if service == "dynamodb":
            return "dynamodb"
        return "other"

    @property
    def is_stream(self) -> bool:
        return self.source_kind in ("dynamodb", "kinesis")

    @property
    def reports_batch_item_failures(self) -> bool:
        return "ReportBatchItemFailures" in self.function_response_types

    def to_dict(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "function_arn": self.function_arn,
            "source_arn": self.source_arn,
            "source_kind": self.source_kind,
            "state": self.state,
            "batch_size": self.batch_size,
            "filters": [_json_or_none(f) or f for f in self.filters],
            "function_response_types": list(self.function_response_types),
            "bisect_batch_on_function_error": self.bisect_on_error,
            "on_failure_arn": self.on_failure_arn,
            "maximum_retry_attempts": self.maximum_retry_attempts,
            "starting_position": self.starting_position,
        }


@dataclass(frozen=True)
class DlqOrigin:
    """A DLQ that configuration names beyond what the resources above hold themselves, as core/dlq/origins.py
    finds it: a function's asynchronous on-failure destination (`lambda on-failure`, its event invoke config)
    or an EventBridge pipe's dead-letter config (`pipe`). `owner` is the function (with its qualifier) or the
    pipe, `owner_arn` its ARN, `source_arn` what the pipe reads (a pipe's source, else None)."""

    kind: str
    owner: str
    owner_arn: str
    dlq_arn: str
    source_arn: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


# -- Step Functions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StateMachine:
    name: str
    arn: str
    type: str = "STANDARD"
    #: The parsed Amazon States Language definition (None when unreadable).
    definition: Mapping[str, Any] | None = None
    logging_level: str = "OFF"
    log_group_arns: tuple[str, ...] = ()

    @property
    def express(self) -> bool:
        return self.type.upper() == "EXPRESS"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "arn": self.arn,
            "type": self.type,
            "logging_level": self.logging_level,
            "log_group_arns": list(self.log_group_arns),
            "states": len(iter_states(self.definition)) if self.definition else None,
        }


def iter_states(definition: Mapping[str, Any] | None, prefix: str = "") -> list[tuple[str, Mapping[str, Any]]]:
    """Every state of a definition, Parallel branches and Map iterators included: (path, state)."""
    found: list[tuple[str, Mapping[str, Any]]] = []
    if not isinstance(definition, Mapping):
        return found
    states = definition.get("States")
    if not isinstance(states, Mapping):
        return found
    for name, state in states.items():
        if not isinstance(state, Mapping):
            continue
        path = f"{prefix}{name}"
        found.append((path, state))
        for i, branch in enumerate(state.get("Branches") or []):
            found += iter_states(branch, f"{path}.Branches[{i}].")
        for key in ("Iterator", "ItemProcessor"):
            if isinstance(state.get(key), Mapping):
                found += iter_states(state[key], f"{path}.{key}.")
    return found


# -- CloudWatch -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Alarm:
    name: str
    arn: str
    #: Every (namespace, metric, dimensions) the alarm watches; metric-math alarms have several.
    metrics: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = ()
    state: str | None = None
    actions_enabled: bool = True

    @classmethod
    def from_api(cls, row: Mapping[str, Any]) -> Alarm:
        """An alarm as DescribeAlarms returns it (metric-math alarms included)."""
        metrics = []
        sources = [row] + [q["MetricStat"]["Metric"] for q in row.get("Metrics", []) if q.get("MetricStat")]
        for m in sources:
            if m.get("MetricName"):
                dims = tuple((str(d.get("Name")), str(d.get("Value"))) for d in m.get("Dimensions", []))
                metrics.append((str(m.get("Namespace", "")), str(m["MetricName"]), dims))
        return cls(
            name=row.get("AlarmName", ""),
            arn=row.get("AlarmArn", ""),
            metrics=tuple(metrics),
            state=row.get("StateValue"),
            actions_enabled=bool(row.get("ActionsEnabled", True)),
        )

    def watches_queue_depth(self, queue_name: str) -> bool:
        for namespace, metric, dimensions in self.metrics:
            if namespace == "AWS/SQS" and metric in DEPTH_METRICS and ("QueueName", queue_name) in dimensions:
                return True
        return False

    def to_dict(self) -> dict[str, Any]:
        return _plain(self, metrics=[{"namespace": ns, "metric": m, "dimensions": dict(dims)}
                                     for ns, m, dims in self.metrics])


@dataclass(frozen=True)
class LogGroup:
    name: str
    arn: str
    retention_days: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


# -- the pipeline ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pipeline:
    """Every resource of an event pipeline in one account and region, and how they connect.

    Build it with `discover(client_factory, region)`; narrow it to what a pipeline file names
    with `scoped(spec)`. The lookups below are computed once per instance.
    """

    region: str
    queues: tuple[Queue, ...] = ()
    topics: tuple[Topic, ...] = ()
    subscriptions: tuple[Subscription, ...] = ()
    buses: tuple[EventBus, ...] = ()
    rules: tuple[Rule, ...] = ()
    tables: tuple[Table, ...] = ()
    functions: tuple[Function, ...] = ()
    mappings: tuple[EventSourceMapping, ...] = ()
    state_machines: tuple[StateMachine, ...] = ()
    alarms: tuple[Alarm, ...] = ()
    log_groups: tuple[LogGroup, ...] = ()
    #: DLQs of function on-failure destinations and pipes (core/dlq/origins.py).
    dlq_origins: tuple[DlqOrigin, ...] = ()
    problems: tuple[Problem, ...] = ()
    #: The API calls discovery made (for the benchmark and `--debug`).
    calls: int = 0

    @property
    def partial(self) -> bool:
        return bool(self.problems)

    # -- lookups ----------------------------------------------------------------------------------

    @cached_property
    def _queues_by_arn(self) -> dict[str, Queue]:
        return {q.arn: q for q in self.queues}

    def queue_by_arn(self, arn: str | None) -> Queue | None:
        return self._queues_by_arn.get(arn or "")

    def queue(self, name: str) -> Queue | None:
        for q in self.queues:
            if q.name == name or q.arn == name or q.url == name:
                return q
        return None

    def table(self, name: str) -> Table | None:
        for t in self.tables:
            if t.name == name or t.arn == name:
                return t
        return None

    def function_by_arn(self, arn: str) -> Function | None:
        base = arn.split(":")
        unqualified = ":".join(base[:7]) if len(base) > 7 else arn
        for f in self.functions:
            if f.arn in (arn, unqualified) or f.name == arn:
                return f
        return None

    def topic_by_arn(self, arn: str) -> Topic | None:
        return next((t for t in self.topics if t.arn == arn), None)

    @cached_property
    def dlq_arns(self) -> frozenset[str]:
        """Queues used as a dead-letter queue by anything: a RedrivePolicy, an SNS subscription,
        a rule target, an event source mapping's on-failure destination, a function's DLQ or
        on-failure destination, a pipe; plus unreferenced queues named like DLQs."""
        arns: set[str] = set()
        arns.update(q.dead_letter_target_arn for q in self.queues if q.dead_letter_target_arn)
        arns.update(s.dead_letter_target_arn for s in self.subscriptions if s.dead_letter_target_arn)
        arns.update(t.dead_letter_arn for r in self.rules for t in r.targets if t.dead_letter_arn)
        arns.update(m.on_failure_arn for m in self.mappings if m.on_failure_arn)
        arns.update(f.dead_letter_arn for f in self.functions if f.dead_letter_arn)
        arns.update(o.dlq_arn for o in self.dlq_origins)
        referenced = {q.arn for q in self.queues if q.arn in arns}
        by_name = {q.arn for q in self.queues if q.named_like_dlq and q.dead_letter_target_arn is None}
        return frozenset(referenced | by_name)

    def is_dlq(self, queue: Queue) -> bool:
        return queue.arn in self.dlq_arns

    def redrive_sources(self, dlq: Queue) -> list[Queue]:
        """Queues whose RedrivePolicy sends their poison messages to `dlq`."""
        return [q for q in self.queues if q.dead_letter_target_arn == dlq.arn]

    def depth_alarms(self, queue: Queue) -> list[Alarm]:
        return [a for a in self.alarms if a.watches_queue_depth(queue.name)]

    def consumers(self, source_arn: str) -> list[EventSourceMapping]:
        """Event source mappings polling this queue or stream (or any stream of this table)."""
        found = []
        for m in self.mappings:
            of_table = ":table/" in source_arn and m.source_arn.startswith(source_arn + "/stream/")
            if m.source_arn == source_arn or of_table:
                found.append(m)
        return found

    def subscriptions_of(self, topic_arn: str) -> list[Subscription]:
        return [s for s in self.subscriptions if s.topic_arn == topic_arn]

    def to_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "queues": [dict(q.to_dict(), dlq=self.is_dlq(q)) for q in self.queues],
            "topics": [t.to_dict() for t in self.topics],
            "subscriptions": [s.to_dict() for s in self.subscriptions],
            "event_buses": [b.to_dict() for b in self.buses],
            "rules": [r.to_dict() for r in self.rules],
            "tables": [t.to_dict() for t in self.tables],
            "functions": [f.to_dict() for f in self.functions],
            "event_source_mappings": [m.to_dict() for m in self.mappings],
            "state_machines": [s.to_dict() for s in self.state_machines],
            "alarms": [a.to_dict() for a in self.alarms],
            "log_groups": [g.to_dict() for g in self.log_groups],
            "dlq_origins": [o.to_dict() for o in self.dlq_origins],
            "problems": [p.to_dict() for p in self.problems],
        }

    @property
    def resource_count(self) -> int:
        return (len(self.queues) + len(self.topics) + len(self.subscriptions) + len(self.buses)
                + len(self.rules) + sum(len(r.targets) for r in self.rules) + len(self.tables)
                + len(self.functions) + len(self.mappings) + len(self.state_machines)
                + len(self.alarms) + len(self.log_groups))
