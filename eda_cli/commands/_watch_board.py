"""The full-screen board of `eda watch`: drawing a snapshot with rich, reading keys from the terminal, and the
loop that ties refreshes, keys and peeks together (each in its own thread, so the board never waits on AWS)."""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from eda_cli.commands.watch import headline, sparkline, views
from eda_cli.errors import ExitCode

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from eda_cli.core.watch import DlqRow, ScopesReader, Snapshot, WatchReader
    from eda_cli.render import Renderer

HELP = "q quit   / filter   up/down select   p peek the selected DLQ   r refresh now   esc close"
LEGEND = "!! alarm or grew   ! holds messages   ^ grew since the last refresh   ~ stale: the previous value"


@dataclass
class Board:
    """What the person at the board chose: the filter (and whether it is being typed), the selected DLQ, the
    peek panel."""

    filter: str = ""
    editing: str | None = None  # the filter being typed, or None
    selected: str | None = None  # the selected DLQ's ARN (names repeat across regions and accounts)
    peek: Any = None  # ("busy", queue) | ("done", queue, PeekResult, groups) | ("error", queue, message)
    refreshing: bool = False
    snapshot: Snapshot | None = None
    messages: list[str] = field(default_factory=list)

    @property
    def shown_filter(self) -> str:
        return self.editing if self.editing is not None else self.filter

    def visible(self) -> Snapshot | None:
        return self.snapshot.filtered(self.shown_filter) if self.snapshot else None

    def dlqs(self) -> list[DlqRow]:
        shown = self.visible()
        return list(shown.dlqs) if shown else []

    def selected_row(self) -> DlqRow | None:
        rows = self.dlqs()
        if not rows:
            return None
        for row in rows:
            if row.arn == self.selected:
                return row
        return rows[0]

    def move(self, step: int) -> None:
        rows = self.dlqs()
        if not rows:
            return
        current = self.selected_row()
        index = rows.index(current) if current in rows else 0
        self.selected = rows[max(0, min(len(rows) - 1, index + step))].arn


# -- drawing ------------------------------------------------------------------------------------------------


