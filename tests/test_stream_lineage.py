"""The stream puller against an injected fake DynamoDB Streams client.

moto gives a table one shard that never closes or splits, iterators that never expire and a
DescribeStream that ignores ExclusiveStartShardId, so lineage, shard roll-over, pagination,
expiry, trimming and throttling are all tested here against `FakeStreams`, which behaves as AWS
documents. Time is a `FakeClock`: `sleep` advances it, so nothing here waits on the wall clock.
`FakeStreams` is an `AwsFake`: every answer it gives is checked against botocore's model of the
DynamoDB Streams API, and every error it raises is one that API can send.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError

from eda_cli.core.records import Change
from eda_cli.core.streams import (
    LATEST,
    TRIM_HORIZON,
    Notice,
    RawRecord,
    StreamPuller,
    StreamTail,
    TailOptions,
    describe_stream,
)
from eda_cli.errors import ResourceNotFound
from tests.aws_shapes import AwsFake, aws_error

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-05-01T00:00:00.000"
T0 = 1_714_521_600.0  # 2024-05-01T00:00:00Z


class FakeClock:
    """A clock that only moves when someone sleeps; actions scheduled `at` a time run then."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self._actions: list[tuple[float, Callable[[], None]]] = []

    def __call__(self) -> float:
        return self.now

    def at(self, when: float, action: Callable[[], None]) -> None:
        self._actions.append((when, action))
        self._actions.sort(key=lambda a: a[0])

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds
        while self._actions and self._actions[0][0] <= self.now:
            _, action = self._actions.pop(0)
            action()


#: What a shard ID looks like on the wire (28 to 65 characters); tests name shards by the last part.
SHARD_PREFIX = "shardId-00000001714521600000-"


def sid(name: str) -> str:
    """The shard ID of the shard a test calls `name`, as DescribeStream and the puller give it."""
    return SHARD_PREFIX + name


def client_error(code: str, operation: str) -> ClientError:
    return aws_error("dynamodbstreams", operation, code)


@dataclass
class FakeShard:
    shard_id: str
    parent_id: str | None
    start: int
    records: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False
    #: Records before this index were trimmed (past the 24-hour retention).
    trimmed: int = 0


