"""Planning a redrive: read the DLQ, its sources and the target, and choose the mode. Changes nothing."""

from __future__ import annotations

import os
import threading
import uuid
from typing import TYPE_CHECKING, Any

from eda_cli.aws.resolve import QueueRef
from eda_cli.core.dlq.model import FOUND_BY_MAPPING, FOUND_BY_SNS, Source
from eda_cli.core.problems import Problem
from eda_cli.core.redrive.eventbridge import RULE_ARN, TARGET_ARN, Clients, eventbridge_origin
from eda_cli.core.redrive.model import NATIVE_MAX_RATE, RedriveOptions, RedrivePlan
from eda_cli.core.redrive.sqs_io import ApiCounter, queue_info
from eda_cli.core.redrive.tasks import probe_move_tasks
from eda_cli.core.sqs import QueueInfo, QueueVanished, get_queue_info
from eda_cli.errors import AwsError, UsageError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

#: Why auto mode copies a FIFO DLQ (LocalStack's move tasks do re-send the original ids).
FIFO_MOVE_RISK = ("a move task may re-send its messages' original deduplication ids, which a FIFO source "
                  "silently drops within its 5-minute deduplication window")


def list_sources(sqs: SQSClient, dlq_url: str) -> list[QueueInfo]:
    """The queues whose RedrivePolicy names this DLQ (ListDeadLetterSourceQueues, every page)."""
    urls: list[str] = []
    for page in sqs.get_paginator("list_dead_letter_source_queues").paginate(QueueUrl=dlq_url):
        urls.extend(page.get("queueUrls", []))
    infos: list[QueueInfo] = []
    for url in urls:
        try:
            infos.append(get_queue_info(sqs, url))
        except QueueVanished:
            continue
    return sorted(infos, key=lambda i: i.name)


def _check_archive_path(path: str, option: str = "--archive") -> None:
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UsageError(f"{option} {path} is a directory", hint=f"name a file, e.g. {option} redrive.jsonl")
    if not os.path.isdir(directory):
        raise UsageError(f"{option} {path}: the directory {directory} does not exist")
    if not os.access(directory, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise UsageError(f"{option} {path} is not writable")


def _names_eventbridge_targets(sqs: SQSClient, url: str, wait_seconds: int) -> bool:
    """Whether the DLQ's first messages say which EventBridge rule and target they were going to: one
    receive of their RULE_ARN and TARGET_ARN attributes with a visibility timeout of 0, so they stay
    visible (it hides nothing, and counts as one receive of each, as any peek does)."""
    response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                   WaitTimeSeconds=max(1, min(wait_seconds, 20)),
                                   MessageAttributeNames=[RULE_ARN, TARGET_ARN])
    return any(eventbridge_origin(m.get("MessageAttributes") or {}) for m in response.get("Messages", []))


def configured_origins(clients: Clients, dlq_arn: str) -> tuple[tuple[Source, ...], tuple[Problem, ...], int]:
    """What SNS subscriptions, Lambda functions and event source mappings name this DLQ (core/dlq/origins.py, SNS
    and Lambda only), what could not be read, and how many calls that took."""
    # imported here: a queue's DLQ (the common case) never needs origins or configured redrive (~30 ms of imports)
    from eda_cli.core.dlq.origins import find_origins
    from eda_cli.core.redrive.configured import CONFIGURED_KINDS

    lock = threading.Lock()
    counters: dict[str, ApiCounter] = {}

    def counted(service: str) -> Any:
        client = clients(service)
        with lock:
            if service not in counters:
                counters[service] = ApiCounter(client, event="before-parameter-build").__enter__()
        return client

    try:
        origins = find_origins(counted, services=("sns", "lambda"))
    finally:
        for counter in counters.values():
            counter.__exit__()
    sources = tuple(s for s in origins.sources_of(dlq_arn) if s.kind in CONFIGURED_KINDS)
    return sources, origins.problems, sum(c.calls for c in counters.values())


def _needs_copy(options: RedriveOptions, per_message: bool) -> list[str]:
    needs = []
    if options.matcher is not None:
        needs.append("--filter")
    if options.max_messages is not None:
        needs.append("--max")
    if options.archive:
        needs.append("--archive")
    if per_message:
        needs.append("routing each message to its own source")
    return needs


