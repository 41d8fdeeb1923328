"""`eda schema`: infer event schemas, check events and DLQs against them, diff versions for breaking
changes, pull and push the EventBridge schema registry."""

from __future__ import annotations

import json
import os
from enum import Enum
from typing import TYPE_CHECKING, Any

import typer

from eda_cli.commands._common import ctx_of, exit_with, read_file
from eda_cli.commands._redact import no_redact_option, redact_option, redact_preset_option, redactor
from eda_cli.errors import ExitCode, UsageError
from eda_cli.render import TableView

if TYPE_CHECKING:
    from eda_cli.context import AppContext
    from eda_cli.core.schemas import CheckResult, DiffResult, InferredSchema, Sample, SchemaDoc
    from eda_cli.render import Renderer

app = typer.Typer(
    help="Event schemas: infer them, check events and DLQs against them, catch breaking changes.\n\n"
    "Pull and push the EventBridge schema registry too.\n\n"
    "Example: eda schema check events.jsonl --schema order-created.json",
    no_args_is_help=True,
)


class SchemaFormat(str, Enum):
    jsonschema = "jsonschema"
    openapi = "openapi"


class By(str, Enum):
    detail_type = "detail-type"


class DiffFormat(str, Enum):
    table = "table"
    json = "json"
    sarif = "sarif"


# -- shared: where a schema comes from --------------------------------------------------------------


def load_schema(app_: AppContext, spec: str, option: str = "--schema") -> SchemaDoc:
    """A schema option: a file (`-`: stdin), or `registry:REGISTRY/NAME[@VERSION]` (DescribeSchema)."""
    from eda_cli.core.schemas import PREFIX, describe_schema, parse_schema, parse_spec

    if spec.startswith(PREFIX):
        registry, name, version = parse_spec(spec)
        session = app_.session
        return describe_schema(session.client("schemas"), registry, name, version, f" ({session.where()})")
    return parse_schema(read_file(spec, f"{option}"), spec)


def _file_events(path: str) -> list[Sample]:
    from eda_cli.core.schemas import read_events

    return read_events(read_file(path, "events file"))


def _queue_events(app_: AppContext, queue: str, count: int, force: bool) -> list[Sample]:
    """Peeked (none consumed) messages of `queue`; Ctrl-C ends it with what was read put back (exit 130)."""
    from eda_cli.aws.resolve import resolve_queue
    from eda_cli.core.schemas import queue_events
    from eda_cli.interrupts import deferred_interrupts

    session = app_.session
    sqs = session.client("sqs")
    ref = resolve_queue(sqs, queue, session.region, session.where())
    with deferred_interrupts() as cancel:
        samples, result = queue_events(sqs, ref, count, force=force, cancel=cancel)
    app_.renderer.warn_problems(result.problems)
    if result.interrupted:
        app_.renderer.warn(f"interrupted after reading {len(result.messages)} message(s)")
        exit_with(ExitCode.INTERRUPTED)
    return samples


# -- infer ---------------------------------------------------------------------------------------


def _file_name(name: str) -> str:
    """A schema name as a file name: `shop.orders@OrderCreated` -> `shop.orders@OrderCreated.json`."""
    return "".join(c if c.isalnum() or c in "._@-" else "_" for c in name) + ".json"