class FakeStreams(AwsFake, service="dynamodbstreams"):
    """DynamoDB Streams as AWS documents it: lineage, closing shards, pages, expiry, trimming.

    Iterators are opaque tokens for (shard, index). GetRecords on a closed shard read to its end
    returns no NextShardIterator. `fail(op, code, times)` makes the next calls of `op` raise.
    Tests name shards "A", "parent", ...; on the wire they are `sid(name)`, and `calls` records the
    names again.
    """

    def __init__(self, page_size: int | None = None, ignore_exclusive_start: bool = False) -> None:
        self.shards: dict[str, FakeShard] = {}
        self.hidden: set[str] = set()
        self.page_size = page_size
        self.ignore_exclusive_start = ignore_exclusive_start
        self.status = "ENABLED"
        self.view_type = "NEW_AND_OLD_IMAGES"
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.faults: list[tuple[str, str, str | None]] = []
        self.iterators: dict[str, tuple[str, int]] = {}
        self.expired: set[str] = set()
        self._seq = 1000
        self._lock = threading.Lock()
        #: Wall time of the next record's ApproximateCreationDateTime.
        self.time = T0

    # -- arranging ------------------------------------------------------------------------------------

    def add_shard(self, shard_id: str, parent: str | None = None, *, closed: bool = False,
                  hidden: bool = False) -> FakeShard:
        shard = FakeShard(shard_id, parent, self._seq, closed=closed)
        self.shards[shard_id] = shard
        if hidden:
            self.hidden.add(shard_id)
        return shard

    def put(self, shard_id: str, event: str = "INSERT", key: str | None = None,
            old: dict[str, Any] | None = None, new: dict[str, Any] | None = None,
            identity: dict[str, str] | None = None) -> str:
        shard = self.shards[shard_id]
        assert not shard.closed, "cannot write to a closed shard"
        self._seq += 1
        self.time += 1
        seq = str(self._seq).rjust(21, "0")
        key = key or f"k{self._seq}"
        data: dict[str, Any] = {
            "ApproximateCreationDateTime": datetime.fromtimestamp(self.time, timezone.utc),
            "Keys": {"pk": {"S": key}},
            "SequenceNumber": seq,
            "SizeBytes": 10,
            "StreamViewType": self.view_type,
        }
        if new is None and event != "REMOVE":
            new = {"pk": {"S": key}, "n": {"N": str(self._seq)}}
        if new is not None:
            data["NewImage"] = new
        if old is not None:
            data["OldImage"] = old
        record: dict[str, Any] = {"eventID": f"e{self._seq}", "eventName": event, "eventVersion": "1.1",
                                  "eventSource": "aws:dynamodb", "awsRegion": "us-east-1", "dynamodb": data}
        if identity:
            record["userIdentity"] = identity
        shard.records.append(record)
        return seq

    def close(self, shard_id: str) -> None:
        self.shards[shard_id].closed = True

    def reveal(self, shard_id: str) -> None:
        self.hidden.discard(shard_id)

    def fail(self, op: str, code: str, times: int = 1, shard: str | None = None) -> None:
        self.faults.extend([(op, code, shard)] * times)

    def expire_all(self) -> None:
        self.expired.update(self.iterators)

    def trim(self, shard_id: str, upto: int) -> None:
        self.shards[shard_id].trimmed = upto

    # -- the API ---------------------------------------------------------------------------------------

    def _maybe_fail(self, op: str, shard: str | None) -> None:
        for i, (fop, code, fshard) in enumerate(self.faults):
            if fop == op and (fshard is None or fshard == shard):
                del self.faults[i]
                raise client_error(code, op)

    def describe_stream(self, **kwargs: Any) -> dict[str, Any]:
        with self._lock:
            start = kwargs.get("ExclusiveStartShardId")
            if start:
                start = start.removeprefix(SHARD_PREFIX)
            self.calls.append(("describe_stream", {**kwargs, "ExclusiveStartShardId": start}))
            self._maybe_fail("describe_stream", None)
            visible = [s for s in self.shards.values() if s.shard_id not in self.hidden]
            if start and not self.ignore_exclusive_start:
                ids = [s.shard_id for s in visible]
                visible = visible[ids.index(start) + 1:]
            page = visible if self.page_size is None else visible[: self.page_size]
            shards = []
            for s in page:
                # Sequence numbers are 21 to 40 digits long.
                numbers = {"StartingSequenceNumber": str(s.start).rjust(21, "0")}
                if s.closed:
                    numbers["EndingSequenceNumber"] = (
                        s.records[-1]["dynamodb"]["SequenceNumber"] if s.records else str(s.start).rjust(21, "0")
                    )
                entry: dict[str, Any] = {"ShardId": sid(s.shard_id), "SequenceNumberRange": numbers}
                if s.parent_id:
                    entry["ParentShardId"] = sid(s.parent_id)
                shards.append(entry)
            description: dict[str, Any] = {
                "StreamArn": kwargs["StreamArn"], "StreamStatus": self.status, "TableName": "orders",
                "StreamViewType": self.view_type, "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "Shards": shards,
            }
            if self.page_size is not None and len(page) == self.page_size and page:
                description["LastEvaluatedShardId"] = sid(page[-1].shard_id)
            return {"StreamDescription": description}

    def get_shard_iterator(self, **kwargs: Any) -> dict[str, Any]:
        with self._lock:
            name = kwargs["ShardId"].removeprefix(SHARD_PREFIX)
            self.calls.append(("get_shard_iterator", {**kwargs, "ShardId": name}))
            shard = self.shards[name]
            self._maybe_fail("get_shard_iterator", shard.shard_id)
            kind = kwargs["ShardIteratorType"]
            if kind == TRIM_HORIZON:
                index = shard.trimmed
            elif kind == LATEST:
                index = len(shard.records)
            else:
                seqs = [r["dynamodb"]["SequenceNumber"] for r in shard.records]
                index = seqs.index(kwargs["SequenceNumber"]) + (1 if kind == "AFTER_SEQUENCE_NUMBER" else 0)
                if index < shard.trimmed:
                    raise client_error("TrimmedDataAccessException", "GetShardIterator")
            return {"ShardIterator": self._token(shard.shard_id, index)}

    def _token(self, shard_id: str, index: int) -> str:
        token = f"it-{len(self.iterators)}-{shard_id}-{index}"
        self.iterators[token] = (shard_id, index)
        return token

    def get_records(self, **kwargs: Any) -> dict[str, Any]:
        with self._lock:
            token = kwargs["ShardIterator"]
            shard_id, index = self.iterators[token]
            self.calls.append(("get_records", {"shard": shard_id, "index": index}))
            self._maybe_fail("get_records", shard_id)
            if token in self.expired:
                raise client_error("ExpiredIteratorException", "GetRecords")
            shard = self.shards[shard_id]
            if index < shard.trimmed:
                raise client_error("TrimmedDataAccessException", "GetRecords")
            batch = shard.records[index: index + kwargs.get("Limit", 1000)]
            end = index + len(batch)
            answer: dict[str, Any] = {"Records": [dict(r) for r in batch]}
            if not (shard.closed and end >= len(shard.records)):
                answer["NextShardIterator"] = self._token(shard_id, end)
            return answer


