"""DynamoDB stream records as people and jq want them: plain JSON, exact numbers, what changed.

A stream record carries DynamoDB JSON (``{"amount": {"N": "12.50"}}``). Here it becomes plain JSON
(``{"amount": 12.50}``) without losing anything on the way:

* numbers are exact: an integral number is a Python ``int`` (any size); any other number stays a
  ``Decimal`` with the digits DynamoDB sent, and ``dumps`` writes it as a JSON number with exactly
  those digits (never through a float);
* sets become sorted lists (``SS`` by string, ``NS`` by value, ``BS`` by bytes); binary becomes base64.

``Change`` is one record in that form, with the fields that changed between the old and the new image.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Final

EVENTS: Final = ("INSERT", "MODIFY", "REMOVE")

#: The identity DynamoDB stamps on the REMOVE records of items its TTL process deleted.
TTL_PRINCIPAL: Final = "dynamodb.amazonaws.com"


# -- DynamoDB JSON -> plain JSON ------------------------------------------------------------------


def number(text: str) -> int | Decimal:
    """A DynamoDB number: ``int`` when integral (``"42"``, ``"1E+3"``), else the exact ``Decimal``."""
    if "." not in text and "e" not in text and "E" not in text:
        return int(text)
    value = Decimal(text)
    if value == value.to_integral_value():
        return int(value)
    return value


def _binary(value: Any) -> str:
    # boto3's low-level client hands binary over as bytes; DynamoDB JSON read from a file has base64.
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(value).decode("ascii")
    return str(value)


def _binary_key(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return base64.b64decode(str(value))


def to_plain(attribute: Mapping[str, Any]) -> Any:
    """One DynamoDB attribute value (``{"S": "x"}``, ``{"N": "1.5"}``, ...) as a plain value."""
    ((tag, value),) = attribute.items()
    if tag == "S":
        return value
    if tag == "N":
        return number(value)
    if tag == "M":
        return {k: to_plain(v) for k, v in value.items()}
    if tag == "BOOL":
        return bool(value)
    if tag == "L":
        return [to_plain(v) for v in value]
    if tag == "NULL":
        return None
    if tag == "SS":
        return sorted(value)
    if tag == "NS":
        return sorted(number(v) for v in value)
    if tag == "B":
        return _binary(value)
    if tag == "BS":
        return [_binary(v) for v in sorted(value, key=_binary_key)]
    raise ValueError(f"unknown DynamoDB attribute type {tag!r}")


def item_to_plain(item: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A whole item (or key, or image) in DynamoDB JSON as a plain dict; None stays None."""
    if item is None:
        return None
    out: dict[str, Any] = {}
    for name, attribute in item.items():
        # Strings and numbers are most of any item: skip the general dispatch for them.
        if "S" in attribute:
            out[name] = attribute["S"]
        elif "N" in attribute:
            out[name] = number(attribute["N"])
        else:
            out[name] = to_plain(attribute)
    return out


# -- what changed ---------------------------------------------------------------------------------


