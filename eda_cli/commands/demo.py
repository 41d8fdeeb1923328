"""`eda demo`: the whole tool on the embedded sandbox, no AWS account needed."""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import typer

from eda_cli.commands._common import ctx_of
from eda_cli.errors import EdaError, ExitCode

#: The demo's steps: what an on-call engineer would run, in order. Each later capability adds one.
STEPS: list[tuple[str, list[str]]] = [
    ("Where are poison messages piling up?", ["dlq", "inspect"]),
    ("What are they? (peeked, not consumed)", ["dlq", "peek", "payments-dlq", "--group-by", "error"]),
    ("Up close: the legacy producer sends card numbers; the sandbox's eda.yaml (redact: preset pci) masks them",
     ["dlq", "peek", "payments-dlq"]),
    ("The Lambda DLQ, grouped by the error Lambda recorded",
     ["dlq", "peek", "notify-lambda-dlq", "--group-by", "error"]),
    ("A producer release changed the order event: the EU fulfilment DLQ against the consumers' schema",
     ["dlq", "peek", "eu-fulfilment-dlq", "--schema", "{schemas}/order-created.json", "--group-by", "violation"]),
    ("Where did order o-1007 go? One correlation id across DLQs, logs, the stream and the idempotency table",
     ["trace", "corr-0007"]),
    ("Which orders really changed status? (the orders table's stream)",
     ["stream", "tail", "orders", "--from", "trim-horizon", "--events", "MODIFY", "--changed", "status",
      "--no-follow"]),
    ("Which rule routes this order, and why do the others miss it?",
     ["route", "test", "{events}/order-created-eu.json", "--bus", "orders-bus"]),
    ("Prove it live: send that order once, stamped, and see which targets it reaches (the taps are removed after)",
     ["probe", "--bus", "orders-bus", "--event", "@{events}/order-created-eu.json", "--yes"]),
    ("The payments consumer is fixed: move its poison messages back, archived first",
     ["redrive", "payments-dlq", "--archive", "{tmp}/payments-dlq.jsonl", "--yes"]),
    ("The payments DLQ is empty again", ["dlq", "inspect", "payments-dlq"]),
    ("EventBridge could not deliver three EU orders: each goes straight to its target, not back to the bus",
     ["redrive", "eu-orders-target-dlq", "--yes"]),
    ("The whole pipeline at a glance: what feeds what, where each DLQ drains from", ["topology"]),
    ("Audit it like CI would: the misconfigurations fail the build (exit 1)", ["audit"]),
    ("Rehearse the checkout saga on Step Functions: shipping fails, payment and inventory are compensated",
     ["saga", "run", "example:checkout", "--engine", "stepfunctions", "--fail-at", "ship",
      "--input", '{"order_id":"o-2001","sku":"SKU-100","amount":42}']),
]

#: `{events}` in a step's arguments: the sample events shipped in eda_cli/sandbox/events/.
EVENTS_PLACEHOLDER = "{events}"
#: `{schemas}` in a step's arguments: the event schemas shipped in eda_cli/sandbox/schemas/.
SCHEMAS_PLACEHOLDER = "{schemas}"
#: `{tmp}` in a step's arguments: a directory that lives as long as the demo (redrive's archive). The steps run
#: there, with the sandbox's pipeline file (eda_cli/sandbox/eda.yaml) as ./eda.yaml, as a team's repository has it.
TMP_PLACEHOLDER = "{tmp}"


