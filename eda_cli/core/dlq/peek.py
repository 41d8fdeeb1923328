"""`dlq peek`: read a queue's messages without consuming any, and group them by error for triage."""

from __future__ import annotations

import json
import threading
from collections.abc import Generator
from contextlib import closing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from eda_cli.aws.resolve import QueueRef
from eda_cli.core.problems import Problem
from eda_cli.core.sqs import Message, change_visibility, get_queue_info, to_message, unwrap_envelope
from eda_cli.errors import UsageError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


#: Peeked messages are hidden for at most this long if eda dies before putting them back.
PEEK_VISIBILITY_SECONDS = 30


@dataclass(frozen=True)
class PeekResult:
    queue: QueueRef
    messages: tuple[Message, ...]
    receives: int
    #: Messages whose visibility could not be reset: they reappear after PEEK_VISIBILITY_SECONDS.
    not_restored: tuple[str, ...] = ()
    visible_before: int | None = None
    #: Ctrl-C stopped it: `messages` is what was read until then (and put back).
    interrupted: bool = False

    def to_list(self) -> list[dict[str, Any]]:
        return [m.to_dict() for m in self.messages]

    @property
    def problems(self) -> tuple[Problem, ...]:
        """Every message was read; putting some back failed: they stay hidden until their timeout ends."""
        if not self.not_restored:
            return ()
        return (Problem("sqs", self.queue.name, f"{len(self.not_restored)} message(s) reappear within "
                        f"{PEEK_VISIBILITY_SECONDS}s", action="make visible again the messages read from"),)


class PeekRefused(UsageError):
    pass


def refuse_live_queue(name: str, max_receive_count: int | None) -> PeekRefused:
    """The refusal to receive from a queue with a RedrivePolicy of its own (a live source queue)."""
    return PeekRefused(
        f"{name} has a RedrivePolicy (maxReceiveCount {max_receive_count}): every receive raises a message's "
        "receive count, so reading it could push live messages into its DLQ",
        hint="read its DLQ instead, or pass --force if you accept that risk",
    )


@dataclass
class BrowseStats:
    """What a `browse` did, filled in as it goes (and completed when it ends)."""

    receives: int = 0
    seen: int = 0
    #: Messages whose visibility could not be reset: they reappear after PEEK_VISIBILITY_SECONDS.
    not_restored: tuple[str, ...] = ()
    #: Stopped early by `cancel` (Ctrl-C).
    cancelled: bool = False


def browse(
    sqs: SQSClient,
    url: str,
    *,
    limit: int,
    visible: int | None,
    stats: BrowseStats,
    empty_receives: int = 3,
    cancel: threading.Event | None = None,
) -> Generator[Message, None, None]:
    """Yield each message of a queue once, up to `limit`, WITHOUT consuming any: nothing is deleted.

    Each receive hides what it got for PEEK_VISIBILITY_SECONDS so the next receive reaches other
    messages; when the generator ends, or is closed, every message seen is made visible again at
    once (use it inside `contextlib.closing` if you may stop early). Receives are short while they
    bring new messages; after one that brings nothing new the next waits a second, since a short
    receive samples only some SQS servers. It stops at `limit`, once as many messages as the queue
    reported (`visible`) have been seen and a long-polled receive brings nothing new, or after
    `empty_receives` receives in a row bring nothing new. Messages are de-duplicated by id. With
    `cancel` set (a deferred Ctrl-C), it stops before the next receive, never inside one, so that no
    receipt handle is lost and every message seen can be put back.
    """
    seen: set[str] = set()
    handles: dict[str, str] = {}
    quiet = wait = 0
    try:
        while len(seen) < limit and quiet < empty_receives:
            if cancel is not None and cancel.is_set():
                stats.cancelled = True
                break
            stats.receives += 1
            response = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(10, limit - len(seen)),
                VisibilityTimeout=PEEK_VISIBILITY_SECONDS,
                WaitTimeSeconds=wait,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            new = 0
            for raw in response.get("Messages", []):
                message_id = str(raw["MessageId"])
                handles[message_id] = str(raw["ReceiptHandle"])
                if message_id in seen or len(seen) >= limit:
                    continue
                seen.add(message_id)
                stats.seen = len(seen)
                new += 1
                yield to_message(cast("dict[str, Any]", raw))  # core.sqs reads it as a plain dict
            if new:
                quiet = wait = 0
            else:
                # Seen all the queue reported, and a long-polled receive (which asks every server)
                # found nothing more: done. A short receive alone could have missed some.
                if wait and visible is not None and len(seen) >= visible:
                    break
                quiet, wait = quiet + 1, 1
    finally:
        stats.not_restored = tuple(change_visibility(sqs, url, list(handles.items()), timeout=0))


