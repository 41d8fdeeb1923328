"""Native mode: SQS moves the messages itself (StartMessageMoveTask); eda watches the task and checks
that what it reports moved did arrive."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from eda_cli.core.redrive.model import (
    MAX_DEPTH_CHECKS,
    NATIVE_MAX_RATE,
    Clock,
    RedrivePlan,
    RedriveProgress,
    RedriveResult,
    Sleep,
)
from eda_cli.core.redrive.sqs_io import ApiCounter, queue_depth
from eda_cli.core.redrive.tasks import DONE_STATUSES, move_task_call
from eda_cli.errors import AwsError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

#: How often native mode asks ListMessageMoveTasks for progress.
NATIVE_POLL_SECONDS = 2.0


def run_native(
    sqs: SQSClient,
    plan: RedrivePlan,
    sleep: Sleep,
    clock: Clock,
    on_progress: Callable[[RedriveProgress], None] | None,
    poll_seconds: float | None = None,
    cancel: threading.Event | None = None,
) -> RedriveResult:
    """Start a move task for the plan and follow it to its end (Ctrl-C or `cancel` cancels it).

    The destination is named even for a DLQ's only source: a move task without DestinationArn fails on
    messages SQS did not dead-letter itself (those with no DeadLetterQueueSourceArn, such as ones
    `eda redrive replay --to DLQ` put there)."""
    poll = NATIVE_POLL_SECONDS if poll_seconds is None else poll_seconds
    started = clock()
    notes = list(plan.notes)
    interrupted = False
    error: str | None = None
    exception: BaseException | None = None
    reported = 0
    destination = plan.single_source
    with ApiCounter(sqs) as counter:
        before = queue_depth(sqs, destination.url) if destination is not None else None
        kwargs: dict[str, Any] = {"SourceArn": plan.dlq.arn}
        if destination is not None:
            kwargs["DestinationArn"] = destination.arn
        if plan.options.rate is not None:
            kwargs["MaxNumberOfMessagesPerSecond"] = max(1, min(NATIVE_MAX_RATE, int(plan.options.rate)))
        handle = move_task_call(sqs.start_message_move_task, "StartMessageMoveTask", plan.dlq.name,
                                **kwargs)["TaskHandle"]
        task: Mapping[str, Any] = {}

        def stop_task() -> None:
            nonlocal interrupted, reported
            interrupted = True
            answer = sqs.cancel_message_move_task(TaskHandle=handle)
            reported = int(answer.get("ApproximateNumberOfMessagesMoved", reported))
            notes.append("the move task was cancelled; messages not yet moved stay in the DLQ")

        try:
            while True:
                sleep(poll)
                if cancel is not None and cancel.is_set():  # a deferred Ctrl-C
                    stop_task()
                    break
                tasks = sqs.list_message_move_tasks(SourceArn=plan.dlq.arn, MaxResults=10).get("Results", [])
                task = next((t for t in tasks if t.get("TaskHandle") == handle), tasks[0] if tasks else {})
                if not task:
                    error = "ListMessageMoveTasks no longer lists the move task"
                    break
                reported = int(task.get("ApproximateNumberOfMessagesMoved", 0))
                total = task.get("ApproximateNumberOfMessagesToMove")
                if on_progress is not None:
                    on_progress(RedriveProgress(reported, 0, 0, int(total) if total is not None else None,
                                                clock() - started))
                if task.get("Status") in DONE_STATUSES:
                    break
        except KeyboardInterrupt:
            stop_task()
        status = task.get("Status")
        if status == "FAILED":
            error = f"the move task failed: {task.get('FailureReason') or 'no reason given'}"
            exception = AwsError(error, hint=f"see `eda redrive status {plan.dlq.name}`; copy mode: --mode copy")
        elif status == "CANCELLED" and not interrupted:
            error = "the move task was cancelled"
        moved, unverified = reported, 0
        if destination is not None and before is not None and reported > 0:
            arrived = _arrivals(sqs, destination.url, before, reported, sleep, poll)
            if arrived is None:
                notes.append(f"could not read {destination.name}'s depth to check what arrived")
            elif arrived < reported:
                moved, unverified = arrived, reported - arrived
                notes.append(
                    f"the move task reports {reported} moved, but {destination.name} holds only {arrived} more "
                    f"message(s) than before: {unverified} are unaccounted for (its consumers may have taken "
                    "them, or SQS dropped them, as a FIFO queue drops a deduplication id it saw in the last 5 minutes)"
                )
        left = queue_depth(sqs, plan.dlq.url)
    return RedriveResult.build(
        source=plan.dlq.name,
        targets=(t.name for t in plan.targets),
        mode="native",
        mode_reason=plan.mode_reason,
        run_id=plan.run_id,
        moved=moved,
        api_calls=plan.api_calls + counter.calls,
        seconds=clock() - started,
        moved_by_target={destination.name: moved} if destination is not None else {},
        interrupted=interrupted,
        error=error,
        exception=exception,
        left_in_dlq=left,
        notes=notes,
        task_reported_moved=reported,
        unverified=unverified,
        destinations=[{"kind": "sqs", "name": destination.name, "arn": destination.arn,
                       "api": "StartMessageMoveTask", "route": "--to" if plan.to is not None else "source queue",
                       "moved": moved, "failed": 0, "would_move": None}] if destination is not None else [],
    )


def _arrivals(sqs: SQSClient, url: str, before: int, expected: int, sleep: Sleep, poll_seconds: float) -> int | None:
    """How many more messages the destination holds than before the move task, read until it accounts for
    `expected` or MAX_DEPTH_CHECKS reads (SQS's approximate counts may lag a moment)."""
    arrived: int | None = None
    for attempt in range(MAX_DEPTH_CHECKS):
        if attempt:
            sleep(poll_seconds)
        depth = queue_depth(sqs, url)
        if depth is None:
            continue
        arrived = max(0, depth - before)
        if arrived >= expected:
            return arrived
    return arrived