def same_attribute(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """Whether two DynamoDB attribute values hold the same value (sets unordered, numbers by value).

    A change of type is a change (``{"N": "1"}`` is not ``{"BOOL": true}``), unlike a comparison of
    the plain values would say.
    """
    if a == b:
        return True
    if a is None or b is None:
        return False
    ((ta, va),) = a.items()
    ((tb, vb),) = b.items()
    if ta != tb:
        return False
    if ta == "N":
        return bool(Decimal(va) == Decimal(vb))
    if ta == "SS":
        return set(va) == set(vb)
    if ta == "NS":
        return {Decimal(x) for x in va} == {Decimal(x) for x in vb}
    if ta == "BS":
        return {_binary_key(x) for x in va} == {_binary_key(x) for x in vb}
    if ta == "B":
        return _binary_key(va) == _binary_key(vb)
    if ta == "M":
        return va.keys() == vb.keys() and all(same_attribute(va[k], vb[k]) for k in va)
    if ta == "L":
        return len(va) == len(vb) and all(same_attribute(x, y) for x, y in zip(va, vb, strict=True))
    return False


def changed_fields(
    event: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> list[str] | None:
    """The top-level attributes whose value changed, sorted; None when the images cannot tell.

    INSERT changes every attribute of the new image, REMOVE every attribute of the old one. A MODIFY
    needs both images: on a KEYS_ONLY, NEW_IMAGE or OLD_IMAGE stream it is None (unknown).
    """
    if event == "INSERT":
        return sorted(new) if new is not None else None
    if event == "REMOVE":
        return sorted(old) if old is not None else None
    if old is None or new is None:
        return None
    names = old.keys() | new.keys()
    return sorted(k for k in names if not same_attribute(old.get(k), new.get(k)))


@dataclass(frozen=True)
class FieldDiff:
    """One line of a diff: ``op`` is "+" (added), "-" (removed) or "~" (changed); ``path`` is dotted."""

    op: str
    path: str
    old: Any = None
    new: Any = None
    #: The values shown are masked (eda_cli.core.redact) and the same on both sides, though the field changed.
    masked: bool = False


_ABSENT: Final = object()


def diff_images(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, prefix: str = "") -> list[FieldDiff]:
    """The differences between two plain images, descending into maps present on both sides.

    Both None -> []. Only a new image -> every field added; only an old one -> every field removed.
    """
    old = old or {}
    new = new or {}
    out: list[FieldDiff] = []
    for name in sorted(old.keys() | new.keys()):
        path = f"{prefix}{name}"
        a = old.get(name, _ABSENT)
        b = new.get(name, _ABSENT)
        if a is _ABSENT:
            out.append(FieldDiff("+", path, None, b))
        elif b is _ABSENT:
            out.append(FieldDiff("-", path, a, None))
        elif isinstance(a, dict) and isinstance(b, dict):
            out.extend(diff_images(a, b, f"{path}."))
        elif a != b or type(a) is not type(b):
            out.append(FieldDiff("~", path, a, b))
    return out


# -- one record -----------------------------------------------------------------------------------


def _utc(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float, Decimal)):
        return datetime.fromtimestamp(float(value), timezone.utc)
    return None


def record_epoch(record: Mapping[str, Any]) -> float | None:
    """ApproximateCreationDateTime of a raw stream record, as epoch seconds."""
    when = _utc(record.get("dynamodb", {}).get("ApproximateCreationDateTime"))
    return when.timestamp() if when is not None else None


def iso_time(when: datetime | None) -> str | None:
    if when is None:
        return None
    if when.microsecond:
        return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def is_ttl_expiry(record: Mapping[str, Any]) -> bool:
    """A REMOVE done by DynamoDB's TTL process, not by an application.

    GetRecords spells the identity ``{"Type": ..., "PrincipalId": ...}``; Lambda's event (and AWS's
    TTL guide) ``{"type": ..., "principalId": ...}``. Either is read.
    """
    identity = record.get("userIdentity") or {}
    return (
        record.get("eventName") == "REMOVE"
        and identity.get("Type", identity.get("type")) == "Service"
        and identity.get("PrincipalId", identity.get("principalId")) == TTL_PRINCIPAL
    )


@dataclass(frozen=True, slots=True)
class Change:
    """One stream record: the event, the item's keys and images in plain JSON, and what changed."""

    event: str
    table: str
    keys: dict[str, Any]
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    #: Sorted names of the top-level attributes that changed; None when the stream's images cannot tell.
    changed: list[str] | None
    sequence: str
    shard: str
    time: str | None
    ttl_expiry: bool
    #: Seconds since the epoch (ApproximateCreationDateTime), for filtering; not in the JSON row.
    epoch: float | None = None
    view_type: str | None = None
    #: The diff, when it was worked out before the images were masked (eda_cli.core.redact): a masked field
    #: that changed still shows as changed.
    diffs: tuple[FieldDiff, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "table": self.table,
            "keys": self.keys,
            "old": self.old,
            "new": self.new,
            "changed": self.changed,
            "sequence": self.sequence,
            "shard": self.shard,
            "time": self.time,
            "ttl_expiry": self.ttl_expiry,
        }

    def field_diffs(self) -> list[FieldDiff]:
        return list(self.diffs) if self.diffs is not None else diff_images(self.old, self.new)


def to_change(record: Mapping[str, Any], table: str, shard: str) -> Change:
    """A raw stream record (as boto3's ``get_records`` returns it) -> Change."""
    data = record["dynamodb"]
    event = record.get("eventName", "")
    old_raw = data.get("OldImage")
    new_raw = data.get("NewImage")
    when = _utc(data.get("ApproximateCreationDateTime"))
    return Change(
        event=event,
        table=table,
        keys=item_to_plain(data.get("Keys")) or {},
        old=item_to_plain(old_raw),
        new=item_to_plain(new_raw),
        changed=changed_fields(event, old_raw, new_raw),
        sequence=data.get("SequenceNumber", ""),
        shard=shard,
        time=iso_time(when),
        ttl_expiry=is_ttl_expiry(record),
        epoch=when.timestamp() if when is not None else None,
        view_type=data.get("StreamViewType"),
    )


def lambda_view(record: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """The record as Lambda hands it to a function (and to its FilterCriteria).

    DynamoDB JSON stays DynamoDB JSON (binary as base64), ApproximateCreationDateTime is epoch
    seconds, ``eventSourceARN`` names the stream, and userIdentity's ``Type`` and ``PrincipalId``
    (as GetRecords spells them) are ``type`` and ``principalId``.
    """
    view: dict[str, Any] = json.loads(json.dumps(record, default=_wire))
    view.setdefault("eventSourceARN", stream_arn)
    identity = view.get("userIdentity")
    if isinstance(identity, dict):
        view["userIdentity"] = {_LAMBDA_IDENTITY.get(k, k): v for k, v in identity.items()}
    return view


_LAMBDA_IDENTITY: Final = {"Type": "type", "PrincipalId": "principalId"}


def _wire(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# -- JSON with exact numbers ----------------------------------------------------------------------

# json's C encoder has no way to write raw text, so a Decimal is written as a marked string and the
# marks are removed afterwards. The nonce makes the marker impossible to forge from item data: the
# escaped NUL around it can only come from a string that also holds this process's random nonce.
_NONCE: Final = uuid.uuid4().hex
_MARK: Final = f"\x00{_NONCE}"
_MARKED: Final = re.compile(r'"\\u0000' + _NONCE + r'([-+.0-9eE]+)\\u0000"')


def _mark(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{_MARK}{value}\x00"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return iso_time(_utc(value))
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any, indent: int | None = None) -> str:
    """JSON text with every Decimal written as a number with exactly its digits (12.50 stays 12.50)."""
    text = json.dumps(value, default=_mark, ensure_ascii=False, indent=indent,
                      separators=(",", ": ") if indent is not None else (", ", ": "))
    if _NONCE in text:
        text = _MARKED.sub(r"\1", text)
    return text
