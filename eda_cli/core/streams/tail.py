"""The tail: the puller, the record conversion (``core.records``) and the user's filters, yielding ``Change``s."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from eda_cli.core.records import Change, changed_fields, lambda_view, record_epoch, to_change
from eda_cli.core.streams.model import DESCRIBE_INTERVAL, LATEST, TRIM_HORIZON, Notice
from eda_cli.core.streams.options import TailOptions
from eda_cli.core.streams.puller import StreamPuller
from eda_cli.core.streams.shards import describe_stream
from eda_cli.errors import AwsError

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient


class StreamTail:
    """Iterate to get the ``Change`` objects that pass the options, and ``Notice`` objects."""

    def __init__(
        self,
        client: DynamoDBStreamsClient,
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
