"""Building the graph from a pipeline: a node per resource, then one edge builder per kind of
connection (subscriptions, redrive, rules and targets, event source mappings, function DLQs, tasks).

The builders run in a fixed order: a resource another builder has not drawn becomes an
"external" node the first time an edge reaches it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from eda_cli.core.dlq.model import FOUND_BY_LAMBDA_ON_FAILURE, FOUND_BY_PIPE
from eda_cli.core.pipeline.model import (
    EventSourceMapping,
    Pipeline,
    Queue,
    Rule,
    Subscription,
    iter_states,
    name_from_arn,
    service_of,
)
from eda_cli.core.topology.model import _ORDER, Edge, Graph, Node
from eda_cli.errors import ResourceNotFound

#: Subscription protocols whose endpoint is a resource (an ARN), not an address.
_ARN_PROTOCOLS = ("sqs", "lambda", "firehose", "application")
#: Mapping states that are the normal life of a mapping (others are shown on the edge).
_QUIET_STATES = ("enabled", "creating", "updating", "enabling")


class _Builder:
    """The nodes and edges drawn so far."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.nodes: dict[str, Node] = {}
        self.edges: list[Edge] = []

    def add(self, node: Node) -> None:
        self.nodes[node.id] = node

    def ensure(self, arn: str) -> str:
        """The node id of `arn`, drawing it as an external node when the graph lacks it."""
        if arn and arn not in self.nodes:
            service = service_of(arn) or "?"
            self.nodes[arn] = Node(arn, "external", name_from_arn(arn), (service,))
        return arn

    def resolve(self, ref: str) -> str:
        """The node a reference (ARN, queue URL, name) points at, else an external node for it."""
        return _resolve(self.pipeline, self.nodes, ref) or self.ensure(ref)

    def link(self, source: str, target: str, kind: str, label: str = "") -> None:
        self.edges.append(Edge(source, target, kind, label))

    def graph(self) -> Graph:
        unique: dict[tuple[str, str, str, str], Edge] = {}
        for e in self.edges:
            unique.setdefault((e.source, e.target, e.kind, e.label), e)
        return Graph(tuple(sorted(self.nodes.values(), key=lambda n: (_ORDER.get(n.kind, 99), n.name))),
                     tuple(unique.values()))


