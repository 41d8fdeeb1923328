"""`eda trace` across 20 queues of 1,000 messages and 5 log groups of 10,000 events, against the same
searches made one after another (a plain boto3 loop), in the same run, on a local moto server.

Run: .venv/bin/python benchmarks/bench_trace.py [--queues 20] [--messages 1000] [--groups 5]
     [--events 10000] [--latency-ms 0 20] [--repeat 1]
(about 3 minutes on 2 cores, most of it the sequential searches at 20 ms; --messages 500 halves it)
Goal (issue 7): the trace takes at most 0.3 of the sequential searches' time.

Both sides make the same calls: per queue GetQueueAttributes, ReceiveMessage (10 at a time, 30 s
visibility, until every message is seen) and ChangeMessageVisibilityBatch back to 0; per log group
FilterLogEvents with the quoted id, every page. The trace runs them with `eda_cli.core.trace.run_trace`
(resource flags, so no discovery), DEFAULT_CONCURRENCY wide; the baseline one by one.

The server is moto's, in its own process, with its hot spots made cheap so that a call costs about
what it costs AWS whatever the queue's length (moto walks the whole queue on each, see MOTO-NOTES.md):
the retention check of each delivered message, the queue attributes computed on each send, the
receipt-handle lookup of ChangeMessageVisibility, the clock read per message when listing visible
ones, and the receipt-handle generator. Semantics are unchanged. With --latency-ms it also
sleeps that long before answering each AWS call (an emulated network round trip, as
benchmarks/_latency_server.py does), switched on after seeding.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._moto import dummy_credentials

TARGET = "corr-target-0042"

# -- the server (runs in its own process: `bench_trace.py --serve PORT`) -------------------------


def _patch_moto() -> None:
    from moto.core.utils import unix_time
    from moto.sqs import models

    backend, queue_cls, message_cls = models.SQSBackend, models.Queue, models.Message
    cheap = threading.local()

    # 1. send_message reads queue.attributes (every count walks the queue) for one flag.
    def counted(original: Callable[[Any], int]) -> property:
        return property(lambda self: 0 if getattr(cheap, "on", False) else original(self))

    for name in ("approximate_number_of_messages", "approximate_number_of_messages_not_visible",
                 "approximate_number_of_messages_delayed"):
        setattr(queue_cls, name, counted(getattr(queue_cls, name).fget))
    send = backend.send_message

    def send_message(self: Any, *args: Any, **kwargs: Any) -> Any:
        cheap.on = True
        try:
            return send(self, *args, **kwargs)
        finally:
            cheap.on = False

    # 2. each delivered message's retention check computed every queue attribute.
    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return bool(retention + message.sent_timestamp / 1000 > unix_time())

    # 3. ChangeMessageVisibility searched every message's receipt handles.
    by_handle: dict[str, Any] = {}
    mark_received = message_cls.mark_received

    def mark(self: Any, visibility_timeout: int | None = None) -> None:
        mark_received(self, visibility_timeout)
        by_handle[self.receipt_handle] = self

    change = backend.change_message_visibility

    def change_message_visibility(self: Any, queue_name: str, receipt_handle: str, visibility_timeout: int) -> None:
        queue = self.get_queue(queue_name)
        message = by_handle.get(receipt_handle)
        if message is None or int(visibility_timeout) != 0 or not any(m is message for m in queue._messages):
            return change(self, queue_name, receipt_handle, visibility_timeout)
        message.change_visibility(0)
        queue.pending_messages.discard(message)
        return None

    # 4. the visible-message list read the clock once per message; receipt handles drew 185 random choices.
    from moto.core.utils import unix_time_millis

    def messages(self: Any) -> list[Any]:
        now = unix_time_millis()
        return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]

    patches: list[tuple[Any, str, Any]] = [
        (queue_cls, "messages", property(messages)),
        (models, "generate_receipt_handle", lambda: secrets.token_urlsafe(138)),
        (backend, "send_message", send_message),
        (backend, "is_message_valid_based_on_retention_period", is_message_valid_based_on_retention_period),
        (backend, "change_message_visibility", change_message_visibility),
        (message_cls, "mark_received", mark),
    ]
    for owner, name, value in patches:
        setattr(owner, name, value)


def serve(port: int) -> None:
    os.environ.setdefault("MOTO_PORT", str(port))
    _patch_moto()
    from moto.moto_server.threaded_moto_server import DomainDispatcherApplication
    from moto.moto_server.werkzeug_app import create_backend_app
    from moto.server import MotoRequestHandler
    from werkzeug.serving import run_simple

    inner = DomainDispatcherApplication(create_backend_app)
    latency = [0.0]

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/_bench/latency":
            latency[0] = float(environ.get("QUERY_STRING", "ms=0").split("=", 1)[1]) / 1000
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        if latency[0] and not path.startswith("/moto-api"):
            time.sleep(latency[0])
        return inner(environ, start_response)

    run_simple("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)


class Server:
    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen([sys.executable, __file__, "--serve", str(self.port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(300):
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=1).read()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the benchmark's moto server did not start")

    def latency(self, ms: float) -> None:
        urllib.request.urlopen(f"{self.url}/_bench/latency?ms={ms}", timeout=5).read()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


# -- the workload -----------------------------------------------------------------------------------


def seed(client: Callable[[str], Any], queues: int, messages: int, groups: int, events: int) -> int:
    """Queues `svcNN-dlq` and log groups `/aws/lambda/svcN`; TARGET is in a few of each. Returns
    how many places hold it (hits expected: 3 queues x 1 message, each group 3 lines)."""
    sqs, logs = client("sqs"), client("logs")

    def fill(q: int) -> None:
        url = sqs.create_queue(QueueName=f"svc{q:02d}-dlq")["QueueUrl"]
        for start in range(0, messages, 10):
            entries = []
            for i in range(start, min(start + 10, messages)):
                cid = TARGET if (q % 7 == 3 and i == messages // 2) else f"corr-{q:02d}-{i:05d}"
                body = {"Type": "Notification", "Message": json.dumps(
                    {"orderId": f"o-{q}-{i}", "correlationId": cid, "amount": i, "items": [{"sku": "SKU-1"}]})}
                entries.append({"Id": str(i - start), "MessageBody": json.dumps(body)})
            sqs.send_message_batch(QueueUrl=url, Entries=entries)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(fill, range(queues)))
    now = int(time.time() * 1000)
    for g in range(groups):
        name = f"/aws/lambda/svc{g}"
        logs.create_log_group(logGroupName=name)
        logs.create_log_stream(logGroupName=name, logStreamName="s")
        batch = []
        for i in range(events):
            cid = TARGET if i in (10, events // 2, events - 10) else f"corr-{g}-{i:05d}"
            batch.append({"timestamp": now - (events - i) * 200, "message": f"INFO processed {cid} in {i % 97} ms"})
        logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=batch)
    return sum(1 for q in range(queues) if q % 7 == 3) + 3 * groups


def sequential(client: Callable[[str], Any], queue_names: list[str], groups: list[str], since: float,
               until: float) -> int:
    """The baseline: the same searches, one after another, as a plain script would make them."""
    sqs, logs = client("sqs"), client("logs")
    hits = 0
    for name in queue_names:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        visible = int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
                      ["ApproximateNumberOfMessages"])
        handles: dict[str, str] = {}
        quiet = 0
        while quiet < 3:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30, WaitTimeSeconds=0,
                                      MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"])
            new = 0
            for m in got.get("Messages", []):
                if m["MessageId"] in handles:
                    continue
                handles[m["MessageId"]] = m["ReceiptHandle"]
                new += 1
                body = json.loads(m["Body"])
                inner = json.loads(body["Message"]) if body.get("Type") == "Notification" else body
                hits += inner.get("correlationId") == TARGET
            quiet = 0 if new else quiet + 1
            if not new and len(handles) >= visible:
                break
        items = list(handles.values())
        for start in range(0, len(items), 10):
            chunk = items[start : start + 10]
            sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0} for i, h in enumerate(chunk)])
    for group in groups:
        pages = logs.get_paginator("filter_log_events").paginate(
            logGroupName=group, filterPattern=f'"{TARGET}"', startTime=int(since * 1000), endTime=int(until * 1000))
        for page in pages:
            hits += sum(TARGET in e["message"] for e in page.get("events", []))
    return hits


def with_eda(client: Callable[[str], Any], queue_names: list[str], groups: list[str], since: float,
             until: float) -> int:
    from eda_cli.core.trace import TraceOptions, id_paths, plan_from_flags, run_trace

    plan = plan_from_flags(queues=queue_names, log_groups=groups)
    result = run_trace(client, plan, TraceOptions(TARGET, id_paths(), since, until), region="us-east-1")
    assert not result.errors, result.errors
    return len(result.hits)


def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    """One server, seeded once; each emulated round trip measured in turn (interleaved repeats)."""
    from eda_cli.aws.session import AwsSession, AwsSettings

    server = Server()
    try:
        session = AwsSession(AwsSettings(region="us-east-1", endpoint_url=server.url))
        calls: Counter[str] = Counter()
        lock = threading.Lock()

        def count(event_name: str, **_: Any) -> None:
            service, operation = event_name.split(".")[1:3]
            with lock:
                calls[f"{service}:{operation}"] += 1

        for service in ("sqs", "logs"):
            session.client(service).meta.events.register("before-call", count)
        started = time.perf_counter()
        expected = seed(session.client, args.queues, args.messages, args.groups, args.events)
        print(f"seeded in {time.perf_counter() - started:.1f}s; {expected} hits expected\n")
        print("| emulated RTT per call | sequential searches (s) | eda trace (s) | ratio trace/sequential "
              "| SQS calls (seq / trace) | Logs calls (seq / trace) |")
        print("|---|---|---|---|---|---|", flush=True)
        queue_names = [f"svc{q:02d}-dlq" for q in range(args.queues)]
        groups = [f"/aws/lambda/svc{g}" for g in range(args.groups)]
        since, until = time.time() - 6 * 3600, time.time() + 60
        rows = []
        for latency_ms in args.latency_ms:
            server.latency(latency_ms)
            base: list[float] = []
            mine: list[float] = []
            base_calls: Counter[str] = Counter()
            mine_calls: Counter[str] = Counter()
            for _ in range(args.repeat):  # interleaved, so machine noise hits both alike
                calls.clear()
                t = time.perf_counter()
                assert sequential(session.client, queue_names, groups, since, until) == expected
                base.append(time.perf_counter() - t)
                base_calls = Counter(calls)
                calls.clear()
                t = time.perf_counter()
                assert with_eda(session.client, queue_names, groups, since, until) == expected
                mine.append(time.perf_counter() - t)
                mine_calls = Counter(calls)
            rows.append({"latency": latency_ms, "base": statistics.median(base), "mine": statistics.median(mine),
                         "base_calls": base_calls, "mine_calls": mine_calls})
            print_row(rows[-1])
        return rows
    finally:
        server.stop()


def print_row(r: dict[str, Any]) -> None:
    b, m = r["base_calls"], r["mine_calls"]
    logs = "cloudwatch-logs"
    print(f"| {r['latency']:g} ms | {r['base']:.2f} | {r['mine']:.2f} | {r['mine'] / r['base']:.2f} "
          f"| {_calls(b, 'sqs')} / {_calls(m, 'sqs')} | {_calls(b, logs)} / {_calls(m, logs)} |", flush=True)


def _calls(counter: Counter[str], service: str) -> int:
    return sum(n for key, n in counter.items() if key.startswith(service + ":"))


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--queues", type=int, default=20)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=5)
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, nargs="*", default=[0, 20],
                        help="emulated network round trip per AWS call (0: raw loopback moto)")
    args = parser.parse_args()
    dummy_credentials()
    from eda_cli.core.concurrency import DEFAULT_CONCURRENCY

    print(f"{args.queues} queues x {args.messages} messages, {args.groups} log groups x {args.events} events; "
          f"trace {DEFAULT_CONCURRENCY} wide; median of {args.repeat}; moto server in its own process")
    measure(args)
    print("\ngoal: ratio <= 0.3 (at an AWS-like round trip; on raw loopback moto's own CPU is the bottleneck)")


if __name__ == "__main__":
    main()
