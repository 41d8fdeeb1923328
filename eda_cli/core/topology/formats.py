"""The graph for documentation: a Mermaid flowchart and Graphviz DOT."""

from __future__ import annotations

import re

from eda_cli.core.topology.model import DLQ_EDGES, KINDS, Graph

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
        arrow = "-.->" if e.kind in DLQ_EDGES else "-->"
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
        if e.kind in DLQ_EDGES:
            attrs.append("style=dashed")
        lines.append(f"  {_dot(e.source)} -> {_dot(e.target)}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    lines.append("}")
    return "\n".join(lines) + "\n"
