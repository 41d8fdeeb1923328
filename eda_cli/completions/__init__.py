"""Static shell completion scripts for eda: bash, zsh and fish.

`generate(shell)` walks eda's command tree once and writes everything completion needs into the
script itself: subcommands (nested groups), each command's options (with eda's global options
after every subcommand too, where eda accepts them), which options take a value, option and
argument choices, `--x/--no-x` pairs, path completion, and the subcommand a group hands any other
word to (`eda redrive DLQ` is `eda redrive run DLQ`). Pressing TAB therefore never
starts Python (there is no `_EDA_COMPLETE` callback), which keeps completion instant even though
importing eda and boto3 takes a noticeable fraction of a second.

The scripts are committed under completions/ and tests/test_completions.py checks they match
`generate()`, so a new command or option only needs `eda completion SHELL > completions/eda.SHELL`.

Modules: `model` (the command tree walk: `build` and its nodes), `quoting`, and one writer per shell
(`bash`, `zsh`, `fish`), each with a `script(root)`.
"""

from __future__ import annotations

from eda_cli.completions import bash, fish, zsh
from eda_cli.completions.model import Argument, Command, Node, Option, Value, build
from eda_cli.errors import UsageError

SHELLS = ("bash", "zsh", "fish")

__all__ = ["SHELLS", "Argument", "Command", "Node", "Option", "Value", "build", "generate"]


def generate(shell: str, command: Command | None = None) -> str:
    """The completion script for `shell` (bash, zsh or fish), for `command` (default: eda's app).

    `command` is a click command (or typer's vendored equivalent); its name is the program name
    the script completes.
    """
    writers = {"bash": bash.script, "zsh": zsh.script, "fish": fish.script}
    writer = writers.get(str(getattr(shell, "value", shell)).lower())
    if writer is None:
        raise UsageError(f"unsupported shell {str(shell)!r}: choose one of {', '.join(SHELLS)}")
    if command is None:
        from eda_cli.app import command as root  # the root command of eda itself

        command = root()
    return writer(build(command, command.name or "eda"))