def draw(board: Board, width: int, height: int = 50) -> Any:
    """The board for a screen `width` x `height`: the headline, the keys (or the filter being typed), the tables,
    notes and the peek panel. The DLQ table gets the rows left over, scrolled to keep the selection in view, so
    that nothing below it is cut off."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    shown = board.visible()
    top: list[Any] = [Text("eda watch: reading..." if shown is None else
                           headline(shown) + ("  |  refreshing" if board.refreshing else ""), style="bold")]
    if board.editing is not None:
        top.append(Text(f"filter: /{board.editing}_  (enter keeps it, esc cancels)", style="bold cyan"))
    else:
        top.append(Text(HELP + (f"   filter: {board.filter!r}" if board.filter else ""), style="dim"))
    bottom: list[Any] = []
    tables: list[Any] = []
    dlq_table: Any = None
    if shown is not None:
        selected = board.selected_row()
        for view in views(shown):
            if not view.rows:
                continue
            table = Table(title=view.title, title_justify="left", header_style="bold", expand=False)
            for column in view.columns:
                table.add_column(column, no_wrap=column in view.keep, overflow="fold")
            if view.title == "DLQs":
                dlq_table = (table, view)
            else:
                for row in view.rows:
                    table.add_row(*[str(cell) for cell in row])
            tables.append(table)
        if not shown.rows:
            bottom.append(Text("nothing to watch" + (f" matching {shown.filter!r}" if shown.filter else "")))
        bottom.extend(Text(f"not shown: {line}", style="dim") for line in shown.unavailable)
        bottom.extend(Text(str(problem), style="yellow") for problem in shown.problems[:4])
        if len(shown.problems) > 4:
            bottom.append(Text(f"... and {len(shown.problems) - 4} more", style="yellow"))
    peek_lines = 0
    if board.peek is not None:
        bottom.append(_peek_panel(board.peek, Panel, Table, Text))
        peek_lines = 3 + (min(8, len(board.peek[3])) if board.peek[0] == "done" else 1)
    bottom.extend(Text(message, style="yellow") for message in board.messages[-2:])
    bottom.append(Text(LEGEND, style="dim"))
    if dlq_table is not None and shown is not None:
        table, view = dlq_table
        others = sum(len(v.rows) + 5 for v in views(shown) if v.rows and v.title != "DLQs")
        room = max(3, height - len(top) - others - (len(bottom) - (1 if board.peek is not None else 0))
                   - peek_lines - 6)
        rows = list(enumerate(view.rows))
        index = next((i for i, d in enumerate(shown.dlqs) if selected is not None and d.arn == selected.arn), 0)
        first = min(max(0, index - room + 1), max(0, len(rows) - room))
        for i, row in rows[first:first + room]:
            dlq = shown.dlqs[i]
            cells, style = [str(cell) for cell in row], None
            if selected is not None and dlq.arn == selected.arn:
                cells[0], style = ">" + cells[0], "reverse"
            else:
                style = "red" if dlq.level == "fire" else "yellow" if dlq.level == "warn" else None
            table.add_row(*cells, style=style)
        if len(rows) > room:
            table.caption = f"DLQs {first + 1}-{min(len(rows), first + room)} of {len(rows)} (up/down scrolls)"
            table.caption_justify = "left"
    return Group(*top, *tables, *bottom)


def _peek_panel(peek: Any, panel: Any, table_type: Any, text: Any) -> Any:
    state, name = peek[0], peek[1]
    if state == "busy":
        return panel(text(f"peeking {name} (nothing is consumed)..."), title=f"peek {name}", title_align="left")
    if state == "error":
        return panel(text(peek[2], style="yellow"), title=f"peek {name}", title_align="left")
    result, groups = peek[2], peek[3]
    table = table_type(header_style="bold", expand=False, box=None)
    table.add_column("Count", justify="right")
    table.add_column("Error / shape", overflow="fold")
    table.add_column("Last sent", no_wrap=True)
    for group in groups[:8]:
        sent = [m.sent_at for m in group.messages if m.sent_at]
        table.add_row(str(group.count), group.signature, max(sent) if sent else "-")
    title = (f"peek {name}: {len(result.messages)} message(s) grouped by error, none consumed "
             f"(of ~{result.visible_before if result.visible_before is not None else '?'} visible)")
    return panel(table if groups else text("no messages"), title=title, title_align="left")


# -- keys ---------------------------------------------------------------------------------------------------


def split_keys(data: str) -> list[str]:
    """Keys in what the terminal sent: arrows as "up"/"down", Esc alone as "esc", Enter as "enter",
    Backspace as "backspace", anything else as itself."""
    keys: list[str] = []
    i = 0
    while i < len(data):
        if data.startswith(("\x1b[A", "\x1bOA"), i):
            keys.append("up")
            i += 3
        elif data.startswith(("\x1b[B", "\x1bOB"), i):
            keys.append("down")
            i += 3
        elif data[i] == "\x1b":
            keys.append("esc")
            i += 3 if data.startswith("\x1b[", i) and i + 2 < len(data) else 1
        elif data[i] in "\r\n":
            keys.append("enter")
            i += 1
        elif data[i] in "\x7f\x08":
            keys.append("backspace")
            i += 1
        else:
            keys.append(data[i])
            i += 1
    return keys


@contextmanager
def cbreak(stdin: IO[str]) -> Iterator[int | None]:
    """stdin in cbreak mode (keys arrive one by one, unechoed; Ctrl-C still interrupts), restored on every way
    out. Yields its file descriptor, or None when it is not a terminal (no keys, then)."""
    try:
        import termios
        import tty

        fd = stdin.fileno()
        if not os.isatty(fd):
            raise OSError("not a terminal")
        saved = termios.tcgetattr(fd)
    except (ImportError, OSError, ValueError, AttributeError):
        yield None
        return
    try:
        tty.setcbreak(fd, termios.TCSANOW)
        yield fd
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def read_keys(fd: int, events: queue.Queue[tuple[Any, ...]], stop: threading.Event) -> None:
    """Post ("key", k) for each key pressed, until `stop` is set."""
    import select

    while not stop.is_set():
        ready, _, _ = select.select([fd], [], [], 0.1)
        if not ready:
            continue
        data = os.read(fd, 64).decode("utf-8", errors="replace")
        if not data:
            return
        for key in split_keys(data):
            events.put(("key", key))


@contextmanager
def on_sigterm_interrupt() -> Iterator[None]:
    """SIGTERM ends the board as Ctrl-C does (a KeyboardInterrupt), so the terminal is put back then too."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# -- the loop -----------------------------------------------------------------------------------------------


def _start(target: Any, *args: Any) -> None:
    threading.Thread(target=target, args=args, daemon=True, name="eda-watch-ui").start()


