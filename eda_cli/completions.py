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
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import PurePath
from typing import Any, get_args

from eda_cli._clicompat import global_options
from eda_cli.errors import UsageError

#: A click command. typer >= 0.29 builds its commands on a vendored copy of click
#: (`typer._click`) whose classes are not `click.Command`, so the walker duck-types and accepts
#: either kind.
Command = Any

SHELLS = ("bash", "zsh", "fish")

_SAFE_WORD = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")


# -- the model: the command tree reduced to what completion needs -------------------------------


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


# -- quoting ------------------------------------------------------------------------------------


def _sh(word: str) -> str:
    """Quote for bash and zsh."""
    return shlex.quote(word)


def _fq(word: str) -> str:
    """Quote for fish."""
    if word and _SAFE_WORD.match(word):
        return word
    if "'" in word and not any(c in word for c in '"$\\'):
        return f'"{word}"'
    return "'" + word.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _ident(node: Node) -> str:
    """The zsh function completing `node`: _eda, _eda__dlq, _eda__dlq__peek."""
    return "_" + "__".join(re.sub(r"[^A-Za-z0-9_.-]", "_", part) for part in node.path)


def _var(prog: str) -> str:
    """`prog` as (part of) a shell variable name."""
    return re.sub(r"[^A-Za-z0-9_]", "_", prog)


# -- bash ---------------------------------------------------------------------------------------


def _bash_array(words: tuple[str, ...] | list[str]) -> str:
    return "(" + " ".join(_sh(w) for w in words) + ")"


def _bash_value(value: Value, pre: str) -> str:
    parts: list[str] = []
    if value.kind != "none":
        parts.append(f"{pre}_kind={value.kind}")
    if value.choices:
        parts.append(f"{pre}_choices={_bash_array(value.choices)}")
    return "; ".join(parts)


