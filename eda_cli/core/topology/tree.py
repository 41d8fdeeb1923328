"""The graph as a tree: roots are resources nothing points at; each edge becomes a child."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eda_cli.core.topology.model import DLQ_EDGES, Edge, Graph, Node


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
    order = ["subscription", "rule", "target", "mapping", "task", *DLQ_EDGES]
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
