"""Redrive: move messages out of a dead-letter queue, at least once and never losing one.

Copy mode is receive -> (archive, fsync) -> SendMessageBatch -> DeleteMessageBatch of exactly the
entries whose send succeeded. A message leaves the DLQ only after SQS has accepted its copy, so a
crash at any moment leaves every message in the DLQ, in the target, or in both (a duplicate,
bounded by the one batch each worker has in flight). Native mode hands the whole move to SQS
(StartMessageMoveTask) and watches it.

Messages that are seen but not moved (skipped by the filter, failed, beyond --max) are kept
hidden by the receive's own visibility timeout until the run ends, then made visible again at
once. That keeps a receive from handing the same skipped messages back again and again (a
standard queue may serve from its head, as moto does), and the run ends when only already-seen
messages come back: several receives in a row bring nothing new and ApproximateNumberOfMessages
says nothing unseen is left.
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from eda_cli.aws.errors import THROTTLED, describe, error_code, http_status, is_client_error, unimplemented
from eda_cli.aws.resolve import QueueRef
from eda_cli.core.archive import (
    ArchivedMessage,
    ArchiveWriter,
    BadLine,
    OutgoingMessage,
    read_archive,
    to_line,
)
from eda_cli.core.dlq import PEEK_VISIBILITY_SECONDS  # dry runs follow `eda dlq peek`'s visibility
from eda_cli.core.sqs import QueueInfo, QueueVanished, change_visibility, get_queue_info, ms_to_iso, parse_body
from eda_cli.errors import AwsError, ResourceNotFound, UsageError

#: Workers in copy mode. Chosen by benchmarks/bench_redrive.py: locally, where client and moto share
#: 2 CPUs, 4 and 8 workers are within noise of each other (830-940 msgs/s); with 5 ms of network latency
#: per call, closer to AWS, 8 workers moved 740-870 msgs/s against 590-660 for 4, and 16 gained nothing
#: consistent. More workers also mean more duplicates after a crash (up to one batch of 10 per worker).
DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 32
#: SendMessageBatch limits: 10 entries, and since 2025 1 MiB for a message and for a whole batch.
MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 1_048_576
#: How long a received batch stays hidden: covers archiving, a send with all its retries, and the delete.
VISIBILITY_SECONDS = 60
#: StartMessageMoveTask accepts at most 500 messages per second.
NATIVE_MAX_RATE = 500
#: Receives in a row that bring nothing new before the queue's depth is checked.
EMPTY_RECEIVES = 3
#: Depth checks that still report unseen messages before the run gives up on them.
MAX_DEPTH_CHECKS = 5
#: Ids of recently moved messages, so a redelivered one is deleted rather than sent twice.
RECENT_MOVED = 10_000
#: Whole-call attempts eda adds on top of botocore's own retries, and attempts per failed batch entry.
CALL_ATTEMPTS = 4
ENTRY_ATTEMPTS = 3
#: How often native mode asks ListMessageMoveTasks for progress.
NATIVE_POLL_SECONDS = 2.0

MODES = ("auto", "copy", "native")
DONE_STATUSES = ("COMPLETED", "FAILED", "CANCELLED")
RETRYABLE_CODES = THROTTLED | {
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "RequestTimeout",
    "KMS.ThrottlingException",
    "RequestThrottled",
}

Sleep = Callable[[float], None]
Clock = Callable[[], float]


class Matcher(Protocol):
    def matches(self, event: Any) -> bool: ...


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
    """What a redrive (or a replay) did, exactly. `failed_message_ids` are still in the DLQ."""

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
    #: The exception that stopped the run, for the command to raise when nothing moved.
    exception: BaseException | None = field(default=None, compare=False, repr=False)

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

    @property
    def targets(self) -> tuple[QueueInfo, ...]:
        return (self.to,) if self.to is not None else self.sources

    @property
    def per_message_routing(self) -> bool:
        return self.to is None and len(self.sources) > 1

    @property
    def total_estimate(self) -> int:
        if self.options.max_messages is not None:
            return min(self.visible, self.options.max_messages)
        return self.visible


class ApiCounter:
    """Counts SQS API calls made through a client, with a botocore event hook (retries not included)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._id = f"eda-redrive-counter-{uuid.uuid4().hex}"
        self.calls = 0

    def __enter__(self) -> ApiCounter:
        self._client.meta.events.register("before-parameter-build.sqs", self._count, unique_id=self._id)
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.meta.events.unregister("before-parameter-build.sqs", unique_id=self._id)

    def _count(self, **kwargs: Any) -> None:
        with self._lock:
            self.calls += 1


def _info(sqs: Any, url: str, name: str) -> QueueInfo:
    try:
        return get_queue_info(sqs, url)
    except QueueVanished as exc:
        raise ResourceNotFound(f"queue {name!r} was deleted while eda was reading it") from exc


def list_sources(sqs: Any, dlq_url: str) -> list[QueueInfo]:
    """The queues whose RedrivePolicy names this DLQ (ListDeadLetterSourceQueues, every page)."""
    urls: list[str] = []
    for page in sqs.get_paginator("list_dead_letter_source_queues").paginate(QueueUrl=dlq_url):
        urls.extend(page.get("queueUrls", []))
    infos: list[QueueInfo] = []
    for url in urls:
        try:
            infos.append(get_queue_info(sqs, url))
        except QueueVanished:
            continue
    return sorted(infos, key=lambda i: i.name)


