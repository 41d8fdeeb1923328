"""The root command: global options, the one error boundary, and the command groups."""

from __future__ import annotations

import os
import sys
from enum import Enum
from typing import Any

import typer
from typer.core import TyperGroup

from eda_cli import __version__, context
from eda_cli import _clicompat as compat
from eda_cli.context import SessionFactory
from eda_cli.errors import EdaError, ExitCode

#: Every command: name -> (module in eda_cli.commands, its Typer app or command function, the first
#: sentence of its help). In the order `eda --help` lists them: the on-call path first, then CI, then the
#: sandbox. A command's module is imported only when that command runs or its help is asked for, so a
#: new command costs no other invocation start-up time; `eda --help` lists the sentences from here
#: (tests/test_help.py checks them against the modules).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "dlq": ("dlq", "app", "Dead-letter queues: find them, measure them, peek at them."),
    "redrive": ("redrive", "app", "Move messages from a dead-letter queue back to their source (or --to a queue): "
                "at least once, never losing one, with an exact account of what moved."),
    "tail": ("tail", "app", "Watch live events on a bus, a topic or what feeds a queue, through temporary "
             "queues that are removed when the tail ends."),
    "probe": ("probe", "probe", "Send one event and report, per target, whether it arrived, how fast, and if "
              "not, why not."),
    "stream": ("stream", "app", "DynamoDB streams: tail them, filter them, see what changed."),
    "watch": ("watch", "watch", "A live board of what is on fire: DLQs, stream lag, failed executions, alarms."),
    "trace": ("trace", "trace", "Follow one correlation id through the pipeline and print one timeline and a "
              "verdict."),
    "saga": ("saga", "app", "Sagas: steps with compensations, run locally or on Step Functions with the same "
             "outcome."),
    "route": ("route", "app", "Route an event offline: which rules match it, and why the others miss it."),
    "schema": ("schema", "app", "Event schemas: infer them, check events and DLQs against them, catch "
               "breaking changes."),
    "audit": ("audit", "audit", "Check the pipeline against the rules teams forget: a DLQ on every queue, "
              "maxReceiveCount 3-5, an alarm on every DLQ, DLQ retention, queue policies that block SNS, "
              "EventBridge target DLQs and retry policies, stream and TTL settings, Lambda mapping failure "
              "handling, Step Functions Retry/Catch, type and logging."),
    "topology": ("topology", "topology", "Draw the pipeline: topic -> subscriptions -> queues -> DLQs; bus -> "
                 "rules -> targets; table -> stream -> consumers; state machines and what their tasks call."),
    "init": ("init", "init", "Discover the account's pipeline and write it as a pipeline file: topics, queues, "
             "buses, tables (idempotency tables marked, with their TTL attribute), functions, the filters on "
             "event source mappings, state machines (sagas marked)."),
    "iam-policy": ("iam_policy", "iam_policy", "Print the least-privilege IAM policy (JSON) for an eda command, "
                   "or for all of them."),
    "sandbox": ("sandbox", "app", "The embedded AWS sandbox: no account needed."),
    "demo": ("demo", "demo", "Run eda's diagnostics on the embedded sandbox: no AWS account, nothing left "
             "running."),
    "completion": ("completion", "completion", "Print a static completion script for SHELL (bash, zsh or "
                   "fish)."),
}


def load_command(name: str) -> Any:
    """The click command `name` (a key of COMMANDS), built from its module on first use."""
    import importlib

    module_name, attribute, _ = COMMANDS[name]
    target: Any = getattr(importlib.import_module(f"eda_cli.commands.{module_name}"), attribute)
    if isinstance(target, typer.Typer):  # a command group (even one of a single command: `stream tail`)
        target.rich_markup_mode = None  # plain click help, as the root's (no rich import on --help)
        command: Any = typer.main.get_group(target)
    else:  # a command function: a one-command app of its own
        single = typer.Typer(rich_markup_mode=None, add_completion=False)
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    for level in _walk(command):
        compat.plain_coercion(level)
    return command


def _walk(command: Any) -> list[Any]:
    """`command` and every command below it."""
    found = [command]
    for sub in getattr(command, "commands", {}).values():
        found += _walk(sub)
    return found


class GlobalOptionsGroup(TyperGroup):
    """A root command whose options are accepted anywhere: after any of its commands too."""

    #: The global options work after any command too (`eda dlq inspect -o json`), as in the AWS
    #: CLI; eda_cli.completions reads this to offer them after every subcommand.
    global_options_anywhere = True

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        # The one place global options are accepted anywhere: every command, every entry point.
        return super().parse_args(ctx, compat.hoist_global_options(self, ctx, args))


