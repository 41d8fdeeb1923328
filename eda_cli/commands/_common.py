"""Small helpers every command module shares."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from eda_cli.context import AppContext, app_context
from eda_cli.errors import ExitCode

if TYPE_CHECKING:
    from eda_cli.core.patterns import CompiledPattern


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


def region_and_account(app: AppContext) -> str:
    """`eu-west-1/123456789012`, for messages about what a command looked at (the account from STS
    GetCallerIdentity; the region alone when STS does not answer)."""
    region = app.session.region
    try:
        account = app.session.account()
    except Exception:  # a label for a message: never the reason a command fails
        return region
    return f"{region}/{account}"


def require_confirmation(yes: bool, what: str, hint: str) -> None:
    """Before any AWS call of a command that asks first: without a terminal to ask on, --yes is required
    (exit 2, with `what` the command changes and a `hint`)."""
    import sys

    from eda_cli.errors import UsageError

    if yes:
        return
    stdin = sys.stdin
    if stdin is None or not stdin.isatty():
        raise UsageError(f"{what}, and asks for confirmation, but there is no terminal to ask on", hint=hint)


def confirm(app: AppContext, question: str, yes: bool, *, what: str, hint: str) -> None:
    """The one confirmation: --yes skips it; without a terminal it is an error (`require_confirmation`);
    on a terminal the question goes to stderr, and declining changes nothing and exits 130."""
    require_confirmation(yes, what, hint)
    if yes:
        return
    if not typer.confirm(question, default=False, err=True):
        app.renderer.note("declined: nothing was changed")
        raise typer.Exit(int(ExitCode.INTERRUPTED))


def read_since(text: str, now: float, option: str = "--since") -> float:
    """A --since option: an age (30m, 2h, 1d, 1h30m) or an ISO 8601 time -> epoch seconds; a time in the future
    or anything else is exit 2."""
    from eda_cli.core.streams import parse_since
    from eda_cli.errors import UsageError

    try:
        since = parse_since(text, now)
    except UsageError:
        raise UsageError(f"{option}: cannot read {text!r} as a time",
                         hint="use an age (30m, 2h, 1d, 1h30m) or an ISO 8601 time (2024-05-01T12:00:00Z)") from None
    if since > now:
        raise UsageError(f"{option} {text} is in the future")
    return since


def read_file(path: str, what: str) -> str:
    """A text file an option names ('-': standard input); unreadable or not UTF-8 -> exit 2."""
    import sys
    from pathlib import Path

    from eda_cli.errors import UsageError

    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).expanduser().read_text(encoding="utf-8")
    except IsADirectoryError:
        raise UsageError(f"{what} {path} is a directory, not a file") from None
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{what} {path} is not UTF-8 text") from None


def read_argument(value: str, option: str) -> str:
    """An option's value, one convention for every command: @FILE (or file://FILE, as the AWS CLI spells
    it) reads a file, '-' reads standard input, anything else is the value itself."""
    from eda_cli.errors import UsageError

    if value == "-":
        return read_file("-", option)
    for prefix in ("@", "file://"):
        if value.startswith(prefix):
            path = value[len(prefix):]
            if not path:
                raise UsageError(f"{option} {value}: name a file, e.g. {prefix}pattern.json")
            return read_file(path, option)
    return value


def read_pattern(value: str, option: str, dialect: str, hint: str | None = None) -> tuple[str, CompiledPattern]:
    """A pattern option (`--filter`, `--pattern`, `--filter-policy`): its text, read as `read_argument`
    reads any option, and the pattern compiled in `dialect`; not JSON, not an object or not a valid
    pattern -> exit 2 (`option: why`), before any AWS call."""
    from eda_cli.core.patterns import PatternError, compile_pattern
    from eda_cli.errors import UsageError

    text = read_argument(value, option)
    try:
        return text, compile_pattern(text, dialect=dialect)
    except PatternError as exc:
        raise UsageError(f"{option}: {exc}", hint=hint) from None