@app.command("infer")
def infer_cmd(
    ctx: typer.Context,
    from_file: str | None = typer.Option(None, "--from-file", metavar="EVENTS",
                                         help="Events from a file: JSON Lines, a JSON array or one event; - for "
                                         "stdin."),
    from_queue: str | None = typer.Option(None, "--from-queue", metavar="QUEUE",
                                          help="Events peeked from a queue (name, URL or ARN), none consumed."),
    from_stream: str | None = typer.Option(None, "--from-stream", metavar="TABLE",
                                           help="The new images of a table's DynamoDB stream records."),
    from_tail: tuple[str, str] | None = typer.Option(
        None, "--from-tail", metavar="bus NAME",
        help="Events put on a bus from now on, through a temporary rule and queue (eda-tap-*) removed at the end: "
        "a write (see eda iam-policy 'schema infer'). Until --count events or --timeout."),
    count: int = typer.Option(100, "--count", "-n", min=1, max=10000,
                              help="At most this many events from --from-queue, --from-stream or --from-tail."),
    timeout: float | None = typer.Option(None, "--timeout", min=0.0, metavar="SECONDS",
                                         help="With --from-tail: stop after this many seconds, with what arrived."),
    format_: SchemaFormat = typer.Option(SchemaFormat.jsonschema, "--format",
                                         help="jsonschema (JSON Schema Draft 4) or openapi (OpenAPI 3), the "
                                         "two types the EventBridge schema registry stores."),
    by: By | None = typer.Option(None, "--by", help="One schema per source and detail-type."),
    enums: bool = typer.Option(False, "--enums", help="Make a string field an enum when it takes a few "
                               "(at most 10) repeated values."),
    out: str | None = typer.Option(None, "--out", metavar="DIR", help="Write each schema to DIR/NAME.json "
                                   "instead of printing it."),
    force: bool = typer.Option(False, "--force", help="With --from-queue: peek even a queue with a "
                               "RedrivePolicy (raises receive counts of live messages)."),
) -> None:
    """Infer a schema from sample events: required = present in every sample, formats (date-time, uuid,
    email) recognised, enums only with --enums.

    Prints the schema as it is (no envelope), ready for `eda schema push` or a repository; with --by
    detail-type, one per source and detail-type, named as schema discovery names them
    (source@DetailType). Events that are not JSON are left out (counted on stderr).

    --from-tail bus NAME is the one mode that changes the account: like `eda tail bus`, it creates a
    rule on the bus matching every event and a queue it feeds (eda-tap-*), says so on stderr, and
    removes both at the end (after --count events, --timeout, Ctrl-C or an error); `eda tail cleanup`
    removes what a killed run left.

    Example: eda schema infer --from-queue orders-dlq --by detail-type --out schemas/

    Example: eda schema infer --from-tail bus orders-bus --count 50 --timeout 300 --by detail-type
    """
    from eda_cli.core.schemas import JSON_SCHEMA, OPENAPI, decoded, infer_schemas, render_schema

    app_ = ctx_of(ctx)
    given = [o for o in (from_file, from_queue, from_stream, from_tail) if o is not None]
    if len(given) != 1:
        raise UsageError("give exactly one of --from-file, --from-queue, --from-stream, --from-tail",
                         hint="e.g. eda schema infer --from-file events.jsonl")
    if timeout is not None and from_tail is None:
        raise UsageError("--timeout goes with --from-tail", hint="e.g. eda schema infer --from-tail bus "
                         "orders-bus --count 50 --timeout 300")
    if from_file is not None:
        samples = _file_events(from_file)
        where = "stdin" if from_file == "-" else from_file
    elif from_queue is not None:
        samples = _queue_events(app_, from_queue, count, force)
        where = from_queue
    elif from_stream is not None:
        samples = _stream_events(app_, from_stream, count)
        where = f"the stream of {from_stream}"
    else:
        kind, bus = from_tail or ("", "")
        if kind != "bus":
            raise UsageError(f"--from-tail {kind} {bus}: only a bus can be tailed", hint="e.g. --from-tail bus "
                             "orders-bus")
        from eda_cli.aws.resolve import bus_name

        bus = bus_name(bus)
        samples = _tail_events(app_, bus, count, timeout)
        where = f"bus {bus}"
    events, skipped = decoded(samples)
    if skipped:
        app_.renderer.warn(f"{skipped} event(s) of {where} are not JSON: left out")
    if not events:
        raise UsageError(f"no JSON events in {where} to infer a schema from")
    inferred = infer_schemas(events, by_detail_type=by is not None, enums=enums)
    kind = OPENAPI if format_ is SchemaFormat.openapi else JSON_SCHEMA
    app_.renderer.note(f"inferred {len(inferred)} schema(s) from {len(events)} event(s) of {where}")
    if out is not None:
        _write_schemas(app_, inferred, kind, out)
        return
    if len(inferred) == 1 and by is None:
        app_.renderer.document(render_schema(inferred[0], kind))
    else:
        app_.renderer.document({i.name: render_schema(i, kind) for i in inferred})


def _write_schemas(app_: AppContext, inferred: list[InferredSchema], kind: str, out: str) -> None:
    from eda_cli.core.schemas import render_schema

    try:
        os.makedirs(out, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create --out {out}: {exc.strerror or exc}") from None
    rows = []
    for schema in inferred:
        path = os.path.join(out, _file_name(schema.name))
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(render_schema(schema, kind), indent=2) + "\n")
        rows.append({"name": schema.name, "source": schema.source, "detail_type": schema.detail_type,
                     "samples": schema.samples, "file": path})
    app_.renderer.emit(rows, TableView(columns=["Schema", "Samples", "File"],
                                       rows=[[r["name"], r["samples"], r["file"]] for r in rows]))