def drain(puller: StreamPuller) -> tuple[list[RawRecord], list[Notice]]:
    records: list[RawRecord] = []
    notices: list[Notice] = []
    for item in puller:
        (records if isinstance(item, RawRecord) else notices).append(item)  # type: ignore[arg-type]
    return records, notices


def seqs(records: list[Any]) -> list[str]:
    return [r.record["dynamodb"]["SequenceNumber"] for r in records if isinstance(r, RawRecord)]


def make_puller(fake: FakeStreams, clock: FakeClock, **kwargs: Any) -> StreamPuller:
    kwargs.setdefault("concurrency", 1)
    return StreamPuller(fake, ARN, sleep=clock.sleep, clock=clock, **kwargs)


# -- lineage --------------------------------------------------------------------------------------


def test_closed_parent_is_read_to_its_end_before_either_child() -> None:
    fake = FakeStreams()
    # DescribeStream lists the children first: the order must come from ParentShardId, not the page.
    left = fake.add_shard("child-left", "parent")
    right = fake.add_shard("child-right", "parent")
    parent = fake.add_shard("parent")
    fake.shards = {s.shard_id: s for s in (left, right, parent)}
    parent_seqs = [fake.put("parent") for _ in range(5)]
    fake.close("parent")
    left_seqs = [fake.put("child-left") for _ in range(3)]
    right_seqs = [fake.put("child-right") for _ in range(2)]
    clock = FakeClock()
    records, _ = drain(make_puller(fake, clock, start=TRIM_HORIZON, follow=False, limit=2, concurrency=4))

    got = seqs(records)
    assert sorted(got) == sorted(parent_seqs + left_seqs + right_seqs)  # nothing skipped
    assert len(got) == len(set(got))  # nothing twice
    assert got[:5] == parent_seqs  # the whole parent first, in order
    assert [s for s in got if s in left_seqs] == left_seqs
    assert [s for s in got if s in right_seqs] == right_seqs
    # No child iterator was even asked for before the parent's last page.
    ops = fake.calls
    last_parent = max(i for i, (op, kw) in enumerate(ops) if op == "get_records" and kw["shard"] == "parent")
    first_child = min(i for i, (op, kw) in enumerate(ops)
                      if op == "get_shard_iterator" and kw["ShardId"].startswith("child"))
    assert last_parent < first_child
    assert clock.sleeps == [pytest.approx(0.2)]  # the backlog without waiting; then the tip of an open child, paced


