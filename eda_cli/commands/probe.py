"""`eda probe`: send one stamped event and prove where it arrives, through taps removed on every exit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from eda_cli.commands._common import confirm, ctx_of, exit_with, read_argument, require_confirmation
from eda_cli.commands._pipeline import config_option
from eda_cli.commands._redact import no_redact_option, redact_option, redact_preset_option, redactor
from eda_cli.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from eda_cli.context import AppContext
    from eda_cli.core.probe import ProbePlan, ProbeResult
    from eda_cli.core.redact import Redactor
    from eda_cli.render import Renderer

_WHAT = "probe sends a real event into the pipeline, where its consumers will act on it"
_HINT = "pass --yes to send it, or --dry-run to see the prediction without sending"


def probe(
    ctx: typer.Context,
    bus: str | None = typer.Option(None, "--bus", metavar="NAME", help="Put the event on this EventBridge bus."),
    event: str | None = typer.Option(
        None, "--event", metavar="JSON|@FILE",
        help="With --bus: a full EventBridge event or a PutEvents entry (inline, @FILE, file://FILE, - for stdin).",
    ),
    topic: str | None = typer.Option(None, "--topic", metavar="NAME|ARN", help="Publish the message to this topic."),
    message: str | None = typer.Option(
        None, "--message", metavar="JSON|@FILE", help="With --topic: the message, a JSON object (as --event).",
    ),
    attributes: str | None = typer.Option(
        None, "--attributes", metavar="JSON|@FILE",
        help='With --topic: message attributes, e.g. \'{"type": "order.created"}\' (string, number, list).',
    ),
    expect: list[str] = typer.Option(
        [], "--expect", metavar="TARGET",
        help="A target that must receive the event even if no rule is predicted to route it there: a queue "
        "name, URL or any ARN. Repeatable.",
    ),
    timeout: float = typer.Option(30.0, "--timeout", min=0.0, metavar="SECONDS",
                                  help="How long to wait for the event after sending it."),
    settle: float = typer.Option(
        2.0, "--settle", min=0.0, metavar="SECONDS",
        help="Wait this long between creating the taps and sending: AWS applies a new rule within moments, "
        "not at once.",
    ),
    id_path: str | None = typer.Option(
        None, "--id-path", metavar="PATH",
        help="Where to stamp the probe's correlation id (default: the first correlation_id_paths entry of "
        "eda.yaml, else detail.correlationId on a bus, correlationId in a topic's message).",
    ),
    config: str | None = config_option("Pipeline file whose correlation_id_paths says where to stamp the id "
                                       "(default: ./eda.yaml when it exists)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Send without asking (required without a terminal)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Predict and check; create nothing, send nothing."),
    redact: list[str] = redact_option(),
    redact_preset: list[str] = redact_preset_option(),
    no_redact: bool = no_redact_option(),
) -> None:
    """Send one event and report, per target, whether it arrived, how fast, and if not, why not.

    The event is stamped with a fresh correlation id (eda-probe-...). eda predicts with its own
    engine where it goes (every rule of the bus, or subscription of the topic), taps each rule or
    subscription that leads to a predicted or --expect target (a copy into a temporary queue: a
    consumer's queue is never read), sends the event once, and waits for it on the taps. A tap
    proves AWS routed the event along that rule or subscription; the last hop to a queue is
    checked too (the queue exists, its policy lets the rule or topic send). Exit 0 when every
    predicted or expected target got it, 1 when one did not, 3 on an AWS error. It sends a real
    event: it asks first (--yes skips that). The taps are removed on every exit, as tail's are.
    --redact and --redact-preset (or the pipeline file's redact:) mask the event's values where the
    reasons quote them; the event itself is sent as given.

    Example: eda probe --bus orders-bus --event @order.json --expect fraud-review --yes
    """
    from eda_cli.core.probe import new_probe_id, plan_bus, plan_topic

    app_ = ctx_of(ctx)
    if (bus is None) == (topic is None):
        raise UsageError("say where to send the probe: --bus NAME with --event, or --topic NAME with --message")
    if bus is not None and (event is None or message is not None or attributes is not None):
        raise UsageError("--bus sends an --event (not --message or --attributes)",
                         hint="eda probe --bus orders-bus --event @order.json")
    if topic is not None and (message is None or event is not None):
        raise UsageError("--topic publishes a --message (not --event)",
                         hint="eda probe --topic orders --message @message.json")
    payload = _json_object(event if event is not None else message, "--event" if event is not None else "--message")
    attrs = _json_object(attributes, "--attributes") if attributes is not None else None
    path = _id_path(app_, id_path, config, bus is not None)
    masker = redactor(app_, redact, redact_preset, no_redact, config)
    if not dry_run:
        require_confirmation(yes, _WHAT, _HINT)
    session = app_.session
    correlation_id = new_probe_id()
    expected = [_target_arn(app_, t) for t in expect]
    where = session.where()
    if bus is not None:
        from eda_cli.aws.resolve import bus_name as name_of_bus

        bus_name = name_of_bus(bus)
        plan = plan_bus(session.client("events"), bus_name, payload, id_path=path, correlation_id=correlation_id,
                        expect=expected, region=session.region, where=where)
    else:
        from eda_cli.aws.resolve import resolve_topic

        sns = session.client("sns")
        plan = plan_topic(sns, resolve_topic(sns, topic or "", where), payload, id_path=path,
                          correlation_id=correlation_id, attributes=attrs, expect=expected, where=where)
    _run(app_, plan, timeout=timeout, settle=settle, yes=yes, dry_run=dry_run, masker=masker)


def _run(app_: AppContext, plan: ProbePlan, *, timeout: float, settle: float, yes: bool, dry_run: bool,
         masker: Redactor | None = None) -> None:
    import time

    from eda_cli.commands.tail import say_removed, warn_stale_taps
    from eda_cli.core.probe import Probe
    from eda_cli.interrupts import deferred_interrupts, interruptible

    renderer = app_.renderer
    session = app_.session
    for note in plan.notes:
        renderer.note(note)
    sqs = session.client("sqs")
    clients: dict[str, Any] = {"events": session.client("events")} if plan.kind == "bus" else {
        "sns": session.client("sns")}
    probe = Probe(plan, sqs, lifetime=settle + timeout, **clients)
    probe.check(session.region)
    if dry_run:
        result = probe.result(timeout)
        renderer.note(f"dry run: nothing created, nothing sent; {len(probe.feeds)} tap(s) would be created")
        _emit(renderer, result, dry_run=True, masker=masker)
        return
    if not probe.feeds:
        result = probe.result(timeout)
        _emit(renderer, result, dry_run=True, masker=masker)
        renderer.note("nothing to prove: no rule or subscription is predicted to route the event anywhere, and no "
                      "--expect target was given; nothing was sent")
        exit_with(ExitCode.FINDING)
    confirm(app_, f"Send probe {plan.correlation_id} to {_where(plan)}?", yes, what=_WHAT, hint=_HINT)
    warn_stale_taps(renderer, sqs)
    with deferred_interrupts() as cancel:
        try:
            probe.open(lambda r: renderer.note(f"created {r.describe()}"))
            try:
                with interruptible(cancel):
                    if not cancel.is_set():
                        if settle:
                            time.sleep(settle)
                        probe.send()
                        renderer.note(f"sent {plan.correlation_id} to {_where(plan)}; waiting up to {timeout:g} s")
                        probe.wait(timeout, cancel)
            except KeyboardInterrupt:
                pass
        finally:
            say_removed(renderer, *probe.close())
        interrupted = cancel.is_set()
    result = probe.result(timeout)
    if interrupted:
        renderer.note("interrupted" + ("" if result.sent_at is None else ": the probe was sent; "
                                       "what arrived before the interruption is shown"))
    _emit(renderer, result, partial=interrupted, masker=masker)
    if interrupted:
        exit_with(ExitCode.INTERRUPTED)
    exit_with(ExitCode.OK if result.ok else ExitCode.FINDING)


def _where(plan: ProbePlan) -> str:
    return f"bus {plan.destination}" if plan.kind == "bus" else f"topic {plan.destination.rsplit(':', 1)[-1]}"


def _json_object(value: str | None, option: str) -> dict[str, Any]:
    from eda_cli.core.routing import parse_event

    return parse_event(read_argument(value or "", option), option)


def _id_path(app_: AppContext, given: str | None, config: str | None, on_bus: bool) -> str:
    from eda_cli.commands._pipeline import config_errors
    from eda_cli.core.probe import DEFAULT_BUS_ID_PATH, DEFAULT_TOPIC_ID_PATH

    if given is not None:
        from eda_cli.core.trace.match import normalize_path

        return normalize_path(given)
    import os

    if config is None and not os.path.lexists("eda.yaml"):  # no file to read: skip loading the pipeline package
        return DEFAULT_BUS_ID_PATH if on_bus else DEFAULT_TOPIC_ID_PATH
    from eda_cli.core.pipeline.load import open_pipeline_file

    try:
        region = app_.session.region
    except Exception:
        region = ""
    with config_errors():
        spec, _ = open_pipeline_file(config, region)
    for path in spec.correlation_id_paths:
        if path.startswith("detail.") == on_bus:
            return path
    return DEFAULT_BUS_ID_PATH if on_bus else DEFAULT_TOPIC_ID_PATH


def _target_arn(app_: AppContext, target: str) -> str:
    """--expect: an ARN as it is; a queue URL or name -> the queue's ARN."""
    if target.startswith("arn:"):
        return target
    from eda_cli.aws.resolve import resolve_queue

    session = app_.session
    return resolve_queue(session.client("sqs"), target, session.region, session.where()).arn


# -- output ---------------------------------------------------------------------------------------


#: -o jsonl and -o csv: one record per target, with the probe's id (the whole result is -o json's).
RECORD_COLUMNS = ("correlation_id", "target", "via", "predicted", "expected", "arrived", "matched", "latency_ms",
                  "reason", "checked")


def _emit(renderer: Renderer, result: ProbeResult, *, dry_run: bool = False, partial: bool | None = None,
          masker: Redactor | None = None) -> None:
    if masker is not None:
        from eda_cli.core import redact as masking

        result = masking.results.probe(result, masker)
    doc = result.to_dict()
    records = [{"correlation_id": doc["correlation_id"], **target} for target in doc["targets"]]
    renderer.emit(doc, lambda r: _print(r, result, dry_run=dry_run), records=records, columns=RECORD_COLUMNS,
                  partial=partial)


def _short(arn: str) -> str:
    return arn.split(":", 5)[-1].rsplit("/", 1)[-1].rsplit(":", 1)[-1] if arn.startswith("arn:") else arn


def _print(renderer: Renderer, result: ProbeResult, dry_run: bool = False) -> None:
    from eda_cli.render import TableView

    plan = result.plan
    done = result.to_dict()
    head = f"probe {plan.correlation_id} ({plan.id_path}) to {_where(plan)}"
    renderer.text(head + (f", sent {done['sent_at']}" if done["sent_at"] else ", not sent"), style="bold")
    columns = ["target", "via", "predicted", "arrived", "latency", "reason"]
    rows = []
    for target in plan.targets:
        row = target.to_dict(result.timeout)
        arrived = "-" if dry_run or (not target.wanted and not target.matched) else "yes" if target.arrived else "NO"
        rows.append([_short(target.target), target.via or "-",
                     "yes" if target.predicted else "no" + (" (expected)" if target.expected else ""), arrived,
                     "-" if row["latency_ms"] is None else f"{row['latency_ms']} ms", row["reason"] or "-"])
    renderer.table(TableView(columns, rows, keep=("target", "arrived"), drop_first=("via", "latency")))
    if result.ignored:
        renderer.text(f"{result.ignored} other message(s) reached the taps and were ignored")
    if dry_run:
        return
    wanted = [t for t in plan.targets if t.wanted]
    reached = sum(1 for t in wanted if t.arrived)
    verdict = f"{reached} of {len(wanted)} predicted or expected target(s) received the probe"
    renderer.text(verdict, style="green" if result.ok else "red")

