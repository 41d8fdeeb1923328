"""SQS message move tasks (native redrives): whether an endpoint has them, their status, cancelling one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from eda_cli.aws.errors import error_code, error_message, http_status, is_client_error, unimplemented
from eda_cli.aws.resolve import QueueRef
from eda_cli.core.sqs import get_queue_info, ms_to_iso
from eda_cli.errors import AwsError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import ListMessageMoveTasksResultEntryTypeDef

DONE_STATUSES = ("COMPLETED", "FAILED", "CANCELLED")

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class MoveTask:
    status: str
    source_arn: str
    destination_arn: str | None
    moved: int
    to_move: int | None
    rate: int | None
    started_at: str | None
    failure_reason: str | None
    task_handle: str | None

    @classmethod
    def from_api(cls, raw: ListMessageMoveTasksResultEntryTypeDef) -> MoveTask:
        to_move = raw.get("ApproximateNumberOfMessagesToMove")
        rate = raw.get("MaxNumberOfMessagesPerSecond")
        return cls(
            status=str(raw.get("Status", "")),
            source_arn=str(raw.get("SourceArn", "")),
            destination_arn=raw.get("DestinationArn"),
            moved=int(raw.get("ApproximateNumberOfMessagesMoved", 0)),
            to_move=int(to_move) if to_move is not None else None,
            rate=int(rate) if rate is not None else None,
            started_at=ms_to_iso(raw.get("StartedTimestamp")),
            failure_reason=raw.get("FailureReason"),
            task_handle=raw.get("TaskHandle"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "source_arn": self.source_arn,
            "destination_arn": self.destination_arn,
            "moved": self.moved,
            "to_move": self.to_move,
            "max_per_second": self.rate,
            "started_at": self.started_at,
            "failure_reason": self.failure_reason,
            "task_handle": self.task_handle,
        }


@dataclass(frozen=True)
class CancelResult:
    queue: str
    cancelled: bool
    moved: int
    task: MoveTask | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "cancelled": self.cancelled,
            "moved": self.moved,
            "task": self.task.to_dict() if self.task else None,
        }


def probe_move_tasks(probe: SQSClient, dlq_arn: str) -> tuple[bool, str, list[ListMessageMoveTasksResultEntryTypeDef]]:
    """Whether the endpoint answers ListMessageMoveTasks: (supported, why not, tasks)."""
    try:
        tasks = probe.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10).get("Results", [])
    except Exception as exc:
        why = (f"ListMessageMoveTasks answered HTTP {http_status(exc)}" if unimplemented(exc)
               else f"ListMessageMoveTasks failed: {error_code(exc) or type(exc).__name__}")
        return False, why, []
    return True, "", list(tasks)


def move_task_call(fn: Callable[P, R], operation: str, dlq_name: str, /, *args: P.args, **kwargs: P.kwargs) -> R:
    """A move-task call whose expected refusals become eda's answers: an endpoint without move tasks,
    or SQS refusing the request eda built (its state, e.g. a task already running)."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        if unimplemented(exc):
            raise AwsError(
                f"{operation} failed with HTTP {http_status(exc)} for {dlq_name}: the endpoint does not "
                "support message move tasks",
                hint=f"copy mode works on every endpoint: eda redrive {dlq_name} --mode copy",
            ) from exc
        if is_client_error(exc, "InvalidParameterValue", "InvalidParameterValueException"):
            # eda built the request itself: SQS refusing it is SQS's state (a task already running), not bad input.
            message = error_message(exc) or error_code(exc)
            raise AwsError(f"SQS refused {operation} for {dlq_name}: {message}",
                           hint=f"see `eda redrive status {dlq_name}`") from exc
        raise


def queue_arn(sqs: SQSClient, dlq: QueueRef) -> str:
    """The DLQ's ARN as SQS states it (QueueArn), else the one eda resolved."""
    return get_queue_info(sqs, dlq.url).arn or dlq.arn


def list_move_tasks(sqs: SQSClient, dlq: QueueRef, arn: str) -> list[MoveTask]:
    """The most recent move tasks (up to 10) whose source is this DLQ, newest first."""
    answer = move_task_call(
        sqs.list_message_move_tasks, "ListMessageMoveTasks", dlq.name, SourceArn=arn, MaxResults=10
    )
    return [MoveTask.from_api(t) for t in answer.get("Results", [])]


def cancel_move_task(sqs: SQSClient, dlq: QueueRef, arn: str) -> CancelResult:
    """Cancel the running move task of this DLQ, if there is one (cancelled=False when none runs)."""
    running = [t for t in list_move_tasks(sqs, dlq, arn) if t.status == "RUNNING" and t.task_handle]
    if not running:
        return CancelResult(queue=dlq.name, cancelled=False, moved=0, task=None)
    task = running[0]
    answer = move_task_call(
        sqs.cancel_message_move_task, "CancelMessageMoveTask", dlq.name, TaskHandle=str(task.task_handle)
    )
    return CancelResult(
        queue=dlq.name,
        cancelled=True,
        moved=int(answer.get("ApproximateNumberOfMessagesMoved", task.moved)),
        task=task,
    )
