"""Benchmark of `eda redrive` (copy mode) against a naive loop, on a local moto server, in one run.

    .venv/bin/python benchmarks/bench_redrive.py [--messages 10000] [--naive-messages 2000]
        [--concurrency 1,2,4,8] [--rss-sizes 2000,10000] [--latency-ms 5] [--latency-messages 3000]

What is measured:
  * eda: `python -m eda_cli redrive DLQ --yes --mode copy --concurrency C -o json` moving `--messages`
    messages from a DLQ back to its source, once per concurrency. Throughput is moved / the redrive's
    own `seconds` (start-up excluded); API calls come from the summary, which counts every SQS call
    with a botocore event hook; peak RSS is the CLI process's ru_maxrss.
  * naive: receive 1, send 1, delete 1, in a loop, in this process, with the same hook counting calls.
    Before each eda run, the naive loop moves a slice (`--naive-messages` in all) of the freshly seeded
    queue of `--messages`, and eda moves the rest: the two are measured side by side, on the same
    queue, so that load from elsewhere on the machine does not favour either (3 naive calls per message
    do not fit 10,000 messages per run in the time budget).
  * memory: eda's peak RSS at each of `--rss-sizes` (the default concurrency), to show it does not grow.
  * the same comparison again with `--latency-ms` of simulated network latency per request (the server
    sleeps before answering, outside its lock). Locally a request costs CPU, not a network round trip,
    and the client and moto share the machine's cores; on AWS each call is a round trip of several ms,
    which is what batching and concurrent workers save. Reported separately, never mixed into the first table.

The server is moto, in its own process, with two changes made for this benchmark only:
  * HTTP keep-alive, as with AWS (moto's server closes the connection after every answer, which would
    make each of the naive loop's calls pay a TCP connect);
  * its SQS backend is serialised by a lock: concurrent deletes in moto can resurrect or drop
    messages (MOTO-NOTES.md), and every run checks that each message arrived exactly once;
  * its O(N)-per-call hot spots are made O(1)-ish, so that the client is what is measured, not moto's
    N^2: the visible-message list is computed lazily, the retention check reads one attribute instead
    of computing all queue attributes (3 walks of the queue) per delivered message, SendMessage does
    not compute all attributes to read ContentBasedDeduplication, and DeleteMessage finds the message
    by its receipt handle instead of rebuilding the whole list.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REGION = "us-east-1"
ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION,
       "AWS_DEFAULT_REGION": REGION}

GOAL_CALLS_PER_MESSAGE = 0.32
GOAL_RATIO = 8.0
GOAL_RSS_MIB = 120.0


# -- the server (runs in its own process with --serve) -----------------------------------------------


def _patch_moto() -> None:
    from moto import backends
    from moto.sqs import models
    from moto.sqs.models import Message, Queue, SQSBackend

    # Every request looks its host up in moto's package directory (a listdir and ~200 stats): once is enough.
    modules = tuple(backends.list_of_moto_modules())
    setattr(backends, "list_of_moto_modules", lambda: modules)  # noqa: B010

    lock = threading.RLock()

    def locked(method: Any) -> Any:
        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return method(*args, **kwargs)

        return wrapper

    for name in ("send_message", "send_message_batch", "delete_message", "delete_message_batch",
                 "change_message_visibility", "change_message_visibility_batch", "get_queue_attributes",
                 "purge_queue", "create_queue", "delete_queue", "list_dead_letter_source_queues"):
        setattr(SQSBackend, name, locked(getattr(SQSBackend, name)))

    original_receive = SQSBackend.receive_message

    def receive(self: Any, queue_name: str, count: int, wait: int, visibility: int,
                names: list[str] | None = None) -> Any:
        deadline = time.monotonic() + (wait or 0)
        while True:
            with lock:
                found = original_receive(self, queue_name, count, 0, visibility, names)
            if found or time.monotonic() >= deadline:
                return found
            time.sleep(0.02)

    setattr(SQSBackend, "receive_message", receive)  # noqa: B010

    class Visible:
        """Queue.messages, lazily: receive stops after `count`, instead of listing the whole queue."""

        def __init__(self, queue: Any) -> None:
            self._queue = queue

        def __iter__(self) -> Any:
            now = models.unix_time_millis()
            return (m for m in self._queue._messages if now > m.visible_at and now >= m.delayed_until)

        def __bool__(self) -> bool:
            return next(iter(self), None) is not None

        def __len__(self) -> int:
            return sum(1 for _ in self)

    setattr(Queue, "messages", property(lambda self: Visible(self)))  # noqa: B010

    def retention_ok(self: Any, queue_name: str, message: Any) -> bool:
        queue = self.get_queue(queue_name)
        return bool(int(queue.message_retention_period) + message.sent_timestamp / 1000 > models.unix_time())

    setattr(SQSBackend, "is_message_valid_based_on_retention_period", retention_ok)  # noqa: B010

    cheap = threading.local()
    full_attributes = Queue.attributes

    def attributes(self: Any) -> dict[str, Any]:
        if getattr(cheap, "on", False):
            value = getattr(self, "content_based_deduplication", "false")
            return {"ContentBasedDeduplication": str(value).lower() if isinstance(value, bool) else value}
        result: dict[str, Any] = full_attributes.fget(self)  # type: ignore[attr-defined]
        return result

    setattr(Queue, "attributes", property(attributes))  # noqa: B010
    original_send = SQSBackend.send_message

    def send(self: Any, *args: Any, **kwargs: Any) -> Any:
        cheap.on = True
        try:
            return original_send(self, *args, **kwargs)
        finally:
            cheap.on = False

    setattr(SQSBackend, "send_message", locked(send))  # noqa: B010

    handles: dict[str, Any] = {}
    original_mark = Message.mark_received

    def mark_received(self: Any, visibility_timeout: int | None = None) -> None:
        original_mark(self, visibility_timeout)
        handles[self.receipt_handle] = self

    setattr(Message, "mark_received", mark_received)  # noqa: B010
    original_delete = Queue.delete_message

    def delete_message(self: Any, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:
            return
        message = handles.get(receipt_handle)
        if message is None:
            original_delete(self, receipt_handle)
            return
        try:
            self._messages.remove(message)  # identity first, and deleted messages sit near the head
        except ValueError:
            original_delete(self, receipt_handle)
            return
        self.pending_messages.discard(message)
        self.deleted_messages.update(message.all_receipt_handles)
        for handle in message.all_receipt_handles:
            handles.pop(handle, None)

    setattr(Queue, "delete_message", delete_message)  # noqa: B010


def serve(port: int) -> None:
    _patch_moto()
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    class KeepAlive(MotoRequestHandler):
        protocol_version = "HTTP/1.1"  # as AWS: connections are reused, not one TCP connect per call

    app = DomainDispatcherApplication(create_backend_app)
    latency = [0.0]

    def with_latency(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == "/_bench/latency":
            latency[0] = float(environ.get("QUERY_STRING", "ms=0").split("=", 1)[1]) / 1000
            start_response("200 OK", [("Content-Length", "0")])
            return [b""]
        if latency[0]:
            time.sleep(latency[0])  # the network's share of a round trip; outside the SQS lock
        return app(environ, start_response)

    server = make_server("127.0.0.1", port, with_latency, threaded=True, request_handler=KeepAlive)
    print("ready", flush=True)
    server.serve_forever()


# -- the client side ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _client(url: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing").client(
        "sqs", endpoint_url=url, config=Config(max_pool_connections=32, retries={"mode": "standard"}))


def _set_latency(url: str, ms: float) -> None:
    urllib.request.urlopen(f"{url}/_bench/latency?ms={ms}", timeout=30).read()


def _reset(url: str) -> None:
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST", data=b"")
    urllib.request.urlopen(request, timeout=30).read()


def _seed(sqs: Any, url: str, count: int) -> tuple[str, str]:
    """Reset; a DLQ holding `count` messages (~200-byte bodies, two attributes) and its source."""
    _reset(url)
    dlq = sqs.create_queue(QueueName="bench-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = sqs.create_queue(QueueName="bench", Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "3"})})["QueueUrl"]
    from concurrent.futures import ThreadPoolExecutor

    def batch(start: int) -> None:
        entries = [{"Id": str(i), "MessageBody": json.dumps({"id": start + i, "pad": "x" * 160}),
                    "MessageAttributes": {"tenant": {"DataType": "String", "StringValue": "acme"},
                                          "amount": {"DataType": "Number.float", "StringValue": "12.5"}}}
                   for i in range(min(10, count - start))]
        sqs.send_message_batch(QueueUrl=dlq, Entries=entries)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(batch, range(0, count, 10)))
    return dlq, source


def _depth(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


class _Counter:
    def __init__(self, client: Any) -> None:
        self.calls = 0
        client.meta.events.register("before-parameter-build.sqs", self._count)

    def _count(self, **kwargs: Any) -> None:
        self.calls += 1


def naive(sqs: Any, dlq: str, source: str, limit: int) -> dict[str, float]:
    """receive 1, send 1, delete 1: what a hand-written redrive script does."""
    counter = _Counter(sqs)
    start_calls = counter.calls
    moved = 0
    started = time.perf_counter()
    while moved < limit:
        got = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=1, WaitTimeSeconds=0, VisibilityTimeout=30,
                                  MessageAttributeNames=["All"]).get("Messages", [])
        if not got:
            break
        message = got[0]
        kwargs: dict[str, Any] = {"QueueUrl": source, "MessageBody": message["Body"]}
        if message.get("MessageAttributes"):
            kwargs["MessageAttributes"] = message["MessageAttributes"]
        sqs.send_message(**kwargs)
        sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
        moved += 1
    seconds = time.perf_counter() - started
    return {"moved": moved, "seconds": seconds, "rate": moved / seconds, "calls": counter.calls - start_calls}


_RUN = """
import json, resource, sys
from eda_cli.app import run
code = run(sys.argv[1:])
sys.stdout.flush()
print(json.dumps({"code": code, "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}), file=sys.stderr)
"""


def eda(url: str, concurrency: int) -> dict[str, Any]:
    args = ["--endpoint-url", url, "--output", "json", "redrive", "bench-dlq", "--yes", "--mode", "copy",
            "--concurrency", str(concurrency)]
    process = subprocess.run([sys.executable, "-c", _RUN, *args], capture_output=True, text=True, cwd=ROOT,
                             env={**os.environ, **ENV}, timeout=900)
    tail = json.loads(process.stderr.strip().splitlines()[-1])
    if tail["code"] != 0:
        raise SystemExit(f"eda exited {tail['code']}: {process.stderr[-2000:]}")
    summary: dict[str, Any] = json.loads(process.stdout)
    summary["rss_mib"] = tail["rss_kib"] / 1024
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--naive-messages", type=int, default=2_000)
    parser.add_argument("--concurrency", default="1,2,4,8")
    parser.add_argument("--rss-sizes", default="2000,10000")
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--latency-messages", type=int, default=3_000)
    parser.add_argument("--latency-naive-messages", type=int, default=300)
    parser.add_argument("--latency-concurrency", default="1,4,8,16")
    options = parser.parse_args()
    if options.serve:
        serve(options.serve)
        return
    from eda_cli.core.redrive import DEFAULT_CONCURRENCY

    os.environ.update(ENV)
    port = _free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, env={**os.environ, "MOTO_PORT": str(port)})
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        url = f"http://127.0.0.1:{port}"
        sqs = _client(url)
        started = time.perf_counter()
        local = _compare(sqs, url, options.messages, options.naive_messages, _ints(options.concurrency))
        rss = []
        for size in _ints(options.rss_sizes):
            _seed(sqs, url, size)
            summary = eda(url, DEFAULT_CONCURRENCY)
            assert summary["moved"] == size, summary
            rss.append((size, summary["rss_mib"]))
        remote = None
        if options.latency_ms > 0:
            _set_latency(url, options.latency_ms)
            remote = _compare(sqs, url, options.latency_messages, options.latency_naive_messages,
                              _ints(options.latency_concurrency))
        total = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=10)

    print("### eda redrive vs a naive loop (receive 1, send 1, delete 1)\n")
    print(f"moto {_version('moto')} server on 127.0.0.1 in its own process (keep-alive, SQS serialised, N^2 hot "
          f"spots patched; see the docstring), Python {platform.python_version()}, {os.cpu_count()} CPU(s); "
          f"whole benchmark {total:.0f} s.\n")
    print(f"Local, no added latency ({options.messages:,} messages):\n")
    _table(*local, DEFAULT_CONCURRENCY)
    print("\n| messages moved (default concurrency) | eda peak RSS |")
    print("|---:|---:|")
    for size, mib in rss:
        print(f"| {size:,} | {mib:.0f} MiB |")
    if remote is not None:
        print(f"\nWith {options.latency_ms:g} ms of simulated network latency per request "
              f"({options.latency_messages:,} messages):\n")
        _table(*remote, DEFAULT_CONCURRENCY)
    baseline, rows = local
    default = next((s for c, s in rows if c == DEFAULT_CONCURRENCY), rows[-1][1])
    calls = default["api_calls"] / default["moved"]
    ratio = default["moved"] / default["seconds"] / baseline["rate"]
    biggest = max(m for _, m in rss)
    print(f"\nGoals at the default concurrency ({DEFAULT_CONCURRENCY}), local table: calls/msg {calls:.3f} "
          f"(goal <= {GOAL_CALLS_PER_MESSAGE}: {'met' if calls <= GOAL_CALLS_PER_MESSAGE else 'MISSED'}); "
          f"throughput {ratio:.1f}x the naive loop (goal >= {GOAL_RATIO:g}x: "
          f"{'met' if ratio >= GOAL_RATIO else 'MISSED'}); peak RSS {biggest:.0f} MiB at "
          f"{max(s for s, _ in rss):,} messages (goal < {GOAL_RSS_MIB:g} MiB at 100,000: "
          f"{'met' if biggest < GOAL_RSS_MIB else 'MISSED'} at the sizes measured).")
    if remote is not None:
        base, rows = remote
        default = next((s for c, s in rows if c == DEFAULT_CONCURRENCY), rows[-1][1])
        print(f"With {options.latency_ms:g} ms latency: {default['moved'] / default['seconds'] / base['rate']:.1f}x "
              f"the naive loop at the default concurrency.")


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def _compare(sqs: Any, url: str, messages: int, naive_messages: int,
             concurrencies: list[int]) -> tuple[dict[str, float], list[tuple[int, dict[str, Any]]]]:
    """For each concurrency: seed `messages`, let the naive loop move its slice, then eda the rest.

    Interleaving the two keeps a busy machine from favouring either: the naive loop's rate is the
    total of its slices, taken between the eda runs it is compared with.
    """
    slice_ = max(1, naive_messages // len(concurrencies))
    totals = {"moved": 0.0, "seconds": 0.0, "calls": 0.0}
    rows = []
    for concurrency in concurrencies:
        dlq, source = _seed(sqs, url, messages)
        part = naive(sqs, dlq, source, slice_)
        for key in totals:
            totals[key] += part[key]
        summary = eda(url, concurrency)
        assert summary["moved"] == messages - part["moved"], summary
        assert _depth(sqs, source) == messages and _depth(sqs, dlq) == 0, "lost or duplicated messages"
        rows.append((concurrency, summary))
    totals["rate"] = totals["moved"] / totals["seconds"]
    return totals, rows


def _table(baseline: dict[str, float], rows: list[tuple[int, dict[str, Any]]], default: int) -> None:
    print("| run | messages | msgs/s | SQS calls/msg | vs naive | peak RSS |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| naive loop | {baseline['moved']:,.0f} | {baseline['rate']:,.0f} | "
          f"{baseline['calls'] / baseline['moved']:.2f} | 1.0x | - |")
    for concurrency, summary in rows:
        rate = summary["moved"] / summary["seconds"]
        mark = " (default)" if concurrency == default else ""
        print(f"| eda --concurrency {concurrency}{mark} | {summary['moved']:,} | {rate:,.0f} | "
              f"{summary['api_calls'] / summary['moved']:.3f} | {rate / baseline['rate']:.1f}x | "
              f"{summary['rss_mib']:.0f} MiB |")


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


if __name__ == "__main__":
    main()
