"""`eda audit` on a terminal at 80 and 200 columns: a fix command is printed whole, copyable as it is,
and nothing of a finding wraps back to column 0."""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable
from typing import Any

import pytest

from eda_cli.render import Renderer
from tests.fixtures.cli import Result


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _renderer(width: int) -> tuple[Renderer, _Terminal]:
    from rich.console import Console

    out = _Terminal()
    renderer = Renderer(output="table", color=False, stdout=out)
    renderer._console = Console(file=out, width=width, no_color=True, highlight=False)
    return renderer, out


def _audit_on_a_terminal(eda_ro: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, width: int) -> str:
    """`eda --no-color audit` with stdout a terminal `width` columns wide (rich reads COLUMNS)."""
    out = _Terminal()
    monkeypatch.setenv("COLUMNS", str(width))
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stdout", out)
        result = eda_ro("--no-color", "audit")
    assert result.code == 1, result.stderr  # the sandbox fails the audit on purpose
    return _plain(out.getvalue())


@pytest.mark.parametrize("width", [80, 200])
def test_fix_commands_are_whole_and_nothing_wraps_to_column_0(
    eda_ro: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    findings: list[dict[str, Any]] = eda_ro("-o", "json", "audit").json()["findings"]
    commands = [f["fix"] for f in findings if f["fix"].startswith("aws ")]
    assert any(len(c) > width - 14 for c in commands)  # the sandbox has commands too long for the line
    text = _audit_on_a_terminal(eda_ro, monkeypatch, width)
    lines = text.splitlines()
    verdict = next(i for i, line in enumerate(lines) if line.startswith(("FAIL ", "PASS ")))
    for line in lines[:verdict]:
        # A finding starts at column 0 with its severity; all the rest of it is indented.
        assert line == "" or line.startswith(("ERROR    ", "WARNING  ", "INFO     ", " ")), (line, text)
    for command in commands:
        # On one line, after nothing but the indentation or `fix: `: copying it gets the command.
        [line] = [line for line in lines if command in line]
        assert line.strip() in (command, f"fix: {command}"), line
    for f in findings:
        if f["fix"] in commands:
            continue
        # Prose wraps at spaces, under its first word; joined again it is the fix. (Several fixes may start
        # alike, "fix: triage with" when a long backquoted command moves to the next line: the one whose
        # lines join into this fix is this fix's.)
        def block(start: int) -> tuple[int, str]:
            end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("         from: "))
            return end, " ".join(line.strip() for line in lines[start:end])

        starts = [i for i, line in enumerate(lines) if line.startswith("         fix: ")
                  and f["fix"].startswith(line[14:]) and block(i)[1] == f"fix: {f['fix']}"]
        assert starts, (f["fix"], text)
        end = block(starts[0])[0]
        assert all(line.startswith(" " * 14) for line in lines[starts[0] + 1:end])
    for line in lines[:verdict]:
        if not any(command in line for command in commands):
            assert len(line) <= width, line  # only a command is left for the terminal to soft-wrap


def test_prose_wraps_under_its_first_word_and_never_inside_a_backquoted_command() -> None:
    renderer, out = _renderer(60)
    fix = "triage with `eda dlq peek payments-settlement-dlq --group-by error`, fix the consumer, then redrive"
    renderer.indented(fix, 9, "fix: ")
    assert _plain(out.getvalue()).splitlines() == [
        "         fix: triage with",
        "              `eda dlq peek payments-settlement-dlq --group-by error`,",
        "              fix the consumer, then redrive",
    ]


def test_a_command_that_fits_stays_beside_its_label_else_goes_whole_under_it() -> None:
    command = "aws sqs set-queue-attributes --queue-url https://sqs.us-east-1.amazonaws.com/1/payments"
    for width, expected in [(120, [f"         fix: {command}"]), (80, ["         fix:", f"              {command}"])]:
        renderer, out = _renderer(width)
        renderer.indented(command, 9, "fix: ", command=True)
        assert _plain(out.getvalue()).splitlines() == expected


def test_a_header_in_markup_wraps_with_its_spacing_and_a_hanging_indent() -> None:
    renderer, out = _renderer(50)
    renderer.indented("[yellow]WARNING [/] [bold]events-target-retry-policy[/]  orders-bus/cancelled-orders -> "
                      "cancellations", markup=True, hang=9)
    assert _plain(out.getvalue()).splitlines() == [
        "WARNING  events-target-retry-policy",
        "         orders-bus/cancelled-orders ->",
        "         cancellations",
    ]


def test_off_a_terminal_each_part_is_one_line() -> None:
    out = io.StringIO()
    renderer = Renderer(output="table", color=False, stdout=out)
    renderer.indented("[bold]x[/] " + "word " * 40, markup=True, hang=9)
    renderer.indented("aws " + "--flag value " * 20, 9, "fix: ", command=True)
    lines = out.getvalue().splitlines()
    assert lines == ["x " + "word " * 40, "         fix: aws " + "--flag value " * 20]
