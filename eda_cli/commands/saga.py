"""`eda saga`: one saga file, run locally or on Step Functions, with the same outcome on both."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import TYPE_CHECKING, Any

import typer

from eda_cli.commands._common import confirm, ctx_of, exit_with, read_argument
from eda_cli.errors import ExitCode, UsageError
from eda_cli.render import Renderer, TableView

if TYPE_CHECKING:
    from eda_cli.context import AppContext
    from eda_cli.core.saga.model import SagaEvent, SagaResult
    from eda_cli.core.saga.spec import Saga

app = typer.Typer(
    help=(
        "Sagas: steps with compensations, run locally or on Step Functions with the same outcome.\n\n"
        "Example: eda saga run examples/sagas/checkout.yaml --fail-at ship"
    ),
    no_args_is_help=True,
)

FILE_HELP = "The saga file (YAML), or example:checkout for the bundled example."


class Engine(str, Enum):
    local = "local"
    stepfunctions = "stepfunctions"


# -- helpers --------------------------------------------------------------------------------------


def _load(file: str) -> Saga:
    from eda_cli.core.saga.spec import read_saga

    return read_saga(file)


def _resolve_names(app_: AppContext, saga: Saga) -> Saga:
    from eda_cli.core.saga.prepare import resolve_names

    return resolve_names(saga, app_.session)


def _roles(app_: AppContext, saga: Saga, execution_role_arn: str | None) -> tuple[Saga, str | None]:
    from eda_cli.core.saga.prepare import with_roles

    return with_roles(saga, execution_role_arn, app_.session.account)


def _parse_input(raw: str | None) -> dict[str, Any]:
    """--input: the text read as read_argument reads it, parsed as the saga's input."""
    from eda_cli.core.saga.prepare import NOT_JSON, SagaInputError, parse_input

    if raw is None:
        return {}
    text = read_argument(raw, "--input")
    try:
        return parse_input(text, "--input" if text is raw else raw)
    except SagaInputError as exc:
        if exc.reason != NOT_JSON:
            raise
        hint = "pass a JSON object, e.g. --input '{\"order_id\": \"o-1\"}', or --input @order.json"
        raise UsageError(exc.message, hint=hint) from None


def _check_input(saga: Saga, run_input: dict[str, Any]) -> None:
    from eda_cli.core.saga.prepare import SagaInputError, check_input

    try:
        check_input(saga, run_input)
    except SagaInputError as exc:
        raise UsageError(exc.message, hint="pass it with --input") from None


@contextmanager
def _deploy_hints() -> Iterator[None]:
    """A DeployError from core, with its hint in the options of `saga deploy` and `saga run`."""
    from eda_cli.core.saga.stepfunctions import NEEDS_ROLE, TYPE_CHANGE, DeployError

    hints = {
        NEEDS_ROLE: "pass --execution-role-arn ARN, or put role_arn: in the saga file",
        TYPE_CHANGE: "Step Functions cannot change a state machine's type: deploy under another --name",
    }
    try:
        yield
    except DeployError as exc:
        exc.hint = hints.get(exc.reason, exc.hint)
        raise


def _time(value: str | None) -> str:
    return value[11:23] if value else "-"


def _error_text(error: Any) -> str:
    if error is None:
        return "-"
    cause = " ".join(str(error.cause).split())
    if len(cause) > 80:
        cause = cause[:77] + "..."
    return f"{error.error}: {cause}" if cause else str(error.error)


# -- the step view --------------------------------------------------------------------------------


