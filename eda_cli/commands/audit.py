"""`eda audit`: check the pipeline against the production rules, for people and for CI."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

import typer

from eda_cli.commands._common import ctx_of, exit_with, region_and_account
from eda_cli.commands._pipeline import config_option, load
from eda_cli.errors import ExitCode, UsageError
from eda_cli.render import TableView, envelope

if TYPE_CHECKING:
    from eda_cli.aws.scopes import Scope
    from eda_cli.aws.session import AwsSession
    from eda_cli.context import AppContext
    from eda_cli.core.audit import AuditReport, DlqSamples
    from eda_cli.core.pipeline import Pipeline
    from eda_cli.render import Renderer


class FailOn(str, Enum):
    error = "error"
    warning = "warning"


class AuditFormat(str, Enum):
    table = "table"
    json = "json"
    junit = "junit"
    sarif = "sarif"


def audit(
    ctx: typer.Context,
    config: str | None = config_option(),
    fail_on: FailOn = typer.Option(
        FailOn.error, "--fail-on", case_sensitive=False, help="Exit 1 when a finding is at or above this severity."
    ),
    format_: AuditFormat | None = typer.Option(
        None, "--format", "-f", case_sensitive=False,
        help="table | json | junit | sarif (for CI). Takes precedence over --output.",
    ),
    only: list[str] = typer.Option(None, "--only", help="Run only this rule (id or glob, e.g. 'sqs-*'). Repeatable.",
                                   metavar="RULE"),
    skip: list[str] = typer.Option(None, "--skip", help="Skip this rule (id or glob). Repeatable.", metavar="RULE"),
    list_rules: bool = typer.Option(False, "--list-rules", help="List the rules and exit."),
    allow_empty: bool = typer.Option(
        False, "--allow-empty", help="Exit 0, not 5, when there is nothing to audit (no resource a rule checks)."
    ),
    sample_dlqs: int | None = typer.Option(
        None, "--sample-dlqs", min=1, max=1000, metavar="N",
        help="Also read up to N messages of each DLQ behind an EventBridge rule target, as `dlq peek` does "
        "(none consumed; sqs:ReceiveMessage, sqs:ChangeMessageVisibility), for dlq-oversized-events.",
    ),
) -> None:
    """Check the pipeline against the rules teams forget: a DLQ on every queue, maxReceiveCount 3-5,
    an alarm on every DLQ, DLQ retention, queue policies that block SNS, EventBridge target DLQs and
    retry policies, stream and TTL settings, Lambda mapping failure handling, Step Functions
    Retry/Catch, type and logging.

    Each finding: rule, severity, resource, what is wrong, how to fix it, and where the rule comes
    from. With --sample-dlqs N, also events over or near EventBridge's 256 KB limit in the DLQs of rule
    targets (N messages read from each). Exit 1 when a finding is at or above --fail-on (default
    error), 4 when discovery was partial, 5 when there was nothing to audit (unless --allow-empty),
    else 0. Read-only: --sample-dlqs receives messages but deletes none and makes each visible again
    at once.

    Example: eda audit --format junit > audit.xml     # CI: the job fails on any error finding

    Example: eda audit --sample-dlqs 20 --only dlq-oversized-events
    """
    from eda_cli import __version__
    from eda_cli.core.audit import UnknownRule, rules, select_rules, to_junit, to_sarif
    from eda_cli.core.audit import audit as run_audit

    app_ = ctx_of(ctx)
    renderer = app_.renderer
    if list_rules:
        infos = rules()
        renderer.emit([r.to_dict() for r in infos], TableView(
            columns=["Rule", "Severity", "Checks", "Source"],
            rows=[[r.id, r.severity, r.title, r.source] for r in infos]))
        return
    try:  # unknown rule ids fail (exit 2) before any AWS call
        sampling = any(r.id == _SAMPLED_RULE for r in select_rules(only or (), skip or ()))
    except UnknownRule as exc:
        raise UsageError(f"--{exc.selector} {exc}", hint=exc.hint) from None
    if sample_dlqs is None and only and sampling:
        renderer.note(f"{_SAMPLED_RULE} checks nothing without --sample-dlqs N (it reads the messages of rule "
                      "targets' DLQs)")
    per_dlq = sample_dlqs if sampling else None  # messages are read only for a rule that uses them
    none_answered = False
    if app_.multi_scope:
        report, none_answered = _audit_scopes(app_, config, only or (), skip or (), per_dlq)
        where = f"{len(report.scopes)} scope(s)"
    else:
        loaded = load(app_, config)
        samples = _sample(app_.session, loaded.pipeline, per_dlq)
        report = run_audit(loaded.pipeline, loaded.spec, only=only or (), skip=skip or (), missing=loaded.missing,
                           samples=samples)
        where = ""

    # A CI gate that checked nothing (wrong region or account, an empty pipeline file) must not pass.
    empty = report.empty and not report.partial
    nothing = f"nothing to audit in {where or region_and_account(app_)}" if empty else ""
    fmt = format_.value if format_ is not None else ("table" if renderer.human else renderer.output)
    problems = report.problems
    if fmt == "junit":
        renderer.warn_problems(problems)
        renderer.raw(to_junit(report, fail_on.value))
    elif fmt == "sarif":
        renderer.warn_problems(problems)
        renderer.document(to_sarif(report, __version__))
    elif fmt == "json" and format_ is not None:
        renderer.warn_problems(problems)
        renderer.document(envelope(report.to_dict(), problems))
    elif fmt in ("jsonl", "csv"):
        renderer.emit([f.to_dict() for f in report.findings], problems=problems)
    elif fmt == "table":
        renderer.warn_problems(problems)
        _print_report(renderer, report, fail_on.value, nothing, allow_empty)
    else:
        renderer.emit(report.to_dict(), problems=problems)
    if empty and fmt != "table":
        renderer.note(nothing + ("" if allow_empty else f"; {_ALLOW}"))

    if report.failed(fail_on.value):
        exit_with(ExitCode.FINDING)
    if none_answered:
        exit_with(ExitCode.AWS)
    if report.partial:
        exit_with(ExitCode.PARTIAL)
    exit_with(ExitCode.EMPTY if empty and not allow_empty else ExitCode.OK)


_ALLOW = "pass --allow-empty if that is expected"
#: The rule that reads what --sample-dlqs samples.
_SAMPLED_RULE = "dlq-oversized-events"


def _sample(session: AwsSession, pipeline: Pipeline, per_dlq: int | None) -> DlqSamples | None:
    """--sample-dlqs: the sizes of up to `per_dlq` messages of each rule target's DLQ (none consumed); None without
    it (or when no selected rule uses them)."""
    from eda_cli.core.audit import rule_target_dlqs, sample_dlqs

    if per_dlq is None:
        return None
    return sample_dlqs(session.client("sqs"), rule_target_dlqs(pipeline), per_dlq)


def _audit_scopes(app_: AppContext, config: str | None, only: list[str] | tuple[str, ...],
                  skip: list[str] | tuple[str, ...], per_dlq: int | None = None) -> tuple[AuditReport, bool]:
    """The audit in every scope at once, as one report (each finding and check marked with its scope), and
    whether no scope answered. The pipeline file, if any, narrows each scope's discovery alike; its warnings
    are told once."""
    from eda_cli.commands._pipeline import config_errors
    from eda_cli.commands._scoped import run_in_scopes
    from eda_cli.core.audit import audit as run_audit
    from eda_cli.core.audit import merge_scoped, select_rules
    from eda_cli.core.pipeline import Loaded, load_pipeline, open_pipeline_file

    def work(scope: Scope, session: AwsSession) -> tuple[Loaded, AuditReport]:
        loaded = load_pipeline(session.client, session.region, config)
        samples = _sample(session, loaded.pipeline, per_dlq)
        return loaded, run_audit(loaded.pipeline, loaded.spec, only=only, skip=skip, missing=loaded.missing,
                                 samples=samples)

    plan = app_.scopes()
    with config_errors():  # a pipeline file that cannot be used is exit 2 once, not a failure of every scope
        open_pipeline_file(config, plan.scopes[0].region if plan.scopes else "us-east-1")
    run = run_in_scopes(app_, work)
    warned: set[str] = set()
    for _, (loaded, _) in run.results:
        for warning in loaded.warnings:
            if warning not in warned:
                warned.add(warning)
                app_.renderer.warn(warning)
    report = merge_scoped([(scope.account, scope.region, answer) for scope, (_, answer) in run.results],
                          select_rules(only, skip), run.problems)
    return report, not run.results


_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
_INDENT = 9  # under the rule id, past "WARNING  "


def _is_command(fix: str) -> bool:
    """A fix that is a shell command to copy and run, never to be wrapped (the others are prose)."""
    return fix.startswith(("aws ", "eda "))


def _print_report(renderer: Renderer, report: AuditReport, fail_on: str, nothing: str = "",
                  allow_empty: bool = False) -> None:
    if nothing:
        verdict, after = ("PASS", " (--allow-empty)") if allow_empty else ("EMPTY", "")
        renderer.markup(f"[bold]{verdict}[/]{after}: {_esc(nothing)} (0 checks over {report.resources} resources, "
                        f"{len(report.rules)} rules)" + ("" if allow_empty else f"; {_ALLOW}"))
        return
    findings = report.findings
    for f in findings:
        line = f" ({report.config_path}:{f.line})" if f.line and report.config_path else ""
        scope = f"  [{f.scope}]" if f.scope else ""
        renderer.indented(f"[{_STYLE[f.severity]}]{f.severity.upper():<8}[/] [bold]{_esc(f.rule)}[/]  "
                          f"{_esc(f.resource)}{_esc(line)}{_esc(scope)}", markup=True, hang=_INDENT)
        renderer.indented(f.message, _INDENT)
        renderer.indented(f.fix, _INDENT, "fix: ", style="green", command=_is_command(f.fix))
        renderer.indented(f.source, _INDENT, "from: ", style="dim")
    counts = report.counts()
    passed = sum(1 for c in report.checks if c.passed)
    verdict = "FAIL" if report.failed(fail_on) else "PASS"
    if findings:
        renderer.text("")
    renderer.markup(
        f"[bold]{verdict}[/] (--fail-on {fail_on}): {counts['error']} error(s), {counts['warning']} warning(s), "
        f"{counts['info']} info; {passed} of {len(report.checks)} checks passed over {report.resources} resources, "
        f"{len(report.rules)} rules" + (f", {len(report.scopes)} scopes" if report.scopes else "")
    )


def _esc(text: str) -> str:
    from rich.markup import escape

    return escape(text)