def test_grandchildren_wait_for_the_whole_chain() -> None:
    fake = FakeStreams()
    for shard_id, parent in (("c", "b"), ("b", "a"), ("a", None)):
        fake.add_shard(shard_id, parent)
    order = []
    for shard_id in ("a", "b"):
        order.append(fake.put(shard_id))
        fake.close(shard_id)
    order.append(fake.put("c"))
    records, _ = drain(make_puller(fake, FakeClock(), start=TRIM_HORIZON, follow=False))
    assert seqs(records) == order


def test_a_parent_past_retention_does_not_block_its_children() -> None:
    fake = FakeStreams()
    fake.add_shard("child", "gone-parent-trimmed-away")
    seq = fake.put("child")
    records, _ = drain(make_puller(fake, FakeClock(), start=TRIM_HORIZON, follow=False))
    assert seqs(records) == [seq]


def test_shard_that_closes_mid_tail_is_followed_into_its_children() -> None:
    fake = FakeStreams()
    fake.add_shard("A")
    fake.put("A")  # before the tail starts: LATEST does not show it
    clock = FakeClock()
    written: list[str] = []

    def write_then_split() -> None:
        written.append(fake.put("A"))
        written.append(fake.put("A"))
        fake.close("A")
        fake.add_shard("B", "A")
        fake.add_shard("C", "A")
        written.append(fake.put("B"))
        written.append(fake.put("C"))

    def later() -> None:
        written.append(fake.put("B"))

    clock.at(2.0, write_then_split)
    clock.at(5.0, later)
    puller = make_puller(fake, clock, start=LATEST, poll_interval=1.0, describe_interval=60.0, timeout=10.0)
    records, notices = drain(puller)

    assert sorted(seqs(records)) == sorted(written)
    assert len(records) == len(written)
    assert seqs(records)[:2] == written[:2]  # A's records before its children's
    assert {r.shard_id for r in records} == {sid("A"), sid("B"), sid("C")}
    assert any(f"new shard {sid('B')} (child of {sid('A')})" in n.message for n in notices)
    # The children were found because A closed, long before the 60 s periodic describe.
    describes = [i for i, (op, _) in enumerate(fake.calls) if op == "describe_stream"]
    assert len(describes) >= 2
    assert clock.now == pytest.approx(10.0)  # ended by the timeout, on the fake clock
    # The children started at TRIM_HORIZON although the tail started at LATEST.
    kinds = {kw["ShardId"]: kw["ShardIteratorType"] for op, kw in fake.calls if op == "get_shard_iterator"}
    assert kinds == {"A": LATEST, "B": TRIM_HORIZON, "C": TRIM_HORIZON}


def test_children_listed_only_after_the_parent_closes_are_found_soon() -> None:
    fake = FakeStreams()
    fake.add_shard("A")
    clock = FakeClock()
    written: list[str] = []

    def close() -> None:
        written.append(fake.put("A"))
        fake.close("A")
        fake.add_shard("B", "A", hidden=True)
        written.append(fake.put("B"))

    clock.at(1.0, close)
    clock.at(3.0, lambda: fake.reveal("B"))
    puller = make_puller(fake, clock, start=LATEST, poll_interval=1.0, describe_interval=300.0, timeout=8.0)
    records, _ = drain(puller)
    assert seqs(records) == written


def test_latest_skips_closed_shards_and_starts_open_ones_at_their_tip() -> None:
    fake = FakeStreams()
    fake.add_shard("old")
    fake.put("old")
    fake.close("old")
    fake.add_shard("new", "old")
    fake.put("new")
    clock = FakeClock()
    fresh: list[str] = []
    clock.at(1.0, lambda: fresh.append(fake.put("new")))
    records, _ = drain(make_puller(fake, clock, start=LATEST, timeout=3.0))
    assert seqs(records) == fresh
    assert not any(kw.get("ShardId") == "old" for op, kw in fake.calls if op == "get_shard_iterator")


def test_no_follow_stops_when_every_shard_is_read() -> None:
    fake = FakeStreams()
    fake.add_shard("A")
    for _ in range(3):
        fake.put("A")
    clock = FakeClock()
    records, _ = drain(make_puller(fake, clock, start=TRIM_HORIZON, follow=False))
    assert len(records) == 3
    assert clock.sleeps == [pytest.approx(0.2)]  # one paced look at the tip, which is empty: done


