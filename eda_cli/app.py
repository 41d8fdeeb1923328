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
from eda_cli.aws.session import AwsSettings
from eda_cli.errors import EdaError, ExitCode

#: The order `eda --help` lists commands in: the on-call path first, then CI, then the sandbox.
COMMAND_ORDER = ("dlq", "redrive", "stream", "trace", "saga", "route", "audit", "topology", "init",
                 "iam-policy", "sandbox", "demo", "completion")


class _RootGroup(TyperGroup):
    """The root command: lists its commands in COMMAND_ORDER, and takes its options anywhere."""

    #: The global options work after any command too (`eda dlq inspect -o json`), as in the AWS
    #: CLI; eda_cli.completions reads this to offer them after every subcommand.
    global_options_anywhere = True

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        rank = {name: i for i, name in enumerate(COMMAND_ORDER)}
        return sorted(names, key=lambda name: (rank.get(name, len(rank)), name))

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        # The one place global options are accepted anywhere: every command, every entry point.
        return super().parse_args(ctx, compat.hoist_global_options(self, ctx, args))


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
    settings = AwsSettings(profile=profile, region=region, endpoint_url=endpoint_url, role_arn=role_arn)
    ctx.obj = context.AppContext(
        settings=settings,
        output=output.value,
        color=not no_color,
        debug=debug,
        output_explicit=explicit,
    )
    context.CURRENT = ctx.obj
    if debug:
        import logging

        logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(name)s %(message)s")
        for noisy in ("botocore.hooks", "botocore.loaders", "botocore.parsers", "urllib3"):
            logging.getLogger(noisy).setLevel(logging.INFO)


def _register() -> None:
    """The command tree, in the order `eda --help` lists it: the on-call path first."""
    from eda_cli.commands import (
        audit,
        completion,
        demo,
        dlq,
        iam_policy,
        init,
        redrive,
        route,
        saga,
        sandbox,
        stream,
        topology,
        trace,
    )

    app.add_typer(dlq.app, name="dlq")
    app.add_typer(redrive.app, name="redrive")
    app.add_typer(stream.app, name="stream")
    app.command("trace")(trace.trace)
    app.add_typer(saga.app, name="saga")
    app.add_typer(route.app, name="route")
    app.command("audit")(audit.audit)
    app.command("topology")(topology.topology)
    app.command("init")(init.init)
    app.command("iam-policy")(iam_policy.iam_policy)
    app.add_typer(sandbox.app, name="sandbox")
    app.command("demo")(demo.demo)
    app.command("completion")(completion.completion)


_register()


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


def run(argv: list[str] | None = None) -> int:
    """Run eda with `argv` and return its exit code; every exception ends here."""
    args = list(sys.argv[1:] if argv is None else argv)
    options = args[: args.index("--")] if "--" in args else args  # anywhere, but not after `--`
    debug = "--debug" in options or os.environ.get("EDA_DEBUG", "").lower() in ("1", "true", "yes")
    command = typer.main.get_command(app)
    try:
        result: Any = command.main(args=args, prog_name="eda", standalone_mode=False)
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
        session = context.CURRENT._session if context.CURRENT is not None else None
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
    finally:
        context.CURRENT = None


def main() -> None:
    sys.exit(run())
