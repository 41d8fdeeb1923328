"""`eda dlq`: where poison messages pile up, how many, how old, and what they are."""

from __future__ import annotations

import json
import time
from enum import Enum
from typing import TYPE_CHECKING, Any

import typer

from eda_cli.commands._common import ctx_of, exit_with, humanize_seconds, region_and_account
from eda_cli.commands._redact import no_redact_option, redact_option, redact_preset_option, redactor
from eda_cli.errors import ExitCode, UsageError
from eda_cli.render import Renderer, TableView

if TYPE_CHECKING:
    from eda_cli.aws.resolve import QueueRef
    from eda_cli.aws.scopes import Scope
    from eda_cli.aws.session import AwsSession
    from eda_cli.context import AppContext
    from eda_cli.core.dlq import DlqReport, Group, InspectResult, Origins, PeekResult
    from eda_cli.core.schemas import CheckResult, EventCheck

app = typer.Typer(
    help="Dead-letter queues: find them, measure them, peek at them.\n\nExample: eda dlq inspect --fail-above 0",
    no_args_is_help=True,
)


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List every dead-letter queue in the account and region.

    A queue is a DLQ when something names it as one: another queue's RedrivePolicy ("sqs redrive
    policy"), an SNS subscription's RedrivePolicy, an EventBridge rule target's DeadLetterConfig, a
    Lambda function's DeadLetterConfig ("lambda async") or on-failure destination, an event source
    mapping's on-failure destination, or a pipe's DeadLetterConfig. Else, the last resort ("by
    name"), when its name ends in -dlq, -deadletter or _dlq.

    Example: eda --region eu-west-1 dlq list
    """
    from eda_cli.core.dlq import FOUND_BY_SQS, scan_dlqs

    app_ = ctx_of(ctx)
    if app_.multi_scope:
        _list_scoped(app_)
        return
    session = app_.session
    scan = scan_dlqs(session.client("sqs"), clients=session.client)
    for dangling in scan.dangling:
        app_.renderer.warn(f"{dangling.source} sends its poison messages to {dangling.dlq_arn}, "
                           "which is not in this account and region" if dangling.kind == FOUND_BY_SQS else
                           f"{dangling.kind} {dangling.source} names {dangling.dlq_arn} as its DLQ, "
                           "which is not in this account and region")
    view = TableView(
        columns=["DLQ", "Found by", "Sources (maxReceiveCount)"],
        rows=[[d.info.name, d.found_by, [s.label for s in d.sources]] for d in scan.dlqs],
        empty=f"no dead-letter queues among {scan.queues_scanned} queues",
    )
    app_.renderer.emit([d.to_dict() for d in scan.dlqs], view, problems=scan.problems)
    exit_with(ExitCode.PARTIAL if scan.partial else ExitCode.OK)


def _list_scoped(app_: AppContext) -> None:
    """`dlq list` in every scope at once: one table (Account and Region first), one envelope."""
    from eda_cli.commands._scoped import SCOPE_COLUMNS, all_problems, run_in_scopes, scope_row, scoped_exit
    from eda_cli.core.dlq import scan_dlqs

    run = run_in_scopes(app_, lambda scope, s: scan_dlqs(s.client("sqs"), clients=s.client))
    for scope, scan in run.results:
        for dangling in scan.dangling:
            app_.renderer.warn(f"{scope.label}: {dangling.kind} {dangling.source} names {dangling.dlq_arn} as its "
                               "DLQ, which is not in this account and region")
    problems = all_problems(run, lambda scan: scan.problems)
    view = TableView(
        columns=[*SCOPE_COLUMNS, "DLQ", "Found by", "Sources (maxReceiveCount)"],
        rows=[scope_row(scope, [d.info.name, d.found_by, [s.label for s in d.sources]])
              for scope, scan in run.results for d in scan.dlqs],
        empty=f"no dead-letter queues among {sum(scan.queues_scanned for _, scan in run.results)} queues",
        keep=("DLQ",),
    )
    app_.renderer.emit([scope.stamp(d.to_dict()) for scope, scan in run.results for d in scan.dlqs], view,
                       problems=problems)
    exit_with(scoped_exit(run, bool(problems)))


def _inspect_once(app_: AppContext, queues: list[str], origins: Origins | None = None) -> InspectResult:
    from eda_cli.aws.resolve import resolve_queue
    from eda_cli.core.dlq import inspect_queues

    session = app_.session
    sqs = session.client("sqs")
    refs = [resolve_queue(sqs, q, session.region, session.where()) for q in queues]
    return inspect_queues(sqs, session.client("cloudwatch"), refs, clients=session.client, origins=origins)


def _retention(report: DlqReport) -> str:
    mine = humanize_seconds(report.retention_seconds)
    if report.retention_ok is None:
        return mine
    if report.retention_ok:
        return f"{mine} ok"
    longest = max(s.retention_seconds or 0 for s in report.dlq.sources)
    return f"{mine} <= source {humanize_seconds(longest)}"


def _sources(report: DlqReport) -> list[str] | str:
    """The Sources cell: each source (a queue with its maxReceiveCount, else its kind and owner), else why
    it is a DLQ, or is not one."""
    dlq = report.dlq
    if dlq.sources:
        return [s.label for s in dlq.sources]
    return f"(not a DLQ: {dlq.not_a_dlq})" if dlq.not_a_dlq else "(by name)"


def _inspect_view(result: InspectResult, fail_above: int | None) -> TableView:
    rows = []
    for r in result.reports:
        rows.append([
            r.dlq.info.name,
            r.visible,
            r.in_flight,
            r.delayed,
            humanize_seconds(r.oldest_age_seconds),
            _sources(r),
            ", ".join(r.alarms) if r.alarms else "NONE",
            _retention(r),
        ])
    return TableView(
        columns=["DLQ", "Visible", "In flight", "Delayed", "Oldest", "Sources (maxReceiveCount)",
                 "Depth alarm", "Retention"],
        rows=rows,
        styles={"Visible": "bold red"} if fail_above is not None else {},
        empty="no dead-letter queues found",
        keep=("DLQ", "Visible"),
        drop_first=("Retention", "Delayed", "In flight", "Depth alarm", "Oldest"),
    )


@app.command("inspect")
def inspect_cmd(
    ctx: typer.Context,
    queues: list[str] = typer.Argument(
        None, metavar="QUEUE", help="DLQs to inspect (name, URL or ARN). Default: every DLQ."
    ),
    fail_above: int | None = typer.Option(
        None, "--fail-above", min=0, help="Exit 1 when any DLQ holds more than N visible messages."
    ),
    watch: float | None = typer.Option(
        None, "--watch", min=1, help="Refresh every SECONDS until Ctrl-C.", metavar="SECONDS"
    ),
    allow_empty: bool = typer.Option(
        False, "--allow-empty", help="With --fail-above: exit 0, not 5, when there is no DLQ to check."
    ),
) -> None:
    """Depth, in-flight, age of the oldest message, sources, alarm and retention of each DLQ.

    Read-only: uses GetQueueAttributes and CloudWatch, never receives a message. With --fail-above,
    no DLQ at all exits 5 (a gate that checks nothing must not pass) unless --allow-empty. A queue
    named here that is not a DLQ (a live source queue, say) is marked "not a DLQ" in Sources.

    Example: eda dlq inspect --fail-above 0          # CI: fail when any DLQ holds a message
    """
    app_ = ctx_of(ctx)
    if app_.multi_scope:
        if watch is not None:
            raise UsageError("--watch refreshes one account and region: it does not take "
                             f"{app_.scope_options.describe()}", hint="drop --watch for one look at every scope")
        _inspect_scoped(app_, queues or [], fail_above, allow_empty)
        return
    if watch is not None:
        _watch(app_, queues or [], watch, fail_above)
        return
    result = _inspect_once(app_, queues or [])
    app_.renderer.emit([r.to_dict() for r in result.reports], _inspect_view(result, fail_above),
                       problems=result.problems)
    if fail_above is not None:
        over = result.over(fail_above)
        for r in over:
            app_.renderer.note(f"{r.dlq.info.name}: {r.visible} visible > {fail_above}")
        if over:
            exit_with(ExitCode.FINDING)
        if not result.reports and not result.partial:
            where = region_and_account(app_)
            app_.renderer.note(f"no DLQs found in {where}" + ("" if allow_empty else
                                                              "; pass --allow-empty if that is expected"))
            exit_with(ExitCode.OK if allow_empty else ExitCode.EMPTY)
    exit_with(ExitCode.PARTIAL if result.partial else ExitCode.OK)


def _in_scope(session: AwsSession, queues: list[str]) -> tuple[list[QueueRef], set[str]]:
    """The named queues that are in this session's account and region (and which names they were)."""
    from eda_cli.aws.resolve import Arn, resolve_queue
    from eda_cli.errors import ResourceNotFound

    sqs = session.client("sqs")
    refs, found = [], set()
    for name in queues:
        if name.startswith("arn:"):
            arn = Arn.parse(name)
            if arn.region != session.region or arn.account != session.account():
                continue
        try:
            refs.append(resolve_queue(sqs, name, session.region, session.where()))
        except ResourceNotFound:
            continue
        found.add(name)
    return refs, found


def _inspect_scoped(app_: AppContext, queues: list[str], fail_above: int | None, allow_empty: bool) -> None:
    """`dlq inspect` in every scope at once: a queue named by name is looked for in each scope; one found in
    none is a problem. Exit codes as for one scope, over all of them (3 when no scope answered)."""
    from eda_cli.commands._scoped import SCOPE_COLUMNS, all_problems, run_in_scopes, scope_row, scoped_exit
    from eda_cli.core.dlq import InspectResult, inspect_queues
    from eda_cli.core.problems import Problem

    def work(scope: Scope, session: AwsSession) -> tuple[InspectResult, set[str]]:
        refs, found = _in_scope(session, queues) if queues else ([], set())
        if queues and not refs:
            return InspectResult(()), found
        return inspect_queues(session.client("sqs"), session.client("cloudwatch"), refs,
                              clients=session.client), found

    run = run_in_scopes(app_, work)
    problems = all_problems(run, lambda answer: answer[0].problems)
    found = set().union(*(f for _, (_, f) in run.results)) if run.results else set()
    problems += [Problem("sqs", q, f"not found in any of {len(run.results)} scope(s)")
                 for q in queues if q not in found and run.results]
    reports = [(scope, r) for scope, (result, _) in run.results for r in result.reports]
    view = _inspect_view(InspectResult(tuple(r for _, r in reports)), fail_above)
    view.columns = [*SCOPE_COLUMNS, *view.columns]
    view.rows = [scope_row(scope, row) for (scope, _), row in zip(reports, view.rows, strict=True)]
    app_.renderer.emit([scope.stamp(r.to_dict()) for scope, r in reports], view, problems=problems)
    if fail_above is not None:
        over = [(scope, r) for scope, r in reports if (r.visible or 0) > fail_above]
        for scope, r in over:
            app_.renderer.note(f"{scope.label} {r.dlq.info.name}: {r.visible} visible > {fail_above}")
        if over:
            exit_with(ExitCode.FINDING)
        if not reports and not problems:
            app_.renderer.note(f"no DLQs found in {len(run.results)} scope(s)" + (
                "" if allow_empty else "; pass --allow-empty if that is expected"))
            exit_with(ExitCode.OK if allow_empty else ExitCode.EMPTY)
    exit_with(scoped_exit(run, bool(problems)))


def _watch(app_: AppContext, queues: list[str], interval: float, fail_above: int | None) -> None:
    """Refresh until Ctrl-C; exit 130 cleanly. Machine formats print one document per refresh. What the
    configuration names as a DLQ is read once, before the first refresh."""
    from eda_cli.core.dlq import find_origins
    from eda_cli.core.polling import repeat

    renderer = app_.renderer
    # What names the DLQs is read once: configuration changes rarely, and reading SNS, EventBridge, Lambda
    # and Pipes at every refresh would cost hundreds of calls a minute in a large account.
    try:
        origins = find_origins(app_.session.client)
        with renderer.live() as show:
            for result in repeat(lambda: _inspect_once(app_, queues, origins), interval):
                stamp = time.gmtime()
                view = _inspect_view(result, fail_above)
                view.title = f"DLQs at {time.strftime('%H:%M:%S', stamp)} (every {interval:g}s, Ctrl-C to stop)"
                show([r.to_dict() for r in result.reports], view, result.problems,
                     {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", stamp)})
    except KeyboardInterrupt:
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


class GroupBy(str, Enum):
    error = "error"
    violation = "violation"


@app.command("peek")
def peek_cmd(
    ctx: typer.Context,
    queue: str = typer.Argument(..., metavar="QUEUE", help="The queue to peek at (name, URL or ARN)."),
    max_messages: int = typer.Option(10, "--max", "-n", min=1, max=10000, help="At most this many messages."),
    group_by: GroupBy | None = typer.Option(
        None, "--group-by", help="Group messages by error signature (the triage view), or by schema "
        "violation (with --schema)."
    ),
    schema: str | None = typer.Option(
        None, "--schema", metavar="FILE|registry:REGISTRY/NAME[@VERSION]",
        help="Check each message's event against this schema (JSON Schema Draft 4 or OpenAPI 3) and show "
        "its violations."
    ),
    force: bool = typer.Option(
        False, "--force", help="Peek even a queue with a RedrivePolicy (raises receive counts of live messages)."
    ),
    redact: list[str] = redact_option(),
    redact_preset: list[str] = redact_preset_option(),
    no_redact: bool = no_redact_option(),
) -> None:
    """Show messages WITHOUT consuming them: nothing is deleted, visibility is put back at once.

    Each message: id, sent time, receives before this peek, body (pretty JSON), system attributes,
    message attributes of every type, FIFO group, and Lambda/SNS error attributes; a message over or
    within 10% of EventBridge's 256 KB limit (or SQS's 1 MiB) is flagged. With --schema, each message's
    event (inside its SNS envelope, if any) is checked and its violations shown; --group-by violation
    counts the messages per violation (JSON path, what the schema says). --redact and --redact-preset
    (or eda.yaml's redact:) mask bodies, attributes and what a violation quotes in every output format;
    --group-by error still groups by the unmasked error.

    Example: eda dlq peek payments-dlq --max 50 --group-by error --redact-preset pci
    Example: eda dlq peek orders-dlq --schema order-created.json --group-by violation
    """
    from eda_cli.aws.resolve import resolve_queue
    from eda_cli.core import redact as masking
    from eda_cli.core.dlq import group_by_error, peek

    app_ = ctx_of(ctx)
    if group_by is GroupBy.violation and schema is None:
        raise UsageError("--group-by violation needs --schema",
                         hint="e.g. eda dlq peek orders-dlq --schema order-created.json --group-by violation")
    checker = None
    if schema is not None:  # a bad schema is exit 2 before any message is received
        from eda_cli.commands.schema import load_schema
        from eda_cli.core.schemas import Checker

        checker = Checker(load_schema(app_, schema))
    masker = redactor(app_, redact, redact_preset, no_redact)
    session = app_.session
    sqs = session.client("sqs")
    ref = resolve_queue(sqs, queue, session.region, session.where())
    from eda_cli.interrupts import deferred_interrupts

    with deferred_interrupts() as cancel:
        result = peek(sqs, ref, max_messages, force=force, cancel=cancel)
        # What was read is reported under the deferral too: a late Ctrl-C must not cut the answer short.
        if result.interrupted:
            app_.renderer.warn_problems(result.problems)
            restored = len(result.messages) - len(result.not_restored)
            app_.renderer.warn(f"interrupted after reading {len(result.messages)} message(s); "
                               f"{restored} were made visible again at once")
            exit_with(ExitCode.INTERRUPTED)
        from eda_cli.core.dlq import check_messages

        checked = masking.results.checks(check_messages(result.messages, checker),
                                         [m.body for m in result.messages], masker)
        if group_by is GroupBy.error:
            groups = masking.results.groups(group_by_error(result.messages), masker)
            app_.renderer.emit([g.to_dict() for g in groups], _groups_view(result, groups),
                               problems=result.problems)
        elif group_by is GroupBy.violation:
            from eda_cli.commands.schema import violations_view

            total, invalid = len(checked.checks), checked.invalid
            title = (f"{result.queue.name}: {total} message(s) peeked, {total - invalid} valid, {invalid} invalid "
                     f"against {checked.schema}, grouped by violation")
            app_.renderer.emit({"queue": result.queue.name, **checked.to_dict()}, violations_view(checked, title),
                               problems=result.problems)
        else:
            shown = masking.results.peek(result, masker)
            by_id = {c.ref: c for c in checked.checks}
            items = [{**m.to_dict(), **_check_fields(by_id[m.message_id], checker is not None)}
                     for m in shown.messages]
            app_.renderer.emit(items, lambda r: _print_messages(r, shown, by_id, checker is not None),
                               problems=result.problems)
        _warn_sizes(app_.renderer, checked)
        exit_with(ExitCode.PARTIAL if result.not_restored else ExitCode.OK)


def _check_fields(check: EventCheck, schema: bool) -> dict[str, Any]:
    """What `dlq peek -o json` adds to a message: its size and size flags; with --schema, its violations."""
    fields: dict[str, Any] = {"size": check.size, "size_flags": [f.to_dict() for f in check.size_flags]}
    if schema:
        fields["violations"] = [v.to_dict() for v in check.violations]
    return fields


def _warn_sizes(renderer: Renderer, checked: CheckResult) -> None:
    from eda_cli.commands.schema import warn_sizes

    warn_sizes(renderer, checked, "message ")


def _groups_view(result: PeekResult, groups: list[Group]) -> TableView:
    rows = []
    for g in groups:
        d = g.to_dict()
        rows.append([g.signature, g.count, d["first_sent_at"], d["last_sent_at"]])
    return TableView(
        columns=["Error / shape", "Count", "First sent", "Last sent"],
        keep=("Count", "First sent", "Last sent"),
        rows=rows,
        title=f"{result.queue.name}: {len(result.messages)} message(s) peeked, grouped by error",
        empty="no messages",
    )


def _print_messages(renderer: Renderer, result: PeekResult, checks: dict[str, EventCheck],
                    schema: bool) -> None:
    from eda_cli.core.sqs import unwrap_envelope

    renderer.text(
        f"{result.queue.name}: {len(result.messages)} message(s) peeked "
        f"(of ~{result.visible_before if result.visible_before is not None else '?'} visible); none consumed",
        style="bold",
    )
    for m in result.messages:
        renderer.text("")
        renderer.text(f"message {m.message_id}", style="bold cyan")
        renderer.text(f"  sent {m.sent_at}  receives {m.receive_count}"
                      + (f"  group {m.group_id}" if m.group_id else ""))
        if m.error:
            request = f"  (request {m.error['request_id']})" if m.error.get("request_id") else ""
            renderer.text(f"  error {m.error.get('code')}: {m.error.get('message')}{request}", style="red")
        check = checks[m.message_id]
        for flag in check.size_flags:
            renderer.text(f"  size {flag.text}", style="red" if flag.over else "yellow")
        if schema:
            if check.valid:
                renderer.text("  schema: valid", style="green")
            for violation in check.violations:
                renderer.text(f"  violation {violation.text}", style="red")
        for name, attr in m.message_attributes.items():
            if m.error and name in ("ErrorCode", "ErrorMessage", "RequestID", "ERROR_CODE", "ERROR_MESSAGE"):
                continue
            renderer.text(f"  attr {name} ({attr['type']}) = {attr['value']}")
        body = unwrap_envelope(m.body)
        if isinstance(body, (dict, list)):
            text = json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False)
            note = "  body (SNS message):" if body is not m.body else "  body:"
            renderer.text(note)
            for line in text.splitlines():
                renderer.text("    " + line)
        else:
            renderer.text(f"  body: {body}")
