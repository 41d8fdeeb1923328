"""`eda route`: which rule, filter policy or pattern an event matches, and why the others miss it."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

import typer

from eda_cli.commands._common import ctx_of, exit_with, read_argument, read_file
from eda_cli.errors import AwsError, ExitCode, UsageError

if TYPE_CHECKING:
    from eda_cli.context import AppContext
    from eda_cli.core.routing import Candidate, RouteResult, Sources
    from eda_cli.render import Renderer

app = typer.Typer(
    help="Route an event offline: which rules match it, and why the others miss it.\n\n"
    "Example: eda route test order.json --bus orders-bus",
    no_args_is_help=True,
)


class Dialect(str, Enum):
    eventbridge = "eventbridge"
    sns = "sns"
    lambda_ = "lambda"


class Scope(str, Enum):
    MessageAttributes = "MessageAttributes"
    MessageBody = "MessageBody"


def _pattern_text(value: str, number: int) -> str:
    """A --pattern value: inline JSON, @FILE, file://FILE or - (standard input)."""
    return read_argument(value, f"--pattern {number}")


def _region(app_: AppContext) -> str:
    try:
        return app_.session.region
    except AwsError:  # offline use (--pattern only) needs no region; the envelope gets a plausible one
        return "us-east-1"


def _gather(
    app_: AppContext, patterns: list[str], bus: str | None, rules: list[str], topic: str | None,
    dialect: str, scope: str,
) -> list[Sources]:
    from eda_cli.core import routing

    given: Sources | None = None
    if patterns:  # checked before any AWS call: a typo in a pattern should not wait on the network
        texts = [_pattern_text(p, n) for n, p in enumerate(patterns, start=1)]
        given = routing.given_patterns(texts, dialect, scope)
        routing.compile_candidates(given.candidates)
    try:
        sources = routing.fetch_sources(app_.session, bus=bus, rules=rules, topic=topic)
    except routing.RuleNotFound as exc:
        exc.hint = f"list the bus's rules with `aws events list-rules --event-bus-name {exc.bus}`; check --bus"
        raise
    except routing.NoEventPattern as exc:
        exc.hint = "choose a rule with an event pattern, or pass --bus to test every rule of the bus"
        raise
    if given is not None:
        sources.append(given)
    return sources


