"""eda's command line on top of click, whichever click typer is built on.

The exception types: typer 0.29 vendors click as `typer._click` and has its own Exit/Abort; older
releases use click's. The error boundary must recognise both, or a usage error would look like a bug.

Global options anywhere: `hoist_global_options`, which the root command runs on its words first.
"""

from __future__ import annotations

import importlib
import re
from enum import Enum
from pathlib import PurePath
from typing import Any, get_args, get_origin

import typer

_exit: list[type[BaseException]] = [typer.Exit]
_abort: list[type[BaseException]] = [typer.Abort]
_usage: list[type[BaseException]] = []
_bad_option: list[type[BaseException]] = []
for _name in ("typer._click.exceptions", "click.exceptions"):
    # A typer that vendors click raises only its own click's exceptions: importing the real click
    # as well would cost start-up time for nothing.
    if _name == "click.exceptions" and _usage:
        break
    try:
        _module = importlib.import_module(_name)
    except ImportError:
        continue
    for _bucket, _attr in (
        (_exit, "Exit"), (_abort, "Abort"), (_usage, "ClickException"), (_bad_option, "BadOptionUsage")
    ):
        _type = getattr(_module, _attr, None)
        if isinstance(_type, type) and issubclass(_type, BaseException):
            _bucket.append(_type)

EXIT: tuple[type[BaseException], ...] = tuple(dict.fromkeys(_exit))
ABORT: tuple[type[BaseException], ...] = tuple(dict.fromkeys(_abort))
CLICK_ERROR: tuple[type[BaseException], ...] = tuple(dict.fromkeys(_usage))


class _PlainCoercion:
    """A typer runtime parameter (typer 0.29's private `RuntimeParam` shape) that converts a value with a
    plain function instead of a pydantic TypeAdapter."""

    def __init__(self, convert: Any) -> None:
        self.convert = convert

    def coerce(self, value: Any, param: Any = None, ctx: Any = None) -> Any:
        if value is None:
            return None
        try:
            return self.convert(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), ctx=ctx, param=param) from None


_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off", ""}


def flag(value: Any) -> bool:
    """A flag's value: a bool, or an environment variable's text (1/0, true/false, yes/no, on/off)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueError(f"{value!r} is not a valid boolean (1/0, true/false, yes/no, on/off).")


def _plain(param: Any, convert: Any) -> None:
    if hasattr(param, "get_runtime_param") and getattr(param, "_runtime_param", False) is None:
        param._runtime_param = _PlainCoercion(convert)


_UNSURE = object()
_INTEGER = re.compile(r"0|[1-9][0-9]*")
_DECIMAL = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]+)?")


def _leaf(annotation: Any, info: Any, value: Any, ctx: Any) -> Any:
    """What typer 0.29's pydantic coercion makes of `value` for a plain annotation, or _UNSURE."""
    if annotation is str:
        return value if isinstance(value, str) else _UNSURE
    if annotation is int or annotation is float:
        if type(value) is annotation or (annotation is float and type(value) is int):
            number = value
        elif isinstance(value, str) and (_INTEGER if annotation is int else _DECIMAL).fullmatch(value):
            number = annotation(value)
        else:
            return _UNSURE
        if (info.min is not None and number < info.min) or (info.max is not None and number > info.max):
            return _UNSURE  # clamped or refused: typer's own words
        return annotation(number)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        from typer._param_types import coerce_cli_choice  # typer's own choice matching (no pydantic)

        try:
            return coerce_cli_choice(value, choices=tuple(annotation), case_sensitive=info.case_sensitive, ctx=ctx)
        except ValueError:
            return _UNSURE
    return _UNSURE


