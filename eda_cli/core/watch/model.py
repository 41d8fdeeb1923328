"""What one refresh of `eda watch` shows: a snapshot of DLQs, streams, state machines, redrives and alarms,
each row with how urgent it is, and what the refresh cost (API calls, time) and could not read in time."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from eda_cli.core.problems import Problem
from eda_cli.core.redrive.tasks import MoveTask

#: Urgency levels, highest first; a row's `level` is one of these.
FIRE, WARN, OK = "fire", "warn", "ok"

#: An IteratorAge (seconds) from which a stream's consumer counts as lagging, and as far behind.
LAG_WARN_SECONDS = 60.0
LAG_FIRE_SECONDS = 900.0


def _level(urgency: int) -> str:
    return FIRE if urgency >= 50 else WARN if urgency > 0 else OK


@dataclass(frozen=True, kw_only=True)
class _Scoped:
    """What every row has: the scope (account, region) it is in, when the board watches several (`--regions`,
    `--accounts`)."""

    account: str | None = None
    region: str | None = None

    def _where(self) -> dict[str, Any]:
        """`account` and `region` first in the row's record, when the board watches several scopes."""
        return {k: v for k, v in (("account", self.account), ("region", self.region)) if v is not None}


@dataclass(frozen=True)
class DlqRow(_Scoped):
    name: str
    url: str
    arn: str
    found_by: str
    visible: int | None
    in_flight: int | None
    #: ApproximateAgeOfOldestMessage (CloudWatch, maximum over the last minutes); None: no datapoints.
    oldest_age_seconds: float | None
    #: Visible messages at each refresh of this session, oldest first (None: not read that time).
    history: tuple[int | None, ...] = ()
    #: ALARM | OK | INSUFFICIENT_DATA of the worst alarm on its depth; NONE without one.
    alarm: str = "NONE"
    alarm_names: tuple[str, ...] = ()
    #: More visible messages than at the refresh before.
    grew: bool = False
    #: What is shown from an earlier refresh because the call did not answer in time: "depth", "age", "alarm".
    stale: tuple[str, ...] = ()

    @property
    def urgency(self) -> int:
        score = 0
        if self.alarm == "ALARM":
            score += 100
        if self.grew:
            score += 50
        if self.visible:
            score += 20
        return score

    @property
    def level(self) -> str:
        return _level(self.urgency)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self._where(), "queue": self.name, "url": self.url, "arn": self.arn, "found_by": self.found_by,
            "visible": self.visible, "in_flight": self.in_flight, "oldest_age_seconds": self.oldest_age_seconds,
            "history": list(self.history), "alarm": self.alarm, "alarm_names": list(self.alarm_names),
            "grew": self.grew, "stale": list(self.stale), "level": self.level,
        }


@dataclass(frozen=True)
class StreamRow(_Scoped):
    """A stream (DynamoDB or Kinesis) and the function an event source mapping feeds from it."""

    stream_arn: str
    stream: str
    function: str
    mapping_uuid: str
    mapping_state: str | None
    #: The function's IteratorAge (CloudWatch, latest datapoint), in seconds; None: no datapoints.
    iterator_age_seconds: float | None
    history: tuple[float | None, ...] = ()
    stale: bool = False

    @property
    def urgency(self) -> int:
        age = self.iterator_age_seconds or 0.0
        return 60 if age >= LAG_FIRE_SECONDS else 10 if age >= LAG_WARN_SECONDS else 0

    @property
    def level(self) -> str:
        return _level(self.urgency)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self._where(), "stream": self.stream, "stream_arn": self.stream_arn, "function": self.function,
            "mapping_uuid": self.mapping_uuid, "mapping_state": self.mapping_state,
            "iterator_age_seconds": self.iterator_age_seconds, "history": list(self.history),
            "stale": self.stale, "level": self.level,
        }