@app.command("test")
def test_cmd(
    ctx: typer.Context,
    event_path: str = typer.Argument(
        ..., metavar="EVENT", help="A JSON file (or - for stdin): a full EventBridge event, a bare detail "
        "object, an SNS message (for --topic) or a Lambda record (for --dialect lambda)."
    ),
    patterns: list[str] = typer.Option(
        [], "--pattern", metavar="JSON|@FILE",
        help="A pattern to test, inline, or from @FILE / file://FILE / - (stdin); repeatable "
        "(named pattern 1, pattern 2, ...)."
    ),
    bus: str | None = typer.Option(None, "--bus", metavar="NAME", help="Test every rule of this event bus "
                                   "(with --rule: the bus the rule is on)."),
    rules: list[str] = typer.Option([], "--rule", metavar="NAME", help="Test just this rule (on --bus, or on "
                                    "the default bus); repeatable."),
    topic: str | None = typer.Option(None, "--topic", metavar="NAME|ARN", help="Test the filter policy of "
                                     "every subscription of this SNS topic."),
    dialect: Dialect | None = typer.Option(
        None, "--dialect", help="The language of --pattern: eventbridge (default), sns (default with --topic) "
        "or lambda (FilterCriteria).", case_sensitive=False,
    ),
    scope: Scope = typer.Option(Scope.MessageAttributes, "--scope", help="With --dialect sns: what the "
                                "--pattern filter policies look at."),
    source: str | None = typer.Option(None, "--source", help="The source of the event (sets it, or that of "
                                      "the envelope a bare detail is wrapped in)."),
    detail_type: str | None = typer.Option(None, "--detail-type", help="The detail-type of the event "
                                           "(as --source)."),
) -> None:
    """Match an event against EventBridge rules, SNS filter policies or patterns; explain every miss.

    Matching is offline, with eda's own engine (AWS's TestEventPattern answers only true or false).
    A bare detail object is wrapped in an EventBridge envelope (version, id, detail-type, source,
    account, time, region, resources). Exit 0 when at least one matched, 1 when none did, 2 for an
    invalid pattern or event.

    Example: eda route test order.json --bus orders-bus
    """
    from eda_cli.core import routing

    app_ = ctx_of(ctx)
    if not (patterns or bus or rules or topic):
        raise UsageError("nothing to test the event against",
                         hint="give --bus, --rule, --topic or --pattern")
    if topic is not None and (bus is not None or rules):
        raise UsageError("--topic cannot be combined with --bus or --rule: an SNS message is not an "
                         "EventBridge event", hint="test them in two runs")
    chosen = dialect.value if dialect is not None else ("sns" if topic is not None else "eventbridge")
    if (bus is not None or rules) and chosen != "eventbridge":
        raise UsageError(f"--dialect {chosen} cannot be combined with --bus or --rule: rules are EventBridge "
                         "patterns", hint="test the other patterns in a separate run")
    if topic is not None and chosen != "sns":
        raise UsageError(f"--dialect {chosen} cannot be combined with --topic: filter policies are sns")

    event = routing.parse_event(read_file(event_path, "event file"),
                                "the event on stdin" if event_path == "-" else f"the event in {event_path}")
    sources = _gather(app_, patterns, bus, rules, topic, chosen, scope.value)
    candidates = [c for s in sources for c in s.candidates]
    notes = [n for s in sources for n in s.notes]
    routed = event
    if chosen == "eventbridge":
        account = next((s.account for s in sources if s.account), None)
        routed, wrapped = routing.to_envelope(event, source=source, detail_type=detail_type, account=account,
                                              region=_region(app_))
        if wrapped:
            notes.append(f"no envelope: wrapped the event as detail (source {routed['source']!r}, detail-type "
                         f"{routed['detail-type']!r}; set them with --source, --detail-type)")
    elif source is not None or detail_type is not None:
        raise UsageError("--source and --detail-type apply to EventBridge events only")

    def targets_of(candidate: Candidate) -> tuple[str, ...]:
        return routing.rule_targets(app_.session.client("events"), candidate.name, candidate.bus or "default")

    result = routing.evaluate(candidates, routed, targets_of=targets_of, notes=notes)
    for note in result.notes:
        app_.renderer.note(note)
    app_.renderer.emit(result.to_dict(), lambda r: _print(r, result, candidates))
    exit_with(ExitCode.OK if result.any_matched else ExitCode.FINDING)


def _what(candidates: list[Candidate]) -> str:
    kinds = {c.kind for c in candidates}
    if len(kinds) == 1:
        kind = next(iter(kinds))
        return f"{kind}s" if len(candidates) != 1 else kind
    return "candidates"


def _print(renderer: Renderer, result: RouteResult, candidates: list[Candidate]) -> None:
    from eda_cli.core.routing import explain_lines

    event = result.event
    about = ""
    if isinstance(event, dict) and "detail-type" in event and "source" in event:
        about = f" ({event['detail-type']} from {event['source']})"
    buses = sorted({c.bus for c in candidates if c.bus})
    topics = sorted({c.topic.rsplit(":", 1)[-1] for c in candidates if c.topic})
    where = f" on bus {', '.join(buses)}" if buses else f" of topic {', '.join(topics)}" if topics else ""
    renderer.text(f"{len(result.matched)} of {len(candidates)} {_what(candidates)}{where} matched the event{about}",
                  style="bold")
    for m in result.matched:
        note = f"  ({m.note})" if m.note else ""
        renderer.text(f"  matched  {m.name}{note}", style="green")
        for target in m.targets:
            renderer.text(f"           -> {target}")
        if not m.targets and m.kind == "rule":
            renderer.text("           -> (no targets: the rule delivers nothing)")
    for miss in result.missed:
        renderer.text(f"  missed   {miss.name}", style="red")
        for reason in miss.reasons:
            for line in explain_lines(reason, indent="           "):
                renderer.text(line)
