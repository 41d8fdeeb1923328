"""`eda tail`: watch live traffic on a bus or a topic through a temporary tap, removed on every exit."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import typer

from eda_cli.commands._common import confirm, ctx_of, exit_with, read_pattern, require_confirmation
from eda_cli.commands._redact import no_redact_option, redact_option, redact_preset_option, redactor
from eda_cli.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from eda_cli.context import AppContext
    from eda_cli.core.redact import Redactor
    from eda_cli.core.tap import Delivery, Tap, TapResource
    from eda_cli.render import Renderer

#: Opens one tap (creating its queue and feed), reporting each resource it creates.
Opener = Callable[["Tap", Callable[["TapResource"], None]], object]

app = typer.Typer(
    help="Watch live events on a bus, a topic or what feeds a queue, through temporary queues that are "
    "removed when the tail ends.\n\n"
    "Each tail creates a queue named eda-tap-<user>-<id> and a rule on the bus (or a subscription to the "
    "topic) feeding it, says so on stderr, and removes them at the end: after --count, --timeout, Ctrl-C, "
    "SIGTERM or an AWS error. A SIGKILL leaves them behind: eda tail cleanup removes those.\n\n"
    "Example: eda tail bus orders-bus --pattern '{\"source\": [\"shop.orders\"]}' --count 5",
    no_args_is_help=True,
)

_COUNT_HELP = "Stop after N events (exit 0); with --timeout, exit 1 when fewer arrived."
_TIMEOUT_HELP = "Stop after this many seconds (exit 0 without --count)."


@app.command("bus")
def bus_cmd(
    ctx: typer.Context,
    bus: str = typer.Argument(..., metavar="NAME", help="The event bus (name or ARN)."),
    pattern: str | None = typer.Option(
        None, "--pattern", metavar="JSON",
        help="Only events matching this EventBridge pattern (JSON; @FILE or file://FILE; - for stdin).",
    ),
    rule: str | None = typer.Option(None, "--rule", metavar="RULE",
                                    help="Only the events this rule of the bus matches (its pattern is copied)."),
    count: int | None = typer.Option(None, "--count", min=1, metavar="N", help=_COUNT_HELP),
    timeout: float | None = typer.Option(None, "--timeout", min=0.0, metavar="SECONDS", help=_TIMEOUT_HELP),
    redact: list[str] = redact_option(),
    redact_preset: list[str] = redact_preset_option(),
    no_redact: bool = no_redact_option(),
) -> None:
    """Print the events on a bus as they arrive: all of them, or those matching --pattern or --rule.

    A temporary rule on the bus sends copies to a temporary queue that only that rule may write to;
    eda receives and deletes them there (the queue is its own). -o jsonl prints each event exactly
    as EventBridge delivered it, one a line (but for what --redact, --redact-preset or eda.yaml's
    redact: mask); -o json prints a list at the end.

    Example: eda tail bus orders-bus --rule eu-orders --timeout 60 -o jsonl
    """
    from eda_cli.aws.resolve import bus_name as name_of_bus
    from eda_cli.core.tap import MATCH_ALL

    if pattern is not None and rule is not None:
        raise UsageError("--pattern and --rule both choose the events: give one of them")
    app_ = ctx_of(ctx)
    _check_output(app_)
    masker = redactor(app_, redact, redact_preset, no_redact)
    session = app_.session
    events = session.client("events")
    bus_name = name_of_bus(bus)
    if pattern is not None:
        text = _json_option(pattern, "--pattern", "eventbridge")
    elif rule is not None:
        text = _rule_pattern(events, rule, bus_name)
    else:
        text = MATCH_ALL
    _tail(app_, [lambda tap, created: tap.open_bus(bus_name, text, created)], count, timeout, masker=masker,
          events=events)


@app.command("topic")
def topic_cmd(
    ctx: typer.Context,
    topic: str = typer.Argument(..., metavar="NAME|ARN", help="The SNS topic (name or ARN)."),
    filter_policy: str | None = typer.Option(
        None, "--filter-policy", metavar="JSON",
        help="Only messages this SNS filter policy admits (JSON; @FILE or file://FILE; - for stdin).",
    ),
    count: int | None = typer.Option(None, "--count", min=1, metavar="N", help=_COUNT_HELP),
    timeout: float | None = typer.Option(None, "--timeout", min=0.0, metavar="SECONDS", help=_TIMEOUT_HELP),
    redact: list[str] = redact_option(),
    redact_preset: list[str] = redact_preset_option(),
    no_redact: bool = no_redact_option(),
) -> None:
    """Print the messages published to a topic as they arrive, with their subject and attributes.

    A temporary queue is subscribed to the topic (raw delivery off, so attributes show; with
    --filter-policy when given). -o jsonl prints each SNS notification exactly as delivered, one a
    line (but for what --redact, --redact-preset or eda.yaml's redact: mask, the Message included);
    -o json prints a list at the end.

    Example: eda tail topic orders --filter-policy '{"type": ["order.created"]}' --count 1
    """
    from eda_cli.aws.resolve import resolve_topic

    app_ = ctx_of(ctx)
    _check_output(app_)
    policy = _json_option(filter_policy, "--filter-policy", "sns") if filter_policy is not None else None
    masker = redactor(app_, redact, redact_preset, no_redact)
    session = app_.session
    sns = session.client("sns")
    arn = resolve_topic(sns, topic, session.where())
    _tail(app_, [lambda tap, created: tap.open_topic(arn, policy, created)], count, timeout, masker=masker,
          sns=sns)


@app.command("queue")
def queue_cmd(
    ctx: typer.Context,
    queue: str = typer.Argument(..., metavar="NAME|URL|ARN", help="The queue whose traffic to watch."),
    count: int | None = typer.Option(None, "--count", min=1, metavar="N", help=_COUNT_HELP),
    timeout: float | None = typer.Option(None, "--timeout", min=0.0, metavar="SECONDS", help=_TIMEOUT_HELP),
    redact: list[str] = redact_option(),
    redact_preset: list[str] = redact_preset_option(),
    no_redact: bool = no_redact_option(),
) -> None:
    """Print what arrives at a queue without consuming it: what feeds the queue is tapped instead.

    The queue itself is never read (that would take messages from its consumers). Each EventBridge
    rule that targets it and each SNS subscription that delivers to it gets a copy: a rule with the
    same pattern on the same bus, or a subscription with the same filter policy, each into a tap
    queue of its own, so every line says which feed brought it. Messages sent to the queue directly
    (SendMessage, a Lambda destination, a pipe, a redrive) are not seen; when nothing feeds the queue
    that eda can tap, it says so (exit 5) and points to `eda dlq peek`.

    Example: eda tail queue eu-fulfilment --timeout 60
    """
    from eda_cli.aws.resolve import resolve_queue
    from eda_cli.core.tap.feeds import queue_feeds
    from eda_cli.errors import EdaError

    app_ = ctx_of(ctx)
    _check_output(app_)
    masker = redactor(app_, redact, redact_preset, no_redact)
    session = app_.session
    sqs, events, sns = session.client("sqs"), session.client("events"), session.client("sns")
    ref = resolve_queue(sqs, queue, session.region, session.where())

    def dlq_of() -> list[str]:
        paginator = sqs.get_paginator("list_dead_letter_source_queues")
        return [url.rsplit("/", 1)[-1] for page in paginator.paginate(QueueUrl=ref.url)
                for url in page.get("queueUrls", [])]

    found = queue_feeds(events, sns, ref.arn, dlq_of)
    renderer = app_.renderer
    for reason in found.skipped:
        renderer.note(f"not tapped: {reason}")
    if found.dlq_of:
        renderer.note(f"{ref.name} is the DLQ of {', '.join(found.dlq_of)}: what their redrive policy moves "
                      "here is not seen by a tap")
    if not found.feeds:
        raise EdaError(f"nothing feeds queue {ref.name} that eda can tap: no enabled EventBridge rule targets it "
                       "and no SNS subscription delivers to it",
                       hint=f"see what is in it without consuming it: eda dlq peek {ref.name}",
                       exit_code=ExitCode.EMPTY)
    renderer.note(f"tapping {len(found.feeds)} feed(s) of queue {ref.name}: "
                  f"{', '.join(f.describe() for f in found.feeds)} (messages sent to the queue directly are not "
                  "seen)")
    openers: list[Opener] = [feed.open for feed in found.feeds]
    _tail(app_, openers, count, timeout, [f.describe() for f in found.feeds] if len(found.feeds) > 1 else None,
          masker=masker, events=events, sns=sns)


@app.command("cleanup")
def cleanup_cmd(
    ctx: typer.Context,
    older_than: str = typer.Option("1h", "--older-than", metavar="AGE",
                                   help="Only taps at least this old (90s, 15m, 1h, 1d): younger ones may be "
                                   "running."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (required without a terminal)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would be removed; remove nothing."),
) -> None:
    """Remove the queues, rules and subscriptions left behind by tails that were killed.

    Finds eda-tap queues older than --older-than (by their creation time), the eda-tap rules on
    every bus and the subscriptions that feed eda-tap queues, lists them, asks, and removes them.

    Example: eda tail cleanup --older-than 2h --yes
    """
    from eda_cli.core.tap import find_stale, remove

    app_ = ctx_of(ctx)
    renderer = app_.renderer
    age = _parse_age(older_than)
    if not dry_run:
        require_confirmation(yes, _CLEANUP, _CLEANUP_HINT)
    session = app_.session
    sqs, events, sns = session.client("sqs"), session.client("events"), session.client("sns")
    stale = find_stale(sqs, events, sns, age)
    if dry_run or not stale:
        renderer.emit([s.to_dict() for s in stale], lambda r: _print_stale(r, stale, dry_run))
        return
    for item in stale:
        renderer.note(f"stale: {item.resource.describe()}")
    confirm(app_, f"Remove {len(stale)} eda-tap resource(s)?", yes, what=_CLEANUP, hint=_CLEANUP_HINT)
    removed, failed = remove(sqs, events, sns, stale)
    rows = [{**r.to_dict(), "removed": True} for r in removed] + [
        {**r.to_dict(), "removed": False, "error": error} for r, error in failed]
    renderer.emit(rows, lambda r: _print_removed(r, removed, failed), partial=bool(failed))
    if failed:
        exit_with(ExitCode.PARTIAL)


_CLEANUP = "cleanup deletes queues, rules and subscriptions"
_CLEANUP_HINT = "pass --yes to confirm, or --dry-run to list them"


# -- the tail itself ------------------------------------------------------------------------------


def _tail(app_: AppContext, openers: list[Opener],
          count: int | None, timeout: float | None, labels: list[str] | None = None, *,
          masker: Redactor | None = None, **clients: Any) -> None:
    """Warn about stale taps, open one tap per opener, print what arrives on any of them (masked by
    `masker`), and remove every tap on every way out. `labels` name each tap's feed in the human view
    (when there are several)."""
    from eda_cli.core import redact as masking
    from eda_cli.core.tap import Tap, close_all
    from eda_cli.core.tap.fanin import receive_all
    from eda_cli.interrupts import deferred_interrupts, interruptible

    renderer = app_.renderer
    sqs = app_.session.client("sqs")
    warn_stale_taps(renderer, sqs)
    collected: list[Any] = []
    taps: list[Tap] = []
    received = 0
    with deferred_interrupts() as cancel:
        try:
            for open_tap in openers:
                if cancel.is_set():
                    break
                taps.append(Tap(sqs, lifetime=timeout, **clients))
                open_tap(taps[-1], lambda r: renderer.note(f"created {r.describe()}"))
            renderer.note(_listening(count, timeout))
            try:
                with interruptible(cancel):
                    if not cancel.is_set():  # a Ctrl-C during setup: straight to the teardown
                        for index, delivery in receive_all(taps, count=count, timeout=timeout, cancel=cancel):
                            received += 1
                            if masker is not None:
                                delivery = masking.results.delivery(delivery, masker)
                            _show(renderer, delivery, collected, labels[index] if labels else None)
            except KeyboardInterrupt:
                pass
        finally:
            say_removed(renderer, *close_all(taps))
        interrupted = cancel.is_set()
    if app_.output == "json":
        renderer.emit(collected)
    if interrupted:
        exit_with(ExitCode.INTERRUPTED)
    if count is not None and received < count:
        renderer.note(f"{received} of {count} event(s) arrived before the timeout")
        exit_with(ExitCode.FINDING)


def warn_stale_taps(renderer: Renderer, sqs: Any) -> None:
    """The start of every tail and probe: say when eda-tap queues exist already (one ListQueues call)."""
    from eda_cli.core.tap import count_taps

    stale = count_taps(sqs)
    if stale:
        renderer.warn(f"{stale} eda-tap queue(s) exist already: a tail or probe still running, or left by a killed "
                      "one; `eda tail cleanup` removes those older than an hour")


def say_removed(renderer: Renderer, removed: list[TapResource], left: list[tuple[TapResource, str]]) -> None:
    """The end of every tail and probe: what was removed (stderr), and what could not be, as a warning."""
    for resource in removed:
        renderer.note(f"removed {resource.describe()}")
    for resource, error in left:
        renderer.warn(f"could not remove {resource.describe()}: {error}; `eda tail cleanup` removes it")


def _listening(count: int | None, timeout: float | None) -> str:
    until = []
    if count is not None:
        until.append(f"{count} event(s)")
    if timeout is not None:
        until.append(f"{timeout:g} s")
    return "listening until " + (" or ".join(until) if until else "Ctrl-C")


def _show(renderer: Renderer, delivery: Delivery, collected: list[Any], via: str | None = None) -> None:
    output = renderer.output
    if output == "jsonl":
        renderer.emit_line(delivery.body)
    elif output == "json":
        collected.append(delivery.body)
    else:
        line = _line(delivery.body, delivery.raw)
        renderer.text(f"{line}  (via {via})" if via else line)


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _line(body: Any, raw: str) -> str:
    """One line for people: an EventBridge event, an SNS notification, or the raw body."""
    if isinstance(body, dict) and "detail-type" in body:
        return f"{body.get('time', '-')}  {body.get('source', '-')}  {body['detail-type']}  " \
               f"{_compact(body.get('detail'))}"
    if isinstance(body, dict) and body.get("Type") == "Notification":
        attributes = body.get("MessageAttributes") or {}
        shown = " ".join(f"{k}={v.get('Value') if isinstance(v, dict) else v}" for k, v in attributes.items())
        parts = [body.get("Timestamp", "-"), body.get("Subject") or "-", str(body.get("Message", ""))]
        if shown:
            parts.append(f"[{shown}]")
        return "  ".join(parts)
    return raw


def _check_output(app_: AppContext) -> None:
    if app_.output not in ("table", "json", "jsonl"):
        raise UsageError(f"tail writes table, jsonl or json, not {app_.output}",
                         hint="use --output jsonl to print each event as it arrives")


def _json_option(value: str, option: str, dialect: str) -> str:
    """--pattern / --filter-policy: JSON (or @FILE), checked here so a typo is exit 2, not an AWS error."""
    text, _ = read_pattern(value, option, dialect)
    return json.dumps(json.loads(text))  # compact, as it is sent


def _rule_pattern(events: Any, rule: str, bus: str) -> str:
    from eda_cli.errors import ResourceNotFound

    try:
        described = events.describe_rule(Name=rule, EventBusName=bus)
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            raise ResourceNotFound(f"rule {rule!r} does not exist on bus {bus}",
                                   hint=f"list them with `aws events list-rules --event-bus-name {bus}`") from None
        raise
    pattern = described.get("EventPattern")
    if not pattern:
        raise UsageError(f"rule {rule} has no event pattern (a schedule?): there is nothing to copy",
                         hint="give the events with --pattern instead")
    return str(pattern)


def _parse_age(text: str) -> float:
    from eda_cli.core.streams import parse_age

    age = parse_age(text)
    if age is None:
        raise UsageError(f"--older-than: cannot read {text!r} as an age", hint="e.g. 90s, 15m, 1h, 1d, 1h30m")
    return age


# -- cleanup's output -----------------------------------------------------------------------------


def _print_stale(renderer: Renderer, stale: list[Any], dry_run: bool) -> None:
    if not stale:
        renderer.text("no stale eda-tap resources")
        return
    for item in stale:
        renderer.text(f"{'would remove' if dry_run else 'stale'}: {item.resource.describe()}")


def _print_removed(renderer: Renderer, removed: list[TapResource], failed: list[tuple[TapResource, str]]) -> None:
    for resource in removed:
        renderer.text(f"removed {resource.describe()}")
    for resource, error in failed:
        renderer.text(f"could not remove {resource.describe()}: {error}")