def _check_archive_path(path: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UsageError(f"--archive {path} is a directory", hint="name a file, e.g. --archive redrive.jsonl")
    if not os.path.isdir(directory):
        raise UsageError(f"--archive {path}: the directory {directory} does not exist")
    if not os.access(directory, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise UsageError(f"--archive {path} is not writable")


def _needs_copy(options: RedriveOptions, per_message: bool) -> list[str]:
    needs = []
    if options.matcher is not None:
        needs.append("--filter")
    if options.max_messages is not None:
        needs.append("--max")
    if options.archive:
        needs.append("--archive")
    if per_message:
        needs.append("routing each message to its own source")
    return needs


def probe_move_tasks(probe: Any, dlq_arn: str) -> tuple[bool, str, list[dict[str, Any]]]:
    """Whether the endpoint answers ListMessageMoveTasks: (supported, why not, tasks)."""
    try:
        tasks = probe.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10).get("Results", [])
    except Exception as exc:
        status = http_status(exc)
        why = (f"ListMessageMoveTasks answered HTTP {status}" if unimplemented(exc)
               else f"ListMessageMoveTasks failed: {error_code(exc) or type(exc).__name__}")
        return False, why, []
    return True, "", list(tasks)


#: Why auto mode copies a FIFO DLQ (LocalStack's move tasks do re-send the original ids).
FIFO_MOVE_RISK = ("a move task may re-send its messages' original deduplication ids, which a FIFO source "
                  "silently drops within its 5-minute deduplication window")


def plan_redrive(
    sqs: Any,
    dlq: QueueRef,
    *,
    to: QueueRef | None = None,
    options: RedriveOptions | None = None,
    probe: Any | None = None,
    run_id: str | None = None,
) -> RedrivePlan:
    """Read the DLQ, its sources and the target, and choose the mode. Changes nothing.

    `probe` is the client used to ask whether the endpoint supports move tasks (a client without
    retries answers at once on an endpoint that lacks them); it defaults to `sqs`. A move task
    already running on the DLQ stops every mode: two movers would race for the same messages.
    """
    options = options or RedriveOptions()
    options.validate()
    notes: list[str] = []
    probe_calls = 0
    with ApiCounter(sqs) as counter:
        info = _info(sqs, dlq.url, dlq.name)
        sources = tuple(list_sources(sqs, dlq.url))
        target = _info(sqs, to.url, to.name) if to is not None else None
        if target is not None and target.arn == info.arn:
            raise UsageError(f"--to names the DLQ itself ({info.name})", hint="pass the queue to move messages to")
        if target is None and not sources:
            raise UsageError(
                f"{info.name} has no source queues (no queue's RedrivePolicy names it), "
                "so eda does not know where its messages belong",
                hint="pass --to QUEUE",
            )
        per_message = target is None and len(sources) > 1
        if options.archive and not options.dry_run:
            _check_archive_path(options.archive)
        needs = _needs_copy(options, per_message)
        if probe is not None and probe is not sqs:
            probe_calls += 1  # the counter sees only calls made through `sqs`
        supported, why, tasks = probe_move_tasks(probe if probe is not None else sqs, info.arn)
        running = [t for t in tasks if t.get("Status") in ("RUNNING", "CANCELLING")]
        if running:
            if not options.dry_run:
                raise AwsError(
                    f"a message move task is already running on {info.name}",
                    hint=f"watch it with `eda redrive status {info.name}`; "
                    f"stop it with `eda redrive cancel {info.name}`",
                )
            notes.append(f"a message move task is running on {info.name}: a real run would be refused")
        if options.mode == "native":
            if needs:
                raise UsageError(
                    f"--mode native cannot do {', '.join(needs)}: an SQS move task moves every message",
                    hint="use --mode copy (or auto)",
                )
            if options.rate is not None and options.rate > NATIVE_MAX_RATE:
                raise UsageError(f"--rate is at most {NATIVE_MAX_RATE} messages per second in native mode")
            if not supported:
                raise AwsError(
                    f"--mode native: the endpoint does not support message move tasks ({why})",
                    hint=f"copy mode works on every endpoint: eda redrive {info.name} --mode copy",
                )
            mode, reason = "native", "requested with --mode native"
            if info.fifo:
                notes.append(f"{info.name} is FIFO: {FIFO_MOVE_RISK}; eda checks the target's depth afterwards")
        elif options.mode == "copy":
            mode, reason = "copy", "requested with --mode copy"
        elif needs:
            mode, reason = "copy", f"needed for {', '.join(needs)}"
        elif options.rate is not None and options.rate > NATIVE_MAX_RATE:
            mode, reason = "copy", f"--rate above the move task's {NATIVE_MAX_RATE}/s"
        elif not sources:
            mode, reason = "copy", "move tasks only redrive queues that are another queue's DLQ"
        elif info.fifo:
            mode, reason = "copy", f"the DLQ is FIFO and copy mode sends fresh deduplication ids ({FIFO_MOVE_RISK})"
        elif supported:
            mode, reason = "native", "nothing needs copy mode and the endpoint supports move tasks"
        else:
            mode, reason = "copy", f"the endpoint does not support move tasks ({why})"
        if info.redrive_policy:
            notes.append(
                f"{info.name} has its own RedrivePolicy (maxReceiveCount {info.max_receive_count}): "
                "receiving raises receive counts, so SQS may move messages on to its DLQ"
            )
        if target is not None and target.fifo and not info.fifo:
            notes.append(f"{target.name} is FIFO and {info.name} is not: messages go to group {info.name!r}")
        if per_message:
            notes.append(
                f"{info.name} has {len(sources)} sources: each message goes back to the one SQS names "
                "(DeadLetterQueueSourceArn)"
            )
    return RedrivePlan(
        dlq=info,
        sources=sources,
        to=target,
        mode=mode,
        mode_reason=reason,
        visible=info.int_attr("ApproximateNumberOfMessages") or 0,
        in_flight=info.int_attr("ApproximateNumberOfMessagesNotVisible") or 0,
        run_id=run_id or uuid.uuid4().hex,
        options=options,
        notes=tuple(notes),
        api_calls=counter.calls + probe_calls,
    )


# -- shared machinery -----------------------------------------------------------------------------


def is_retryable(exc: BaseException) -> bool:
    """Throttling, 5xx and connection trouble: worth another try. Everything else is an answer."""
    if is_client_error(exc):
        if error_code(exc) in RETRYABLE_CODES:
            return True
        status = http_status(exc)
        return status is not None and status >= 500
    try:
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import HTTPClientError
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, (BotoConnectionError, HTTPClientError))


