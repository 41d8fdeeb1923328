"""Quoting shared by the shell writers."""

from __future__ import annotations

import re
import shlex


def quote(word: str) -> str:
    """Quote for bash and zsh."""
    return shlex.quote(word)


def shell_name(prog: str) -> str:
    """`prog` as (part of) a shell variable name."""
    return re.sub(r"[^A-Za-z0-9_]", "_", prog)
