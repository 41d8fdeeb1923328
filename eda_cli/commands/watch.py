"""`eda watch`: a live board of every DLQ, stream consumer, state machine, redrive and alarm, most urgent first."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import typer

from eda_cli.commands._common import ctx_of, exit_with, humanize_seconds
from eda_cli.errors import ExitCode

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_sqs import SQSClient

    from eda_cli.aws.scopes import Scope as Where
    from eda_cli.aws.session import AwsSession
    from eda_cli.context import AppContext
    from eda_cli.core.watch import DlqRow, ScopesReader, Snapshot
    from eda_cli.render import Renderer, TableView

#: Of the interval, what a refresh may spend waiting for its calls (the rest draws the board).
BUDGET_SHARE = 0.8


def watch(
    ctx: typer.Context,
    interval: float = typer.Option(10.0, "--interval", min=1, metavar="SECONDS",
                                   help="Refresh every SECONDS (default 10). A call slower than that is shown "
                                        "stale, not waited for."),
    once: bool = typer.Option(False, "--once", help="Print one snapshot in the --output format and exit "
                                                    "(what eda does anyway when stdout is not a terminal)."),
    filter_: str = typer.Option("", "--filter", metavar="TEXT",
                                help="Only rows whose name contains TEXT (case-insensitive); `/` changes it live."),
) -> None:
    """A live board of what is on fire: DLQs, stream lag, failed executions, alarms.

    Every DLQ (visible, in flight, age of the oldest message, a sparkline of its depth, its alarm, ^ when it
    grew since the last refresh), every stream consumer's IteratorAge, failed and timed-out state machine
    executions in the last hour, running redrives (SQS move tasks), and the pipeline's alarms in ALARM; most
    urgent first, with the API calls each refresh costs. A call slower than the interval is shown stale (~,
    the previous value).

    Read-only. Keys: q quit, / filter, up/down select, p peek the selected DLQ (grouped by error, nothing
    consumed), r refresh now. Not a terminal, a machine --output, or --once: one snapshot in the --output
    format (exit 4 when part of it could not be read).

    With --regions/--accounts, one board of every scope (account and region), read at once within the same
    refresh budget, with Account and Region columns; a scope that cannot be opened is a problem line (exit 4
    with --once), and p peeks a DLQ in its own scope.

    Example: eda watch --interval 5 --filter payments
    Example: eda --regions us-east-1,eu-west-1 watch --once
    """
    from eda_cli.core.watch import WatchReader, read_scope

    app_ = ctx_of(ctx)
    renderer = app_.renderer
    reader: WatchReader | ScopesReader
    if app_.multi_scope:
        reader, sqs_of = _scopes_reader(app_, interval * BUDGET_SHARE)
    else:
        session = app_.session
        scope = read_scope(session.client, session.region, probe=session.single_attempt_client)
        reader = WatchReader(session.client, scope, budget=interval * BUDGET_SHARE)

        def sqs_of(row: DlqRow) -> SQSClient:
            return session.client("sqs")
    try:
        if once or not (renderer.human and renderer.is_terminal):
            snapshot = reader.refresh().filtered(filter_)
            emit_snapshot(renderer, snapshot)
            if snapshot.scopes_failed and not snapshot.scopes:
                exit_with(ExitCode.AWS)  # no scope could be opened
            exit_with(ExitCode.PARTIAL if snapshot.partial else ExitCode.OK)
            return
        from eda_cli.commands._watch_board import Board, run_board

        code = run_board(renderer, reader, Board(filter=filter_), interval, sqs_of, sys.stdin)
        exit_with(code)
    finally:
        reader.close()


def _scopes_reader(app_: AppContext, budget: float) -> tuple[ScopesReader, Callable[[DlqRow], SQSClient]]:
    """A reader per scope the options name, each opened (what it watches read) at once; a scope that cannot be
    opened is a problem at every refresh. And the SQS client of a DLQ row's own scope, to peek it."""
    from eda_cli.commands._scoped import run_in_scopes
    from eda_cli.core.watch import ScopesReader, WatchReader, read_scope

    def open_scope(where: Where, session: AwsSession) -> tuple[AwsSession, WatchReader]:
        scope = read_scope(session.client, session.region, probe=session.single_attempt_client)
        return session, WatchReader(session.client, scope, budget=budget)

    run = run_in_scopes(app_, open_scope)
    sessions = {(where.account, where.region): session for where, (session, _) in run.results}

    def sqs_of(row: DlqRow) -> SQSClient:
        return sessions[(row.account or "", row.region or "")].client("sqs")

    reader = ScopesReader([(where, r) for where, (_, r) in run.results], budget, failed=run.problems,
                          planned=run.planned)
    return reader, sqs_of


def emit_snapshot(renderer: Renderer, snapshot: Snapshot) -> None:
    """One snapshot in the chosen format: the JSON document, a record per row (jsonl, csv), or the tables."""

    def human(r: Renderer) -> None:
        r.text(headline(snapshot))
        for view in views(snapshot):
            if view.rows:
                r.text("")
                r.table(view)
        if not snapshot.rows:
            r.text("nothing to watch" + (f" matching {snapshot.filter!r}" if snapshot.filter else ""))
        for line in snapshot.unavailable:
            r.note(f"not shown: {line}")

    renderer.emit(snapshot.to_dict(), human, records=snapshot.records(), columns=["kind", "level"],
                  problems=snapshot.problems)