def dedup_id(run_id: str, message_id: str) -> str:
    """A FIFO deduplication id for this run and message: a retried send within the run is not
    duplicated, and the original's id (which SQS may still remember, silently dropping the copy)
    is never reused."""
    return hashlib.sha256(f"eda-redrive:{run_id}:{message_id}".encode()).hexdigest()


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


def split_by_size(items: list[Any], size_of: Callable[[Any], int]) -> Iterator[list[Any]]:
    """Batches of at most 10 entries and at most 1 MiB, in order."""
    batch: list[Any] = []
    total = 0
    for item in items:
        size = size_of(item)
        if batch and (len(batch) >= MAX_BATCH_ENTRIES or total + size > MAX_BATCH_BYTES):
            yield batch
            batch, total = [], 0
        batch.append(item)
        total += size
    if batch:
        yield batch


def build_entry(
    entry_id: str, message: OutgoingMessage, target: QueueInfo, run_id: str, default_group: str
) -> dict[str, Any]:
    entry: dict[str, Any] = {"Id": entry_id, "MessageBody": message.body}
    if message.message_attributes:
        entry["MessageAttributes"] = message.message_attributes
    if message.trace_header:
        entry["MessageSystemAttributes"] = {
            "AWSTraceHeader": {"DataType": "String", "StringValue": message.trace_header}
        }
    if target.fifo:
        entry["MessageGroupId"] = message.group_id or default_group
        entry["MessageDeduplicationId"] = dedup_id(run_id, message.message_id)
    return entry


class TokenBucket:
    """--rate across all workers: tokens refill at `rate` per second, up to one batch's worth."""

    def __init__(self, rate: float, clock: Clock, sleep: Sleep) -> None:
        self.rate = rate
        self.capacity = max(1.0, min(float(MAX_BATCH_ENTRIES), rate))
        self._tokens = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = threading.Lock()

    @property
    def batch(self) -> int:
        return max(1, int(self.capacity))

    def acquire(self, count: int, stop: threading.Event) -> bool:
        n = min(float(count), self.capacity)
        while not stop.is_set():
            with self._lock:
                now = self._clock()
                self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= n:
                    self._tokens -= n
                    return True
                wait = (n - self._tokens) / self.rate
            self._sleep(min(wait, 0.5))
        return False

    def refund(self, n: int) -> None:
        if n > 0:
            with self._lock:
                self._tokens = min(self.capacity, self._tokens + n)


class _GroupGate:
    """FIFO: never two batches of one message group in flight, whatever the queue hands out."""

    def __init__(self) -> None:
        self._busy: set[str] = set()
        self._cond = threading.Condition()

    def acquire(self, groups: set[str]) -> None:
        with self._cond:
            self._cond.wait_for(lambda: not (groups & self._busy))
            self._busy |= groups

    def release(self, groups: set[str]) -> None:
        with self._cond:
            self._busy -= groups
            self._cond.notify_all()


