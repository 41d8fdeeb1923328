"""`eda sandbox`: the embedded AWS (moto's server on 127.0.0.1), seeded with the demo pipeline."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import typer

from eda_cli.commands._common import confirm, ctx_of
from eda_cli.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from eda_cli.sandbox.demo_pipeline import DemoPipeline

app = typer.Typer(
    help="The embedded AWS sandbox: no account needed.\n\nExample: eda sandbox start --port 4566",
    no_args_is_help=True,
)

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


@app.command("start")
def start(
    ctx: typer.Context,
    port: int = typer.Option(0, "--port", "-p", min=0, max=65535, help="Port on 127.0.0.1 (0: a free one)."),
    seed: bool = typer.Option(True, "--seed/--no-seed", help="Seed the demo pipeline."),
) -> None:
    """Run the sandbox (moto's server on 127.0.0.1) until Ctrl-C, seeded with the demo pipeline.

    Prints the endpoint and the environment to point eda (or the AWS CLI) at it.

    Example: eda sandbox start --port 4566
    """
    from eda_cli.sandbox.server import SANDBOX_ENV, SandboxError, SandboxServer

    app_ = ctx_of(ctx)
    out = app_.renderer
    try:
        server = SandboxServer(port=port)
        server.start()
    except SandboxError as exc:
        raise UsageError(str(exc), hint="choose another --port, or 0 for a free one") from exc
    try:
        if seed:
            pipeline = _seed(server.endpoint_url, SANDBOX_ENV["AWS_REGION"])
            out.note(f"seeded the demo pipeline: {len(pipeline.queues)} queues, "
                     f"{len(pipeline.dlq_names)} DLQs, bus {pipeline.bus_name}")
        out.raw(f"eda sandbox listening on {server.endpoint_url}\nUse it from another shell with:\n"
                + "".join(f"  export {key}={value}\n" for key, value in server.env().items())
                + "Ctrl-C stops it.\n")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    finally:
        server.stop()


def _seed(endpoint_url: str, region: str) -> DemoPipeline:
    from eda_cli.aws.session import sandbox_session
    from eda_cli.sandbox.demo_pipeline import seed_demo

    return seed_demo(sandbox_session(endpoint_url, region).client, region=region)


@app.command("seed")
def seed_cmd(
    ctx: typer.Context,
    yes: bool = typer.Option(False, "--yes", "-y", help="Seed a non-local endpoint without asking."),
) -> None:
    """Seed the demo pipeline into the endpoint --endpoint-url names (a moto server or LocalStack).

    Refuses to run without --endpoint-url, so it can never create demo resources in a real
    account by accident; asks before seeding an endpoint that is not on this machine.

    Example: eda --endpoint-url http://127.0.0.1:4566 sandbox seed
    """
    from eda_cli.sandbox.demo_pipeline import seed_demo

    app_ = ctx_of(ctx)
    endpoint = app_.settings.endpoint_url
    if not endpoint:
        raise UsageError(
            "sandbox seed needs --endpoint-url (or EDA_ENDPOINT_URL)",
            hint="it creates demo resources, so it never talks to AWS's own endpoints",
        )
    host = urlparse(endpoint).hostname or ""
    if host not in LOOPBACK:
        confirm(app_, f"Create the demo pipeline's resources at {endpoint}?", yes,
                what=f"sandbox seed creates resources at {endpoint}, which is not on this machine",
                hint="pass --yes to seed it anyway")
    session = app_.session
    pipeline = seed_demo(session.client, region=session.region)
    app_.renderer.emit(pipeline.to_dict(), lambda r: r.text(f"seeded the demo pipeline at {endpoint}"))
