"""`dlq inspect`: depth, age of the oldest message, sources, depth alarms and retention of each DLQ."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from eda_cli.aws.clients import ClientFactory
from eda_cli.aws.errors import describe
from eda_cli.aws.resolve import QueueRef
from eda_cli.core.dlq.model import Dlq, Origins
from eda_cli.core.dlq.scan import dlqs_for, scan_dlqs
from eda_cli.core.metrics import MetricQuery, metric_values
from eda_cli.core.pipeline.model import Alarm
from eda_cli.core.problems import Problem

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_sqs import SQSClient


@dataclass(frozen=True)
class DlqReport:
    dlq: Dlq
    visible: int | None
    in_flight: int | None
    delayed: int | None
    oldest_age_seconds: float | None
    alarms: tuple[str, ...]
    retention_seconds: int | None

    @property
    def retention_ok(self) -> bool | None:
        """A DLQ must keep messages longer than its sources do: standard queues keep the original
        enqueue time, so a message redriven near the end of its source retention expires early."""
        source_retention = [s.retention_seconds for s in self.dlq.sources if s.retention_seconds is not None]
        if self.retention_seconds is None or not source_retention:
            return None
        return self.retention_seconds > max(source_retention)

    def to_dict(self) -> dict[str, Any]:
        info = self.dlq.info
        return {
            "queue": info.name,
            "url": info.url,
            "arn": info.arn,
            "fifo": info.fifo,
            "visible": self.visible,
            "in_flight": self.in_flight,
            "delayed": self.delayed,
            "oldest_age_seconds": self.oldest_age_seconds,
            "sources": [s.to_dict() for s in self.dlq.sources],
            "alarm": bool(self.alarms),
            "alarm_names": list(self.alarms),
            "retention_seconds": self.retention_seconds,
            "retention_ok": self.retention_ok,
            "found_by": self.dlq.found_by,
            "is_dlq": self.dlq.is_dlq,
        }


@dataclass(frozen=True)
class InspectResult:
    reports: tuple[DlqReport, ...]
    problems: tuple[Problem, ...] = ()

    @property
    def partial(self) -> bool:
        return bool(self.problems)

    def over(self, threshold: int) -> list[DlqReport]:
        return [r for r in self.reports if (r.visible or 0) > threshold]


def depth_alarms(cloudwatch: CloudWatchClient) -> list[Alarm]:
    """Every metric alarm (one paginated DescribeAlarms); `Alarm.watches_queue_depth` says which
    ones watch a queue's depth."""
    return [
        Alarm.from_api(alarm)
        for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"])
        for alarm in page.get("MetricAlarms", [])
    ]


def oldest_ages(
    cloudwatch: CloudWatchClient, queue_names: list[str], now: datetime, window_minutes: int = 5
) -> dict[str, float | None]:
    """ApproximateAgeOfOldestMessage (maximum over the window) per queue, via GetMetricData
    (`core.metrics.metric_values`: one call per 500 queues).

    None where CloudWatch has no datapoints (a new or empty queue, or an endpoint without metrics).
    """
    queries = [MetricQuery(name, "AWS/SQS", "ApproximateAgeOfOldestMessage", (("QueueName", name),))
               for name in queue_names]
    # A minute of slack at the end: datapoints stamped in the current second must not fall outside.
    values = metric_values(cloudwatch, queries, now - timedelta(minutes=window_minutes), now + timedelta(minutes=1))
    return {name: max(values[name]) if values.get(name) else None for name in queue_names}


def inspect(
    sqs: SQSClient,
    cloudwatch: CloudWatchClient,
    dlqs: list[Dlq],
    *,
    problems: list[Problem] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> InspectResult:
    """Depth, age, sources, alarm and retention of each DLQ. CloudWatch failures are partial."""
    problems = list(problems or [])
    try:
        alarms = depth_alarms(cloudwatch)
    except Exception as exc:
        alarms = []
        problems.append(Problem("cloudwatch", "DescribeAlarms", describe(exc), exc))
    try:
        ages = oldest_ages(cloudwatch, [d.info.name for d in dlqs], now())
    except Exception as exc:
        ages = {}
        problems.append(Problem("cloudwatch", "GetMetricData", describe(exc), exc))
    reports = [
        DlqReport(
            dlq=d,
            visible=d.info.int_attr("ApproximateNumberOfMessages"),
            in_flight=d.info.int_attr("ApproximateNumberOfMessagesNotVisible"),
            delayed=d.info.int_attr("ApproximateNumberOfMessagesDelayed"),
            oldest_age_seconds=ages.get(d.info.name),
            alarms=tuple(a.name for a in alarms if a.watches_queue_depth(d.info.name)),
            retention_seconds=d.info.int_attr("MessageRetentionPeriod"),
        )
        for d in dlqs
    ]
    return InspectResult(reports=tuple(reports), problems=tuple(problems))


def inspect_queues(sqs: SQSClient, cloudwatch: CloudWatchClient, queues: list[QueueRef] | None = None, *,
                   clients: ClientFactory | None = None, origins: Origins | None = None) -> InspectResult:
    """`inspect` the named queues (as `dlqs_for` finds them), or, with none named, every DLQ in the region
    (`scan_dlqs`); with `clients` (or `origins`, read before), what the configuration names as a DLQ
    counts too."""
    if queues:
        dlqs, problems = dlqs_for(sqs, queues, clients=clients, origins=origins)
    else:
        scan = scan_dlqs(sqs, clients=clients, origins=origins)
        dlqs, problems = list(scan.dlqs), list(scan.problems)
    return inspect(sqs, cloudwatch, dlqs, problems=problems)
