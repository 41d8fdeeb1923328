"""`audit --sample-dlqs N`: the one audit input read from AWS after discovery, the sizes of a few recent
messages in each DLQ behind an EventBridge rule target.

Rules never call AWS; this module does, before they run, and hands them what it read (`DlqSamples`).
Messages are read as `dlq peek` reads them (`core.dlq.browse`): nothing is deleted and every message
read is made visible again at once. A DLQ that has a RedrivePolicy of its own is not sampled (each
receive would raise its messages' receive counts, as `dlq peek` refuses without --force).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eda_cli.core.pipeline.model import Pipeline, Queue, Target
from eda_cli.core.problems import Problem
from eda_cli.core.schemas.size import byte_size

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


@dataclass(frozen=True)
class DlqSample:
    """The sizes (UTF-8 bytes of each body) of up to N messages read from one DLQ."""

    queue_arn: str
    queue_name: str
    sizes: tuple[int, ...] = ()
    #: Why it was not sampled (it has a RedrivePolicy of its own), else "".
    skipped: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"queue": self.queue_name, "arn": self.queue_arn, "sampled": len(self.sizes),
                "largest": max(self.sizes, default=None), "skipped": self.skipped or None}


@dataclass(frozen=True)
class DlqSamples:
    """What `sample_dlqs` read: per DLQ ARN its sample, how many messages were asked of each, and what
    could not be read (partial)."""

    per_dlq: int
    samples: Mapping[str, DlqSample] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()

    def of(self, arn: str | None) -> DlqSample | None:
        return self.samples.get(arn or "")


def target_dlqs(pipeline: Pipeline, target: Target) -> list[Queue]:
    """The DLQs where an EventBridge target's failed events end up: the target's DeadLetterConfig (what
    EventBridge could not deliver), and, for an SQS target, its RedrivePolicy's DLQ (what its consumer
    could not process). Only queues of the pipeline (in this account and region)."""
    found: list[Queue] = []
    configured = pipeline.queue_by_arn(target.dead_letter_arn)
    if configured is not None:
        found.append(configured)
    queue = pipeline.queue_by_arn(target.arn)
    redriven = pipeline.queue_by_arn(queue.dead_letter_target_arn) if queue is not None else None
    if redriven is not None and redriven not in found:
        found.append(redriven)
    return found


def rule_target_dlqs(pipeline: Pipeline) -> list[Queue]:
    """Every DLQ behind an EventBridge rule target, once each, in rule order."""
    seen: dict[str, Queue] = {}
    for bus_rule in pipeline.rules:
        for target in bus_rule.targets:
            for dlq in target_dlqs(pipeline, target):
                seen.setdefault(dlq.arn, dlq)
    return list(seen.values())


def sample_dlqs(sqs: SQSClient, dlqs: Iterable[Queue], per_dlq: int, *, empty_receives: int = 2) -> DlqSamples:
    """Read up to `per_dlq` messages of each DLQ without consuming any, and keep their sizes. A DLQ that
    cannot be read is a `Problem` (the audit is then partial); the others are still sampled."""
    from eda_cli.aws.errors import describe
    from eda_cli.core.dlq import BrowseStats, browse

    if per_dlq < 1:
        raise ValueError("sample at least 1 message per DLQ")
    samples: dict[str, DlqSample] = {}
    problems: list[Problem] = []
    for dlq in dlqs:
        if dlq.dead_letter_target_arn:
            samples[dlq.arn] = DlqSample(dlq.arn, dlq.name, skipped=(
                f"{dlq.name} has a RedrivePolicy of its own: receiving would raise its messages' receive counts"))
            continue
        if dlq.visible == 0:  # discovery read its depth: nothing to read, no receive needed
            samples[dlq.arn] = DlqSample(dlq.arn, dlq.name)
            continue
        stats = BrowseStats()
        sizes: list[int] = []
        try:
            with closing(browse(sqs, dlq.url, limit=per_dlq, visible=dlq.visible, stats=stats,
                                empty_receives=empty_receives)) as messages:
                sizes = [byte_size(m.raw_body) for m in messages]
        except Exception as exc:  # one DLQ unreadable (access denied, deleted since): a partial audit
            problems.append(Problem("sqs", dlq.name, describe(exc), exc, action="sample the messages of"))
            continue
        if stats.not_restored:
            problems.append(Problem("sqs", dlq.name, f"{len(stats.not_restored)} message(s) reappear within "
                                    "30s", action="make visible again the messages sampled from"))
        samples[dlq.arn] = DlqSample(dlq.arn, dlq.name, tuple(sizes))
    return DlqSamples(per_dlq, samples, tuple(problems))
