"""`eda init`: discover the account and write a pipeline file (eda.yaml) to edit and commit."""

from __future__ import annotations

from pathlib import Path

import typer

from eda_cli.commands._common import ctx_of, exit_with
from eda_cli.errors import ExitCode, UsageError


def init(
    ctx: typer.Context,
    config: str = typer.Option("eda.yaml", "--config", "-c", metavar="PATH",
                               help="Where to write the pipeline file ('-' for stdout)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
    correlation_id_path: list[str] = typer.Option(
        None, "--correlation-id-path", metavar="PATH",
        help="Where messages carry their correlation id (dotted path). Repeatable. "
             "Default: correlationId and detail.correlationId.",
    ),
) -> None:
    """Discover the account's pipeline and write it as a pipeline file: topics, queues, buses,
    tables (idempotency tables marked, with their TTL attribute), functions, the filters on event
    source mappings, state machines (sagas marked).

    `eda audit` and `eda topology` then read it (./eda.yaml by default) and look only at what it
    names. Read-only in AWS; writes one local file.

    Example: eda --region eu-west-1 init && git add eda.yaml
    """
    from eda_cli.core.pipeline import discover, parse_pipeline_text, render_pipeline_file
    from eda_cli.core.pipeline.writer import DEFAULT_CORRELATION_PATHS

    app_ = ctx_of(ctx)
    target = None if config == "-" else Path(config)
    if target is not None and target.is_dir():
        raise UsageError(f"{config} is a directory", hint="--config takes a file path, e.g. --config OTHER.yaml")
    # is_symlink: a broken link was put there too (and writing through it would create its target).
    if target is not None and (target.exists() or target.is_symlink()) and not force:
        what = "" if target.exists() else " (a broken symlink)"
        raise UsageError(f"{config} already exists{what}", hint="pass --force to overwrite it, or --config OTHER.yaml")
    session = app_.session
    pipeline = discover(session.client, session.region)
    paths = tuple(correlation_id_path) if correlation_id_path else DEFAULT_CORRELATION_PATHS
    text = render_pipeline_file(pipeline, paths)
    spec = parse_pipeline_text(text, config)  # what we write must read back: fail here, not in CI
    summary = {
        "path": config,
        "region": pipeline.region,
        "topics": len(spec.topics),
        "queues": len(spec.queues),
        "event_buses": len(spec.buses),
        "tables": len(spec.tables),
        "idempotency_tables": sum(1 for t in spec.tables if t.idempotency),
        "functions": len(spec.functions),
        "event_source_mappings": len(spec.mappings),
        "state_machines": len(spec.state_machines),
    }
    if target is None:
        app_.renderer.warn_problems(pipeline.problems)
        app_.renderer.raw(text)
    else:
        try:
            target.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {config}: {exc.strerror or exc}") from exc
        if app_.renderer.human:
            app_.renderer.warn_problems(pipeline.problems)
            app_.renderer.text(
                f"wrote {config}: {summary['topics']} topic(s), {summary['queues']} queue(s), "
                f"{summary['event_buses']} bus(es), {summary['tables']} table(s) "
                f"({summary['idempotency_tables']} idempotency), {summary['functions']} function(s), "
                f"{summary['state_machines']} state machine(s)"
            )
        else:
            app_.renderer.emit(summary, problems=pipeline.problems)
        app_.renderer.note(f"next: review {config}, then run `eda audit` (it reads ./eda.yaml by default)")
    exit_with(ExitCode.PARTIAL if pipeline.partial else ExitCode.OK)