def test_open_shards_are_polled_concurrently_within_the_bound() -> None:
    class Slow(FakeStreams):
        def __init__(self) -> None:
            super().__init__()
            self.inflight = 0
            self.peak = 0
            self.gate = threading.Lock()

        def get_records(self, **kwargs: Any) -> dict[str, Any]:
            with self.gate:
                self.inflight += 1
                self.peak = max(self.peak, self.inflight)
            time.sleep(0.02)
            try:
                return super().get_records(**kwargs)
            finally:
                with self.gate:
                    self.inflight -= 1

    fake = Slow()
    for i in range(6):
        fake.add_shard(f"s{i}")
        fake.put(f"s{i}")
    records, _ = drain(make_puller(fake, FakeClock(), start=TRIM_HORIZON, follow=False, concurrency=3))
    assert len(records) == 6
    assert fake.peak == 3


# -- DescribeStream pages ---------------------------------------------------------------------------


def test_describe_stream_follows_every_page() -> None:
    fake = FakeStreams(page_size=2)
    for i in range(5):
        fake.add_shard(f"shardId-{i:02d}")
    info = describe_stream(fake, ARN)
    assert [s.shard_id for s in info.shards] == [sid(f"shardId-{i:02d}") for i in range(5)]
    starts = [kw.get("ExclusiveStartShardId") for op, kw in fake.calls if op == "describe_stream"]
    assert starts == [None, "shardId-01", "shardId-03"]
    assert info.table == "orders" and info.key_names == ("pk",)


def test_records_in_shards_on_later_pages_are_read() -> None:
    fake = FakeStreams(page_size=1)
    expected = []
    for i in range(3):
        fake.add_shard(f"s{i}")
        expected.append(fake.put(f"s{i}"))
    records, _ = drain(make_puller(fake, FakeClock(), start=TRIM_HORIZON, follow=False))
    assert sorted(seqs(records)) == expected


def test_an_endpoint_that_ignores_exclusive_start_does_not_loop() -> None:
    fake = FakeStreams(page_size=2, ignore_exclusive_start=True)
    for i in range(2):
        fake.add_shard(f"s{i}")
    info = describe_stream(fake, ARN)
    assert len(info.shards) == 2
    assert len([c for c in fake.calls if c[0] == "describe_stream"]) == 2


def test_describe_stream_backs_off_when_throttled() -> None:
    fake = FakeStreams()
    fake.add_shard("A")
    fake.fail("describe_stream", "ThrottlingException", times=2)
    clock = FakeClock()
    info = describe_stream(fake, ARN, sleep=clock.sleep)
    assert len(info.shards) == 1
    assert clock.sleeps == [0.5, 1.0]


def test_a_missing_stream_is_resource_not_found() -> None:
    fake = FakeStreams()
    fake.fail("describe_stream", "ResourceNotFoundException")
    with pytest.raises(ResourceNotFound, match="does not exist"):
        describe_stream(fake, ARN)


# -- faults -----------------------------------------------------------------------------------------


def test_expired_iterator_is_reacquired_after_the_last_record_seen() -> None:
    fake = FakeStreams()
    fake.add_shard("A")
    first = [fake.put("A") for _ in range(3)]
    clock = FakeClock()
    later: list[str] = []

    def expire_and_write() -> None:
        fake.expire_all()
        later.extend(fake.put("A") for _ in range(2))

    clock.at(1.0, expire_and_write)
    records, notices = drain(make_puller(fake, clock, start=TRIM_HORIZON, timeout=4.0))
    assert seqs(records) == first + later
    reacquired = [kw for op, kw in fake.calls if op == "get_shard_iterator"][1]
    assert reacquired["ShardIteratorType"] == "AFTER_SEQUENCE_NUMBER"
    assert reacquired["SequenceNumber"] == first[-1]
    assert any("expired" in n.message for n in notices)


