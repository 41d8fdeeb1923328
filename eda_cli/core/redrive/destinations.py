"""Where copy mode sends a batch: one small class per kind of destination, all with the same `send`.

A destination takes the messages a worker received (already archived) and answers which of them it
accepted and why the others were not: `(accepted ids, {message id: why not})`. Copy mode then deletes
from the DLQ exactly the accepted ones. Every destination reads the per-entry answer of its API
(SendMessageBatch's and PublishBatch's Failed lists, PutEvents' FailedEntryCount and Entries[i].ErrorCode,
Invoke's StatusCode and FunctionError, StartExecution's error), retries entries that failed on AWS's
side, and lets throttling and 5xx be retried by the run's `Caller`, as the SQS send always did.

`payload` turns the DLQ message into what the destination receives: the message itself for an SQS
source queue (byte for byte, as before), the target's input for an EventBridge target (eventbridge.py).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from eda_cli.aws.errors import describe
from eda_cli.core.archive import OutgoingMessage
from eda_cli.core.redrive.model import Sleep
from eda_cli.core.redrive.sqs_io import ENTRY_ATTEMPTS, MAX_BATCH_BYTES, MAX_BATCH_ENTRIES, Caller, dedup_id, send_batch
from eda_cli.core.sqs import QueueInfo

#: PublishBatch and PutEvents: at most 10 entries and 256 KiB in one call.
SMALL_BATCH_BYTES = 262_144
#: PutEvents entry error codes worth another try (the others are the entry's own fault).
RETRYABLE_ENTRY_CODES = frozenset({"ThrottlingException", "InternalFailure", "InternalException"})

Sent = tuple[list[str], dict[str, str]]


class PayloadError(ValueError):
    """The DLQ message cannot be turned into what the destination takes (the message stays in the DLQ)."""


@dataclass
class Destination:
    """Where a message goes and how: `kind` (sqs, sns, lambda, stepfunctions, eventbus), its `arn`, the
    `name` eda shows (an SQS queue's own name; `kind:name` for the others), the `api` that delivers, and
    the `route` that chose it (source queue, --to, eventbridge target, --to-bus)."""

    kind: str
    name: str
    arn: str
    api: str
    route: str
    max_entries: int = MAX_BATCH_ENTRIES
    max_bytes: int = MAX_BATCH_BYTES
    #: Turns the DLQ message into what is delivered; raises PayloadError when it cannot.
    transform: Callable[[OutgoingMessage], OutgoingMessage] | None = field(default=None, repr=False)
    #: Whether an AWS error answering a whole batch (a deleted topic, a denied Invoke) fails that batch's messages
    #: only, and the run goes on: so for EventBridge targets, where one broken target must not stop the others.
    #: SQS queues (sources, --to) stop the run, as they always have.
    isolated_errors: bool = False

    @property
    def key(self) -> str:
        return f"{self.route}|{self.arn}"

    def payload(self, message: OutgoingMessage) -> OutgoingMessage:
        return self.transform(message) if self.transform is not None else message

    def size(self, payload: OutgoingMessage) -> int:
        return payload.size

    def send(self, call: Caller, batch: list[OutgoingMessage], run_id: str, sleep: Sleep) -> Sent:
        raise NotImplementedError

    def row(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "arn": self.arn, "api": self.api, "route": self.route}

    def stats(self) -> dict[str, Any]:
        """What the destination counts itself, beside the ledger's moved and failed (e.g. stream records)."""
        return {}


@dataclass
class Refused:
    """Where a message was going, and why eda does not send it there (it stays in the DLQ, listed)."""

    kind: str
    name: str
    arn: str
    reason: str
    route: str = "eventbridge target"

    @property
    def key(self) -> str:
        return f"{self.route}|{self.arn}"

    def row(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "arn": self.arn, "api": None, "route": self.route}


@dataclass
class SqsDestination(Destination):
    """SendMessageBatch to a queue, reading its Failed list (sqs_io.send_batch, unchanged)."""

    queue: QueueInfo | None = None
    sqs: Any = field(default=None, repr=False)
    default_group: str = ""

    def send(self, call: Caller, batch: list[OutgoingMessage], run_id: str, sleep: Sleep) -> Sent:
        assert self.queue is not None
        sent, failed = send_batch(self.sqs, call, self.queue, batch, run_id, self.default_group, sleep)
        return [m.message_id for m in sent], failed


def sqs_destination(queue: QueueInfo, sqs: Any, route: str, default_group: str,
                    transform: Callable[[OutgoingMessage], OutgoingMessage] | None = None) -> SqsDestination:
    return SqsDestination(kind="sqs", name=queue.name, arn=queue.arn, api="SendMessageBatch", route=route,
                          transform=transform, queue=queue, sqs=sqs, default_group=default_group)


def _entry_reason(code: str | None, message: str | None) -> str:
    return f"{code or 'Failed'}: {message or ''}".rstrip(": ")


@dataclass
class SnsDestination(Destination):
    """PublishBatch to a topic (what EventBridge does is one Publish per event, with the event as Message)."""

    sns: Any = field(default=None, repr=False)
    default_group: str = ""

    def send(self, call: Caller, batch: list[OutgoingMessage], run_id: str, sleep: Sleep) -> Sent:
        fifo = self.arn.endswith(".fifo")
        pending = {str(i): m for i, m in enumerate(batch)}
        accepted: list[str] = []
        failed: dict[str, str] = {}
        for attempt in range(ENTRY_ATTEMPTS):
            entries: list[dict[str, Any]] = []
            for entry_id, m in pending.items():
                entry: dict[str, Any] = {"Id": entry_id, "Message": m.body}
                if fifo:
                    entry["MessageGroupId"] = m.group_id or self.default_group
                    entry["MessageDeduplicationId"] = dedup_id(run_id, m.message_id)
                entries.append(entry)
            response = call(self.sns.publish_batch, TopicArn=self.arn, PublishBatchRequestEntries=entries)
            answered: set[str] = set()
            for ok in response.get("Successful", []):
                answered.add(str(ok["Id"]))
                accepted.append(pending[str(ok["Id"])].message_id)
            retry: dict[str, OutgoingMessage] = {}
            for bad in response.get("Failed", []):
                entry_id = str(bad["Id"])
                answered.add(entry_id)
                if not bad.get("SenderFault") and attempt + 1 < ENTRY_ATTEMPTS:
                    retry[entry_id] = pending[entry_id]
                else:
                    failed[pending[entry_id].message_id] = _entry_reason(bad.get("Code"), bad.get("Message"))
            for entry_id, m in pending.items():
                if entry_id not in answered:
                    failed[m.message_id] = "PublishBatch did not answer for this entry"
            pending = retry
            if not pending:
                break
            sleep(call.backoff(attempt))
        return accepted, failed


def event_entry(body: str, bus: str) -> dict[str, Any]:
    """A PutEvents entry for an event as EventBridge delivers it (version, id, detail-type, source, ...).
    The event gets a new id and the bus stamps its own account and region: PutEvents cannot set them."""
    try:
        event = json.loads(body)
    except ValueError as exc:
        raise PayloadError("the body is not JSON, so not an EventBridge event to put") from exc
    if not isinstance(event, dict) or "source" not in event or "detail-type" not in event:
        raise PayloadError("the body is not an EventBridge event (no source and detail-type) to put")
    entry: dict[str, Any] = {
        "Source": str(event["source"]),
        "DetailType": str(event["detail-type"]),
        "Detail": json.dumps(event.get("detail", {}), separators=(",", ":")),
        "EventBusName": bus,
    }
    if isinstance(event.get("resources"), list) and event["resources"]:
        entry["Resources"] = [str(r) for r in event["resources"]]
    if isinstance(event.get("time"), str):
        with contextlib.suppress(ValueError):
            entry["Time"] = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
    return entry


@dataclass
class OrderedBatch(Destination):
    """APIs that answer each entry in its place (PutEvents, Kinesis PutRecords, Firehose PutRecordBatch):
    an entry with an ErrorCode failed, and is tried again when the code says AWS's side failed."""

    client: Any = field(default=None, repr=False)
    #: Error codes of an entry worth another try.
    retryable: frozenset[str] = RETRYABLE_ENTRY_CODES

    def entry(self, message: OutgoingMessage) -> dict[str, Any]:
        raise NotImplementedError

    def put(self, call: Caller, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def accepted(self, answer: dict[str, Any]) -> bool:
        raise NotImplementedError

    def send(self, call: Caller, batch: list[OutgoingMessage], run_id: str, sleep: Sleep) -> Sent:
        accepted: list[str] = []
        failed: dict[str, str] = {}
        pending: list[tuple[OutgoingMessage, dict[str, Any]]] = []
        for m in batch:
            try:
                pending.append((m, self.entry(m)))
            except PayloadError as exc:
                failed[m.message_id] = str(exc)
        for attempt in range(ENTRY_ATTEMPTS):
            if not pending:
                break
            answers = self.put(call, [entry for _, entry in pending])
            retry: list[tuple[OutgoingMessage, dict[str, Any]]] = []
            for i, (m, entry) in enumerate(pending):
                answer = answers[i] if i < len(answers) else None
                if answer is None:
                    failed[m.message_id] = f"{self.api} did not answer for this entry"
                elif answer.get("ErrorCode"):
                    code = str(answer["ErrorCode"])
                    if code in self.retryable and attempt + 1 < ENTRY_ATTEMPTS:
                        retry.append((m, entry))
                    else:
                        failed[m.message_id] = _entry_reason(code, answer.get("ErrorMessage"))
                elif self.accepted(answer):
                    accepted.append(m.message_id)
                else:
                    failed[m.message_id] = f"{self.api} answered this entry with neither a result nor an ErrorCode"
            pending = retry
            if pending:
                sleep(call.backoff(attempt))
        return accepted, failed


@dataclass
class BusDestination(OrderedBatch):
    """PutEvents on a bus, reading FailedEntryCount and each Entries[i].ErrorCode."""

    def entry(self, message: OutgoingMessage) -> dict[str, Any]:
        return event_entry(message.body, self.arn)

    def put(self, call: Caller, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return list(call(self.client.put_events, Entries=entries).get("Entries", []))

    def accepted(self, answer: dict[str, Any]) -> bool:
        return bool(answer.get("EventId"))


#: Where a Kinesis target's payload keeps the partition key it was given (see eventbridge.py).
PARTITION_KEY = "eda.PartitionKey"


@dataclass
class KinesisDestination(OrderedBatch):
    """PutRecords to a stream (FailedRecordCount, Records[i].ErrorCode), each record with the partition key
    EventBridge would have used."""

    retryable: frozenset[str] = frozenset({"ProvisionedThroughputExceededException", "InternalFailure"})

    def entry(self, message: OutgoingMessage) -> dict[str, Any]:
        return {"Data": message.body.encode("utf-8"), "PartitionKey": message.attributes[PARTITION_KEY]}

    def put(self, call: Caller, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return list(call(self.client.put_records, StreamARN=self.arn, Records=entries).get("Records", []))

    def accepted(self, answer: dict[str, Any]) -> bool:
        return bool(answer.get("SequenceNumber"))


@dataclass
class FirehoseDestination(OrderedBatch):
    """PutRecordBatch to a delivery stream (FailedPutCount, RequestResponses[i].ErrorCode)."""

    retryable: frozenset[str] = frozenset({"ServiceUnavailableException", "InternalFailure"})

    def entry(self, message: OutgoingMessage) -> dict[str, Any]:
        return {"Data": message.body.encode("utf-8")}

    def put(self, call: Caller, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        name = self.arn.rsplit("/", 1)[-1]
        answer = call(self.client.put_record_batch, DeliveryStreamName=name, Records=entries)
        return list(answer.get("RequestResponses", []))

    def accepted(self, answer: dict[str, Any]) -> bool:
        return bool(answer.get("RecordId"))


@dataclass
class OneByOne(Destination):
    """APIs that take one message per call (Lambda Invoke, Step Functions StartExecution): an error
    answers for its message alone; the others of the batch go on."""

    client: Any = field(default=None, repr=False)

    def send(self, call: Caller, batch: list[OutgoingMessage], run_id: str, sleep: Sleep) -> Sent:
        accepted: list[str] = []
        failed: dict[str, str] = {}
        for m in batch:
            try:
                why_not = self.deliver(call, m, run_id)
            except Exception as exc:  # the answer for this message: it stays in the DLQ, with the reason
                why_not = describe(exc)
            if why_not is None:
                accepted.append(m.message_id)
            else:
                failed[m.message_id] = why_not
        return accepted, failed

    def deliver(self, call: Caller, message: OutgoingMessage, run_id: str) -> str | None:
        raise NotImplementedError


@dataclass
class LambdaDestination(OneByOne):
    """Invoke with InvocationType=Event, as EventBridge invokes a function: accepted when Lambda answers
    202 without a FunctionError (an asynchronous invoke queues the event; the function runs later)."""

    def deliver(self, call: Caller, message: OutgoingMessage, run_id: str) -> str | None:
        response = call(self.client.invoke, FunctionName=self.arn, InvocationType="Event",
                        Payload=message.body.encode("utf-8"))
        status = response.get("StatusCode")
        if response.get("FunctionError"):
            return f"FunctionError: {response['FunctionError']}"
        if status != 202:
            return f"Invoke answered StatusCode {status}, not 202 (queued)"
        return None


def execution_name(run_id: str, message_id: str) -> str:
    """A StartExecution name for this run and message (at most 80 characters): a retried start within a run
    names the same execution, which Step Functions does not start twice."""
    return "eda-redrive-" + dedup_id(run_id, message_id)[:64]


@dataclass
class StatesDestination(OneByOne):
    """StartExecution of a state machine with the event as input, one execution per message."""

    def deliver(self, call: Caller, message: OutgoingMessage, run_id: str) -> str | None:
        response = call(self.client.start_execution, stateMachineArn=self.arn,
                        name=execution_name(run_id, message.message_id), input=message.body)
        return None if response.get("executionArn") else "StartExecution answered without an executionArn"