@dataclass(frozen=True)
class MachineRow(_Scoped):
    """A standard state machine and its executions that failed or timed out within the window."""

    name: str
    arn: str
    failed: int | None
    timed_out: int | None
    window_minutes: int
    #: The newest of them: its name and when it stopped (ISO 8601).
    last_failure: str | None = None
    last_failure_at: str | None = None
    stale: bool = False

    @property
    def urgency(self) -> int:
        return 55 if (self.failed or 0) + (self.timed_out or 0) else 0

    @property
    def level(self) -> str:
        return _level(self.urgency)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self._where(), "state_machine": self.name, "arn": self.arn, "failed": self.failed,
            "timed_out": self.timed_out, "window_minutes": self.window_minutes, "last_failure": self.last_failure,
            "last_failure_at": self.last_failure_at, "stale": self.stale, "level": self.level,
        }


@dataclass(frozen=True)
class RedriveRow(_Scoped):
    """A message move task (a native redrive) running from a DLQ."""

    dlq: str
    task: MoveTask
    stale: bool = False

    @property
    def urgency(self) -> int:
        return 5

    @property
    def level(self) -> str:
        return WARN

    def to_dict(self) -> dict[str, Any]:
        return {**self._where(), "dlq": self.dlq, **self.task.to_dict(), "stale": self.stale, "level": self.level}


@dataclass(frozen=True)
class AlarmRow(_Scoped):
    """A CloudWatch alarm in ALARM that watches a resource of the pipeline (a DLQ's depth alarms are not
    among them: they are the DLQ row's `alarm`)."""

    name: str
    arn: str
    #: What it watches: `namespace metric dimension=value`, each.
    metrics: tuple[str, ...]
    #: The pipeline resources its dimensions name.
    resources: tuple[str, ...]
    stale: bool = False

    @property
    def urgency(self) -> int:
        return 100

    @property
    def level(self) -> str:
        return FIRE

    def to_dict(self) -> dict[str, Any]:
        return {**self._where(), "alarm": self.name, "arn": self.arn, "metrics": list(self.metrics),
                "resources": list(self.resources), "stale": self.stale, "level": self.level}


def _by_urgency(rows: Any, size: Any, name: Any) -> tuple[Any, ...]:
    return tuple(sorted(rows, key=lambda r: (-r.urgency, -(size(r) or 0), name(r), r.account or "", r.region or "")))


