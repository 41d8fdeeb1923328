"""`eda trace`: follow one correlation id across queues, DLQs, logs, tables and state machines."""

from __future__ import annotations

import time
from collections import Counter
from typing import TYPE_CHECKING

import typer

from eda_cli.commands._common import ctx_of, exit_with, read_since
from eda_cli.commands._pipeline import config_errors, config_option
from eda_cli.commands._redact import no_redact_option, redact_option, redact_preset_option, redactor
from eda_cli.errors import ExitCode, UsageError
from eda_cli.render import Renderer, TableView

if TYPE_CHECKING:
    from eda_cli.aws.scopes import Scope
    from eda_cli.aws.session import AwsSession
    from eda_cli.context import AppContext
    from eda_cli.core.trace import Hit, TraceResult

DEFAULT_SINCE = "24h"
#: -o csv's header (and -o jsonl's keys): one row per hit.
HIT_COLUMNS = ("time", "source", "resource", "summary", "detail")


def trace(
    ctx: typer.Context,
    correlation_id: str = typer.Argument(..., help="The correlation id to follow (e.g. an order's correlationId).",
                                        metavar="CORRELATION_ID"),
    config: str | None = config_option(),
    queues: list[str] = typer.Option(None, "--queue", "-q", help="Search this queue (name, URL or ARN). Repeatable.",
                                      metavar="QUEUE"),
    log_groups: list[str] = typer.Option(None, "--log-group", "-g", help="Search this log group. Repeatable.",
                                          metavar="GROUP"),
    tables: list[str] = typer.Option(None, "--table", help="Look the id up as the key of this table. Repeatable.",
                                      metavar="TABLE"),
    idempotency_tables: list[str] = typer.Option(
        None, "--idempotency-table", help="Read this idempotency table (Powertools or TTL records). Repeatable.",
        metavar="TABLE"),
    machines: list[str] = typer.Option(
        None, "--state-machine", help="Search this state machine's executions (name or ARN). Repeatable.",
        metavar="MACHINE"),
    streams: list[str] = typer.Option(None, "--stream", help="Search this table's DynamoDB stream. Repeatable.",
                                      metavar="TABLE"),
    since: str = typer.Option(
        DEFAULT_SINCE, "--since", metavar="AGE|TIME",
        help="Look back this far (logs, executions, stream records): 30m, 2h, 1d or an ISO time."),
    id_path: list[str] = typer.Option(
        None, "--id-path", help="Another body path that carries the id (e.g. detail.order.ref). Repeatable.",
        metavar="PATH"),
    insights: bool = typer.Option(
        False, "--insights", help="Search logs with one Logs Insights query (large volumes)."),
    force: bool = typer.Option(
        False, "--force", help="Also read queues with a RedrivePolicy (raises their messages' receive counts)."),
    redact: list[str] = redact_option(),
    redact_preset: list[str] = redact_preset_option(),
    no_redact: bool = no_redact_option(),
) -> None:
    """Follow one correlation id through the pipeline and print one timeline and a verdict.

    Looks in the resources named by flags; else in the pipeline file's; else in every DLQ,
    idempotency table, DynamoDB stream, state machine and log group of the region. Queues are
    read like `dlq peek` (nothing consumed, visibility put back at once). Exit 0 found, 1 not
    found, 4 when some places could not be searched (listed, with why). --redact and
    --redact-preset (or the pipeline file's redact:) mask bodies, items, inputs and log lines.

    Example: eda trace corr-0006 --since 2h --redact-preset pci,pii
    """
    from eda_cli.core import redact as masking
    from eda_cli.core.trace import TraceOptions, id_paths, plan_for, plan_from_flags, run_trace

    app_ = ctx_of(ctx)
    cid = correlation_id.strip()
    if not cid:
        raise UsageError("the correlation id is empty")
    masker = redactor(app_, redact, redact_preset, no_redact, config)
    now = time.time()
    start = read_since(since, now)
    extra_paths = list(id_path or [])
    id_paths(extra_paths)  # bad paths fail here, before any AWS call
    if app_.multi_scope:
        if queues or log_groups or tables or idempotency_tables or machines or streams:
            raise UsageError(f"--queue, --log-group, --table, --idempotency-table, --state-machine and --stream name "
                             f"resources of one account and region: they do not go with "
                             f"{app_.scope_options.describe()}",
                             hint="drop them to search what each scope's discovery (or pipeline file) finds")
        _trace_scoped(app_, cid, config, extra_paths, start, now, insights=insights, force=force)
        return
    session = app_.session
    region = session.region
    flags = plan_from_flags(queues=queues or [], log_groups=log_groups or [], tables=tables or [],
                            idempotency_tables=idempotency_tables or [], machines=machines or [],
                            streams=streams or [])
    with config_errors():
        scope = plan_for(session.client, region, flags, config=config, force=force)
    for warning in scope.warnings:
        app_.renderer.warn(warning)
    options = TraceOptions(correlation_id=cid, id_paths=id_paths(extra_paths, scope.spec.correlation_id_paths),
                           since=start, until=now, insights=insights, force=force)
    result = masking.results.trace(run_trace(session.client, scope.plan, options, region=region,
                                             where=session.where()), masker)
    renderer = app_.renderer
    # jsonl and csv: one record per hit, shaped as in -o json's "hits"; the verdict goes to stderr.
    renderer.emit(result.to_dict(), lambda r: _human(r, result), records=[h.to_dict() for h in result.hits],
                  columns=HIT_COLUMNS, problems=result.problems)
    if renderer.output in ("jsonl", "csv"):
        renderer.note(f"{result.correlation_id}: " + (f"{len(result.hits)} hit(s); verdict: {result.verdict}"
                                                     if result.found else f"not found; {_searched_line(result)}"))
    if result.partial:
        exit_with(ExitCode.PARTIAL)
    exit_with(ExitCode.OK if result.found else ExitCode.FINDING)