class StepView:
    """The run as it happens, on stderr: a live table on a terminal, plain lines otherwise."""

    def __init__(self, renderer: Renderer, saga: Saga, engine: str) -> None:
        from eda_cli.core.saga.model import Tracker

        self.renderer = renderer
        self.tracker = Tracker(saga.name, saga.step_names, engine, "")
        self.live_enabled = renderer.human and renderer.stderr_is_terminal
        self.plain_enabled = renderer.human and not renderer.stderr_is_terminal
        self._live: Any = None

    def __enter__(self) -> StepView:
        if self.live_enabled:
            from rich.live import Live

            self._live = Live(self._table(), console=self.renderer.err_console, auto_refresh=False,
                              transient=True)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None

    def __call__(self, event: SagaEvent) -> None:
        self.tracker.apply(event)
        if self._live is not None:
            self._live.update(self._table(), refresh=True)
        elif self.plain_enabled:
            line = _event_line(event)
            if line:
                self.renderer.note(line)

    def _table(self) -> Any:
        from rich.table import Table

        result = self.tracker.result()
        table = Table(title=f"saga {result.saga}: {result.status}", title_justify="left", header_style="bold")
        for column in ("Step", "Status", "Attempts", "Error"):
            table.add_column(column)
        styles = {"SUCCEEDED": "green", "FAILED": "red", "COMPENSATED": "yellow", "RUNNING": "cyan"}
        for step in result.steps:
            table.add_row(step.name, f"[{styles.get(step.status, 'dim')}]{step.status}[/]",
                          str(step.attempts or "-"), _error_text(step.error))
        for comp in result.compensations:
            table.add_row(f"compensate {comp.step}", f"[{styles.get(comp.status, 'dim')}]{comp.status}[/]",
                          str(comp.attempts or "-"), _error_text(comp.error))
        return table


def _event_line(event: SagaEvent) -> str | None:
    from eda_cli.core.saga import model as m

    who = event.step if event.kind == m.ACTION else f"compensate {event.step}"
    if event.phase == m.ATTEMPT:
        return f"{who}: attempt {event.attempt}"
    if event.phase == m.ATTEMPT_FAILED:
        retry = f"; retrying in {event.retry_in:g}s" if event.retry_in is not None else ""
        return f"{who}: attempt {event.attempt} failed: {_error_text(event.error)}{retry}"
    if event.phase == m.SUCCEEDED:
        return f"{who}: succeeded"
    if event.phase == m.FAILED:
        return f"{who}: FAILED: {_error_text(event.error)}"
    if event.phase == m.RESUMED:
        return f"{who}: already done in an earlier run (not repeated)"
    if event.phase == m.FINISHED:
        return f"saga: {event.status}" + (f" ({_error_text(event.error)})" if event.error else "")
    return None


# -- the result -----------------------------------------------------------------------------------


def _summary(result: SagaResult) -> str:
    from eda_cli.core.saga import model as m

    if result.status == m.SUCCEEDED:
        return f"all {len(result.steps)} steps succeeded"
    if result.status == m.RUNNING:
        return "the execution is still running"
    failed = result.failed_step
    what = f"step {failed.name} failed ({failed.error.error if failed.error else 'error'})" if failed else "failed"
    compensated = [c.step for c in result.compensations if c.status == m.SUCCEEDED]
    if result.status == m.COMPENSATED:
        done = f"compensated {', '.join(compensated)}" if compensated else "nothing to compensate"
        return f"{what}; {done}"
    broken = result.failed_compensation
    if broken is not None:
        left = ", ".join(result.still_in_effect) or "none"
        return (f"{what}; compensating {broken.step} failed "
                f"({broken.error.error if broken.error else 'error'}): a human is needed. "
                f"Still in effect (not compensated): {left}")
    if result.error is not None:
        return f"the saga stopped without compensating: {_error_text(result.error)}"
    return what


def _print_result(renderer: Renderer, result: SagaResult) -> None:
    colour = {"SUCCEEDED": "green", "COMPENSATED": "yellow", "FAILED": "red"}.get(result.status, "cyan")
    renderer.markup(f"[bold]saga {result.saga}[/bold] on {result.engine}: "
                    f"[bold {colour}]{result.status}[/] ({result.execution})")
    renderer.table(TableView(
        columns=["Step", "Status", "Attempts", "Started", "Ended", "Error"],
        rows=[[s.name, s.status + (" (resumed)" if s.resumed else ""), s.attempts, _time(s.started_at),
               _time(s.ended_at), _error_text(s.error)] for s in result.steps],
    ))
    if result.compensations:
        renderer.table(TableView(
            title="Compensations (in the order they ran)",
            columns=["Step compensated", "Status", "Attempts", "Error"],
            rows=[[c.step, c.status + (" (resumed)" if c.resumed else ""), c.attempts, _error_text(c.error)]
                  for c in result.compensations],
        ))
    renderer.text(_summary(result))


