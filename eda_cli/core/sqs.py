"""SQS helpers shared by dlq, redrive and trace: listing queues, attributes, message decoding."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from eda_cli.aws.errors import is_client_error
from eda_cli.aws.resolve import QUEUE_MISSING, queue_name_from_url
from eda_cli.core.concurrency import DEFAULT_CONCURRENCY, map_bounded

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import ChangeMessageVisibilityBatchRequestEntryTypeDef

#: System attributes that identify an AWS Lambda or SNS delivery failure, as message attributes.
ERROR_ATTRIBUTES = ("ErrorCode", "ErrorMessage", "RequestID")
#: What EventBridge writes on a message of a rule target's DLQ: the error of the failed delivery.
EVENTBRIDGE_ERROR_ATTRIBUTES = ("ERROR_CODE", "ERROR_MESSAGE")
#: Entries in one SQS batch call (SendMessageBatch, DeleteMessageBatch, ChangeMessageVisibilityBatch).
BATCH_ENTRIES = 10

T = TypeVar("T")


@dataclass(frozen=True)
class QueueInfo:
    """One queue and the attributes eda reads from it."""

    name: str
    url: str
    arn: str
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def fifo(self) -> bool:
        return self.name.endswith(".fifo")

    def int_attr(self, key: str) -> int | None:
        raw = self.attributes.get(key)
        try:
            return int(raw) if raw is not None else None
        except ValueError:
            return None

    @property
    def redrive_policy(self) -> dict[str, Any] | None:
        raw = self.attributes.get("RedrivePolicy")
        if not raw:
            return None
        try:
            policy = json.loads(raw)
        except ValueError:
            return None
        return policy if isinstance(policy, dict) else None

    @property
    def dead_letter_target_arn(self) -> str | None:
        policy = self.redrive_policy
        return str(policy["deadLetterTargetArn"]) if policy and policy.get("deadLetterTargetArn") else None

    @property
    def max_receive_count(self) -> int | None:
        policy = self.redrive_policy
        try:
            return int(policy["maxReceiveCount"]) if policy else None
        except (KeyError, TypeError, ValueError):
            return None


def list_queue_urls(sqs: SQSClient, prefix: str | None = None) -> list[str]:
    """Every queue URL in the region, following ListQueues' NextToken."""
    kwargs: dict[str, Any] = {"PaginationConfig": {"PageSize": 1000}}
    if prefix:
        kwargs["QueueNamePrefix"] = prefix
    urls: list[str] = []
    for page in sqs.get_paginator("list_queues").paginate(**kwargs):
        urls.extend(page.get("QueueUrls", []))
    return urls


class QueueVanished(Exception):
    """A queue listed a moment ago is gone (deleted in between): skipped, not an error."""


def get_queue_info(sqs: SQSClient, url: str) -> QueueInfo:
    try:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]).get("Attributes", {})
    except Exception as exc:
        if is_client_error(exc, *QUEUE_MISSING):
            raise QueueVanished(url) from exc
        raise
    return QueueInfo(
        name=queue_name_from_url(url), url=url, arn=attributes.get("QueueArn", ""),
        attributes={str(key): value for key, value in attributes.items()},
    )


def get_queue_infos(
    sqs: SQSClient, urls: list[str], concurrency: int = DEFAULT_CONCURRENCY
) -> tuple[list[QueueInfo], list[tuple[str, BaseException]]]:
    """Attributes of many queues, concurrently. Vanished queues are dropped; other errors returned."""
    infos: list[QueueInfo] = []
    errors: list[tuple[str, BaseException]] = []
    for outcome in map_bounded(lambda u: get_queue_info(sqs, u), urls, concurrency):
        if outcome.value is not None:
            infos.append(outcome.value)
        elif outcome.error is not None and not isinstance(outcome.error, QueueVanished):
            errors.append((outcome.item, outcome.error))
    return infos, errors


# -- messages ------------------------------------------------------------------------------------


def ms_to_iso(raw: str | int | None) -> str | None:
    if raw is None or raw == "":
        return None
    try:
        moment = datetime.fromtimestamp(int(raw) / 1000, tz=timezone.utc)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    except (TypeError, ValueError, OverflowError):
        return None


def parse_body(body: str) -> Any:
    """The body as JSON when it is JSON (objects and arrays only), else the raw string."""
    stripped = body.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            return json.loads(body)
        except ValueError:
            return body
    return body


