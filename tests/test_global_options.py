"""Global options go anywhere: before the command, between group and subcommand, or after it.

The root command lifts them out of every subcommand's words before click parses them
(eda_cli/_clicompat.py, `hoist_global_options`). These tests run over every command the app
registers, found by walking the tree, so a new command is covered without being listed here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
import typer

from eda_cli import __version__
from eda_cli import _clicompat as compat
from eda_cli.app import GlobalOptionsGroup, command
from tests.fixtures.cli import Result, run_cli

ROOT = command()  # as every entry point builds it (plain coercion of the root options included)


def _paths(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group below `command`, as the words that reach it: ("dlq", "peek")."""
    found: list[tuple[str, ...]] = [path] if path else []
    if hasattr(command, "list_commands"):  # the root loads its commands lazily: ask, don't look
        ctx = command.context_class(command, info_name=path[-1] if path else "eda")
        for name in sorted(command.list_commands(ctx)):
            found += _paths(command.get_command(ctx, name), (*path, name))
    return found


PATHS = _paths(ROOT)
IDS = [" ".join(p) for p in PATHS]

#: Every global option with a value, and what the root command should make of it.
GLOBAL_ARGS = [
    "--profile", "ops", "--region", "eu-west-3", "--endpoint-url", "http://127.0.0.1:9",
    "--role-arn", "arn:aws:iam::123456789012:role/oncall", "-o", "json", "--no-color", "--debug",
]
EXPECTED = {
    "profile": "ops", "region": "eu-west-3", "endpoint_url": "http://127.0.0.1:9",
    "role_arn": "arn:aws:iam::123456789012:role/oncall", "output": "json", "no_color": True, "debug": True,
}


def _root_params(argv: list[str]) -> dict[str, Any]:
    """What the root command parses out of `argv` (parsing only: nothing runs)."""
    ctx = ROOT.make_context("eda", list(argv))
    return {k: getattr(v, "value", v) for k, v in ctx.params.items()}


def _hoist(argv: list[str]) -> list[str]:
    return compat.hoist_global_options(ROOT, ROOT.make_context("eda", [], resilient_parsing=True), argv)


def test_the_tree_is_found() -> None:
    expected = {("dlq",), ("dlq", "inspect"), ("redrive", "run"), ("saga", "run"), ("trace",), ("completion",)}
    assert expected <= set(PATHS)


# -- every command: accepted after it, between group and subcommand, and they reach the root --------


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_global_options_reach_the_root_from_every_position(path: tuple[str, ...]) -> None:
    for at in range(1, len(path) + 1):  # after each word: `dlq -o json inspect`, `dlq inspect -o json`
        argv = [*path[:at], *GLOBAL_ARGS, *path[at:]]
        assert _hoist(argv) == [*GLOBAL_ARGS, *path], argv
        params = _root_params(argv)
        assert {k: params[k] for k in EXPECTED} == EXPECTED, argv


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_every_command_accepts_global_options_after_it(path: tuple[str, ...], cli: Callable[..., Result]) -> None:
    # --debug aside: in-process it would switch on DEBUG logging for the rest of the test session
    # (test_debug_after_the_command covers it in a subprocess).
    after = [a for a in GLOBAL_ARGS if a != "--debug"]
    result = cli(*path, "--help", *after)
    assert result.code == 0, result.stderr
    assert result.stdout.startswith(f"Usage: eda {' '.join(path)} "), result.stdout[:200]
    # ... and the value really goes to the root's option: a bad one is the root's usage error
    result = cli(*path, "--help", "--output=xml")
    assert result.code == 2 and "Invalid value for '--output' / '-o'" in result.stderr, result.stderr
    assert "No such option" not in result.stderr
    result = cli(*path, "--version")
    assert (result.code, result.stdout.strip()) == (0, f"eda {__version__}"), result.stderr


@pytest.mark.parametrize(
    "words",
    [["-o", "json"], ["-ojson"], ["--output", "json"], ["--output=json"]],
    ids=["-o json", "-ojson", "--output json", "--output=json"],
)
def test_every_spelling_of_a_value(words: list[str]) -> None:
    assert _root_params(["dlq", "inspect", *words])["output"] == "json"
    assert _hoist(["dlq", "inspect", "q1", *words, "q2"]) == [*words, "dlq", "inspect", "q1", "q2"]


def test_the_last_occurrence_wins_wherever_each_is() -> None:
    assert _root_params(["-o", "table", "dlq", "-o", "csv", "list", "-o", "json"])["output"] == "json"
    assert _root_params(["--region", "eu-west-1", "dlq", "list", "--region", "eu-west-2"])["region"] == "eu-west-2"


def test_the_command_line_beats_the_environment_after_the_command_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDA_OUTPUT", "csv")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    params = _root_params(["dlq", "list", "-o", "json", "--region", "eu-west-1"])
    assert (params["output"], params["region"]) == ("json", "eu-west-1")