def _emit_result(app_: AppContext, result: SagaResult) -> None:
    from eda_cli.core.saga import model as m

    app_.renderer.emit(result.to_dict(), lambda r: _print_result(r, result))
    exit_with(ExitCode.OK if result.status in (m.SUCCEEDED, m.RUNNING) else ExitCode.FINDING)


# -- commands -------------------------------------------------------------------------------------


@app.command("validate")
def validate_cmd(ctx: typer.Context, file: str = typer.Argument(..., help=FILE_HELP, metavar="FILE")) -> None:
    """Check a saga file: structure, integrations, parameters, templates. Exit 2 with file:line if not.

    Reads no AWS resource.

    Example: eda saga validate examples/sagas/checkout.yaml
    """
    app_ = ctx_of(ctx)
    saga = _load(file)
    summary = {**saga.summary(), "valid": True}
    compensations = sum(1 for s in saga.steps if s.compensate is not None)
    view = TableView(
        title=f"{file}: saga {saga.name} ({saga.type}), {len(saga.steps)} steps, "
              f"{compensations} compensations: valid",
        columns=["Step", "Action", "Compensation", "Attempts", "Timeout"],
        rows=[[s.name, s.action.integration.name, s.compensate.integration.name if s.compensate else "-",
               s.action.retry.attempts, f"{s.action.timeout}s"] for s in saga.steps],
    )
    app_.renderer.emit(summary, view)


@app.command("compile")
def compile_cmd(ctx: typer.Context, file: str = typer.Argument(..., help=FILE_HELP, metavar="FILE")) -> None:
    """Print the Amazon States Language definition the saga compiles to.

    QueueName and TopicName parameters are resolved to the queue URL and topic ARN first (the
    only AWS calls it makes).

    Example: eda saga compile examples/sagas/checkout.yaml > checkout.asl.json
    """
    from eda_cli.core.saga.asl import compile_saga

    app_ = ctx_of(ctx)
    saga = _resolve_names(app_, _load(file))
    definition = compile_saga(saga)

    app_.renderer.document(definition)  # the state machine definition, as Step Functions takes it


@app.command("deploy")
def deploy_cmd(
    ctx: typer.Context,
    file: str = typer.Argument(..., help=FILE_HELP, metavar="FILE"),
    name: str | None = typer.Option(None, "--name", help="State machine name (default: the saga's name)."),
    execution_role_arn: str | None = typer.Option(
        None, "--execution-role-arn", metavar="ARN",
        help="The state machine's execution role (default: role_arn in the file). Not the global "
             "--role-arn, which is the role eda itself assumes.",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say whether it would create or update; change nothing."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Update an existing state machine without asking."),
) -> None:
    """Create or update the saga's state machine (Standard or Express, as the file says).

    Replacing the definition of an existing state machine asks first on a terminal, and needs
    --yes otherwise; creating one does not. --dry-run says which it would do.

    Example: eda saga deploy examples/sagas/checkout.yaml --execution-role-arn arn:aws:iam::123456789012:role/checkout
    """

    from eda_cli.core.saga.stepfunctions import StepFunctionsRun

    app_ = ctx_of(ctx)
    saga, role_arn = _roles(app_, _resolve_names(app_, _load(file)), execution_role_arn)
    run = StepFunctionsRun(app_.session.client("stepfunctions"), saga, state_machine=name, role_arn=role_arn)
    with _deploy_hints():
        plan = run.deploy(dry_run=True)
    if dry_run or plan.action == "unchanged":
        deployment = plan
    else:
        if plan.action == "would update":
            confirm(app_, f"Replace the definition (and role) of state machine {plan.name}?", yes,
                    what=f"state machine {plan.name} exists and its definition or role would be replaced",
                    hint="pass --yes to update it (--dry-run only reports)")
        with _deploy_hints():
            deployment = run.deploy()
    app_.renderer.emit(deployment.to_dict(), lambda r: r.text(
        f"{deployment.action} state machine {deployment.name} ({deployment.type}): {deployment.arn}"))