class _Caller:
    """Calls AWS with eda's retries on top of botocore's: throttling and 5xx are tried again."""

    def __init__(self, sleep: Sleep, attempts: int = CALL_ATTEMPTS) -> None:
        self._sleep = sleep
        self._attempts = attempts
        self._random = random.Random()
        self.retries = 0

    def backoff(self, attempt: int) -> float:
        return min(8.0, 0.5 * 2**attempt) * (0.5 + self._random.random() / 2)

    def __call__(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        for attempt in range(self._attempts):
            try:
                return fn(**kwargs)
            except Exception as exc:
                if attempt + 1 >= self._attempts or not is_retryable(exc):
                    raise
                self.retries += 1
                self._sleep(self.backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover


def send_batch(
    sqs: Any,
    call: _Caller,
    target: QueueInfo,
    batch: list[OutgoingMessage],
    run_id: str,
    default_group: str,
    sleep: Sleep,
) -> tuple[list[OutgoingMessage], dict[str, str]]:
    """SendMessageBatch, reading its Failed list: (sent, {message id: why not}).

    Entries that failed on SQS's side (not SenderFault) are sent again, with the same FIFO
    deduplication ids; an exception after eda's and botocore's retries propagates.
    """
    pending = {str(i): m for i, m in enumerate(batch)}
    sent_ids: set[str] = set()
    failed: dict[str, str] = {}
    for attempt in range(ENTRY_ATTEMPTS):
        entries = [build_entry(i, m, target, run_id, default_group) for i, m in pending.items()]
        response = call(sqs.send_message_batch, QueueUrl=target.url, Entries=entries)
        answered: set[str] = set()
        for ok in response.get("Successful", []):
            answered.add(str(ok["Id"]))
            sent_ids.add(pending[str(ok["Id"])].message_id)
        retry: dict[str, OutgoingMessage] = {}
        for bad in response.get("Failed", []):
            entry_id = str(bad["Id"])
            answered.add(entry_id)
            message = pending[entry_id]
            reason = f"{bad.get('Code', 'Failed')}: {bad.get('Message', '')}".rstrip(": ")
            if not bad.get("SenderFault") and attempt + 1 < ENTRY_ATTEMPTS:
                retry[entry_id] = message
            else:
                failed[message.message_id] = reason
        for entry_id, message in pending.items():
            if entry_id not in answered:
                failed[message.message_id] = "SendMessageBatch did not answer for this entry"
        pending = retry
        if not pending:
            break
        sleep(call.backoff(attempt))
    return [m for m in batch if m.message_id in sent_ids], failed


# -- copy mode ------------------------------------------------------------------------------------


@dataclass
class _Work:
    message: OutgoingMessage
    handle: str
    target: QueueInfo


class _CopyRun:
    def __init__(self, sqs: Any, plan: RedrivePlan, sleep: Sleep, clock: Clock) -> None:
        self.sqs = sqs
        self.plan = plan
        self.options = plan.options
        self.sleep = sleep
        self.clock = clock
        self.call = _Caller(sleep)
        self.lock = threading.RLock()
        #: Notified when a receive ends, a check ends, the streak resets or the run stops.
        self.changed = threading.Condition(self.lock)
        self.stop = threading.Event()
        self.dry_run = self.options.dry_run
        self.visibility = PEEK_VISIBILITY_SECONDS if self.dry_run else self.options.visibility_timeout
        self.bucket = TokenBucket(self.options.rate, clock, sleep) if self.options.rate else None
        self.gate = _GroupGate()
        self.archive: ArchiveWriter | None = None
        if self.options.archive and not self.dry_run:
            try:
                self.archive = ArchiveWriter(self.options.archive)
            except OSError as exc:
                raise UsageError(f"cannot write the archive {self.options.archive}: {exc.strerror or exc}") from exc
        self.by_arn = {s.arn: s for s in plan.sources}
        # state, under self.lock
        self.held: dict[str, str] = {}  # message id -> latest receipt handle; released at the end
        self.in_progress: set[str] = set()
        self.unsettled: dict[str, str] = {}  # sent but not deleted: message id -> target name
        self.recent: OrderedDict[str, None] = OrderedDict()
        self.failures: dict[str, str] = {}
        self.blocked_groups: set[str] = set()
        self.moved = 0
        self.skipped = 0
        self.unroutable = 0
        self.reserved = 0
        self.would_move = 0
        self.moved_by_target: dict[str, int] = {}
        self.sample: list[dict[str, Any]] = []
        self.streak = 0
        self.depth_checks = 0
        self.checking = False
        self.receiving = 0
        self.notes: list[str] = list(plan.notes)
        self.error: BaseException | None = None
        self.interrupted = False

    # -- bookkeeping ----------------------------------------------------------------------------

    def progress(self, started: float) -> RedriveProgress:
        with self.lock:
            return RedriveProgress(
                moved=self.would_move if self.dry_run else self.moved,
                skipped=self.skipped,
                failed=len(self.failures),
                total=self.plan.total_estimate,
                elapsed=self.clock() - started,
            )

    def _quota_left(self) -> int | None:
        limit = self.options.max_messages
        if limit is None:
            return None
        done = self.would_move if self.dry_run else self.moved + self.reserved
        return max(0, limit - done)

    def _halt(self) -> None:
        with self.lock:
            self.stop.set()
            self.changed.notify_all()

    def _fail_run(self, exc: BaseException) -> None:
        with self.lock:
            if self.error is None:
                self.error = exc
        self._halt()

    def _route(self, message: OutgoingMessage) -> QueueInfo | None:
        if self.plan.to is not None:
            return self.plan.to
        source = self.by_arn.get(message.attributes.get("DeadLetterQueueSourceArn", ""))
        if source is not None:
            return source
        return self.plan.sources[0] if len(self.plan.sources) == 1 else None

    # -- the worker -----------------------------------------------------------------------------

    def worker(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # a bug or an unexpected error: stop, keep what is known
            self._fail_run(exc)

    def _loop(self) -> None:
        while not self.stop.is_set():
            with self.lock:
                left = self._quota_left()
            want = MAX_BATCH_ENTRIES if left is None else min(MAX_BATCH_ENTRIES, left)
            if self.bucket is not None:
                want = min(want, self.bucket.batch)
            if want <= 0:
                self._halt()
                break
            if self.bucket is not None and not self.bucket.acquire(want, self.stop):
                break
            with self.lock:
                self.receiving += 1
            try:
                response = self.call(
                    self.sqs.receive_message,
                    QueueUrl=self.plan.dlq.url,
                    MaxNumberOfMessages=want,
                    VisibilityTimeout=self.visibility,
                    WaitTimeSeconds=self.options.wait_seconds,
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                )
            except Exception as exc:
                self._fail_run(exc)
                break
            finally:
                with self.lock:
                    self.receiving -= 1
                    self.changed.notify_all()
            raws = response.get("Messages", [])
            if self.bucket is not None:
                self.bucket.refund(want - len(raws))
            work, redelete, new = self._classify(raws)
            if redelete:
                self._delete(redelete)
            if not new:
                self._nothing_new()
                continue
            if work:
                self._process(work)

    def _classify(self, raws: list[dict[str, Any]]) -> tuple[list[_Work], list[tuple[str, str]], int]:
        """Decide, for each received message, whether it is new and what becomes of it."""
        work: list[_Work] = []
        redelete: list[tuple[str, str]] = []
        new = 0
        with self.lock:
            for raw in raws:
                message_id, handle = str(raw["MessageId"]), str(raw["ReceiptHandle"])
                if message_id in self.held:
                    self.held[message_id] = handle
                    continue
                if message_id in self.unsettled or message_id in self.recent:
                    redelete.append((message_id, handle))  # already sent: only delete it
                    continue
                if message_id in self.in_progress:
                    continue
                new += 1
                left = self._quota_left()
                if self.interrupted or (left is not None and left <= 0):
                    self.held[message_id] = handle
                    self._halt()
                    continue
                message = OutgoingMessage.from_received(raw)
                if self.options.matcher is not None and not self.options.matcher.matches(filter_event(message)):
                    self.held[message_id] = handle
                    self.skipped += 1
                    continue
                target = self._route(message)
                if target is None:
                    self.held[message_id] = handle
                    self.unroutable += 1
                    self.failures[message_id] = (
                        "SQS does not say which source queue it came from (no DeadLetterQueueSourceArn)"
                    )
                    continue
                if self.plan.dlq.fifo and message.group_id in self.blocked_groups:
                    self.held[message_id] = handle
                    self.failures[message_id] = f"an earlier message of group {message.group_id} was not moved"
                    continue
                if self.dry_run:
                    self.held[message_id] = handle
                    self.would_move += 1
                    self.moved_by_target[target.name] = self.moved_by_target.get(target.name, 0) + 1
                    if len(self.sample) < 5:
                        self.sample.append(_sample(message, target))
                    continue
                self.reserved += 1
                self.in_progress.add(message_id)
                work.append(_Work(message, handle, target))
            if new:
                self.streak = 0
                self.depth_checks = 0
                self.changed.notify_all()
        return work, redelete, new

    def _nothing_new(self) -> None:
        """A receive brought nothing new: after several in a row, ask SQS whether unseen messages remain."""
        patience = self.options.wait_seconds + 2.0
        with self.lock:
            self.streak += 1
            streak = self.streak
            if streak < self.options.empty_receives:
                # Let the receives in flight end before starting another: the empty receives that end a
                # run then happen side by side, instead of in rounds of long polls one after the other.
                self.changed.wait_for(
                    lambda: self.receiving == 0 or self.stop.is_set() or self.streak < streak, timeout=patience
                )
                return
            if self.checking:
                self.changed.wait_for(lambda: not self.checking or self.stop.is_set(), timeout=patience)
                return
            self.checking = True
        try:
            attributes = self.call(
                self.sqs.get_queue_attributes,
                QueueUrl=self.plan.dlq.url,
                AttributeNames=["ApproximateNumberOfMessages"],
            ).get("Attributes", {})
            visible = int(attributes.get("ApproximateNumberOfMessages", "0"))
        except Exception as exc:
            with self.lock:
                self.checking = False
            self._fail_run(exc)
            return
        with self.lock:
            self.checking = False
            self.changed.notify_all()
            if visible <= len(self.held):
                self._halt()
                return
            self.streak = 0
            self.depth_checks += 1
            if self.depth_checks >= MAX_DEPTH_CHECKS:
                self.notes.append(
                    f"stopped although ApproximateNumberOfMessages still says {visible}: "
                    f"{self.options.empty_receives * MAX_DEPTH_CHECKS} receives in a row brought nothing new "
                    "(delayed messages, a FIFO group held back by a message not moved, or a stale count)"
                )
                self._halt()

    def _process(self, work: list[_Work]) -> None:
        groups = {w.message.group_id for w in work if w.message.group_id} if self.plan.dlq.fifo else set()
        self.gate.acquire(groups)
        try:
            by_target: dict[str, list[_Work]] = {}
            for item in work:
                by_target.setdefault(item.target.arn, []).append(item)
            for items in by_target.values():
                for batch in split_by_size(items, lambda w: w.message.size):
                    if self.error is not None:
                        self._unreserve(batch)
                        continue
                    self._move(batch)
        finally:
            self.gate.release(groups)

    def _unreserve(self, batch: list[_Work]) -> None:
        with self.lock:
            for item in batch:
                self.reserved -= 1
                self.in_progress.discard(item.message.message_id)
                self.held[item.message.message_id] = item.handle

    def _move(self, batch: list[_Work]) -> None:
        target = batch[0].target
        handles = {w.message.message_id: w.handle for w in batch}
        try:
            if self.archive is not None:
                self.archive.append(
                    [to_line(w.message, run_id=self.plan.run_id, source=self.plan.dlq.arn, target=target.arn)
                     for w in batch]
                )
            sent, failed = send_batch(
                self.sqs, self.call, target, [w.message for w in batch], self.plan.run_id,
                self.plan.dlq.name, self.sleep,
            )
        except Exception as exc:
            reason = f"not sent: {describe(exc)}"
            with self.lock:
                for item in batch:
                    message_id = item.message.message_id
                    self.reserved -= 1
                    self.in_progress.discard(message_id)
                    self.held[message_id] = item.handle
                    self.failures[message_id] = reason
            self._fail_run(exc)
            return
        not_deleted = self._delete([(m.message_id, handles[m.message_id]) for m in sent]) if sent else []
        with self.lock:
            for item in batch:
                self.reserved -= 1
                self.in_progress.discard(item.message.message_id)
            for message_id, reason in failed.items():
                self.held[message_id] = handles[message_id]
                self.failures[message_id] = reason
            if failed and self.plan.dlq.fifo:
                self.blocked_groups |= {w.message.group_id for w in batch
                                        if w.message.message_id in failed and w.message.group_id}
            for message in sent:
                self.moved += 1
                self.moved_by_target[target.name] = self.moved_by_target.get(target.name, 0) + 1
                self.recent[message.message_id] = None
                if len(self.recent) > RECENT_MOVED:
                    self.recent.popitem(last=False)
            for message_id in not_deleted:
                self.unsettled[message_id] = target.name

    def _delete(self, items: list[tuple[str, str]]) -> list[str]:
        """DeleteMessageBatch in tens; returns the ids SQS did not delete (they are in both queues)."""
        not_deleted: list[str] = []
        for start in range(0, len(items), MAX_BATCH_ENTRIES):
            chunk = items[start : start + MAX_BATCH_ENTRIES]
            entries = [{"Id": str(i), "ReceiptHandle": handle} for i, (_, handle) in enumerate(chunk)]
            try:
                response = self.call(self.sqs.delete_message_batch, QueueUrl=self.plan.dlq.url, Entries=entries)
            except Exception as exc:
                not_deleted.extend(message_id for message_id, _ in chunk)
                self._fail_run(exc)
                continue
            done = {str(ok["Id"]) for ok in response.get("Successful", [])}
            for i, (message_id, _) in enumerate(chunk):
                if str(i) not in done:
                    not_deleted.append(message_id)
        with self.lock:
            deleted = {message_id for message_id, _ in items} - set(not_deleted)
            for message_id in deleted:
                self.unsettled.pop(message_id, None)
        return not_deleted

    # -- the run --------------------------------------------------------------------------------

    def run(self, on_progress: Callable[[RedriveProgress], None] | None,
            cancel: threading.Event | None = None) -> RedriveResult:
        started = self.clock()
        counter = ApiCounter(self.sqs)
        interrupted = abandoned = False
        not_restored: list[str] = []
        with counter:
            finished = [threading.Event() for _ in range(self.options.concurrency)]

            def work(done: threading.Event) -> None:
                try:
                    self.worker()
                finally:
                    done.set()

            def stop_receiving() -> None:
                nonlocal interrupted
                interrupted = True
                with self.lock:
                    self.interrupted = True
                self._halt()

            def wait_for_workers() -> None:
                # Events, not Thread.join: on Python 3.10-3.12 a join that a KeyboardInterrupt cut short
                # can make the next join return at once, while the worker is still sending.
                for done in finished:
                    while not done.wait(0.1):
                        if on_progress is not None:
                            on_progress(self.progress(started))
                        if cancel is not None and cancel.is_set() and not interrupted:
                            stop_receiving()  # a deferred Ctrl-C: finish every batch in hand

            try:
                for i, done in enumerate(finished):
                    threading.Thread(target=work, args=(done,), name=f"eda-redrive-{i}", daemon=True).start()
                wait_for_workers()
            except KeyboardInterrupt:
                already = interrupted
                stop_receiving()
                try:
                    if already:
                        raise  # the second Ctrl-C: stop waiting at once
                    wait_for_workers()  # the first (no deferral in place): finish the batches in flight
                except KeyboardInterrupt:
                    abandoned = True
            finally:
                if self.archive is not None and not abandoned:
                    self.archive.close()
            if abandoned:
                with self.lock:
                    in_flight = sorted(self.in_progress)
                    hidden = len(self.held)
                self.notes.append(
                    f"interrupted twice: eda stopped waiting; {len(in_flight)} message(s) were being moved and may "
                    "be in the DLQ, in the target, or both (in_flight_message_ids)"
                    + (f"; {hidden} more stay hidden in the DLQ for up to {self.visibility}s" if hidden else "")
                )
                return self._result(started, counter, interrupted=True, not_restored=[], left=None,
                                    in_flight=tuple(in_flight))
            with self.lock:
                release = list(self.held.items())
            if release:
                not_restored = change_visibility(self.sqs, self.plan.dlq.url, release, timeout=0)
            left = queue_depth(self.sqs, self.plan.dlq.url)
        if on_progress is not None:
            on_progress(self.progress(started))
        if not_restored:
            self.notes.append(
                f"{len(not_restored)} message(s) could not be made visible again; "
                f"they reappear within {self.visibility}s"
            )
        if self.call.retries:
            self.notes.append(f"{self.call.retries} call(s) were throttled or failed on AWS's side and retried")
        return self._result(started, counter, interrupted=interrupted, not_restored=not_restored, left=left)

    def _result(self, started: float, counter: ApiCounter, *, interrupted: bool, not_restored: list[str],
                left: int | None, in_flight: tuple[str, ...] = ()) -> RedriveResult:
        with self.lock:
            failed_ids = tuple(sorted(self.failures))
            return RedriveResult(
                source=self.plan.dlq.name,
                targets=tuple(t.name for t in self.plan.targets),
                mode=self.plan.mode,
                dry_run=self.dry_run,
                moved=self.moved,
                skipped=self.skipped,
                failed_message_ids=failed_ids,
                api_calls=self.plan.api_calls + counter.calls,
                seconds=max(0.0, self.clock() - started),
                archive=self.options.archive if not self.dry_run else None,
                run_id=self.plan.run_id,
                mode_reason=self.plan.mode_reason,
                moved_by_target=dict(sorted(self.moved_by_target.items())),
                failures={k: self.failures[k] for k in failed_ids},
                not_deleted_message_ids=tuple(sorted(self.unsettled)),
                unroutable=self.unroutable,
                not_restored=len(not_restored),
                would_move=self.would_move if self.dry_run else None,
                sample=tuple(self.sample),
                interrupted=interrupted,
                error=describe(self.error) if self.error is not None else None,
                left_in_dlq=left,
                notes=tuple(self.notes),
                exception=self.error,
                in_flight_message_ids=in_flight,
            )


def _sample(message: OutgoingMessage, target: QueueInfo) -> dict[str, Any]:
    """A dry run's sample row. The body shown is the message an SNS envelope carries (what a person
    wants to recognise), as `dlq peek` shows it; the move itself sends the body untouched."""
    from eda_cli.core.dlq import body_preview
    from eda_cli.core.sqs import unwrap_envelope

    return {
        "message_id": message.message_id,
        "target": target.name,
        "group_id": message.group_id,
        "sent_at": ms_to_iso(message.attributes.get("SentTimestamp")),
        "body": body_preview(unwrap_envelope(parse_body(message.body)), 80),
    }


# -- native mode ----------------------------------------------------------------------------------


DEPTH_ATTRIBUTES = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed")


def queue_depth(sqs: Any, url: str) -> int | None:
    """Every message a queue holds (visible, in flight and delayed), or None when it cannot be read."""
    try:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(DEPTH_ATTRIBUTES)).get("Attributes", {})
    except Exception:
        return None
    return sum(int(attributes.get(key, 0)) for key in DEPTH_ATTRIBUTES)


def _native_destination(plan: RedrivePlan) -> QueueInfo | None:
    """Where the move task is told to send: --to, or the DLQ's only source. Named even then, because a
    move task without DestinationArn fails on messages SQS did not dead-letter itself (those with no
    DeadLetterQueueSourceArn, such as ones `eda redrive replay --to DLQ` put there)."""
    if plan.to is not None:
        return plan.to
    return plan.sources[0] if len(plan.sources) == 1 else None


def _run_native(
    sqs: Any,
    plan: RedrivePlan,
    sleep: Sleep,
    clock: Clock,
    on_progress: Callable[[RedriveProgress], None] | None,
    poll_seconds: float,
    cancel: threading.Event | None = None,
) -> RedriveResult:
    started = clock()
    notes = list(plan.notes)
    interrupted = False
    error: str | None = None
    exception: BaseException | None = None
    reported = 0
    destination = _native_destination(plan)
    with ApiCounter(sqs) as counter:
        before = queue_depth(sqs, destination.url) if destination is not None else None
        kwargs: dict[str, Any] = {"SourceArn": plan.dlq.arn}
        if destination is not None:
            kwargs["DestinationArn"] = destination.arn
        if plan.options.rate is not None:
            kwargs["MaxNumberOfMessagesPerSecond"] = max(1, min(NATIVE_MAX_RATE, int(plan.options.rate)))
        handle = _move_task_call(sqs.start_message_move_task, "StartMessageMoveTask", plan.dlq.name,
                                 **kwargs)["TaskHandle"]
        task: dict[str, Any] = {}

        def stop_task() -> None:
            nonlocal interrupted, reported
            interrupted = True
            answer = sqs.cancel_message_move_task(TaskHandle=handle)
            reported = int(answer.get("ApproximateNumberOfMessagesMoved", reported))
            notes.append("the move task was cancelled; messages not yet moved stay in the DLQ")

        try:
            while True:
                sleep(poll_seconds)
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
            arrived = _arrivals(sqs, destination.url, before, reported, sleep, poll_seconds)
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
    return RedriveResult(
        source=plan.dlq.name,
        targets=tuple(t.name for t in plan.targets),
        mode="native",
        dry_run=False,
        moved=moved,
        skipped=0,
        failed_message_ids=(),
        api_calls=plan.api_calls + counter.calls,
        seconds=max(0.0, clock() - started),
        archive=None,
        run_id=plan.run_id,
        mode_reason=plan.mode_reason,
        moved_by_target={destination.name: moved} if destination is not None else {},
        interrupted=interrupted,
        error=error,
        left_in_dlq=left,
        notes=tuple(notes),
        exception=exception,
        task_reported_moved=reported,
        unverified=unverified,
    )


def _arrivals(sqs: Any, url: str, before: int, expected: int, sleep: Sleep, poll_seconds: float) -> int | None:
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


def run_redrive(
    sqs: Any,
    plan: RedrivePlan,
    *,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    on_progress: Callable[[RedriveProgress], None] | None = None,
    poll_seconds: float | None = None,
    cancel: threading.Event | None = None,
) -> RedriveResult:
    """Carry out a plan. Ctrl-C (a KeyboardInterrupt, or `cancel` set, as `eda_cli.interrupts` does)
    stops receiving, finishes in-flight sends and deletes, puts held messages back, and returns the
    result with `interrupted` set (native mode cancels its move task). A KeyboardInterrupt after that
    stops waiting at once, and the result's notes name the messages that were in flight."""
    if plan.mode == "native" and not plan.options.dry_run:
        poll = NATIVE_POLL_SECONDS if poll_seconds is None else poll_seconds
        return _run_native(sqs, plan, sleep, clock, on_progress, poll, cancel)
    return _CopyRun(sqs, plan, sleep, clock).run(on_progress, cancel)


def redrive(
    sqs: Any,
    dlq: QueueRef,
    *,
    to: QueueRef | None = None,
    options: RedriveOptions | None = None,
    probe: Any | None = None,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    on_progress: Callable[[RedriveProgress], None] | None = None,
    run_id: str | None = None,
) -> RedriveResult:
    """Plan and run in one call (the Python API; the command confirms in between)."""
    plan = plan_redrive(sqs, dlq, to=to, options=options, probe=probe, run_id=run_id)
    return run_redrive(sqs, plan, sleep=sleep, clock=clock, on_progress=on_progress)


# -- replay ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArchiveSummary:
    records: int
    unique: int
    bad_lines: tuple[BadLine, ...]


def scan_archive(path: str) -> ArchiveSummary:
    """Count an archive's records (for the confirmation), streaming; UsageError if it is not one."""
    try:
        records = 0
        seen: set[str] = set()
        bad: list[BadLine] = []
        for item in read_archive(path):
            if isinstance(item, BadLine):
                bad.append(item)
            else:
                records += 1
                seen.add(item.message.message_id)
    except FileNotFoundError as exc:
        raise UsageError(f"no such archive: {path}") from exc
    except (IsADirectoryError, PermissionError) as exc:
        raise UsageError(f"cannot read the archive {path}: {exc.strerror}") from exc
    if records == 0 and bad:
        raise UsageError(
            f"{path} is not an eda redrive archive (line {bad[0].line}: {bad[0].problem})",
            hint="archives are written by `eda redrive DLQ --archive FILE`",
        )
    return ArchiveSummary(records=records, unique=len(seen), bad_lines=tuple(bad))


def replay(
    sqs: Any,
    path: str,
    to: QueueRef,
    *,
    matcher: Matcher | None = None,
    rate: float | None = None,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    on_progress: Callable[[RedriveProgress], None] | None = None,
    run_id: str | None = None,
) -> RedriveResult:
    """Send every message of an archive (each message id once) to `to`. Nothing is deleted anywhere."""
    if rate is not None and rate <= 0:
        raise UsageError("--rate must be more than 0 messages per second")
    summary = scan_archive(path)
    run_id = run_id or uuid.uuid4().hex
    started = clock()
    call = _Caller(sleep)
    bucket = TokenBucket(rate, clock, sleep) if rate else None
    never = threading.Event()
    notes = [f"archive line {b.line} skipped: {b.problem}" for b in summary.bad_lines[:5]]
    if len(summary.bad_lines) > 5:
        notes.append(f"... and {len(summary.bad_lines) - 5} more unreadable line(s)")
    if summary.records > summary.unique:
        notes.append(f"{summary.records - summary.unique} repeated record(s) of the same message sent once")
    moved = 0
    skipped = 0
    failures: dict[str, str] = {}
    seen: set[str] = set()
    exception: BaseException | None = None
    interrupted = False
    with ApiCounter(sqs) as counter:
        target = _info(sqs, to.url, to.name)
        pending: list[OutgoingMessage] = []

        def flush() -> None:
            nonlocal moved
            for batch in split_by_size(pending, lambda m: m.size):
                if bucket is not None:
                    bucket.acquire(len(batch), never)
                sent, failed = send_batch(sqs, call, target, batch, run_id, "eda-replay", sleep)
                moved += len(sent)
                failures.update(failed)
            pending.clear()

        try:
            for item in read_archive(path):
                if isinstance(item, BadLine) or item.message.message_id in seen:
                    continue
                seen.add(item.message.message_id)
                if matcher is not None and not matcher.matches(filter_event(item.message)):
                    skipped += 1
                    continue
                pending.append(item.message)
                if len(pending) >= (bucket.batch if bucket is not None else MAX_BATCH_ENTRIES):
                    flush()
                    if on_progress is not None:
                        on_progress(RedriveProgress(moved, skipped, len(failures), summary.unique, clock() - started))
            flush()
        except KeyboardInterrupt:
            interrupted = True
        except Exception as exc:
            exception = exc
            for message in pending:
                failures[message.message_id] = f"not sent: {describe(exc)}"
    failed_ids = tuple(sorted(failures))
    return RedriveResult(
        source=path,
        targets=(target.name,),
        mode="replay",
        dry_run=False,
        moved=moved,
        skipped=skipped,
        failed_message_ids=failed_ids,
        api_calls=counter.calls,
        seconds=max(0.0, clock() - started),
        archive=path,
        run_id=run_id,
        mode_reason="replay from an archive",
        moved_by_target={target.name: moved},
        failures={k: failures[k] for k in failed_ids},
        interrupted=interrupted,
        error=describe(exception) if exception is not None else None,
        notes=tuple(notes + ([f"{call.retries} call(s) retried"] if call.retries else [])),
        exception=exception,
    )


# -- move tasks: status and cancel ----------------------------------------------------------------


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
    def from_api(cls, raw: dict[str, Any]) -> MoveTask:
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


def _move_task_call(fn: Callable[..., Any], operation: str, dlq_name: str, **kwargs: Any) -> Any:
    try:
        return fn(**kwargs)
    except Exception as exc:
        if unimplemented(exc):
            raise AwsError(
                f"{operation} failed with HTTP {http_status(exc)} for {dlq_name}: the endpoint does not "
                "support message move tasks",
                hint=f"copy mode works on every endpoint: eda redrive {dlq_name} --mode copy",
            ) from exc
        if is_client_error(exc, "InvalidParameterValue", "InvalidParameterValueException"):
            # eda built the request itself: SQS refusing it is SQS's state (a task already running), not bad input.
            message = getattr(exc, "response", {}).get("Error", {}).get("Message") or error_code(exc)
            raise AwsError(f"SQS refused {operation} for {dlq_name}: {message}",
                           hint=f"see `eda redrive status {dlq_name}`") from exc
        raise


def list_move_tasks(sqs: Any, dlq: QueueRef, arn: str) -> list[MoveTask]:
    """The most recent move tasks (up to 10) whose source is this DLQ, newest first."""
    answer = _move_task_call(
        sqs.list_message_move_tasks, "ListMessageMoveTasks", dlq.name, SourceArn=arn, MaxResults=10
    )
    return [MoveTask.from_api(t) for t in answer.get("Results", [])]


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


def cancel_move_task(sqs: Any, dlq: QueueRef, arn: str) -> CancelResult:
    """Cancel the running move task of this DLQ, if there is one (cancelled=False when none runs)."""
    running = [t for t in list_move_tasks(sqs, dlq, arn) if t.status == "RUNNING" and t.task_handle]
    if not running:
        return CancelResult(queue=dlq.name, cancelled=False, moved=0, task=None)
    task = running[0]
    answer = _move_task_call(
        sqs.cancel_message_move_task, "CancelMessageMoveTask", dlq.name, TaskHandle=task.task_handle
    )
    return CancelResult(
        queue=dlq.name,
        cancelled=True,
        moved=int(answer.get("ApproximateNumberOfMessagesMoved", task.moved)),
        task=task,
    )


__all__ = [
    "DEFAULT_CONCURRENCY",
    "ArchivedMessage",
    "RedriveOptions",
    "RedrivePlan",
    "RedriveProgress",
    "RedriveResult",
    "cancel_move_task",
    "list_move_tasks",
    "plan_redrive",
    "redrive",
    "replay",
    "run_redrive",
]