def test_the_command_keeps_its_own_options_and_arguments() -> None:
    # values that look like options stay values; clusters are split as click splits them
    assert _hoist(["redrive", "run", "q", "--filter", "-o", "-o", "json"]) == [
        "-o", "json", "redrive", "run", "q", "--filter", "-o"]
    assert _hoist(["redrive", "run", "q", "--filter=-o", "--region", "--x"]) == [
        "--region", "--x", "redrive", "run", "q", "--filter=-o"]
    assert _hoist(["dlq", "peek", "q", "-n", "-o", "--group-by", "--region"]) == [
        "dlq", "peek", "q", "-n", "-o", "--group-by", "--region"]
    assert _hoist(["dlq", "peek", "q", "-n5", "-ojson"]) == ["-ojson", "dlq", "peek", "q", "-n5"]
    assert _hoist(["redrive", "run", "q", "-yojson"]) == ["-ojson", "redrive", "run", "q", "-y"]
    assert _hoist(["saga", "deploy", "f.yaml", "-yo", "yaml"]) == ["-o", "yaml", "saga", "deploy", "f.yaml", "-y"]
    # root options with a value that is also a command's name are read as values
    assert _hoist(["--profile", "dlq", "dlq", "list", "-o", "json"]) == [
        "--profile", "dlq", "-o", "json", "dlq", "list"]


def test_a_default_subcommand_reads_on_with_its_own_options(cli: Callable[..., Result]) -> None:
    # `eda redrive DLQ` is `eda redrive run DLQ`: what follows the DLQ is read with run's options
    assert _hoist(["redrive", "q", "--dry-run", "--endpoint-url", "http://x", "--filter", "-o"]) == [
        "--endpoint-url", "http://x", "redrive", "q", "--dry-run", "--filter", "-o"]
    assert _hoist(["redrive", "--state-machine", "sm", "-o", "json"]) == [
        "-o", "json", "redrive", "--state-machine", "sm"]
    assert _hoist(["redrive", "status", "q", "-o", "json"]) == ["-o", "json", "redrive", "status", "q"]
    # end to end: the global option after the DLQ is the global one (not "No such option")
    result = cli("redrive", "q", "--dry-run", "--endpoint-url", "http://127.0.0.1:1", "--region", "us-east-1")
    assert "No such option" not in result.stderr and result.code == 3, result.stderr


def test_unknown_words_are_left_for_click_to_report(cli: Callable[..., Result]) -> None:
    assert _hoist(["dlq", "inspect", "--bogus", "-o", "json"]) == ["-o", "json", "dlq", "inspect", "--bogus"]
    result = cli("dlq", "inspect", "--bogus", "-o", "json")
    assert result.code == 2 and "No such option: --bogus" in result.stderr
    result = cli("dlq", "nonsense", "-o", "json")
    assert result.code == 2 and "No such command 'nonsense'" in result.stderr


def test_a_group_with_global_options_but_no_subcommand_prints_its_help(cli: Callable[..., Result]) -> None:
    assert cli("dlq", "-o", "json").stderr == cli("dlq").stderr != ""


# -- `--`: everything after it is positional -------------------------------------------------------


def test_nothing_moves_from_after_a_double_dash() -> None:
    assert _hoist(["iam-policy", "--", "-o", "json"]) == ["iam-policy", "--", "-o", "json"]
    assert _hoist(["iam-policy", "-o", "json", "--", "dlq", "--region", "x"]) == [
        "-o", "json", "iam-policy", "--", "dlq", "--region", "x"]
    assert _root_params(["iam-policy", "--", "-o", "json"])["output"] == "table"


def test_double_dash_end_to_end(cli: Callable[..., Result]) -> None:
    result = cli("iam-policy", "-o", "json", "--", "dlq", "inspect")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["Version"] == "2012-10-17"
    # after --, `-o json` is the command's positional argument: iam-policy names no such command
    result = cli("iam-policy", "--", "dlq", "-o", "json")
    assert result.code == 2 and "dlq -o json" in result.stderr, result.stderr


# -- a global option without its value: click's usual one-line usage error ---------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["dlq", "inspect", "-o"], ["dlq", "list", "--region"], ["dlq", "--endpoint-url"],
        ["saga", "run", "f.yaml", "--role-arn"], ["redrive", "run", "q", "-y", "--profile"],
        ["redrive", "run", "q", "-yo"],
    ],
    ids=lambda args: " ".join(args),
)
def test_a_missing_value_is_a_one_line_usage_error(args: list[str], cli: Callable[..., Result]) -> None:
    result = cli(*args)
    name = args[-1] if args[-1] != "-yo" else "-o"
    assert result.code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"Error: Option '{name}' requires an argument."]
    # the same words as click's own for the same slip before the command
    assert cli(name).stderr == result.stderr


def test_a_missing_value_in_a_real_shell() -> None:
    result = run_cli("dlq", "inspect", "-o")
    assert result.code == 2 and result.stderr.strip() == "Error: Option '-o' requires an argument.", result.stderr


