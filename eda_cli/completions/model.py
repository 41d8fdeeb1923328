"""The model: eda's command tree reduced to what completion needs (`build` walks it once; it invokes nothing)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from pathlib import PurePath
from typing import Any, get_args

from eda_cli._clicompat import global_options

#: A click command. typer >= 0.29 builds its commands on a vendored copy of click
#: (`typer._click`) whose classes are not `click.Command`, so the walker duck-types and accepts
#: either kind.
Command = Any


@dataclass(frozen=True)
class Value:
    """How to complete one value: `none` (free text), `choice`, `file` or `dir`."""

    kind: str = "none"
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Option:
    names: tuple[str, ...]
    #: The `--no-x` half of a boolean `--x/--no-x` pair.
    secondary: tuple[str, ...]
    #: Words the option consumes after its name: 0 for a flag.
    nargs: int
    value: Value
    help: str
    metavar: str
    multiple: bool

    @property
    def all_names(self) -> tuple[str, ...]:
        return self.names + self.secondary


@dataclass(frozen=True)
class Argument:
    name: str
    #: -1: takes every remaining word.
    nargs: int
    required: bool
    value: Value
    help: str


@dataclass(frozen=True)
class Node:
    #: The words that reach this command, the program name first: ("eda", "dlq", "peek").
    path: tuple[str, ...]
    help: str
    options: tuple[Option, ...]
    arguments: tuple[Argument, ...]
    commands: tuple[Node, ...]
    #: The subcommand that takes a word naming none of `commands` (nor an option of this one):
    #: `eda redrive DLQ` is `eda redrive run DLQ`, so after `eda redrive DLQ` come run's options.
    default: str | None = None

    @property
    def key(self) -> str:
        return " ".join(self.path)

    def walk(self) -> list[Node]:
        nodes = [self]
        for child in self.commands:
            nodes.extend(child.walk())
        return nodes

    def argument_slots(self) -> list[tuple[int, int | None, Argument]]:
        """(first, last, argument) positions of the positional arguments; last None: open-ended."""
        slots: list[tuple[int, int | None, Argument]] = []
        position = 0
        for argument in self.arguments:
            if argument.nargs < 0:
                slots.append((position, None, argument))
                break  # click gives a variadic argument everything that is left
            slots.append((position, position + argument.nargs - 1, argument))
            position += argument.nargs
        return slots


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value else ""


def _choice_text(choice: Any, *, enum_by_value: bool) -> str:
    if isinstance(choice, Enum):
        return str(choice.value) if enum_by_value else choice.name
    return str(choice)


def _value_of(param: Any) -> Value:
    desc = getattr(param, "type_descriptor", None)
    if desc is not None:  # typer >= 0.29: the type lives in a descriptor, not in a click type
        choices = desc.choices
        if choices:
            return Value("choice", tuple(_choice_text(c, enum_by_value=True) for c in choices))
        path_type = getattr(desc, "path_type", "path")
        if desc.is_file:
            return Value("file")
        if desc.is_path:
            return Value("dir" if path_type == "dir" else "file")
        if desc.is_list:
            items = get_args(desc.annotation)
            if items and isinstance(items[0], type) and issubclass(items[0], PurePath):
                return Value("dir" if path_type == "dir" else "file")
        return Value()
    kind = getattr(param, "type", None)  # click itself
    choices = getattr(kind, "choices", None)
    if choices:
        return Value("choice", tuple(_choice_text(c, enum_by_value=False) for c in choices))
    name = getattr(kind, "name", "")
    if name == "path":
        only_dirs = getattr(kind, "dir_okay", True) and not getattr(kind, "file_okay", True)
        return Value("dir" if only_dirs else "file")
    if name == "filename":
        return Value("file")
    return Value()


def _name_order(name: str) -> tuple[bool, str]:
    return (not name.startswith("--"), name)


def _option_of(param: Any) -> Option:
    is_flag = bool(getattr(param, "is_flag", False)) or bool(getattr(param, "count", False))
    nargs = 0 if is_flag else max(int(getattr(param, "nargs", 1) or 1), 1)
    metavar = getattr(param, "metavar", None) or (param.name or "value").replace("_", "-")
    return Option(
        # sorted: click builds the help option's names from a set
        names=tuple(sorted(param.opts, key=_name_order)),
        secondary=tuple(sorted(getattr(param, "secondary_opts", ()) or (), key=_name_order)),
        nargs=nargs,
        value=_value_of(param) if nargs else Value(),
        help=_text(getattr(param, "help", None)),
        metavar=str(metavar).strip("{}<>[]").lower(),
        multiple=bool(getattr(param, "multiple", False)) or bool(getattr(param, "count", False)),
    )


def _argument_of(param: Any) -> Argument:
    return Argument(
        name=(getattr(param, "metavar", None) or param.name or "arg").strip("{}<>[]").lower(),
        nargs=int(getattr(param, "nargs", 1)),
        required=bool(getattr(param, "required", False)),
        value=_value_of(param),
        help=_text(getattr(param, "help", None)),
    )


def _is_group(command: Command) -> bool:
    return hasattr(command, "list_commands") and hasattr(command, "get_command")


def _inherit(options: list[Option], inherited: tuple[Option, ...]) -> list[Option]:
    """`options` plus the global options, less any name the command declares itself (its own wins)."""
    own = {name for option in options for name in option.all_names}
    for option in inherited:
        names = tuple(n for n in option.names if n not in own)
        secondary = tuple(n for n in option.secondary if n not in own)
        if names or secondary:
            options.append(replace(option, names=names, secondary=secondary))
    return options


#: A word no command is named: what `_default_of` hands a group to see where it goes.
_PROBE = "_completion-probe_"


def _default_of(command: Command, name: str, parent_ctx: Any) -> str | None:
    """The subcommand a group gives a word that names none of its subcommands, when its parser does
    that (eda's `redrive`: `eda redrive DLQ` is `eda redrive run DLQ`). Found by asking the parser
    itself, leniently (click's resilient parsing), so the scripts follow the group as it is."""
    try:
        ctx = command.make_context(name, [_PROBE], parent=parent_ctx, resilient_parsing=True)
        protected = getattr(ctx, "_protected_args", None)  # click >= 8.2 (and typer's copy)
        words = [*(protected if protected is not None else getattr(ctx, "protected_args", [])), *ctx.args]
    except Exception:  # a group that cannot parse the probe routes nothing
        return None
    if len(words) >= 2 and words[1] == _PROBE and words[0] in command.list_commands(ctx):
        return str(words[0])
    return None


def build(
    command: Command, name: str, parent_ctx: Any = None, path: tuple[str, ...] = (),
    inherited: tuple[Option, ...] = (),
) -> Node:
    """Reduce a click command (and everything below it) to a Node. Invokes nothing.

    A root command with `global_options_anywhere` (eda's) takes its own options after any
    subcommand too, so every node below it lists them as well: `inherited`.
    """
    settings = dict(getattr(command, "context_settings", None) or {})
    ctx = command.context_class(command, parent=parent_ctx, info_name=name, **settings)
    path = (*path, name)
    options: list[Option] = []
    arguments: list[Argument] = []
    for param in command.get_params(ctx):
        if getattr(param, "param_type_name", "") == "argument":
            arguments.append(_argument_of(param))
        elif not getattr(param, "hidden", False) and param.opts:
            options.append(_option_of(param))
    options = _inherit(options, inherited)
    if parent_ctx is None and getattr(command, "global_options_anywhere", False):
        inherited = tuple(_option_of(p) for p in global_options(command) if not getattr(p, "hidden", False))
    commands: list[Node] = []
    default = None
    if _is_group(command):
        for sub_name in sorted(command.list_commands(ctx)):
            sub = command.get_command(ctx, sub_name)
            if sub is None or getattr(sub, "hidden", False):
                continue
            commands.append(build(sub, sub_name, ctx, path, inherited))
        default = _default_of(command, name, parent_ctx)
        if default not in {c.path[-1] for c in commands}:
            default = None  # a hidden one: not offered
    return Node(
        path=path,
        help=_text(command.get_short_help_str(limit=120)),
        options=tuple(options),
        arguments=tuple(arguments),
        commands=tuple(commands),
        default=default,
    )