def test_expired_iterator_before_any_record_returns_to_the_original_position() -> None:
    fake = FakeStreams()
    fake.add_shard("A")
    fake.fail("get_records", "ExpiredIteratorException")
    expected = [fake.put("A") for _ in range(2)]
    records, _ = drain(make_puller(fake, FakeClock(), start=TRIM_HORIZON, follow=False))
    assert seqs(records) == expected
    kinds = [kw["ShardIteratorType"] for op, kw in fake.calls if op == "get_shard_iterator"]
    assert kinds == [TRIM_HORIZON, TRIM_HORIZON]


def test_trimmed_data_moves_on_to_the_trim_horizon_and_says_so() -> None:
    fake = FakeStreams()
    fake.add_shard("A")
    written = [fake.put("A") for _ in range(6)]
    clock = FakeClock()
    # Read two, then the iterator sits past retention: records 2..3 are gone before they were read.
    records_iter = iter(make_puller(fake, clock, start=TRIM_HORIZON, follow=False, limit=2))
    got = [next(records_iter), next(records_iter)]
    fake.trim("A", 4)
    rest = list(records_iter)
    got += [r for r in rest if isinstance(r, RawRecord)]
    notices = [n for n in rest if isinstance(n, Notice)]
    assert seqs(got) == written[:2] + written[4:]
    assert len(notices) == 1 and notices[0].level == "warning"
    assert "trimmed" in notices[0].message and written[1] in notices[0].message


def test_trimmed_when_reacquiring_after_expiry() -> None:
    fake = FakeStreams()
    fake.add_shard("A")
    written = [fake.put("A") for _ in range(4)]
    clock = FakeClock()
    it = iter(make_puller(fake, clock, start=TRIM_HORIZON, follow=False, limit=1))
    got = [next(it)]
    fake.expire_all()
    fake.trim("A", 2)
    rest = list(it)
    got += [r for r in rest if isinstance(r, RawRecord)]
    assert seqs(got) == [written[0], *written[2:]]
    assert any(isinstance(n, Notice) and "trimmed" in n.message for n in rest)


def test_throttling_backs_off_and_loses_nothing() -> None:
    fake = FakeStreams()
    fake.add_shard("A")
    expected = [fake.put("A") for _ in range(3)]
    # GetRecords over its limits answers LimitExceededException (ProvisionedThroughputExceeded is Kinesis').
    fake.fail("get_records", "LimitExceededException", times=3)
    clock = FakeClock()
    records, notices = drain(make_puller(fake, clock, start=TRIM_HORIZON, follow=False))
    assert seqs(records) == expected
    assert clock.sleeps[:3] == [0.5, 1.0, 2.0]
    assert clock.sleeps[3:] == [pytest.approx(0.2)]  # then the shard's tip, paced as usual
    assert [n.message for n in notices if "throttl" in n.message] == [
        "DynamoDB Streams is throttling reads (LimitExceededException); backing off"
    ]


def test_throttling_of_one_shard_does_not_hold_up_the_others() -> None:
    fake = FakeStreams()
    fake.add_shard("slow")
    fake.add_shard("fast")
    fake.put("slow")
    fast = fake.put("fast")
    fake.fail("get_records", "ThrottlingException", times=4, shard="slow")
    records, _ = drain(make_puller(fake, FakeClock(), start=TRIM_HORIZON, follow=False, concurrency=2))
    assert seqs(records)[0] == fast
    assert len(records) == 2


def test_an_unexpected_error_reaches_the_caller() -> None:
    fake = FakeStreams()
    fake.add_shard("A")
    fake.fail("get_records", "AccessDeniedException")
    with pytest.raises(ClientError):
        drain(make_puller(fake, FakeClock(), start=TRIM_HORIZON, follow=False))