# -- a command's own option of the same name wins at that command ------------------------------------


def _toy() -> tuple[Any, dict[str, Any]]:
    toy = typer.Typer(name="toy", cls=GlobalOptionsGroup, add_completion=False)
    seen: dict[str, Any] = {}

    @toy.callback()
    def root(
        output: str = typer.Option("table", "--output", "-o"),
        region: str | None = typer.Option(None, "--region"),
    ) -> None:
        seen.update(output=output, region=region)

    @toy.command("export")
    def export(path: str = typer.Option("-", "--output", help="Write here.")) -> None:
        """Export."""
        seen["path"] = path

    @toy.command("show")
    def show() -> None:
        """Show."""

    return typer.main.get_command(toy), seen


def test_a_command_that_declares_the_name_keeps_it() -> None:
    toy, seen = _toy()
    toy.main(["export", "--output", "out.json", "-o", "json", "--region", "r"], standalone_mode=False)
    assert seen == {"output": "json", "region": "r", "path": "out.json"}
    toy.main(["show", "--output", "csv"], standalone_mode=False)
    assert seen["output"] == "csv"


def test_no_eda_command_shadows_a_global_option() -> None:
    """A tripwire: if a command declares --output, --region, -o, ... itself, that name stops being
    the global option after that command. Make that choice on purpose, and say so in the README's
    "Global options" section, before updating this test."""
    names = {n for p in compat.global_options(ROOT) for n in (*p.opts, *(p.secondary_opts or ()))}

    def walk(command: Any, path: str) -> list[str]:
        clashes = [
            f"{path}: {sorted(names & {*p.opts, *(getattr(p, 'secondary_opts', None) or ())})}"
            for p in command.params
            if p.param_type_name == "option" and names & {*p.opts, *(getattr(p, "secondary_opts", None) or ())}
        ]
        for name, sub in getattr(command, "commands", {}).items():
            clashes += walk(sub, f"{path} {name}")
        return clashes

    clashes = [c for name, sub in ROOT.commands.items() for c in walk(sub, f"eda {name}")]
    assert clashes == []


# -- end to end, and start-up ----------------------------------------------------------------------


def test_dlq_inspect_with_global_options_after_it(eda: Callable[..., Result], boto: Any, endpoint: str) -> None:
    sqs = boto("sqs")
    dlq = sqs.create_queue(QueueName="orders-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.create_queue(QueueName="orders", Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "3"})})
    sqs.send_message(QueueUrl=dlq, MessageBody="{}")
    result = eda("dlq", "inspect", "-o", "json", "--endpoint-url", endpoint, endpoint_url=None)
    assert result.code == 0, result.stderr
    rows = result.items()
    assert [row["queue"] for row in rows] == ["orders-dlq"], rows
    # between group and subcommand, with the = form, and a region the endpoint serves
    result = eda("dlq", f"--endpoint-url={endpoint}", "--region", "us-east-1", "list", "-ojson", endpoint_url=None)
    assert result.code == 0, result.stderr
    assert [row["queue"] for row in result.items()] == ["orders-dlq"]


def test_debug_after_the_command(endpoint: str) -> None:
    result = run_cli("dlq", "peek", "ghost-dlq", "--endpoint-url", endpoint, "--debug")
    assert result.code == 3
    assert "Traceback" in result.stderr


def test_global_options_after_help_import_no_boto3() -> None:
    probe = (
        "import sys\n"
        "from eda_cli.app import run\n"
        "for argv in (['dlq', 'peek', '--help', '-o', 'json', '--region', 'x'], ['dlq', '-ojson', '--help'],\n"
        "             ['saga', 'run', '--version'], ['dlq', 'inspect', '-o']):\n"
        "    run(argv)\n"
        "print('BOTO3_IMPORTED' if 'boto3' in sys.modules or 'botocore' in sys.modules else 'CLEAN')\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("CLEAN"), out[-500:]


def test_global_option_values_from_flags_and_the_environment_convert_without_typer_s_coercion() -> None:
    """The root's options convert with plain functions (no pydantic): the same values and errors."""
    from eda_cli._clicompat import flag

    assert [flag(v) for v in (True, "1", "TRUE", "yes", "on", False, "0", "false", "no", "off", "")] == \
        [True] * 5 + [False] * 6
    with pytest.raises(ValueError):
        flag("maybe")
    params = _root_params(["-o", "JSON", "--no-color"])
    assert (params["output"], params["no_color"], params["debug"]) == ("json", True, False)
    bad = run_cli("-o", "bogus", "dlq", "list")
    assert bad.code == 2 and "'bogus' is not one of 'table', 'json', 'jsonl', 'yaml', 'csv'" in bad.stderr
    env = run_cli("dlq", "list", env={"EDA_DEBUG": "maybe"})
    assert env.code == 2 and "EDA_DEBUG" in env.stderr and "not a valid boolean" in env.stderr
