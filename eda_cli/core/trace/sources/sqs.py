"""SQS: a queue read whole for the id, with the `dlq peek` rules (never consume, put back at once)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eda_cli.core.dlq import PEEK_VISIBILITY_SECONDS, BrowseStats, browse, named_like_dlq, refuse_live_queue
from eda_cli.core.sqs import Message, get_queue_info
from eda_cli.core.trace.match import match_message
from eda_cli.core.trace.model import SQS, Hit, Place, epoch_of, iso_from_epoch
from eda_cli.core.trace.sources.base import Found, one_line, plural

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

#: Budget: a search stops there and says it did not read everything (`Place.complete` False).
QUEUE_MESSAGE_BUDGET = 10_000
#: Receives in a row that bring nothing new before a queue counts as read.
EMPTY_RECEIVES = 3


@dataclass(frozen=True)
class QueueScan:
    name: str
    url: str
    seen: int
    visible_before: int | None
    in_flight_before: int | None
    receives: int
    matches: tuple[tuple[Message, tuple[str, ...]], ...]
    not_restored: tuple[str, ...] = ()
    has_redrive_policy: bool = False
    complete: bool = True


def scan_queue(
    sqs: SQSClient,
    name: str,
    url: str,
    correlation_id: str,
    paths: tuple[str, ...],
    *,
    force: bool = False,
    budget: int = QUEUE_MESSAGE_BUDGET,
) -> QueueScan:
    """Read a whole queue for the id, with the `dlq peek` rules: never consume, put back at once.

    The reading is `core.dlq.browse` (when it stops, and why), up to `budget` messages; only
    matching messages are kept.
    """
    info = get_queue_info(sqs, url)
    if info.redrive_policy and not force:
        raise refuse_live_queue(name, info.max_receive_count)
    visible = info.int_attr("ApproximateNumberOfMessages")
    matches: list[tuple[Message, tuple[str, ...]]] = []
    stats = BrowseStats()
    with contextlib.closing(browse(sqs, url, limit=budget, visible=visible, stats=stats,
                                   empty_receives=EMPTY_RECEIVES)) as messages:
        for message in messages:
            where = match_message(message, correlation_id, paths)
            if where:
                matches.append((message, tuple(where)))
    return QueueScan(
        name=name,
        url=url,
        seen=stats.seen,
        visible_before=visible,
        in_flight_before=info.int_attr("ApproximateNumberOfMessagesNotVisible"),
        receives=stats.receives,
        matches=tuple(matches),
        not_restored=stats.not_restored,
        has_redrive_policy=bool(info.redrive_policy),
        complete=stats.seen < budget,
    )


def redrive_sources(sqs: SQSClient, url: str) -> tuple[str, ...]:
    """Names of the queues whose RedrivePolicy targets this one (ListDeadLetterSourceQueues)."""
    from eda_cli.aws.resolve import queue_name_from_url

    names: list[str] = []
    for page in sqs.get_paginator("list_dead_letter_source_queues").paginate(QueueUrl=url):
        names.extend(queue_name_from_url(u) for u in page.get("queueUrls", []))
    return tuple(sorted(names))


def sqs_hit(queue: str, message: Message, where: tuple[str, ...], *, dlq: bool,
            sources: tuple[str, ...]) -> Hit:
    from eda_cli.core.sqs import unwrap_envelope

    count = message.receive_count
    error = message.error
    parts = [f"message {message.message_id}"]
    if count is not None:
        parts.append(plural(count, "receive"))
    if error and error.get("message"):
        parts.append(f"ErrorMessage {one_line(str(error['message']), 100)!r}")
    state = "dead-lettered" if dlq else "waiting"
    first = message.attributes.get("ApproximateFirstReceiveTimestamp")
    return Hit(
        epoch=epoch_of(message.attributes.get("SentTimestamp")),
        source=SQS,
        resource=queue,
        summary=f"{state}: " + ", ".join(parts),
        detail={
            "message_id": message.message_id,
            "dlq": dlq,
            "redrive_sources": list(sources),
            "sent_at": message.sent_at,
            "first_received_at": iso_from_epoch(epoch_of(first)) if first else None,
            "receive_count": count,
            "error": error,
            "matched": list(where),
            "body": unwrap_envelope(message.body),
            "message_attributes": message.message_attributes,
            "group_id": message.group_id,
            #: Filled after the idempotency lookup: "found", "none", or None when no table was read.
            "idempotency_record": None,
        },
    )


def search_queue(
    sqs: SQSClient,
    name: str,
    url: str,
    correlation_id: str,
    paths: tuple[str, ...],
    *,
    force: bool,
    is_dlq: bool | None,
    sources: tuple[str, ...] | None,
    budget: int = QUEUE_MESSAGE_BUDGET,
) -> Found:
    scan = scan_queue(sqs, name, url, correlation_id, paths, force=force, budget=budget)
    note = f"{plural(scan.seen, 'message')} read"
    if scan.in_flight_before:
        note += f"; {scan.in_flight_before} in flight could not be read"
    if scan.not_restored:
        note += f"; {len(scan.not_restored)} could not be made visible again (they reappear within " \
                f"{PEEK_VISIBILITY_SECONDS}s)"
    complete = scan.complete
    if not scan.complete:
        note += f"; stopped at {budget} messages"
    elif name.endswith(".fifo") and scan.visible_before is not None and scan.seen < scan.visible_before:
        # SQS hands out no message of a group while an earlier one of that group is in flight.
        note += f" of {scan.visible_before}: a FIFO queue shows only the head of each message group " \
                "to a reader that does not delete"
        complete = False
    found = Found(places=[Place(SQS, name, note, complete=complete)])
    if scan.matches:
        if sources is None:
            sources = redrive_sources(sqs, url)
        if is_dlq is None:
            is_dlq = bool(sources) or (named_like_dlq(name) and not scan.has_redrive_policy)
        for message, where in scan.matches:
            found.hits.append(sqs_hit(name, message, where, dlq=is_dlq, sources=sources or ()))
    return found