def test_records_already_yielded_are_not_yielded_again() -> None:
    class Replaying(FakeStreams):
        """Answers AFTER_SEQUENCE_NUMBER as if it were AT_SEQUENCE_NUMBER: one record comes back."""

        def get_shard_iterator(self, **kwargs: Any) -> dict[str, Any]:
            if kwargs["ShardIteratorType"] == "AFTER_SEQUENCE_NUMBER":
                kwargs = {**kwargs, "ShardIteratorType": "AT_SEQUENCE_NUMBER"}
            return super().get_shard_iterator(**kwargs)

    fake = Replaying()
    fake.add_shard("A")
    written = [fake.put("A") for _ in range(4)]
    it = iter(make_puller(fake, FakeClock(), start=TRIM_HORIZON, follow=False, limit=2))
    got = [next(it), next(it)]
    fake.expire_all()
    got += [r for r in it if isinstance(r, RawRecord)]
    assert seqs(got) == written


# -- ending -----------------------------------------------------------------------------------------


def test_timeout_ends_an_idle_tail_without_waiting_on_the_wall_clock() -> None:
    fake = FakeStreams()
    fake.add_shard("A")
    clock = FakeClock()
    started = time.monotonic()
    records, _ = drain(make_puller(fake, clock, start=LATEST, poll_interval=1.0, timeout=30.0))
    assert records == []
    assert clock.now == pytest.approx(30.0)
    assert time.monotonic() - started < 2


def test_cancel_from_another_thread_stops_the_puller() -> None:
    fake = FakeStreams()
    fake.add_shard("A")
    clock = FakeClock()
    puller = make_puller(fake, clock, start=LATEST)
    clock.at(5.0, puller.cancel)
    assert drain(puller) == ([], [])
    assert clock.now == pytest.approx(5.0)


def test_closing_the_generator_stops_it() -> None:
    fake = FakeStreams()
    fake.add_shard("A")
    for _ in range(5):
        fake.put("A")
    it = iter(make_puller(fake, FakeClock(), start=TRIM_HORIZON, concurrency=4))
    next(it)
    it.close()  # type: ignore[attr-defined]
    with pytest.raises(StopIteration):
        next(it)


def test_a_disabled_stream_ends_a_follow_once_read() -> None:
    fake = FakeStreams()
    fake.add_shard("A")
    seq = fake.put("A")
    fake.close("A")
    fake.status = "DISABLED"
    clock = FakeClock()
    records, notices = drain(make_puller(fake, clock, start=TRIM_HORIZON))
    assert seqs(records) == [seq]
    assert any("DISABLED" in n.message for n in notices)


def test_a_shard_gone_past_retention_is_skipped_with_a_warning() -> None:
    fake = FakeStreams()
    fake.add_shard("A")
    fake.add_shard("B")
    fake.put("A")
    kept = fake.put("B")
    fake.fail("get_shard_iterator", "ResourceNotFoundException", shard="A")
    records, notices = drain(make_puller(fake, FakeClock(), start=TRIM_HORIZON, follow=False))
    assert seqs(records) == [kept]
    assert any("no longer exists" in n.message for n in notices)


# -- the tail: filters on top of the puller ----------------------------------------------------------


def make_tail(fake: FakeStreams, clock: FakeClock, **options: Any) -> StreamTail:
    options.setdefault("follow", False)
    options.setdefault("start", "trim-horizon")
    options.setdefault("concurrency", 1)
    return StreamTail(fake, ARN, TailOptions(**options), sleep=clock.sleep, clock=clock)


def status_change(fake: FakeStreams, key: str, old: str, new: str) -> str:
    return fake.put("A", "MODIFY", key,
                    old={"pk": {"S": key}, "status": {"S": old}},
                    new={"pk": {"S": key}, "status": {"S": new}})