@dataclass(frozen=True)
class Snapshot:
    """One refresh. Every list is sorted by urgency (most urgent first). Of several scopes (`--regions`,
    `--accounts`), one snapshot of them all: every row names its `account` and `region`, `calls` and `problems`
    are all the scopes' (a scope that could not be opened is one problem), `region` is "" then."""

    region: str
    #: When the refresh started (ISO 8601, UTC), its number in the session (1 = the first), how long it took.
    taken_at: str
    refresh: int
    elapsed_seconds: float
    #: API calls this refresh made (every page counts).
    calls: int
    dlqs: tuple[DlqRow, ...] = ()
    streams: tuple[StreamRow, ...] = ()
    state_machines: tuple[MachineRow, ...] = ()
    redrives: tuple[RedriveRow, ...] = ()
    alarms: tuple[AlarmRow, ...] = ()
    #: What could not be read (in time): each also marks its row stale, with the previous value shown.
    problems: tuple[Problem, ...] = ()
    #: What this endpoint cannot tell at all, and so is not shown (e.g. move tasks on an emulator).
    unavailable: tuple[str, ...] = ()
    #: The filter the rows were narrowed by ("" for none).
    filter: str = ""
    #: Rows before the filter, all kinds together.
    total_rows: int = field(default=0)
    #: The account, when known (the scopes' snapshot: of one scope only).
    account: str | None = None
    #: The scopes watched (`REGION/ACCOUNT`), and how many more could not be opened; () for one scope without
    #: scope options.
    scopes: tuple[str, ...] = ()
    scopes_failed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "dlqs", _by_urgency(self.dlqs, lambda r: r.visible, lambda r: r.name))
        object.__setattr__(self, "streams", _by_urgency(self.streams, lambda r: r.iterator_age_seconds,
                                                        lambda r: r.stream + r.function))
        object.__setattr__(self, "state_machines", _by_urgency(
            self.state_machines, lambda r: (r.failed or 0) + (r.timed_out or 0), lambda r: r.name))
        object.__setattr__(self, "redrives", _by_urgency(self.redrives, lambda r: r.task.moved, lambda r: r.dlq))
        object.__setattr__(self, "alarms", _by_urgency(self.alarms, lambda r: 0, lambda r: r.name))
        if not self.total_rows:
            object.__setattr__(self, "total_rows", self.rows)

    @property
    def rows(self) -> int:
        return len(self.dlqs) + len(self.streams) + len(self.state_machines) + len(self.redrives) + len(self.alarms)

    @property
    def partial(self) -> bool:
        return bool(self.problems)

    @property
    def multi_scope(self) -> bool:
        """More than one scope asked for: the tables then have Account and Region columns."""
        return len(self.scopes) + self.scopes_failed > 1

    @property
    def stale(self) -> bool:
        rows: tuple[Any, ...] = (*self.dlqs, *self.streams, *self.state_machines, *self.redrives, *self.alarms)
        return any(r.stale for r in rows)

    def filtered(self, text: str) -> Snapshot:
        """The rows whose names contain `text` (case-insensitive); everything for an empty text."""
        needle = text.strip().lower()
        if not needle:
            return replace(self, filter="", total_rows=self.total_rows)

        def hit(row: Any, *names: str) -> bool:  # a scope's rows match its account id or region too
            return any(needle in n.lower() for n in (*names, row.account or "", row.region or ""))

        return replace(
            self,
            dlqs=tuple(r for r in self.dlqs if hit(r, r.name)),
            streams=tuple(r for r in self.streams if hit(r, r.stream, r.function)),
            state_machines=tuple(r for r in self.state_machines if hit(r, r.name)),
            redrives=tuple(r for r in self.redrives if hit(r, r.dlq)),
            alarms=tuple(r for r in self.alarms if hit(r, r.name, *r.resources)),
            filter=text.strip(),
            total_rows=self.total_rows,
        )

    def records(self) -> list[dict[str, Any]]:
        """Every row as one record with its `kind`, most urgent kind first: for jsonl and csv."""
        rows: list[tuple[str, Any]] = [
            *(("alarm", r) for r in self.alarms), *(("dlq", r) for r in self.dlqs),
            *(("state_machine", r) for r in self.state_machines), *(("stream", r) for r in self.streams),
            *(("redrive", r) for r in self.redrives),
        ]
        ordered = sorted(rows, key=lambda kr: -kr[1].urgency)  # stable: each kind keeps its own order
        return [{"kind": kind, "urgency": row.urgency, **row.to_dict()} for kind, row in ordered]

    def to_dict(self) -> dict[str, Any]:
        where: dict[str, Any] = {"region": self.region or None}
        if self.account is not None:
            where = {"account": self.account, **where}
        if self.scopes or self.scopes_failed:
            where["scopes"] = list(self.scopes)
            where["scopes_failed"] = self.scopes_failed
        return {
            **where, "taken_at": self.taken_at, "refresh": self.refresh,
            "elapsed_seconds": round(self.elapsed_seconds, 3), "calls": self.calls, "filter": self.filter,
            "dlqs": [r.to_dict() for r in self.dlqs],
            "streams": [r.to_dict() for r in self.streams],
            "state_machines": [r.to_dict() for r in self.state_machines],
            "redrives": [r.to_dict() for r in self.redrives],
            "alarms": [r.to_dict() for r in self.alarms],
            "unavailable": list(self.unavailable),
        }
