"""What a copy run knows of every message it has received, and what became of it.

The ledger decides, for each received message, whether it is new and what happens to it (moved,
skipped by the filter, failed, held back behind its FIFO group, or counted and sampled by a dry
run), and keeps the receipt handles of every message seen but not moved so the run can make them
visible again at its end. Every method takes the run's lock: the workers share one ledger.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eda_cli.core.archive import OutgoingMessage
from eda_cli.core.redrive.destinations import Destination, PayloadError, Refused
from eda_cli.core.redrive.model import RedrivePlan, RedriveProgress, filter_event
from eda_cli.core.redrive.routes import Router
from eda_cli.core.sqs import ms_to_iso, parse_body

if TYPE_CHECKING:
    from eda_cli.core.redact import Redactor

#: Ids of recently moved messages, so a redelivered one is deleted rather than sent twice.
RECENT_MOVED = 10_000
#: Rows a dry run shows of what would move.
SAMPLE_SIZE = 5


@dataclass
class Work:
    """A message on its way: received, reserved against --max, not yet sent. `payload` is what its
    destination receives (the message itself for an SQS queue; the target's input for an EventBridge target)."""

    message: OutgoingMessage
    handle: str
    target: Destination
    payload: OutgoingMessage


@dataclass
class Received:
    """A receive, sorted: messages to move, messages already moved (only to delete again), how many
    were new, and whether --max (or an interruption) means the run should stop receiving."""

    work: list[Work]
    redelete: list[tuple[str, str]]
    new: int
    full: bool


def sample_row(message: OutgoingMessage, target: Destination, redactor: Redactor | None = None) -> dict[str, Any]:
    """A dry run's sample row. The body shown is the message an SNS envelope carries (what a person
    wants to recognise), as `dlq peek` shows it, masked by `redactor` before it is cut short; the move
    itself sends the body untouched."""
    from eda_cli.core.dlq import body_preview
    from eda_cli.core.redact.results import sample_body
    from eda_cli.core.sqs import unwrap_envelope

    return {
        "message_id": message.message_id,
        "target": target.name,
        "group_id": message.group_id,
        "sent_at": ms_to_iso(message.attributes.get("SentTimestamp")),
        "body": body_preview(sample_body(unwrap_envelope(parse_body(message.body)), redactor), 80),
    }


class Ledger:
    def __init__(self, plan: RedrivePlan, lock: threading.RLock, router: Router) -> None:
        self.plan = plan
        self.options = plan.options
        self.dry_run = plan.options.dry_run
        self.lock = lock
        self.router = router
        self.held: dict[str, str] = {}  # message id -> latest receipt handle; released at the end
        self.in_progress: set[str] = set()
        self.unsettled: dict[str, str] = {}  # sent but not deleted: message id -> target name
        self.recent: OrderedDict[str, None] = OrderedDict()
        self.failures: dict[str, str] = {}
        self.blocked_groups: set[str] = set()
        self.moved = 0
        self.skipped = 0
        self.unroutable = 0
        self.reserved = 0
        self.would_move = 0
        self.moved_by_target: dict[str, int] = {}
        self.sample: list[dict[str, Any]] = []
        #: Per destination (by key): its row, with moved, failed and (dry runs) would_move.
        self.destinations: dict[str, dict[str, Any]] = {}
        self._targets: dict[str, Destination | Refused] = {}
        for destination in router.planned:
            self._row(destination)

    def quota_left(self) -> int | None:
        """How many more messages --max allows (counting those reserved in flight); None without --max."""
        limit = self.options.max_messages
        if limit is None:
            return None
        with self.lock:
            done = self.would_move if self.dry_run else self.moved + self.reserved
        return max(0, limit - done)

    def progress(self, elapsed: float) -> RedriveProgress:
        with self.lock:
            return RedriveProgress(
                moved=self.would_move if self.dry_run else self.moved,
                skipped=self.skipped,
                failed=len(self.failures),
                total=self.plan.total_estimate,
                elapsed=elapsed,
            )

    def _row(self, destination: Destination | Refused) -> dict[str, Any]:
        row = self.destinations.get(destination.key)
        if row is None:
            row = {**destination.row(), "moved": 0, "failed": 0, "would_move": 0 if self.dry_run else None}
            self.destinations[destination.key] = row
            self._targets[destination.key] = destination
        return row

    def _fail(self, message_id: str, handle: str, reason: str, destination: Destination | Refused) -> None:
        self.held[message_id] = handle
        self.failures[message_id] = reason
        self._row(destination)["failed"] += 1

    def rows(self) -> list[dict[str, Any]]:
        with self.lock:
            rows = []
            for key, row in self.destinations.items():
                target = self._targets[key]
                rows.append({**row, **(target.stats() if isinstance(target, Destination) else {})})
            return rows

    def classify(self, raws: Sequence[Mapping[str, Any]], stopping: bool) -> Received:
        """Decide, for each received message, whether it is new and what becomes of it."""
        received = Received([], [], 0, False)
        with self.lock:
            for raw in raws:
                message_id, handle = str(raw["MessageId"]), str(raw["ReceiptHandle"])
                if message_id in self.held:
                    self.held[message_id] = handle
                    continue
                if message_id in self.unsettled or message_id in self.recent:
                    received.redelete.append((message_id, handle))  # already sent: only delete it
                    continue
                if message_id in self.in_progress:
                    continue
                received.new += 1
                left = self.quota_left()
                if stopping or (left is not None and left <= 0):
                    self.held[message_id] = handle
                    received.full = True
                    continue
                work = self._admit(OutgoingMessage.from_received(raw), handle)
                if work is not None:
                    received.work.append(work)
        return received

    def _admit(self, message: OutgoingMessage, handle: str) -> Work | None:
        """A new message: held back (skipped, failed, or only counted by a dry run), or reserved to move."""
        message_id = message.message_id
        if self.options.matcher is not None and not self.options.matcher.matches(filter_event(message)):
            self.held[message_id] = handle
            self.skipped += 1
            return None
        target = self.router.route(message)
        if target is None:
            self.held[message_id] = handle
            self.unroutable += 1
            self.failures[message_id] = (
                "SQS does not say which source queue it came from (no DeadLetterQueueSourceArn)"
                if self.plan.origin == "sqs" else
                "it names no EventBridge rule and target (no RULE_ARN and TARGET_ARN) and no source queue"
            )
            return None
        if isinstance(target, Refused):
            self._fail(message_id, handle, target.reason, target)
            return None
        try:
            payload = target.payload(message)
        except PayloadError as exc:
            self._fail(message_id, handle, str(exc), target)
            return None
        if self.plan.dlq.fifo and message.group_id in self.blocked_groups:
            self._fail(message_id, handle, f"an earlier message of group {message.group_id} was not moved", target)
            return None
        if self.dry_run:
            self.held[message_id] = handle
            self.would_move += 1
            self._count(target)
            self._row(target)["would_move"] += 1
            if len(self.sample) < SAMPLE_SIZE:
                self.sample.append(sample_row(message, target, self.options.redactor))
            return None
        self.reserved += 1
        self.in_progress.add(message_id)
        return Work(message, handle, target, payload)

    def _count(self, target: Destination) -> None:
        self.moved_by_target[target.name] = self.moved_by_target.get(target.name, 0) + 1

    def _release(self, batch: list[Work], hold: bool) -> None:
        for item in batch:
            self.reserved -= 1
            self.in_progress.discard(item.message.message_id)
            if hold:
                self.held[item.message.message_id] = item.handle

    def unreserve(self, batch: list[Work]) -> None:
        """A batch the run will not send (it is stopping): back to the held messages, unharmed."""
        with self.lock:
            self._release(batch, hold=True)

    def not_sent(self, batch: list[Work], reason: str) -> None:
        """A batch whose send failed as a whole: every message stays in the DLQ, failed."""
        with self.lock:
            self._release(batch, hold=True)
            for item in batch:
                self.failures[item.message.message_id] = reason
                self._row(item.target)["failed"] += 1

    def settle(self, batch: list[Work], sent: list[str], failed: dict[str, str], not_deleted: list[str]) -> None:
        """A batch its destination answered (`sent`: the ids it accepted): the sent ones moved (unless not
        deleted), the failed ones held and listed;
        on a FIFO DLQ a failure blocks the rest of its group, to keep the group's order."""
        target = batch[0].target
        handles = {w.message.message_id: w.handle for w in batch}
        with self.lock:
            self._release(batch, hold=False)
            for message_id, reason in failed.items():
                self._fail(message_id, handles[message_id], reason, target)
            if failed and self.plan.dlq.fifo:
                self.blocked_groups |= {w.message.group_id for w in batch
                                        if w.message.message_id in failed and w.message.group_id}
            for message_id in sent:
                self.moved += 1
                self._count(target)
                self._row(target)["moved"] += 1
                self.recent[message_id] = None
                if len(self.recent) > RECENT_MOVED:
                    self.recent.popitem(last=False)
            for message_id in not_deleted:
                self.unsettled[message_id] = target.name

    def deleted(self, items: list[tuple[str, str]], not_deleted: list[str]) -> None:
        """DeleteMessageBatch removed these (all of `items` but `not_deleted`): they are settled."""
        with self.lock:
            for message_id in {message_id for message_id, _ in items} - set(not_deleted):
                self.unsettled.pop(message_id, None)

    def held_handles(self) -> list[tuple[str, str]]:
        with self.lock:
            return list(self.held.items())
