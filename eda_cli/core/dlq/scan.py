"""Find the DLQs: every one in the region (`scan_dlqs`), or the queues named on the command line (`dlqs_for`).

A queue is a DLQ when something names it as one: another queue's RedrivePolicy (read from the queues'
attributes, or ListDeadLetterSourceQueues for a named queue), or the configuration of SNS, EventBridge,
Lambda or Pipes (`origins.find_origins`); else, the last resort, when its name ends like a DLQ's. The
queues and the configuration are read side by side.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from eda_cli.aws.clients import ClientFactory
from eda_cli.aws.errors import describe
from eda_cli.aws.resolve import QueueRef
from eda_cli.core.concurrency import DEFAULT_CONCURRENCY, map_bounded
from eda_cli.core.dlq.model import (
    Dangling,
    Dlq,
    DlqScan,
    Origins,
    Source,
    classify,
    ordered,
    sqs_source,
)
from eda_cli.core.dlq.origins import SERVICES, find_origins
from eda_cli.core.problems import Problem
from eda_cli.core.sqs import get_queue_info, get_queue_infos, list_queue_urls

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


def _side_by_side(sqs_part: Callable[[], Any], clients: ClientFactory | None, concurrency: int,
                  services: tuple[str, ...], origins: Origins | None) -> tuple[Any, Origins]:
    """Run the SQS part and the configuration discovery at once, each with half the concurrency. An
    error of the SQS part is raised (without the queues there is nothing to list); the configuration's
    failures are its `problems`. Given `origins` (read before), the configuration is not read again."""
    if origins is not None:
        return sqs_part(), origins
    if clients is None or not services:
        return sqs_part(), Origins()
    half = max(1, concurrency // 2)
    parts: list[Callable[[], Any]] = [sqs_part, lambda: find_origins(clients, concurrency=half, services=services)]
    sqs_outcome, origins_outcome = map_bounded(lambda part: part(), parts, 2)
    if sqs_outcome.error is not None:
        raise sqs_outcome.error
    if origins_outcome.error is not None:  # find_origins keeps its failures; this is a bug or an interrupt
        raise origins_outcome.error
    return sqs_outcome.value, cast(Origins, origins_outcome.value)


def scan_dlqs(
    sqs: SQSClient,
    concurrency: int = DEFAULT_CONCURRENCY,
    *,
    clients: ClientFactory | None = None,
    services: tuple[str, ...] = SERVICES,
    origins: Origins | None = None,
) -> DlqScan:
    """Every DLQ in the region: what a RedrivePolicy names, what the configuration of `services` names
    (read through `clients`, e.g. `AwsSession.client`, or given as `origins`, read before; with neither,
    SQS alone), and unreferenced queues named like DLQs."""
    half = max(1, concurrency // 2) if clients is not None and origins is None else concurrency

    def sqs_part() -> tuple[list[str], Any, Any]:
        urls = list_queue_urls(sqs)
        infos, errors = get_queue_infos(sqs, urls, half)
        return urls, infos, errors

    (urls, infos, errors), origins = _side_by_side(sqs_part, clients, concurrency, services, origins)
    by_arn = {info.arn: info for info in infos}
    sources: dict[str, list[Source]] = {arn: list(found) for arn, found in origins.by_queue.items()}
    dangling: list[Dangling] = []
    for info in infos:
        target = info.dead_letter_target_arn
        if not target:
            continue
        if target in by_arn:
            sources.setdefault(target, []).append(sqs_source(info))
        else:
            dangling.append(Dangling(source=info.name, dlq_arn=target))
    for arn, found in origins.by_queue.items():
        if arn not in by_arn:
            dangling.extend(Dangling(source=s.owner, dlq_arn=arn, kind=s.kind) for s in found)
    dlqs: list[Dlq] = []
    for info in sorted(infos, key=lambda i: i.name):
        named = ordered(sources.get(info.arn, ()))
        dlq = Dlq(info=info, found_by=classify(info, named), sources=named)
        if dlq.is_dlq:
            dlqs.append(dlq)
    return DlqScan(
        dlqs=tuple(dlqs),
        queues_scanned=len(urls),
        dangling=tuple(dangling),
        problems=(*(Problem("sqs", url, describe(err), err) for url, err in errors), *origins.problems),
        elsewhere=origins.elsewhere,
        unavailable=origins.unavailable,
    )


def dlqs_for(
    sqs: SQSClient,
    queues: list[QueueRef],
    concurrency: int = DEFAULT_CONCURRENCY,
    *,
    clients: ClientFactory | None = None,
    services: tuple[str, ...] = SERVICES,
    origins: Origins | None = None,
) -> tuple[list[Dlq], list[Problem]]:
    """The named queues as DLQs: their SQS sources from ListDeadLetterSourceQueues, and what the
    configuration of `services` names them by (read through `clients`, or given as `origins`; with
    neither, SQS alone). A queue
    that is not a DLQ is kept (it was asked for), marked as such (`Dlq.is_dlq`, `Dlq.not_a_dlq`)."""

    def one(ref: QueueRef) -> tuple[Any, tuple[Source, ...]]:
        info = get_queue_info(sqs, ref.url)
        source_urls: list[str] = []
        for page in sqs.get_paginator("list_dead_letter_source_queues").paginate(QueueUrl=ref.url):
            source_urls.extend(page.get("queueUrls", []))
        source_infos, _ = get_queue_infos(sqs, source_urls, concurrency=4)
        return info, tuple(sqs_source(i) for i in source_infos)

    half = max(1, concurrency // 2) if clients is not None and origins is None else concurrency
    outcomes, origins = _side_by_side(lambda: map_bounded(one, queues, half), clients, concurrency, services,
                                      origins)
    dlqs: list[Dlq] = []
    problems: list[Problem] = []
    for outcome in outcomes:
        if outcome.value is not None:
            info, queue_sources = outcome.value
            named = ordered((*queue_sources, *origins.sources_of(info.arn)))
            dlqs.append(Dlq(info=info, found_by=classify(info, named), sources=named))
        elif outcome.error is not None:
            problems.append(Problem("sqs", outcome.item.name, describe(outcome.error), outcome.error))
    return dlqs, [*problems, *origins.problems]

