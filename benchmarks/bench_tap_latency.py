"""Latency of `eda tail bus` and `eda probe` against a local moto server, each against a plain boto3 baseline
run in the same session; and how many requests an idle `eda tail bus` makes.

    .venv/bin/python benchmarks/bench_tap_latency.py [--events 50] [--rounds 3] [--probes 20] [--idle 25]
        [--lumigo node_modules/.bin/lumigo-cli]

(about 4 minutes on 2 cores). A moto server runs in its own process (benchmarks/_moto.py) with a
pipeline on it: a bus, a rule on it (source shop.orders) targeting a queue whose policy admits the rule.

* tail bus: `eda -o jsonl tail bus BUS --count N` in its own process; once it says "listening" on stderr,
  N events go one at a time (a random pause before each, each waited for before the next), and each is
  timed from just before PutEvents to the moment its line is read from eda's stdout (a reader thread
  stamps each line). Baseline: a plain boto3 tail in its own process (this script with --plain-tail),
  read the same way: a tap made the way eda makes its own (a queue, a match-all rule targeting it, a
  queue policy for the rule), long polls (WaitTimeSeconds=20, MaxNumberOfMessages=10), a delete of what
  arrived, then each body printed on a line (eda prints after its delete too). For reference, the same
  consumer as a thread of the sending process, stamping each message once deleted: no process output,
  no pipe (but it shares this process's GIL with the sender and the readers). With --lumigo, the peer
  `lumigo-cli tail-eventbridge-bus` (npm lumigo-cli 0.48.4, AWS SDK for JavaScript v2) is timed like
  eda; a preload script points its SDK at moto, stubs its analytics (Segment) and refuses any
  non-loopback connection. All take turns, --rounds runs each.
* probe: `eda -o json probe --bus BUS --event ... --yes --settle 0 --timeout 10`, --probes times; its
  targets[].latency_ms (send to received on its tap) and the command's wall time. Baselines, taking turns
  with it: (a) in this process, PutEvents then long-polling the pipeline's own queue until that event
  arrives, for the latency; (b) a plain boto3 probe in a fresh process (this script with --plain-probe:
  a tap queue and a rule narrowed to the id, send, wait, remove), for the wall time.
* idle: moto's request recorder counts what `eda tail bus` (no --count, no --timeout), the baseline
  consumer and the peer ask for during --idle seconds of silence, all at once; then eda gets SIGTERM, and
  the time it takes to remove its tap and exit is measured.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import math
import os
import platform
import queue
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _moto import dummy_credentials, moto_server  # noqa: E402

BUS = "bench-orders"
SOURCE = "shop.orders"
PIPELINE_QUEUE = "bench-fulfilment"
PIPELINE_RULE = "bench-order-placed"
#: The baseline's user agent, so that moto's recording tells its requests from eda's (eda-cli/VERSION).
BASELINE_AGENT = "bench-baseline"
MATCH_ALL = '{"source": [{"prefix": ""}]}'
ARRIVAL_TIMEOUT = 10.0


# -- plain boto3: the pipeline, and a tap made the way eda makes one ---------------------------------


def clients(endpoint: str) -> tuple[Any, Any]:
    import boto3
    from botocore.config import Config

    config = Config(user_agent_extra=BASELINE_AGENT)
    return (boto3.client("events", endpoint_url=endpoint, config=config),
            boto3.client("sqs", endpoint_url=endpoint, config=config))


def queue_arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def admit(sqs: Any, url: str, arn: str, rule_arn: str) -> None:
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}}]}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})


def create_pipeline(events: Any, sqs: Any) -> str:
    """A bus and a rule on it targeting a queue with a policy for the rule; returns the queue's URL."""
    events.create_event_bus(Name=BUS)
    url = sqs.create_queue(QueueName=PIPELINE_QUEUE)["QueueUrl"]
    arn = queue_arn(sqs, url)
    rule_arn = events.put_rule(Name=PIPELINE_RULE, EventBusName=BUS,
                               EventPattern=json.dumps({"source": [SOURCE]}))["RuleArn"]
    admit(sqs, url, arn, rule_arn)
    events.put_targets(Rule=PIPELINE_RULE, EventBusName=BUS, Targets=[{"Id": "fulfilment", "Arn": arn}])
    return str(url)


