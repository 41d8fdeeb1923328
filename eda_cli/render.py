"""Output: table | json | jsonl | yaml | csv. Data goes to stdout; diagnostics go to stderr.

Commands hand this module a JSON-ready payload (from their typed result's `to_dict()`) and,
for people, a human view. The machine formats never depend on the terminal; the table
format is rich on a terminal and plain text (tabulate) when stdout is a pipe or a file.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

FORMATS = ("table", "json", "jsonl", "yaml", "csv")


@dataclass
class TableView:
    """A table for people: column headers and rows of plain values."""

    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    title: str | None = None
    #: Per-column rich styles (by header); ignored in plain text.
    styles: dict[str, str] = field(default_factory=dict)
    empty: str = "(none)"
    #: On a terminal, columns never cut or wrapped: what names a row (default: the first column), ids, times.
    keep: tuple[str, ...] = ()
    #: On a terminal narrower than the table, the columns left out, in this order, before anything is cut.
    drop_first: tuple[str, ...] = ()


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value) or "-"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def _fitted_table(view: TableView, width: int) -> Any:
    """A rich table for a terminal `width` columns wide: the `keep` columns are never cut (rich would
    otherwise shorten a queue name to `paymen…`); the `drop_first` columns go, in order, while the table
    is too wide, and a caption says so; what is left wraps (folds) rather than being cut."""
    from rich.table import Table

    columns = list(view.columns)
    rows = [[_cell(v) for v in row] for row in view.rows]
    keep = set(view.keep or columns[:1])

    def natural(index: int) -> int:
        return max([len(columns[index])] + [len(row[index]) for row in rows])

    def needed() -> int:  # rich's box: "│ " before each column, " " after it, and a closing "│"
        return sum(natural(i) + 3 for i in range(len(columns))) + 1

    dropped = []
    for name in view.drop_first:
        if needed() <= width:
            break
        if name in columns:
            index = columns.index(name)
            columns.pop(index)
            for row in rows:
                row.pop(index)
            dropped.append(name)
    caption = (f"left out to fit {width} columns: {', '.join(dropped)} (a wider terminal, or -o json, shows them)"
               if dropped else None)
    table = Table(title=view.title, title_justify="left", header_style="bold", caption=caption,
                  caption_justify="left")
    for index, column in enumerate(columns):
        if column in keep:
            table.add_column(column, style=view.styles.get(column), no_wrap=True, min_width=natural(index))
        else:
            table.add_column(column, style=view.styles.get(column), overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def envelope(payload: Any, problems: Sequence[Any] = (), partial: bool | None = None) -> dict[str, Any]:
    """The one shape of every JSON and YAML result: a list result becomes `{"items": [...]}`, an object
    keeps its keys; both get `partial` and `problems` (`[{"service", "resource", "error"}]`). `partial` is
    whether there are problems, unless the result says otherwise (a redrive that could not move every
    message lists those in its own fields)."""
    body = {"items": payload} if isinstance(payload, list) else dict(payload)
    body["partial"] = bool(problems) if partial is None else partial
    body["problems"] = [p.to_dict() for p in problems]
    return body


def to_json(payload: Any, indent: int | None = 2) -> str:
    return json.dumps(payload, indent=indent, default=str, ensure_ascii=False)


class Renderer:
    """Writes a command's result in the chosen format, and diagnostics to stderr."""

    def __init__(
        self,
        output: str = "table",
        color: bool = True,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
    ) -> None:
        self.output = output
        self.color = color
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr
        self._console: Console | None = None
        self._err_console: Console | None = None

    # -- consoles -------------------------------------------------------------------------------

    @property
    def is_terminal(self) -> bool:
        isatty = getattr(self.stdout, "isatty", None)
        return bool(isatty and isatty())

    @property
    def stderr_is_terminal(self) -> bool:
        isatty = getattr(self.stderr, "isatty", None)
        return bool(isatty and isatty())

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(file=self.stdout, no_color=not self.color, highlight=False,
                                    soft_wrap=not self.is_terminal)
        return self._console

    @property
    def err_console(self) -> Console:
        if self._err_console is None:
            from rich.console import Console

            # Piped stderr (CI logs) is not wrapped at 80 columns: one diagnostic, one line.
            self._err_console = Console(file=self.stderr, no_color=not self.color, highlight=False,
                                        soft_wrap=not self.stderr_is_terminal)
        return self._err_console

    @property
    def human(self) -> bool:
        return self.output == "table"

    # -- diagnostics (stderr) -------------------------------------------------------------------

    @property
    def plain_stderr(self) -> bool:
        """Diagnostics go to a pipe or a file (CI logs, `2>file`): written as they are. rich would add nothing there
        (no color, no wrapping) but its import, about 30 ms of a quick command's start, and its emoji codes
        (an `:id:` inside a message became an emoji). FORCE_COLOR or TTY_COMPATIBLE ask rich to style anyway."""
        return not self.stderr_is_terminal and not (os.environ.get("FORCE_COLOR") or os.environ.get("TTY_COMPATIBLE"))

    def _err_line(self, text: str, style: str, soft_wrap: bool | None = None) -> None:
        if self.plain_stderr:
            self.stderr.write(text + "\n")
            self.stderr.flush()
        else:
            self.err_console.print(text, markup=False, style=style if self.color else None, soft_wrap=soft_wrap)

    def note(self, message: str) -> None:
        """A diagnostic line on stderr, never broken into lines (ARNs and commands in it stay copyable)."""
        self._err_line(message, "dim", soft_wrap=True)

    def warn(self, message: str) -> None:
        self._err_line(f"warning: {message}", "yellow")

    def warn_problems(self, problems: Sequence[Any]) -> None:
        """The one way a partial result is told on stderr: a line per `core.problems.Problem`. `emit` does
        this itself; call it only for output that does not go through `emit` (an artifact, a live view)."""
        for problem in problems:
            self.warn(str(problem))

    # -- data (stdout) --------------------------------------------------------------------------

    def emit(self, payload: Any, human: Callable[[Renderer], None] | TableView | None = None,
             records: Sequence[Any] | None = None, columns: Sequence[str] | None = None,
             problems: Sequence[Any] = (), partial: bool | None = None) -> None:
        """Write a command's result: `payload` in the chosen machine format, or `human` for the table format.

        Every result is partial or not, one way (see `envelope`): `problems` (`core.problems.Problem`s,
        what could not be read) are warned on stderr, one line each, and go into the JSON envelope.
        `records` are what `jsonl` prints one a line and `csv` one a row when that is not `payload`
        itself (a trace's hits, not the whole result as one row); `columns` is the csv header, so that
        no records still make a header and records missing a key keep their columns in place.
        """
        self.warn_problems(problems)
        if self.output in ("json", "yaml"):
            self.document(envelope(payload, problems, partial))
        elif self.output == "jsonl":
            items = records if records is not None else payload if isinstance(payload, list) else [payload]
            lines = [to_json(item, indent=None) for item in items]
            if problems or partial:
                lines.append(to_json({"partial": True, "problems": [p.to_dict() for p in problems]}, indent=None))
            self._write("".join(line + "\n" for line in lines))
        elif self.output == "csv":
            self._write(to_csv(list(records) if records is not None else payload, columns))
        elif isinstance(human, TableView):
            self.table(human)
        elif human is not None:
            human(self)
        else:
            self._write(to_json(payload) + "\n")

    def document(self, payload: Any, human: Callable[[Renderer], None] | None = None) -> None:
        """Write `payload` exactly as it is: for artifacts that another tool reads (an IAM policy, a
        state machine definition), which no envelope may change. JSON unless the output is yaml."""
        if self.output == "yaml":
            import yaml

            self._write(yaml.safe_dump(_plain(payload), sort_keys=False, allow_unicode=True))
        elif self.output == "table" and human is not None:
            human(self)
        else:
            self._write(to_json(payload) + "\n")

    @contextmanager
    def live(self) -> Iterator[Callable[..., None]]:
        """A view refreshed again and again (`--watch`): yields `show(payload, view, problems=(), stamp=None)`.
        For people on a terminal, the table is redrawn in place; for people elsewhere, each refresh is
        printed after the last; machine formats print one line per refresh (jsonl: the envelope of
        `payload`, with the `stamp` keys first)."""
        if self.human and self.is_terminal:
            from rich.live import Live

            with Live(console=self.console, auto_refresh=False) as live:
                yield lambda payload, view, problems=(), stamp=None: live.update(
                    _fitted_table(view, self.console.width), refresh=True)
            return

        def show(payload: Any, view: TableView, problems: Sequence[Any] = (),
                 stamp: dict[str, Any] | None = None) -> None:
            if self.human:
                self.warn_problems(problems)
                self.table(view)
            else:
                self.emit_line({**(stamp or {}), **envelope(payload, problems)})

        yield show

    def emit_line(self, item: Any) -> None:
        """One streamed record (jsonl), flushed at once so `| jq` sees it immediately."""
        self._write(to_json(item, indent=None) + "\n")

    def table(self, view: TableView) -> None:
        if self.is_terminal:
            if not view.rows:
                self.console.print(f"{view.title + ': ' if view.title else ''}{view.empty}")
                return
            self.console.print(_fitted_table(view, self.console.width))
            return
        from tabulate import tabulate

        if view.title:
            self._write(view.title + "\n")
        if not view.rows:
            self._write(view.empty + "\n")
        else:
            self._write(tabulate([[_cell(v) for v in row] for row in view.rows],
                                 headers=list(view.columns), tablefmt="simple", disable_numparse=True) + "\n")

    def text(self, message: str = "", style: str | None = None) -> None:
        if self.is_terminal:
            self.console.print(message, style=style if self.color else None, markup=False)
        else:
            self._write(message + "\n")

    def indented(self, text: str, indent: int = 0, label: str = "", style: str | None = None,
                 command: bool = False, markup: bool = False, hang: int | None = None) -> None:
        """`text` after `indent` spaces and `label` (e.g. `fix: `), for people; `markup`: rich markup.

        On a terminal too narrow for the line, prose wraps at spaces with its continuation lines `hang`
        columns in (default: under its first word), never back to column 0, and never inside a word or a
        `backquoted` command. A `command` (something to copy and run) is never wrapped or cut: beside its
        label when it fits, else on its own line under the label, whole, for the terminal to soft-wrap,
        so that copying it gets exactly the command. Off a terminal: one line.
        """
        first = " " * indent + label
        if not self.is_terminal:
            if markup:
                from rich.text import Text

                text = Text.from_markup(text).plain
            self._write(first + text + "\n")
            return
        from rich.text import Text

        body = Text.from_markup(text) if markup else Text(text)
        width = self.console.width
        under = " " * (Text(first).cell_len if hang is None else hang)
        lines: list[Text]
        if command:
            fits = not label or Text(first).cell_len + body.cell_len <= width
            lines = [Text(first) + body] if fits else [Text(first.rstrip()), Text(under) + body]
        else:
            lines = _wrap(body, width, first, under)
        for line in lines:
            self.console.print(line, style=style if self.color else None, highlight=False, soft_wrap=True)

    def markup(self, message: str) -> None:
        """Rich markup on a terminal; the same text without markup elsewhere."""
        if self.is_terminal:
            self.console.print(message)
        else:
            from rich.text import Text

            self._write(Text.from_markup(message).plain + "\n")

    def raw(self, text: str) -> None:
        """Text written as it is (a generated file: YAML, Mermaid, DOT, JUnit XML), flushed."""
        self._write(text)

    def _write(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()


_WORD = re.compile(r"(?:`[^`]*`|[^\s`]|`)+")  # a word, with any `backquoted span` in it whole


def _wrap(text: Text, width: int, first: str, hang: str) -> list[Text]:
    """Greedy wrap at spaces, styles kept: the first line starts with `first`, the others with `hang`.
    Words on one line keep the spaces that were between them; a word longer than the room left stays
    whole on its own line (the terminal soft-wraps it)."""
    from rich.text import Text

    lines = [Text(first)]
    end = None  # where the last word placed ended, in `text`
    for match in _WORD.finditer(text.plain):
        word = text[match.start():match.end()]
        gap = text[end:match.start()] if end is not None else Text()
        if "\n" in gap.plain or "\t" in gap.plain:
            gap = Text(" ")  # a newline in the text would start a line at column 0
        if end is not None and lines[-1].cell_len + gap.cell_len + word.cell_len > width:
            lines.append(Text(hang) + word)
        else:
            lines[-1] += gap + word
        end = match.end()
    return lines


def _plain(payload: Any) -> Any:
    """JSON round trip, so YAML sees only plain types (no tuples, datetimes or dataclasses)."""
    return json.loads(to_json(payload, indent=None))


def to_csv(payload: Any, columns: Sequence[str] | None = None) -> str:
    """One row per record of `payload` (a list, else the one record); nested values as compact JSON.
    The header is `columns` followed by any other key the records have, in order of appearance."""
    import csv
    import io

    rows = payload if isinstance(payload, list) else [payload]
    rows = [r if isinstance(r, dict) else {"value": r} for r in rows]
    header = list(columns or ())
    for row in rows:
        for key in row:
            if key not in header:
                header.append(key)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_cell(row.get(c)) for c in header])
    return buffer.getvalue()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