def decode_message_attributes(raw: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """SQS message attributes as {"name": {"type": "Number.float", "value": "1.5"}}; binary as base64.

    Every type is kept, custom suffixes included, so nothing is lost on display or re-send.
    """
    decoded: dict[str, dict[str, Any]] = {}
    for name, attr in sorted(raw.items()):
        data_type = str(attr.get("DataType", "String"))
        entry: dict[str, Any] = {"type": data_type}
        if "BinaryValue" in attr:
            value = attr["BinaryValue"]
            if isinstance(value, str):
                value = value.encode()
            entry["value"] = base64.b64encode(bytes(value)).decode("ascii")
            entry["encoding"] = "base64"
        else:
            entry["value"] = attr.get("StringValue")
        decoded[name] = entry
    return decoded


def unwrap_envelope(body: Any) -> Any:
    """The payload inside an SNS notification and/or an EventBridge event, else the body."""
    if isinstance(body, dict) and body.get("Type") == "Notification" and "Message" in body:
        inner = body["Message"]
        body = parse_body(inner) if isinstance(inner, str) else inner
    return body


def error_of(message_attributes: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The failure a DLQ message carries, if any: Lambda's (ErrorCode, ErrorMessage, RequestID) or
    EventBridge's (ERROR_CODE, ERROR_MESSAGE; no request id)."""
    found = {
        key: message_attributes[key]["value"] for key in ERROR_ATTRIBUTES if key in message_attributes
    }
    if not found:
        if not any(key in message_attributes for key in EVENTBRIDGE_ERROR_ATTRIBUTES):
            return None
        code, text = (message_attributes.get(key, {}).get("value") for key in EVENTBRIDGE_ERROR_ATTRIBUTES)
        return {"code": code, "message": text, "request_id": None}
    return {
        "code": found.get("ErrorCode"),
        "message": found.get("ErrorMessage"),
        "request_id": found.get("RequestID"),
    }


@dataclass(frozen=True)
class Message:
    """One SQS message as eda shows it. Nothing here is lossy: attributes keep their types."""

    message_id: str
    body: Any
    raw_body: str
    sent_at: str | None
    receive_count: int | None
    attributes: dict[str, str]
    message_attributes: dict[str, dict[str, Any]]
    group_id: str | None

    @property
    def error(self) -> dict[str, Any] | None:
        return error_of(self.message_attributes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "sent_at": self.sent_at,
            "receive_count": self.receive_count,
            "body": self.body,
            "attributes": self.attributes,
            "message_attributes": self.message_attributes,
            "group_id": self.group_id,
            "error": self.error,
        }


def to_message(raw: Mapping[str, Any], receives_by_us: int = 1) -> Message:
    """Decode a ReceiveMessage entry. `receive_count` excludes our own receive(s)."""
    attributes = dict(raw.get("Attributes", {}))
    count_raw = attributes.get("ApproximateReceiveCount")
    try:
        count: int | None = max(0, int(count_raw) - receives_by_us) if count_raw is not None else None
    except ValueError:
        count = None
    body = str(raw.get("Body", ""))
    return Message(
        message_id=str(raw["MessageId"]),
        body=parse_body(body),
        raw_body=body,
        sent_at=ms_to_iso(attributes.get("SentTimestamp")),
        receive_count=count,
        attributes=attributes,
        message_attributes=decode_message_attributes(raw.get("MessageAttributes", {})),
        group_id=attributes.get("MessageGroupId"),
    )


def chunked(items: Sequence[T], size: int = BATCH_ENTRIES) -> Iterator[Sequence[T]]:
    """`items` in consecutive slices of at most `size` (one SQS batch call each)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def change_visibility(sqs: SQSClient, url: str, handles: list[tuple[str, str]], timeout: int = 0) -> list[str]:
    """ChangeMessageVisibilityBatch in chunks of 10; returns the ids whose change failed."""
    failed: list[str] = []
    for chunk in chunked(handles):
        entries: list[ChangeMessageVisibilityBatchRequestEntryTypeDef] = [
            {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": timeout}
            for i, (_, handle) in enumerate(chunk)
        ]
        try:
            response = sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)
        except Exception:
            failed.extend(message_id for message_id, _ in chunk)
            continue
        for entry in response.get("Failed", []):
            failed.append(chunk[int(entry["Id"])][0])
    return failed

