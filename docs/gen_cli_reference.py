"""Write docs/reference/cli.md: every eda command's `--help`, generated from the click command tree.

Run after changing a command or an option (tests/test_docs.py fails while the file is stale):

    .venv/bin/python docs/gen_cli_reference.py

The output does not depend on the terminal: help is rendered at a fixed width of 100 columns,
without colour, in the order `eda --help` lists the commands.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

WIDTH = 100
REFERENCE = Path(__file__).resolve().parent / "reference" / "cli.md"
REGENERATE = "python docs/gen_cli_reference.py"

HEADER = f"""# CLI reference

Every command's `--help`, generated from the command tree by `docs/gen_cli_reference.py`: do not
edit this page by hand; run `{REGENERATE}` after changing a command or an option.
The hand-written pages explain each command with examples and captured output.
"""


def root_command() -> Any:
    """eda's root click command, however `eda_cli.app` builds it (a typer app or a click group)."""
    from eda_cli import app as app_module

    app = app_module.app
    if hasattr(app, "get_help"):  # already a click command
        return app
    import typer

    return typer.main.get_command(app)


def _context(command: Any, name: str, parent: Any | None) -> Any:
    settings = dict(getattr(command, "context_settings", None) or {})
    if parent is None:
        settings.update(terminal_width=WIDTH, max_content_width=WIDTH, color=False)
    # resilient_parsing: no argument is required, no callback runs, nothing is read from AWS.
    return command.make_context(name, [], parent=parent, resilient_parsing=True, **settings)


def walk(command: Any | None = None, ctx: Any | None = None,
         path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any, Any]]:
    """(path, command, context) for every command and group, the root first, in `--help` order.

    Hidden commands are left out, as `--help` leaves them out.
    """
    if command is None:
        command = root_command()
    if ctx is None:
        ctx = _context(command, "eda", None)
    yield path, command, ctx
    if hasattr(command, "list_commands"):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is None or getattr(sub, "hidden", False):
                continue
            yield from walk(sub, _context(sub, name, ctx), (*path, name))


def render() -> str:
    """The whole reference page, as Markdown."""
    from eda_cli.environment import environment

    with environment({"COLUMNS": str(WIDTH), "LINES": "50", "NO_COLOR": "1", "TERM": "dumb"}):
        parts = [HEADER]
        for path, command, ctx in walk():
            title = " ".join(("eda", *path))
            help_text = command.get_help(ctx).rstrip()
            # A fence longer than any backtick run in the help, so no help text can close it.
            fence = "```"
            while fence in help_text:
                fence += "`"
            parts.append(f"## {title}\n\n{fence}text\n{help_text}\n{fence}\n")
        return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render()
    if args == ["--check"]:
        current = REFERENCE.read_text(encoding="utf-8") if REFERENCE.exists() else ""
        if current != text:
            print(f"{REFERENCE} is stale: run `{REGENERATE}`", file=sys.stderr)
            return 1
        return 0
    if args:
        print("usage: gen_cli_reference.py [--check]", file=sys.stderr)
        return 2
    REFERENCE.parent.mkdir(parents=True, exist_ok=True)
    REFERENCE.write_text(text, encoding="utf-8")
    print(f"wrote {REFERENCE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