def _choose_mode(
    options: RedriveOptions, info: QueueInfo, has_sources: bool, needs: list[str], supported: bool, why: str
) -> tuple[str, str]:
    """(mode, why that mode): --mode as asked (native refused when it cannot be), else native when nothing
    needs copy mode and the endpoint has move tasks."""
    if options.mode == "native":
        if needs:
            raise UsageError(
                f"--mode native cannot do {', '.join(needs)}: an SQS move task moves every message",
                hint="use --mode copy (or auto)",
            )
        if options.rate is not None and options.rate > NATIVE_MAX_RATE:
            raise UsageError(f"--rate is at most {NATIVE_MAX_RATE} messages per second in native mode")
        if not supported:
            raise AwsError(
                f"--mode native: the endpoint does not support message move tasks ({why})",
                hint=f"copy mode works on every endpoint: eda redrive {info.name} --mode copy",
            )
        return "native", "requested with --mode native"
    if options.mode == "copy":
        return "copy", "requested with --mode copy"
    if needs:
        return "copy", f"needed for {', '.join(needs)}"
    if options.rate is not None and options.rate > NATIVE_MAX_RATE:
        return "copy", f"--rate above the move task's {NATIVE_MAX_RATE}/s"
    if not has_sources:
        return "copy", "move tasks only redrive queues that are another queue's DLQ"
    if info.fifo:
        return "copy", f"the DLQ is FIFO and copy mode sends fresh deduplication ids ({FIFO_MOVE_RISK})"
    if supported:
        return "native", "nothing needs copy mode and the endpoint supports move tasks"
    return "copy", f"the endpoint does not support move tasks ({why})"


