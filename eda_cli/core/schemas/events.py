"""Events to check or learn from, each as (ref, decoded value, size in bytes, parse error or None): from
a file's text (JSON Lines, a JSON array, or one JSON document), from peeked SQS messages, from a table's
stream, or from what a temporary tap on a bus receives."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from eda_cli.core.schemas.size import byte_size
from eda_cli.core.sqs import Message, unwrap_envelope

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_sqs import SQSClient

    from eda_cli.aws.resolve import QueueRef
    from eda_cli.core.dlq import PeekResult
    from eda_cli.core.tap import Delivery, Tap, TapResource

#: (ref, event, size, parse error)
Sample = tuple[str, Any, int, "str | None"]


def read_events(text: str) -> list[Sample]:
    """The events in a file's text: a JSON array (each element an event, `item N`), one JSON document
    (`document`), else JSON Lines (`line N`; blank lines skipped, a line that is not JSON kept with its
    error). An eda archive line (`redrive --archive`: a message record with a `body`) is its body."""
    stripped = text.strip()
    if not stripped:
        return []
    try:
        whole = json.loads(stripped)
    except ValueError:
        whole = _NOT_ONE
    if isinstance(whole, list):
        return [(f"item {n}", _archived(e), byte_size(json.dumps(e, separators=(",", ":"), ensure_ascii=False)),
                 None) for n, e in enumerate(whole, start=1)]
    if whole is not _NOT_ONE and "\n" in stripped and not _is_jsonl(stripped):
        return [("document", _archived(whole), byte_size(stripped), None)]
    out: list[Sample] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append((f"line {number}", _archived(json.loads(line)), byte_size(line), None))
        except ValueError as exc:
            out.append((f"line {number}", None, byte_size(line), str(exc)))
    return out


_NOT_ONE = object()


def _is_jsonl(text: str) -> bool:
    """Whether every non-blank line is a JSON value of its own (then it is JSON Lines, even when the
    whole text would parse as one document, as one line does)."""
    try:
        for line in text.splitlines():
            if line.strip():
                json.loads(line)
    except ValueError:
        return False
    return True


def _archived(value: Any) -> Any:
    """An eda archive record (message_id, body, ...) -> its body (decoded when it is JSON text)."""
    if isinstance(value, dict) and "message_id" in value and "body" in value:
        body = value["body"]
        if isinstance(body, str):
            try:
                return json.loads(body)
            except ValueError:
                return body
        return body
    return value


def message_events(messages: Iterable[Message]) -> list[Sample]:
    """Peeked messages as events: the body (inside its SNS envelope, if any), named by message id; a body
    that is not JSON is kept with its error."""
    out: list[Sample] = []
    for message in messages:
        size = byte_size(message.raw_body)
        body = unwrap_envelope(message.body)
        if isinstance(body, str):
            try:
                body = json.loads(body)
            except ValueError as exc:
                out.append((message.message_id, None, size, str(exc)))
                continue
        out.append((message.message_id, body, size, None))
    return out


def decoded(samples: list[Sample]) -> tuple[list[Any], int]:
    """The decoded events of `samples`, and how many were left out as not JSON."""
    good = [event for _, event, _, error in samples if error is None]
    return good, sum(1 for _, _, _, error in samples if error is not None)


def queue_events(sqs: SQSClient, queue: QueueRef, count: int, *, force: bool = False,
                 cancel: threading.Event | None = None) -> tuple[list[Sample], PeekResult]:
    """Up to `count` messages of a queue as events, peeked as `dlq peek` peeks (none consumed), and the
    peek itself (what could not be put back, an interruption)."""
    from eda_cli.core.dlq import peek

    result = peek(sqs, queue, count, force=force, cancel=cancel)
    return message_events(result.messages), result


def stream_events(dynamodb: DynamoDBClient, streams: DynamoDBStreamsClient, table: str, count: int,
                  where: str = "") -> list[Sample]:
    """The items of up to `count` records of a table's stream, from its trim horizon (the new image, else
    the old one of a REMOVE), as plain JSON (`stream tail`'s conversion), named `record N`."""
    from eda_cli.core.streams import StreamTail, TailOptions, stream_arn_for

    tail = StreamTail(streams, stream_arn_for(dynamodb, table, where),
                      TailOptions(start="trim-horizon", follow=False, count=count))
    out: list[Sample] = []
    try:
        for item in tail:
            image = getattr(item, "new", None) or getattr(item, "old", None)
            if image is None:
                continue  # a Notice, or a KEYS_ONLY stream's record
            plain = json.loads(json.dumps(image, default=_number), parse_float=float)
            out.append((f"record {len(out) + 1}", plain, byte_size(json.dumps(plain)), None))
            if len(out) >= count:
                break
    finally:
        tail.close()
    return out


def delivery_samples(deliveries: Iterable[Delivery]) -> list[Sample]:
    """What a tap received as events, named `event N`: each body as EventBridge delivered it; one that is
    not JSON is kept with its error."""
    out: list[Sample] = []
    for number, delivery in enumerate(deliveries, start=1):
        ref, size = f"event {number}", byte_size(delivery.raw)
        if isinstance(delivery.body, str):  # the tap decodes JSON bodies; a str is what failed to decode
            out.append((ref, None, size, "not JSON"))
        else:
            out.append((ref, delivery.body, size, None))
    return out


def tap_events(tap: Tap, bus: str, count: int, timeout: float | None, *,
               on_created: Callable[[TapResource], None] = lambda r: None,
               cancel: threading.Event | None = None) -> list[Sample]:
    """Up to `count` events put on `bus` from now on (all of them: the tap's rule matches every event),
    within `timeout` seconds when given, received through `tap` (opened here: a temporary rule and queue,
    each reported to `on_created`). The caller closes the tap, on every way out (`Tap.close`)."""
    from eda_cli.core.tap import MATCH_ALL

    tap.open_bus(bus, MATCH_ALL, on_created)
    return delivery_samples(tap.receive(count=count, timeout=timeout, cancel=cancel))


def _number(value: Any) -> Any:
    """A stream image's exact number (Decimal) as JSON has it: an integer when it is one, else a float."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)
