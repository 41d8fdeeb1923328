"""`--help` of every command reads like click's and the AWS CLI's: plain upper-case metavars."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import typer

from eda_cli.app import app
from tests.fixtures.cli import Result

#: typer's own renderings (`{queue}`, `queue <str>`, `queues... <list[str]>`, `--max <int range>`).
TYPE_NAME = re.compile(r"<\s*(str|int|float|bool|path|file|dir|list|tuple|datetime|uuid)\b[^>]*>")


def _paths(command: Any, ctx: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command and group of the tree, the root first: (), ("dlq",), ("dlq", "inspect") ..."""
    yield path
    if hasattr(command, "list_commands"):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not getattr(sub, "hidden", False):
                yield from _paths(sub, sub.context_class(sub, parent=ctx, info_name=name), (*path, name))


def _all_paths() -> list[tuple[str, ...]]:
    root = typer.main.get_command(app)
    return list(_paths(root, root.context_class(root, info_name="eda")))


PATHS = _all_paths()


def _terms(help_text: str) -> list[str]:
    """The left column of the Arguments and Options lists: `-n, --max INTEGER RANGE`, `QUEUE...`."""
    terms: list[str] = []
    section = ""
    for line in help_text.splitlines():
        if line and not line.startswith(" "):
            section = line.rstrip(":")
        elif section in ("Arguments", "Options") and re.match(r"  \S", line):
            terms.append(re.split(r"\s{2,}", line.strip())[0])
    return terms


def test_the_walk_reaches_every_command() -> None:
    assert {(), ("dlq", "peek"), ("dlq", "inspect"), ("iam-policy",), ("redrive", "run"), ("completion",)} <= set(PATHS)
    assert len(PATHS) > 25


@pytest.mark.parametrize("path", PATHS, ids=[" ".join(p) or "eda" for p in PATHS])
def test_help_shows_plain_upper_case_metavars(path: tuple[str, ...], cli: Callable[..., Result]) -> None:
    result = cli(*path, "--help")
    assert result.code == 0, result.stderr
    text = result.stdout
    assert not TYPE_NAME.search(text), text
    usage = text.splitlines()[0]
    assert usage.startswith(f"Usage: eda {' '.join(path)}".rstrip()), usage
    assert not re.search(r"[{}<>]", usage), usage
    # every argument in the usage line is upper case: QUEUE, [QUEUE]..., TABLE|STREAM_ARN
    for word in usage.split()[len(path) + 2:]:
        assert word == word.upper(), usage
    for term in _terms(text):  # the Arguments and Options lists
        assert not re.search(r"[{}<>]", term), term


@pytest.mark.parametrize(
    ("path", "usage", "term"),
    [
        (("dlq", "peek"), "Usage: eda dlq peek [OPTIONS] QUEUE", "QUEUE"),
        (("dlq", "inspect"), "Usage: eda dlq inspect [OPTIONS] [QUEUE]...", "QUEUE..."),
        (("iam-policy",), "Usage: eda iam-policy [OPTIONS] [COMMAND]...", "COMMAND..."),
        (("redrive", "run"), "Usage: eda redrive run [OPTIONS] [DLQ]", "DLQ"),  # or --state-machine NAME
        (("completion",), "Usage: eda completion [OPTIONS] SHELL", "SHELL [bash|zsh|fish]"),
    ],
)
def test_the_reported_commands(path: tuple[str, ...], usage: str, term: str, cli: Callable[..., Result]) -> None:
    text = cli(*path, "--help").stdout
    assert text.splitlines()[0] == usage
    assert term in _terms(text)


def test_option_values_are_named_as_click_names_them(cli: Callable[..., Result]) -> None:
    terms = _terms(cli("dlq", "peek", "--help").stdout)
    assert "-n, --max INTEGER RANGE" in terms and "--group-by [error|violation]" in terms
    assert "--mode [auto|copy|native]" in _terms(cli("redrive", "run", "--help").stdout)
    assert "--profile TEXT" in _terms(cli("--help").stdout)


def test_a_missing_argument_is_named_by_its_metavar(cli: Callable[..., Result]) -> None:
    result = cli("dlq", "peek")
    assert result.code == 2 and "Missing argument 'QUEUE'" in result.stderr, result.stderr


# -- lazy loading: what `eda --help` lists comes from app.COMMANDS, checked against the modules --------


def test_the_command_list_of_eda_help_is_each_command_s_own_first_sentence() -> None:
    from eda_cli.app import COMMANDS, load_command

    for name, (_, _, sentence) in COMMANDS.items():
        assert load_command(name).get_short_help_str(10_000) == sentence, name


def _imported_by(*args: str) -> set[str]:
    """The modules a fresh interpreter has imported after `eda ARGS` (run in-process, output discarded)."""
    import subprocess
    import sys

    code = ("import contextlib, io, sys\n"
            "from eda_cli.app import run\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
            f"    run({list(args)!r})\n"
            "print('\\n'.join(sorted(sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_help_imports_only_the_command_asked_for_and_nothing_heavy() -> None:
    heavy = {"boto3", "botocore", "rich", "pydantic", "yaml", "tabulate"}
    top = _imported_by("--help")
    assert not {m for m in top if m.startswith("eda_cli.commands.")}, "eda --help imported a command module"
    assert not heavy & {m.split(".")[0] for m in top}
    inspect = _imported_by("dlq", "inspect", "--help")
    assert {m for m in inspect if m.startswith("eda_cli.commands.")} <= {"eda_cli.commands", "eda_cli.commands.dlq",
                                                                         "eda_cli.commands._common",
                                                                         "eda_cli.commands._redact"}
    # typer 0.29 would coerce the root's options (and each --help flag) through pydantic: not here
    assert not heavy & {m.split(".")[0] for m in inspect}
