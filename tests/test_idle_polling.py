"""Every poller eda has, left idle, counted on the wire: within AWS's per-resource limits, and long polling
wherever the API has it.

All of them run at once, as users run them (`python -m eda_cli ...` in its own process), in ONE window of
about 10 s against one server: `eda stream tail` on a table's stream, `eda tail bus`, `eda tail topic`,
`eda tail queue` (two feeds, so two taps) and `eda probe` waiting for an expected target the event does not
reach. Each talks to the server through a counting proxy of its own, which records every request (action,
queue URL, WaitTimeSeconds) with the time it arrived. The tails and the stream tail are ended with Ctrl-C
(SIGINT) once the window is over; the probe ends at its --timeout.

The limits: DynamoDB Streams allows 5 GetRecords per second per shard (eda polls an idle shard once a second,
--poll); an idle tapped queue gets at most one ReceiveMessage per 20 s (WaitTimeSeconds=20, or the time left
before a --timeout). `eda trace` is not a poller (each source is read once, to the end) and `watch` does not
exist yet.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.fixtures.taps import PREFIX, leftovers, wait_for

#: How long every poller sits idle, all at once.
WINDOW = 10.0
#: AWS's limit: GetRecords calls per second per shard.
GET_RECORDS_PER_SECOND = 5


@dataclass
class Seen:
    at: float
    action: str
    params: dict[str, Any]


class CountingProxy:
    """An HTTP proxy in front of the backend that records every request eda sends through it."""

    def __init__(self, backend: str) -> None:
        self.seen: list[Seen] = []
        target = urllib.parse.urlparse(backend)
        seen, lock = self.seen, threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                amz_target = self.headers.get("X-Amz-Target", "")
                if amz_target:  # the JSON protocol (SQS, DynamoDB Streams, EventBridge)
                    params = json.loads(body or b"{}")
                    action = amz_target.rsplit(".", 1)[-1]
                else:  # the query protocol (SNS)
                    params = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
                    action = params.get("Action", "?")
                with lock:
                    seen.append(Seen(time.monotonic(), action, params))
                upstream = HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                    upstream.request("POST", self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    data = answer.read()
                except OSError:
                    return  # eda went away mid-poll (SIGTERM): nobody to answer
                finally:
                    upstream.close()
                try:
                    self.send_response(answer.status)
                    for key, value in answer.getheaders():
                        if key.lower() not in ("connection", "transfer-encoding", "content-length", "server", "date"):
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def calls(self, action: str, since: float = 0.0) -> list[Seen]:
        return [s for s in list(self.seen) if s.action == action and s.at >= since]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Poller:
    name: str
    proxy: CountingProxy
    process: subprocess.Popen[str]
    ready_at: float = 0.0


def start(name: str, backend: str, args: list[str]) -> Poller:
    proxy = CountingProxy(backend)
    env = {**os.environ, "EDA_ENDPOINT_URL": proxy.url}
    process = subprocess.Popen([sys.executable, "-m", "eda_cli", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env)
    return Poller(name, proxy, process)


def wait_ready(poller: Poller, start_of: str, stderr: list[str]) -> None:
    """Read stderr up to the line that says the poller is set up (kept in `stderr`)."""
    assert poller.process.stderr is not None
    for line in poller.process.stderr:
        stderr.append(line)
        if line.startswith(start_of) or start_of in line:
            poller.ready_at = time.monotonic()
            return
    raise AssertionError(f"{poller.name} ended before saying {start_of!r}: {''.join(stderr)}")


@pytest.fixture
def idle_pipeline(boto: Callable[[str], Any]) -> dict[str, str]:
    """A table with a stream (one shard); a bus whose rule feeds a queue; a topic whose subscription feeds the same
    queue; on a bus of its own (so that the probe's event reaches no tail), a rule for large orders only, to a
    queue of its own (the probe's expected target)."""
    boto("dynamodb").create_table(
        TableName="idle-orders", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    events, sqs, sns = boto("events"), boto("sqs"), boto("sns")
    events.create_event_bus(Name="idle-bus")
    events.create_event_bus(Name="idle-probe-bus")
    queues = {}
    for name in ("idle-fulfilment", "idle-fraud"):
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
        queues[name] = (url, attributes["QueueArn"])
    for bus, rule, pattern, queue in (
            ("idle-bus", "idle-all", {"source": ["shop.orders"]}, "idle-fulfilment"),
            ("idle-probe-bus", "idle-large", {"detail": {"amount": [{"numeric": [">", 1000]}]}}, "idle-fraud")):
        events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(pattern))
        events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "q", "Arn": queues[queue][1]}])
    topic = sns.create_topic(Name="idle-topic")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queues["idle-fulfilment"][1])
    return {"topic": topic}