def _tail_events(app_: AppContext, bus: str, count: int, timeout: float | None) -> list[Sample]:
    """Events put on `bus` while a temporary tap listens, as `tail bus` taps it: stale taps warned about,
    each resource created and removed told on stderr, the tap removed on every way out. Ctrl-C: exit 130."""
    from eda_cli.commands.tail import say_removed, warn_stale_taps
    from eda_cli.core.schemas import tap_events
    from eda_cli.core.tap import Tap
    from eda_cli.interrupts import deferred_interrupts, interruptible

    renderer = app_.renderer
    session = app_.session
    sqs = session.client("sqs")
    warn_stale_taps(renderer, sqs)
    tap = Tap(sqs, events=session.client("events"), lifetime=timeout)
    samples: list[Sample] = []
    with deferred_interrupts() as cancel:
        try:
            until = f"{count} event(s)" + (f" or {timeout:g} s" if timeout is not None else "")
            with interruptible(cancel):
                samples = tap_events(tap, bus, count, timeout, cancel=cancel,
                                     on_created=lambda r: renderer.note(f"created {r.describe()}"))
                renderer.note(f"received {len(samples)} event(s) (listened until {until})")
        except KeyboardInterrupt:
            pass
        finally:
            say_removed(renderer, tap.close(), tap.left)
        interrupted = cancel.is_set()
    if interrupted:
        renderer.warn(f"interrupted after receiving {tap.received} event(s)")
        exit_with(ExitCode.INTERRUPTED)
    if 0 < len(samples) < count:
        renderer.note(f"{len(samples)} of {count} event(s) arrived before the timeout")
    if not samples:
        from eda_cli.errors import EdaError

        raise EdaError(f"no event arrived on bus {bus} within {timeout:g} s" if timeout is not None else
                       f"no event arrived on bus {bus}", hint="put events on the bus while it listens, or give a "
                       "longer --timeout", exit_code=ExitCode.EMPTY)
    return samples


def _stream_events(app_: AppContext, table: str, count: int) -> list[Sample]:
    from eda_cli.core.schemas import stream_events

    session = app_.session
    return stream_events(session.client("dynamodb"), session.client("dynamodbstreams"), table, count,
                         session.where())


# -- check ---------------------------------------------------------------------------------------


@app.command("check")
def check_cmd(
    ctx: typer.Context,
    events: str | None = typer.Argument(None, metavar="EVENTS", help="A file of events (JSON Lines, a JSON "
                                        "array or one event; an eda archive too), or - for stdin."),
    schema: str = typer.Option(..., "--schema", metavar="FILE|registry:REGISTRY/NAME[@VERSION]",
                               help="The schema: a file (JSON Schema Draft 4 or OpenAPI 3), or a registry's."),
    queue: str | None = typer.Option(None, "--queue", metavar="QUEUE", help="Check the messages of a queue "
                                     "instead (peeked, none consumed)."),
    max_messages: int = typer.Option(100, "--max", "-n", min=1, max=10000, help="With --queue: at most this "
                                     "many messages."),
    force: bool = typer.Option(False, "--force", help="With --queue: peek even a queue with a RedrivePolicy."),
    redact: list[str] = redact_option(),
    redact_preset: list[str] = redact_preset_option(),
    no_redact: bool = no_redact_option(),
) -> None:
    """Validate each event against a schema: per event, each violation (JSON path, what the schema says,
    what the event has); then every violation with how many events have it.

    Events over EventBridge's 256 KB limit (or SQS's 1 MiB) are findings; within 10% of one, a warning.
    Exit 0 when every event is valid, 1 when some are not (or are over a limit), 2 for bad input (an
    unreadable file or schema), 3 for an AWS error. --redact and --redact-preset (or eda.yaml's redact:)
    mask what a violation quotes of an event.

    Example: eda schema check dlq-archive.jsonl --schema registry:orders/shop.orders@OrderCreated
    """
    from eda_cli.core.schemas import Checker, check_events

    app_ = ctx_of(ctx)
    if (events is None) == (queue is None):
        raise UsageError("give EVENTS (a file, or - for stdin) or --queue QUEUE, not both",
                         hint="e.g. eda schema check events.jsonl --schema order.json")
    if events == "-" and schema == "-":
        raise UsageError("EVENTS and --schema cannot both be read from stdin", hint="give the schema as a file")
    masker = redactor(app_, redact, redact_preset, no_redact)
    checker = Checker(load_schema(app_, schema))
    if events is not None:
        samples = _file_events(events)
        if not samples:
            raise UsageError(f"no events in {'stdin' if events == '-' else events}")
    else:
        samples = _queue_events(app_, str(queue), max_messages, force)
        if not samples:
            app_.renderer.note(f"{queue} is empty: nothing to check")
    from eda_cli.core import redact as masking

    result = masking.results.checks(check_events(checker, samples), [event for _, event, _, _ in samples], masker)
    app_.renderer.emit(result.to_dict(), lambda r: print_check(r, result))
    warn_sizes(app_.renderer, result)
    over = any(flag.over for check in result.checks for flag in check.size_flags)
    exit_with(ExitCode.FINDING if result.invalid or over else ExitCode.OK)