# -- human output ---------------------------------------------------------------------------------


def _trace_scoped(app_: AppContext, cid: str, config: str | None, extra_paths: list[str], start: float, now: float,
                  *, insights: bool, force: bool) -> None:
    """The trace in every scope at once, as one timeline: each hit (and each place searched) with the account and
    region it is in, one verdict over them all. Exit codes as for one scope (3 when no scope answered)."""
    from eda_cli.commands._scoped import SCOPE_COLUMNS, all_problems, run_in_scopes, scope_row
    from eda_cli.core.pipeline import open_pipeline_file
    from eda_cli.core.trace import TraceOptions, id_paths, plan_for, plan_from_flags, run_trace
    from eda_cli.core.trace.model import TraceResult
    from eda_cli.core.trace.verdict import verdict

    plan = app_.scopes()
    with config_errors():  # a pipeline file that cannot be used is exit 2 once, not a failure of every scope
        open_pipeline_file(config, plan.scopes[0].region if plan.scopes else "us-east-1")

    def work(scope: Scope, session: AwsSession) -> tuple[tuple[str, ...], TraceResult]:
        where = plan_for(session.client, session.region, plan_from_flags(), config=config, force=force)
        options = TraceOptions(correlation_id=cid, id_paths=id_paths(extra_paths, where.spec.correlation_id_paths),
                               since=start, until=now, insights=insights, force=force)
        return where.warnings, run_trace(session.client, where.plan, options, region=session.region,
                                         where=session.where())

    run = run_in_scopes(app_, work)
    for warning in dict.fromkeys(w for _, (warnings, _) in run.results for w in warnings):
        app_.renderer.warn(warning)
    results = [(scope, result) for scope, (_, result) in run.results]
    hits = sorted(((scope, h) for scope, r in results for h in r.hits),
                  key=lambda p: (p[1].epoch is None, p[1].epoch or 0.0, p[0], p[1].source, p[1].resource))
    problems = all_problems(run, lambda answer: answer[1].problems)
    searched = [(scope, p) for scope, r in results for p in r.searched]
    skipped = [(scope, p) for scope, r in results for p in r.skipped]
    merged = TraceResult(
        correlation_id=cid, hits=tuple(h for _, h in hits),
        verdict=verdict(tuple(h for _, h in hits), searched=len(searched), errors=len(problems), skipped=len(skipped)),
        searched=tuple(p for _, p in searched), skipped=tuple(p for _, p in skipped), problems=tuple(problems),
        scope=f"{results[0][1].scope if results else 'discovery'} in {len(results)} scope(s)",
        since=results[0][1].since if results else None, id_paths=results[0][1].id_paths if results else ())
    payload = {**merged.to_dict(),
               "hits": [scope.stamp(h.to_dict()) for scope, h in hits],
               "searched": [scope.stamp(p.to_dict()) for scope, p in searched],
               "skipped": [scope.stamp(p.to_dict()) for scope, p in skipped],
               "scopes": [scope.label for scope, _ in results]}

    def human(renderer: Renderer) -> None:
        renderer.text(f"{cid}: {len(hits)} hit(s)" if hits else f"{cid}: not found", style="bold")
        if hits:
            renderer.table(TableView(
                columns=[*SCOPE_COLUMNS, "Time", "Source", "Resource", "Summary"],
                rows=[scope_row(scope, [h.time or "-", h.source, h.resource, h.summary]) for scope, h in hits],
                keep=("Time",)))
            renderer.text(f"verdict: {merged.verdict}")
        renderer.text(_searched_line(merged))

    app_.renderer.emit(payload, human, records=payload["hits"], columns=("account", "region", *HIT_COLUMNS),
                       problems=problems)
    if not results:
        exit_with(ExitCode.AWS)
    if merged.partial:
        exit_with(ExitCode.PARTIAL)
    exit_with(ExitCode.OK if merged.found else ExitCode.FINDING)


