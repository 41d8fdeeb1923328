"""eda converts plain option values itself (`_clicompat._FastCoercion`) instead of typer 0.29's pydantic adapters,
whose import costs every command ~0.1 s: on every parameter of every command, the same values and the same errors."""

from __future__ import annotations

import enum
from typing import Any, get_args, get_origin

import pytest

from eda_cli import _clicompat as compat
from eda_cli.app import COMMANDS, load_command

SAMPLES: list[Any] = ["", "0", "1", "7", "007", "10", "32", "33", "999", "-1", "1.5", "0.25", "2.", "1e3", "abc",
                      "true", "COPY", "copy", "auto", " 5", "5 ", 3, 0, 2.5, True]


def _walk(command: Any) -> list[Any]:
    found = [command]
    for sub in getattr(command, "commands", {}).values():
        found += _walk(sub)
    return found


def _fast_params() -> list[tuple[Any, Any]]:
    found = []
    for name in COMMANDS:
        for command in _walk(load_command(name)):
            for param in command.params:
                if isinstance(getattr(param, "_runtime_param", None), compat._FastCoercion):
                    found.append((command, param))
    return found


def _outcome(coerce: Any, value: Any, param: Any, ctx: Any) -> tuple[str, Any]:
    try:
        result = coerce(value, param=param, ctx=ctx)
    except Exception as exc:
        return "error", (type(exc).__name__, str(exc))
    return "value", (type(result), result)


def _samples(param: Any) -> list[Any]:
    annotation = param.type_descriptor.annotation
    inner = get_args(annotation)[0] if get_origin(annotation) is list else annotation
    values = [*SAMPLES, None, param.default]
    if isinstance(inner, type) and issubclass(inner, enum.Enum):
        values += [*inner, *(m.value for m in inner), *(str(m.value).upper() for m in inner)]
    if getattr(param, "multiple", False) or getattr(param, "nargs", 1) == -1:
        values = [None, (), param.default, *((v,) for v in values if v is not None), ("a", "b"), ("1", "x")]
    return values


def test_plain_values_are_converted_as_typer_converts_them() -> None:
    pairs = _fast_params()
    if not pairs:
        pytest.skip("this typer has no runtime parameters to replace (not 0.29's shape)")
    kinds = set()
    for command, param in pairs:
        fast = param._runtime_param
        ctx = command.context_class(command)
        kinds.add(repr(param.type_descriptor.annotation))
        for value in _samples(param):
            expected = _outcome(fast.typer_param().coerce, value, param, ctx)
            got = _outcome(fast.coerce, value, param, ctx)
            assert got == expected, (command.name, param.name, value)
    # the kinds of option eda has: the comparison covered each
    assert {"<class 'str'>", "<class 'int'>", "<class 'float'>", "list[str]"} <= kinds, kinds
    assert any("enum" in kind for kind in kinds), kinds


def test_a_redrive_does_not_import_pydantic() -> None:
    import subprocess
    import sys

    code = ("import sys\nfrom eda_cli.app import run\n"
            "try:\n    run(['--endpoint-url', 'http://127.0.0.1:9', 'redrive', 'x', '--yes', '--mode', 'copy',"
            " '--concurrency', '10', '--max', '5', '--rate', '2.5'])\nexcept SystemExit:\n    pass\n"
            "print('pydantic' in sys.modules)")
    env = {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t", "AWS_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "1",
           "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "False", out.stderr[-2000:]
