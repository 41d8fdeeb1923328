"""What the commands that run in several scopes (`--regions`, `--accounts`) share: running their one core call
in every scope, the Account and Region columns, and the exit code of a run some scopes of which failed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from eda_cli.errors import ExitCode

if TYPE_CHECKING:
    from eda_cli.aws.scopes import Scope, ScopedRun
    from eda_cli.aws.session import AwsSession
    from eda_cli.context import AppContext
    from eda_cli.core.problems import Problem

T = TypeVar("T")

#: The columns a multi-scope table starts with.
SCOPE_COLUMNS = ["Account", "Region"]


def run_in_scopes(app_: AppContext, work: Callable[[Scope, AwsSession], T]) -> ScopedRun[T]:
    """`work` in every scope the options name, at once (aws/scopes.py). When no scope answered and every
    failure has the same cause where eda runs (no credentials, an unreachable endpoint), that cause is
    raised: the error boundary says it in one line, exit 3."""
    from eda_cli.aws.errors import raise_if_environment_failure
    from eda_cli.aws.scopes import run_scoped

    run = run_scoped(app_.scopes(), work)
    raise_if_environment_failure((p.cause for p in run.problems), succeeded=len(run.results))
    return run


def scope_row(scope: Scope, row: Sequence[Any]) -> list[Any]:
    return [scope.account, scope.region, *row]


def all_problems(run: ScopedRun[Any], each: Callable[[Any], Sequence[Problem]]) -> list[Problem]:
    """The run's own problems (scopes not entered or failed), then each scope's, marked with its scope."""
    from eda_cli.aws.scopes import scoped_problems

    found = list(run.problems)
    for scope, result in run.results:
        found += scoped_problems(scope, each(result))
    return found


def scoped_exit(run: ScopedRun[Any], partial: bool) -> ExitCode:
    """3 when no scope answered (and scopes were planned or failed), 4 when some part is missing, else 0."""
    if not run.results and (run.problems or run.planned):
        return ExitCode.AWS
    return ExitCode.PARTIAL if partial else ExitCode.OK


def scopes_label(run: ScopedRun[Any]) -> str:
    """`3 scopes (2 accounts x 2 regions, 1 failed)`, for notes."""
    accounts = {s.account for s, _ in run.results}
    regions = {s.region for s, _ in run.results}
    failed = f", {run.failed} failed" if run.failed else ""
    return (f"{len(run.results)} scope(s) ({len(accounts)} account(s) x {len(regions)} region(s){failed})")
