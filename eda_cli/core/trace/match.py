"""Where a message carries its correlation id: body paths (through SNS and EventBridge envelopes),
message attributes, the X-Ray trace header, or anywhere in a JSON document."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from eda_cli.core.sqs import Message, parse_body
from eda_cli.errors import UsageError

#: Where messages usually carry their correlation id; `--id-path` and the pipeline file add more.
DEFAULT_ID_PATHS = (
    "correlationId",
    "correlation_id",
    "correlation-id",
    "detail.correlationId",
    "metadata.correlationId",
)


def normalize_path(text: str) -> str:
    """`$.detail.correlationId` or `detail.correlationId` -> `detail.correlationId`; UsageError if bad."""
    raw = text.strip()
    bare = raw[2:] if raw.startswith("$.") else raw
    if not bare or " " in bare or any(not part for part in bare.split(".")):
        raise UsageError(f"--id-path: {text!r} is not a dotted path",
                         hint="e.g. --id-path detail.order.correlationId")
    return bare


def id_paths(extra: Iterable[str] = (), from_file: Iterable[str] = ()) -> tuple[str, ...]:
    """The defaults, then the pipeline file's paths, then --id-path; each once, in that order."""
    paths: list[str] = []
    for path in (*DEFAULT_ID_PATHS, *from_file, *(normalize_path(p) for p in extra)):
        if path not in paths:
            paths.append(path)
    return tuple(paths)


def same_id(value: Any, correlation_id: str) -> bool:
    if isinstance(value, str):
        return value == correlation_id
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value) == correlation_id
    return False


def at_path(document: Any, path: str) -> Any:
    node = document
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def is_sns_notification(body: Any) -> bool:
    return isinstance(body, dict) and body.get("Type") == "Notification" and "Message" in body


def is_eventbridge_event(body: Any) -> bool:
    return isinstance(body, dict) and "detail-type" in body and "detail" in body


def layers(body: Any) -> Iterator[tuple[str, Any]]:
    """The body, the SNS notification's Message, and an EventBridge event's detail, outermost first."""
    yield "body", body
    current = body
    if is_sns_notification(current):
        inner = current["Message"]
        current = parse_body(inner) if isinstance(inner, str) else inner
        yield "sns message", current
    if is_eventbridge_event(current):
        yield "eventbridge detail", current["detail"]


def match_document(body: Any, correlation_id: str, paths: tuple[str, ...]) -> list[str]:
    """Where along `paths` (in any envelope layer) the document carries the id, plus the SNS
    notification's own message attributes."""
    found: list[str] = []
    for layer, document in layers(body):
        for path in paths:
            if same_id(at_path(document, path), correlation_id):
                found.append(f"{layer} {path}")
    if is_sns_notification(body) and isinstance(body.get("MessageAttributes"), dict):
        for name, attr in sorted(body["MessageAttributes"].items()):
            if isinstance(attr, dict) and same_id(attr.get("Value"), correlation_id):
                found.append(f"sns attribute {name}")
    return found


def trace_header_carries(header: str | None, correlation_id: str) -> bool:
    """`Root=1-abc;Parent=...;Sampled=1` carries `1-abc` (or `Root=1-abc`, or the whole header).
    Only the trace ids (Root, Self) count: Parent and Sampled are not correlation ids."""
    if not header:
        return False
    if header == correlation_id:
        return True
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key in ("Root", "Self") and correlation_id in (value, part.strip()):
            return True
    return False


def match_message(message: Message, correlation_id: str, paths: tuple[str, ...]) -> list[str]:
    """Every place in an SQS message that carries the id: body paths, attributes, AWSTraceHeader."""
    found = match_document(message.body, correlation_id, paths)
    for name, attr in message.message_attributes.items():
        if attr.get("encoding") != "base64" and same_id(attr.get("value"), correlation_id):
            found.append(f"attribute {name}")
    if trace_header_carries(message.attributes.get("AWSTraceHeader"), correlation_id):
        found.append("AWSTraceHeader")
    return found


def mentions(text: str, correlation_id: str) -> bool:
    """The id appears in free text, not inside a longer word or number (corr-0006 is not in
    corr-00061 nor in xcorr-0006, but is in retry-corr-0006 and corr-0006.json)."""
    if not correlation_id or correlation_id not in text:
        return False
    pattern = r"(?<![A-Za-z0-9])" + re.escape(correlation_id) + r"(?![A-Za-z0-9])"
    return re.search(pattern, text) is not None


def carries(document: Any, correlation_id: str) -> bool:
    """Any string (or number) anywhere in a JSON document is the id, or a JSON string inside it carries it."""
    if same_id(document, correlation_id):
        return True
    if isinstance(document, dict):
        return any(carries(v, correlation_id) for v in document.values())
    if isinstance(document, list):
        return any(carries(v, correlation_id) for v in document)
    if isinstance(document, str) and document[:1] in ("{", "[") and correlation_id in document:
        try:
            return carries(json.loads(document), correlation_id)
        except ValueError:
            return mentions(document, correlation_id)
    return False


def powertools_hash(value: Any) -> str:
    """The hash Powertools for AWS Lambda puts after `#` in an idempotency key for `value`
    (md5 of its sorted-keys JSON), so a record keyed by the correlation id can be recognised."""
    return hashlib.md5(json.dumps(value, sort_keys=True).encode(), usedforsecurity=False).hexdigest()
