"""Redrive's SQS calls: retries on top of botocore's, the rate limit, batches that fit SQS's limits, a
SendMessageBatch that reads its Failed list, and counting the calls a run made."""

from __future__ import annotations

import hashlib
import random
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from eda_cli.aws.errors import THROTTLED, error_code, http_status, is_client_error
from eda_cli.core.archive import OutgoingMessage
from eda_cli.core.redrive.model import Clock, Sleep
from eda_cli.core.sqs import BATCH_ENTRIES, QueueInfo, QueueVanished, chunked, get_queue_info
from eda_cli.errors import ResourceNotFound

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType
    from mypy_boto3_sqs.type_defs import (
        DeleteMessageBatchRequestEntryTypeDef,
        MessageAttributeValueTypeDef,
        SendMessageBatchRequestEntryTypeDef,
    )

#: SendMessageBatch limits: 10 entries, and since 2025 1 MiB for a message and for a whole batch.
MAX_BATCH_ENTRIES = BATCH_ENTRIES
MAX_BATCH_BYTES = 1_048_576
#: Whole-call attempts eda adds on top of botocore's own retries, and attempts per failed batch entry.
CALL_ATTEMPTS = 4
ENTRY_ATTEMPTS = 3
RETRYABLE_CODES = THROTTLED | {
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "RequestTimeout",
    "KMS.ThrottlingException",
    "RequestThrottled",
}
DEPTH_ATTRIBUTES: tuple[QueueAttributeNameType, ...] = (
    "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"
)

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


class ApiCounter:
    """Counts SQS API calls made through a client, with a botocore event hook (retries not included);
    with `event="before-parameter-build"`, every call of any client."""

    def __init__(self, client: Any, event: str = "before-parameter-build.sqs") -> None:
        self._client = client
        self._event = event
        self._lock = threading.Lock()
        self._id = f"eda-redrive-counter-{uuid.uuid4().hex}"
        self.calls = 0

    def __enter__(self) -> ApiCounter:
        self._client.meta.events.register(self._event, self._count, unique_id=self._id)
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.meta.events.unregister(self._event, unique_id=self._id)

    def _count(self, **kwargs: Any) -> None:
        with self._lock:
            self.calls += 1


def queue_info(sqs: SQSClient, url: str, name: str) -> QueueInfo:
    """A queue's attributes; ResourceNotFound when it was deleted since eda resolved it."""
    try:
        return get_queue_info(sqs, url)
    except QueueVanished as exc:
        raise ResourceNotFound(f"queue {name!r} was deleted while eda was reading it") from exc


def queue_depth(sqs: SQSClient, url: str) -> int | None:
    """Every message a queue holds (visible, in flight and delayed), or None when it cannot be read."""
    try:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(DEPTH_ATTRIBUTES)).get("Attributes", {})
    except Exception:
        return None
    return sum(int(attributes.get(key, "0")) for key in DEPTH_ATTRIBUTES)


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


class Caller:
    """Calls AWS with eda's retries on top of botocore's: throttling and 5xx are tried again."""

    def __init__(self, sleep: Sleep, attempts: int = CALL_ATTEMPTS) -> None:
        self._sleep = sleep
        self._attempts = attempts
        self._random = random.Random()
        self.retries = 0

    def backoff(self, attempt: int) -> float:
        return min(8.0, 0.5 * 2.0**attempt) * (0.5 + self._random.random() / 2)

    def __call__(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(self._attempts):
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                if attempt + 1 >= self._attempts or not is_retryable(exc):
                    raise
                self.retries += 1
                self._sleep(self.backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover


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


def dedup_id(run_id: str, message_id: str) -> str:
    """A FIFO deduplication id for this run and message: a retried send within the run is not
    duplicated, and the original's id (which SQS may still remember, silently dropping the copy)
    is never reused."""
    return hashlib.sha256(f"eda-redrive:{run_id}:{message_id}".encode()).hexdigest()


def split_by_size(items: Sequence[T], size_of: Callable[[T], int], max_entries: int = MAX_BATCH_ENTRIES,
                  max_bytes: int = MAX_BATCH_BYTES) -> Iterator[list[T]]:
    """Batches of at most 10 entries and at most 1 MiB (SQS's limits, unless others are given), in order."""
    batch: list[T] = []
    total = 0
    for item in items:
        size = size_of(item)
        if batch and (len(batch) >= max_entries or total + size > max_bytes):
            yield batch
            batch, total = [], 0
        batch.append(item)
        total += size
    if batch:
        yield batch


def build_entry(
    entry_id: str, message: OutgoingMessage, target: QueueInfo, run_id: str, default_group: str
) -> SendMessageBatchRequestEntryTypeDef:
    entry: SendMessageBatchRequestEntryTypeDef = {"Id": entry_id, "MessageBody": message.body}
    if message.message_attributes:
        # OutgoingMessage keeps attributes in SendMessage's wire form already (see archive.wire_attributes).
        entry["MessageAttributes"] = cast("dict[str, MessageAttributeValueTypeDef]", message.message_attributes)
    if message.trace_header:
        entry["MessageSystemAttributes"] = {
            "AWSTraceHeader": {"DataType": "String", "StringValue": message.trace_header}
        }
    if target.fifo:
        entry["MessageGroupId"] = message.group_id or default_group
        entry["MessageDeduplicationId"] = dedup_id(run_id, message.message_id)
    return entry


def send_batch(
    sqs: SQSClient,
    call: Caller,
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


def delete_batch(
    sqs: SQSClient, call: Caller, url: str, items: list[tuple[str, str]], on_error: Callable[[BaseException], None]
) -> list[str]:
    """DeleteMessageBatch of (message id, receipt handle) in tens; returns the ids SQS did not delete.

    A call that fails after retries is reported to `on_error` and its ids count as not deleted."""
    not_deleted: list[str] = []
    for chunk in chunked(items):
        entries: list[DeleteMessageBatchRequestEntryTypeDef] = [
            {"Id": str(i), "ReceiptHandle": handle} for i, (_, handle) in enumerate(chunk)
        ]
        try:
            response = call(sqs.delete_message_batch, QueueUrl=url, Entries=entries)
        except Exception as exc:
            not_deleted.extend(message_id for message_id, _ in chunk)
            on_error(exc)
            continue
        done = {str(ok["Id"]) for ok in response.get("Successful", [])}
        not_deleted.extend(message_id for i, (message_id, _) in enumerate(chunk) if str(i) not in done)
    return not_deleted
