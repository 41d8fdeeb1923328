"""Replay: send the messages of a redrive archive (again) to a queue, each message once."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eda_cli.aws.errors import describe
from eda_cli.aws.resolve import QueueRef
from eda_cli.core.archive import BadLine, OutgoingMessage, read_archive
from eda_cli.core.redrive.model import Clock, Matcher, RedriveProgress, RedriveResult, Sleep, filter_event
from eda_cli.core.redrive.sqs_io import (
    MAX_BATCH_ENTRIES,
    ApiCounter,
    Caller,
    TokenBucket,
    queue_info,
    send_batch,
    split_by_size,
)
from eda_cli.errors import UsageError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


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


def _archive_notes(summary: ArchiveSummary) -> list[str]:
    notes = [f"archive line {b.line} skipped: {b.problem}" for b in summary.bad_lines[:5]]
    if len(summary.bad_lines) > 5:
        notes.append(f"... and {len(summary.bad_lines) - 5} more unreadable line(s)")
    if summary.records > summary.unique:
        notes.append(f"{summary.records - summary.unique} repeated record(s) of the same message sent once")
    return notes


def replay(
    sqs: SQSClient,
    path: str,
    to: QueueRef,
    *,
    matcher: Matcher | None = None,
    rate: float | None = None,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    on_progress: Callable[[RedriveProgress], None] | None = None,
    run_id: str | None = None,
    prior_calls: int = 0,
) -> RedriveResult:
    """Send every message of an archive (each message id once) to `to`. Nothing is deleted anywhere.

    `prior_calls`: the API calls the caller already made for this replay (resolving `to`), counted in the result."""
    if rate is not None and rate <= 0:
        raise UsageError("--rate must be more than 0 messages per second")
    summary = scan_archive(path)
    run_id = run_id or uuid.uuid4().hex
    started = clock()
    call = Caller(sleep)
    bucket = TokenBucket(rate, clock, sleep) if rate else None
    never = threading.Event()
    notes = _archive_notes(summary)
    moved = 0
    skipped = 0
    failures: dict[str, str] = {}
    seen: set[str] = set()
    exception: BaseException | None = None
    interrupted = False
    with ApiCounter(sqs) as counter:
        target = queue_info(sqs, to.url, to.name)
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
    if call.retries:
        notes.append(f"{call.retries} call(s) retried")
    return RedriveResult.build(
        source=path,
        targets=(target.name,),
        mode="replay",
        mode_reason="replay from an archive",
        run_id=run_id,
        moved=moved,
        skipped=skipped,
        failures=failures,
        api_calls=prior_calls + counter.calls,
        seconds=clock() - started,
        archive=path,
        moved_by_target={target.name: moved},
        destinations=[{"kind": "sqs", "name": target.name, "arn": target.arn, "api": "SendMessageBatch",
                       "route": "--to", "moved": moved, "failed": len(failures), "would_move": None}],
        interrupted=interrupted,
        exception=exception,
        notes=notes,
    )