@app.command("run")
def run_cmd(
    ctx: typer.Context,
    file: str = typer.Argument(..., help=FILE_HELP, metavar="FILE"),
    input_: str | None = typer.Option(None, "--input", "-i", metavar="JSON|@FILE",
                                      help="The saga's input: a JSON object, or @FILE / file://FILE "
                                           "/ - (stdin) to read it."),
    engine: Engine = typer.Option(Engine.local, "--engine", "-e", case_sensitive=False,
                                  help="local: eda calls AWS itself. stepfunctions: deploy and run the state machine."),
    fail_at: str | None = typer.Option(None, "--fail-at", metavar="STEP",
                                       help="Inject a failure at STEP (not retried) to rehearse the compensations."),
    idempotency_table: str | None = typer.Option(
        None, "--idempotency-table", metavar="TABLE",
        help="local: record completed steps in this DynamoDB table, so a re-run resumes without repeating them."),
    idempotency_ttl: int = typer.Option(86400, "--idempotency-ttl", min=60, metavar="SECONDS",
                                        help="How long the idempotency records live (TTL)."),
    execution_name: str | None = typer.Option(
        None, "--execution-name", metavar="NAME",
        help="Name of the execution (default: unique; with --idempotency-table, derived from the input)."),
    name: str | None = typer.Option(None, "--name", help="stepfunctions: state machine name (default: the saga's)."),
    execution_role_arn: str | None = typer.Option(
        None, "--execution-role-arn", metavar="ARN",
        help="stepfunctions: the state machine's execution role when eda creates it (default: role_arn in the file)."),
    poll: float = typer.Option(0.5, "--poll", min=0.05, max=60, metavar="SECONDS",
                               help="stepfunctions: how often to read the execution's history."),
) -> None:
    """Run a saga: steps in order; on a failure, compensate the completed steps in reverse order.

    Ends SUCCEEDED (exit 0), COMPENSATED (a step failed, every compensation succeeded: exit 1) or
    FAILED (a compensation failed, a human is needed: exit 1). An invalid file or input exits 2;
    an AWS error before the saga starts exits 3. On Step Functions the state machine is created or
    updated first, and the execution's history is followed live.

    Example: eda saga run examples/sagas/checkout.yaml --engine stepfunctions --fail-at ship --input @order.json
    """
    from eda_cli.core.saga.spec import valid_name

    app_ = ctx_of(ctx)
    saga = _load(file)
    run_input = _parse_input(input_)
    if fail_at is not None and fail_at not in saga.step_names:
        raise UsageError(f"--fail-at {fail_at!r}: no such step", hint=f"the steps: {', '.join(saga.step_names)}")
    if execution_name is not None and not valid_name(execution_name):
        raise UsageError(f"--execution-name {execution_name!r}: use 1-80 letters, digits, '-' or '_'")
    if engine is Engine.stepfunctions and idempotency_table:
        raise UsageError("--idempotency-table is for the local engine",
                         hint="a Step Functions execution name is already idempotent: pass --execution-name")
    _check_input(saga, run_input)
    saga = _resolve_names(app_, saga)
    if engine is Engine.local:
        result = _run_local(app_, saga, run_input, fail_at, idempotency_table, idempotency_ttl, execution_name)
    else:
        result = _run_stepfunctions(app_, saga, run_input, fail_at, execution_name, name, execution_role_arn, poll)
    _emit_result(app_, result)