def _searched_line(result: TraceResult, listed: bool = False) -> str:
    kinds = Counter(p.source for p in result.searched)
    parts = [f"{n} {kind}" for kind, n in sorted(kinds.items())]
    text = f"searched {len(result.searched)} place{'s' if len(result.searched) != 1 else ''}"
    if parts:
        text += " (" + ", ".join(parts) + ")"
    text += f" by {result.scope}, since {result.since}"
    if result.skipped:
        text += f"; skipped {len(result.skipped)}" + ("" if listed else " (see --output json)")
    if result.problems:
        text += f"; {len(result.problems)} could not be searched"
    return text


def _human(renderer: Renderer, result: TraceResult) -> None:
    if not result.found:
        renderer.text(f"{result.correlation_id}: not found", style="bold")
        renderer.text(_searched_line(result, listed=True) + ":")
        for place in result.searched:
            renderer.text(f"  {place.source:<14} {place.resource}" + (f"  ({place.note})" if place.note else ""))
        for place in result.skipped:
            renderer.text(f"  {place.source:<14} {place.resource}  (skipped: {place.skipped})", style="dim")
        for problem in result.problems:
            renderer.text(f"  {problem.service:<14} {problem.resource}  (NOT SEARCHED: {problem.error})",
                          style="yellow")
        return
    if renderer.is_terminal:
        _tree(renderer, result)
    else:
        renderer.text(f"{result.correlation_id}: {len(result.hits)} hit(s)")
        renderer.table(TableView(
            columns=["Time", "Source", "Resource", "Summary"],
            rows=[[h.time or "-", h.source, h.resource, h.summary] for h in result.hits],
        ))
        renderer.text(f"verdict: {result.verdict}")
        renderer.text(_searched_line(result))


def _short_time(hit: Hit, same_day: bool) -> str:
    if hit.time is None:
        return "--:--:--.---"
    return hit.time[11:23] if same_day else hit.time[:23].replace("T", " ")


def _tree(renderer: Renderer, result: TraceResult) -> None:
    from rich.markup import escape
    from rich.tree import Tree

    days = {h.time[:10] for h in result.hits if h.time}
    same_day = len(days) <= 1
    title = f"[bold]{escape(result.correlation_id)}[/bold]"
    if same_day and days:
        title += f"  [dim]{next(iter(days))} (UTC)[/dim]"
    tree = Tree(title)
    branches: dict[tuple[str, str], Tree] = {}
    for hit in result.hits:
        key = (hit.source, hit.resource)
        if key not in branches:
            branches[key] = tree.add(f"[cyan]{escape(hit.source)}[/cyan] [bold]{escape(hit.resource)}[/bold]")
        style = "red" if hit.detail.get("dlq") or hit.detail.get("error") else ""
        text = f"[dim]{_short_time(hit, same_day)}[/dim]  {escape(hit.summary)}"
        branches[key].add(f"[{style}]{text}[/{style}]" if style else text)
    renderer.console.print(tree)
    renderer.console.print(f"[bold]verdict:[/bold] {escape(result.verdict)}")
    renderer.console.print(f"[dim]{escape(_searched_line(result))}[/dim]")