class _FastCoercion:
    """typer 0.29's coercion of a parameter for the plain cases (str, int, float, an Enum, a list of those; None),
    without building a pydantic TypeAdapter, whose import alone costs ~0.1 s of every command's start-up. Anything
    else, and every value it could not convert, goes to the runtime parameter typer would have built: the same
    results, the same errors (tests/test_help.py compares both on every option of every command)."""

    def __init__(self, descriptor: Any) -> None:
        self.descriptor = descriptor
        self._typer: Any = None

    def typer_param(self) -> Any:
        if self._typer is None:
            from typer._coercion import build_runtime_param

            self._typer = build_runtime_param(self.descriptor)
        return self._typer

    def fast(self, value: Any, param: Any, ctx: Any) -> Any:
        multi = bool(getattr(param, "multiple", False)) or getattr(param, "nargs", 1) == -1
        if value is None:
            return () if multi else None  # typer's RuntimeParam.coerce
        descriptor = self.descriptor
        info = descriptor.parameter_info
        if descriptor.file_annotation is not None or info.parser is not None:
            return _UNSURE
        if not multi:
            return _leaf(descriptor.annotation, info, value, ctx)
        if get_origin(descriptor.annotation) is not list or not isinstance(value, (list, tuple)):
            return _UNSURE
        (inner,) = get_args(descriptor.annotation)
        items = [_leaf(inner, info, item, ctx) for item in value]
        return _UNSURE if any(item is _UNSURE for item in items) else items

    def coerce(self, value: Any, param: Any = None, ctx: Any = None) -> Any:
        result = self.fast(value, param, ctx)
        if result is _UNSURE:
            return self.typer_param().coerce(value, param=param, ctx=ctx)
        return result


def _fast(param: Any) -> None:
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None and hasattr(param, "get_runtime_param") and \
            getattr(param, "_runtime_param", False) is None:
        param._runtime_param = _FastCoercion(descriptor)


def plain_coercion(command: Any, converters: dict[str, Any] | None = None) -> None:
    """Convert the named options of `command` (and its --help flag) with plain functions. typer 0.29
    coerces every value through pydantic, built on first use: importing pydantic costs about as much CPU
    as importing typer, and every invocation would pay it for the root's options and each level's --help
    flag, `eda dlq inspect --help` included; every other parameter's plain values (`_FastCoercion`) too. Where
    typer has no such hook (`_runtime_param`: other
    releases), nothing changes: typer converts as it always did."""
    for param in getattr(command, "params", ()):
        convert = (converters or {}).get(param.name)
        if convert is not None:
            _plain(param, convert)
        else:
            _fast(param)
    original = command.get_help_option

    def get_help_option(ctx: Any) -> Any:
        option = original(ctx)
        if option is not None:
            _plain(option, flag)
        return option

    command.get_help_option = get_help_option


def exit_code_of(exc: BaseException) -> int:
    code = getattr(exc, "exit_code", None)
    if code is None:
        code = getattr(exc, "code", 0)
    return int(code or 0)


# -- global options anywhere --------------------------------------------------------------------
#
# click gives an option only to the command that declares it, so `eda dlq inspect -o json` would
# be "No such option: -o"; AWS CLI users type global options after the command. So the root
# command first reads its words the way click's parser will, level by level, and moves its own
# options (with their values) from wherever they are to just before the first subcommand's name.
# A value is never taken for an option (`--filter -o` keeps its value), nothing after `--` moves,
# and an option that a (sub)command declares itself stays with that command.


def global_options(group: Any) -> list[Any]:
    """The options the root `group` declares (its help option aside): eda's global options."""
    return [p for p in group.params if getattr(p, "param_type_name", "") == "option"]