def _bash(root: Node) -> str:
    prog = root.path[0]
    fn = f"_{_var(prog)}_completion"
    pre = fn  # the variables the helpers hand back through bash's dynamic scope
    nodes = root.walk()

    node_cases: list[str] = []
    for node in nodes:
        opts = [name for option in node.options for name in option.all_names]
        node_cases.append(f"        {_sh(node.key)})")
        if node.commands:
            node_cases.append(f"            {pre}_cmds={_bash_array([c.path[-1] for c in node.commands])}")
        if opts:
            node_cases.append(f"            {pre}_opts={_bash_array(opts)}")
        if node.default:
            node_cases.append(f"            {pre}_default={_sh(node.default)}")
        node_cases.append("            ;;")

    option_cases: list[str] = []
    for node in nodes:
        for option in node.options:
            if not option.nargs:
                continue
            labels = "|".join(_sh(f"{node.key}|{name}") for name in option.names)
            body = [f"{pre}_nargs={option.nargs}"]
            if option.value.kind != "none":
                body.append(_bash_value(option.value, pre))
            option_cases.append(f"        {labels}) {'; '.join(body)} ;;")

    argument_cases: list[str] = []
    for node in nodes:
        tests: list[str] = []
        for first, last, argument in node.argument_slots():
            if argument.value.kind == "none":
                continue
            cond = f"$2 >= {first}" if last is None else (
                f"$2 == {first}" if first == last else f"$2 >= {first} && $2 <= {last}")
            tests.append(f"(( {cond} )); then {_bash_value(argument.value, pre)}")
        if tests:
            argument_cases.append(f"        {_sh(node.key)})")
            argument_cases.append("            if " + "\n            elif ".join(tests) + "; fi ;;")

    def case(lines: list[str]) -> str:
        return "\n".join(lines) if lines else "        '') ;;"

    return f"""\
# bash completion for {prog}
#
# Generated by `{prog} completion bash`: do not edit by hand, regenerate it instead.
# Static: the whole command tree is in this file, so pressing TAB never starts Python.
#
# Install: {prog} completion bash > ~/.local/share/bash-completion/completions/{prog}
#      or: {prog} completion bash | sudo tee /etc/bash_completion.d/{prog} > /dev/null
#      or: source this file from ~/.bashrc

# {fn}_node PATH: the subcommands and options of one command, and the subcommand (if any) that
# takes a word naming neither (as `eda redrive DLQ` is `eda redrive run DLQ`).
{fn}_node() {{
    {pre}_cmds=()
    {pre}_opts=()
    {pre}_default=
    case "$1" in
{case(node_cases)}
        *) return 1 ;;
    esac
}}

# {fn}_option PATH OPTION: how many words OPTION takes, and how to complete them.
{fn}_option() {{
    {pre}_nargs=0
    {pre}_kind=none
    {pre}_choices=()
    case "$1|$2" in
{case(option_cases)}
    esac
}}

# {fn}_argument PATH INDEX: how to complete the INDEX-th positional argument (0-based).
{fn}_argument() {{
    {pre}_kind=none
    {pre}_choices=()
    case "$1" in
{case(argument_cases)}
    esac
}}

# {fn}_value CURRENT PREFIX: complete a value of the kind the helpers above chose.
{fn}_value() {{
    local word
    case ${pre}_kind in
        choice)
            for word in "${{{pre}_choices[@]}}"; do
                [[ $word == "$1"* ]] && COMPREPLY+=("$2$word")
            done
            ;;
        file|dir)
            [[ -z $2 ]] && compopt -o filenames 2>/dev/null
            while IFS= read -r word; do
                COMPREPLY+=("$2$word")
            done < <(if [[ ${pre}_kind == dir ]]; then compgen -d -- "$1"; else compgen -f -- "$1"; fi)
            ;;
    esac
}}

{fn}() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" path={_sh(prog)} word name
    local -i i=1 npos=0 dashdash=0 found
    local -a {pre}_cmds {pre}_opts {pre}_choices
    local {pre}_nargs {pre}_kind {pre}_default
    COMPREPLY=()
    {fn}_node "$path"
    while (( i < COMP_CWORD )); do
        word="${{COMP_WORDS[i]}}"
        i+=1
        if [[ -n ${pre}_default ]] && (( ! dashdash )); then
            found=0
            for name in "${{{pre}_cmds[@]}}" "${{{pre}_opts[@]}}"; do
                if [[ $name == "$word" ]]; then
                    found=1
                    break
                fi
            done
            if (( ! found )); then
                # the word goes to the default subcommand, as the group's own parser sends it
                path+=" ${pre}_default"
                npos=0
                {fn}_node "$path"
            fi
        fi
        if (( ! dashdash )) && [[ $word == -?* ]]; then
            if [[ $word == -- ]]; then
                dashdash=1
            elif [[ $word != *=* ]]; then
                {fn}_option "$path" "$word"
                if (( {pre}_nargs > 0 )); then
                    if [[ ${{COMP_WORDS[i]-}} == = ]]; then
                        # `--opt=value`, split at the = by COMP_WORDBREAKS
                        if (( i == COMP_CWORD )); then
                            {fn}_value "" ""
                            return 0
                        fi
                        i+=1
                    fi
                    if (( i + {pre}_nargs > COMP_CWORD )); then
                        {fn}_value "$cur" ""
                        return 0
                    fi
                    i+={pre}_nargs
                fi
            fi
            continue
        fi
        found=0
        if (( ! dashdash )); then
            for name in "${{{pre}_cmds[@]}}"; do
                if [[ $name == "$word" ]]; then
                    found=1
                    break
                fi
            done
        fi
        if (( found )); then
            path+=" $word"
            npos=0
            {fn}_node "$path"
        else
            npos+=1
        fi
    done
    if (( ! dashdash )) && [[ $cur == -?*=* ]]; then
        # `--opt=value` in one word (COMP_WORDBREAKS without =)
        {fn}_option "$path" "${{cur%%=*}}"
        (( {pre}_nargs > 0 )) && {fn}_value "${{cur#*=}}" "${{cur%%=*}}="
    elif (( ! dashdash )) && [[ $cur == -* ]]; then
        for word in "${{{pre}_opts[@]}}"; do
            [[ $word == "$cur"* ]] && COMPREPLY+=("$word")
        done
    elif (( ${{#{pre}_cmds[@]}} > 0 && npos == 0 )); then
        for word in "${{{pre}_cmds[@]}}"; do
            [[ $word == "$cur"* ]] && COMPREPLY+=("$word")
        done
    else
        {fn}_argument "$path" "$npos"
        {fn}_value "$cur" ""
    fi
    return 0
}}

complete -F {fn} {_sh(prog)}
"""


