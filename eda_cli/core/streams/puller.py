"""The puller: a cancellable generator of raw records and notices over every shard of a stream.

It reads a parent shard to its end before any of its children, polls the open shards concurrently
(bounded), finds new shards by describing the stream again periodically and whenever a shard closes,
re-acquires expired iterators after the last record it saw, moves on past trimmed data, and backs
off when throttled. It takes ``sleep`` and ``clock``, so tests never wait.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eda_cli.aws.errors import error_code
from eda_cli.core.streams.model import (
    AFTER_SEQUENCE_NUMBER,
    BACK_OFF,
    BACKOFF_CAP,
    BACKOFF_FIRST,
    CHILD_RESCANS,
    DEFAULT_CONCURRENCY,
    DESCRIBE_INTERVAL,
    GET_RECORDS_LIMIT,
    LATEST,
    TIP_GAP,
    TRIM_HORIZON,
    Notice,
    RawRecord,
    Shard,
    StreamInfo,
)
from eda_cli.core.streams.shards import describe_stream, lineage_order

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient


@dataclass
class _ShardState:
    shard: Shard
    #: Where the next iterator starts: (ShardIteratorType, SequenceNumber or None).
    position: tuple[str, str | None]
    iterator: str | None = None
    last_sequence: str | None = None
    done: bool = False
    #: An open shard answered with no records: everything written so far has been read.
    caught_up: bool = False
    due: float = 0.0
    backoff: float = 0.0
    trims: int = 0


@dataclass
class _Fetch:
    records: list[Mapping[str, Any]] = field(default_factory=list)
    next_iterator: str | None = None
    error: BaseException | None = None
    stage: str = ""


class StreamPuller:
    """A cancellable generator of ``RawRecord`` and ``Notice``; iterate it once.

    ``start`` is LATEST (only what is written from now on: closed shards are skipped, open ones start
    at their tip) or TRIM_HORIZON (everything still in the stream, 24 hours). Shards found later
    are always read from TRIM_HORIZON: everything in them is new.

    With ``follow=False`` it stops once every shard has been read up to what it held (an open shard
    that answers with no records is caught up); with ``timeout`` it stops after that many seconds
    of ``clock``. ``cancel()`` (from any thread) or closing the generator stops it.
    """

    def __init__(
        self,
        client: DynamoDBStreamsClient,
        stream_arn: str,
        *,
        start: str = LATEST,
        follow: bool = True,
        poll_interval: float = 1.0,
        describe_interval: float = DESCRIBE_INTERVAL,
        concurrency: int = DEFAULT_CONCURRENCY,
        limit: int = GET_RECORDS_LIMIT,
        timeout: float | None = None,
        info: StreamInfo | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if start not in (LATEST, TRIM_HORIZON):
            raise ValueError(f"start must be {LATEST} or {TRIM_HORIZON}, not {start!r}")
        self.client = client
        self.stream_arn = stream_arn
        self.start = start
        self.follow = follow
        self.poll_interval = poll_interval
        self.describe_interval = describe_interval
        self.concurrency = max(1, concurrency)
        self.limit = limit
        self.timeout = timeout
        self.info = info
        self.sleep = sleep
        self.clock = clock
        self._states: dict[str, _ShardState] = {}
        self._order: list[str] = []
        self._cancelled = threading.Event()
        self._rescan = False
        self._child_rescans = 0
        self._next_describe = 0.0
        self._throttle_noted = False
        self._disabled_noted = False
        self._started = False
        #: Counters, for the consumer's summary and for tests.
        self.records_read = 0
        self.calls: dict[str, int] = {"describe_stream": 0, "get_shard_iterator": 0, "get_records": 0}
        self._calls_lock = threading.Lock()

    def cancel(self) -> None:
        self._cancelled.set()

    def _count(self, call: str) -> None:
        with self._calls_lock:
            self.calls[call] += 1

    @property
    def shards(self) -> list[Shard]:
        return [self._states[s].shard for s in self._order]

    def __iter__(self) -> Iterator[RawRecord | Notice]:
        if self._started:
            raise RuntimeError("a StreamPuller can be iterated only once")
        self._started = True
        return self._run()

    # -- the loop ----------------------------------------------------------------------------------

    def _run(self) -> Iterator[RawRecord | Notice]:
        now = self.clock()
        deadline = None if self.timeout is None else now + self.timeout
        info = self.info if self.info is not None else self._describe()
        yield from self._merge(info, now, initial=True)
        self._next_describe = now + self.describe_interval
        pool: ThreadPoolExecutor | None = None
        try:
            while not self._cancelled.is_set():
                now = self.clock()
                if deadline is not None and now >= deadline:
                    return
                if self._rescan or now >= self._next_describe:
                    yield from self._rediscover(now)
                    continue
                eligible = [st for st in self._ordered() if self._eligible(st)]
                ready = [st for st in eligible if st.due <= now]
                if not ready:
                    if not eligible and self._finished():
                        return
                    wake = min([st.due for st in eligible] + [self._next_describe])
                    if deadline is not None:
                        wake = min(wake, deadline)
                    self.sleep(max(0.0, wake - now))
                    continue
                if len(ready) == 1 or self.concurrency == 1:
                    fetched = [self._fetch(st) for st in ready]
                else:
                    if pool is None:
                        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="eda-stream")
                    fetched = list(pool.map(self._fetch, ready))
                now = self.clock()
                for st, result in zip(ready, fetched, strict=True):
                    yield from self._apply(st, result, now)
                    if self._cancelled.is_set():
                        return
        finally:
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)

    def _ordered(self) -> Iterator[_ShardState]:
        return (self._states[s] for s in self._order)

    def _eligible(self, st: _ShardState) -> bool:
        if st.done or (st.caught_up and not self.follow):
            return False
        parent = self._states.get(st.shard.parent_id or "")
        # A parent no longer described (trimmed past 24 hours) has nothing left to read first.
        return parent is None or parent.done

    def _finished(self) -> bool:
        """Nothing left to wait for: no-follow has read everything; a disabled stream has ended."""
        if not self.follow:
            return True
        stream_over = self.info is not None and self.info.status in ("DISABLED", "DISABLING")
        return stream_over and all(st.done for st in self._ordered())

    # -- shards ------------------------------------------------------------------------------------

    def _describe(self) -> StreamInfo:
        self._count("describe_stream")
        info = describe_stream(self.client, self.stream_arn, sleep=self.sleep)
        self.info = info
        return info

    def _rediscover(self, now: float) -> Iterator[Notice]:
        self._rescan = False
        before = len(self._states)
        yield from self._merge(self._describe(), now, initial=False)
        found = len(self._states) > before
        if found:
            self._child_rescans = 0
        if not found and self._child_rescans > 0:
            # A shard closed and its children are not listed yet: look again soon.
            self._child_rescans -= 1
            self._next_describe = now + max(self.poll_interval, 0.5)
        else:
            self._next_describe = now + self.describe_interval

    def _merge(self, info: StreamInfo, now: float, *, initial: bool) -> Iterator[Notice]:
        if info.status in ("DISABLED", "DISABLING") and not self._disabled_noted:
            self._disabled_noted = True
            yield Notice(f"the stream is {info.status}: no new records will be written to it", "warning")
        for shard in info.shards:
            st = self._states.get(shard.shard_id)
            if st is not None:
                if shard.closed and not st.shard.closed:
                    st.shard = shard
                    st.caught_up = False  # read it to its end now that it has one
                continue
            if initial and self.start == LATEST:
                st = _ShardState(shard, (LATEST, None), done=shard.closed, due=now)
            else:
                st = _ShardState(shard, (TRIM_HORIZON, None), due=now)
            self._states[shard.shard_id] = st
            self._order.append(shard.shard_id)
            if not initial:
                parent = f" (child of {shard.parent_id})" if shard.parent_id else ""
                yield Notice(f"new shard {shard.shard_id}{parent}", "info", shard.shard_id)
        if not initial:
            # Keep parents before children when a child arrives before its parent's page.
            ordered = lineage_order([self._states[s].shard for s in self._order])
            self._order = [s.shard_id for s in ordered]

    # -- one shard ---------------------------------------------------------------------------------

    def _fetch(self, st: _ShardState) -> _Fetch:
        """One GetRecords on a shard (acquiring its iterator first if needed). Runs on a worker thread."""
        stage = "get_shard_iterator"
        try:
            iterator = st.iterator
            if iterator is None:
                kind, sequence = st.position
                kwargs: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": st.shard.shard_id,
                                          "ShardIteratorType": kind}
                if sequence is not None:
                    kwargs["SequenceNumber"] = sequence
                self._count("get_shard_iterator")
                iterator = self.client.get_shard_iterator(**kwargs).get("ShardIterator")
                if not iterator:  # a closed shard with nothing after that position
                    return _Fetch()
                st.iterator = iterator
            stage = "get_records"
            self._count("get_records")
            answer = self.client.get_records(ShardIterator=iterator, Limit=self.limit)
            return _Fetch(list(answer.get("Records") or []), answer.get("NextShardIterator") or None)
        except Exception as exc:
            return _Fetch(error=exc, stage=stage)

    def _apply(self, st: _ShardState, result: _Fetch, now: float) -> Iterator[RawRecord | Notice]:
        if result.error is not None:
            yield from self._fault(st, result, now)
            return
        st.backoff = 0.0
        st.trims = 0
        last = _sequence_key(st.last_sequence)
        for record in result.records:
            sequence = record["dynamodb"]["SequenceNumber"]
            number = _sequence_key(sequence)
            if number is not None and last is not None and number <= last:
                continue  # already yielded (an iterator re-acquired at an earlier position)
            last = number
            st.last_sequence = sequence
            self.records_read += 1
            yield RawRecord(st.shard.shard_id, record)
        if result.next_iterator is None:
            # The shard is closed and read to its end: its children may start, and we look for them.
            st.done = True
            st.iterator = None
            self._rescan = True
            self._child_rescans = CHILD_RESCANS
            return
        st.iterator = result.next_iterator
        if len(result.records) >= self.limit or st.shard.closed:
            st.due = now  # a backlog, or a closed shard (which can answer empty before its end)
        elif result.records:
            # At the tip of a busy shard: poll again soon, but within GetRecords' 5 calls/s per shard.
            st.due = now + min(self.poll_interval, TIP_GAP)
        else:
            st.caught_up = True
            st.due = now + self.poll_interval

    def _fault(self, st: _ShardState, result: _Fetch, now: float) -> Iterator[Notice]:
        exc = result.error
        assert exc is not None
        code = error_code(exc)
        sid = st.shard.shard_id
        if code == "ExpiredIteratorException":
            st.iterator = None
            if st.last_sequence is not None:
                st.position = (AFTER_SEQUENCE_NUMBER, st.last_sequence)
            st.due = now
            yield Notice(f"shard {sid}: the iterator expired; continuing after the last record read", "info", sid)
        elif code == "TrimmedDataAccessException":
            st.iterator = None
            st.trims += 1
            st.due = now
            if st.trims > 3:
                st.done = True
                yield Notice(f"shard {sid}: its records are past the 24-hour retention; skipping the shard",
                             "warning", sid)
                return
            after = f"after sequence {st.last_sequence} " if st.last_sequence else ""
            st.position = (TRIM_HORIZON, None)
            yield Notice(
                f"shard {sid}: records {after}were trimmed (older than 24 hours) before they could be "
                "read; continuing from the oldest record still in the shard",
                "warning",
                sid,
            )
        elif code in BACK_OFF:
            st.backoff = min(max(st.backoff * 2, BACKOFF_FIRST), BACKOFF_CAP)
            st.due = now + st.backoff
            if not self._throttle_noted:
                self._throttle_noted = True
                yield Notice(f"DynamoDB Streams is throttling reads ({code}); backing off", "warning", sid)
        elif code == "ResourceNotFoundException":
            st.done = True
            st.iterator = None
            self._rescan = True
            yield Notice(f"shard {sid} no longer exists (past the 24-hour retention); skipping it", "warning", sid)
        else:
            raise exc


def _sequence_key(sequence: str | None) -> int | None:
    """Sequence numbers are decimal strings of up to 40 digits; compare them as numbers."""
    return int(sequence) if sequence is not None and sequence.isdigit() else None
