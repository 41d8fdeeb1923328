"""`eda topology`: the pipeline as a graph, for the terminal (a tree) or for docs (Mermaid, DOT)."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any

import typer

from eda_cli.commands._common import ctx_of, exit_with
from eda_cli.commands._pipeline import config_option, load
from eda_cli.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from eda_cli.context import AppContext
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
    if app_.multi_scope:
        _scoped(app_, config, format_, around, depth)
        return
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


def _scoped(app_: AppContext, config: str | None, format_: TopologyFormat | None, around: str | None,
            depth: int) -> None:
    """The topology of every scope at once. Node ids are ARNs, so the scopes' graphs join into one (an edge
    from one account to another included: a rule's target, a subscription's queue); Mermaid, DOT and JSON draw
    that one graph (each node with the `account` and `region` that reported it), the tree one tree per scope."""
    from eda_cli.commands._scoped import all_problems, run_in_scopes, scoped_exit
    from eda_cli.core.pipeline import load_pipeline
    from eda_cli.core.topology import around as around_fn
    from eda_cli.core.topology import build_graph, join_graphs, to_dot, to_mermaid, to_tree

    renderer = app_.renderer
    run = run_in_scopes(app_, lambda scope, s: load_pipeline(s.client, s.region, config))
    problems = all_problems(run, lambda loaded: loaded.pipeline.problems)
    graphs = [(scope, build_graph(loaded.pipeline)) for scope, loaded in run.results]
    graph, owner = join_graphs([(scope.account, scope.region, g) for scope, g in graphs])
    if around:
        graph = around_fn(graph, around, depth)
    if format_ in (TopologyFormat.mermaid, TopologyFormat.dot):
        renderer.warn_problems(problems)
        renderer.raw(to_mermaid(graph) if format_ is TopologyFormat.mermaid else to_dot(graph))
    elif format_ is TopologyFormat.tree or renderer.human:
        per_scope = [(scope, to_tree(_of_scope(graph, owner, (scope.account, scope.region)))) for scope, _ in graphs]
        if format_ is TopologyFormat.tree and not renderer.human:
            renderer.emit([scope.stamp(t.to_dict()) for scope, trees in per_scope for t in trees], problems=problems)
        else:
            renderer.warn_problems(problems)
            for scope, trees in per_scope:
                if not renderer.is_terminal and trees:  # the terminal's tree has its own title
                    renderer.text(f"event pipeline in {scope.label}")
                _print_tree(renderer, trees, scope.label)
    else:
        def stamp(node_id: str, item: dict[str, Any]) -> dict[str, Any]:
            account, region = owner.get(node_id, (None, None))
            return {"account": account, "region": region, **item}

        nodes = [stamp(n.id, n.to_dict()) for n in graph.nodes]
        records = ([{"type": "node", **n} for n in nodes] + [{"type": "edge", **e.to_dict()} for e in graph.edges])
        renderer.emit({"nodes": nodes, "edges": [e.to_dict() for e in graph.edges]}, records=records,
                      columns=("account", "region", *RECORD_COLUMNS), problems=problems)
    exit_with(scoped_exit(run, bool(problems)))


def _of_scope(graph: Graph, owner: dict[str, tuple[str, str]], scope: tuple[str, str]) -> Graph:
    """The part of the joined graph a scope has: its nodes, its edges, and what they point at (in another
    scope too, drawn as it is there)."""
    from eda_cli.core.topology import Graph

    edges = tuple(e for e in graph.edges if owner.get(e.source) == scope)
    ids = {n.id for n in graph.nodes if owner.get(n.id) == scope} | {e.target for e in edges}
    return Graph(tuple(n for n in graph.nodes if n.id in ids), edges)


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