def test_changed_keeps_only_real_changes_of_the_field() -> None:
    fake = FakeStreams()
    fake.add_shard("A")
    insert = fake.put("A", "INSERT", "o1", new={"pk": {"S": "o1"}, "status": {"S": "NEW"}})
    real = status_change(fake, "o1", "NEW", "PAID")
    status_change(fake, "o1", "PAID", "PAID")  # rewritten with the same value
    fake.put("A", "MODIFY", "o1", old={"pk": {"S": "o1"}, "status": {"S": "PAID"}, "n": {"N": "1"}},
             new={"pk": {"S": "o1"}, "status": {"S": "PAID"}, "n": {"N": "2"}})
    remove = fake.put("A", "REMOVE", "o1", old={"pk": {"S": "o1"}, "status": {"S": "PAID"}})
    tail = make_tail(fake, FakeClock(), changed=("status",))
    changes = [c for c in tail if not isinstance(c, Notice)]
    assert [c.sequence for c in changes] == [insert, real, remove]
    assert changes[1].changed == ["status"]
    assert tail.records_read == 5 and tail.matched == 3


def test_changed_on_a_stream_without_both_images_warns_once() -> None:
    fake = FakeStreams()
    fake.view_type = "NEW_IMAGE"
    fake.add_shard("A")
    fake.put("A", "MODIFY", "o1", new={"pk": {"S": "o1"}, "status": {"S": "PAID"}})
    items = list(make_tail(fake, FakeClock(), changed=("status",)))
    assert len(items) == 1 and isinstance(items[0], Notice) and "NEW_IMAGE" in items[0].message


def test_events_since_and_count() -> None:
    fake = FakeStreams()
    fake.add_shard("A")
    fake.put("A", "INSERT")  # T0+1
    late = [fake.put("A", "INSERT"), fake.put("A", "REMOVE", old={"pk": {"S": "x"}}), fake.put("A", "INSERT")]
    tail = make_tail(fake, FakeClock(), events=frozenset({"INSERT"}), since=T0 + 2)
    assert [c.sequence for c in tail if isinstance(c, Change)] == [late[0], late[2]]
    tail = make_tail(fake, FakeClock(), count=2)
    assert len(list(tail)) == 2


def test_filter_sees_the_record_as_lambda_does() -> None:
    from eda_cli.core.patterns import compile_pattern

    fake = FakeStreams()
    fake.add_shard("A")
    status_change(fake, "o1", "NEW", "PAID")
    paid = status_change(fake, "o2", "NEW", "SHIPPED")
    criteria = {"Filters": [{"Pattern": '{"eventName": ["MODIFY"], "eventSourceARN": [{"prefix": "arn:"}], '
                                        '"dynamodb": {"NewImage": {"status": {"S": ["SHIPPED"]}}}}'}]}
    tail = make_tail(fake, FakeClock(), filter=compile_pattern(criteria, dialect="lambda"))
    assert [c.sequence for c in tail if isinstance(c, Change)] == [paid]


TTL_IDENTITY = {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}  # as GetRecords spells it


def test_a_ttl_expiry_is_recognised_as_get_records_returns_it() -> None:
    fake = FakeStreams()
    fake.add_shard("A")
    expired = fake.put("A", "REMOVE", "o1", old={"pk": {"S": "o1"}}, identity=TTL_IDENTITY)
    deleted = fake.put("A", "REMOVE", "o2", old={"pk": {"S": "o2"}})
    changes = [c for c in make_tail(fake, FakeClock()) if isinstance(c, Change)]
    assert [(c.sequence, c.ttl_expiry) for c in changes] == [(expired, True), (deleted, False)]


def test_a_filter_on_the_ttl_identity_matches_as_in_lambda() -> None:
    """The filter AWS documents for TTL deletes: Lambda spells userIdentity's fields type and principalId."""
    from eda_cli.core.patterns import compile_pattern

    fake = FakeStreams()
    fake.add_shard("A")
    expired = fake.put("A", "REMOVE", "o1", old={"pk": {"S": "o1"}}, identity=TTL_IDENTITY)
    fake.put("A", "REMOVE", "o2", old={"pk": {"S": "o2"}})
    criteria = {"Filters": [{"Pattern": '{"userIdentity": {"type": ["Service"], '
                                        '"principalId": ["dynamodb.amazonaws.com"]}}'}]}
    tail = make_tail(fake, FakeClock(), filter=compile_pattern(criteria, dialect="lambda"))
    assert [c.sequence for c in tail if isinstance(c, Change)] == [expired]