def _arity(param: Any) -> int:
    """How many words an option takes after its name: 0 for a flag (click's *_const and count)."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return 0
    return max(int(getattr(param, "nargs", 1) or 1), 1)


def _arities(params: list[Any]) -> dict[str, int]:
    return {
        name: _arity(param)
        for param in params
        if getattr(param, "param_type_name", "") == "option"
        for name in (*param.opts, *(getattr(param, "secondary_opts", None) or ()))
    }


def _is_short(name: str) -> bool:
    """As click splits names: `-o` is short (it clusters, and takes `-ojson`); `--output` is long."""
    return len(name) == 2 and name[0] != name[1]


def _missing_value(name: str, arity: int) -> BaseException:
    # click's own words (and so one line, exit 2) for the same slip before the command: `eda --region`
    need = "an argument." if arity == 1 else f"{arity} arguments."
    return _bad_option[0](name, f"Option {name!r} requires {need}")


def hoist_global_options(group: Any, ctx: Any, args: list[str]) -> list[str]:
    """`args` with the root `group`'s options moved from after a subcommand's name to before it.

    `dlq inspect -o json --region eu-west-1` becomes `-o json --region eu-west-1 dlq inspect`.
    The moved words go after the root's own options, in their order, so the last of several
    occurrences still wins. Nothing moves from after a literal `--`, nor from after a command's
    first argument if that command stops reading options there (allow_interspersed_args off).
    """
    globals_ = _arities(global_options(group))
    command, level_ctx = group, ctx
    local = _arities(group.get_params(ctx))  # at the root, the global options are its own
    kept: list[str] = []
    hoisted: list[str] = []
    insert_at = 0  # where, in `kept`, the first subcommand's name is
    i = 0

    def take(count: int, name: str, arity: int, *, hoisting: bool) -> list[str]:
        """The next `count` words: an option's value(s)."""
        nonlocal i
        if hoisting and len(args) - i < count and not getattr(ctx, "resilient_parsing", False):
            raise _missing_value(name, arity)
        words = args[i:i + count]  # a local option short of values: click reports it
        i += len(words)
        return words

    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            kept += args[i - 1:]
            break
        if arg[:1] == "-" and len(arg) > 1:
            name, equals, _ = arg.partition("=")
            given = 1 if equals else 0  # `--opt=value` carries its (first) value
            if not _is_short(name) and name in local:
                kept += [arg, *take(max(local[name] - given, 0), name, local[name], hoisting=False)]
            elif not _is_short(name) and name in globals_:
                hoisted += [arg, *take(max(globals_[name] - given, 0), name, globals_[name], hoisting=True)]
            elif arg[:2] == "--":
                kept.append(arg)  # unknown to this command: click reports it
            else:
                # A cluster of short options, read as click reads it: `-yojson` is -y, then -o json.
                cluster, after = "-", []
                for j, char in enumerate(arg[1:], start=2):
                    short, rest = "-" + char, arg[j:]
                    if short in local:
                        cluster += char
                        if local[short]:
                            cluster += rest
                            after = take(local[short] - bool(rest), short, local[short], hoisting=False)
                            break
                    elif short in globals_:
                        if globals_[short]:
                            more = take(globals_[short] - bool(rest), short, globals_[short], hoisting=True)
                            hoisted += [short + rest, *more]
                            break
                        hoisted.append(short)
                    else:
                        cluster += arg[j - 1:]  # unknown: left whole for click to report
                        break
                if cluster != "-":
                    kept += [cluster, *after]
            continue
        if hasattr(command, "get_command"):
            # A group reads options only up to its subcommand's name: the rest is the subcommand's.
            sub, name = command.get_command(level_ctx, arg), arg
            if sub is None:
                # A group with a default command (`eda redrive DLQ` is `eda redrive run DLQ`): the word is
                # that command's first argument, and what follows is read with that command's options.
                name = getattr(command, "default_command", None) or ""
                sub = command.get_command(level_ctx, name) if name else None
                if sub is None:  # click will say "No such command"
                    kept += args[i - 1:]
                    break
                i -= 1  # the word is read again, as the default command's
            elif command is group:
                insert_at = len(kept)
            if name == arg:
                kept.append(arg)
            settings = dict(getattr(sub, "context_settings", None) or {})
            level_ctx = sub.context_class(sub, parent=level_ctx, info_name=name, **settings)
            command, local = sub, _arities(sub.get_params(level_ctx))
            continue
        kept.append(arg)
        if not getattr(level_ctx, "allow_interspersed_args", True):
            kept += args[i:]
            break
    return kept[:insert_at] + hoisted + kept[insert_at:] if hoisted else kept


# -- help: click's plain metavars -----------------------------------------------------------------
#
# typer 0.29 renders help itself, with the Python types: `Usage: eda dlq peek [OPTIONS] {queue}`,
# `queue <str>`, `queues... <list[str]>`, `--max <int range>`, `--mode <auto|copy|native>`. eda's help
# reads like click's and the AWS CLI's instead: `QUEUE`, `[QUEUE]...`, `--max INTEGER RANGE`,
# `--mode [auto|copy|native]`. Older typers render through click, which already does; so the
# rendering methods of typer's own parameter classes are replaced only where typer has them, once,
# here, for every command (eda_cli.app imports this module before it builds any).

