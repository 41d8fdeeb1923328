"""The pipeline as a graph: topic -> subscriptions -> queues -> DLQs; bus -> rules -> targets;
table -> stream -> consumers; state machines and what their tasks call.

`build_graph(pipeline)` gives nodes (one per resource, keyed by ARN) and labelled edges;
`around(graph, name)` keeps one resource and its neighbours; `to_tree`, `to_mermaid` and `to_dot`
render it. The tree is plain data (the command draws it with rich); nothing here prints.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from eda_cli.core.pipeline.model import Pipeline, iter_states, name_from_arn, service_of
from eda_cli.errors import ResourceNotFound

#: Order of roots in the tree, and their captions.
KINDS = {
    "topic": "SNS topic",
    "bus": "event bus",
    "rule": "rule",
    "table": "DynamoDB table",
    "queue": "SQS queue",
    "dlq": "DLQ",
    "function": "Lambda",
    "state_machine": "state machine",
    "external": "external",
}
_ORDER = {kind: i for i, kind in enumerate(KINDS)}


@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    name: str
    #: Short facts shown beside the name: depth, alarm, stream view type, timeout...
    details: tuple[str, ...] = ()
    #: Something the audit would flag, shown in red in the tree (e.g. "NO ALARM").
    warning: bool = False

    @property
    def label(self) -> str:
        extra = f" [{', '.join(self.details)}]" if self.details else ""
        return f"{self.name} ({KINDS.get(self.kind, self.kind)}){extra}"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "name": self.name, "details": list(self.details),
                "warning": self.warning}


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: str
    label: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "kind": self.kind, "label": self.label}


@dataclass(frozen=True)
class Graph:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    def node(self, node_id: str) -> Node | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    def to_dict(self) -> dict[str, Any]:
        return {"nodes": [n.to_dict() for n in self.nodes], "edges": [e.to_dict() for e in self.edges]}


def _short_json(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, separators=(",", ":"), sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def build_graph(pipeline: Pipeline) -> Graph:
    """Every resource of the pipeline as a node, every connection between them as an edge."""
    nodes: dict[str, Node] = {}
    edges: list[Edge] = []

    def external(arn: str) -> str:
        if arn and arn not in nodes:
            service = service_of(arn) or "?"
            nodes[arn] = Node(arn, "external", name_from_arn(arn), (service,))
        return arn

    for topic in pipeline.topics:
        nodes[topic.arn] = Node(topic.arn, "topic", topic.name)
    for q in pipeline.queues:
        details: list[str] = []
        warning = False
        if pipeline.is_dlq(q):
            alarms = pipeline.depth_alarms(q)
            details.append(f"{q.visible or 0} msgs" if q.visible is not None else "? msgs")
            details.append(f"alarm {alarms[0].name}" if alarms else "NO ALARM")
            warning = not alarms
            nodes[q.arn] = Node(q.arn, "dlq", q.name, tuple(details), warning)
        else:
            if q.visible:
                details.append(f"{q.visible} msgs")
            if q.dead_letter_target_arn is None:
                details.append("NO DLQ")
                warning = True
            nodes[q.arn] = Node(q.arn, "queue", q.name, tuple(details), warning)
    with_rules = {r.bus_name for r in pipeline.rules}
    for bus in pipeline.buses:
        if bus.name == "default" and bus.name not in with_rules:
            continue  # every account has it: only worth drawing when it routes something
        nodes[bus.arn or bus.name] = Node(bus.arn or bus.name, "bus", bus.name)
    bus_ids = {b.name: (b.arn or b.name) for b in pipeline.buses}
    for table in pipeline.tables:
        details = [f"stream {table.stream_view_type}"] if table.stream_enabled else []
        if table.ttl_enabled:
            details.append(f"TTL {table.ttl_attribute}")
        nodes[table.arn] = Node(table.arn, "table", table.name, tuple(details))
    for f in pipeline.functions:
        nodes[f.arn] = Node(f.arn, "function", f.name, (f"{f.timeout_seconds}s",) if f.timeout_seconds else ())
    for sm in pipeline.state_machines:
        nodes[sm.arn] = Node(sm.arn, "state_machine", sm.name, (sm.type,))

    for sub in pipeline.subscriptions:
        if sub.topic_arn not in nodes:
            external(sub.topic_arn)
        endpoint = sub.endpoint
        if sub.protocol in ("sqs", "lambda", "firehose", "application") or endpoint.startswith("arn:"):
            target = endpoint if endpoint in nodes else external(endpoint)
            if sub.protocol == "lambda":
                fn = pipeline.function_by_arn(endpoint)
                target = fn.arn if fn else target
        else:  # http(s), email, sms: not an ARN
            target = f"{sub.protocol}:{endpoint}"
            nodes.setdefault(target, Node(target, "external", endpoint, (sub.protocol,)))
        parts = ["subscription"]
        if sub.filter_policy is not None:
            parts.append(f"filter {_short_json(sub.filter_policy)}")
        if sub.raw_message_delivery:
            parts.append("raw")
        if sub.pending:
            parts.append("PENDING")
        edges.append(Edge(sub.topic_arn, target, "subscription", ", ".join(parts)))
        if sub.dead_letter_target_arn:
            dlq = sub.dead_letter_target_arn if sub.dead_letter_target_arn in nodes else external(
                sub.dead_letter_target_arn)
            edges.append(Edge(sub.topic_arn, dlq, "subscription-dlq",
                              f"undeliverable to {name_from_arn(endpoint)}"))

    for q in pipeline.queues:
        if q.dead_letter_target_arn:
            dlq = q.dead_letter_target_arn if q.dead_letter_target_arn in nodes else external(
                q.dead_letter_target_arn)
            edges.append(Edge(q.arn, dlq, "redrive", f"after {q.max_receive_count} receives"))

    for rule in pipeline.rules:
        details = []
        if rule.schedule:
            details.append(rule.schedule)
        if rule.state != "ENABLED":
            details.append(rule.state)
        nodes[rule.arn] = Node(rule.arn, "rule", rule.name, tuple(details))
        bus_id = bus_ids.get(rule.bus_name) or rule.bus_name
        nodes.setdefault(bus_id, Node(bus_id, "bus", rule.bus_name))
        pattern = ""
        if rule.event_pattern:
            try:
                pattern = _short_json(json.loads(rule.event_pattern))
            except ValueError:
                pattern = rule.event_pattern[:60]
        edges.append(Edge(bus_id, rule.arn, "rule", pattern))
        for t in rule.targets:
            target = _resolve(pipeline, nodes, t.arn) or external(t.arn)
            label = "target" + ("" if t.has_retry_policy else ", default retries")
            edges.append(Edge(rule.arn, target, "target", label))
            if t.dead_letter_arn:
                dlq = t.dead_letter_arn if t.dead_letter_arn in nodes else external(t.dead_letter_arn)
                edges.append(Edge(rule.arn, dlq, "target-dlq", f"undeliverable to {name_from_arn(t.arn)}"))

    for mapping in pipeline.mappings:
        fn = pipeline.function_by_arn(mapping.function_arn)
        function = fn.arn if fn else external(mapping.function_arn)
        if mapping.source_kind == "dynamodb":
            table_arn = mapping.source_arn.split("/stream/")[0]
            source = table_arn if table_arn in nodes else external(mapping.source_arn)
            source_table = pipeline.table(table_arn)
            view = source_table.stream_view_type if source_table and source_table.stream_view_type else "stream"
            parts = [f"stream {view}"]
        else:
            source = mapping.source_arn if mapping.source_arn in nodes else external(mapping.source_arn)
            parts = ["event source mapping"]
        if mapping.batch_size:
            parts.append(f"batch {mapping.batch_size}")
        if mapping.filters:
            parts.append(f"{len(mapping.filters)} filter(s)")
        if mapping.state and mapping.state.lower() not in ("enabled", "creating", "updating", "enabling"):
            parts.append(mapping.state)
        edges.append(Edge(source, function, "mapping", ", ".join(parts)))
        if mapping.on_failure_arn:
            dest = _resolve(pipeline, nodes, mapping.on_failure_arn) or external(mapping.on_failure_arn)
            edges.append(Edge(function, dest, "on-failure",
                              f"on failure ({name_from_arn(mapping.source_arn.split('/stream/')[0])})"))
    for f in pipeline.functions:
        if f.dead_letter_arn:
            dest = _resolve(pipeline, nodes, f.dead_letter_arn) or external(f.dead_letter_arn)
            edges.append(Edge(f.arn, dest, "function-dlq", "async DLQ"))

    for machine in pipeline.state_machines:
        for path, state in iter_states(machine.definition):
            for ref in _task_references(state):
                called = _resolve(pipeline, nodes, ref)
                if called and called != machine.arn:
                    edges.append(Edge(machine.arn, called, "task", path))

    unique: dict[tuple[str, str, str, str], Edge] = {}
    for e in edges:
        unique.setdefault((e.source, e.target, e.kind, e.label), e)
    return Graph(tuple(sorted(nodes.values(), key=lambda n: (_ORDER.get(n.kind, 99), n.name))),
                 tuple(unique.values()))


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


# -- the tree -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TreeNode:
    node: Node
    #: The label of the edge from the parent ("" at a root).
    via: str = ""
    children: tuple[TreeNode, ...] = ()
    #: Already drawn elsewhere in the tree: its children are not repeated.
    repeated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"node": self.node.to_dict(), "via": self.via, "repeated": self.repeated,
                "children": [c.to_dict() for c in self.children]}


def to_tree(graph: Graph) -> list[TreeNode]:
    """Roots are resources nothing points at (topics, buses, tables...); each edge becomes a child."""
    out: dict[str, list[Edge]] = {}
    incoming: set[str] = set()
    for e in graph.edges:
        out.setdefault(e.source, []).append(e)
        incoming.add(e.target)
    drawn: set[str] = set()

    def grow(node: Node, via: str, path: frozenset[str]) -> TreeNode:
        if node.id in drawn and out.get(node.id):
            return TreeNode(node, via, (), repeated=True)
        drawn.add(node.id)
        children = []
        for e in sorted(out.get(node.id, []), key=lambda e: (_edge_rank(e.kind), _name(graph, e.target))):
            child = graph.node(e.target)
            if child is None or child.id in path:
                continue
            children.append(grow(child, e.label, path | {child.id}))
        return TreeNode(node, via, tuple(children))

    roots = [n for n in graph.nodes if n.id not in incoming]
    trees = [grow(n, "", frozenset({n.id})) for n in roots]
    # Cycles with no root (a queue that is its own DLQ...): start from whatever was not drawn.
    for n in graph.nodes:
        if n.id not in drawn:
            trees.append(grow(n, "", frozenset({n.id})))
    return trees


def _name(graph: Graph, node_id: str) -> str:
    node = graph.node(node_id)
    return node.name if node else node_id


def _edge_rank(kind: str) -> int:
    order = ["subscription", "rule", "target", "mapping", "task", "redrive", "subscription-dlq", "target-dlq",
             "on-failure", "function-dlq"]
    return order.index(kind) if kind in order else len(order)


def tree_lines(trees: list[TreeNode]) -> list[str]:
    """The tree as plain text lines (for pipes and files)."""
    lines: list[str] = []

    def walk(t: TreeNode, prefix: str, last: bool, root: bool) -> None:
        via = f"--[{t.via}]--> " if t.via else ""
        text = t.node.label + (" (see above)" if t.repeated else "")
        if root:
            lines.append(text)
            child_prefix = ""
        else:
            lines.append(f"{prefix}{'└── ' if last else '├── '}{via}{text}")
            child_prefix = prefix + ("    " if last else "│   ")
        for i, c in enumerate(t.children):
            walk(c, child_prefix, i == len(t.children) - 1, False)

    for t in trees:
        walk(t, "", True, True)
    return lines


# -- Mermaid and DOT ------------------------------------------------------------------------------------

_MERMAID_SHAPES = {
    "topic": ("{{", "}}"),
    "queue": ("[", "]"),
    "dlq": ("[/", "\\]"),
    "bus": ("([", "])"),
    "rule": (">", "]"),
    "table": ("[(", ")]"),
    "function": ("[[", "]]"),
    "state_machine": ("(", ")"),
    "external": ("[", "]"),
}


def _mermaid_text(text: str) -> str:
    text = text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    return re.sub(r"[\r\n]+", " ", text)


def to_mermaid(graph: Graph) -> str:
    """A Mermaid flowchart (left to right), one node per resource, labelled edges."""
    ids = {n.id: f"n{i}" for i, n in enumerate(graph.nodes)}
    lines = ["flowchart LR"]
    for n in graph.nodes:
        left, right = _MERMAID_SHAPES.get(n.kind, ("[", "]"))
        caption = KINDS.get(n.kind, n.kind)
        details = f"<br/>{_mermaid_text(', '.join(n.details))}" if n.details else ""
        lines.append(f'    {ids[n.id]}{left}"<b>{_mermaid_text(n.name)}</b><br/>{caption}{details}"{right}')
    for e in graph.edges:
        arrow = "-.->" if e.kind in ("redrive", "subscription-dlq", "target-dlq", "on-failure",
                                     "function-dlq") else "-->"
        label = f'|"{_mermaid_text(e.label)}"|' if e.label else ""
        lines.append(f"    {ids[e.source]} {arrow}{label} {ids[e.target]}")
    lines.append("    classDef dlq fill:#fde2e1,stroke:#c0392b")
    lines.append("    classDef warn stroke:#c0392b,stroke-width:3px")
    lines.append("    classDef external stroke-dasharray: 4 4")
    for kind, cls in (("dlq", "dlq"), ("external", "external")):
        members = [ids[n.id] for n in graph.nodes if n.kind == kind]
        if members:
            lines.append(f"    class {','.join(members)} {cls}")
    warned = [ids[n.id] for n in graph.nodes if n.warning]
    if warned:
        lines.append(f"    class {','.join(warned)} warn")
    return "\n".join(lines) + "\n"


_DOT_SHAPES = {
    "topic": "hexagon", "queue": "box", "dlq": "box", "bus": "ellipse", "rule": "cds",
    "table": "cylinder", "function": "component", "state_machine": "Mrecord", "external": "box",
}


def _dot(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(graph: Graph) -> str:
    """Graphviz DOT: `eda topology --format dot | dot -Tsvg > pipeline.svg`."""
    lines = ["digraph pipeline {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=11];',
             '  edge [fontname="Helvetica", fontsize=9];']
    for n in graph.nodes:
        text = "\n".join([n.name, KINDS.get(n.kind, n.kind), *([", ".join(n.details)] if n.details else [])])
        attrs = [f"label={_dot(text)}",
                 f"shape={_DOT_SHAPES.get(n.kind, 'box')}"]
        if n.kind == "dlq":
            attrs.append('style=filled, fillcolor="#fde2e1"')
        if n.kind == "external":
            attrs.append("style=dashed")
        if n.warning:
            attrs.append('color="#c0392b", penwidth=2')
        lines.append(f"  {_dot(n.id)} [{', '.join(attrs)}];")
    for e in graph.edges:
        attrs = [f"label={_dot(e.label)}"] if e.label else []
        if e.kind in ("redrive", "subscription-dlq", "target-dlq", "on-failure", "function-dlq"):
            attrs.append("style=dashed")
        lines.append(f"  {_dot(e.source)} -> {_dot(e.target)}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    lines.append("}")
    return "\n".join(lines) + "\n"
