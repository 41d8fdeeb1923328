"""`eda redrive`: move poison messages back from a DLQ, at least once, never losing one."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup

from eda_cli.commands._common import confirm, ctx_of, exit_with, read_pattern, require_confirmation
from eda_cli.commands._redact import no_redact_option, redact_option, redact_preset_option, redactor
from eda_cli.errors import ExitCode, UsageError
from eda_cli.render import Renderer, TableView

if TYPE_CHECKING:
    from eda_cli.aws.resolve import QueueRef
    from eda_cli.context import AppContext
    from eda_cli.core.patterns import CompiledPattern
    from eda_cli.core.redrive import RedrivePlan, RedriveProgress, RedriveResult

#: The default concurrency, repeated here so that `--help` does not import the core (and boto3).
DEFAULT_CONCURRENCY = 8


class _DlqOrCommand(TyperGroup):
    """`eda redrive DLQ ...` is `eda redrive run DLQ ...`: anything that is not a subcommand goes to `run`.

    A DLQ literally named like a subcommand (replay, status, cancel, run) is redriven with
    `eda redrive run NAME`, or by its URL or ARN.
    """

    #: What a word that is not a subcommand goes to (the global options after `eda redrive DLQ` are found
    #: by reading on as this command: eda_cli._clicompat.hoist_global_options).
    default_command = "run"

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_DlqOrCommand,
    help=(
        "Move messages from a dead-letter queue back to their source (or --to a queue): at least once, "
        "never losing one, with an exact account of what moved.\n\n"
        "eda redrive DLQ [OPTIONS] is short for eda redrive run DLQ [OPTIONS]; eda redrive --state-machine NAME "
        "redrives a state machine's failed executions.\n\n"
        "Example: eda redrive payments-dlq --dry-run"
    ),
    no_args_is_help=True,
    subcommand_metavar="DLQ [OPTIONS] | COMMAND [ARGS]...",
)


class Mode(str, Enum):
    auto = "auto"
    copy = "copy"
    native = "native"


def _matcher(text: str | None) -> CompiledPattern | None:
    """--filter: an EventBridge pattern as JSON, or where read_argument finds it. Invalid -> exit 2."""
    if text is None:
        return None
    return read_pattern(text, "--filter", "eventbridge",
                        hint='an EventBridge pattern over body, attributes and message_attributes, '
                        'e.g. --filter \'{"body": {"type": ["order.created"]}}\'')[1]


#: What redrive says when it cannot ask (no terminal, no --yes).
_CHANGES = "redrive changes queues"
_YES_HINT = "pass --yes to confirm, or --dry-run to see what would move"


def _can_confirm(yes: bool) -> None:
    """Without a terminal to ask on, --yes is required: checked first, before any AWS call."""
    require_confirmation(yes, _CHANGES, _YES_HINT)


def _confirm(app_: AppContext, question: str, yes: bool) -> None:
    """Ask on a terminal (stderr). Declining changes nothing and exits 130."""
    confirm(app_, question, yes, what=_CHANGES, hint=_YES_HINT)


class _Bar:
    """The progress bar on stderr: only for people (table output) on a terminal."""

    def __init__(self, renderer: Renderer, label: str, enabled: bool) -> None:
        self._progress: Any = None
        self._task: Any = None
        self._label = label
        if enabled and renderer.human and renderer.stderr_is_terminal:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[moved]} moved"),
                TextColumn("~{task.fields[left]} left"),
                TextColumn("{task.fields[rate]} msg/s"),
                TimeElapsedColumn(),
                console=renderer.err_console,
                transient=True,
            )

    def __enter__(self) -> _Bar:
        if self._progress is not None:
            self._progress.start()
            self._task = self._progress.add_task(self._label, total=None, moved=0, left="?", rate="-")
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, progress: RedriveProgress) -> None:
        if self._progress is None:
            return
        done = progress.moved + progress.skipped + progress.failed
        left = max(0, progress.total - done) if progress.total is not None else "?"
        rate = f"{progress.moved / progress.elapsed:.0f}" if progress.elapsed > 0 else "-"
        self._progress.update(
            self._task,
            total=max(progress.total or 0, done) or None,
            completed=done,
            moved=progress.moved,
            left=left,
            rate=rate,
        )


def _where(plan: RedrivePlan) -> str:
    if plan.origin == "eventbridge":
        if plan.options.to_bus:
            return "their rules' event buses (PutEvents)"
        return "the EventBridge targets they name"
    if plan.origin == "configured":
        kinds = {s.kind for s in plan.configured}
        if plan.options.to_file:
            return f"{plan.options.to_file} (the stream records their on-failure records name)"
        if kinds == {"sns subscription"}:
            return "their subscriptions' endpoints"
        return "their functions" if "sns subscription" not in kinds else "their subscriptions' endpoints and functions"
    return ", ".join(t.name for t in plan.targets)


def _describe_plan(plan: RedrivePlan) -> str:
    targets = _where(plan)
    routing = " (each message to its own source)" if plan.per_message_routing else ""
    return (
        f"{plan.dlq.name}: ~{plan.visible} visible, ~{plan.in_flight} in flight; to {targets}{routing}; "
        f"{plan.mode} mode ({plan.mode_reason})"
    )


@app.command("run")
def run_cmd(
    ctx: typer.Context,
    dlq: str | None = typer.Argument(None, metavar="DLQ",
                                     help="The dead-letter queue (name, URL or ARN); or --state-machine NAME."),
    to: str | None = typer.Option(
        None, "--to", metavar="QUEUE",
        help="Send to this queue. Default: the DLQ's source queue(s), each message to its own.",
    ),
    filter_: str | None = typer.Option(
        None, "--filter", metavar="PATTERN",
        help="Move only messages matching this EventBridge pattern (JSON; @FILE or file://FILE; - for stdin) over "
        '{"body", "attributes", "message_attributes"}; the others stay in the DLQ.',
    ),
    max_messages: int | None = typer.Option(None, "--max", min=1, metavar="N", help="Move at most N messages."),
    rate: float | None = typer.Option(
        None, "--rate", min=0.001, metavar="MSGS_PER_SECOND", help="At most this many messages per second."
    ),
    concurrency: int = typer.Option(
        DEFAULT_CONCURRENCY, "--concurrency", min=1, max=32, metavar="N", help="Parallel workers (copy mode)."
    ),
    archive: Path | None = typer.Option(
        None, "--archive", metavar="FILE", dir_okay=False,
        help="Append every message to this JSON Lines file, fsync'd before it is sent (see `replay`).",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would move; change nothing."),
    mode: Mode = typer.Option(
        Mode.auto, "--mode", case_sensitive=False,
        help="native: an SQS move task; copy: receive, send, delete; auto: native when possible, and says so.",
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (required without a terminal)."),
    wait_seconds: int = typer.Option(
        1, "--wait-seconds", min=0, max=20, metavar="SECONDS", help="Long-poll wait of each receive (copy mode)."
    ),
    to_bus: bool = typer.Option(
        False, "--to-bus",
        help="EventBridge target DLQs: put each event back on its rule's bus (PutEvents) instead of delivering it "
        "to its target; every rule that matches it receives it again.",
    ),
    force: bool = typer.Option(
        False, "--force", help="With --archive: append to an existing archive file even if others may read it "
        "(its mode is wider than 0600)."),
    redact: list[str] = redact_option(),
    redact_preset: list[str] = redact_preset_option(),
    no_redact: bool = no_redact_option(),
    to_file: Path | None = typer.Option(
        None, "--to-file", metavar="FILE.jsonl", dir_okay=False,
        help="Stream on-failure records (an event source mapping's DLQ): append the stream records each names to "
        "this JSON Lines file, one a line, instead of invoking the function again.",
    ),
    state_machine: str | None = typer.Option(
        None, "--state-machine", metavar="NAME|ARN",
        help="Instead of a DLQ: redrive this state machine's failed executions (as eda saga redrive --state-machine; "
        "--max, --dry-run and --yes apply).",
    ),
    since: str | None = typer.Option(
        None, "--since", metavar="AGE|TIME",
        help="With --state-machine: executions that ended since then (30m, 2h, 1d, or ISO 8601). Default: 24h.",
    ),
    status: str | None = typer.Option(
        None, "--status", metavar="STATUS[,STATUS]",
        help="With --state-machine: which endings to redrive: FAILED, TIMED_OUT, ABORTED. Default: FAILED,TIMED_OUT.",
    ),
) -> None:
    """Move messages from a DLQ back to their source queue(s), or --to another queue.

    Copy mode deletes a message from the DLQ only after SQS accepted its copy (the entries of
    SendMessageBatch's Failed list stay in the DLQ and are listed; exit 4). Attributes of every
    type, the FIFO group and the AWSTraceHeader are kept. Ctrl-C finishes the batches in flight
    and exits 130. Asks for confirmation on a terminal; without one, pass --yes.

    An EventBridge target's DLQ (messages with RULE_ARN and TARGET_ARN attributes): each event goes
    to the target it was going to (SQS, SNS, Lambda, Step Functions, another bus, Kinesis, Firehose),
    not back to the bus, and leaves the DLQ only once that target's API accepted it. An SNS
    subscription's DLQ: each message goes to that subscription's endpoint (an SQS queue gets it as
    the subscription would have delivered it; a function is invoked with the SNS event), not back to
    the topic. A Lambda function's DLQ or on-failure destination: the function is invoked again
    asynchronously with the original event. An event source mapping's DLQ (records naming a DynamoDB
    or Kinesis stream's shard and sequence range): the records are read back from the stream and the
    function is invoked with them in its stream event, or with --to-file they are written to a file;
    a message whose range the stream has trimmed stays in the DLQ, with the ranges that are gone.

    With --state-machine NAME instead of a DLQ, failed Step Functions executions are redriven from
    the state that failed (RedriveExecution), exactly as eda saga redrive --state-machine does.

    The archive (--archive) holds every body and attribute as received: it is created readable by
    its owner only (mode 0600), an existing one that others may read is refused unless --force, and
    nothing in it is masked. --redact and --redact-preset (or eda.yaml's redact:) mask only the
    bodies a --dry-run shows as its sample.

    Example: eda redrive payments-dlq --filter '{"body": {"v": [1]}}' --archive redrive.jsonl --yes
    """
    from eda_cli.aws.resolve import resolve_queue
    from eda_cli.core.redrive import ApiCounter, RedriveOptions, plan_redrive, run_redrive

    app_ = ctx_of(ctx)
    if state_machine is not None:
        given = [name for name, value in (("DLQ", dlq), ("--to", to), ("--filter", filter_), ("--rate", rate),
                                          ("--archive", archive), ("--to-bus", to_bus), ("--to-file", to_file),
                                          ("--mode", mode != Mode.auto)) if value]
        if given:
            raise UsageError(f"--state-machine redrives executions, not a DLQ: {', '.join(given)} do not apply",
                             hint="eda redrive --state-machine checkout --since 1h --dry-run")
        from eda_cli.commands.saga import redrive_failed_executions

        redrive_failed_executions(app_, [], state_machine, since=since or "24h", status=status or "FAILED,TIMED_OUT",
                                  max_executions=max_messages, yes=yes, dry_run=dry_run, command="eda redrive")
        return
    if dlq is None:
        raise UsageError("name the DLQ to redrive, or --state-machine NAME to redrive its failed executions",
                         hint="eda redrive payments-dlq --dry-run")
    if since is not None or status is not None:
        raise UsageError(f"{'--since' if since is not None else '--status'} applies with --state-machine only",
                         hint="eda redrive --state-machine checkout --since 1h")
    renderer = app_.renderer
    matcher = _matcher(filter_)
    if dry_run:  # only a dry run shows bodies (its sample); the archive and the move are never masked
        masker = redactor(app_, redact, redact_preset, no_redact)
    else:
        from eda_cli.core.redact import Redactor

        masker = Redactor.build(redact or (), redact_preset or ())  # checked all the same: exit 2 when bad
    options = RedriveOptions(
        max_messages=max_messages,
        rate=rate,
        concurrency=concurrency,
        archive=str(archive) if archive is not None else None,
        dry_run=dry_run,
        mode=mode.value,
        wait_seconds=wait_seconds,
        matcher=matcher,
        filter_text=filter_,
        to_bus=to_bus,
        redactor=masker,
        force_archive=force,
        to_file=str(to_file) if to_file is not None else None,
    )
    options.validate()
    if not dry_run:
        _can_confirm(yes)
    session = app_.session
    sqs = session.client("sqs")
    with ApiCounter(sqs) as lookups:  # the summary counts every call the command made, these too
        dlq_ref = resolve_queue(sqs, dlq, session.region, session.where())
        to_ref = resolve_queue(sqs, to, session.region, session.where()) if to else None
    plan = plan_redrive(sqs, dlq_ref, to=to_ref, options=options, probe=session.single_attempt_client("sqs"),
                        clients=session.client, prior_calls=lookups.calls)
    renderer.note(_describe_plan(plan))
    for note in plan.notes:
        renderer.note(note)
    if to_bus:
        renderer.warn("--to-bus: each event goes back on its rule's bus, where EVERY rule that matches it "
                      "receives it again (duplicates for the targets that did get it), not only the one that failed")
    if not dry_run:
        count = f"up to {max_messages}" if max_messages else f"~{plan.visible}"
        _confirm(app_, f"Move {count} message(s) from {plan.dlq.name} to {_where(plan)}?", yes)
    from eda_cli.interrupts import deferred_interrupts

    # The summary is printed under the deferral too: a Ctrl-C landing after the last batch must not
    # lose the account of what moved.
    with deferred_interrupts() as cancel:
        with _Bar(renderer, f"redrive {plan.dlq.name}", enabled=not dry_run) as bar:
            # the run's receives, sends and deletes are built from what SQS answered: no client-side validation, and
            # sent by the lean transport (aws/lean.py) unless the client is injected or hooked
            result = run_redrive(session.lean_sqs(), plan, on_progress=bar.update, cancel=cancel,
                                 clients=session.client)
        _finish(app_, plan, result)


def _finish(app_: AppContext, plan: RedrivePlan | None, result: RedriveResult) -> None:
    """Render the summary and exit with the code the result calls for."""
    from eda_cli.core.redrive import nothing_moved_error

    error = nothing_moved_error(plan, result)
    if error is not None:
        raise error  # e.g. an AWS error before anything moved: exit 3 through the boundary
    app_.renderer.emit(result.to_dict(), lambda r: _print_result(r, result),
                       partial=result.partial or result.error is not None)
    for note in result.notes:
        if plan is None or note not in plan.notes:  # the plan's were said before the run
            app_.renderer.note(note)
    if result.interrupted:
        exit_with(ExitCode.INTERRUPTED)
    if result.partial or result.error is not None:
        exit_with(ExitCode.PARTIAL)
    exit_with(ExitCode.OK)


def _by_origin(result: RedriveResult) -> bool:
    """Whether some messages went (or would go) anywhere but an SQS source queue or --to."""
    return any(d["route"] not in ("source queue", "--to") for d in result.destinations)


def _destinations_table(renderer: Renderer, result: RedriveResult) -> None:
    count = "Would move" if result.dry_run else "Moved"
    # stream on-failure records: how many stream records the messages name (dry run) or were delivered
    key = "records_named" if result.dry_run else "records"
    streams = any(key in d for d in result.destinations)
    renderer.table(TableView(
        columns=["Destination", "Kind", "API", "Route", count, "Failed", *(["Records"] if streams else [])],
        rows=[[d["name"], d["kind"], d["api"] or "(refused)", d["route"],
               d["would_move"] if result.dry_run else d["moved"], d["failed"],
               *([d.get(key, "-")] if streams else [])] for d in result.destinations],
        keep=("Destination", count),
        drop_first=("Route", "Kind"),
        empty="(none)",
    ))


def _print_result(renderer: Renderer, result: RedriveResult) -> None:
    targets = ", ".join(result.targets)
    if result.dry_run:
        renderer.text(
            f"dry run: {result.would_move} message(s) would move from {result.source} to {targets} "
            f"({result.mode} mode); nothing was changed",
            style="bold",
        )
        if _by_origin(result):
            _destinations_table(renderer, result)
        else:
            renderer.table(TableView(columns=["Target", "Messages"],
                                     rows=[[t, n] for t, n in result.moved_by_target.items()], empty="(none)"))
        if result.skipped:
            renderer.text(f"{result.skipped} message(s) do not match --filter and would stay")
        if result.sample:
            renderer.table(TableView(
                columns=["Message", "Target", "Group", "Sent", "Body"],
                rows=[[s["message_id"], s["target"], s["group_id"], s["sent_at"], s["body"]] for s in result.sample],
                title="sample",
                keep=("Message", "Sent"),
                drop_first=("Group", "Target"),
            ))
    else:
        verb = "replayed" if result.mode == "replay" else "moved"
        renderer.text(
            f"{result.source}: {verb} {result.moved} message(s) to {targets} ({result.mode} mode) "
            f"in {result.seconds:.1f}s with {result.api_calls} {'' if _by_origin(result) else 'SQS '}API calls",
            style="bold",
        )
        if result.unverified:
            renderer.text(f"the move task reported {result.task_reported_moved} moved; {result.unverified} of them "
                          "did not arrive where eda could see them", style="red")
        if _by_origin(result):
            _destinations_table(renderer, result)
        elif len(result.moved_by_target) > 1:
            for target, count in result.moved_by_target.items():
                renderer.text(f"  {target}: {count}")
        if result.skipped:
            where = "not sent" if result.mode == "replay" else "left in the DLQ"
            renderer.text(f"skipped {result.skipped} message(s) that do not match --filter ({where})")
    if result.failed_message_ids:
        where = "not sent" if result.mode == "replay" else "still in the DLQ"
        renderer.table(TableView(
            columns=["Failed message", "Why"],
            rows=[[m, result.failures.get(m, "")] for m in result.failed_message_ids],
            title=f"{result.failed} message(s) failed ({where})",
        ))
    if result.not_deleted_message_ids:
        renderer.text(
            f"{len(result.not_deleted_message_ids)} message(s) were sent but could not be deleted from the DLQ "
            f"(they are in both): {', '.join(result.not_deleted_message_ids)}"
        )
    if result.archive and result.mode != "replay":
        renderer.text(f"archive: {result.archive} (re-send with: eda redrive replay {result.archive} --to QUEUE)")
    if result.left_in_dlq is not None and not result.dry_run:
        renderer.text(f"{result.source} now holds ~{result.left_in_dlq} message(s)")
    if result.error:
        renderer.text(f"stopped by an error: {result.error}", style="red")
    if result.in_flight_message_ids:
        renderer.text(f"interrupted twice: {len(result.in_flight_message_ids)} message(s) were being moved and may "
                      f"be in both queues: {', '.join(result.in_flight_message_ids)}", style="yellow")
    elif result.interrupted:
        renderer.text("interrupted: the batches in flight were finished; the rest stays in the DLQ", style="yellow")


@app.command("replay")
def replay_cmd(
    ctx: typer.Context,
    archive: Path = typer.Argument(
        ..., metavar="ARCHIVE", dir_okay=False, help="An archive written by `eda redrive DLQ --archive FILE`."
    ),
    to: str = typer.Option(..., "--to", metavar="QUEUE", help="The queue to send the archived messages to."),
    filter_: str | None = typer.Option(
        None, "--filter", metavar="PATTERN", help="Send only messages matching this EventBridge pattern."
    ),
    rate: float | None = typer.Option(
        None, "--rate", min=0.001, metavar="MSGS_PER_SECOND", help="At most this many messages per second."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (required without a terminal)."),
) -> None:
    """Send the messages of a redrive archive (again) to a queue, each message once.

    Bodies, attributes of every type, FIFO groups and trace headers are sent as archived; FIFO
    deduplication ids are new for each replay. Nothing is deleted anywhere.

    Example: eda redrive replay redrive.jsonl --to payments --yes
    """
    from eda_cli.aws.resolve import resolve_queue
    from eda_cli.core.redrive import ApiCounter, replay, scan_archive

    app_ = ctx_of(ctx)
    matcher = _matcher(filter_)
    summary = scan_archive(str(archive))
    _can_confirm(yes)
    session = app_.session
    sqs = session.client("sqs")
    with ApiCounter(sqs) as lookups:
        to_ref = resolve_queue(sqs, to, session.region, session.where())
    if summary.bad_lines:
        app_.renderer.warn(f"{len(summary.bad_lines)} line(s) of {archive} are not archive records and are skipped")
    _confirm(app_, f"Send {summary.unique} archived message(s) to {to_ref.name}?", yes)
    with _Bar(app_.renderer, f"replay {archive.name}", enabled=True) as bar:
        result = replay(sqs, str(archive), to_ref, matcher=matcher, rate=rate, on_progress=bar.update,
                        prior_calls=lookups.calls)
    _finish(app_, None, result)


def _queue_arn(app_: AppContext, dlq: str) -> tuple[Any, QueueRef, str]:
    from eda_cli.aws.resolve import resolve_queue
    from eda_cli.core.redrive import queue_arn

    session = app_.session
    sqs = session.client("sqs")
    ref = resolve_queue(sqs, dlq, session.region, session.where())
    return sqs, ref, queue_arn(sqs, ref)


@app.command("status")
def status_cmd(
    ctx: typer.Context,
    dlq: str = typer.Argument(..., metavar="DLQ", help="The dead-letter queue (name, URL or ARN)."),
) -> None:
    """Show the recent SQS message move tasks (native redrives) of a DLQ, newest first.

    Example: eda redrive status payments-dlq
    """
    from eda_cli.core.redrive import list_move_tasks

    app_ = ctx_of(ctx)
    sqs, ref, arn = _queue_arn(app_, dlq)
    tasks = list_move_tasks(sqs, ref, arn)
    view = TableView(
        columns=["Status", "Started", "Moved", "To move", "Max/s", "Destination", "Failure"],
        rows=[
            [t.status, t.started_at, t.moved, t.to_move, t.rate,
             (t.destination_arn or "(original sources)").rsplit(":", 1)[-1], t.failure_reason]
            for t in tasks
        ],
        title=f"move tasks of {ref.name}",
        empty=f"no move tasks on {ref.name}",
    )
    app_.renderer.emit([t.to_dict() for t in tasks], view)


@app.command("cancel")
def cancel_cmd(
    ctx: typer.Context,
    dlq: str = typer.Argument(..., metavar="DLQ", help="The dead-letter queue (name, URL or ARN)."),
) -> None:
    """Cancel the running SQS message move task of a DLQ. Messages already moved stay moved.

    Exit 1 when no move task is running.

    Example: eda redrive cancel payments-dlq
    """
    from eda_cli.core.redrive import cancel_move_task

    app_ = ctx_of(ctx)
    sqs, ref, arn = _queue_arn(app_, dlq)
    result = cancel_move_task(sqs, ref, arn)

    def human(renderer: Renderer) -> None:
        if result.cancelled:
            renderer.text(f"cancelled the move task on {ref.name}; ~{result.moved} message(s) had moved")
        else:
            renderer.text(f"no move task is running on {ref.name}")

    app_.renderer.emit(result.to_dict(), human)
    exit_with(ExitCode.OK if result.cancelled else ExitCode.FINDING)
