"""Redrive's vocabulary: its limits, the options of a run, the plan it follows, its progress and its result."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from eda_cli.aws.errors import describe
from eda_cli.core.archive import OutgoingMessage
from eda_cli.core.dlq.model import Source
from eda_cli.core.sqs import QueueInfo, parse_body
from eda_cli.errors import UsageError

if TYPE_CHECKING:
    from mypy_boto3_sqs.literals import MessageSystemAttributeNameType

    from eda_cli.core.redact import Redactor

#: Workers in copy mode. Chosen by benchmarks/bench_redrive.py: locally, where client and moto share
#: 2 CPUs, 4 and 8 workers are within noise of each other (830-940 msgs/s); with 5 ms of network latency
#: per call, closer to AWS, 8 workers moved 740-870 msgs/s against 590-660 for 4, and 16 gained nothing
#: consistent. More workers also mean more duplicates after a crash (up to one batch of 10 per worker).
DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 32
#: How long a received batch stays hidden: covers archiving, a send with all its retries, and the delete.
VISIBILITY_SECONDS = 60
#: StartMessageMoveTask accepts at most 500 messages per second.
NATIVE_MAX_RATE = 500
#: Receives in a row that bring nothing new before the queue's depth is checked.
EMPTY_RECEIVES = 3
#: Depth checks that still report unseen messages before the run gives up on them.
MAX_DEPTH_CHECKS = 5

MODES = ("auto", "copy", "native")

Sleep = Callable[[float], None]
Clock = Callable[[], float]


class Matcher(Protocol):
    def matches(self, event: Any) -> bool: ...


def filter_event(message: OutgoingMessage) -> dict[str, Any]:
    """What --filter patterns are matched against: body (parsed when JSON), attributes, message attributes.

    Message attributes appear by name with their value: numbers for Number types, base64 for Binary.
    """
    values: dict[str, Any] = {}
    for name, attr in message.message_attributes.items():
        data_type = str(attr.get("DataType", "String"))
        if "BinaryValue" in attr:
            values[name] = base64.b64encode(bytes(attr["BinaryValue"])).decode("ascii")
        elif data_type.startswith("Number"):
            raw = str(attr.get("StringValue", ""))
            try:
                values[name] = int(raw)
            except ValueError:
                try:
                    values[name] = float(raw)
                except ValueError:
                    values[name] = raw
        else:
            values[name] = attr.get("StringValue")
    return {"body": parse_body(message.body), "attributes": dict(message.attributes), "message_attributes": values}


# -- results --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RedriveProgress:
    """A snapshot for a progress bar: counts so far and the estimated total (None when unknown)."""

    moved: int
    skipped: int
    failed: int
    total: int | None
    elapsed: float


@dataclass(frozen=True)
class RedriveResult:
    """What a redrive (or a replay) did, exactly. `failed_message_ids` are still in the DLQ.

    Made with `RedriveResult.build`, the one place that orders and derives its fields."""

    source: str
    targets: tuple[str, ...]
    mode: str
    dry_run: bool
    moved: int
    skipped: int
    failed_message_ids: tuple[str, ...]
    api_calls: int
    seconds: float
    archive: str | None
    run_id: str
    mode_reason: str = ""
    moved_by_target: dict[str, int] = field(default_factory=dict)
    #: Why each failed message was not moved, by id.
    failures: dict[str, str] = field(default_factory=dict)
    #: Sent, but DeleteMessageBatch did not delete them: they are in the DLQ and in the target.
    not_deleted_message_ids: tuple[str, ...] = ()
    #: Failed because SQS did not say which of several source queues they came from.
    unroutable: int = 0
    #: Messages that could not be made visible again: they reappear when their visibility ends.
    not_restored: int = 0
    would_move: int | None = None
    sample: tuple[dict[str, Any], ...] = ()
    interrupted: bool = False
    error: str | None = None
    left_in_dlq: int | None = None
    notes: tuple[str, ...] = ()
    #: Native mode: what the move task says it moved (`moved` counts only what eda saw arrive).
    task_reported_moved: int | None = None
    #: Native mode: reported moved by the task, but not seen arriving at the destination.
    unverified: int = 0
    #: Interrupted twice: being moved when eda stopped waiting (in the DLQ, the target, or both).
    in_flight_message_ids: tuple[str, ...] = ()
    #: Per destination: kind, name, arn, api, route, moved, failed, would_move (a dry run's count).
    destinations: tuple[dict[str, Any], ...] = ()
    #: The exception that stopped the run, for the command to raise when nothing moved.
    exception: BaseException | None = field(default=None, compare=False, repr=False)

    @classmethod
    def build(
        cls,
        *,
        source: str,
        targets: Iterable[str],
        mode: str,
        mode_reason: str,
        run_id: str,
        moved: int,
        api_calls: int,
        seconds: float,
        failures: Mapping[str, str] | None = None,
        moved_by_target: Mapping[str, int] | None = None,
        exception: BaseException | None = None,
        error: str | None = None,
        notes: Iterable[str] = (),
        dry_run: bool = False,
        skipped: int = 0,
        archive: str | None = None,
        not_deleted_message_ids: Iterable[str] = (),
        unroutable: int = 0,
        not_restored: int = 0,
        would_move: int | None = None,
        sample: Iterable[dict[str, Any]] = (),
        interrupted: bool = False,
        left_in_dlq: int | None = None,
        task_reported_moved: int | None = None,
        unverified: int = 0,
        in_flight_message_ids: Iterable[str] = (),
        destinations: Iterable[Mapping[str, Any]] = (),
    ) -> RedriveResult:
        """A result, ordered and derived the same way for every mode: failures and not-deleted ids sorted by
        message id, targets' counts by target name, `seconds` never negative, and `error` described from
        `exception` unless the run names it itself."""
        failures = failures or {}
        failed_ids = tuple(sorted(failures))
        if error is None and exception is not None:
            error = describe(exception)
        return cls(
            source=source,
            targets=tuple(targets),
            mode=mode,
            dry_run=dry_run,
            moved=moved,
            skipped=skipped,
            failed_message_ids=failed_ids,
            api_calls=api_calls,
            seconds=max(0.0, seconds),
            archive=archive,
            run_id=run_id,
            mode_reason=mode_reason,
            moved_by_target=dict(sorted((moved_by_target or {}).items())),
            failures={k: failures[k] for k in failed_ids},
            not_deleted_message_ids=tuple(sorted(not_deleted_message_ids)),
            unroutable=unroutable,
            not_restored=not_restored,
            would_move=would_move,
            sample=tuple(sample),
            interrupted=interrupted,
            error=error,
            left_in_dlq=left_in_dlq,
            notes=tuple(notes),
            task_reported_moved=task_reported_moved,
            unverified=unverified,
            in_flight_message_ids=tuple(in_flight_message_ids),
            destinations=tuple(dict(d) for d in sorted(destinations, key=lambda d: (str(d.get("name")),
                                                                                    str(d.get("route"))))),
            exception=exception,
        )

    @property
    def failed(self) -> int:
        return len(self.failed_message_ids)

    @property
    def partial(self) -> bool:
        return bool(self.failed_message_ids or self.not_deleted_message_ids or self.unverified
                    or self.in_flight_message_ids)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "targets": list(self.targets),
            "mode": self.mode,
            "dry_run": self.dry_run,
            "moved": self.moved,
            "skipped": self.skipped,
            "failed": self.failed,
            "failed_message_ids": list(self.failed_message_ids),
            "api_calls": self.api_calls,
            "seconds": round(self.seconds, 3),
            "archive": self.archive,
            "run_id": self.run_id,
            "mode_reason": self.mode_reason,
            "moved_by_target": dict(self.moved_by_target),
            "failures": dict(self.failures),
            "not_deleted_message_ids": list(self.not_deleted_message_ids),
            "would_move": self.would_move,
            "sample": list(self.sample),
            "interrupted": self.interrupted,
            "error": self.error,
            "left_in_dlq": self.left_in_dlq,
            "task_reported_moved": self.task_reported_moved,
            "unverified": self.unverified,
            "in_flight_message_ids": list(self.in_flight_message_ids),
            "destinations": [dict(d) for d in self.destinations],
            "notes": list(self.notes),
        }


# -- options and plan -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RedriveOptions:
    max_messages: int | None = None
    rate: float | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    archive: str | None = None
    dry_run: bool = False
    mode: str = "auto"
    #: Long-poll wait of each receive (0-20 s).
    wait_seconds: int = 1
    visibility_timeout: int = VISIBILITY_SECONDS
    empty_receives: int = EMPTY_RECEIVES
    matcher: Matcher | None = field(default=None, compare=False)
    filter_text: str | None = None
    #: EventBridge target DLQs: put each event back on its rule's bus instead of delivering it to its target.
    to_bus: bool = False
    #: Masks the bodies of a dry run's sample (eda_cli.core.redact); never what is archived or sent.
    redactor: Redactor | None = field(default=None, compare=False)
    #: Append to an existing archive even when others may read it (its mode is wider than 0600).
    force_archive: bool = False
    #: Stream on-failure records: append the records they name to this JSON Lines file instead of invoking.
    to_file: str | None = None

    def validate(self) -> None:
        if self.mode not in MODES:
            raise UsageError(f"unknown mode {self.mode!r}", hint="use auto, copy or native")
        if self.max_messages is not None and self.max_messages < 1:
            raise UsageError("--max must be at least 1")
        if self.rate is not None and self.rate <= 0:
            raise UsageError("--rate must be more than 0 messages per second")
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise UsageError(f"--concurrency must be between 1 and {MAX_CONCURRENCY}")
        if not 0 <= self.wait_seconds <= 20:
            raise UsageError("--wait-seconds must be between 0 and 20")
        if self.empty_receives < 1:
            raise UsageError("empty_receives must be at least 1")
        if self.archive and not self.dry_run:
            from eda_cli.core.archive import check_archive_target

            check_archive_target(self.archive, self.force_archive)


@dataclass(frozen=True)
class RedrivePlan:
    """Where the messages will go and how, decided before anything changes (and before confirming)."""

    dlq: QueueInfo
    sources: tuple[QueueInfo, ...]
    to: QueueInfo | None
    mode: str
    mode_reason: str
    visible: int
    in_flight: int
    run_id: str
    options: RedriveOptions
    notes: tuple[str, ...] = ()
    api_calls: int = 0
    #: "sqs": messages go to SQS queues (sources or --to); "eventbridge": each to the EventBridge target
    #: (or with --to-bus the bus) its RULE_ARN and TARGET_ARN attributes name; "configured": each to the endpoint
    #: or function of what configuration names the DLQ for (`configured`: SNS subscriptions, Lambda functions).
    origin: str = "sqs"
    #: What names the DLQ in configuration, when origin is "configured" (core/dlq/origins.py's sources).
    configured: tuple[Source, ...] = ()

    @property
    def targets(self) -> tuple[QueueInfo, ...]:
        return (self.to,) if self.to is not None else self.sources

    @property
    def per_message_routing(self) -> bool:
        return self.to is None and len(self.sources) > 1

    @property
    def system_attributes(self) -> list[MessageSystemAttributeNameType]:
        """The system attributes copy mode asks SQS for with each message: what a plain move to SQS queues uses
        (AWSTraceHeader, sent on with the copy; SentTimestamp; DeadLetterQueueSourceArn, the source queue;
        MessageGroupId on FIFO), and all of them wherever every one may count: an archive (which keeps them),
        --filter (whose patterns may match them), a dry run's sample, routing beyond SQS queues. Fewer attributes
        are a smaller answer for SQS to build and send: about a tenth of each ReceiveMessage's work on moto."""
        options = self.options
        if self.origin != "sqs" or options.archive or options.matcher is not None or options.dry_run:
            return ["All"]
        names: list[MessageSystemAttributeNameType] = ["AWSTraceHeader", "SentTimestamp", "DeadLetterQueueSourceArn"]
        return [*names, "MessageGroupId"] if self.dlq.fifo else names

    @property
    def total_estimate(self) -> int:
        if self.options.max_messages is not None:
            return min(self.visible, self.options.max_messages)
        return self.visible

    @property
    def single_source(self) -> QueueInfo | None:
        """--to, or the DLQ's only source: the one queue every message goes to (None: one per message)."""
        if self.to is not None:
            return self.to
        return self.sources[0] if len(self.sources) == 1 else None


def nothing_moved_error(plan: RedrivePlan | None, result: RedriveResult) -> BaseException | None:
    """What to raise instead of a summary when a real run moved nothing because it failed as a whole:
    the AWS error that stopped it, or every message failing for want of a DeadLetterQueueSourceArn on a
    DLQ with several sources. None when the summary tells the story (something moved, a dry run, Ctrl-C)."""
    if result.moved or result.dry_run or result.interrupted:
        return None
    if result.exception is not None:
        return result.exception
    if plan is not None and plan.origin == "sqs" and result.unroutable and result.unroutable == result.failed:
        return UsageError(
            f"{result.unroutable} message(s) do not say which source queue they came from "
            f"(no DeadLetterQueueSourceArn), and {plan.dlq.name} has {len(plan.sources)} sources: "
            f"{', '.join(s.name for s in plan.sources)}; nothing was moved",
            hint="pass --to QUEUE to choose where they go",
        )
    return None
