"""What a trace returns: hits on one timeline, the places searched, and what could not be searched."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from eda_cli.core.problems import Problem

#: Source kinds, as they appear in `Hit.source` and in the JSON output.
SQS = "sqs"
LOGS = "logs"
IDEMPOTENCY = "idempotency"
TABLE = "table"
STEPFUNCTIONS = "stepfunctions"
STREAM = "stream"


def iso_from_epoch(epoch: float | None) -> str | None:
    """Epoch seconds -> `2024-05-01T12:00:00.123Z` (UTC, milliseconds)."""
    if epoch is None:
        return None
    try:
        moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch_of(value: Any) -> float | None:
    """A datetime, epoch seconds/milliseconds, or an ISO 8601 string -> epoch seconds."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    if isinstance(value, (int, float)):
        number = float(value)
        return number / 1000 if number > 1e11 else number  # milliseconds after 1973, else seconds
    text = str(value).strip()
    if not text:
        return None
    try:
        return epoch_of(float(text))
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        return None
    return epoch_of(when)


@dataclass(frozen=True)
class Hit:
    """One place and moment where the correlation id was seen."""

    #: Epoch seconds (None when the source keeps no time, e.g. a Powertools record).
    epoch: float | None
    source: str
    resource: str
    summary: str
    detail: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def time(self) -> str | None:
        return iso_from_epoch(self.epoch)

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "source": self.source,
            "resource": self.resource,
            "summary": self.summary,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Place:
    """A place the trace looked in (or chose not to, with the reason in `skipped`)."""

    source: str
    resource: str
    #: What was read: "4 messages read", "scanned 120 items".
    note: str | None = None
    #: False when the search stopped at a budget before reading everything.
    complete: bool = True
    #: Why this place was not searched (a queue with a RedrivePolicy without --force).
    skipped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source, "resource": self.resource, "note": self.note,
                               "complete": self.complete}
        if self.skipped:
            out["skipped"] = self.skipped
        return out


@dataclass(frozen=True)
class TraceResult:
    correlation_id: str
    hits: tuple[Hit, ...]
    verdict: str
    searched: tuple[Place, ...] = ()
    skipped: tuple[Place, ...] = ()
    problems: tuple[Problem, ...] = ()
    #: Where the list of places came from: "flags", "pipeline file eda.yaml" or "discovery".
    scope: str = "flags"
    since: str | None = None
    id_paths: tuple[str, ...] = ()
    #: API calls made, by service (for --debug and the benchmark).
    calls: dict[str, int] = field(default_factory=dict, compare=False)

    @property
    def found(self) -> bool:
        return bool(self.hits)

    @property
    def partial(self) -> bool:
        return bool(self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "correlation_id": self.correlation_id,
            "found": self.found,
            "verdict": self.verdict,
            "hits": [h.to_dict() for h in self.hits],
            "problems": [p.to_dict() for p in self.problems],
            "searched": [p.to_dict() for p in self.searched],
            "skipped": [p.to_dict() for p in self.skipped],
            "scope": self.scope,
            "since": self.since,
            "id_paths": list(self.id_paths),
        }


def sort_hits(hits: list[Hit]) -> tuple[Hit, ...]:
    """By time; hits without a time last, in a stable order."""
    return tuple(sorted(hits, key=lambda h: (h.epoch is None, h.epoch or 0.0, h.source, h.resource, h.summary)))
