"""Dead-letter queues: find them, measure them, and peek at their messages without consuming them."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Generator
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, cast

from eda_cli.aws.errors import describe
from eda_cli.aws.resolve import QueueRef
from eda_cli.core.concurrency import DEFAULT_CONCURRENCY, map_bounded
from eda_cli.core.pipeline.model import Alarm
from eda_cli.core.problems import Problem
from eda_cli.core.sqs import (
    Message,
    QueueInfo,
    change_visibility,
    get_queue_info,
    get_queue_infos,
    list_queue_urls,
    to_message,
    unwrap_envelope,
)
from eda_cli.errors import UsageError

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_sqs import SQSClient

#: Name endings that mark a queue as a DLQ even when no RedrivePolicy points at it
#: (Lambda async DLQs, SNS subscription DLQs, EventBridge target DLQs).
DLQ_SUFFIXES = ("-dlq", "-deadletter", "_dlq", "-dead-letter", "_deadletter")



def _strip_fifo(name: str) -> str:
    return name[: -len(".fifo")] if name.endswith(".fifo") else name


def named_like_dlq(name: str) -> bool:
    return _strip_fifo(name).lower().endswith(DLQ_SUFFIXES)


@dataclass(frozen=True)
class Source:
    """A queue whose RedrivePolicy sends its poison messages to a DLQ."""

    queue: str
    arn: str
    max_receive_count: int | None
    retention_seconds: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: What makes a queue a DLQ (`Dlq.found_by`): another queue's RedrivePolicy names it, or (nothing
#: naming it) its name says so.
FOUND_BY_POLICY = "redrive-policy"
FOUND_BY_NAME = "name"
#: What a queue named on the command line is when it is neither: a live source queue (it has a
#: RedrivePolicy of its own), or a queue nothing marks as a DLQ. Each with why, as eda says it.
NOT_A_DLQ = {
    "own-redrive-policy": "it has its own RedrivePolicy",
    "none": "no RedrivePolicy names it",
}


def classify(info: QueueInfo, sources: tuple[Source, ...]) -> str:
    """Why `info` is a DLQ (FOUND_BY_POLICY, FOUND_BY_NAME), or why it is not (a key of NOT_A_DLQ).

    A queue with sources is a DLQ even with a RedrivePolicy of its own (a DLQ may have a DLQ);
    one named like a DLQ is one too (Lambda, SNS and EventBridge DLQs are named by nothing else).
    """
    if sources:
        return FOUND_BY_POLICY
    if named_like_dlq(info.name):
        return FOUND_BY_NAME
    return "own-redrive-policy" if info.dead_letter_target_arn else "none"


@dataclass(frozen=True)
class Dlq:
    """A DLQ, or (`is_dlq` false) a queue named on the command line that is not one."""

    info: QueueInfo
    found_by: str  # FOUND_BY_POLICY | FOUND_BY_NAME | a key of NOT_A_DLQ
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
    """A source whose RedrivePolicy names a DLQ that is not in this account and region."""

    source: str
    dlq_arn: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DlqScan:
    dlqs: tuple[Dlq, ...]
    queues_scanned: int
    dangling: tuple[Dangling, ...] = ()
    problems: tuple[Problem, ...] = ()

    @property
    def partial(self) -> bool:
        return bool(self.problems)


def _sources_from(info: QueueInfo) -> Source:
    return Source(
        queue=info.name,
        arn=info.arn,
        max_receive_count=info.max_receive_count,
        retention_seconds=info.int_attr("MessageRetentionPeriod"),
    )


def scan_dlqs(sqs: SQSClient, concurrency: int = DEFAULT_CONCURRENCY) -> DlqScan:
    """Every DLQ in the region: targets of a RedrivePolicy, plus unreferenced queues named like DLQs."""
    urls = list_queue_urls(sqs)
    infos, errors = get_queue_infos(sqs, urls, concurrency)
    by_arn = {info.arn: info for info in infos}
    sources: dict[str, list[Source]] = {}
    dangling: list[Dangling] = []
    for info in infos:
        target = info.dead_letter_target_arn
        if not target:
            continue
        if target in by_arn:
            sources.setdefault(target, []).append(_sources_from(info))
        else:
            dangling.append(Dangling(source=info.name, dlq_arn=target))
    dlqs: list[Dlq] = []
    for info in sorted(infos, key=lambda i: i.name):
        found = tuple(sorted(sources.get(info.arn, ()), key=lambda s: s.queue))
        dlq = Dlq(info=info, found_by=classify(info, found), sources=found)
        if dlq.is_dlq:
            dlqs.append(dlq)
    return DlqScan(
        dlqs=tuple(dlqs),
        queues_scanned=len(urls),
        dangling=tuple(dangling),
        problems=tuple(Problem("sqs", url, describe(err), err) for url, err in errors),
    )


def dlqs_for(
    sqs: SQSClient, queues: list[QueueRef], concurrency: int = DEFAULT_CONCURRENCY
) -> tuple[list[Dlq], list[Problem]]:
    """The named queues as DLQs, with their sources from ListDeadLetterSourceQueues. A queue that is
    not a DLQ is kept (it was asked for), marked as such (`Dlq.is_dlq`, `Dlq.not_a_dlq`)."""

    def one(ref: QueueRef) -> Dlq:
        info = get_queue_info(sqs, ref.url)
        source_urls: list[str] = []
        for page in sqs.get_paginator("list_dead_letter_source_queues").paginate(QueueUrl=ref.url):
            source_urls.extend(page.get("queueUrls", []))
        source_infos, _ = get_queue_infos(sqs, source_urls, concurrency=4)
        found = tuple(sorted((_sources_from(i) for i in source_infos), key=lambda s: s.queue))
        return Dlq(info=info, found_by=classify(info, found), sources=found)

    dlqs: list[Dlq] = []
    problems: list[Problem] = []
    for outcome in map_bounded(one, queues, concurrency):
        if outcome.value is not None:
            dlqs.append(outcome.value)
        elif outcome.error is not None:
            problems.append(Problem("sqs", outcome.item.name, describe(outcome.error), outcome.error))
    return dlqs, problems


# -- inspect -------------------------------------------------------------------------------------


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
            "sources": [
                {"queue": s.queue, "max_receive_count": s.max_receive_count, "retention_seconds": s.retention_seconds}
                for s in self.dlq.sources
            ],
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
    """ApproximateAgeOfOldestMessage (maximum over the window) per queue, via GetMetricData.

    One GetMetricData call answers up to 500 queries, so this is one call per 500 queues.
    None where CloudWatch has no datapoints (a new or empty queue, or an endpoint without metrics).
    """
    ages: dict[str, float | None] = {name: None for name in queue_names}
    for start in range(0, len(queue_names), 500):
        chunk = queue_names[start : start + 500]
        queries = [
            {
                "Id": f"q{i}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/SQS",
                        "MetricName": "ApproximateAgeOfOldestMessage",
                        "Dimensions": [{"Name": "QueueName", "Value": name}],
                    },
                    "Period": 60,
                    "Stat": "Maximum",
                },
                "ReturnData": True,
            }
            for i, name in enumerate(chunk)
        ]
        kwargs: dict[str, Any] = {
            "MetricDataQueries": queries,
            "StartTime": now - timedelta(minutes=window_minutes),
            # A minute of slack: datapoints stamped in the current second must not fall outside.
            "EndTime": now + timedelta(minutes=1),
        }
        while True:
            response = cloudwatch.get_metric_data(**kwargs)
            for result in response.get("MetricDataResults", []):
                values = result.get("Values", [])
                if values:
                    name = chunk[int(result["Id"][1:])]
                    best = max(float(v) for v in values)
                    current = ages.get(name)
                    ages[name] = best if current is None else max(current, best)
            token = response.get("NextToken")
            if not token:
                break
            kwargs["NextToken"] = token
    return ages


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


def inspect_queues(sqs: SQSClient, cloudwatch: CloudWatchClient, queues: list[QueueRef] | None = None) -> InspectResult:
    """`inspect` the named queues (as `dlqs_for` finds them), or, with none named, every DLQ in the region."""
    if queues:
        dlqs, problems = dlqs_for(sqs, queues)
    else:
        scan = scan_dlqs(sqs)
        dlqs, problems = list(scan.dlqs), list(scan.problems)
    return inspect(sqs, cloudwatch, dlqs, problems=problems)


# -- peek ----------------------------------------------------------------------------------------

#: Peeked messages are hidden for at most this long if eda dies before putting them back.
PEEK_VISIBILITY_SECONDS = 30


@dataclass(frozen=True)
class PeekResult:
    queue: QueueRef
    messages: tuple[Message, ...]
    receives: int
    #: Messages whose visibility could not be reset: they reappear after PEEK_VISIBILITY_SECONDS.
    not_restored: tuple[str, ...] = ()
    visible_before: int | None = None
    #: Ctrl-C stopped it: `messages` is what was read until then (and put back).
    interrupted: bool = False

    def to_list(self) -> list[dict[str, Any]]:
        return [m.to_dict() for m in self.messages]

    @property
    def problems(self) -> tuple[Problem, ...]:
        """Every message was read; putting some back failed: they stay hidden until their timeout ends."""
        if not self.not_restored:
            return ()
        return (Problem("sqs", self.queue.name, f"{len(self.not_restored)} message(s) reappear within "
                        f"{PEEK_VISIBILITY_SECONDS}s", action="make visible again the messages read from"),)


class PeekRefused(UsageError):
    pass


def refuse_live_queue(name: str, max_receive_count: int | None) -> PeekRefused:
    """The refusal to receive from a queue with a RedrivePolicy of its own (a live source queue)."""
    return PeekRefused(
        f"{name} has a RedrivePolicy (maxReceiveCount {max_receive_count}): every receive raises a message's "
        "receive count, so reading it could push live messages into its DLQ",
        hint="read its DLQ instead, or pass --force if you accept that risk",
    )


@dataclass
class BrowseStats:
    """What a `browse` did, filled in as it goes (and completed when it ends)."""

    receives: int = 0
    seen: int = 0
    #: Messages whose visibility could not be reset: they reappear after PEEK_VISIBILITY_SECONDS.
    not_restored: tuple[str, ...] = ()
    #: Stopped early by `cancel` (Ctrl-C).
    cancelled: bool = False


def browse(
    sqs: SQSClient,
    url: str,
    *,
    limit: int,
    visible: int | None,
    stats: BrowseStats,
    empty_receives: int = 3,
    cancel: threading.Event | None = None,
) -> Generator[Message, None, None]:
    """Yield each message of a queue once, up to `limit`, WITHOUT consuming any: nothing is deleted.

    Each receive hides what it got for PEEK_VISIBILITY_SECONDS so the next receive reaches other
    messages; when the generator ends, or is closed, every message seen is made visible again at
    once (use it inside `contextlib.closing` if you may stop early). Receives are short while they
    bring new messages; after one that brings nothing new the next waits a second, since a short
    receive samples only some SQS servers. It stops at `limit`, once as many messages as the queue
    reported (`visible`) have been seen and a long-polled receive brings nothing new, or after
    `empty_receives` receives in a row bring nothing new. Messages are de-duplicated by id. With
    `cancel` set (a deferred Ctrl-C), it stops before the next receive, never inside one, so that no
    receipt handle is lost and every message seen can be put back.
    """
    seen: set[str] = set()
    handles: dict[str, str] = {}
    quiet = wait = 0
    try:
        while len(seen) < limit and quiet < empty_receives:
            if cancel is not None and cancel.is_set():
                stats.cancelled = True
                break
            stats.receives += 1
            response = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(10, limit - len(seen)),
                VisibilityTimeout=PEEK_VISIBILITY_SECONDS,
                WaitTimeSeconds=wait,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            new = 0
            for raw in response.get("Messages", []):
                message_id = str(raw["MessageId"])
                handles[message_id] = str(raw["ReceiptHandle"])
                if message_id in seen or len(seen) >= limit:
                    continue
                seen.add(message_id)
                stats.seen = len(seen)
                new += 1
                yield to_message(cast("dict[str, Any]", raw))  # core.sqs reads it as a plain dict
            if new:
                quiet = wait = 0
            else:
                # Seen all the queue reported, and a long-polled receive (which asks every server)
                # found nothing more: done. A short receive alone could have missed some.
                if wait and visible is not None and len(seen) >= visible:
                    break
                quiet, wait = quiet + 1, 1
    finally:
        stats.not_restored = tuple(change_visibility(sqs, url, list(handles.items()), timeout=0))


def peek(
    sqs: SQSClient,
    queue: QueueRef,
    max_messages: int = 10,
    *,
    force: bool = False,
    empty_receives: int = 3,
    cancel: threading.Event | None = None,
) -> PeekResult:
    """Read up to `max_messages` without consuming them (see `browse`): nothing is ever deleted.

    Refuses a queue that has a RedrivePolicy of its own unless `force`: every receive raises a
    message's receive count, which could push live messages into that queue's DLQ.
    """
    if max_messages < 1:
        raise UsageError("peek reads at least 1 message")
    info = get_queue_info(sqs, queue.url)
    if info.redrive_policy and not force:
        raise refuse_live_queue(queue.name, info.max_receive_count)
    visible = info.int_attr("ApproximateNumberOfMessages")
    stats = BrowseStats()
    with closing(browse(sqs, queue.url, limit=max_messages, visible=visible, stats=stats,
                        empty_receives=empty_receives, cancel=cancel)) as messages:
        seen = list(messages)
    ordered = sorted(seen, key=lambda m: (m.sent_at or "", m.message_id))
    return PeekResult(
        queue=queue,
        messages=tuple(ordered),
        receives=stats.receives,
        not_restored=stats.not_restored,
        visible_before=visible,
        interrupted=stats.cancelled,
    )


# -- grouping ------------------------------------------------------------------------------------


def signature(message: Message) -> str:
    """What a poison message 'is', for triage: its error, else the shape of its payload."""
    error = message.error
    if error and (error.get("message") or error.get("code")):
        code = f"[{error['code']}] " if error.get("code") else ""
        return f"error: {code}{error.get('message') or ''}".rstrip()
    body = unwrap_envelope(message.body)
    if isinstance(body, dict) and "detail-type" in body and isinstance(body.get("detail"), dict):
        return f"event {body['detail-type']}: {{{', '.join(sorted(body['detail']))}}}"
    if isinstance(body, dict):
        return f"json {{{', '.join(sorted(body))}}}"
    if isinstance(body, list):
        return f"json array[{len(body)}]"
    text = str(body).strip()
    return "text: " + (text[:40] + "..." if len(text) > 40 else text) if text else "empty body"


@dataclass(frozen=True)
class Group:
    signature: str
    messages: tuple[Message, ...] = field(default_factory=tuple)

    @property
    def count(self) -> int:
        return len(self.messages)

    def to_dict(self) -> dict[str, Any]:
        sent = [m.sent_at for m in self.messages if m.sent_at]
        return {
            "signature": self.signature,
            "count": self.count,
            "first_sent_at": min(sent) if sent else None,
            "last_sent_at": max(sent) if sent else None,
            "message_ids": [m.message_id for m in self.messages],
            "example": unwrap_envelope(self.messages[0].body) if self.messages else None,
        }


def group_by_error(messages: tuple[Message, ...] | list[Message]) -> list[Group]:
    groups: dict[str, list[Message]] = {}
    for message in messages:
        groups.setdefault(signature(message), []).append(message)
    return sorted(
        (Group(sig, tuple(ms)) for sig, ms in groups.items()), key=lambda g: (-g.count, g.signature)
    )


def body_preview(body: Any, limit: int = 80) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":")) if not isinstance(body, str) else body
    return text if len(text) <= limit else text[: limit - 3] + "..."

