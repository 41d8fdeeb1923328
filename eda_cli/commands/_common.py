"""Small helpers every command module shares."""

from __future__ import annotations

from typing import Any

import typer

from eda_cli.context import AppContext, app_context
from eda_cli.errors import ExitCode


def ctx_of(ctx: typer.Context) -> AppContext:
    return app_context(ctx)


def exit_with(code: ExitCode | int) -> None:
    if int(code) != 0:
        raise typer.Exit(int(code))


def humanize_seconds(value: float | int | None) -> str:
    if value is None:
        return "-"
    seconds = int(value)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def report_problems(app: AppContext, problems: Any) -> None:
    for problem in problems:
        app.renderer.warn(f"could not read {problem.resource}: {problem.error}")
