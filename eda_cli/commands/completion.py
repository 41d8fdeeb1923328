"""`eda completion`: print a static shell completion script."""

from __future__ import annotations

from enum import Enum

import typer


class Shell(str, Enum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def completion(ctx: typer.Context, shell: Shell = typer.Argument(..., help="The shell to complete for.")) -> None:
    """Print a static completion script for SHELL (bash, zsh or fish).

    The script holds the whole command tree, so pressing TAB never starts Python.
    Regenerate it after upgrading eda.

    \b
    Install it:
      bash  eda completion bash > ~/.local/share/bash-completion/completions/eda
            (or /etc/bash_completion.d/eda, or source it from ~/.bashrc)
      zsh   eda completion zsh > ~/.zfunc/_eda
            (with fpath=(~/.zfunc $fpath) before compinit in ~/.zshrc)
      fish  eda completion fish > ~/.config/fish/completions/eda.fish

    Example: eda completion bash > /etc/bash_completion.d/eda
    """
    from eda_cli.commands._common import ctx_of
    from eda_cli.completions import generate

    ctx_of(ctx).renderer.raw(generate(shell.value))
