"""`eda tail queue`: what arrives at a queue, seen through taps of what feeds it; the queue itself is
never read. Events are sent from a thread once every tap exists; afterwards no eda-tap resource is left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from eda_cli.core.tap import Delivery
from eda_cli.core.tap.fanin import receive_all
from tests.fixtures.cli import Result
from tests.fixtures.taps import PREFIX, in_background, joined, leftovers, wait_for

BUS = "shop-bus"


def queue_arn(boto: Callable[[str], Any], url: str) -> str:
    return str(boto("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def tap_rules(boto: Callable[[str], Any]) -> int:
    events = boto("events")
    return sum(1 for r in events.list_rules(NamePrefix=PREFIX, EventBusName=BUS)["Rules"]
               if events.list_targets_by_rule(Rule=r["Name"], EventBusName=BUS)["Targets"])


def tap_subscriptions(boto: Callable[[str], Any], topic: str) -> int:
    return sum(1 for s in boto("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
               if s.get("Endpoint", "").rsplit(":", 1)[-1].startswith(PREFIX))


@pytest.fixture
def fed(boto: Callable[[str], Any]) -> dict[str, str]:
    """Queue `fulfilment`, fed by rule eu-orders on shop-bus and by topic orders (filter: type=order.created);
    a disabled rule targets it too. Queue `lonely` is fed by nothing; `lonely-dlq` is its DLQ."""
    sqs, events, sns = boto("sqs"), boto("events"), boto("sns")
    url = sqs.create_queue(QueueName="fulfilment")["QueueUrl"]
    arn = queue_arn(boto, url)
    events.create_event_bus(Name=BUS)
    for name, state, pattern in (("eu-orders", "ENABLED", {"source": ["shop.orders"], "detail": {"region": ["EU"]}}),
                                 ("paused", "DISABLED", {"source": ["shop.returns"]})):
        events.put_rule(Name=name, EventBusName=BUS, EventPattern=json.dumps(pattern), State=state)
        events.put_targets(Rule=name, EventBusName=BUS, Targets=[{"Id": "q", "Arn": arn}])
    topic = sns.create_topic(Name="orders")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, ReturnSubscriptionArn=True,
                  Attributes={"FilterPolicy": json.dumps({"type": ["order.created"]})})
    dlq = sqs.create_queue(QueueName="lonely-dlq")["QueueUrl"]
    sqs.create_queue(QueueName="lonely", Attributes={"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": queue_arn(boto, dlq), "maxReceiveCount": "3"})})
    return {"url": url, "topic": topic}


def test_tail_queue_taps_every_feed_and_never_reads_the_queue(eda: Callable[..., Result],
                                                              boto: Callable[[str], Any], fed: dict[str, str]) -> None:
    def send() -> None:
        wait_for(lambda: tap_rules(boto) == 1 and tap_subscriptions(boto, fed["topic"]) == 1)
        boto("events").put_events(Entries=[
            {"Source": "shop.orders", "DetailType": "OrderCreated", "Detail": json.dumps(d), "EventBusName": BUS}
            for d in ({"region": "US", "n": 1}, {"region": "EU", "n": 2})])
        for kind in ("order.cancelled", "order.created"):
            boto("sns").publish(TopicArn=fed["topic"], Message=json.dumps({"kind": kind}),
                                MessageAttributes={"type": {"DataType": "String", "StringValue": kind}})

    sender = in_background(send)
    result = eda("tail", "queue", "fulfilment", "--count", "2", "--timeout", "30")
    joined(sender)
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2, lines
    [event] = [line for line in lines if "shop.orders" in line]
    [message] = [line for line in lines if "[type=order.created]" in line]
    assert '{"region":"EU","n":2}' in event and event.endswith("(via rule eu-orders on shop-bus)"), lines
    assert message.endswith("(via subscription to topic orders)"), lines
    assert "not tapped: rule paused on shop-bus is DISABLED: it delivers nothing" in result.stderr
    assert "tapping 2 feed(s) of queue fulfilment" in result.stderr
    assert leftovers(boto) == []
    # the real queue kept its own copies: the tail read none of them
    attributes = boto("sqs").get_queue_attributes(QueueUrl=fed["url"], AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "2"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_tail_queue_jsonl_prints_each_delivery_as_delivered(eda: Callable[..., Result], boto: Callable[[str], Any],
                                                           fed: dict[str, str]) -> None:
    def send() -> None:
        wait_for(lambda: tap_subscriptions(boto, fed["topic"]) == 1)
        boto("sns").publish(TopicArn=fed["topic"], Message="plain text",
                            MessageAttributes={"type": {"DataType": "String", "StringValue": "order.created"}})

    sender = in_background(send)
    result = eda("-o", "jsonl", "tail", "queue", fed["url"], "--count", "1", "--timeout", "30")
    joined(sender)
    assert result.code == 0, result.stderr
    [notification] = [json.loads(line) for line in result.stdout.splitlines()]
    assert notification["Type"] == "Notification" and notification["Message"] == "plain text"
    assert leftovers(boto) == []


def test_a_queue_nothing_feeds_exits_5_and_points_to_dlq_peek(eda: Callable[..., Result],
                                                             boto: Callable[[str], Any], fed: dict[str, str]) -> None:
    result = eda("tail", "queue", "lonely-dlq", "--timeout", "1")
    assert result.code == 5, result.stderr
    assert "nothing feeds queue lonely-dlq that eda can tap" in result.stderr
    assert "eda dlq peek lonely-dlq" in result.stderr
    assert "lonely-dlq is the DLQ of lonely" in result.stderr
    assert "created" not in result.stderr
    assert leftovers(boto) == []


def test_an_unknown_queue_is_exit_3_before_anything_is_created(eda: Callable[..., Result],
                                                               boto: Callable[[str], Any]) -> None:
    result = eda("tail", "queue", "no-such-queue", "--timeout", "1")
    assert result.code == 3, result.stderr
    assert "no-such-queue" in result.stderr and "created" not in result.stderr
    assert leftovers(boto) == []


# -- several taps at once --------------------------------------------------------------------------


class ScriptedTap:
    """A tap whose receive yields what it is given, then raises `error` (if any), then waits for cancel."""

    def __init__(self, bodies: list[str], error: Exception | None = None, delay: float = 0.0) -> None:
        self.bodies, self.error, self.delay = bodies, error, delay

    def receive(self, *, count: int | None = None, timeout: float | None = None,
                cancel: threading.Event | None = None) -> Iterator[Delivery]:
        for body in self.bodies:
            time.sleep(self.delay)
            yield Delivery(body, body, time.time())
        if self.error is not None:
            raise self.error
        if cancel is not None:
            cancel.wait(timeout)


def test_receive_all_merges_taps_and_stops_at_the_count() -> None:
    taps: list[Any] = [ScriptedTap(["a1", "a2"], delay=0.01), ScriptedTap(["b1"], delay=0.01)]
    got = sorted((i, d.raw) for i, d in receive_all(taps, count=3, timeout=10))
    assert got == [(0, "a1"), (0, "a2"), (1, "b1")]


def test_receive_all_raises_a_taps_error_and_honours_the_timeout() -> None:
    failing: list[Any] = [ScriptedTap([]), ScriptedTap(["x"], error=RuntimeError("boom"))]
    with pytest.raises(RuntimeError, match="boom"):
        list(receive_all(failing, timeout=10))
    quiet: list[Any] = [ScriptedTap([]), ScriptedTap([])]
    started = time.monotonic()
    assert list(receive_all(quiet, timeout=0.3)) == []
    assert time.monotonic() - started < 5


def test_receive_all_stops_on_cancel() -> None:
    cancel = threading.Event()
    cancel.set()
    taps: list[Any] = [ScriptedTap(["a"]), ScriptedTap(["b"])]
    assert list(receive_all(taps, timeout=10, cancel=cancel)) == []


# -- signals with several taps ----------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("moment", ["created queue", "listening"])
def test_a_signal_removes_every_tap_and_exits_130(endpoint: str, boto: Callable[[str], Any], fed: dict[str, str],
                                                  sig: signal.Signals, moment: str) -> None:
    env = {**os.environ, "EDA_ENDPOINT_URL": endpoint}
    process = subprocess.Popen([sys.executable, "-m", "eda_cli", "tail", "queue", "fulfilment", "--timeout", "60"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                               env=env)
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith(moment):
            break
    process.send_signal(sig)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert f"removed queue {PREFIX}" in err
    assert leftovers(boto) == []
