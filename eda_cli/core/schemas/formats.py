"""The string formats eda recognises when it infers a schema, and checks when it validates one: date-time
(RFC 3339, as EventBridge's `time`), uuid and email. One definition for both, so that an inferred schema
accepts the samples it came from."""

from __future__ import annotations

import re
from collections.abc import Callable

_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$"
)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _date_time(value: str) -> bool:
    if not _DATE_TIME.match(value):
        return False
    month, day = int(value[5:7]), int(value[8:10])
    hour, minute, second = int(value[11:13]), int(value[14:16]), int(value[17:19])
    return 1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61


#: format name -> does this string have it. In the order inference tries them.
FORMATS: dict[str, Callable[[str], bool]] = {
    "date-time": _date_time,
    "uuid": lambda value: bool(_UUID.match(value)),
    "email": lambda value: bool(_EMAIL.match(value)),
}


def formats_of(value: str) -> frozenset[str]:
    """The formats `value` has (usually none or one)."""
    return frozenset(name for name, check in FORMATS.items() if check(value))
