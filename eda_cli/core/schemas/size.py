"""Event sizes against the limits that turn a large event into a poison message: EventBridge's 256 KB
per event (PutEvents entry) and SQS's 1 MiB per message. An event within 10% of a limit is flagged too:
the next field a producer adds tips it over."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

EVENTBRIDGE_LIMIT = 256 * 1024
SQS_LIMIT = 1024 * 1024
#: Flagged as near a limit from this share of it.
NEAR = 0.9
LIMITS: tuple[tuple[str, int], ...] = (("EventBridge", EVENTBRIDGE_LIMIT), ("SQS", SQS_LIMIT))


@dataclass(frozen=True)
class SizeFlag:
    """An event `size` bytes long over (`over`) or near a `service`'s `limit`."""

    service: str
    limit: int
    size: int
    over: bool

    @property
    def text(self) -> str:
        limit = f"{self.limit // 1024} KB" if self.limit < SQS_LIMIT else f"{self.limit // SQS_LIMIT} MiB"
        where = "over" if self.over else "within 10% of"
        return f"{self.size:,} bytes: {where} {self.service}'s {limit} limit"

    def to_dict(self) -> dict[str, Any]:
        return {"service": self.service, "limit": self.limit, "size": self.size,
                "level": "over" if self.over else "near"}


def size_flags(size: int) -> tuple[SizeFlag, ...]:
    """The limits an event of `size` bytes (UTF-8) is over or near, EventBridge's first. The size of the
    event as a whole: a little more than what EventBridge counts (it leaves out the envelope's field names
    and a few fields), so a flag near a limit is a warning, not a verdict."""
    return tuple(SizeFlag(service, limit, size, size > limit) for service, limit in LIMITS if size >= NEAR * limit)


def byte_size(text: str) -> int:
    return len(text.encode("utf-8"))