# -- zsh ----------------------------------------------------------------------------------------


def _zsh_desc(text: str) -> str:
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def _zsh_message(text: str) -> str:
    return text.replace("\\", "\\\\").replace(":", "\\:")


def _zsh_action(value: Value) -> str:
    if value.kind == "choice":
        return "(" + " ".join(re.sub(r"([^A-Za-z0-9_@%+=,./-])", r"\\\1", c) for c in value.choices) + ")"
    if value.kind == "file":
        return "_files"
    if value.kind == "dir":
        return "_files -/"
    return " "


def _zsh_option_specs(option: Option) -> list[str]:
    specs: list[str] = []
    exclusive = "" if option.multiple else "(" + " ".join(option.all_names) + ")"
    repeat = "*" if option.multiple else ""
    desc = f"[{_zsh_desc(option.help)}]" if option.help else ""
    for name in option.all_names:
        if option.nargs and name in option.names:
            suffix = "+" if len(name) == 2 and not name.startswith("--") else "="
            values = "".join(
                f":{_zsh_message(option.metavar)}:{_zsh_action(option.value)}" for _ in range(option.nargs)
            )
            specs.append(f"{exclusive}{repeat}{name}{suffix}{desc}{values}")
        else:
            specs.append(f"{exclusive}{repeat}{name}{desc}")
    return specs


def _zsh_argument_specs(node: Node) -> list[str]:
    specs: list[str] = []
    for _first, last, argument in node.argument_slots():
        message = _zsh_message(argument.help or argument.name)
        action = _zsh_action(argument.value)
        if last is None:
            specs.append(f"*:{message}:{action}")
            continue
        colons = ":" if argument.required else "::"
        specs.extend(f"{colons}{message}:{action}" for _ in range(argument.nargs))
    return specs


def _zsh_function(node: Node) -> list[str]:
    specs = [spec for option in node.options for spec in _zsh_option_specs(option)]
    lines = [f"{_ident(node)}() {{"]
    if not node.commands:
        specs += _zsh_argument_specs(node)
        lines.append("    _arguments -s -S : \\")
        lines += [f"        {_sh(spec)} \\" for spec in specs]
        lines[-1] = lines[-1].removesuffix(" \\")
        lines.append("}")
        return lines
    specs += ["1: :->command", "*:: :->args"]
    lines += [
        '    local curcontext="$curcontext" state state_descr line ret=1',
        "    typeset -A opt_args",
        # -A: after the subcommand, the words belong to the subcommand, not to this command
        "    _arguments -s -S -C -A '-*' : \\",
    ]
    lines += [f"        {_sh(spec)} \\" for spec in specs]
    lines[-1] = lines[-1].removesuffix(" \\") + " && ret=0"
    lines += [
        "    case $state in",
        "        (command)",
        "            local -a commands",
        "            commands=(",
    ]
    lines += [
        f"                {_sh(c.path[-1].replace(':', chr(92) + ':') + (':' + c.help if c.help else ''))}"
        for c in node.commands
    ]
    lines += [
        "            )",
        f"            _describe -t commands {_sh(node.key + ' command')} commands && ret=0",
        "            ;;",
        "        (args)",
        f'            curcontext="${{curcontext%:*:*}}:{"-".join(node.path)}-$words[1]:"',
        "            case $words[1] in",
    ]
    lines += [f"                ({_sh(c.path[-1])}) {_ident(c)} && ret=0 ;;" for c in node.commands]
    default = next((c for c in node.commands if c.path[-1] == node.default), None)
    if default is not None:
        lines += [
            "                (*)  # a word naming no subcommand goes to the default one, with the words after it",
            f"                    words=({_sh(default.path[-1])} \"$words[@]\"); (( CURRENT++ ))",
            f'                    curcontext="${{curcontext%:*:*}}:{"-".join(default.path)}:"',
            f"                    {_ident(default)} && ret=0 ;;",
        ]
    lines += [
        "            esac",
        "            ;;",
        "    esac",
        "    return ret",
        "}",
    ]
    return lines


