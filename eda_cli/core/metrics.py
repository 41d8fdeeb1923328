"""CloudWatch GetMetricData in batches: many metrics, one call per 500 of them (plus its pages).

`dlq inspect` reads each DLQ's ApproximateAgeOfOldestMessage through it, and `eda watch` every metric of a
refresh (DLQ ages and consumers' IteratorAge) in one batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

#: GetMetricData's limit of queries per call.
QUERIES_PER_CALL = 500


@dataclass(frozen=True)
class MetricQuery:
    """One metric statistic: `key` is the caller's name for it (a queue, a function)."""

    key: str
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str = "Maximum"
    period: int = 60


def metric_values(cloudwatch: CloudWatchClient, queries: list[MetricQuery], start: datetime,
                  end: datetime) -> dict[str, list[float]]:
    """The datapoints of each query between `start` and `end`, newest first, by `key` (an empty list where
    CloudWatch has none: a new or idle resource, or an endpoint without metrics). One GetMetricData call per
    QUERIES_PER_CALL queries, following NextToken."""
    values: dict[str, list[tuple[datetime, float]]] = {q.key: [] for q in queries}
    for first in range(0, len(queries), QUERIES_PER_CALL):
        chunk = queries[first : first + QUERIES_PER_CALL]
        kwargs: dict[str, Any] = {
            "MetricDataQueries": [
                {
                    "Id": f"q{i}",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": q.namespace,
                            "MetricName": q.metric,
                            "Dimensions": [{"Name": name, "Value": value} for name, value in q.dimensions],
                        },
                        "Period": q.period,
                        "Stat": q.stat,
                    },
                    "ReturnData": True,
                }
                for i, q in enumerate(chunk)
            ],
            "StartTime": start,
            "EndTime": end,
        }
        while True:
            response = cloudwatch.get_metric_data(**kwargs)
            for result in response.get("MetricDataResults", []):
                key = chunk[int(str(result["Id"])[1:])].key
                stamps = list(result.get("Timestamps", []))
                for index, value in enumerate(result.get("Values", [])):
                    stamp = stamps[index] if index < len(stamps) else start
                    values[key].append((stamp, float(value)))
            token = response.get("NextToken")
            if not token:
                break
            kwargs["NextToken"] = token
    return {key: [v for _, v in sorted(points, key=lambda p: p[0], reverse=True)] for key, points in values.items()}
