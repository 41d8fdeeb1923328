"""The embedded AWS (moto's server) and the demo pipeline it is seeded with.

Importing this package imports neither boto3 nor moto: both load when a server starts or a
seed runs.
"""

from __future__ import annotations

from eda_cli.sandbox.demo_pipeline import DemoPipeline, DemoQueue, seed_demo
from eda_cli.sandbox.server import ENDPOINT_ENV, SANDBOX_ENV, SandboxError, SandboxServer

__all__ = [
    "ENDPOINT_ENV",
    "SANDBOX_ENV",
    "DemoPipeline",
    "DemoQueue",
    "SandboxError",
    "SandboxServer",
    "seed_demo",
]
