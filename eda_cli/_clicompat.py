"""The exception types of the command-line layer, whichever click typer is built on.

typer 0.29 vendors click as `typer._click` and has its own Exit/Abort; older releases use
click's. The error boundary must recognise both, or a usage error would look like a bug.
"""

from __future__ import annotations

import importlib

import typer

_exit: list[type[BaseException]] = [typer.Exit]
_abort: list[type[BaseException]] = [typer.Abort]
_usage: list[type[BaseException]] = []
for _name in ("typer._click.exceptions", "click.exceptions"):
    # A typer that vendors click raises only its own click's exceptions: importing the real click
    # as well would cost start-up time for nothing.
    if _name == "click.exceptions" and _usage:
        break
    try:
        _module = importlib.import_module(_name)
    except ImportError:
        continue
    for _bucket, _attr in ((_exit, "Exit"), (_abort, "Abort"), (_usage, "ClickException")):
        _type = getattr(_module, _attr, None)
        if isinstance(_type, type) and issubclass(_type, BaseException):
            _bucket.append(_type)

EXIT: tuple[type[BaseException], ...] = tuple(dict.fromkeys(_exit))
ABORT: tuple[type[BaseException], ...] = tuple(dict.fromkeys(_abort))
CLICK_ERROR: tuple[type[BaseException], ...] = tuple(dict.fromkeys(_usage))


def exit_code_of(exc: BaseException) -> int:
    code = getattr(exc, "exit_code", None)
    if code is None:
        code = getattr(exc, "code", 0)
    return int(code or 0)
