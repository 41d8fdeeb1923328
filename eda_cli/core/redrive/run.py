"""Running a plan, and planning and running in one call (the Python API)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from eda_cli.aws.resolve import QueueRef
from eda_cli.core.redrive.copy import CopyRun
from eda_cli.core.redrive.eventbridge import Clients
from eda_cli.core.redrive.model import Clock, RedriveOptions, RedrivePlan, RedriveProgress, RedriveResult, Sleep
from eda_cli.core.redrive.native import run_native
from eda_cli.core.redrive.plan import plan_redrive

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


def run_redrive(
    sqs: SQSClient,
    plan: RedrivePlan,
    *,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    on_progress: Callable[[RedriveProgress], None] | None = None,
    poll_seconds: float | None = None,
    cancel: threading.Event | None = None,
    clients: Clients | None = None,
) -> RedriveResult:
    """Carry out a plan. Ctrl-C (a KeyboardInterrupt, or `cancel` set, as `eda_cli.interrupts` does)
    stops receiving, finishes in-flight sends and deletes, puts held messages back, and returns the
    result with `interrupted` set (native mode cancels its move task). A KeyboardInterrupt after that
    stops waiting at once, and the result's notes name the messages that were in flight.

    `clients(service)` hands out the clients for EventBridge targets (events, sns, lambda, stepfunctions);
    without it, messages bound for an EventBridge target stay in the DLQ, refused."""
    if plan.mode == "native" and not plan.options.dry_run:
        return run_native(sqs, plan, sleep, clock, on_progress, poll_seconds, cancel)
    return CopyRun(sqs, plan, sleep, clock, clients).run(on_progress, cancel)


def redrive(
    sqs: SQSClient,
    dlq: QueueRef,
    *,
    to: QueueRef | None = None,
    options: RedriveOptions | None = None,
    probe: SQSClient | None = None,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    on_progress: Callable[[RedriveProgress], None] | None = None,
    run_id: str | None = None,
    clients: Clients | None = None,
) -> RedriveResult:
    """Plan and run in one call (the Python API; the command confirms in between)."""
    plan = plan_redrive(sqs, dlq, to=to, options=options, probe=probe, run_id=run_id, clients=clients)
    return run_redrive(sqs, plan, sleep=sleep, clock=clock, on_progress=on_progress, clients=clients)
