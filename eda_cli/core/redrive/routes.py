"""Where each message of a DLQ goes: the one routing decision of copy mode.

In this order: `--to`; the source queue SQS names (DeadLetterQueueSourceArn); the EventBridge target
(or, with --to-bus, the bus) that the message's RULE_ARN and TARGET_ARN attributes name; for a DLQ that
configuration names (an SNS subscription, a Lambda function, an event source mapping), the endpoint or function
it belongs to, or with --to-file the file for a stream on-failure record's records (configured.py); the DLQ's only
source. A message none of these places is unroutable and stays in the DLQ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from eda_cli.core.archive import ArchiveWriter, OutgoingMessage
from eda_cli.core.redrive.destinations import Destination, Refused, sqs_destination
from eda_cli.core.redrive.eventbridge import Clients, EventBridgeRoutes, eventbridge_origin
from eda_cli.core.redrive.model import RedrivePlan, Sleep
from eda_cli.core.redrive.sqs_io import Caller
from eda_cli.errors import UsageError

if TYPE_CHECKING:
    from eda_cli.core.redrive.configured import ConfiguredRoutes


class Router:
    def __init__(self, plan: RedrivePlan, sqs: Any, clients: Clients | None, call: Caller,
                 sleep: Sleep | None = None) -> None:
        dlq = plan.dlq.name
        self.sources = {s.arn: sqs_destination(s, sqs, "source queue", dlq) for s in plan.sources}
        self.to = sqs_destination(plan.to, sqs, "--to", dlq) if plan.to is not None else None
        only = next(iter(self.sources.values())) if len(self.sources) == 1 else None
        self.single: Destination | None = self.to or only
        self.eventbridge = EventBridgeRoutes(sqs, clients, call, dlq, plan.options.to_bus, plan.dlq.arn)
        client = self.eventbridge.client if clients is not None else None  # the same counted clients
        to_file = plan.options.to_file
        self.writer: ArchiveWriter | None = None
        if to_file and not plan.options.dry_run:
            try:
                self.writer = ArchiveWriter(to_file)
            except OSError as exc:
                raise UsageError(f"cannot write --to-file {to_file}: {exc.strerror or exc}") from exc
        self.configured: ConfiguredRoutes | None = None
        if plan.configured or to_file:
            from eda_cli.core.redrive.configured import ConfiguredRoutes  # stream reading and Lambda: only for these

            self.configured = ConfiguredRoutes(plan.configured, sqs, client, call, dlq, plan.dlq.arn, to_file=to_file,
                                               writer=self.writer, sleep=sleep)

    @property
    def planned(self) -> list[Destination]:
        """The SQS destinations the plan names (--to, or the sources)."""
        return [self.to] if self.to is not None else list(self.sources.values())

    @property
    def calls(self) -> int:
        """Calls made to other services than SQS (ListTargetsByRule, Publish, Invoke, ...)."""
        return self.eventbridge.calls

    @property
    def notes(self) -> list[str]:
        notes = list(self.eventbridge.notes)
        if self.configured is not None:
            notes.extend(self.configured.notes)
        return list(dict.fromkeys(notes))

    def close(self) -> None:
        self.eventbridge.close()
        if self.writer is not None:
            self.writer.close()

    def prepare(self, raws: Sequence[Mapping[str, Any]]) -> None:
        """Read the configuration of every EventBridge target (or configured endpoint) these messages name and
        eda does not know yet, before the ledger takes its lock (route then only looks it up)."""
        if self.to is not None:
            return
        for raw in raws:
            if (raw.get("Attributes") or {}).get("DeadLetterQueueSourceArn") in self.sources:
                continue
            origin = eventbridge_origin(raw.get("MessageAttributes") or {})
            if origin is not None:
                self.eventbridge.resolve(*origin)
            elif self.configured is not None:
                self.configured.route(OutgoingMessage.from_received(raw))

    def route(self, message: OutgoingMessage) -> Destination | Refused | None:
        if self.to is not None:
            return self.to
        source = self.sources.get(message.attributes.get("DeadLetterQueueSourceArn", ""))
        if source is not None:
            return source
        origin = eventbridge_origin(message.message_attributes)
        if origin is not None:
            return self.eventbridge.resolve(*origin)
        if self.configured is not None:
            return self.configured.route(message)
        return self.single
