"""Copy mode: workers receive from the DLQ, archive, SendMessageBatch, and delete exactly what was sent.

Messages seen but not moved stay hidden by their receive's visibility timeout until the run ends (so
a receive does not hand them back again and again), then are made visible again at once.

The end: once the receives in flight and one more round of receives could take every message the plan counted,
receives stop waiting (WaitTimeSeconds=0: a long poll on an emptied queue would hold the run for its whole wait).
The first receive that then brings nothing new, with no batch in hand anywhere, asks SQS for the queue's depth: when
it holds nothing but the messages this run keeps hidden (ApproximateNumberOfMessages and ...NotVisible),
and nothing delayed, the run ends at once. Otherwise (more messages arrived, a count lags, a short poll
missed messages on real SQS) the run goes back to long polls and ends as it always did: when several
receives in a row bring nothing new and ApproximateNumberOfMessages says nothing unseen is left.

What each message became is the ledger's business (ledger.py); this module drives the calls and the workers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from eda_cli.aws.errors import describe, is_client_error
from eda_cli.core.archive import ArchiveWriter, to_line
from eda_cli.core.dlq import PEEK_VISIBILITY_SECONDS  # dry runs follow `eda dlq peek`'s visibility
from eda_cli.core.redrive.eventbridge import Clients
from eda_cli.core.redrive.ledger import Ledger, Work
from eda_cli.core.redrive.model import MAX_DEPTH_CHECKS, Clock, RedrivePlan, RedriveProgress, RedriveResult, Sleep
from eda_cli.core.redrive.routes import Router
from eda_cli.core.redrive.sqs_io import (
    DEPTH_ATTRIBUTES,
    MAX_BATCH_ENTRIES,
    ApiCounter,
    Caller,
    TokenBucket,
    delete_batch,
    queue_depth,
    split_by_size,
)
from eda_cli.core.sqs import change_visibility
from eda_cli.errors import UsageError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType


class GroupGate:
    """FIFO: never two batches of one message group in flight, whatever the queue hands out."""

    def __init__(self) -> None:
        self._busy: set[str] = set()
        self._cond = threading.Condition()

    def acquire(self, groups: set[str]) -> None:
        with self._cond:
            self._cond.wait_for(lambda: not (groups & self._busy))
            self._busy |= groups

    def release(self, groups: set[str]) -> None:
        with self._cond:
            self._busy -= groups
            self._cond.notify_all()


class CopyRun:
    def __init__(self, sqs: SQSClient, plan: RedrivePlan, sleep: Sleep, clock: Clock,
                 clients: Clients | None = None) -> None:
        self.sqs = sqs
        self.plan = plan
        self.options = plan.options
        self.sleep = sleep
        self.clock = clock
        self.call = Caller(sleep)
        self.lock = threading.RLock()
        #: Notified when a receive ends, a check ends, the streak resets or the run stops.
        self.changed = threading.Condition(self.lock)
        self.stop = threading.Event()
        self.dry_run = self.options.dry_run
        self.visibility = PEEK_VISIBILITY_SECONDS if self.dry_run else self.options.visibility_timeout
        self.system_attributes = plan.system_attributes
        self.bucket = TokenBucket(self.options.rate, clock, sleep) if self.options.rate else None
        self.gate = GroupGate()
        self.archive: ArchiveWriter | None = None
        if self.options.archive and not self.dry_run:
            try:
                self.archive = ArchiveWriter(self.options.archive, force=self.options.force_archive)
            except OSError as exc:
                raise UsageError(f"cannot write the archive {self.options.archive}: {exc.strerror or exc}") from exc
        self.router = Router(plan, sqs, clients, self.call, sleep)
        self.ledger = Ledger(plan, self.lock, self.router)
        # when to stop, under self.lock
        self.streak = 0
        self.depth_checks = 0
        self.checking = False
        self.receiving = 0
        #: Workers between the start of a receive and the end of what it brought (sends, deletes).
        self.busy = 0
        #: New messages received so far; messages the receives in flight may bring (asked for, not yet counted in
        #: `seen`); whether the quick end is still on (see the module's docstring).
        self.seen = 0
        self.claimed = 0
        self.quick_end = True
        self.notes: list[str] = list(plan.notes)
        self.error: BaseException | None = None
        self.interrupted = False

    def _halt(self) -> None:
        with self.lock:
            self.stop.set()
            self.changed.notify_all()

    def _fail_run(self, exc: BaseException) -> None:
        with self.lock:
            if self.error is None:
                self.error = exc
        self._halt()

    # -- the worker -----------------------------------------------------------------------------

    def worker(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # a bug or an unexpected error: stop, keep what is known
            self._fail_run(exc)

    def _loop(self) -> None:
        while not self.stop.is_set():
            left = self.ledger.quota_left()
            want = MAX_BATCH_ENTRIES if left is None else min(MAX_BATCH_ENTRIES, left)
            if self.bucket is not None:
                want = min(want, self.bucket.batch)
            if want <= 0:
                self._halt()
                break
            if self.bucket is not None and not self.bucket.acquire(want, self.stop):
                break
            with self.lock:
                wait = self._wait_seconds(want)
                self.receiving += 1
                self.busy += 1
                self.claimed += want
            try:
                new = self._receive(want, wait)
            finally:
                with self.lock:
                    self.busy -= 1
                    self.changed.notify_all()
            if new is None:
                break
            if not new:
                self._nothing_new()

    def _wait_seconds(self, want: int) -> int:
        """Under the lock: the receive's long-poll wait, 0 once a full round of receives (one per worker) could take
        every message the plan counted that is not seen or asked for yet (the queue is about drained: a long poll
        would only hold the end). A round, not this receive alone: receives reach SQS in no set order, so one that
        long-polls for the last few messages can find that later ones took them, and then waits its whole wait
        for nothing while the run cannot end (a 1 s tail in about a third of runs, measured, before)."""
        if self.quick_end and self.seen + self.claimed + want * self.options.concurrency >= self.plan.visible:
            return 0
        return self.options.wait_seconds

    def _receive(self, want: int, wait: int) -> int | None:
        """One receive and what it brought, sent and deleted: how many new messages (None: the run failed)."""
        try:
            response = self.call(
                self.sqs.receive_message,
                QueueUrl=self.plan.dlq.url,
                MaxNumberOfMessages=want,
                VisibilityTimeout=self.visibility,
                WaitTimeSeconds=wait,
                MessageSystemAttributeNames=self.system_attributes,
                MessageAttributeNames=["All"],
            )
        except Exception as exc:
            with self.lock:
                self.receiving -= 1
                self.claimed -= want
                self.changed.notify_all()
            self._fail_run(exc)
            return None
        raws = response.get("Messages", [])
        with self.lock:
            self.receiving -= 1
            self.claimed -= want - len(raws)  # what it brought stays claimed until `seen` counts it
            self.changed.notify_all()
        if self.bucket is not None:
            self.bucket.refund(want - len(raws))
        self.router.prepare(raws)
        with self.lock:
            received = self.ledger.classify(raws, stopping=self.interrupted)
            self.claimed -= len(raws)
            if received.full:
                self._halt()
            if received.new:
                self.seen += received.new
                self.streak = 0
                self.depth_checks = 0
                self.changed.notify_all()
        if received.redelete:
            self._delete(received.redelete)
        if received.work:
            self._process(received.work)
        return received.new

    def _nothing_new(self) -> None:
        """A receive brought nothing new: after several in a row, ask SQS whether unseen messages remain."""
        if self.quick_end and self._quick_end():
            return
        patience = self.options.wait_seconds + 2.0
        with self.lock:
            self.streak += 1
            streak = self.streak
            if streak < self.options.empty_receives:
                # Let the receives in flight end before starting another: the empty receives that end a
                # run then happen side by side, instead of in rounds of long polls one after the other.
                self.changed.wait_for(
                    lambda: self.receiving == 0 or self.stop.is_set() or self.streak < streak, timeout=patience
                )
                return
            if self.checking:
                self.changed.wait_for(lambda: not self.checking or self.stop.is_set(), timeout=patience)
                return
            self.checking = True
        depth = self._read_depth(["ApproximateNumberOfMessages"])
        if depth is None:
            return
        (visible,) = depth
        with self.lock:
            self.checking = False
            self.changed.notify_all()
            if visible <= len(self.ledger.held):
                self._halt()
                return
            self.streak = 0
            self.depth_checks += 1
            if self.depth_checks >= MAX_DEPTH_CHECKS:
                self.notes.append(
                    f"stopped although ApproximateNumberOfMessages still says {visible}: "
                    f"{self.options.empty_receives * MAX_DEPTH_CHECKS} receives in a row brought nothing new "
                    "(delayed messages, a FIFO group held back by a message not moved, or a stale count)"
                )
                self._halt()

    def _quick_end(self) -> bool:
        """The queue looked drained: once no worker has a batch in hand, one depth check decides whether the run
        ends now. False: it does not, and the run ends as it always did (long polls, empty streaks)."""
        with self.lock:
            if not self.changed.wait_for(lambda: self.busy == 0 or self.stop.is_set() or self.checking,
                                         timeout=self.options.wait_seconds + 2.0):
                return True  # others are still busy: receive again
            if self.stop.is_set():
                return True
            if self.checking:
                self.changed.wait_for(lambda: not self.checking or self.stop.is_set(), timeout=5.0)
                return True
            self.checking = True
            held = len(self.ledger.held)
        depth = self._read_depth(DEPTH_ATTRIBUTES)
        if depth is None:
            return True
        visible, hidden, delayed = depth
        with self.lock:
            self.checking = False
            self.changed.notify_all()
            if visible + hidden <= held and not delayed and self.busy == 0:
                self._halt()  # nothing but the messages this run keeps hidden: done
                return True
            self.quick_end = False
            self.streak = 0
        return False

    def _read_depth(self, names: Sequence[QueueAttributeNameType]) -> list[int] | None:
        """The end's one GetQueueAttributes (the caller has set `checking`): the counts `names` ask for, in their
        order; None when the call failed, which fails the run (and `checking` is cleared)."""
        try:
            attributes = self.call(
                self.sqs.get_queue_attributes, QueueUrl=self.plan.dlq.url, AttributeNames=list(names)
            ).get("Attributes", {})
        except Exception as exc:
            with self.lock:
                self.checking = False
                self.changed.notify_all()
            self._fail_run(exc)
            return None
        return [int(attributes.get(name, "0")) for name in names]

    def _process(self, work: list[Work]) -> None:
        groups = {w.message.group_id for w in work if w.message.group_id} if self.plan.dlq.fifo else set()
        self.gate.acquire(groups)
        try:
            by_target: dict[str, list[Work]] = {}
            for item in work:
                by_target.setdefault(item.target.key, []).append(item)
            for items in by_target.values():
                limits = items[0].target
                for batch in split_by_size(items, lambda w: w.target.size(w.payload), limits.max_entries,
                                           limits.max_bytes):
                    if self.error is not None:
                        self.ledger.unreserve(batch)
                        continue
                    self._move(batch)
        finally:
            self.gate.release(groups)

    def _move(self, batch: list[Work]) -> None:
        target = batch[0].target
        try:
            if self.archive is not None:
                self.archive.append(
                    [to_line(w.message, run_id=self.plan.run_id, source=self.plan.dlq.arn, target=target.arn)
                     for w in batch]
                )
            sent, failed = target.send(self.call, [w.payload for w in batch], self.plan.run_id, self.sleep)
        except Exception as exc:
            self.ledger.not_sent(batch, f"not sent: {describe(exc)}")
            if not (target.isolated_errors and is_client_error(exc)):
                self._fail_run(exc)
            return
        handles = {w.message.message_id: w.handle for w in batch}
        not_deleted = self._delete([(message_id, handles[message_id]) for message_id in sent]) if sent else []
        self.ledger.settle(batch, sent, failed, not_deleted)

    def _delete(self, items: list[tuple[str, str]]) -> list[str]:
        """DeleteMessageBatch; returns the ids SQS did not delete (they are in both queues)."""
        not_deleted = delete_batch(self.sqs, self.call, self.plan.dlq.url, items, self._fail_run)
        self.ledger.deleted(items, not_deleted)
        return not_deleted

    # -- the run --------------------------------------------------------------------------------

    def progress(self, started: float) -> RedriveProgress:
        return self.ledger.progress(self.clock() - started)

    def run(self, on_progress: Callable[[RedriveProgress], None] | None,
            cancel: threading.Event | None = None) -> RedriveResult:
        started = self.clock()
        counter = ApiCounter(self.sqs)
        interrupted = abandoned = False
        not_restored: list[str] = []
        with counter:
            finished = [threading.Event() for _ in range(self.options.concurrency)]

            def work(done: threading.Event) -> None:
                try:
                    self.worker()
                finally:
                    done.set()

            def stop_receiving() -> None:
                nonlocal interrupted
                interrupted = True
                with self.lock:
                    self.interrupted = True
                self._halt()

            def wait_for_workers() -> None:
                # Events, not Thread.join: on Python 3.10-3.12 a join that a KeyboardInterrupt cut short
                # can make the next join return at once, while the worker is still sending.
                for done in finished:
                    while not done.wait(0.1):
                        if on_progress is not None:
                            on_progress(self.progress(started))
                        if cancel is not None and cancel.is_set() and not interrupted:
                            stop_receiving()  # a deferred Ctrl-C: finish every batch in hand

            try:
                for i, done in enumerate(finished):
                    threading.Thread(target=work, args=(done,), name=f"eda-redrive-{i}", daemon=True).start()
                wait_for_workers()
            except KeyboardInterrupt:
                already = interrupted
                stop_receiving()
                try:
                    if already:
                        raise  # the second Ctrl-C: stop waiting at once
                    wait_for_workers()  # the first (no deferral in place): finish the batches in flight
                except KeyboardInterrupt:
                    abandoned = True
            finally:
                if self.archive is not None and not abandoned:
                    self.archive.close()
            if abandoned:
                with self.lock:
                    in_flight = sorted(self.ledger.in_progress)
                    hidden = len(self.ledger.held)
                self.notes.append(
                    f"interrupted twice: eda stopped waiting; {len(in_flight)} message(s) were being moved and may "
                    "be in the DLQ, in the target, or both (in_flight_message_ids)"
                    + (f"; {hidden} more stay hidden in the DLQ for up to {self.visibility}s" if hidden else "")
                )
                return self._result(started, counter, interrupted=True, not_restored=[], left=None,
                                    in_flight=in_flight)
            release = self.ledger.held_handles()
            if release:
                not_restored = change_visibility(self.sqs, self.plan.dlq.url, release, timeout=0)
            left = queue_depth(self.sqs, self.plan.dlq.url)
        if on_progress is not None:
            on_progress(self.progress(started))
        if not_restored:
            self.notes.append(
                f"{len(not_restored)} message(s) could not be made visible again; "
                f"they reappear within {self.visibility}s"
            )
        if self.call.retries:
            self.notes.append(f"{self.call.retries} call(s) were throttled or failed on AWS's side and retried")
        return self._result(started, counter, interrupted=interrupted, not_restored=not_restored, left=left)

    def _result(self, started: float, counter: ApiCounter, *, interrupted: bool, not_restored: list[str],
                left: int | None, in_flight: list[str] | None = None) -> RedriveResult:
        ledger = self.ledger
        self.router.close()
        rows = ledger.rows()
        planned = [t.name for t in self.plan.targets]
        targets = planned + sorted({str(r["name"]) for r in rows if r["api"] is not None} - set(planned))
        notes = self.notes + [n for n in self.router.notes if n not in self.notes]
        with self.lock:
            return RedriveResult.build(
                source=self.plan.dlq.name,
                targets=targets,
                mode=self.plan.mode,
                mode_reason=self.plan.mode_reason,
                run_id=self.plan.run_id,
                dry_run=self.dry_run,
                moved=ledger.moved,
                skipped=ledger.skipped,
                failures=ledger.failures,
                api_calls=self.plan.api_calls + counter.calls + self.router.calls,
                seconds=self.clock() - started,
                archive=self.options.archive if not self.dry_run else None,
                moved_by_target=ledger.moved_by_target,
                not_deleted_message_ids=ledger.unsettled,
                unroutable=ledger.unroutable,
                not_restored=len(not_restored),
                would_move=ledger.would_move if self.dry_run else None,
                sample=ledger.sample,
                interrupted=interrupted,
                exception=self.error,
                left_in_dlq=left,
                notes=notes,
                in_flight_message_ids=in_flight or (),
                destinations=rows,
            )
