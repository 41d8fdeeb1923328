"""What every command gets from the root command: settings, one AWS session, one renderer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from eda_cli.aws.scopes import ScopeOptions

if TYPE_CHECKING:  # imported when first used: `eda --help` and `eda dlq --help` need neither
    import typer

    from eda_cli.aws.scopes import ScopePlan
    from eda_cli.aws.session import AwsSession, AwsSettings
    from eda_cli.render import Renderer


#: The top-level commands with a subcommand that runs in several scopes (`--regions`, `--accounts`); the
#: root refuses the scope options for every other command before it starts. Within these, a subcommand
#: that works in one scope refuses them when it asks for the session (`AppContext.session`).
SCOPED_COMMANDS = frozenset({"dlq", "audit", "topology", "trace", "watch"})

#: Builds the invocation's AWS session from its settings (the global options).
SessionFactory = Callable[["AwsSettings"], "AwsSession"]


def _aws_session(settings: AwsSettings) -> AwsSession:
    from eda_cli.aws.session import AwsSession

    return AwsSession(settings)


@dataclass
class AppContext:
    settings: AwsSettings
    output: str = "table"
    color: bool = True
    debug: bool = False
    #: The output format was chosen explicitly (flag or EDA_OUTPUT), not defaulted.
    output_explicit: bool = False
    session_factory: SessionFactory = _aws_session
    #: `--regions`, `--accounts`, `--role-name`: the scopes of a read command (none given: one scope).
    scope_options: ScopeOptions = field(default_factory=ScopeOptions)
    _renderer: Renderer | None = field(default=None, init=False, repr=False)
    _session: AwsSession | None = field(default=None, init=False, repr=False)
    _plan: ScopePlan | None = field(default=None, init=False, repr=False)

    @property
    def renderer(self) -> Renderer:
        if self._renderer is None:
            from eda_cli.render import Renderer

            self._renderer = Renderer(output=self.output, color=self.color)
        return self._renderer

    @property
    def session(self) -> AwsSession:
        """The invocation's one session: what a single-scope command works in. With scope options given,
        a UsageError (exit 2) before any AWS call: the command works in one account and region."""
        if self.scope_options.given:
            self.refuse_scopes()
        return self._base_session()

    @property
    def multi_scope(self) -> bool:
        """Whether `--regions`/`--accounts` were given: a scoped command then runs in `scopes()`."""
        return self.scope_options.given

    def scopes(self) -> ScopePlan:
        """The scopes the options name, each with its own session (planned once per invocation)."""
        if self._plan is None:
            from eda_cli.aws.scopes import plan_scopes

            self._plan = plan_scopes(self._base_session(), self.scope_options)
        return self._plan

    def refuse_scopes(self, command: str | None = None) -> None:
        """The UsageError of a command that works in one account and region, given scope options."""
        from eda_cli.errors import UsageError

        command = command or _command_path() or "this command"
        raise UsageError(f"{command} works in one account and region: it does not take "
                         f"{self.scope_options.describe()}",
                         hint="pick one with --region (and --role-arn for another account); --regions and --accounts "
                              "are for the read commands: dlq list, dlq inspect, audit, topology, trace, watch")

    def _base_session(self) -> AwsSession:
        if self._session is None:
            self._session = self.session_factory(self.settings)
        return self._session

    @property
    def created_session(self) -> AwsSession | None:
        """The session if a command asked for one (for the error boundary to name region and endpoint)."""
        return self._session


@dataclass
class Invocation:
    """One run of eda (`app.run`): handed to the root command as click's `obj`, which the root callback
    replaces with the AppContext it builds (kept here too, for the error boundary). No global state."""

    session_factory: SessionFactory = _aws_session
    app: AppContext | None = None


def _command_path() -> str | None:
    """The running command's path (`eda dlq peek`), from the click typer runs on."""
    import importlib

    for name in ("typer._click.globals", "click.globals"):
        try:
            current = importlib.import_module(name).get_current_context(silent=True)
        except ImportError:
            continue
        if current is not None:
            return str(current.command_path)
    return None


def app_context(ctx: typer.Context) -> AppContext:
    obj = ctx.find_root().obj
    if not isinstance(obj, AppContext):  # a command invoked without the root callback (tests)
        from eda_cli.aws.session import AwsSettings

        obj = AppContext(settings=AwsSettings())
        ctx.find_root().obj = obj
    return obj
