"""`eda topology`: the graph, the tree, Mermaid and DOT, and --around."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

from eda_cli.core.pipeline import discover
from eda_cli.core.topology import around, build_graph, to_dot, to_mermaid, to_tree, tree_lines
from tests.fixtures.cli import Result, assert_one_line_error
from tests.fixtures.discovery import build_account
from tests.fixtures.seeded import Seeded


def _edges(doc: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    names = {n["id"]: n["name"] for n in doc["nodes"]}
    return {(names[e["source"]], names[e["target"]], e["kind"], e["label"]) for e in doc["edges"]}


def test_json_graph_of_the_sandbox(eda_ro: Callable[..., Result]) -> None:
    result = eda_ro("-o", "json", "topology")
    assert result.code == 0, result.stderr
    doc = result.json()
    nodes = {n["name"]: n for n in doc["nodes"] if n["kind"] != "table"}
    assert nodes["shipping-dlq"]["kind"] == "dlq" and nodes["shipping-dlq"]["warning"]
    assert "NO ALARM" in nodes["shipping-dlq"]["details"]
    assert nodes["payments-dlq"]["details"] == ["4 msgs", "alarm payments-dlq-not-empty"]
    assert nodes["cancellations"]["details"] == ["2 msgs", "NO DLQ"]
    assert "default" not in nodes  # the default bus routes nothing here
    edges = _edges(doc)
    assert ("orders", "shipping", "subscription", "subscription") in edges
    assert ("shipping", "shipping-dlq", "redrive", "after 10 receives") in edges
    assert ("high-value-orders", "fraud-review", "target", "target") in edges
    assert ("high-value-orders", "fraud-review-dlq", "target-dlq", "undeliverable to fraud-review") in edges
    assert ("cancelled-orders", "cancellations", "target", "target, default retries") in edges
    assert any(e[0] == "orders-bus" and e[1] == "eu-orders" and '"region":["EU"]' in e[3] for e in edges)


def test_jsonl_and_csv_have_one_record_per_node_and_per_edge(eda_ro: Callable[..., Result]) -> None:
    doc = eda_ro("-o", "json", "topology").json()
    records = [{"type": "node", **n} for n in doc["nodes"]] + [{"type": "edge", **e} for e in doc["edges"]]
    result = eda_ro("-o", "jsonl", "topology")
    assert result.code == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == records
    result = eda_ro("-o", "csv", "topology")
    assert result.code == 0, result.stderr
    header, *rows = csv.reader(io.StringIO(result.stdout))
    assert header == ["type", "id", "kind", "name", "details", "warning", "source", "target", "label"]
    assert len(rows) == len(doc["nodes"]) + len(doc["edges"])
    by_name = {row[3]: row for row in rows if row[0] == "node"}
    ids = {row[3]: row[1] for row in rows if row[0] == "node"}
    assert by_name["shipping-dlq"][2:6] == ["dlq", "shipping-dlq", '["0 msgs","NO ALARM"]', "true"]
    assert by_name["shipping-dlq"][6:] == ["", "", ""]
    assert ["edge", "", "redrive", "", "", "", ids["shipping"], ids["shipping-dlq"], "after 10 receives"] in rows
    assert {row[0] for row in rows} == {"node", "edge"}


def test_a_tree_has_no_rows_so_csv_is_refused(eda_ro: Callable[..., Result]) -> None:
    result = eda_ro("-o", "csv", "topology", "--format", "tree")
    assert_one_line_error(result, 2)
    assert "use -o json, jsonl or yaml" in result.stderr and result.stdout == ""
    jsonl = eda_ro("-o", "jsonl", "topology", "--format", "tree")
    assert jsonl.code == 0 and all(json_line.startswith('{"node": ') for json_line in jsonl.stdout.splitlines())


def test_plain_tree_when_piped(eda_ro: Callable[..., Result]) -> None:
    result = eda_ro("topology")
    assert result.code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "orders (SNS topic)"
    assert "│   └── --[after 10 receives]--> shipping-dlq (DLQ) [0 msgs, NO ALARM]" in lines
    # The DLQs only configuration names hang off what names them: the subscription, the rule's target.
    assert ("└── --[undeliverable to inventory]--> inventory-subscription-dlq (DLQ) "
            "[2 msgs, alarm inventory-subscription-dlq-not-empty]") in lines
    assert ("│   └── --[undeliverable to eu-fulfilment]--> eu-orders-target-dlq (DLQ) "
            "[3 msgs, alarm eu-orders-target-dlq-not-empty]") in lines
    assert "orders-bus (event bus)" in lines
    assert "notify-lambda-dlq (DLQ) [3 msgs, alarm notify-lambda-dlq-not-empty]" in lines


_NODE = re.compile(r'^    (n\d+)(\{\{|\[/|\(\[|\[\(|\[\[|\[|>|\()"([^"]*)"(\}\}|\\\]|\]\)|\)\]|\]\]|\]|\))$')
_EDGE = re.compile(r'^    (n\d+) (-->|-\.->)(\|"([^"]*)"\|)? (n\d+)$')


def check_mermaid(text: str) -> tuple[set[str], list[tuple[str, str]]]:
    """A structural check of what eda emits: every line a node, an edge, a classDef or a class."""
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    nodes: set[str] = set()
    edges: list[tuple[str, str]] = []
    for line in lines[1:]:
        if (m := _NODE.match(line)) is not None:
            nodes.add(m.group(1))
        elif (m := _EDGE.match(line)) is not None:
            edges.append((m.group(1), m.group(5)))
        else:
            assert line.startswith(("    classDef ", "    class ")), line
    assert all(a in nodes and b in nodes for a, b in edges)
    return nodes, edges


def test_mermaid_renders_the_sandbox(eda_ro: Callable[..., Result]) -> None:
    result = eda_ro("-o", "json", "topology", "--format", "mermaid")  # --format wins over --output
    assert result.code == 0
    nodes, edges = check_mermaid(result.stdout)
    graph = eda_ro("-o", "json", "topology").json()
    assert len(nodes) == len(graph["nodes"]) and len(edges) == len(graph["edges"])
    assert "#quot;region#quot;" in result.stdout  # quotes in labels are escaped, not raw
    assert re.search(r'n\d+\[/"<b>shipping-dlq</b><br/>DLQ<br/>0 msgs, NO ALARM"\\\]', result.stdout)


def test_dot(eda_ro: Callable[..., Result]) -> None:
    result = eda_ro("topology", "--format", "dot")
    assert result.code == 0
    text = result.stdout
    assert text.startswith("digraph pipeline {") and text.rstrip().endswith("}")
    assert 'style=dashed' in text and 'label="after 10 receives"' in text
    if shutil.which("dot"):
        rendered = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True, timeout=60)
        assert rendered.returncode == 0, rendered.stderr
        assert "<svg" in rendered.stdout


def test_around_one_resource(eda_ro: Callable[..., Result]) -> None:
    result = eda_ro("-o", "json", "topology", "--around", "shipping")
    assert {n["name"] for n in result.json()["nodes"]} == {"orders", "shipping", "shipping-dlq"}
    wider = eda_ro("-o", "json", "topology", "--around", "shipping", "--depth", "2")
    assert {"inventory", "payments", "notifications"} <= {n["name"] for n in wider.json()["nodes"]}
    tree = eda_ro("topology", "--around", "high-value-orders", "--format", "tree")
    assert tree.stdout.splitlines()[0] == "orders-bus (event bus)"
    assert_one_line_error(eda_ro("topology", "--around", "nothing-here"), 3)


def test_rich_tree_on_a_terminal(seeded: Seeded) -> None:
    from eda_cli.commands.topology import _print_tree
    from eda_cli.render import Renderer

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    renderer = Renderer(stdout=out, color=False)

    pipeline = discover(seeded.client, "us-east-1")
    _print_tree(renderer, to_tree(build_graph(pipeline)), "us-east-1")
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue())
    assert text.startswith("event pipeline in us-east-1")
    assert "after 10 receives → shipping-dlq (DLQ) [0 msgs, NO ALARM]" in text


def test_cycles_and_shared_dlqs_terminate() -> None:
    from eda_cli.core.pipeline import Pipeline, Queue

    a = Queue("a", "u/a", "arn:aws:sqs:r:1:a", dead_letter_target_arn="arn:aws:sqs:r:1:b", max_receive_count=3)
    b = Queue("b", "u/b", "arn:aws:sqs:r:1:b", dead_letter_target_arn="arn:aws:sqs:r:1:a", max_receive_count=3)
    lines = tree_lines(to_tree(build_graph(Pipeline("r", queues=(a, b)))))
    assert len(lines) == 2


def test_lambda_streams_and_state_machines(boto: Any) -> None:
    build_account(boto)
    graph = build_graph(discover(boto, "us-east-1"))
    doc = graph.to_dict()
    edges = _edges(doc)
    assert ("items", "worker", "mapping", "stream NEW_IMAGE, batch 100") in edges
    assert ("work", "worker", "mapping", "event source mapping, batch 5, 1 filter(s)") in edges
    assert ("worker", "work-dlq", "on-failure", "on failure (items)") in edges
    assert ("flow", "worker", "task", "Call") in edges
    assert ("events", "work-dlq", "subscription-dlq", "undeliverable to work") in edges
    assert any(e[:3] == ("events", "work", "subscription") and "raw" in e[3] and "filter" in e[3] for e in edges)
    check_mermaid(to_mermaid(graph))
    assert "digraph" in to_dot(graph)
    assert {n.name for n in around(graph, "worker").nodes} == {"worker", "items", "work", "work-dlq", "flow"}


def test_function_on_failure_destinations_and_pipe_dlqs_come_from_the_dlq_origins(boto: Any, backend: Any) -> None:
    """What core/dlq/origins.py finds and discovery reads nowhere else: a function's async on-failure destination
    (ListFunctionEventInvokeConfigs) and a stream pipe's DLQ (DescribePipe) are DLQs and edges of the graph."""
    from tests.fixtures.discovery import queue

    arns = build_account(boto)
    _, failed = queue(boto, "worker-failures")
    boto("lambda").put_function_event_invoke_config(
        FunctionName="worker", DestinationConfig={"OnFailure": {"Destination": failed}})
    pipes = backend.has("pipes")
    if pipes:
        _, pipe_dlq = queue(boto, "items-pipe-failures")
        boto("pipes").create_pipe(
            Name="items-to-work", Source=arns["stream"], Target=arns["work"],
            RoleArn=f"arn:aws:iam::{arns['work'].split(':')[4]}:role/pipe",
            SourceParameters={"DynamoDBStreamParameters": {"StartingPosition": "LATEST",
                                                           "DeadLetterConfig": {"Arn": pipe_dlq}}})
    pipeline = discover(boto, "us-east-1")
    assert not pipeline.problems, pipeline.problems
    assert {q.name for q in pipeline.queues if pipeline.is_dlq(q)} >= {
        "worker-failures", *(["items-pipe-failures"] if pipes else [])}
    edges = _edges(build_graph(pipeline).to_dict())
    assert ("worker", "worker-failures", "function-on-failure", "async on failure") in edges
    if pipes:
        assert ("items", "items-pipe-failures", "pipe-dlq", "pipe items-to-work, on failure") in edges
    from eda_cli.core.pipeline import PipelineSpec, scope_pipeline

    scoped = scope_pipeline(pipeline, PipelineSpec(functions=("worker",)))
    assert "worker-failures" in {q.name for q in scoped.queues}
    assert [o.owner for o in scoped.dlq_origins if o.kind == "lambda on-failure"] == ["worker"]
