"""What `seed_demo` returns: the queues it made and the state it left them in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DemoQueue:
    """One SQS queue of the demo, and how many messages it held when the seed finished."""

    name: str
    url: str
    arn: str
    #: "source", "dlq" (a RedrivePolicy points at it), "lambda-dlq" (a Lambda's on-failure DLQ, named by
    #: nothing the sandbox can show), "target-dlq" (an EventBridge rule target's DeadLetterConfig names it)
    #: or "subscription-dlq" (an SNS subscription's RedrivePolicy names it).
    role: str
    #: ApproximateNumberOfMessages after seeding.
    messages: int
    #: For a source queue: its DLQ's name.
    dlq: str | None = None
    max_receive_count: int | None = None
    #: For a DLQ: the correlation ids of the poison messages the demo puts there.
    correlation_ids: tuple[str, ...] = ()
    alarm: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "arn": self.arn,
            "role": self.role,
            "messages": self.messages,
            "dlq": self.dlq,
            "max_receive_count": self.max_receive_count,
            "correlation_ids": list(self.correlation_ids),
            "alarm": self.alarm,
        }


@dataclass(frozen=True)
class DemoPipeline:
    """What `seed_demo` created, and the state it left the queues in."""

    region: str
    queues: tuple[DemoQueue, ...]
    topic_arn: str
    subscription_arns: tuple[str, ...]
    bus_name: str
    bus_arn: str
    rule_names: tuple[str, ...]
    table_names: tuple[str, ...]
    stream_arn: str
    alarm_names: tuple[str, ...]
    #: Every poison message's correlation id, sorted.
    poison_correlation_ids: tuple[str, ...]
    #: False when the queues already held messages, so this seed sent no traffic.
    traffic_sent: bool
    #: Messages this seed published to SNS, put on the bus, or sent straight to SQS.
    messages_sent: int = 0
    #: Idempotency records this seed wrote (one per message a consumer processed).
    idempotency_records: int = 0
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def dlq_names(self) -> tuple[str, ...]:
        return tuple(q.name for q in self.queues if q.role != "source")

    @property
    def message_counts(self) -> dict[str, int]:
        """ApproximateNumberOfMessages per queue name, after seeding."""
        return {q.name: q.messages for q in self.queues}

    def queue(self, name: str) -> DemoQueue:
        for q in self.queues:
            if q.name == name:
                return q
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "queues": [q.to_dict() for q in self.queues],
            "topic_arn": self.topic_arn,
            "subscription_arns": list(self.subscription_arns),
            "bus_name": self.bus_name,
            "bus_arn": self.bus_arn,
            "rule_names": list(self.rule_names),
            "table_names": list(self.table_names),
            "stream_arn": self.stream_arn,
            "alarm_names": list(self.alarm_names),
            "poison_correlation_ids": list(self.poison_correlation_ids),
            "traffic_sent": self.traffic_sent,
            "messages_sent": self.messages_sent,
            "idempotency_records": self.idempotency_records,
            "seconds": round(self.seconds, 3),
            "notes": list(self.notes),
        }
