"""`eda stream`: watch a DynamoDB stream: every shard, in lineage order, showing what changed."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import typer

from eda_cli.commands._common import ctx_of, exit_with, read_pattern
from eda_cli.commands._redact import no_redact_option, redact_option, redact_preset_option, redactor
from eda_cli.errors import ExitCode, UsageError
from eda_cli.interrupts import interruptible

if TYPE_CHECKING:
    from eda_cli.core.records import Change
    from eda_cli.core.streams import Notice, StreamInfo
    from eda_cli.render import Renderer

app = typer.Typer(
    help="DynamoDB streams: tail them, filter them, see what changed.\n\n"
    "Example: eda stream tail orders --changed status",
    no_args_is_help=True,
)

_EVENT_STYLES = {"INSERT": "bold green", "MODIFY": "bold yellow", "REMOVE": "bold red"}
_OP_STYLES = {"+": "green", "-": "red", "~": "yellow"}
#: Longest value shown in the human view; --output jsonl always has all of it.
_MAX_VALUE = 200


@app.command("tail")
def tail_cmd(
    ctx: typer.Context,
    target: str = typer.Argument(..., metavar="TABLE|STREAM_ARN", help="A table name or a stream ARN."),
    from_: str | None = typer.Option(
        None, "--from", metavar="latest|trim-horizon|TIME",
        help="Where to start: latest (default when following), trim-horizon (everything in the last "
        "24 hours; default with --no-follow), or a time: ISO 8601 (UTC unless it says otherwise) "
        "or an age like 15m, 2h, 1d.",
    ),
    events: list[str] = typer.Option(
        [], "--events", metavar="INSERT,MODIFY,REMOVE", help="Only these events (comma-separated or repeated)."
    ),
    changed: list[str] = typer.Option(
        [], "--changed", metavar="FIELD",
        help="Only MODIFY records where this top-level field's value really changed (INSERT and REMOVE "
        "always count). Repeat for any of several fields.",
    ),
    filter_: str | None = typer.Option(
        None, "--filter", metavar="PATTERN",
        help="A Lambda FilterCriteria pattern (bare, or the whole {\"Filters\": [...]} JSON; "
        "@FILE or file://FILE reads it from a file, - from stdin), matched against the record as Lambda receives it.",
    ),
    follow: bool = typer.Option(True, "--follow/--no-follow", help="Keep waiting for new records, "
                                "or read what is there and exit."),
    count: int | None = typer.Option(None, "--count", min=1, help="Exit after N matching records."),
    timeout: float | None = typer.Option(None, "--timeout", min=0.0, metavar="SECONDS",
                                         help="Exit after this many seconds."),
    poll: float = typer.Option(1.0, "--poll", min=0.1, max=60.0, metavar="SECONDS",
                               help="Seconds between polls of a shard that had nothing new."),
    redact: list[str] = redact_option(),
    redact_preset: list[str] = redact_preset_option(),
    no_redact: bool = no_redact_option(),
) -> None:
    """Tail a table's DynamoDB stream: inserts, modifications and removals, with a diff of each.

    Reads every shard (parents before children, as AWS requires) and follows new shards as the
    stream rolls over. Numbers are exact, sets are sorted lists, binary is base64. A REMOVE done
    by TTL is marked as a TTL expiry. --output jsonl writes one record per line for jq; --output
    json writes an array, with --no-follow or --count. Exit 1 when --count records did not arrive
    before --timeout or the end of the stream. --redact and --redact-preset (or eda.yaml's redact:)
    mask keys and images; a masked field that changed is shown as changed, without either value.

    Example: eda stream tail orders --from 15m --changed status --output jsonl | jq .keys
    """
    from eda_cli.core import redact as masking
    from eda_cli.core.streams import Notice, StreamTail, TailOptions, parse_events, stream_arn_for

    app_ = ctx_of(ctx)
    renderer = app_.renderer
    masker = redactor(app_, redact, redact_preset, no_redact)
    output = app_.output
    if output not in ("table", "json", "jsonl"):
        raise UsageError(f"stream tail writes table, jsonl or json, not {output}",
                         hint="use --output jsonl to stream records, or --output json with --no-follow")
    if output == "json" and follow and count is None:
        raise UsageError("--output json needs --no-follow or --count (it writes one array at the end)",
                         hint="use --output jsonl to print each record as it arrives")
    start, since = _start(from_, follow)
    options = TailOptions(
        start=start,
        since=since,
        events=parse_events(events),
        changed=tuple(f.strip() for f in changed if f.strip()),
        filter=_compile_filter(filter_) if filter_ is not None else None,
        follow=follow,
        count=count,
        timeout=timeout,
        poll=poll,
    )

    session = app_.session
    arn = stream_arn_for(session.client("dynamodb"), target, session.where())
    tail = StreamTail(session.client("dynamodbstreams"), arn, options)
    if output == "table":
        renderer.note(_banner(tail.info, from_ or start, follow))
    collected: list[dict[str, Any]] = []
    interrupted = False
    try:
        with interruptible(threading.Event()):  # Ctrl-C and SIGTERM end the tail alike: summary, exit 130
            for item in tail:
                if isinstance(item, Notice):
                    _notice(renderer, item)
                    continue
                item = masking.results.change(item, masker)
                if output == "jsonl":
                    renderer.raw(_dumps(item.to_dict()) + "\n")
                elif output == "json":
                    collected.append(item.to_dict())
                else:
                    _print_change(renderer, item, tail.info)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        tail.close()
    if output == "json":
        from eda_cli.render import envelope

        renderer.raw(_dumps(envelope(collected), indent=2) + "\n")
    if output == "table":
        renderer.note(f"{tail.matched} record(s) shown, {tail.records_read} read")
    if interrupted:
        exit_with(ExitCode.INTERRUPTED)
    if count is not None and tail.matched < count:
        renderer.note(f"{tail.matched} of {count} record(s) arrived before "
                      f"{'the timeout' if timeout is not None else 'the end of the stream'}")
        exit_with(ExitCode.FINDING)


# -- options --------------------------------------------------------------------------------------


def _start(text: str | None, follow: bool) -> tuple[str, float | None]:
    from eda_cli.core.streams import parse_since

    if text is None:
        return ("latest" if follow else "trim-horizon"), None
    word = text.strip().lower().replace("_", "-")
    if word in ("latest", "trim-horizon"):
        return word, None
    return "trim-horizon", parse_since(text, time.time())


def _compile_filter(text: str) -> Any:
    return read_pattern(text, "--filter", "lambda",
                        hint='e.g. --filter \'{"eventName": ["MODIFY"], "dynamodb": {"NewImage": '
                        '{"status": {"S": ["PAID"]}}}}\'')[1]


# -- rendering ------------------------------------------------------------------------------------


def _dumps(value: Any, indent: int | None = None) -> str:
    from eda_cli.core.records import dumps

    return dumps(value, indent=indent)


def _notice(renderer: Renderer, notice: Notice) -> None:
    if notice.level == "warning":
        renderer.warn(notice.message)
    else:
        renderer.note(notice.message)


def _banner(info: StreamInfo, start: str, follow: bool) -> str:
    shards = len(info.shards)
    verb = "tailing" if follow else "reading"
    return (f"{verb} {info.table} ({info.view_type}, {shards} shard{'s' if shards != 1 else ''}) "
            f"from {start}{'; Ctrl-C stops' if follow else ''}")


def _value(value: Any) -> str:
    text = _dumps(value)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


Line = list[tuple[str, str | None]]


def change_lines(change: Change, key_names: tuple[str, ...]) -> list[Line]:
    """The human view of one record: a header line, then one line per field (added/removed/changed)."""
    keys = change.keys
    names = [k for k in key_names if k in keys] + [k for k in keys if k not in key_names]
    key_text = "  ".join(f"{k}={v if isinstance(v, str) else _value(v)}" for k, v in ((n, keys[n]) for n in names))
    when = change.time[:19] + "Z" if change.time else "-"
    header: Line = [(when, "dim"), ("  ", None), (f"{change.event:<6}", _EVENT_STYLES.get(change.event)),
                    ("  ", None), (key_text, "bold")]
    if change.ttl_expiry:
        header += [("  ", None), ("TTL expiry", "bold magenta")]
    lines: list[Line] = [header]
    skip = set(names)
    view = change.view_type or ""
    if change.event == "MODIFY" and (change.old is None) != (change.new is None):
        side, image = ("new", change.new) if change.new is not None else ("old", change.old)
        lines.append([(f"    ({side} image only: the stream is {view})", "dim")])
        for name, value in (image or {}).items():
            if name not in skip:
                lines.append([(f"      {name}: {_value(value)}", None)])
        return lines
    if change.old is None and change.new is None:
        what = "keys only" if view == "KEYS_ONLY" else "no image in this record"
        lines.append([(f"    ({what}: the stream is {view})", "dim")])
        return lines
    diffs = [d for d in change.field_diffs() if d.path not in skip]
    if change.event == "MODIFY" and not diffs:
        lines.append([("    (no attribute changed: the item was rewritten with the same values)", "dim")])
    for d in diffs:
        style = _OP_STYLES[d.op]
        if d.masked:
            text = f"    ~ {d.path}: changed (masked: {_value(d.new)})"
        elif d.op == "+":
            text = f"    + {d.path}: {_value(d.new)}"
        elif d.op == "-":
            text = f"    - {d.path}: {_value(d.old)}"
        else:
            text = f"    ~ {d.path}: {_value(d.old)} -> {_value(d.new)}"
        lines.append([(text, style)])
    return lines


def _print_change(renderer: Renderer, change: Change, info: StreamInfo) -> None:
    lines = change_lines(change, info.key_names)
    if renderer.is_terminal:
        from rich.text import Text

        for line in lines:
            text = Text()
            for part, style in line:
                text.append(part, style=style if renderer.color else None)
            renderer.console.print(text, soft_wrap=True)
        return
    renderer.raw("".join("".join(part for part, _ in line) + "\n" for line in lines))