def peek(
    sqs: SQSClient,
    queue: QueueRef,
    max_messages: int = 10,
    *,
    force: bool = False,
    empty_receives: int = 3,
    cancel: threading.Event | None = None,
) -> PeekResult:
    """Read up to `max_messages` without consuming them (see `browse`): nothing is ever deleted.

    Refuses a queue that has a RedrivePolicy of its own unless `force`: every receive raises a
    message's receive count, which could push live messages into that queue's DLQ.
    """
    if max_messages < 1:
        raise UsageError("peek reads at least 1 message")
    info = get_queue_info(sqs, queue.url)
    if info.redrive_policy and not force:
        raise refuse_live_queue(queue.name, info.max_receive_count)
    visible = info.int_attr("ApproximateNumberOfMessages")
    stats = BrowseStats()
    with closing(browse(sqs, queue.url, limit=max_messages, visible=visible, stats=stats,
                        empty_receives=empty_receives, cancel=cancel)) as messages:
        seen = list(messages)
    ordered = sorted(seen, key=lambda m: (m.sent_at or "", m.message_id))
    return PeekResult(
        queue=queue,
        messages=tuple(ordered),
        receives=stats.receives,
        not_restored=stats.not_restored,
        visible_before=visible,
        interrupted=stats.cancelled,
    )


# -- grouping ------------------------------------------------------------------------------------


def signature(message: Message) -> str:
    """What a poison message 'is', for triage: its error, else the shape of its payload."""
    error = message.error
    if error and (error.get("message") or error.get("code")):
        code = f"[{error['code']}] " if error.get("code") else ""
        return f"error: {code}{error.get('message') or ''}".rstrip()
    body = unwrap_envelope(message.body)
    if isinstance(body, dict) and "detail-type" in body and isinstance(body.get("detail"), dict):
        return f"event {body['detail-type']}: {{{', '.join(sorted(body['detail']))}}}"
    if isinstance(body, dict):
        return f"json {{{', '.join(sorted(body))}}}"
    if isinstance(body, list):
        return f"json array[{len(body)}]"
    text = str(body).strip()
    return "text: " + (text[:40] + "..." if len(text) > 40 else text) if text else "empty body"


@dataclass(frozen=True)
class Group:
    signature: str
    messages: tuple[Message, ...] = field(default_factory=tuple)

    @property
    def count(self) -> int:
        return len(self.messages)

    def to_dict(self) -> dict[str, Any]:
        sent = [m.sent_at for m in self.messages if m.sent_at]
        return {
            "signature": self.signature,
            "count": self.count,
            "first_sent_at": min(sent) if sent else None,
            "last_sent_at": max(sent) if sent else None,
            "message_ids": [m.message_id for m in self.messages],
            "example": unwrap_envelope(self.messages[0].body) if self.messages else None,
        }


def group_by_error(messages: tuple[Message, ...] | list[Message]) -> list[Group]:
    groups: dict[str, list[Message]] = {}
    for message in messages:
        groups.setdefault(signature(message), []).append(message)
    return sorted(
        (Group(sig, tuple(ms)) for sig, ms in groups.items()), key=lambda g: (-g.count, g.signature)
    )


def body_preview(body: Any, limit: int = 80) -> str:
    if isinstance(body, str):
        text = body
    else:
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."