def receive_and_delete(sqs: Any, url: str, wait: int, deletes: list[float] | None = None) -> list[dict[str, Any]]:
    """One long poll (up to 10 messages), and a delete of what it brought, as eda's tap does; `deletes` gets
    the seconds each delete took."""
    messages: list[dict[str, Any]] = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait).get("Messages", [])
    if messages:
        started = time.perf_counter()
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
        if deletes is not None:
            deletes.append(time.perf_counter() - started)
    return messages


def drain(sqs: Any, url: str) -> None:
    """Empty a queue (PurgeQueue allows one call a minute)."""
    while receive_and_delete(sqs, url, 0):
        pass


class PlainTap:
    """What eda's tap does, in plain boto3: a queue, a rule on the bus targeting it (the queue's policy admits
    the rule), long polls that delete what they receive, and removal."""

    def __init__(self, events: Any, sqs: Any, name: str, pattern: str = MATCH_ALL) -> None:
        self.events, self.sqs, self.name = events, sqs, name
        self.url = sqs.create_queue(QueueName=name, Attributes={"MessageRetentionPeriod": "300"})["QueueUrl"]
        arn = queue_arn(sqs, self.url)
        rule_arn = events.put_rule(Name=name, EventBusName=BUS, EventPattern=pattern, State="ENABLED")["RuleArn"]
        admit(sqs, self.url, arn, rule_arn)
        events.put_targets(Rule=name, EventBusName=BUS, Targets=[{"Id": "tap", "Arn": arn}])
        self.deletes: list[float] = []

    def receive(self, wait: int) -> list[dict[str, Any]]:
        return receive_and_delete(self.sqs, self.url, wait, self.deletes)

    def consume(self, arrivals: queue.Queue[tuple[float, Any]], count: float, seconds: float) -> None:
        """Thread body: receive until `count` messages or `seconds`, each handed over with the time it was
        received and deleted (perf_counter)."""
        deadline, received = time.monotonic() + seconds, 0
        while received < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            messages = self.receive(min(20, math.ceil(remaining)))
            now = time.perf_counter()
            for message in messages:
                received += 1
                arrivals.put((now, json.loads(message["Body"])))

    def close(self) -> None:
        self.events.remove_targets(Rule=self.name, EventBusName=BUS, Ids=["tap"])
        self.events.delete_rule(Name=self.name, EventBusName=BUS)
        self.sqs.delete_queue(QueueUrl=self.url)


# -- tails in their own processes -------------------------------------------------------------------