def violations_view(result: CheckResult, title: str) -> TableView:
    return TableView(
        columns=["Path", "Schema says", "Events", "Example: the event has"],
        rows=[[g.path, g.expected, g.count, g.example] for g in result.groups],
        title=title,
        keep=("Path", "Events"),
        empty="no violations",
    )


def print_check(renderer: Renderer, result: CheckResult, per_event: int = 20) -> None:
    """The summary grouped by violation, then the first `per_event` invalid events' violations."""
    total = len(result.checks)
    renderer.table(violations_view(result, f"{result.schema}: {total} event(s), {total - result.invalid} valid, "
                                           f"{result.invalid} invalid"))
    invalid = [c for c in result.checks if not c.valid]
    if invalid:
        renderer.text("")
    for check in invalid[:per_event]:
        renderer.text(f"{check.ref}:", style="bold")
        for violation in check.violations:
            renderer.indented(violation.text, indent=2)
    if len(invalid) > per_event:
        renderer.text(f"... and {len(invalid) - per_event} more invalid event(s) (-o json lists them all)")


def warn_sizes(renderer: Renderer, result: CheckResult, what: str = "") -> None:
    """A line on stderr per event over or near a size limit, whatever the output format."""
    for check in result.flagged:
        for flag in check.size_flags:
            renderer.warn(f"{what}{check.ref}: {flag.text}")


# -- diff ----------------------------------------------------------------------------------------


@app.command("diff")
def diff_cmd(
    ctx: typer.Context,
    old: str = typer.Argument(..., metavar="OLD", help="The schema consumers know: a file or registry:..."),
    new: str = typer.Argument(..., metavar="NEW", help="The schema proposed: a file or registry:..."),
    format_: DiffFormat | None = typer.Option(None, "--format", help="table, json, or sarif (for code "
                                              "scanning in CI). Default: the global --output."),
) -> None:
    """List what changed from OLD to NEW and whether it breaks consumers.

    Breaking: a required field added, a field removed or renamed, a field made required or optional,
    a type narrowed or changed, an enum value removed (or an enum added), a format added,
    additionalProperties closed. Compatible: an optional field added, a type widened, an enum value
    added, a format dropped, additionalProperties opened. Exit 1 when a change is breaking.

    Example: eda schema diff registry:orders/shop.orders@OrderCreated order-created.json --format sarif > schema.sarif
    """
    from eda_cli import __version__
    from eda_cli.core.schemas import diff_schemas, to_sarif

    app_ = ctx_of(ctx)
    result = diff_schemas(load_schema(app_, old, "OLD"), load_schema(app_, new, "NEW"))
    renderer = app_.renderer
    if format_ is DiffFormat.sarif:
        renderer.raw(json.dumps(to_sarif(result, __version__, new), indent=2) + "\n")
    else:
        if format_ is not None and format_.value != renderer.output:  # --format wins over the global --output
            from eda_cli.render import Renderer

            renderer = Renderer(output=format_.value, color=app_.color)
        renderer.emit(result.to_dict(), lambda r: print_diff(r, result), records=[c.to_dict() for c in result.changes])
    exit_with(ExitCode.FINDING if result.breaking else ExitCode.OK)


def print_diff(renderer: Renderer, result: DiffResult) -> None:
    renderer.table(TableView(
        columns=["Verdict", "Change", "Path", "Old", "New"],
        rows=[["BREAKING" if c.breaking else "compatible", c.kind, c.path,
               "-" if c.old is None else c.old, "-" if c.new is None else c.new] for c in result.changes],
        title=f"{result.old} -> {result.new}: {len(result.breaking)} breaking, {len(result.compatible)} compatible",
        styles={"Verdict": "bold"},
        keep=("Verdict", "Change", "Path"),
        empty="no changes",
    ))


# -- the registry --------------------------------------------------------------------------------


