"""The graph's data: a node per resource (keyed by ARN), labelled edges, and the kinds' captions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
#: Edges to a dead-letter queue or an on-failure destination (drawn dashed).
DLQ_EDGES = ("redrive", "subscription-dlq", "target-dlq", "on-failure", "function-dlq", "function-on-failure",
             "pipe-dlq")


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


def join_graphs(graphs: Sequence[tuple[str, str, Graph]]) -> tuple[Graph, dict[str, tuple[str, str]]]:
    """The graphs of several scopes (account, region, graph) as one: nodes are keyed by ARN, so a resource one
    scope only points at (an `external` node: another account's queue) is the real node where another scope has
    it. Also returns each node's (account, region): the scope that has it, else the first that points at it."""
    nodes: dict[str, Node] = {}
    owner: dict[str, tuple[str, str]] = {}
    edges: dict[tuple[str, str, str, str], Edge] = {}
    for account, region, graph in graphs:
        for node in graph.nodes:
            known = nodes.get(node.id)
            if known is None or (known.kind == "external" and node.kind != "external"):
                nodes[node.id] = node
                owner[node.id] = (account, region)
        for edge in graph.edges:
            edges.setdefault((edge.source, edge.target, edge.kind, edge.label), edge)
    return Graph(tuple(nodes.values()), tuple(edges.values())), owner
