"""The pipeline as a graph: topic -> subscriptions -> queues -> DLQs; bus -> rules -> targets;
table -> stream -> consumers; state machines and what their tasks call.

`build_graph(pipeline)` gives nodes (one per resource, keyed by ARN) and labelled edges;
`around(graph, name)` keeps one resource and its neighbours; `to_tree`, `to_mermaid` and `to_dot`
render it. The tree is plain data (the command draws it with rich); nothing here prints.

Layout: `model` (Node, Edge, Graph), `graph` (build_graph: one edge builder per kind of
connection; around), `tree` (to_tree, tree_lines), `formats` (Mermaid, DOT).
"""

from __future__ import annotations

from eda_cli.core.topology.formats import to_dot, to_mermaid
from eda_cli.core.topology.graph import around, build_graph
from eda_cli.core.topology.model import KINDS, Edge, Graph, Node, join_graphs
from eda_cli.core.topology.tree import TreeNode, to_tree, tree_lines

__all__ = [
    "KINDS",
    "Edge",
    "Graph",
    "Node",
    "TreeNode",
    "around",
    "build_graph",
    "join_graphs",
    "to_dot",
    "to_mermaid",
    "to_tree",
    "tree_lines",
]
