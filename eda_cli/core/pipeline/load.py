"""What topology, audit and trace share: find the pipeline file, discover, and narrow to the file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eda_cli.aws.clients import ClientFactory
from eda_cli.core.concurrency import DEFAULT_CONCURRENCY
from eda_cli.core.pipeline.discovery import discover
from eda_cli.core.pipeline.model import Pipeline
from eda_cli.core.pipeline.scope import missing_resources, scope_pipeline
from eda_cli.core.pipeline.spec import PipelineSpec, find_pipeline_file, load_pipeline_file


@dataclass(frozen=True)
class Loaded:
    #: The pipeline, narrowed to what the file names (the whole account without a file).
    pipeline: Pipeline
    spec: PipelineSpec
    #: Things to tell the user on stderr: the file describes another region.
    warnings: tuple[str, ...] = ()
    #: Resources the file names that the account does not have: (kind, name, line).
    missing: tuple[tuple[str, str, int], ...] = ()


def open_pipeline_file(
    config: str | None, region: str, *, cwd: Path | None = None
) -> tuple[PipelineSpec, tuple[str, ...]]:
    """The pipeline file (`config`, else ./eda.yaml when it exists; an empty spec without one) and
    the warnings it calls for. Reads no AWS, so an invalid file fails (exit 2) before any call."""
    path = find_pipeline_file(config, cwd)
    spec = load_pipeline_file(path) if path is not None else PipelineSpec()
    warnings = (f"{spec.path} describes region {spec.region}, but this is {region}",) if (
        spec.region and spec.region != region) else ()
    return spec, warnings


def load_pipeline(
    client_factory: ClientFactory,
    region: str,
    config: str | None = None,
    *,
    cwd: Path | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> Loaded:
    """Read the pipeline file (see `open_pipeline_file`), then discover and narrow."""
    spec, warnings = open_pipeline_file(config, region, cwd=cwd)
    full = discover(client_factory, region, concurrency=concurrency)
    missing = tuple(missing_resources(full, spec))
    return Loaded(scope_pipeline(full, spec), spec, warnings, missing)
