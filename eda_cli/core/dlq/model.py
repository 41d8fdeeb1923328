"""What a DLQ is to eda: a queue, what names it as a DLQ (its sources, each of a kind), and why."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from eda_cli.core.problems import Problem
from eda_cli.core.sqs import QueueInfo

#: Name endings that mark a queue as a DLQ when nothing names it as one: the last resort.
DLQ_SUFFIXES = ("-dlq", "-deadletter", "_dlq", "-dead-letter", "_deadletter")

#: What names a queue as a DLQ (`Source.kind`, and `Dlq.found_by`, the strongest of a DLQ's sources), in
#: the order of strength: the first kind among a DLQ's sources is its `found_by`.
FOUND_BY_SQS = "sqs redrive policy"  # another queue's RedrivePolicy
FOUND_BY_SNS = "sns subscription"  # a subscription's RedrivePolicy
FOUND_BY_EVENTBRIDGE = "eventbridge target"  # a rule target's DeadLetterConfig
FOUND_BY_LAMBDA_ASYNC = "lambda async"  # a function's DeadLetterConfig
FOUND_BY_LAMBDA_ON_FAILURE = "lambda on-failure"  # a function's async on-failure destination
FOUND_BY_MAPPING = "event source mapping"  # an event source mapping's on-failure destination
FOUND_BY_PIPE = "pipe"  # an EventBridge pipe's DeadLetterConfig
#: Nothing names it, but its name ends like a DLQ's.
FOUND_BY_NAME = "by name"
KINDS = (FOUND_BY_SQS, FOUND_BY_SNS, FOUND_BY_EVENTBRIDGE, FOUND_BY_LAMBDA_ASYNC, FOUND_BY_LAMBDA_ON_FAILURE,
         FOUND_BY_MAPPING, FOUND_BY_PIPE)
#: What a queue named on the command line is when nothing makes it a DLQ: a live source queue (it has a
#: RedrivePolicy of its own), or a queue nothing marks as a DLQ. Each with why, as eda says it.
NOT_A_DLQ = {
    "own-redrive-policy": "it has its own RedrivePolicy",
    "none": "nothing names it as a DLQ",
}


def _strip_fifo(name: str) -> str:
    return name[: -len(".fifo")] if name.endswith(".fifo") else name


def named_like_dlq(name: str) -> bool:
    return _strip_fifo(name).lower().endswith(DLQ_SUFFIXES)


@dataclass(frozen=True)
class Source:
    """Something that sends its failures to a DLQ: its kind (a FOUND_BY_* label), the owner as eda names
    it (`owner`: a queue, `topic -> endpoint`, `bus/rule -> target`, a function, `source -> function`, a
    pipe) and its ARN, and what is known of it by kind (`details`: a queue's maxReceiveCount and
    retention; a subscription's topic, endpoint and protocol; a target's bus, rule, id and ARN; ...)."""

    kind: str
    owner: str
    arn: str
    details: tuple[tuple[str, Any], ...] = ()

    def detail(self, key: str) -> Any:
        return dict(self.details).get(key)

    # The fields of an SQS source (a queue's RedrivePolicy), as `dlq inspect` and retention checks read them.
    @property
    def queue(self) -> str | None:
        return self.owner if self.kind == FOUND_BY_SQS else None

    @property
    def max_receive_count(self) -> int | None:
        value = self.detail("max_receive_count")
        return int(value) if value is not None else None

    @property
    def retention_seconds(self) -> int | None:
        value = self.detail("retention_seconds")
        return int(value) if value is not None else None

    @property
    def label(self) -> str:
        """One line for a table: `payments (3)` for a queue (its maxReceiveCount), else `kind owner`."""
        if self.kind == FOUND_BY_SQS:
            return f"{self.owner} ({self.max_receive_count})"
        return f"{self.kind} {self.owner}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "owner": self.owner, "arn": self.arn, **dict(self.details)}


def sqs_source(info: QueueInfo) -> Source:
    """The source a queue with a RedrivePolicy is to its DLQ."""
    return Source(FOUND_BY_SQS, info.name, info.arn, (
        ("queue", info.name),
        ("max_receive_count", info.max_receive_count),
        ("retention_seconds", info.int_attr("MessageRetentionPeriod")),
    ))


def ordered(sources: list[Source] | tuple[Source, ...]) -> tuple[Source, ...]:
    """Strongest kind first (KINDS), then by owner; each source once."""
    unique = {(s.kind, s.owner, s.arn, s.details): s for s in sources}
    return tuple(sorted(unique.values(), key=lambda s: (KINDS.index(s.kind) if s.kind in KINDS else len(KINDS),
                                                          s.owner, s.arn)))


def classify(info: QueueInfo, sources: tuple[Source, ...]) -> str:
    """Why `info` is a DLQ (the kind of its strongest source, or FOUND_BY_NAME), or why it is not (a key
    of NOT_A_DLQ).

    A queue with sources is a DLQ even with a RedrivePolicy of its own (a DLQ may have a DLQ); one
    named like a DLQ is one too, the last resort (a DLQ of another account's resources is named by
    nothing eda can read).
    """
    if sources:
        return ordered(sources)[0].kind
    if named_like_dlq(info.name):
        return FOUND_BY_NAME
    return "own-redrive-policy" if info.dead_letter_target_arn else "none"


@dataclass(frozen=True)
class Dlq:
    """A DLQ, or (`is_dlq` false) a queue named on the command line that is not one."""

    info: QueueInfo
    found_by: str  # a FOUND_BY_* label | a key of NOT_A_DLQ
    sources: tuple[Source, ...] = ()

    @property
    def is_dlq(self) -> bool:
        return self.found_by not in NOT_A_DLQ

    @property
    def not_a_dlq(self) -> str | None:
        """Why this queue is not a DLQ (None when it is one)."""
        return NOT_A_DLQ.get(self.found_by)

    def to_dict(self) -> dict[str, Any]:
        return {
            "queue": self.info.name,
            "url": self.info.url,
            "arn": self.info.arn,
            "fifo": self.info.fifo,
            "found_by": self.found_by,
            "sources": [s.to_dict() for s in self.sources],
        }


@dataclass(frozen=True)
class Dangling:
    """A source that names, as its DLQ, a queue that is not in this account and region (or no longer exists)."""

    source: str
    dlq_arn: str
    kind: str = FOUND_BY_SQS

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Elsewhere:
    """A failure destination that is not an SQS queue (an SNS topic, a function, a bus, a bucket): not a
    DLQ eda lists, kept so that a caller can say where those failures go."""

    source: Source
    destination_arn: str

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source.to_dict(), "destination_arn": self.destination_arn}


@dataclass(frozen=True)
class Origins:
    """What the configuration of SNS, EventBridge, Lambda and Pipes names as a DLQ.

    `by_queue` maps a queue ARN to the sources naming it; `elsewhere` are destinations that are not
    queues; `problems` what could not be read (a service, a resource); `unavailable` the services or
    operations the endpoint does not implement at all (nothing can be configured through them there, so
    nothing is missed: not a problem)."""

    by_queue: dict[str, tuple[Source, ...]] = field(default_factory=dict)
    elsewhere: tuple[Elsewhere, ...] = ()
    problems: tuple[Problem, ...] = ()
    unavailable: tuple[str, ...] = ()
    calls: int = 0

    def sources_of(self, queue_arn: str) -> tuple[Source, ...]:
        return self.by_queue.get(queue_arn, ())


@dataclass(frozen=True)
class DlqScan:
    dlqs: tuple[Dlq, ...]
    queues_scanned: int
    dangling: tuple[Dangling, ...] = ()
    problems: tuple[Problem, ...] = ()
    elsewhere: tuple[Elsewhere, ...] = ()
    unavailable: tuple[str, ...] = ()

    @property
    def partial(self) -> bool:
        return bool(self.problems)
