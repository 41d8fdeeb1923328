"""What the user asks of a tail: where to start (``--from``), which events, and the rest of ``TailOptions``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Final

from eda_cli.core.records import EVENTS
from eda_cli.core.streams.model import DEFAULT_CONCURRENCY
from eda_cli.errors import UsageError

_RELATIVE: Final = re.compile(r"^(?:(\d+(?:\.\d+)?)d)?(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")


def parse_age(text: str) -> float | None:
    """An age (``90s``, ``15m``, ``2h``, ``1d``, ``1h30m``) in seconds; None when `text` is not one."""
    raw = text.strip()
    match = _RELATIVE.match(raw.lower())
    if not raw or match is None or not any(match.groups()):
        return None
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds).total_seconds()


def parse_since(text: str, now: float) -> float:
    """``--from TIME``: ISO 8601 (a naive time is UTC) or relative (``90s``, ``15m``, ``2h``, ``1d``,
    ``1h30m``) -> epoch seconds."""
    age = parse_age(text)
    if age is not None:
        return now - age
    raw = text.strip()
    try:
        when = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw)
    except ValueError:
        raise UsageError(
            f"--from: cannot read {text!r} as a time",
            hint="use latest, trim-horizon, an ISO 8601 time (2024-05-01T12:00:00Z) or an age (15m, 2h, 1d)",
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def parse_events(values: list[str] | tuple[str, ...]) -> frozenset[str] | None:
    """``--events INSERT,MODIFY`` (repeatable, any case) -> the set; None for all."""
    chosen: set[str] = set()
    for value in values:
        for part in value.split(","):
            name = part.strip().upper()
            if not name:
                continue
            if name not in EVENTS:
                raise UsageError(f"--events: unknown event {part.strip()!r}", hint="use INSERT, MODIFY, REMOVE")
            chosen.add(name)
    return frozenset(chosen) if chosen else None


@dataclass(frozen=True)
class TailOptions:
    #: "latest" or "trim-horizon" (a --from TIME reads from trim-horizon and sets ``since``).
    start: str = "latest"
    since: float | None = None
    events: frozenset[str] | None = None
    changed: tuple[str, ...] = ()
    #: A compiled Lambda FilterCriteria (``patterns.CompiledPattern``), matched on the Lambda record.
    filter: Any = None
    follow: bool = True
    count: int | None = None
    timeout: float | None = None
    poll: float = 1.0
    concurrency: int = DEFAULT_CONCURRENCY