class _RootGroup(GlobalOptionsGroup):
    """eda's root command: global options anywhere, and its commands loaded lazily (COMMANDS)."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.commands[cmd_name] = load_command(cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The command list of `eda --help`, from COMMANDS: no command module is imported for it."""
        import importlib

        # click's own shortening, from the click the formatter belongs to (typer may vendor its own).
        utils = importlib.import_module(type(formatter).__module__.rsplit(".", 1)[0] + ".utils")
        make_default_short_help = utils.make_default_short_help
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, make_default_short_help(help_, limit)) for name, (_, _, help_) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


app = typer.Typer(
    name="eda",
    cls=_RootGroup,
    help=(
        "Diagnose event pipelines on AWS: dead-letter queues, redrive, DynamoDB streams, "
        "traces, sagas, routing and audits. The options below work after any command too.\n\n"
        "Example: eda --region eu-west-1 dlq inspect --fail-above 0"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain click help: no rich import on `eda --help` (startup speed; see benchmarks/RESULTS.md).
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    yaml = "yaml"
    csv = "csv"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"eda {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    profile: str | None = typer.Option(None, "--profile", envvar="AWS_PROFILE", help="AWS profile to use."),
    region: str | None = typer.Option(
        None, "--region", envvar=["AWS_REGION", "AWS_DEFAULT_REGION"], help="AWS region."
    ),
    endpoint_url: str | None = typer.Option(
        None,
        "--endpoint-url",
        envvar=["EDA_ENDPOINT_URL", "AWS_ENDPOINT_URL"],
        help="Send every AWS call to this endpoint (moto, LocalStack, a VPC endpoint).",
    ),
    role_arn: str | None = typer.Option(
        None, "--role-arn", envvar="EDA_ROLE_ARN", help="Assume this IAM role through STS first."
    ),
    regions: str | None = typer.Option(
        None, "--regions", envvar="EDA_REGIONS", metavar="REGION,...|all",
        help="Read commands: run in each of these regions at once (all: every region enabled for the "
             "account). Example: --regions us-east-1,eu-west-1",
    ),
    accounts: str | None = typer.Option(
        None, "--accounts", envvar="EDA_ACCOUNTS", metavar="ACCOUNT,...|org",
        help="Read commands: run in each of these accounts at once, through --role-name (org: every "
             "ACTIVE account of the organization).",
    ),
    role_name: str | None = typer.Option(
        None, "--role-name", envvar="EDA_ROLE_NAME", metavar="NAME",
        help="With --accounts: the role eda assumes in each account (arn:aws:iam::ACCOUNT:role/NAME).",
    ),
    output: OutputFormat = typer.Option(
        OutputFormat.table, "--output", "-o", envvar="EDA_OUTPUT", help="Output format.",
        case_sensitive=False,
    ),
    no_color: bool = typer.Option(False, "--no-color", envvar="NO_COLOR", help="No colour in output."),
    debug: bool = typer.Option(False, "--debug", envvar="EDA_DEBUG", help="Show tracebacks and AWS calls."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Diagnose event pipelines on AWS.

    Example: eda --region eu-west-1 dlq inspect --fail-above 0
    """
    source = ctx.get_parameter_source("output")
    explicit = source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT")
    from eda_cli.aws.scopes import parse_scope_options
    from eda_cli.aws.session import AwsSettings

    settings = AwsSettings(profile=profile, region=region, endpoint_url=endpoint_url, role_arn=role_arn)
    invocation = ctx.obj if isinstance(ctx.obj, context.Invocation) else context.Invocation()
    ctx.obj = invocation.app = context.AppContext(
        settings=settings,
        output=output.value,
        color=not no_color,
        debug=debug,
        output_explicit=explicit,
        session_factory=invocation.session_factory,
        scope_options=parse_scope_options(regions, accounts, role_name),
    )
    if ctx.obj.multi_scope and ctx.invoked_subcommand not in context.SCOPED_COMMANDS:
        ctx.obj.refuse_scopes(f"eda {ctx.invoked_subcommand}")
    if debug:
        import logging

        logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(name)s %(message)s")
        for noisy in ("botocore.hooks", "botocore.loaders", "botocore.parsers", "urllib3"):
            logging.getLogger(noisy).setLevel(logging.INFO)


def command() -> Any:
    """The root click command: what every entry point runs (`run`), and what completion and the
    docs walk."""
    root = typer.main.get_command(app)
    compat.plain_coercion(root, {"profile": str, "region": str, "endpoint_url": str, "role_arn": str,
                                 "regions": str, "accounts": str, "role_name": str,
                                 "output": _output_format, "no_color": compat.flag, "debug": compat.flag,
                                 "version": compat.flag})
    return root


def _output_format(value: str | OutputFormat) -> OutputFormat:
    if isinstance(value, OutputFormat):  # the default
        return value
    try:
        return OutputFormat(value.lower())
    except ValueError:
        choices = ", ".join(repr(f.value) for f in OutputFormat)
        raise ValueError(f"{value!r} is not one of {choices}.") from None


# -- the one error boundary --------------------------------------------------------------------


def _err(line: str) -> None:
    sys.stderr.write(line.rstrip("\n") + "\n")
    sys.stderr.flush()


def _report(error: EdaError) -> int:
    _err(f"eda: error: {error.message}")
    if error.hint:
        _err(f"  hint: {error.hint}")
    return int(error.exit_code)


def _usage(exc: Any) -> int:
    """Click's usage error in at most three lines: usage, the error, where to get help."""
    if type(exc).__name__ == "NoArgsIsHelpError":  # `eda` or `eda dlq` alone: the help, not an "Error:"
        _err(exc.format_message())
        return int(exc.exit_code)
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        _err(ctx.get_usage())
        _err(f"Error: {exc.format_message()}")
        _err(f"Try '{ctx.command_path} {ctx.help_option_names[0]}' for help.")
    else:
        _err(f"Error: {exc.format_message()}")
    return int(exc.exit_code)


def _env_flag(name: str) -> bool:
    """An environment flag read as the root option reads it (`compat.flag`); a bad value is not set
    here (the option reports it)."""
    try:
        return compat.flag(os.environ.get(name, ""))
    except ValueError:
        return False


def run(argv: list[str] | None = None, *, session_factory: SessionFactory | None = None) -> int:
    """Run eda with `argv` (default: the process's arguments) and return its exit code: the one way a
    command runs (the `eda` script, `python -m eda_cli`, `eda demo`'s steps, tests). Every exception
    ends here. `session_factory` builds the AWS session from the global options (tests inject one)."""
    args = list(sys.argv[1:] if argv is None else argv)
    options = args[: args.index("--")] if "--" in args else args  # anywhere, but not after `--`
    debug = "--debug" in options or _env_flag("EDA_DEBUG")
    invocation = context.Invocation(session_factory) if session_factory else context.Invocation()
    try:
        result: Any = command().main(args=args, prog_name="eda", standalone_mode=False, obj=invocation)
        return int(result) if isinstance(result, int) else 0
    except compat.EXIT as exc:
        return compat.exit_code_of(exc)
    except compat.ABORT:
        return int(ExitCode.INTERRUPTED)
    except KeyboardInterrupt:
        return int(ExitCode.INTERRUPTED)
    except compat.CLICK_ERROR as exc:
        return _usage(exc)
    except EdaError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        return _report(exc)
    except BrokenPipeError:
        # `eda ... | head`: the reader left; say nothing, like other Unix tools.
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115
        return 0
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception as exc:
        if debug:
            import traceback

            traceback.print_exc()
        session = invocation.app.created_session if invocation.app is not None else None
        from eda_cli.aws.errors import translate

        try:
            translated = translate(exc, session)
        except Exception:  # translating must never be the thing that crashes
            translated = None
        if translated is not None:
            return _report(translated)
        return _report(
            EdaError(
                f"internal error: {type(exc).__name__}: {exc}",
                hint="this is a bug in eda; rerun with --debug and report the traceback",
                exit_code=ExitCode.INTERNAL,
            )
        )


def main() -> None:
    exit_now(run())


def exit_now(code: int) -> None:
    """End the process with `code` once everything is written, without Python's module teardown.

    With botocore loaded, the interpreter spends about 50 ms freeing every module's objects after the last
    line is out, which is most of what a quick command's user waits for at its end. Everything that teardown
    would finish first is done here, in the interpreter's own order: non-daemon threads are waited for (and
    executors told to stop: threading's own shutdown), atexit handlers run (logging's flush of the --debug
    log among them), stdout and stderr are flushed. Files eda writes are closed (or flushed and fsync'd, as
    the archive is) by the code that wrote them. Where that cannot be done as the interpreter would (a
    Python without threading._shutdown or atexit._run_exitfuncs), under coverage or -X dev, or with
    EDA_FULL_EXIT=1, the process exits the ordinary way."""
    import atexit
    import threading

    shutdown = getattr(threading, "_shutdown", None)
    run_exitfuncs = getattr(atexit, "_run_exitfuncs", None)
    if (shutdown is None or run_exitfuncs is None or sys.flags.dev_mode or "coverage" in sys.modules
            or _env_flag("EDA_FULL_EXIT") or threading.current_thread() is not threading.main_thread()):
        sys.exit(code)
    shutdown()
    run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a reader that left (`eda ... | head`), a closed stream: nothing to add
            pass
    os._exit(code & 0xFF)  # as sys.exit(code) would: the low byte is the status