#: click's names for the value types typer knows by their Python type.
_TYPE_NAMES: dict[Any, str] = {str: "TEXT", int: "INTEGER", float: "FLOAT", bool: "BOOLEAN"}
_PATH_NAMES = {"file": "FILE", "dir": "DIRECTORY", "path": "PATH"}


def _type_name(annotation: Any) -> str:
    """click's name for one Python type: TEXT, INTEGER, PATH, UUID ..."""
    if get_origin(annotation) is list and get_args(annotation):
        return _type_name(get_args(annotation)[0])
    if annotation in _TYPE_NAMES:
        return _TYPE_NAMES[annotation]
    if isinstance(annotation, type) and issubclass(annotation, PurePath):
        return "PATH"
    return str(getattr(annotation, "__name__", annotation)).upper()


def _value_metavar(param: Any, ctx: Any) -> str:
    """What stands for a typer parameter's value in help, as click writes it: TEXT, INTEGER RANGE,
    [a|b|c], PATH, FILENAME (the metavar it declares aside)."""
    desc = param.type_descriptor
    if desc.is_choice or (desc.is_datetime and desc.parameter_info.formats):
        # typer's own label holds the choices as typed (case-folded when case-insensitive)
        label = _typer_display_type(param, ctx).strip("<>")
        return f"[{label.removeprefix('list[').removesuffix(']') if desc.is_list else label}]"
    if desc.is_ranged:
        return f"{_type_name(desc.annotation)} RANGE"
    if desc.is_file:
        return "FILENAME"
    if desc.is_path:
        return _PATH_NAMES.get(desc.path_type, "PATH")
    if desc.is_tuple:
        return " ".join(_type_name(arg) for arg in get_args(desc.annotation))
    return _type_name(desc.annotation)


def _typer_display_type(param: Any, ctx: Any) -> str:
    from typer.core import _TyperParameter

    return str(_TyperParameter.display_type(param, ctx))


def _argument_name(self: Any) -> str:
    """An argument's name in help and errors: its metavar, else its name in capitals (QUEUE)."""
    return str(self.metavar or (self.name or "").upper())


def _argument_usage(self: Any) -> str:
    """In the usage line: QUEUE when required, [QUEUE] when not, ... when it takes several."""
    name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
    return name + "..." if self.nargs != 1 else name


def _argument_listed(self: Any) -> str:
    """In the Arguments list: QUEUE, or QUEUE... when it takes several."""
    return str(self.display_name_raw) + ("..." if self.nargs != 1 else "")


def _argument_type(self: Any, ctx: Any) -> str | None:
    """After an argument's name in the list: its choices only ([bash|zsh|fish]), never its type."""
    desc = self.type_descriptor
    return _value_metavar(self, ctx) if desc.is_choice and self.show_choices else None


def _option_type(self: Any, ctx: Any) -> str:
    """After an option's names: its metavar, else click's name for its type."""
    if self.metavar is not None:
        return str(self.metavar)
    return _value_metavar(self, ctx) + ("..." if self.nargs != 1 else "")


def _plain_metavars() -> None:
    """Help and usage errors of every typer command with the renderings above, on a typer that has
    its own (0.29 and later)."""
    try:
        from typer.core import TyperArgument, TyperOption
    except ImportError:  # pragma: no cover - every typer eda supports has them
        return
    if not hasattr(TyperArgument, "_usage_display_name"):
        return  # a typer that renders help through click
    TyperArgument.display_name_raw = property(_argument_name)  # type: ignore[assignment,method-assign]
    TyperArgument._usage_display_name = _argument_usage  # type: ignore[method-assign]
    TyperArgument._rich_display_name = _argument_listed  # type: ignore[method-assign]
    TyperArgument.display_type_rich = _argument_type  # type: ignore[method-assign]
    TyperOption.display_type_rich = _option_type  # type: ignore[method-assign]


_plain_metavars()