@app.command("pull")
def pull_cmd(
    ctx: typer.Context,
    registry: str = typer.Argument(..., metavar="REGISTRY", help="The registry, e.g. discovered-schemas."),
    name: str | None = typer.Argument(None, metavar="NAME[@VERSION]", help="One schema (its latest version, "
                                      "or VERSION). Default: list the registry's schemas."),
    out: str | None = typer.Option(None, "--out", metavar="DIR", help="Write the schema (without NAME: every "
                                   "schema of the registry, latest versions) to DIR/NAME.json."),
    prefix: str | None = typer.Option(None, "--prefix", help="Only schemas whose name starts with this."),
) -> None:
    """Read schemas from an EventBridge schema registry (ListSchemas, every page; DescribeSchema).

    With NAME: print that schema's content as it is (or write it to --out). Without NAME: list the
    registry's schemas, or with --out write each one's latest version. An endpoint without the schemas
    API (moto, LocalStack's free edition) is exit 3 with a line saying so.

    Example: eda schema pull discovered-schemas shop.orders@OrderCreated > order-created.json
    """
    from eda_cli.core.schemas import describe_schema, list_schemas, parse_spec

    app_ = ctx_of(ctx)
    session = app_.session
    client = session.client("schemas")
    where = f" ({session.where()})"
    if name is not None:
        _, bare, version = parse_spec(f"{registry}/{name}")
        doc = describe_schema(client, registry, bare, version, where)
        if out is None:
            app_.renderer.document(doc.document)
            return
        _write_pulled(app_, [(bare, doc)], out)
        return
    summaries = list_schemas(client, registry, prefix, where)
    if out is None:
        app_.renderer.emit([s.to_dict() for s in summaries], TableView(
            columns=["Schema", "Versions"], rows=[[s.name, s.version_count] for s in summaries],
            title=f"registry {registry}: {len(summaries)} schema(s)", empty="no schemas"))
        return
    _write_pulled(app_, [(s.name, describe_schema(client, registry, s.name, None, where)) for s in summaries], out)


def _write_pulled(app_: AppContext, docs: list[tuple[str, SchemaDoc]], out: str) -> None:
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create --out {out}: {exc.strerror or exc}") from None
    rows = []
    for name, doc in docs:
        path = os.path.join(out, _file_name(name))
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(doc.document, indent=2) + "\n")
        rows.append({"name": name, "version": doc.version, "type": doc.kind, "file": path})
    app_.renderer.emit(rows, TableView(columns=["Schema", "Version", "Type", "File"],
                                       rows=[[r["name"], r["version"], r["type"], r["file"]] for r in rows],
                                       empty="no schemas"))


@app.command("push")
def push_cmd(
    ctx: typer.Context,
    file: str = typer.Argument(..., metavar="FILE", help="The schema: JSON Schema Draft 4 or OpenAPI 3 (- for stdin)."),
    registry: str = typer.Option(..., "--registry", metavar="REGISTRY", help="The registry to write to."),
    name: str | None = typer.Option(None, "--name", help="The schema's name. Default: source@DetailType of an "
                                    "OpenAPI schema's event, else the file's name without .json."),
    description: str | None = typer.Option(None, "--description", help="The schema's description."),
) -> None:
    """Create the schema in the registry, or add a version when its content changed (CreateSchema /
    UpdateSchema); the same content again writes nothing.

    Check the change first with `eda schema diff registry:REGISTRY/NAME FILE`.

    Example: eda schema push order-created.json --registry orders --name shop.orders@OrderCreated
    """
    from eda_cli.core.schemas import push_schema

    app_ = ctx_of(ctx)
    doc = load_schema(app_, file, "FILE")
    chosen = name or _default_name(doc, file)
    session = app_.session
    result = push_schema(session.client("schemas"), registry, chosen, doc, description=description,
                         where=f" ({session.where()})")
    app_.renderer.emit(result.to_dict(), lambda r: r.text(
        f"{registry}/{chosen}: {result.action}" + (f", version {result.version}" if result.version else "")))


def _default_name(doc: SchemaDoc, path: str) -> str:
    components: dict[str, Any] = (doc.document.get("components") or {}).get("schemas") or {}
    for value in components.values():
        if isinstance(value, dict) and value.get("x-amazon-events-source") and value.get("x-amazon-events-detail-type"):
            from eda_cli.core.schemas import pascal

            return f"{value['x-amazon-events-source']}@{pascal(str(value['x-amazon-events-detail-type']))}"
    if path == "-":
        raise UsageError("a schema from stdin needs --name")
    base = os.path.basename(path)
    return base[:-5] if base.endswith(".json") else base
