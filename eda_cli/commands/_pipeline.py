"""What the commands that read a pipeline (audit, topology, init, trace) share: the --config option
and loading the pipeline it names, with the file's warnings on stderr and errors worded for the flag."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from eda_cli.context import AppContext
    from eda_cli.core.pipeline import Loaded

CONFIG_HELP = "Pipeline file naming the resources to look at (default: ./eda.yaml when it exists)."


def config_option(help: str = CONFIG_HELP) -> Any:
    """`--config/-c PATH`: the pipeline file to read."""
    return typer.Option(None, "--config", "-c", help=help, metavar="PATH")


@contextmanager
def config_errors(option: str = "--config") -> Iterator[None]:
    """Word the core's "this pipeline file cannot be used" errors for the command's option."""
    from eda_cli.core.pipeline import PipelineFileUnusable

    try:
        yield
    except PipelineFileUnusable as exc:
        exc.hint = exc.hint_for(option)
        raise


def load(app_: AppContext, config: str | None) -> Loaded:
    """Discover the pipeline (narrowed to the pipeline file) and tell stderr what the file warns about."""
    from eda_cli.core.pipeline import load_pipeline

    session = app_.session
    with config_errors():
        loaded = load_pipeline(session.client, session.region, config)
    for warning in loaded.warnings:
        app_.renderer.warn(warning)
    return loaded
