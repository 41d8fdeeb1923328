"""`eda topology`: the pipeline as a graph, for the terminal (a tree) or for docs (Mermaid, DOT)."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any

import typer

from eda_cli.commands._common import ctx_of, exit_with
from eda_cli.commands._pipeline import config_option, load
from eda_cli.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from eda_cli.core.topology import Graph, TreeNode
    from eda_cli.render import Renderer


class TopologyFormat(str, Enum):
    tree = "tree"
    mermaid = "mermaid"
    dot = "dot"


def topology(
    ctx: typer.Context,
    format_: TopologyFormat | None = typer.Option(
        None, "--format", "-f", case_sensitive=False,
        help="tree (the terminal), mermaid or dot (documentation). Takes precedence over --output.",
    ),
    around: str | None = typer.Option(None, "--around", metavar="NAME",
                                      help="Only this resource (name or ARN) and its neighbours."),
    depth: int = typer.Option(1, "--depth", min=1, max=10, metavar="N",
                              help="With --around: how many hops to include (default 1)."),
    config: str | None = config_option(),
) -> None:
    """Draw the pipeline: topic -> subscriptions -> queues -> DLQs; bus -> rules -> targets;
    table -> stream -> consumers; state machines and what their tasks call.

    DLQs show their depth and their alarm (or NO ALARM); queues without a DLQ say NO DLQ.
    Read-only: discovery lists and describes, never changes anything.

    Example: eda topology --format mermaid > docs/pipeline.mmd
    """
    from eda_cli.core.topology import around as around_fn
    from eda_cli.core.topology import build_graph, to_dot, to_mermaid, to_tree

    app_ = ctx_of(ctx)
    renderer = app_.renderer
    if format_ is TopologyFormat.tree and renderer.output == "csv":
        raise UsageError("--format tree is a nested tree, not rows: use -o json, jsonl or yaml with it, "
                         "or -o csv without it (one row per node and per edge)")
    loaded = load(app_, config)
    graph = build_graph(loaded.pipeline)
    problems = loaded.pipeline.problems
    if around:
        graph = around_fn(graph, around, depth)
    if format_ in (TopologyFormat.mermaid, TopologyFormat.dot):
        renderer.warn_problems(problems)
        renderer.raw(to_mermaid(graph) if format_ is TopologyFormat.mermaid else to_dot(graph))
    elif format_ is TopologyFormat.tree or renderer.human:
        trees = to_tree(graph)
        if format_ is TopologyFormat.tree and not renderer.human:
            renderer.emit([t.to_dict() for t in trees], problems=problems)
        else:
            renderer.warn_problems(problems)
            _print_tree(renderer, trees, loaded.pipeline.region)
    else:
        renderer.emit(graph.to_dict(), records=_records(graph), columns=RECORD_COLUMNS, problems=problems)
    exit_with(ExitCode.PARTIAL if loaded.pipeline.partial else ExitCode.OK)


#: -o csv's header: a row per node (id, kind, name, details, warning), then a row per edge (source,
#: target, kind, label), told apart by `type`; -o jsonl: the same records, one a line.
RECORD_COLUMNS = ("type", "id", "kind", "name", "details", "warning", "source", "target", "label")


def _records(graph: Graph) -> list[dict[str, Any]]:
    """The graph as -o json has it, flattened: {"type": "node", **node} for each node, then edges."""
    return ([{"type": "node", **n.to_dict()} for n in graph.nodes]
            + [{"type": "edge", **e.to_dict()} for e in graph.edges])


_STYLES = {"topic": "bold magenta", "bus": "bold blue", "table": "bold green", "queue": "cyan", "dlq": "red",
           "rule": "blue", "function": "yellow", "state_machine": "bold yellow", "external": "dim"}


def _print_tree(renderer: Renderer, trees: list[TreeNode], region: str) -> None:
    from eda_cli.core.topology import tree_lines

    if not trees:
        renderer.text(f"no event pipeline resources in {region}")
        return
    if not renderer.is_terminal:
        for line in tree_lines(trees):
            renderer.text(line)
        return
    from rich.text import Text
    from rich.tree import Tree

    def label(t: TreeNode) -> Text:
        text = Text()
        if t.via:
            text.append(f"{t.via} ", style="dim")
            text.append("→ ", style="dim")
        text.append(t.node.name, style=_STYLES.get(t.node.kind, ""))
        from eda_cli.core.topology import KINDS

        text.append(f" ({KINDS.get(t.node.kind, t.node.kind)})", style="dim")
        if t.node.details:
            text.append(f" [{', '.join(t.node.details)}]", style="bold red" if t.node.warning else "")
        if t.repeated:
            text.append(" (see above)", style="dim")
        return text

    def add(parent: Tree, t: TreeNode) -> None:
        branch = parent.add(label(t))
        for c in t.children:
            add(branch, c)

    root = Tree(Text(f"event pipeline in {region}", style="bold"), guide_style="dim")
    for t in trees:
        add(root, t)
    renderer.console.print(root)