def _run_local(app_: AppContext, saga: Saga, run_input: dict[str, Any], fail_at: str | None,
               table: str | None, ttl: int, execution: str | None) -> SagaResult:
    from eda_cli.core.saga.local import IdempotencyStore, LocalEngine, execution_name, session_clients

    session = app_.session
    store = None
    if table:
        store = IdempotencyStore(session.client("dynamodb"), table, ttl_seconds=ttl, where=session.where())
    name = execution or execution_name(saga.name, run_input, fail_at, deterministic=store is not None)
    if store is not None and app_.renderer.human:
        app_.renderer.note(f"execution {name}: completed steps are recorded in {table}; "
                           f"re-running with the same input (or --execution-name {name}) resumes")
    view = StepView(app_.renderer, saga, "local")
    engine = LocalEngine(saga, session_clients(session), execution=name, fail_at=fail_at, store=store,
                         on_event=view)
    try:
        with view:
            return engine.run(run_input)
    except KeyboardInterrupt:
        if store is not None:
            app_.renderer.warn(f"interrupted; completed steps are recorded: re-run with --execution-name {name} "
                               f"--idempotency-table {table} to resume")
        else:
            app_.renderer.warn("interrupted: the saga is half done and nothing recorded its progress")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def _run_stepfunctions(app_: AppContext, saga: Saga, run_input: dict[str, Any], fail_at: str | None,
                       execution: str | None, name: str | None, role_arn: str | None, poll: float) -> SagaResult:
    from eda_cli.core.saga.local import with_fail_at
    from eda_cli.core.saga.stepfunctions import StepFunctionsRun

    session = app_.session
    saga, role_arn = _roles(app_, saga, role_arn)
    run = StepFunctionsRun(session.client("stepfunctions"), saga, state_machine=name, role_arn=role_arn,
                           sync_client=session.single_attempt_client("stepfunctions"), poll=poll)
    started: list[str] = []

    def on_started(arn: str) -> None:
        started.append(arn)
        if app_.renderer.human:
            app_.renderer.note(f"execution {arn}")

    view = StepView(app_.renderer, saga, "stepfunctions")
    try:
        with view, _deploy_hints():
            return run.run(with_fail_at(run_input, fail_at), execution=execution, on_event=view,
                           on_started=on_started, on_note=lambda text: app_.renderer.note(text))
    except KeyboardInterrupt:
        if started:
            app_.renderer.warn(f"stopped following; the execution goes on: eda saga status {started[0]}")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