def _zsh(root: Node) -> str:
    prog = root.path[0]
    body: list[str] = []
    for node in root.walk():
        body += _zsh_function(node)
        body.append("")
    functions = "\n".join(body)
    return f"""\
#compdef {prog}
# zsh completion for {prog}
#
# Generated by `{prog} completion zsh`: do not edit by hand, regenerate it instead.
# Static: the whole command tree is in this file, so pressing TAB never starts Python.
#
# Install: {prog} completion zsh > "${{fpath[1]}}/_{prog}"   (any directory in $fpath, as _{prog})
#      or: mkdir -p ~/.zfunc && {prog} completion zsh > ~/.zfunc/_{prog}
#          and in ~/.zshrc, before compinit: fpath=(~/.zfunc $fpath)
#      or: source this file from ~/.zshrc after compinit

{functions}
if [ "$funcstack[1]" = {_sh(_ident(root))} ]; then
    {_ident(root)} "$@"
else
    compdef {_ident(root)} {_sh(prog)}
fi
"""


# -- fish ---------------------------------------------------------------------------------------


def _fish_names(names: tuple[str, ...]) -> list[str]:
    flags: list[str] = []
    for name in names:
        if name.startswith("--") and len(name) > 2:
            flags.append(f"-l {_fq(name[2:])}")
        elif name.startswith("-") and len(name) == 2:
            flags.append(f"-s {_fq(name[1:])}")
        elif name.startswith("-") and len(name) > 2:
            flags.append(f"-o {_fq(name[1:])}")
    return flags


def _fish_value(value: Value) -> list[str]:
    if value.kind == "choice":
        return ["-f", "-a", _fq(" ".join(_fq(c) for c in value.choices))]
    if value.kind == "file":
        return ["-F"]
    if value.kind == "dir":
        return ["-f", "-a", _fq("(__fish_complete_directories)")]
    return ["-f"]


def _fish_list(items: list[str], indent: str) -> str:
    return "".join(f" \\\n{indent}{_fq(item)}" for item in items)


