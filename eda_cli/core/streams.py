"""Read a DynamoDB stream the way AWS says to: every shard, parents before children, nothing twice.

Two layers:

* ``StreamPuller`` is the puller: a cancellable generator of raw records (``RawRecord``) and of
  things the user should know (``Notice``). It describes the stream with its pagination, builds the
  lineage from ``ParentShardId``, reads a parent shard to its end before any of its children, polls the
  open shards concurrently (bounded), finds new shards by describing the stream again periodically and
  whenever a shard closes, re-acquires expired iterators after the last record it saw, moves on past
  trimmed data, and backs off when throttled. It takes ``sleep`` and ``clock``, so tests never wait.
* ``StreamTail`` puts the puller, the record conversion (``records.py``) and the user's filters
  together and yields ``Change`` objects for a consumer to render.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Final

from eda_cli.aws.errors import THROTTLED, error_code, is_client_error
from eda_cli.aws.resolve import resolve_table
from eda_cli.core.records import EVENTS, Change, changed_fields, lambda_view, record_epoch, to_change
from eda_cli.errors import AwsError, ResourceNotFound, UsageError

LATEST: Final = "LATEST"
TRIM_HORIZON: Final = "TRIM_HORIZON"
AFTER_SEQUENCE_NUMBER: Final = "AFTER_SEQUENCE_NUMBER"

#: GetRecords returns at most this many records per call (the API's maximum).
GET_RECORDS_LIMIT: Final = 1000
#: Open shards polled at once. A busy table has a few dozen open shards at most.
DEFAULT_CONCURRENCY: Final = 8
#: How often the stream is described again to find new shards (besides whenever a shard closes).
DESCRIBE_INTERVAL: Final = 10.0
#: Backoff after throttling: doubles from the first value up to the cap, per shard.
BACKOFF_FIRST: Final = 0.5
BACKOFF_CAP: Final = 10.0
#: Attempts at DescribeStream while it is throttled, before giving up.
DESCRIBE_ATTEMPTS: Final = 8
#: The least time between two GetRecords on a shard that is at its tip but busy (5 calls/s).
TIP_GAP: Final = 0.2
#: After a shard closes with no child in sight, describe again this many times, a poll interval apart.
CHILD_RESCANS: Final = 5

#: Errors that mean "slow down and try again", for DynamoDB Streams.
_BACK_OFF: Final = THROTTLED | {"LimitExceededException", "InternalServerError", "InternalFailure",
                                "ServiceUnavailable"}


# -- the stream and its shards --------------------------------------------------------------------


@dataclass(frozen=True)
class Shard:
    shard_id: str
    parent_id: str | None = None
    starting_sequence: str | None = None
    #: Set once the shard is closed (it will receive no more records).
    ending_sequence: str | None = None

    @property
    def closed(self) -> bool:
        return self.ending_sequence is not None

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Shard:
        numbers = raw.get("SequenceNumberRange") or {}
        return cls(
            shard_id=raw["ShardId"],
            parent_id=raw.get("ParentShardId") or None,
            starting_sequence=numbers.get("StartingSequenceNumber"),
            ending_sequence=numbers.get("EndingSequenceNumber"),
        )


@dataclass(frozen=True)
class StreamInfo:
    arn: str
    table: str
    view_type: str
    status: str
    key_names: tuple[str, ...]
    shards: tuple[Shard, ...]

    @property
    def open_shards(self) -> int:
        return sum(1 for s in self.shards if not s.closed)


def stream_arn_for(dynamodb: Any, target: str, where: str = "") -> str:
    """A table name, table ARN or stream ARN -> the stream ARN to read (a table's current stream)."""
    target = target.strip()
    if target.startswith("arn:") and "/stream/" in target:
        return resolve_table(dynamodb, target).stream_arn or target  # checks the ARN's shape only
    table = resolve_table(dynamodb, target, where)
    if table.stream_arn is None:
        at = f" ({where})" if where else ""
        raise ResourceNotFound(
            f"table {table.name!r} has no stream{at}",
            hint=f"enable one: aws dynamodb update-table --table-name {table.name} "
            "--stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES",
        )
    return table.stream_arn


def describe_stream(
    client: Any,
    stream_arn: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> StreamInfo:
    """DescribeStream with all its pages (ExclusiveStartShardId / LastEvaluatedShardId).

    Throttling is retried with backoff; a stream that does not exist is ResourceNotFound.
    """
    shards: dict[str, Shard] = {}
    kwargs: dict[str, Any] = {"StreamArn": stream_arn}
    first: Mapping[str, Any] | None = None
    while True:
        page = _describe_page(client, kwargs, sleep)
        if first is None:
            first = page
        added = 0
        for raw in page.get("Shards", []):
            shard = Shard.from_api(raw)
            if shard.shard_id not in shards:
                added += 1
            shards[shard.shard_id] = shard
        last = page.get("LastEvaluatedShardId")
        # Stop on the last page, and on an endpoint that ignores ExclusiveStartShardId (moto).
        if not last or last == kwargs.get("ExclusiveStartShardId") or not added:
            break
        kwargs["ExclusiveStartShardId"] = last
    assert first is not None
    keys = sorted(first.get("KeySchema", []), key=lambda k: 0 if k.get("KeyType") == "HASH" else 1)
    return StreamInfo(
        arn=stream_arn,
        table=str(first.get("TableName", "")),
        view_type=str(first.get("StreamViewType", "")),
        status=str(first.get("StreamStatus", "")),
        key_names=tuple(str(k["AttributeName"]) for k in keys),
        shards=tuple(_lineage_order(list(shards.values()))),
    )


def _describe_page(client: Any, kwargs: dict[str, Any], sleep: Callable[[float], None]) -> Mapping[str, Any]:
    delay = BACKOFF_FIRST
    for attempt in range(DESCRIBE_ATTEMPTS):
        try:
            return client.describe_stream(**kwargs)["StreamDescription"]
        except Exception as exc:
            if is_client_error(exc, "ResourceNotFoundException"):
                raise ResourceNotFound(
                    f"stream {kwargs['StreamArn']} does not exist",
                    hint="a table's stream ARN changes each time the stream is re-enabled; "
                    "pass the table name to follow its current stream",
                ) from exc
            if error_code(exc) in _BACK_OFF and attempt + 1 < DESCRIBE_ATTEMPTS:
                sleep(delay)
                delay = min(delay * 2, BACKOFF_CAP)
                continue
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def _lineage_order(shards: list[Shard]) -> list[Shard]:
    """Parents before their children; otherwise the order DescribeStream gave."""
    by_id = {s.shard_id: s for s in shards}
    out: list[Shard] = []
    placed: set[str] = set()

    def place(shard: Shard, trail: frozenset[str]) -> None:
        if shard.shard_id in placed:
            return
        parent = by_id.get(shard.parent_id or "")
        if parent is not None and parent.shard_id not in trail:
            place(parent, trail | {shard.shard_id})
        placed.add(shard.shard_id)
        out.append(shard)

    for shard in shards:
        place(shard, frozenset())
    return out


# -- the puller -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RawRecord:
    """A stream record as GetRecords returned it, and the shard it came from."""

    shard_id: str
    record: Mapping[str, Any]


@dataclass(frozen=True)
class Notice:
    """Something the reader should know that is not a record: trimmed data, throttling, a new shard."""

    message: str
    level: str = "info"  # "info" | "warning"
    shard_id: str | None = None


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
        client: Any,
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
            ordered = _lineage_order([self._states[s].shard for s in self._order])
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
        elif code in _BACK_OFF:
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


# -- the tail: puller + conversion + filters ------------------------------------------------------


_RELATIVE: Final = re.compile(r"^(?:(\d+(?:\.\d+)?)d)?(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")


def parse_since(text: str, now: float) -> float:
    """``--from TIME``: ISO 8601 (a naive time is UTC) or relative (``90s``, ``15m``, ``2h``, ``1d``,
    ``1h30m``) -> epoch seconds."""
    raw = text.strip()
    match = _RELATIVE.match(raw.lower())
    if raw and match and any(match.groups()):
        days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
        return now - timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds).total_seconds()
    try:
        when = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw)
    except ValueError:
        raise UsageError(
            f"--from: cannot read {text!r} as a time",
            hint="use latest, trim-horizon, an ISO 8601 time (2024-05-01T12:00:00Z) or an age (15m, 2h, 1d)",
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def parse_events(values: list[str] | tuple[str, ...]) -> frozenset[str] | None:
    """``--events INSERT,MODIFY`` (repeatable, any case) -> the set; None for all."""
    chosen: set[str] = set()
    for value in values:
        for part in value.split(","):
            name = part.strip().upper()
            if not name:
                continue
            if name not in EVENTS:
                raise UsageError(f"--events: unknown event {part.strip()!r}", hint="use INSERT, MODIFY, REMOVE")
            chosen.add(name)
    return frozenset(chosen) if chosen else None


@dataclass(frozen=True)
class TailOptions:
    #: "latest" or "trim-horizon" (a --from TIME reads from trim-horizon and sets ``since``).
    start: str = "latest"
    since: float | None = None
    events: frozenset[str] | None = None
    changed: tuple[str, ...] = ()
    #: A compiled Lambda FilterCriteria (``patterns.CompiledPattern``), matched on the Lambda record.
    filter: Any = None
    follow: bool = True
    count: int | None = None
    timeout: float | None = None
    poll: float = 1.0
    concurrency: int = DEFAULT_CONCURRENCY


class StreamTail:
    """Iterate to get the ``Change`` objects that pass the options, and ``Notice`` objects."""

    def __init__(
        self,
        client: Any,
        stream_arn: str,
        options: TailOptions,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        describe_interval: float = DESCRIBE_INTERVAL,
    ) -> None:
        self.options = options
        self.info = describe_stream(client, stream_arn, sleep=sleep)
        if not self.info.shards and self.info.status not in ("ENABLED", "ENABLING"):
            raise AwsError(f"the stream of table {self.info.table!r} is {self.info.status} and has no shards")
        start = TRIM_HORIZON if options.start == "trim-horizon" or options.since is not None else LATEST
        self.puller = StreamPuller(
            client,
            stream_arn,
            start=start,
            follow=options.follow,
            poll_interval=options.poll,
            describe_interval=describe_interval,
            concurrency=options.concurrency,
            timeout=options.timeout,
            info=self.info,
            sleep=sleep,
            clock=clock,
        )
        self.matched = 0
        # DynamoDB rounds ApproximateCreationDateTime down to the second: compare at that precision.
        self._since = None if options.since is None else float(int(options.since))
        self._generator: Iterator[Change | Notice] | None = None

    @property
    def records_read(self) -> int:
        return self.puller.records_read

    def cancel(self) -> None:
        self.puller.cancel()

    def close(self) -> None:
        self.puller.cancel()
        if self._generator is not None:
            self._generator.close()  # type: ignore[attr-defined]

    def __iter__(self) -> Iterator[Change | Notice]:
        if self._generator is None:
            self._generator = self._run()
        return self._generator

    def _run(self) -> Iterator[Change | Notice]:
        options = self.options
        if options.changed and self.info.view_type != "NEW_AND_OLD_IMAGES":
            yield Notice(
                f"{self.info.view_type} stream: a MODIFY without both images cannot show what changed, "
                "so --changed shows only INSERT and REMOVE records",
                "warning",
            )
        if options.count is not None and options.count <= 0:
            return
        table = self.info.table
        events = options.events
        since = self._since
        pattern = options.filter
        changed = set(options.changed)
        arn = self.info.arn
        for item in self.puller:
            if isinstance(item, Notice):
                yield item
                continue
            record = item.record
            if events is not None and record.get("eventName") not in events:
                continue
            if since is not None:
                epoch = record_epoch(record)
                if epoch is not None and epoch < since:
                    continue
            if pattern is not None and not pattern.matches(lambda_view(record, arn)):
                continue
            if changed and record.get("eventName") == "MODIFY":
                data = record["dynamodb"]
                fields = changed_fields("MODIFY", data.get("OldImage"), data.get("NewImage"))
                if fields is None or changed.isdisjoint(fields):
                    continue
            self.matched += 1
            yield to_change(record, table, item.shard_id)
            if options.count is not None and self.matched >= options.count:
                return