def _sandbox_environment(endpoint_url: str, region: str) -> AbstractContextManager[None]:
    """Point every nested command at the sandbox, whatever the user's AWS environment says."""
    from eda_cli.environment import environment

    remove = ["AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "EDA_ROLE_ARN"]
    return environment({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_REGION": region, "EDA_ENDPOINT_URL": endpoint_url}, remove=remove)


def _sandbox_file(name: str) -> str:
    from eda_cli import sandbox

    return os.path.join(os.path.dirname(sandbox.__file__), name)


@contextmanager
def _working_directory(path: str) -> Iterator[None]:
    """Run the steps in `path` (where ./eda.yaml is the sandbox's), and come back after."""
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def _events_dir(kind: str = "events") -> str:
    from eda_cli import sandbox

    return os.path.join(os.path.dirname(sandbox.__file__), kind)


def _invoke(args: list[str]) -> int:
    """Run one eda command in-process, exactly as a user would type it: through `app.run`, so that a
    step's error is reported (and counted as a failed step) like any other command's."""
    from eda_cli.app import run

    return run(args)


def demo(
    ctx: typer.Context,
    port: int = typer.Option(0, "--port", "-p", min=0, max=65535, help="Sandbox port (0: a free one)."),
) -> None:
    """Run eda's diagnostics on the embedded sandbox: no AWS account, nothing left running.

    Starts moto's server in-process on 127.0.0.1, seeds the demo pipeline (SNS fan-out,
    EventBridge routing, DynamoDB streams, idempotency table, poison messages in DLQs) and
    runs each diagnostic step an on-call engineer would, printing what they would see.

    Example: eda demo
    """
    import shutil
    import tempfile

    from rich.markup import escape

    from eda_cli.aws.session import sandbox_session
    from eda_cli.sandbox.demo_pipeline import seed_demo
    from eda_cli.sandbox.server import SandboxError, SandboxServer

    app_ = ctx_of(ctx)
    out = app_.renderer
    region = "us-east-1"
    try:
        server = SandboxServer(port=port)
        server.start()
    except SandboxError as exc:
        raise EdaError(str(exc), hint="choose another --port, or 0 for a free one",
                       exit_code=ExitCode.USAGE) from exc
    failed: list[str] = []
    tmp = tempfile.mkdtemp(prefix="eda-demo-")
    try:
        out.markup(f"[bold]eda demo[/bold]: sandbox at {server.endpoint_url} (moto), region {region}")
        pipeline = seed_demo(sandbox_session(server.endpoint_url, region).client, region=region)
        poisoned = sum(q.messages for q in pipeline.queues if q.role != "source")
        out.text(
            f"seeded in {pipeline.seconds:.1f}s: {len(pipeline.queues)} queues ({len(pipeline.dlq_names)} DLQs), "
            f"topic {pipeline.topic_arn.rsplit(':', 1)[-1]}, bus {pipeline.bus_name} "
            f"({len(pipeline.rule_names)} rules), tables {', '.join(pipeline.table_names)}; "
            f"{poisoned} poison messages in DLQs"
        )
        globals_ = [] if app_.color else ["--no-color"]
        schemas = _events_dir("schemas")
        shutil.copyfile(_sandbox_file("eda.yaml"), os.path.join(tmp, "eda.yaml"))
        with _sandbox_environment(server.endpoint_url, region), _working_directory(tmp):
            for number, (title, step) in enumerate(STEPS, start=1):
                args = [a.replace(EVENTS_PLACEHOLDER, _events_dir()).replace(SCHEMAS_PLACEHOLDER, schemas)
                        .replace(TMP_PLACEHOLDER, tmp) for a in step]
                out.text("")
                out.markup(f"[bold]{number}. {title}[/bold]")
                out.markup(f"[dim]$ eda {escape(shlex.join(args))}[/dim]")  # as a shell would take it
                code = _invoke([*globals_, *args])
                if code not in (0, int(ExitCode.FINDING)):
                    failed.append(f"step {number} (eda {shlex.join(args)}) exited {code}")
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    out.text("")
    if failed:
        raise EdaError("the demo did not run cleanly: " + "; ".join(failed), exit_code=ExitCode.PARTIAL)
    out.text(f"Demo finished; the sandbox is stopped. Try it yourself: {_eda_command()} sandbox start")


def _eda_command() -> str:
    """How to run eda from this shell: `eda` when that is on PATH and is this eda, else the path that ran
    the demo (a quick start leaves eda in .venv/bin, not on PATH)."""
    import shutil
    import sys

    ran = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    on_path = shutil.which("eda")
    if on_path and ran and os.path.exists(ran) and os.path.samefile(on_path, ran):
        return "eda"
    if ran and os.path.basename(ran) == "eda" and os.path.exists(ran):
        relative = os.path.relpath(ran)
        return relative if not relative.startswith("..") else ran
    return f"{sys.executable} -m eda_cli"
