"""Tables on a terminal at 80 and 200 columns: the column that names a row is never cut."""

from __future__ import annotations

import io
import re

import pytest

from eda_cli.render import Renderer, TableView


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def render(view: TableView, width: int) -> str:
    from rich.console import Console

    out = _Terminal()
    renderer = Renderer(output="table", color=False, stdout=out)
    renderer._console = Console(file=out, width=width, no_color=True, highlight=False)
    renderer.table(view)
    return re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue())  # bold headers: styles, not width


def inspect_view() -> TableView:
    from eda_cli.commands.dlq import _inspect_view
    from eda_cli.core.dlq import InspectResult

    return _inspect_view(InspectResult(reports=(), problems=()), None)


NAMES = ["payments-settlement-reconciliation-dlq", "notify-lambda-dlq", "inventory-reservations-eu-west-dlq"]


def dlq_table() -> TableView:
    columns = ["DLQ", "Visible", "In flight", "Delayed", "Oldest", "Sources (maxReceiveCount)", "Depth alarm",
               "Retention"]
    rows = [[name, 4, 0, 0, "3h", [f"{name.removesuffix('-dlq')} (3)"], f"{name}-not-empty", "14d ok"]
            for name in NAMES]
    view = inspect_view()
    return TableView(columns=columns, rows=rows, keep=view.keep, drop_first=view.drop_first)


@pytest.mark.parametrize("width", [80, 200])
def test_queue_names_are_never_cut(width: int) -> None:
    text = render(dlq_table(), width)
    for name in NAMES:
        assert name in text, text  # whole, on one line
    assert max(len(line) for line in text.splitlines()) <= width
    if width == 200:
        assert "Retention" in text and "left out" not in text  # room for everything
    else:
        assert "left out to fit 80 columns: Retention" in text


def test_ids_and_times_of_the_redrive_sample_stay_whole_at_80() -> None:
    message_id = "de871390-30ae-44a7-ab85-a35db05636c0"
    sent = "2026-11-28T21:02:54.626Z"
    view = TableView(columns=["Message", "Target", "Group", "Sent", "Body"],
                     rows=[[message_id, "payments", None, sent, '{"Message":"{\\"orderId\\": \\"o-1006\\"}"}' * 3]],
                     keep=("Message", "Sent"), drop_first=("Group", "Target"))
    text = render(view, 80)
    assert message_id in text and sent in text, text
    assert max(len(line) for line in text.splitlines()) <= 80


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_diagnostics_to_a_pipe_are_written_as_they_are_without_rich() -> None:
    """stderr not a terminal: note and warn write the line itself (no emoji codes, no wrapping) and never import
    rich (~30 ms of a command's start); on a terminal they go through rich as before."""
    import subprocess
    import sys

    script = ("import io, sys; from eda_cli.render import Renderer; err = io.StringIO(); r = Renderer(stderr=err); "
              "r.note('queue:id:1 ' + 'x' * 200); r.warn('a :thumbs_up: b'); "
              "print('rich' in sys.modules); print(err.getvalue(), end='')")
    env = {k: v for k, v in __import__("os").environ.items() if k not in {"FORCE_COLOR", "TTY_COMPATIBLE"}}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True).stdout
    assert out.splitlines() == ["False", "queue:id:1 " + "x" * 200, "warning: a :thumbs_up: b"]

    terminal = _Terminal()
    Renderer(stderr=terminal, color=False).warn("on a terminal")
    assert terminal.getvalue() == "warning: on a terminal\n"