def headline(snapshot: Snapshot) -> str:
    where = snapshot.region
    if snapshot.multi_scope:
        accounts = len({label.split("/", 1)[1] for label in snapshot.scopes})
        regions = len({label.split("/", 1)[0] for label in snapshot.scopes})
        failed = f", {snapshot.scopes_failed} not opened" if snapshot.scopes_failed else ""
        where = (f"{len(snapshot.scopes)} scopes ({accounts} account{'s' * (accounts != 1)} x "
                 f"{regions} region{'s' * (regions != 1)}{failed})")
    parts = [f"eda watch  {where}  {snapshot.taken_at}",
             f"refresh {snapshot.refresh}: {snapshot.calls} API calls in {snapshot.elapsed_seconds:.1f}s"]
    if snapshot.problems:
        parts.append(f"{len(snapshot.problems)} not read (~ marks a previous value)")
    if snapshot.filter:
        parts.append(f"filter {snapshot.filter!r}: {snapshot.rows} of {snapshot.total_rows} rows")
    return "  |  ".join(parts)


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(history: tuple[float | int | None, ...], width: int = 20) -> str:
    """The last `width` values as bars scaled to their maximum; a gap where a value was not read."""
    values = history[-width:]
    top = max((v for v in values if v is not None), default=0) or 1
    return "".join(" " if v is None else SPARKS[min(len(SPARKS) - 1, int(v / top * (len(SPARKS) - 1)))]
                   for v in values)


def _mark(value: str, stale: bool) -> str:
    return f"{value}~" if stale else value


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


def views(snapshot: Snapshot) -> list[TableView]:
    """The board's tables, one per kind: alarms, DLQs, state machines, streams, redrives. Watching several scopes,
    each table has Account and Region columns (the DLQs' after their marker column, where `>` selects)."""
    tables = _views(snapshot)
    if not snapshot.multi_scope:
        return tables
    from dataclasses import replace

    kinds: list[tuple[Any, ...]] = [snapshot.alarms, snapshot.dlqs, snapshot.state_machines, snapshot.streams,
                                    snapshot.redrives]
    scoped = []
    for view, rows in zip(tables, kinds, strict=True):
        at = 1 if view.title == "DLQs" else 0
        scoped.append(replace(
            view, columns=[*view.columns[:at], "Account", "Region", *view.columns[at:]],
            rows=[[*cells[:at], row.account, row.region, *cells[at:]]
                  for cells, row in zip(view.rows, rows, strict=True)],
            drop_first=(*view.drop_first, "Account")))
    return scoped


def _views(snapshot: Snapshot) -> list[TableView]:
    from eda_cli.render import TableView

    dlq_rows = []
    for d in snapshot.dlqs:
        depth_stale = "depth" in d.stale
        dlq_rows.append([
            {"fire": "!!", "warn": "!", "ok": ""}[d.level] + ("^" if d.grew else ""),
            d.name,
            _mark(_count(d.visible), depth_stale),
            _mark(_count(d.in_flight), depth_stale),
            _mark(humanize_seconds(d.oldest_age_seconds), "age" in d.stale),
            sparkline(d.history),
            _mark(d.alarm, "alarm" in d.stale),
        ])
    return [
        TableView(columns=["Alarm in ALARM", "On", "Metric"],
                  rows=[[a.name, ", ".join(a.resources), "; ".join(a.metrics)] for a in snapshot.alarms],
                  title="Alarms", keep=("Alarm in ALARM",)),
        TableView(columns=["", "DLQ", "Visible", "In flight", "Oldest", "Depth", "Alarm"], rows=dlq_rows,
                  title="DLQs", keep=("DLQ", "Visible"), drop_first=("Depth", "In flight")),
        TableView(columns=["State machine", f"Failed ({snapshot_window(snapshot)})", "Timed out", "Last failure"],
                  rows=[[m.name, _mark(_count(m.failed), m.stale), _mark(_count(m.timed_out), m.stale),
                         f"{m.last_failure} at {m.last_failure_at}" if m.last_failure else "-"]
                        for m in snapshot.state_machines],
                  title="State machines", keep=("State machine",)),
        TableView(columns=["Stream", "Consumer", "Iterator age", "Lag", "Mapping"],
                  rows=[[s.stream, s.function, _mark(humanize_seconds(s.iterator_age_seconds), s.stale),
                         sparkline(s.history), s.mapping_state or "-"] for s in snapshot.streams],
                  title="Streams", keep=("Stream",)),
        TableView(columns=["Redrive from", "Moved", "To move", "Started"],
                  rows=[[r.dlq, _mark(str(r.task.moved), r.stale), _count(r.task.to_move), r.task.started_at or "-"]
                        for r in snapshot.redrives],
                  title="Running redrives", keep=("Redrive from",)),
    ]


def snapshot_window(snapshot: Snapshot) -> str:
    minutes = snapshot.state_machines[0].window_minutes if snapshot.state_machines else 60
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"