@app.command("redrive")
def redrive_cmd(
    ctx: typer.Context,
    executions: list[str] = typer.Argument(None, metavar="[EXECUTION]...",
                                           help="Execution ARNs to redrive (or use --state-machine)."),
    state_machine: str | None = typer.Option(None, "--state-machine", metavar="NAME|ARN",
                                             help="Redrive this state machine's failed executions."),
    since: str = typer.Option("24h", "--since", metavar="AGE|TIME",
                              help="With --state-machine: executions that ended since then (30m, 2h, 1d, or ISO "
                              "8601). Step Functions redrives up to 14 days after the failure."),
    status: str = typer.Option("FAILED,TIMED_OUT", "--status", metavar="STATUS[,STATUS]",
                               help="With --state-machine: which endings to redrive: FAILED, TIMED_OUT, ABORTED."),
    max_executions: int | None = typer.Option(None, "--max", min=1, metavar="N",
                                              help="With --state-machine: at most N executions, newest first."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask (required without a terminal)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would be redriven; redrive nothing."),
) -> None:
    """Redrive failed Step Functions executions from the state that failed (RedriveExecution).

    One or more executions by ARN, or every execution of --state-machine that ended FAILED or
    TIMED_OUT (--status) since --since. What succeeded before the failure is kept; the failed
    state runs again, with its side effects, so it asks first. Standard workflows only. Exit 0
    when every one was redriven, 4 when some were refused or failed (listed), 3 when the endpoint
    does not implement RedriveExecution (moto and LocalStack's free edition do not).

    Example: eda saga redrive --state-machine checkout --since 2h --dry-run
    """
    redrive_failed_executions(ctx_of(ctx), executions or [], state_machine, since=since, status=status,
                              max_executions=max_executions, yes=yes, dry_run=dry_run)


def redrive_failed_executions(app_: AppContext, executions: list[str], state_machine: str | None, *, since: str,
                              status: str, max_executions: int | None, yes: bool, dry_run: bool,
                              command: str = "eda saga redrive") -> None:
    """`eda saga redrive`, and `eda redrive --state-machine` (its alias): find, confirm, redrive, render, exit."""
    import time
    from datetime import datetime, timezone

    from eda_cli.commands._common import read_since, require_confirmation
    from eda_cli.core.saga.redrive import (
        describe_executions,
        failed_executions,
        parse_statuses,
        redrive_executions,
    )
    from eda_cli.core.saga.stepfunctions import require_execution_arn

    arns = [require_execution_arn(e) for e in executions]
    if bool(arns) == (state_machine is not None):
        raise UsageError("name the executions to redrive, or --state-machine NAME to redrive its failed ones",
                         hint=f"{command} --state-machine checkout --since 2h")
    statuses = parse_statuses(status)
    start = read_since(since, time.time())
    if not dry_run:
        require_confirmation(yes, _REDRIVE_WHAT, _REDRIVE_HINT)
    sfn = app_.session.client("stepfunctions")
    if state_machine is not None:
        from eda_cli.aws.resolve import resolve_state_machine

        machine = resolve_state_machine(sfn, state_machine, app_.session.where())
        found = failed_executions(sfn, machine, since=datetime.fromtimestamp(start, timezone.utc),
                                  statuses=statuses, limit=max_executions)
    else:
        found = describe_executions(sfn, arns)
    renderer = app_.renderer
    todo = sum(1 for e in found if e.outcome == "would redrive")
    if todo and not dry_run:
        confirm(app_, f"Redrive {todo} execution(s)? Their failed states run again.", yes, what=_REDRIVE_WHAT,
                hint=_REDRIVE_HINT)
    result = redrive_executions(sfn, found, dry_run=dry_run,
                                on_done=lambda e: renderer.note(f"{e.outcome}: {e.name}"))
    items = [e.to_dict() for e in result.executions]
    rows = [[i["name"], i["status"], i["stopped_at"] or "-", i["outcome"], i["error"] or "-"] for i in items]
    view = TableView(columns=["Execution", "Status", "Stopped", "Outcome", "Why"], rows=rows,
                     empty="no failed executions", keep=("Execution", "Outcome"), drop_first=("Stopped",))
    renderer.emit(result.to_dict(), view, records=items, partial=result.partial)
    if result.partial:
        exit_with(ExitCode.PARTIAL)


_REDRIVE_WHAT = "saga redrive restarts executions from the state that failed, which runs again"
_REDRIVE_HINT = "pass --yes to redrive, or --dry-run to list them"


@app.command("status")
def status_cmd(
    ctx: typer.Context,
    execution: str = typer.Argument(..., help="The execution ARN (eda saga run prints it).", metavar="EXECUTION"),
) -> None:
    """The saga outcome of a Step Functions execution: each step's status, the compensations.

    Exit 0 when SUCCEEDED or still RUNNING, 1 when COMPENSATED or FAILED.

    Example: eda saga status arn:aws:states:us-east-1:123456789012:execution:checkout:checkout-20250101T120000-a1b2c3
    """
    from eda_cli.core.saga.stepfunctions import execution_status

    app_ = ctx_of(ctx)
    _emit_result(app_, execution_status(app_.session.client("stepfunctions"), execution))


@app.command("history")
def history_cmd(
    ctx: typer.Context,
    execution: str = typer.Argument(..., help="The execution ARN (eda saga run prints it).", metavar="EXECUTION"),
) -> None:
    """Every history event of a saga's Step Functions execution, with the step it belongs to.

    Example: eda saga history arn:aws:states:us-east-1:123456789012:execution:checkout:checkout-20250101T120000-a1b2c3
    """
    from eda_cli.core.saga.stepfunctions import execution_history

    app_ = ctx_of(ctx)
    entries = execution_history(app_.session.client("stepfunctions"), execution)
    view = TableView(
        columns=["#", "Time", "Event", "State", "Error"],
        rows=[[e.id, _time(e.timestamp), e.type, e.state or "-",
               f"{e.error}: {' '.join((e.cause or '').split())[:70]}" if e.error else "-"] for e in entries],
        empty="no events",
    )
    app_.renderer.emit([e.to_dict() for e in entries], view)