def test_every_poller_left_idle_stays_within_aws_limits(endpoint: str, boto: Callable[[str], Any],
                                                        idle_pipeline: dict[str, str]) -> None:
    event = json.dumps({"source": "shop.orders", "detail-type": "OrderCreated", "detail": {"amount": 5}})
    pollers = {
        "stream": (start("stream", endpoint, ["stream", "tail", "idle-orders"]), "tailing idle-orders"),
        "bus": (start("bus", endpoint, ["tail", "bus", "idle-bus"]), "listening"),
        "topic": (start("topic", endpoint, ["tail", "topic", idle_pipeline["topic"]]), "listening"),
        "queue": (start("queue", endpoint, ["tail", "queue", "idle-fulfilment"]), "listening"),
        "probe": (start("probe", endpoint, ["probe", "--bus", "idle-probe-bus", "--event", event, "--expect",
                                            "idle-fraud", "--timeout", str(WINDOW), "--settle", "0", "--yes"]),
                  "sent eda-probe-"),
    }
    stderr: dict[str, list[str]] = {name: [] for name in pollers}
    try:
        for name, (poller, ready) in pollers.items():
            wait_ready(poller, ready, stderr[name])
        time.sleep(max(0.0, max(p.ready_at for p, _ in pollers.values()) + WINDOW - time.monotonic()))
        ended = time.monotonic()
        for name, (poller, _) in pollers.items():
            if name != "probe":
                poller.process.send_signal(signal.SIGINT)  # Ctrl-C
        for name, (poller, _) in pollers.items():
            _, rest = poller.process.communicate(timeout=60)
            stderr[name].append(rest)
            expected = 1 if name == "probe" else 130  # the probe's expected target was not reached
            assert poller.process.returncode == expected, (name, "".join(stderr[name]))

        # stream tail: each idle shard polled about once a second (--poll 1), never more than AWS allows
        stream, _ = pollers["stream"]
        seconds = ended - stream.ready_at
        reads = stream.proxy.calls("GetRecords", since=stream.ready_at)
        arn = boto("dynamodb").describe_table(TableName="idle-orders")["Table"]["LatestStreamArn"]
        shards = len(boto("dynamodbstreams").describe_stream(StreamArn=arn)["StreamDescription"]["Shards"])
        assert shards >= 1  # moto: always one
        assert shards * (0.5 * seconds - 1) <= len(reads) <= shards * (seconds + 2), (len(reads), shards, seconds)
        assert len(reads) / shards / seconds <= GET_RECORDS_PER_SECOND
        assert len(stream.proxy.calls("DescribeStream", since=stream.ready_at)) <= 2 + seconds / 10

        # the taps: one long poll each (WaitTimeSeconds=20) for the whole idle window, on the tap's own queue
        for name in ("bus", "topic", "queue"):
            poller, _ = pollers[name]
            receives = poller.proxy.calls("ReceiveMessage")
            by_queue: dict[str, list[Seen]] = {}
            for call in receives:
                by_queue.setdefault(call.params["QueueUrl"], []).append(call)
            assert len(by_queue) == (2 if name == "queue" else 1), (name, list(by_queue))  # queue: bus + topic feeds
            for url, calls in by_queue.items():
                assert url.rsplit("/", 1)[-1].startswith(PREFIX), url  # never the tapped queue itself
                assert [c.params.get("WaitTimeSeconds") for c in calls] == [20], (name, url, calls)

        # the probe: its tap on the expected target long-polls until its --timeout, once
        probe, _ = pollers["probe"]
        receives = probe.proxy.calls("ReceiveMessage")
        by_queue = {}
        for call in receives:
            by_queue.setdefault(call.params["QueueUrl"], []).append(call)
        assert by_queue, "the probe never waited on a tap"
        for url, calls in by_queue.items():
            waits = [c.params.get("WaitTimeSeconds", 0) for c in calls]
            assert len(calls) == 1 and WINDOW - 1 <= waits[0] <= 20, (url, waits)
    finally:
        for poller, _ in pollers.values():
            if poller.process.poll() is None:
                poller.process.kill()
                poller.process.communicate(timeout=30)
            poller.proxy.close()
    wait_for(lambda: leftovers(boto) == [], timeout=10)