def _refresh(reader: WatchReader | ScopesReader, events: queue.Queue[tuple[Any, ...]]) -> None:
    try:
        events.put(("snapshot", reader.refresh()))
    except Exception as exc:  # shown on the board; the next refresh tries again
        events.put(("refresh-error", exc))


def _peek_label(row: DlqRow) -> str:
    """The DLQ's name, and its scope when the board watches several."""
    return f"{row.name} ({row.region}/{row.account})" if row.account and row.region else row.name


def _peek(sqs_of: Callable[[DlqRow], SQSClient], row: DlqRow, events: queue.Queue[tuple[Any, ...]]) -> None:
    """Peek `row`'s DLQ through the SQS client of its own scope (account and region)."""
    from eda_cli.aws.errors import describe
    from eda_cli.aws.resolve import QueueRef
    from eda_cli.core.dlq import group_by_error, peek
    from eda_cli.errors import EdaError

    try:
        result = peek(sqs_of(row), QueueRef(row.name, row.url, row.arn), 10)
        events.put(("peek", ("done", _peek_label(row), result, group_by_error(result.messages))))
    except EdaError as exc:
        events.put(("peek", ("error", _peek_label(row), exc.message + (f" ({exc.hint})" if exc.hint else ""))))
    except Exception as exc:
        events.put(("peek", ("error", _peek_label(row), f"could not peek: {describe(exc)}")))


def handle_key(board: Board, key: str) -> str | None:
    """Apply a key to the board: "quit", "refresh" or "peek" when the loop has something to do."""
    if board.editing is not None:
        if key == "enter":
            board.filter, board.editing = board.editing.strip(), None
        elif key == "esc":
            board.editing = None
        elif key == "backspace":
            board.editing = board.editing[:-1]
        elif len(key) == 1 and key.isprintable():
            board.editing += key
        return None
    if key in ("q", "Q"):
        return "quit"
    if key == "/":
        board.editing = board.filter
    elif key in ("up", "k"):
        board.move(-1)
    elif key in ("down", "j"):
        board.move(1)
    elif key in ("p", "enter"):
        return "peek"
    elif key == "r":
        return "refresh"
    elif key == "esc":
        board.peek = None
    return None


def run_board(renderer: Renderer, reader: WatchReader | ScopesReader, board: Board, interval: float,
              sqs_of: Callable[[DlqRow], SQSClient], stdin: IO[str]) -> int:
    """The board until q (exit 0) or Ctrl-C (exit 130); the terminal is put back as it was either way.
    `sqs_of` is the SQS client a DLQ row is peeked through (its own scope's)."""
    from rich.live import Live

    events: queue.Queue[tuple[Any, ...]] = queue.Queue()
    stop = threading.Event()
    console = renderer.console
    next_refresh = time.monotonic()
    try:
        with on_sigterm_interrupt(), cbreak(stdin) as fd, Live(console=console, screen=True,
                                                                auto_refresh=False) as live:
            if fd is not None:
                _start(read_keys, fd, events, stop)
            while True:
                if not board.refreshing and time.monotonic() >= next_refresh:
                    board.refreshing = True
                    _start(_refresh, reader, events)
                live.update(draw(board, console.width, console.height), refresh=True)
                try:
                    event = events.get(timeout=max(0.05, next_refresh - time.monotonic()) if not board.refreshing
                                       else 0.5)
                except queue.Empty:
                    continue
                kind = event[0]
                if kind == "snapshot":
                    board.snapshot, board.refreshing = event[1], False
                    board.messages.clear()
                    next_refresh = time.monotonic() + max(0.0, interval - event[1].elapsed_seconds)
                elif kind == "refresh-error":
                    board.refreshing = False
                    board.messages.append(f"refresh failed: {event[1]}")
                    next_refresh = time.monotonic() + interval
                elif kind == "peek":
                    board.peek = event[1]
                elif kind == "key":
                    action = handle_key(board, event[1])
                    if action == "quit":
                        return int(ExitCode.OK)
                    if action == "refresh":
                        next_refresh = time.monotonic()
                    elif action == "peek":
                        row = board.selected_row()
                        if row is not None and (board.peek is None or board.peek[0] != "busy"):
                            board.selected = row.arn
                            board.peek = ("busy", _peek_label(row))
                            _start(_peek, sqs_of, row, events)
    except KeyboardInterrupt:
        return int(ExitCode.INTERRUPTED)
    finally:
        stop.set()


__all__ = ["Board", "draw", "handle_key", "run_board", "sparkline", "split_keys"]