def _fish_script(root: Node) -> str:
    prog = root.path[0]
    fn = f"__{_var(prog)}"
    nodes = root.walk()

    by_nargs: dict[int, list[str]] = {}
    for node in nodes:
        for option in node.options:
            if option.nargs:
                by_nargs.setdefault(option.nargs, []).extend(f"{node.key}|{n}" for n in option.names)
    nargs_tests = [
        f"    if contains -- $argv[1]{_fish_list(keys, ' ' * 12)}\n"
        f"        echo {nargs}\n        return\n    end"
        for nargs, keys in sorted(by_nargs.items())
    ]
    commands = [child.key for node in nodes for child in node.commands]
    default_cases: list[str] = []
    for node in nodes:
        if node.default:
            known = [c.path[-1] for c in node.commands] + [n for o in node.options for n in o.all_names]
            default_cases.append(f"        case {_fq(node.key)}\n"
                                 f"            contains -- $argv[2]{_fish_list(known, ' ' * 16)}\n"
                                 f"            or echo {_fq(node.default)}")
    default_body = "\n".join(["    switch $argv[1]", *default_cases, "    end"] if default_cases else ["    return 0"])

    lines: list[str] = []
    for node in nodes:
        lines.append(f"# {node.key}")
        at = _fq(f"{fn}_at {_fq(node.key)}")
        first = _fq(f"{fn}_arg {_fq(node.key)} 0 0")
        for child in node.commands:
            describe = f" -d {_fq(child.help)}" if child.help else ""
            lines.append(f"complete -c {_fq(prog)} -n {first} -f -a {_fq(child.path[-1])}{describe}")
        for option in node.options:
            describe = f" -d {_fq(option.help)}" if option.help else ""
            value = " ".join(["-r", *_fish_value(option.value)]) if option.nargs else ""
            for names in (option.names, option.secondary):
                flags = " ".join(_fish_names(names))
                if flags:
                    takes = value if names is option.names else ""  # --no-x never takes a value
                    parts = [f"complete -c {_fq(prog)} -n {at}", flags, takes]
                    lines.append(" ".join(p for p in parts if p) + describe)
        if not node.commands:
            for start, last, argument in node.argument_slots():
                if argument.value.kind == "none":
                    continue
                where = _fq(f"{fn}_arg {_fq(node.key)} {start}" + ("" if last is None else f" {last}"))
                shown = argument.help and argument.value.kind == "choice"
                describe = f" -d {_fq(argument.help)}" if shown else ""
                action = " ".join(_fish_value(argument.value))
                lines.append(f"complete -c {_fq(prog)} -n {where} {action}{describe}")
        lines.append("")
    completions = "\n".join(lines)
    nargs_body = "\n".join(nargs_tests)

    return f"""\
# fish completion for {prog}
#
# Generated by `{prog} completion fish`: do not edit by hand, regenerate it instead.
# Static: the whole command tree is in this file, so pressing TAB never starts Python.
#
# Install: {prog} completion fish > ~/.config/fish/completions/{prog}.fish

# {fn}_nargs 'PATH|OPTION': how many words OPTION takes after it (0: a flag).
function {fn}_nargs
{nargs_body}
    echo 0
end

# {fn}_is_command 'PATH WORD': is WORD a subcommand of the command at PATH?
function {fn}_is_command
    contains -- $argv[1]{_fish_list(commands, ' ' * 8)}
end

# {fn}_default PATH WORD: the subcommand that takes WORD at PATH when WORD names neither a
# subcommand nor an option there (as `eda redrive DLQ` is `eda redrive run DLQ`).
function {fn}_default
{default_body}
end

# {fn}_state: the command the line is in ({fn}_path) and how many positional
# arguments it has so far ({fn}_npos). Cached per command line.
function {fn}_state
    set -l tokens (commandline -opc)
    set -l key (string escape -- $tokens | string join ' ')
    if set -q {fn}_key; and test "${fn}_key" = "$key"
        return
    end
    set -g {fn}_key $key
    set -l path {_fq(prog)}
    set -l npos 0
    set -l skip 0
    set -l dashdash 0
    set -e tokens[1]
    for token in $tokens
        if test $skip -gt 0
            set skip (math $skip - 1)
            continue
        end
        if test $dashdash -eq 0
            set -l default ({fn}_default "$path" $token)
            if test -n "$default"
                set path "$path $default"
                set npos 0
            end
        end
        if test $dashdash -eq 0; and string match -q -- '-?*' $token
            if test $token = --
                set dashdash 1
            else if not string match -q -- '*=*' $token
                set skip ({fn}_nargs "$path|$token")
            end
        else if test $dashdash -eq 0; and {fn}_is_command "$path $token"
            set path "$path $token"
            set npos 0
        else
            set npos (math $npos + 1)
        end
    end
    set -g {fn}_path $path
    set -g {fn}_npos $npos
end

# {fn}_at PATH: is the line in the command at PATH?
function {fn}_at
    {fn}_state
    test "${fn}_path" = "$argv[1]"
end

# {fn}_arg PATH FIRST [LAST]: is the current word positional argument FIRST..LAST of PATH?
function {fn}_arg
    {fn}_state
    test "${fn}_path" = "$argv[1]"; or return 1
    test ${fn}_npos -ge $argv[2]; or return 1
    not set -q argv[3]; or test ${fn}_npos -le $argv[3]
end

complete -c {_fq(prog)} -e
complete -c {_fq(prog)} -f

{completions}"""


# -- the entry point ----------------------------------------------------------------------------


def generate(shell: str, command: Command | None = None) -> str:
    """The completion script for `shell` (bash, zsh or fish), for `command` (default: eda's app).

    `command` is a click command (or typer's vendored equivalent); its name is the program name
    the script completes.
    """
    writers = {"bash": _bash, "zsh": _zsh, "fish": _fish_script}
    writer = writers.get(str(getattr(shell, "value", shell)).lower())
    if writer is None:
        raise UsageError(f"unsupported shell {str(shell)!r}: choose one of {', '.join(SHELLS)}")
    if command is None:
        from eda_cli.app import command as root  # the root command of eda itself

        command = root()
    return writer(build(command, command.name or "eda"))
