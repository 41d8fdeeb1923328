"""`eda tail bus|topic|cleanup`: end to end on a server, and the tap's teardown on every exit path.

Events are sent from a thread only once the tap exists (its rule has its target, or its subscription
is listed): never after a fixed sleep. After every run no eda-tap queue, rule or subscription is left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.aws_shapes import AwsFake, aws_error
from tests.fixtures.cli import Result
from tests.fixtures.taps import PREFIX, in_background, joined, leftovers, wait_for

BUS = "orders-bus"


# -- helpers --------------------------------------------------------------------------------------


def bus_tap_ready(boto: Callable[[str], Any]) -> bool:
    events = boto("events")
    for rule in events.list_rules(NamePrefix=PREFIX, EventBusName=BUS)["Rules"]:
        if events.list_targets_by_rule(Rule=rule["Name"], EventBusName=BUS)["Targets"]:
            return True
    return False


def topic_tap_ready(boto: Callable[[str], Any], topic: str) -> bool:
    subs = boto("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    return any(s.get("Endpoint", "").rsplit(":", 1)[-1].startswith(PREFIX) for s in subs)


def put_events(boto: Callable[[str], Any], entries: list[tuple[str, dict[str, Any]]]) -> None:
    response = boto("events").put_events(Entries=[
        {"Source": source, "DetailType": "OrderCreated", "Detail": json.dumps(detail), "EventBusName": BUS}
        for source, detail in entries])
    assert response["FailedEntryCount"] == 0


@pytest.fixture
def bus(boto: Callable[[str], Any]) -> str:
    boto("events").create_event_bus(Name=BUS)
    return BUS


@pytest.fixture
def topic(boto: Callable[[str], Any]) -> str:
    return str(boto("sns").create_topic(Name="orders")["TopicArn"])


# -- bus ------------------------------------------------------------------------------------------


def test_tail_bus_prints_every_event_and_removes_the_tap(eda: Callable[..., Result], boto: Callable[[str], Any],
                                                         bus: str) -> None:
    def send() -> None:
        wait_for(lambda: bus_tap_ready(boto))
        put_events(boto, [("shop.orders", {"id": 1}), ("shop.billing", {"id": 2})])

    sender = in_background(send)
    result = eda("-o", "jsonl", "tail", "bus", bus, "--count", "2", "--timeout", "30")
    joined(sender)
    assert result.code == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(e["source"] for e in events) == ["shop.billing", "shop.orders"]
    # moto leaves "account" out of the event it delivers to SQS; EventBridge and LocalStack include it
    assert {"id", "time", "detail-type", "detail", "region"} <= set(events[0])
    lines = result.stderr.splitlines()
    assert any(line.startswith(f"created queue {PREFIX}") for line in lines)
    assert any(line.startswith(f"created rule {PREFIX}") and line.endswith(f"on {bus}") for line in lines)
    assert any(line.startswith(f"removed rule {PREFIX}") for line in lines)
    assert any(line.startswith(f"removed queue {PREFIX}") for line in lines)
    assert leftovers(boto) == []


def test_tail_bus_with_a_pattern_shows_only_matches(eda: Callable[..., Result], boto: Callable[[str], Any],
                                                    bus: str, tmp_path: Any) -> None:
    pattern = tmp_path / "pattern.json"
    pattern.write_text(json.dumps({"source": ["shop.orders"]}))

    def send() -> None:
        wait_for(lambda: bus_tap_ready(boto))
        put_events(boto, [("shop.billing", {"n": 1}), ("shop.orders", {"n": 2}), ("shop.orders", {"n": 3})])

    sender = in_background(send)
    result = eda("tail", "bus", bus, "--pattern", f"@{pattern}", "--count", "2", "--timeout", "30")
    joined(sender)
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and all("shop.orders  OrderCreated  {\"n\":" in line for line in lines), lines
    assert leftovers(boto) == []


def test_tail_bus_with_a_rule_copies_its_pattern(eda: Callable[..., Result], boto: Callable[[str], Any],
                                                 bus: str) -> None:
    boto("events").put_rule(Name="billing", EventBusName=bus, EventPattern=json.dumps({"source": ["shop.billing"]}))

    def send() -> None:
        wait_for(lambda: bus_tap_ready(boto))
        put_events(boto, [("shop.orders", {"n": 1}), ("shop.billing", {"n": 2})])

    sender = in_background(send)
    result = eda("-o", "json", "tail", "bus", bus, "--rule", "billing", "--count", "1", "--timeout", "30")
    joined(sender)
    assert result.code == 0, result.stderr
    assert [e["detail"] for e in result.items()] == [{"n": 2}]
    assert [r["Name"] for r in boto("events").list_rules(EventBusName=bus)["Rules"]] == ["billing"]


def test_timeout_before_count_exits_1_and_without_count_exits_0(eda: Callable[..., Result],
                                                                 boto: Callable[[str], Any], bus: str) -> None:
    short = eda("tail", "bus", bus, "--count", "3", "--timeout", "1")
    assert short.code == 1, short.stderr
    assert "0 of 3 event(s) arrived" in short.stderr
    plain = eda("-o", "json", "tail", "bus", bus, "--timeout", "1")
    assert plain.code == 0, plain.stderr
    assert plain.items() == []
    assert leftovers(boto) == []


def test_an_invalid_pattern_is_a_usage_error_before_any_aws_call(eda: Callable[..., Result],
                                                                  boto: Callable[[str], Any], bus: str) -> None:
    for pattern in ('{"source": [', '["x"]', '{"source": "not-a-list"}'):
        result = eda("tail", "bus", bus, "--pattern", pattern, "--timeout", "1")
        assert result.code == 2, (pattern, result.stderr)
        assert "created" not in result.stderr
    assert leftovers(boto) == []


def test_an_aws_error_after_the_queue_exists_removes_it_and_exits_3(eda: Callable[..., Result],
                                                                     boto: Callable[[str], Any]) -> None:
    result = eda("tail", "bus", "no-such-bus", "--timeout", "1")
    assert result.code == 3, result.stderr
    assert f"created queue {PREFIX}" in result.stderr and f"removed queue {PREFIX}" in result.stderr
    assert leftovers(boto) == []


# -- topic ----------------------------------------------------------------------------------------


def test_tail_topic_with_a_filter_policy(eda: Callable[..., Result], boto: Callable[[str], Any], topic: str) -> None:
    def send() -> None:
        wait_for(lambda: topic_tap_ready(boto, topic))
        for kind, text in (("other", "skip me"), ("order.created", "hello")):
            boto("sns").publish(TopicArn=topic, Message=text, Subject="orders",
                                MessageAttributes={"type": {"DataType": "String", "StringValue": kind}})

    sender = in_background(send)
    result = eda("-o", "jsonl", "tail", "topic", "orders", "--filter-policy", '{"type": ["order.created"]}',
                 "--count", "1", "--timeout", "30")
    joined(sender)
    assert result.code == 0, result.stderr
    [notification] = [json.loads(line) for line in result.stdout.splitlines()]
    assert notification["Type"] == "Notification" and notification["Message"] == "hello"
    assert notification["MessageAttributes"]["type"]["Value"] == "order.created"
    assert f"created subscription {PREFIX}" in result.stderr and f"removed subscription {PREFIX}" in result.stderr
    assert leftovers(boto) == []


def test_tail_topic_table_shows_subject_message_and_attributes(eda: Callable[..., Result],
                                                               boto: Callable[[str], Any], topic: str) -> None:
    def send() -> None:
        wait_for(lambda: topic_tap_ready(boto, topic))
        boto("sns").publish(TopicArn=topic, Message="hello", Subject="greeting",
                            MessageAttributes={"type": {"DataType": "String", "StringValue": "hi"}})

    sender = in_background(send)
    result = eda("tail", "topic", topic, "--count", "1", "--timeout", "30")
    joined(sender)
    assert result.code == 0, result.stderr
    assert "  greeting  hello  [type=hi]" in result.stdout
    assert leftovers(boto) == []


# -- signals, SIGKILL and cleanup -----------------------------------------------------------------


def start_tail(endpoint: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "EDA_ENDPOINT_URL": endpoint}
    return subprocess.Popen([sys.executable, "-m", "eda_cli", "tail", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env)


def wait_for_line(process: subprocess.Popen[str], start: str) -> list[str]:
    """stderr lines up to and including the first that starts with `start` (the tail prints it once set up)."""
    seen: list[str] = []
    assert process.stderr is not None
    for line in process.stderr:
        seen.append(line)
        if line.startswith(start):
            return seen
    raise AssertionError(f"the tail ended before {start!r}: {seen}")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("moment", ["created", "listening"])
def test_ctrl_c_and_sigterm_remove_the_tap_and_exit_130(endpoint: str, boto: Callable[[str], Any], bus: str,
                                                        sig: signal.Signals, moment: str) -> None:
    process = start_tail(endpoint, "bus", bus, "--timeout", "60")
    wait_for_line(process, "created queue" if moment == "created" else "listening")
    process.send_signal(sig)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert f"removed queue {PREFIX}" in err
    assert leftovers(boto) == []


def test_sigkill_leaves_the_tap_and_cleanup_removes_it(endpoint: str, eda: Callable[..., Result],
                                                       boto: Callable[[str], Any], bus: str, topic: str) -> None:
    killed = []
    for args in (("bus", bus), ("topic", topic)):
        process = start_tail(endpoint, *args, "--timeout", "60")
        wait_for_line(process, "listening")
        process.kill()
        process.wait(30)
        killed.append(process)
    left = leftovers(boto)
    assert len(left) == 4, left  # two queues, a rule, a subscription
    warned = eda("tail", "bus", bus, "--timeout", "0")
    assert "2 eda-tap queue(s) exist already" in warned.stderr
    young = eda("-o", "json", "tail", "cleanup", "--yes")  # 1h by default: these are seconds old
    assert young.code == 0 and young.items() == []
    preview = eda("-o", "json", "tail", "cleanup", "--older-than", "0s", "--dry-run")
    assert preview.code == 0
    assert sorted(i["kind"] for i in preview.items()) == ["queue", "queue", "rule", "subscription"]
    assert len(leftovers(boto)) == 4
    assert eda("tail", "cleanup", "--older-than", "0s").code == 2  # no terminal, no --yes
    done = eda("-o", "json", "tail", "cleanup", "--older-than", "0s", "--yes")
    assert done.code == 0, done.stderr
    assert all(i["removed"] for i in done.items()) and len(done.items()) == 4
    assert leftovers(boto) == []


# -- the core's teardown after an AWS error in the middle -----------------------------------------


class FakeSqs(AwsFake, service="sqs"):
    def __init__(self, fail_receive: bool = True) -> None:
        self.calls: list[str] = []
        self.fail_receive = fail_receive

    def create_queue(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append("CreateQueue")
        assert kwargs["Attributes"]["MessageRetentionPeriod"] == "300"
        assert kwargs["tags"]["eda:ephemeral"] == "true" and kwargs["tags"]["eda:expires"].endswith("Z")
        return {"QueueUrl": f"https://sqs.us-east-1.amazonaws.com/123456789012/{kwargs['QueueName']}"}

    def get_queue_attributes(self, **kwargs: Any) -> dict[str, Any]:
        name = kwargs["QueueUrl"].rsplit("/", 1)[-1]
        return {"Attributes": {"QueueArn": f"arn:aws:sqs:us-east-1:123456789012:{name}"}}

    def set_queue_attributes(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append("SetQueueAttributes")
        statement = json.loads(kwargs["Attributes"]["Policy"])["Statement"][0]
        assert statement["Condition"]["ArnEquals"]["aws:SourceArn"].startswith("arn:aws:events:")
        return {}

    def receive_message(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append("ReceiveMessage")
        if self.fail_receive:
            raise aws_error("sqs", "ReceiveMessage", "AccessDenied", "not allowed")
        return {}

    def delete_queue(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append("DeleteQueue")
        return {}


class FakeEvents(AwsFake, service="events"):
    def __init__(self, calls: list[str], rule_gone: bool = False) -> None:
        self.calls = calls
        self.rule_gone = rule_gone

    def put_rule(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append("PutRule")
        return {"RuleArn": f"arn:aws:events:us-east-1:123456789012:rule/{kwargs['EventBusName']}/{kwargs['Name']}"}

    def put_targets(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append("PutTargets")
        return {"FailedEntryCount": 0, "FailedEntries": []}

    def remove_targets(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append("RemoveTargets")
        if self.rule_gone:
            raise aws_error("events", "RemoveTargets", "ResourceNotFoundException", "gone")
        return {"FailedEntryCount": 0, "FailedEntries": []}

    def delete_rule(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append("DeleteRule")
        if self.rule_gone:
            raise aws_error("events", "DeleteRule", "ResourceNotFoundException", "gone")
        return {}


def test_an_aws_error_while_receiving_still_removes_everything_in_reverse_order() -> None:
    from botocore.exceptions import ClientError

    from eda_cli.core.tap import Tap

    sqs = FakeSqs()
    events = FakeEvents(sqs.calls)
    tap = Tap(sqs, events=events, name="eda-tap-test-0000abcd", clock=lambda: 1_700_000_000.0)  # type: ignore[arg-type]
    created = tap.open_bus("orders-bus", '{"source": ["x"]}')
    assert [r.kind for r in created] == ["queue", "rule"]
    with pytest.raises(ClientError):
        try:
            for _ in tap.receive(timeout=5):
                pass
        finally:
            removed = tap.close()
    assert [r.kind for r in removed] == ["rule", "queue"]
    assert sqs.calls == ["CreateQueue", "PutRule", "SetQueueAttributes", "PutTargets", "ReceiveMessage",
                         "RemoveTargets", "DeleteRule", "DeleteQueue"]
    assert tap.close() == [] and sqs.calls[-1] == "DeleteQueue"  # idempotent: no second round of calls
    assert tap.left == []


def test_close_tolerates_resources_already_gone() -> None:
    from eda_cli.core.tap import Tap

    sqs = FakeSqs(fail_receive=False)
    tap = Tap(sqs, events=FakeEvents(sqs.calls, rule_gone=True), name="eda-tap-test-0000abcd")  # type: ignore[arg-type]
    tap.open_bus("orders-bus", '{"source": ["x"]}')
    assert [r.kind for r in tap.close()] == ["rule", "queue"]
    assert tap.left == []


def test_receive_never_waits_past_the_timeout() -> None:
    from eda_cli.core.tap import Tap

    now = [0.0]
    waits: list[int] = []

    class Clocked(FakeSqs):
        def receive_message(self, **kwargs: Any) -> dict[str, Any]:
            waits.append(kwargs["WaitTimeSeconds"])
            now[0] += kwargs["WaitTimeSeconds"]
            return {}

    sqs = Clocked(fail_receive=False)
    tap = Tap(sqs, events=FakeEvents(sqs.calls), name="eda-tap-test-0000abcd", clock=lambda: now[0])  # type: ignore[arg-type]
    tap.open_bus("b", '{"source": ["x"]}')
    assert list(tap.receive(timeout=45)) == []
    assert waits == [20, 20, 5]


def test_tap_names() -> None:
    from eda_cli.core.tap import tap_name, user_label

    assert user_label("Jane.Doe@CORP") == "jane-doe-corp"
    assert user_label("___") == "user"
    assert len(user_label("x" * 50)) == 20
    name = tap_name("bob")
    assert name.startswith("eda-tap-bob-") and len(name.rsplit("-", 1)[-1]) == 8


@pytest.mark.parametrize("trial", range(6))
def test_a_signal_at_a_random_moment_leaves_no_tap(endpoint: str, boto: Callable[[str], Any], bus: str,
                                                   trial: int) -> None:
    """Wherever the signal lands (start-up, setup, listening), nothing is left behind: before eda installs its
    handlers the process simply dies with nothing created; after, it removes what it created and exits 130."""
    import random

    rng = random.Random(1000 + trial)
    sig = signal.SIGINT if trial % 2 == 0 else signal.SIGTERM
    process = start_tail(endpoint, "bus", bus, "--timeout", "60")
    time.sleep(rng.uniform(0.0, 1.5))
    process.send_signal(sig)
    _, err = process.communicate(timeout=60)
    assert process.returncode in (130, -sig), (process.returncode, err)
    assert "Traceback" not in err or process.returncode == -sig, err
    assert leftovers(boto) == []