class TailProcess:
    """A tail in its own process: each event it prints is handed over with the time its line was read
    (perf_counter); both streams are kept. Killed on every way out of the `with`."""

    #: The line (on stderr for eda) that says the tail is ready.
    ready = "listening"
    ready_on = "stderr"

    def __init__(self, command: list[str], env: dict[str, str] | None = None, stdin: int | None = None) -> None:
        self.arrivals: queue.Queue[tuple[float, Any]] = queue.Queue()
        self.output: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self._ready: queue.Queue[str | None] = queue.Queue()
        self.process = subprocess.Popen(command, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, cwd=ROOT, env=env)
        threading.Thread(target=self._read, args=("stdout",), daemon=True).start()
        threading.Thread(target=self._read, args=("stderr",), daemon=True).start()

    def parse(self, line: str) -> Any:
        """The event a stdout line shows (its detail is what send_series looks at), or None."""
        return json.loads(line)

    def _read(self, name: str) -> None:
        stream = getattr(self.process, name)
        for line in stream:
            at = time.perf_counter()
            self.output[name].append(line.rstrip("\n"))
            if name == self.ready_on:
                self._ready.put(line)
            if name == "stdout":
                body = self.parse(line)
                if body is not None:
                    self.arrivals.put((at, body))
        if name == self.ready_on:
            self._ready.put(None)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._ready.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(f"{self.process.args} not ready within {timeout:g} s: {self.output}") from None
            if line is None:
                raise RuntimeError(f"{self.process.args} ended before it was ready: {self.output}")
            if self.ready in line:
                return

    def stop(self) -> int:
        """Ask the tail to stop (as a user would), and wait for it: its exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def __enter__(self) -> TailProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


class EdaTail(TailProcess):
    """`eda -o jsonl tail bus BUS ...`."""

    def __init__(self, endpoint: str, *extra: str) -> None:
        super().__init__([sys.executable, "-m", "eda_cli", "--endpoint-url", endpoint, "-o", "jsonl", "tail", "bus",
                          BUS, *extra])


class PlainTail(TailProcess):
    """The baseline tail: this script with --plain-tail, a plain boto3 tap printing each body as it came."""

    def __init__(self, endpoint: str, n: int) -> None:
        super().__init__([sys.executable, os.path.abspath(__file__), "--plain-tail", endpoint, "--events", str(n)])


def plain_tail_main(endpoint: str, n: int) -> None:
    """--plain-tail: what a minimal tail script does: a tap, "listening" on stderr, each message's body on a line
    of stdout (flushed) once received and deleted, until `n` messages; then the tap is removed."""
    events, sqs = clients(endpoint)
    tap = PlainTap(events, sqs, f"bench-tail-{secrets.token_hex(4)}")
    try:
        print("listening", file=sys.stderr, flush=True)
        received = 0
        while received < n:
            for message in tap.receive(20):
                received += 1
                print(message["Body"], flush=True)
    finally:
        tap.close()


#: Loaded into lumigo-cli's node (NODE_OPTIONS=-r): its AWS SDK for JavaScript v2 ignores endpoint variables, so
#: this points it at moto; its analytics (a Segment client) become a no-op; any connection to a host other than
#: loopback is refused, so nothing leaves the machine.
LUMIGO_PRELOAD = """
const Module = require("module");
const net = require("net");
const endpoint = process.env.BENCH_ENDPOINT;
const LOOPBACK = new Set([undefined, null, "", "localhost", "127.0.0.1", "::1"]);
const originalLoad = Module._load;
Module._load = function (request, parent, isMain) {
  if (request === "analytics-node") {
    return class { track() {} identify() {} flush(cb) { if (cb) cb(); } };
  }
  const loaded = originalLoad.apply(this, arguments);
  if (request === "aws-sdk" && !loaded.__benchLocal) {
    loaded.config.update({ endpoint, region: "us-east-1", credentials: new loaded.Credentials("testing", "testing") });
    loaded.__benchLocal = true;
  }
  return loaded;
};
const originalConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  const options = first !== null && typeof first === "object" ? first : { port: first, host: args[1] };
  if (!options.path && !LOOPBACK.has(options.host)) {
    throw new Error(`bench: refused a connection to ${options.host}`);
  }
  return originalConnect.apply(this, args);
};
"""


class LumigoTail(TailProcess):
    """The peer: lumigo-cli's `tail-eventbridge-bus` (a rule matching all but its own source, a queue, a
    5 s long poll). It prints each event as indented JSON after a time line, and stops on a key press on
    its terminal, so its stdin is a pseudo-terminal."""

    ready = "press <any key> to stop"
    ready_on = "stdout"

    def __init__(self, endpoint: str, lumigo: str, preload: str) -> None:
        import pty

        self._run = ""
        self._terminal, child = pty.openpty()
        env = {**os.environ, "BENCH_ENDPOINT": endpoint, "SKIP_VERSION_CHECK": "1", "NODE_OPTIONS": f"-r {preload}",
               "NODE_NO_WARNINGS": "1"}
        try:
            super().__init__([lumigo, "tail-eventbridge-bus", "-n", BUS, "-r", "us-east-1"], env=env, stdin=child)
        finally:
            os.close(child)

    def parse(self, line: str) -> Any:
        text = line.strip().rstrip(",")
        if text.startswith('"run": '):
            self._run = json.loads(text.split(": ", 1)[1])
        elif text.startswith('"seq": '):
            return {"detail": {"run": self._run, "seq": int(text.split(": ", 1)[1])}}
        return None

    def stop(self) -> int:
        # Not at once after an event: a key pressed while it deletes what it received makes it leave its poll
        # loop and delete its rule before its key handler has removed the rule's target, and the delete fails.
        time.sleep(1.0)
        os.write(self._terminal, b"q")
        return self.process.wait(timeout=30)

    def __exit__(self, *exc: object) -> None:
        try:
            super().__exit__(*exc)
        finally:
            os.close(self._terminal)


# -- the latency series ------------------------------------------------------------------------------


def send_series(events: Any, arrivals: queue.Queue[tuple[float, Any]], n: int, rng: random.Random,
                pause: tuple[float, float], label: str) -> list[float]:
    """Send `n` events one at a time, a random pause before each; each one's seconds from just before
    PutEvents to its arrival (as stamped by the consumer)."""
    run = secrets.token_hex(4)
    latencies = []
    for seq in range(n):
        time.sleep(rng.uniform(*pause))
        detail = json.dumps({"orderId": f"o-{seq}", "run": run, "seq": seq})
        started = time.perf_counter()
        events.put_events(Entries=[{"Source": SOURCE, "DetailType": "OrderPlaced", "Detail": detail,
                                    "EventBusName": BUS}])
        while True:
            try:
                at, body = arrivals.get(timeout=ARRIVAL_TIMEOUT)
            except queue.Empty:
                raise RuntimeError(f"{label}: event {seq} did not arrive within {ARRIVAL_TIMEOUT:g} s") from None
            got = body.get("detail", {}) if isinstance(body, dict) else {}
            if got.get("run") == run and got.get("seq") == seq:
                break
        latencies.append(at - started)
    return latencies


def tail_eda(endpoint: str, events: Any, n: int, rng: random.Random, pause: tuple[float, float]) -> list[float]:
    timeout = n * (pause[1] + 2) + 30
    with EdaTail(endpoint, "--count", str(n), "--timeout", f"{timeout:g}") as tail:
        tail.wait_ready()
        latencies = send_series(events, tail.arrivals, n, rng, pause, "eda tail bus")
        code = tail.process.wait(timeout=30)
        stderr = tail.output["stderr"]
        if code != 0 or not any(line.startswith("removed queue") for line in stderr):
            raise RuntimeError(f"eda tail bus exited {code} without removing its tap: {stderr}")
    return latencies


def tail_lumigo(endpoint: str, lumigo: str, preload: str, events: Any, n: int, rng: random.Random,
                pause: tuple[float, float]) -> list[float]:
    with LumigoTail(endpoint, lumigo, preload) as tail:
        tail.wait_ready()
        latencies = send_series(events, tail.arrivals, n, rng, pause, "lumigo-cli tail-eventbridge-bus")
        code = tail.stop()
        if code != 0 or not any("deleted temporary rule" in line for line in tail.output["stdout"]):
            raise RuntimeError(f"lumigo-cli exited {code} without removing its rule: {tail.output}")
    return latencies


def tail_plain(endpoint: str, events: Any, n: int, rng: random.Random, pause: tuple[float, float]) -> list[float]:
    with PlainTail(endpoint, n) as tail:
        tail.wait_ready()
        latencies = send_series(events, tail.arrivals, n, rng, pause, "plain boto3 tail")
        code = tail.process.wait(timeout=30)
        if code != 0:
            raise RuntimeError(f"the plain tail exited {code}: {tail.output}")
    return latencies


def tail_thread(events: Any, sqs: Any, n: int, rng: random.Random, pause: tuple[float, float],
                deletes: list[float]) -> list[float]:
    """The in-process consumer's latencies; `deletes` gets the seconds each of its DeleteMessageBatch calls
    took."""
    tap = PlainTap(events, sqs, f"bench-tap-{secrets.token_hex(4)}")
    try:
        arrivals: queue.Queue[tuple[float, Any]] = queue.Queue()
        consumer = threading.Thread(target=tap.consume, args=(arrivals, n, n * (pause[1] + 2) + 30), daemon=True)
        consumer.start()
        latencies = send_series(events, arrivals, n, rng, pause, "consumer thread")
        consumer.join(timeout=30)
    finally:
        tap.close()
    deletes += tap.deletes
    return latencies


# -- probe -------------------------------------------------------------------------------------------


def probe_eda(endpoint: str) -> tuple[float, float]:
    """One `eda probe`: (its latency_ms of the pipeline's target, the command's wall seconds)."""
    event = {"source": SOURCE, "detail-type": "OrderPlaced", "detail": {"orderId": "o-1"}}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "eda_cli", "--endpoint-url", endpoint, "-o", "json", "probe", "--bus", BUS,
         "--event", json.dumps(event), "--yes", "--settle", "0", "--timeout", "10"],
        capture_output=True, text=True, cwd=ROOT, timeout=120)
    wall = time.perf_counter() - started
    try:
        result = json.loads(done.stdout)
    except ValueError:
        result = None
    if done.returncode != 0 or not result or not result.get("ok") or len(result["targets"]) != 1:
        raise RuntimeError(f"eda probe failed ({done.returncode}): {done.stdout} {done.stderr}")
    return float(result["targets"][0]["latency_ms"]), wall


def probe_plain(endpoint: str) -> tuple[float, float]:
    """One plain boto3 probe in a fresh process: (its latency in ms, the process's wall seconds)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, os.path.abspath(__file__), "--plain-probe", endpoint],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"plain probe failed ({done.returncode}): {done.stdout} {done.stderr}")
    return float(json.loads(done.stdout)["latency_ms"]), wall


def wait_for(sqs: Any, url: str, marker: str) -> None:
    """Long-poll `url` (deleting what comes) until a message holding `marker` arrives."""
    deadline = time.monotonic() + ARRIVAL_TIMEOUT
    while time.monotonic() < deadline:
        if any(marker in m["Body"] for m in receive_and_delete(sqs, url, 20)):
            return
    raise RuntimeError(f"{marker} did not arrive within {ARRIVAL_TIMEOUT:g} s")


def plain_probe_main(endpoint: str) -> None:
    """--plain-probe: what a minimal probe script does, in one process: a tap narrowed to a fresh id, send,
    wait for it, remove the tap. Prints {"latency_ms": ...}."""
    events, sqs = clients(endpoint)
    marker = f"bench-probe-{secrets.token_hex(6)}"
    tap = PlainTap(events, sqs, marker, json.dumps({"source": [SOURCE], "detail": {"correlationId": [marker]}}))
    try:
        started = time.perf_counter()
        events.put_events(Entries=[{"Source": SOURCE, "DetailType": "OrderPlaced", "EventBusName": BUS,
                                    "Detail": json.dumps({"orderId": "o-1", "correlationId": marker})}])
        wait_for(sqs, tap.url, marker)
        latency = time.perf_counter() - started
    finally:
        tap.close()
    print(json.dumps({"latency_ms": latency * 1000}))


def send_and_wait(events: Any, sqs: Any, url: str) -> float:
    """PutEvents, then long-poll the pipeline's own queue until that event arrives: milliseconds."""
    drain(sqs, url)  # eda's probes left theirs there; not timed
    marker = f"bench-send-{secrets.token_hex(6)}"
    started = time.perf_counter()
    events.put_events(Entries=[{"Source": SOURCE, "DetailType": "OrderPlaced", "EventBusName": BUS,
                                "Detail": json.dumps({"orderId": "o-1", "correlationId": marker})}])
    wait_for(sqs, url, marker)
    return (time.perf_counter() - started) * 1000


# -- idle requests -----------------------------------------------------------------------------------


def recorder(endpoint: str, action: str) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/recorder/{action}", data=b"", method="POST")
    urllib.request.urlopen(request, timeout=10).read()


def recorded(path: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(who, action, parameters) of each recorded request: who is eda, baseline, lumigo or other (by the
    user agent); the action and parameters from a JSON request (X-Amz-Target) or a query one (Action=)."""
    out = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            entry = json.loads(line)
            headers = {k.lower(): v for k, v in entry["headers"].items()}
            agent = headers.get("user-agent", "")
            who = ("eda" if "eda-cli/" in agent else "baseline" if BASELINE_AGENT in agent
                   else "lumigo" if "aws-sdk-nodejs" in agent else "other")
            raw = entry.get("body") or ""
            text = base64.b64decode(raw).decode("utf-8", "replace") if entry.get("body_encoded") else raw
            target = headers.get("x-amz-target", "")
            if target:
                try:
                    body = json.loads(text) if text else {}
                except ValueError:
                    body = {}
                action = target.rsplit(".", 1)[-1]
            else:
                body = {k: v[0] for k, v in urllib.parse.parse_qs(text).items()}
                action = body.get("Action", "?")
            out.append((who, action, body if isinstance(body, dict) else {}))
    return out


def probe_requests(endpoint: str, record_path: str, who: str, probe: Any) -> list[str]:
    """The requests one probe makes, in order (untimed, under moto's recorder)."""
    recorder(endpoint, "reset-recording")
    recorder(endpoint, "start-recording")
    try:
        probe(endpoint)
    finally:
        recorder(endpoint, "stop-recording")
    return [action for w, action, _ in recorded(record_path) if w == who]


def idle(endpoint: str, events: Any, sqs: Any, seconds: float, record_path: str,
         lumigo: str | None, preload: str) -> dict[str, Any]:
    """Every consumer sits idle for `seconds` under moto's recorder; then each is stopped as a user would
    (eda by SIGTERM, lumigo-cli by a key press)."""
    recorder(endpoint, "reset-recording")
    recorder(endpoint, "start-recording")
    tap = PlainTap(events, sqs, f"bench-tap-{secrets.token_hex(4)}")
    try:
        with contextlib.ExitStack() as stack:
            eda = stack.enter_context(EdaTail(endpoint))
            peer = stack.enter_context(LumigoTail(endpoint, lumigo, preload)) if lumigo else None
            eda.wait_ready()
            if peer is not None:
                peer.wait_ready()
            consumer = threading.Thread(target=tap.consume, args=(queue.Queue(), math.inf, seconds), daemon=True)
            consumer.start()
            time.sleep(seconds)
            stopped = time.perf_counter()
            code = eda.stop()
            exit_seconds = time.perf_counter() - stopped
            if peer is not None:
                peer.stop()
            consumer.join(timeout=30)
    finally:
        try:
            tap.close()
        finally:
            recorder(endpoint, "stop-recording")
    requests = recorded(record_path)
    out: dict[str, Any] = {"exit_code": code, "exit_seconds": exit_seconds, "stderr": eda.output["stderr"]}
    for who in ("baseline", "eda", "lumigo"):
        mine = [(action, body) for w, action, body in requests if w == who]
        out[who] = {"actions": Counter(action for action, _ in mine),
                    "waits": [body.get("WaitTimeSeconds") for action, body in mine if action == "ReceiveMessage"]}
    return out


# -- report ------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> tuple[float, float, float]:
    return percentile(values, 0.5), percentile(values, 0.95), max(values)


def row(name: str, values: list[float], base: list[float] | None, unit: float = 1.0, digits: int = 1) -> str:
    p50, p95, top = (v * unit for v in summary(values))
    if base is None:
        ratios = "1.00x | 1.00x"
    else:
        b50, b95, _ = summary(base)
        ratios = f"{summary(values)[0] / b50:.2f}x | {summary(values)[1] / b95:.2f}x"
    return f"| {name} | {len(values)} | {p50:.{digits}f} | {p95:.{digits}f} | {top:.{digits}f} | {ratios} |"


NAMES = {"baseline": "baseline: plain boto3 tail process (long poll 20 s, prints each body)",
         "thread": "boto3 consumer thread in the sending process (no process, no pipe)",
         "eda": "`eda -o jsonl tail bus`", "lumigo": "peer: `lumigo-cli tail-eventbridge-bus` (0.48.4)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50, help="events per tail run")
    parser.add_argument("--rounds", type=int, default=3, help="tail runs of each (they take turns)")
    parser.add_argument("--probes", type=int, default=20, help="probes of each kind (they take turns)")
    parser.add_argument("--idle", type=float, default=25.0, help="seconds of silence for the request count")
    parser.add_argument("--pause", type=float, nargs=2, default=(0.05, 0.25), metavar=("MIN", "MAX"),
                        help="random pause before each event, seconds")
    parser.add_argument("--lumigo", metavar="PATH",
                        help="lumigo-cli's executable (npm install lumigo-cli@0.48.4): adds the peer to the tail "
                        "and idle parts")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--plain-probe", metavar="ENDPOINT", help=argparse.SUPPRESS)
    parser.add_argument("--plain-tail", metavar="ENDPOINT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    dummy_credentials()
    if args.plain_probe:
        plain_probe_main(args.plain_probe)
        return
    if args.plain_tail:
        plain_tail_main(args.plain_tail, args.events)
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that every `finally` runs and kills its child
    rng = random.Random(args.seed)
    pause = (args.pause[0], args.pause[1])
    load_before = os.getloadavg()[0]
    tools = ["baseline", "thread", "eda"] + (["lumigo"] if args.lumigo else [])

    with tempfile.TemporaryDirectory(prefix="bench-tap-") as tmp:
        record_path = os.path.join(tmp, "recording.jsonl")
        os.environ["MOTO_RECORDER_FILEPATH"] = record_path  # the server's recorder, started only for the idle part
        preload = os.path.join(tmp, "lumigo-preload.js")
        Path(preload).write_text(LUMIGO_PRELOAD, encoding="utf-8")
        with moto_server() as endpoint:
            events, sqs = clients(endpoint)
            pipeline = create_pipeline(events, sqs)

            def run_tail(who: str, n: int) -> list[float]:
                drain(sqs, pipeline)  # the pipeline's queue fills too: keep it short
                if who == "eda":
                    return tail_eda(endpoint, events, n, rng, pause)
                if who == "lumigo":
                    return tail_lumigo(endpoint, args.lumigo, preload, events, n, rng, pause)
                if who == "thread":
                    return tail_thread(events, sqs, n, rng, pause, deletes)
                return tail_plain(endpoint, events, n, rng, pause)

            tail: dict[str, list[float]] = {who: [] for who in tools}
            deletes: list[float] = []
            per_round: list[dict[str, tuple[float, float]]] = []
            for who in tools:
                run_tail(who, 3)  # warm-up, not counted
            deletes.clear()
            for turn in range(args.rounds):
                got = {who: run_tail(who, args.events) for who in tools[turn % len(tools):] + tools[:turn % len(tools)]}
                for who, values in got.items():
                    tail[who] += values
                base = got["baseline"]
                per_round.append({who: (percentile(got[who], 0.5) / percentile(base, 0.5),
                                        percentile(got[who], 0.95) / percentile(base, 0.95)) for who in tools[1:]})
                print(f"tail round {turn + 1} vs baseline: " + ", ".join(
                    f"{who} p50 {a:.2f}x p95 {b:.2f}x" for who, (a, b) in per_round[-1].items()), file=sys.stderr)

            probe_lat: dict[str, list[float]] = {"eda": [], "send": [], "plain": []}
            probe_wall: dict[str, list[float]] = {"eda": [], "plain": []}
            probe_eda(endpoint)  # warm-up
            probe_plain(endpoint)
            for i in range(args.probes):
                for who in (("eda", "send", "plain") if i % 2 == 0 else ("plain", "send", "eda")):
                    if who == "send":
                        probe_lat["send"].append(send_and_wait(events, sqs, pipeline))
                    else:
                        latency, wall = probe_eda(endpoint) if who == "eda" else probe_plain(endpoint)
                        probe_lat[who].append(latency)
                        probe_wall[who].append(wall)
            probe_calls = {"eda": probe_requests(endpoint, record_path, "eda", probe_eda),
                           "baseline": probe_requests(endpoint, record_path, "baseline", probe_plain)}
            print("probes done", file=sys.stderr)

            quiet = idle(endpoint, events, sqs, args.idle, record_path, args.lumigo, preload)

    print(f"\nMachine: {platform.python_implementation()} {platform.python_version()}, {platform.machine()}, "
          f"{os.cpu_count()} CPUs; moto {_moto_version()} server in its own process on loopback; 1-minute load "
          f"average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end.\n")
    print(f"`tail bus`: {args.events} events per run, {args.rounds} run(s) of each, taking turns; a random pause of "
          f"{pause[0]:g}-{pause[1]:g} s before each event; from just before PutEvents to its line read from the "
          "tool's stdout (the consumer thread: to the message received and deleted).\n")
    print("| | n | p50 ms | p95 ms | max ms | p50 vs baseline | p95 vs baseline |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for who in tools:
        print(row(NAMES[who], tail[who], None if who == "baseline" else tail["baseline"], 1000))
    print(f"\nDeleteMessageBatch, as the consumer thread timed it (inside its figure, the baseline's and eda's, which "
          "print after deleting; lumigo-cli prints before): p50 "
          f"{percentile(deletes, 0.5) * 1000:.1f} ms, p95 {percentile(deletes, 0.95) * 1000:.1f} ms.")
    print("\nper round, vs baseline: " + "; ".join(", ".join(
        f"{who} p50 {a:.2f}x p95 {b:.2f}x" for who, (a, b) in ratios.items()) for ratios in per_round))
    print(f"\n`probe`: {args.probes} of each, taking turns (send-and-wait in this process, the two probes in "
          "fresh processes).\n")
    print("| | n | p50 | p95 | max | p50 vs baseline | p95 vs baseline |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(row("latency ms, baseline: PutEvents + long poll of the pipeline's queue", probe_lat["send"], None))
    print(row("latency ms, plain boto3 probe (own narrowed tap)", probe_lat["plain"], probe_lat["send"]))
    print(row("latency ms, `eda probe` targets[].latency_ms", probe_lat["eda"], probe_lat["send"]))
    print(row("wall s, baseline: plain boto3 probe process", probe_wall["plain"], None, digits=2))
    print(row("wall s, `eda probe` process", probe_wall["eda"], probe_wall["plain"], digits=2))
    for who, name in (("baseline", "plain boto3 probe"), ("eda", "`eda probe`")):
        print(f"\n{name}: {len(probe_calls[who])} requests: {', '.join(probe_calls[who])}")
    print(f"\nIdle for {args.idle:g} s, all at once (moto's request recorder; eda without --count or --timeout):\n")
    print("| | ReceiveMessage calls | WaitTimeSeconds | other requests (whole run) |")
    print("|---|---:|---|---|")
    idle_names = {"baseline": "boto3 consumer thread, long poll 20 s", "eda": NAMES["eda"],
                  "lumigo": "peer: `lumigo-cli tail-eventbridge-bus`"}
    for who in ("baseline", "eda", *(["lumigo"] if args.lumigo else [])):
        actions: Counter[str] = quiet[who]["actions"]
        others = ", ".join(f"{a} {n}" for a, n in sorted(actions.items()) if a != "ReceiveMessage")
        waits = ", ".join(str(w) for w in quiet[who]["waits"])
        print(f"| {idle_names[who]} | {actions['ReceiveMessage']} | {waits} | {others} |")
    print(f"\neda after SIGTERM: exit {quiet['exit_code']} in {quiet['exit_seconds']:.2f} s; "
          f"stderr: {' / '.join(quiet['stderr'])}")


def _moto_version() -> str:
    from importlib.metadata import version

    return version("moto")


if __name__ == "__main__":
    main()
