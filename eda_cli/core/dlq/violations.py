"""Peeked DLQ messages checked against an event schema (`dlq peek --schema`), and their sizes against
EventBridge's and SQS's limits (every `dlq peek`)."""

from __future__ import annotations

from collections.abc import Sequence

from eda_cli.core.schemas import Checker, CheckResult, EventCheck, check_events, message_events, size_flags
from eda_cli.core.sqs import Message


def check_messages(messages: Sequence[Message], checker: Checker | None) -> CheckResult:
    """Each message (by message id) with its size flags and, given a `checker`, its violations; without one,
    only sizes (every message valid)."""
    samples = message_events(messages)
    if checker is not None:
        return check_events(checker, samples)
    return CheckResult("", tuple(EventCheck(ref, (), size, size_flags(size)) for ref, _, size, _ in samples))
