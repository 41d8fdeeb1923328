"""What every command gets from the root command: settings, one AWS session, one renderer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when first used: `eda --help` and `eda dlq --help` need neither
    import typer

    from eda_cli.aws.session import AwsSession, AwsSettings
    from eda_cli.render import Renderer


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
    _renderer: Renderer | None = field(default=None, init=False, repr=False)
    _session: AwsSession | None = field(default=None, init=False, repr=False)

    @property
    def renderer(self) -> Renderer:
        if self._renderer is None:
            from eda_cli.render import Renderer

            self._renderer = Renderer(output=self.output, color=self.color)
        return self._renderer

    @property
    def session(self) -> AwsSession:
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


def app_context(ctx: typer.Context) -> AppContext:
    obj = ctx.find_root().obj
    if not isinstance(obj, AppContext):  # a command invoked without the root callback (tests)
        from eda_cli.aws.session import AwsSettings

        obj = AppContext(settings=AwsSettings())
        ctx.find_root().obj = obj
    return obj