def plan_redrive(
    sqs: SQSClient,
    dlq: QueueRef,
    *,
    to: QueueRef | None = None,
    options: RedriveOptions | None = None,
    probe: SQSClient | None = None,
    run_id: str | None = None,
    clients: Clients | None = None,
    prior_calls: int = 0,
) -> RedrivePlan:
    """Read the DLQ, its sources and the target, and choose the mode. Changes nothing.

    `prior_calls`: the API calls the caller already made for this redrive (resolving the queues' names to
    URLs): the plan's count, and so the summary's, starts from them.

    `probe` is the client used to ask whether the endpoint supports move tasks (a client without
    retries answers at once on an endpoint that lacks them); it defaults to `sqs`. A move task
    already running on the DLQ stops every mode: two movers would race for the same messages.

    A DLQ with no source queue whose messages name no EventBridge target is looked up in the configuration of
    SNS and Lambda through `clients` (an SNS subscription's RedrivePolicy, a function's DeadLetterConfig or
    on-failure destination): its messages then go to that subscription's endpoint or that function.
    """
    options = options or RedriveOptions()
    options.validate()
    notes: list[str] = []
    probe_calls = 0
    configured: tuple[Source, ...] = ()
    with ApiCounter(sqs) as counter:
        info = queue_info(sqs, dlq.url, dlq.name)
        sources = tuple(list_sources(sqs, dlq.url))
        target = queue_info(sqs, to.url, to.name) if to is not None else None
        if target is not None and target.arn == info.arn:
            raise UsageError(f"--to names the DLQ itself ({info.name})", hint="pass the queue to move messages to")
        if target is not None and options.to_bus:
            raise UsageError("--to and --to-bus say two different places", hint="pass one of them")
        if options.to_file and (target is not None or options.to_bus):
            raise UsageError(f"--to-file and {'--to' if target is not None else '--to-bus'} say two different places",
                             hint="pass one of them")
        origin = "sqs"
        if target is None and not sources:
            visible = info.int_attr("ApproximateNumberOfMessages") or 0
            if visible and _names_eventbridge_targets(sqs, dlq.url, options.wait_seconds):
                origin = "eventbridge"
            else:
                problems: tuple[Problem, ...] = ()
                if clients is not None:
                    configured, problems, calls = configured_origins(clients, info.arn)
                    probe_calls += calls
                if not configured and not options.to_file:
                    unread = "; ".join(f"{p.service} {p.resource}: {p.error}" for p in problems)
                    raise UsageError(
                        f"{info.name} has no source queues (no queue's RedrivePolicy names it), its messages name "
                        "no EventBridge rule and target (RULE_ARN, TARGET_ARN), and no SNS subscription, Lambda "
                        "function or event source mapping names it as its DLQ, so eda does not know where they belong"
                        + (f" (eda could not read: {unread})" if unread else ""),
                        hint="pass --to QUEUE",
                    )
                origin = "configured"
                for p in problems:
                    notes.append(f"could not read {p.service} {p.resource} ({p.error}): messages of origins "
                                 "there are not recognised")
        if options.to_file and origin != "configured":
            why = "its source queues" if sources else "the EventBridge targets its messages name"
            raise UsageError(f"--to-file writes the records of stream on-failure records, and {info.name}'s "
                             f"messages go to {why}", hint="leave out --to-file")
        per_message = target is None and len(sources) > 1
        if options.archive and not options.dry_run:
            _check_archive_path(options.archive)
        if options.to_file and not options.dry_run:
            _check_archive_path(options.to_file, "--to-file")
        needs = _needs_copy(options, per_message)
        if origin == "eventbridge":
            needs.append("routing each message to its EventBridge " + ("bus" if options.to_bus else "target"))
        if origin == "configured":
            needs.append("routing each message to the endpoint or function that dead-lettered it")
        if probe is not None and probe is not sqs:
            probe_calls += 1  # the counter sees only calls made through `sqs`
        supported, why, tasks = probe_move_tasks(probe if probe is not None else sqs, info.arn)
        running = [t for t in tasks if t.get("Status") in ("RUNNING", "CANCELLING")]
        if running:
            if not options.dry_run:
                raise AwsError(
                    f"a message move task is already running on {info.name}",
                    hint=f"watch it with `eda redrive status {info.name}`; "
                    f"stop it with `eda redrive cancel {info.name}`",
                )
            notes.append(f"a message move task is running on {info.name}: a real run would be refused")
        mode, reason = _choose_mode(options, info, bool(sources), needs, supported, why)
        if (mode == "native" and target is None and origin == "sqs" and not options.to_bus
                and (info.int_attr("ApproximateNumberOfMessages") or 0)
                and _names_eventbridge_targets(sqs, dlq.url, options.wait_seconds)):
            # a move task would send EventBridge's dead letters to the source queue too: never that
            mixed = "routing the events EventBridge wrote to it (RULE_ARN, TARGET_ARN) to their targets"
            if options.mode == "native":
                raise UsageError(f"--mode native cannot do {mixed}: an SQS move task moves every message to the "
                                 "source queue", hint="use --mode copy (or auto)")
            mode, reason = "copy", f"needed for {mixed}"
            notes.append(f"{info.name} also holds events EventBridge could not deliver: each goes to the target its "
                         "RULE_ARN and TARGET_ARN name, the other messages to their source queue")
        if mode == "native" and options.mode == "native" and info.fifo:
            notes.append(f"{info.name} is FIFO: {FIFO_MOVE_RISK}; eda checks the target's depth afterwards")
        if info.redrive_policy:
            notes.append(
                f"{info.name} has its own RedrivePolicy (maxReceiveCount {info.max_receive_count}): "
                "receiving raises receive counts, so SQS may move messages on to its DLQ"
            )
        if target is not None and target.fifo and not info.fifo:
            notes.append(f"{target.name} is FIFO and {info.name} is not: messages go to group {info.name!r}")
        if origin == "eventbridge":
            notes.append(
                f"{info.name} holds events EventBridge could not deliver: each goes back on its rule's bus "
                "(PutEvents), where every rule that matches it receives it again, not only the target that failed"
                if options.to_bus else
                f"{info.name} holds events EventBridge could not deliver: each goes to the target its RULE_ARN and "
                "TARGET_ARN name, directly (not back to the bus, which would deliver it again to every other rule)"
            )
        if origin == "configured" and configured:
            from eda_cli.core.redrive.configured import describe_sources

            kinds = {s.kind for s in configured}
            where = ("its subscription's endpoint" if kinds == {FOUND_BY_SNS} else "its function, invoked again"
                     if FOUND_BY_SNS not in kinds else "its subscription's endpoint or its function")
            topic = (", not back to the topic (which would deliver it again to every subscriber)"
                     if FOUND_BY_SNS in kinds else "")
            notes.append(f"{info.name} is the DLQ of {describe_sources(configured)}" + (
                "" if options.to_file else f": each message goes to {where}, directly{topic}"))
        if origin == "configured" and (options.to_file or FOUND_BY_MAPPING in {s.kind for s in configured}):
            where = (f"written to {options.to_file} (JSON Lines, one record a line)" if options.to_file else
                     "invoked again asynchronously in the function's stream event (Invoke, InvocationType=Event)")
            notes.append("a stream on-failure record names a shard and a sequence range, not the records: eda reads "
                         f"them back from the stream (GetShardIterator, GetRecords) and they are {where}; a message "
                         "whose range the stream has trimmed stays in the DLQ, with the ranges that are gone")
            subscriptions = sum(1 for s in configured if s.kind == FOUND_BY_SNS)
            if subscriptions > 1:
                notes.append(f"{subscriptions} subscriptions name {info.name}: each enveloped message goes to the one "
                             "its UnsubscribeURL names; a raw message names none and stays (pass --to QUEUE)")
        if per_message:
            notes.append(
                f"{info.name} has {len(sources)} sources: each message goes back to the one SQS names "
                "(DeadLetterQueueSourceArn)"
            )
    return RedrivePlan(
        dlq=info,
        sources=sources,
        to=target,
        mode=mode,
        mode_reason=reason,
        visible=info.int_attr("ApproximateNumberOfMessages") or 0,
        in_flight=info.int_attr("ApproximateNumberOfMessagesNotVisible") or 0,
        run_id=run_id or uuid.uuid4().hex,
        options=options,
        notes=tuple(notes),
        api_calls=prior_calls + counter.calls + probe_calls,
        origin=origin,
        configured=configured,
    )