def _short_json(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, separators=(",", ":"), sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- nodes ----------------------------------------------------------------------------------------------


def _queue_node(pipeline: Pipeline, q: Queue) -> Node:
    if pipeline.is_dlq(q):
        alarms = pipeline.depth_alarms(q)
        details = [f"{q.visible or 0} msgs" if q.visible is not None else "? msgs",
                   f"alarm {alarms[0].name}" if alarms else "NO ALARM"]
        return Node(q.arn, "dlq", q.name, tuple(details), not alarms)
    details = [f"{q.visible} msgs"] if q.visible else []
    if q.dead_letter_target_arn is None:
        details.append("NO DLQ")
    return Node(q.arn, "queue", q.name, tuple(details), q.dead_letter_target_arn is None)


def _resource_nodes(b: _Builder) -> None:
    pipeline = b.pipeline
    for topic in pipeline.topics:
        b.add(Node(topic.arn, "topic", topic.name))
    for q in pipeline.queues:
        b.add(_queue_node(pipeline, q))
    with_rules = {r.bus_name for r in pipeline.rules}
    for bus in pipeline.buses:
        if bus.name == "default" and bus.name not in with_rules:
            continue  # every account has it: only worth drawing when it routes something
        b.add(Node(bus.arn or bus.name, "bus", bus.name))
    for table in pipeline.tables:
        details = [f"stream {table.stream_view_type}"] if table.stream_enabled else []
        if table.ttl_enabled:
            details.append(f"TTL {table.ttl_attribute}")
        b.add(Node(table.arn, "table", table.name, tuple(details)))
    for f in pipeline.functions:
        b.add(Node(f.arn, "function", f.name, (f"{f.timeout_seconds}s",) if f.timeout_seconds else ()))
    for sm in pipeline.state_machines:
        b.add(Node(sm.arn, "state_machine", sm.name, (sm.type,)))


# -- edges, one builder per kind of connection ------------------------------------------------------------


def _subscription_target(b: _Builder, sub: Subscription) -> str:
    endpoint = sub.endpoint
    if sub.protocol in _ARN_PROTOCOLS or endpoint.startswith("arn:"):
        target = b.ensure(endpoint)
        fn = b.pipeline.function_by_arn(endpoint) if sub.protocol == "lambda" else None
        return fn.arn if fn else target
    target = f"{sub.protocol}:{endpoint}"  # http(s), email, sms: not an ARN
    b.nodes.setdefault(target, Node(target, "external", endpoint, (sub.protocol,)))
    return target


def _subscription_edges(b: _Builder) -> None:
    for sub in b.pipeline.subscriptions:
        b.ensure(sub.topic_arn)
        target = _subscription_target(b, sub)
        parts = ["subscription"]
        if sub.filter_policy is not None:
            parts.append(f"filter {_short_json(sub.filter_policy)}")
        if sub.raw_message_delivery:
            parts.append("raw")
        if sub.pending:
            parts.append("PENDING")
        b.link(sub.topic_arn, target, "subscription", ", ".join(parts))
        if sub.dead_letter_target_arn:
            b.link(sub.topic_arn, b.ensure(sub.dead_letter_target_arn), "subscription-dlq",
                   f"undeliverable to {name_from_arn(sub.endpoint)}")


def _redrive_edges(b: _Builder) -> None:
    for q in b.pipeline.queues:
        if q.dead_letter_target_arn:
            b.link(q.arn, b.ensure(q.dead_letter_target_arn), "redrive", f"after {q.max_receive_count} receives")


def _rule_node(rule: Rule) -> Node:
    details = [rule.schedule] if rule.schedule else []
    if rule.state != "ENABLED":
        details.append(rule.state)
    return Node(rule.arn, "rule", rule.name, tuple(details))


def _pattern_label(rule: Rule) -> str:
    if not rule.event_pattern:
        return ""
    try:
        return _short_json(json.loads(rule.event_pattern))
    except ValueError:
        return rule.event_pattern[:60]


def _rule_edges(b: _Builder) -> None:
    bus_ids = {bus.name: (bus.arn or bus.name) for bus in b.pipeline.buses}
    for rule in b.pipeline.rules:
        b.add(_rule_node(rule))
        bus_id = bus_ids.get(rule.bus_name) or rule.bus_name
        b.nodes.setdefault(bus_id, Node(bus_id, "bus", rule.bus_name))
        b.link(bus_id, rule.arn, "rule", _pattern_label(rule))
        for t in rule.targets:
            b.link(rule.arn, b.resolve(t.arn), "target", "target" + ("" if t.has_retry_policy else ", default retries"))
            if t.dead_letter_arn:
                b.link(rule.arn, b.ensure(t.dead_letter_arn), "target-dlq", f"undeliverable to {name_from_arn(t.arn)}")


def _mapping_source(b: _Builder, mapping: EventSourceMapping) -> tuple[str, list[str]]:
    """The node a mapping reads from, and the first words of its edge's label."""
    if mapping.source_kind != "dynamodb":
        return b.ensure(mapping.source_arn), ["event source mapping"]
    table_arn = mapping.source_arn.split("/stream/")[0]
    source = table_arn if table_arn in b.nodes else b.ensure(mapping.source_arn)
    table = b.pipeline.table(table_arn)
    return source, [f"stream {table.stream_view_type if table and table.stream_view_type else 'stream'}"]


def _mapping_edges(b: _Builder) -> None:
    for mapping in b.pipeline.mappings:
        fn = b.pipeline.function_by_arn(mapping.function_arn)
        function = fn.arn if fn else b.ensure(mapping.function_arn)
        source, parts = _mapping_source(b, mapping)
        if mapping.batch_size:
            parts.append(f"batch {mapping.batch_size}")
        if mapping.filters:
            parts.append(f"{len(mapping.filters)} filter(s)")
        if mapping.state and mapping.state.lower() not in _QUIET_STATES:
            parts.append(mapping.state)
        b.link(source, function, "mapping", ", ".join(parts))
        if mapping.on_failure_arn:
            b.link(function, b.resolve(mapping.on_failure_arn), "on-failure",
                   f"on failure ({name_from_arn(mapping.source_arn.split('/stream/')[0])})")


def _function_dlq_edges(b: _Builder) -> None:
    for f in b.pipeline.functions:
        if f.dead_letter_arn:
            b.link(f.arn, b.resolve(f.dead_letter_arn), "function-dlq", "async DLQ")


def _origin_edges(b: _Builder) -> None:
    """A function's asynchronous on-failure destination, a pipe's DLQ (core/dlq/origins.py, through discovery)."""
    for o in b.pipeline.dlq_origins:
        if o.kind == FOUND_BY_LAMBDA_ON_FAILURE:
            fn = b.pipeline.function_by_arn(o.owner_arn)
            b.link(fn.arn if fn else b.ensure(o.owner_arn), b.resolve(o.dlq_arn), "function-on-failure",
                   "async on failure" + (f" ({o.owner})" if fn is None or fn.name != o.owner else ""))
        elif o.kind == FOUND_BY_PIPE and o.source_arn:
            table_arn = o.source_arn.split("/stream/")[0]
            source = table_arn if table_arn in b.nodes else b.resolve(o.source_arn)
            b.link(source, b.resolve(o.dlq_arn), "pipe-dlq", f"pipe {o.owner}, on failure")


def _task_edges(b: _Builder) -> None:
    for machine in b.pipeline.state_machines:
        for path, state in iter_states(machine.definition):
            for ref in _task_references(state):
                called = _resolve(b.pipeline, b.nodes, ref)
                if called and called != machine.arn:
                    b.link(machine.arn, called, "task", path)


_EDGE_BUILDERS: tuple[Callable[[_Builder], None], ...] = (
    _subscription_edges, _redrive_edges, _rule_edges, _mapping_edges, _function_dlq_edges, _origin_edges,
    _task_edges,
)


def build_graph(pipeline: Pipeline) -> Graph:
    """Every resource of the pipeline as a node, every connection between them as an edge."""
    b = _Builder(pipeline)
    _resource_nodes(b)
    for build_edges in _EDGE_BUILDERS:
        build_edges(b)
    return b.graph()


def _resolve(pipeline: Pipeline, nodes: Mapping[str, Node], ref: str) -> str | None:
    """The node id a reference (ARN, queue URL, name) points at, when it is in the graph."""
    if ref in nodes:
        return ref
    queue = pipeline.queue(ref)
    if queue is not None:
        return queue.arn
    fn = pipeline.function_by_arn(ref)
    if fn is not None:
        return fn.arn
    table = pipeline.table(ref)
    if table is not None:
        return table.arn
    for n in nodes.values():
        if n.name == ref and n.kind in ("topic", "bus", "state_machine"):
            return n.id
    return None


def _task_references(state: Mapping[str, Any]) -> Iterable[str]:
    """What a Task state calls: a Lambda ARN, or the queue/topic/table/bus/function in its Parameters."""
    if state.get("Type") != "Task":
        return []
    refs = []
    resource = str(state.get("Resource", ""))
    if resource.startswith("arn:") and ":lambda:" in resource and ":function:" in resource:
        refs.append(resource)
    params = state.get("Parameters") or state.get("Arguments") or {}
    if isinstance(params, Mapping):
        for key in ("QueueUrl", "TopicArn", "TableName", "FunctionName", "StateMachineArn"):
            value = params.get(key)
            if isinstance(value, str):
                refs.append(value)
        for entry in params.get("Entries") or []:
            if isinstance(entry, Mapping) and isinstance(entry.get("EventBusName"), str):
                refs.append(entry["EventBusName"])
    return refs


def around(graph: Graph, name: str, depth: int = 1) -> Graph:
    """The resource(s) called `name` (name or ARN) and everything within `depth` edges of them."""
    starts = {n.id for n in graph.nodes if name in (n.id, n.name)}
    if not starts:
        raise ResourceNotFound(f"no resource named {name!r} in the pipeline",
                               hint="`eda topology` lists every resource; pass a name or an ARN")
    keep = set(starts)
    frontier = set(starts)
    for _ in range(max(depth, 0)):
        nxt: set[str] = set()
        for e in graph.edges:
            if e.source in frontier and e.target not in keep:
                nxt.add(e.target)
            if e.target in frontier and e.source not in keep:
                nxt.add(e.source)
        keep |= nxt
        frontier = nxt
    return Graph(tuple(n for n in graph.nodes if n.id in keep),
                 tuple(e for e in graph.edges if e.source in keep and e.target in keep))
