"""`eda redrive` against its peer, lumigo-cli's `replay-sqs-dlq`, side by side on one local moto server.

    .venv/bin/python benchmarks/bench_peers.py [--sizes 2000,10000] [--runs 3] [--concurrency 10] [--quick] [--baseline]

(about 10 minutes on 2 cores; `--quick`: 300 messages, 1 run each, for a smoke test). From a fresh clone it
needs Node and npm: lumigo-cli 0.48.4 is installed from the npm registry into benchmarks/.peers/ (ignored by
git) on first use, with `--ignore-scripts`.

What runs, on the same data (a DLQ of N messages with 1 KB bodies and a String, a Number and a Binary
message attribute each; its source queue names it in a RedrivePolicy), the tools taking turns (eda first
in odd runs, the peer first in even ones; with --baseline each of the three first in turn) against one server
reset and seeded before every run:

  * eda:  `python -m eda_cli --endpoint-url URL -o json redrive bench-dlq --yes --mode copy --concurrency C`
  * peer: `lumigo-cli replay-sqs-dlq -d bench-dlq -n bench -r us-east-1 -c C` (AWS SDK for JavaScript v2).
    Its SDK ignores endpoint variables: a Node preload (`NODE_OPTIONS=-r preload.js`, the one
    bench_tap_latency.py uses) calls `AWS.config.update({endpoint, region, credentials})` on the `aws-sdk`
    module lumigo-cli loads, turns its analytics (a Segment client) into a no-op and refuses any connection
    to a host other than loopback; SKIP_VERSION_CHECK=1 stops its `npm show` version check. Nothing leaves
    the machine.

Per run: wall time (process start to exit, start-up included: what a user waits for), client CPU (user+sys
of the process and its children, from wait4), peak RSS (ru_maxrss; each tool is started by a small launcher
that forks it, since a process started from this script would report at least this script's own peak), the
SQS requests the server answered during the run (counted by the server, by X-Amz-Target), the server's own
CPU during the run (/proc/PID/stat) and in moto per action, when the server saw the first request and answered
the last, and then, read back from the source queue: messages lost, duplicated, and whether each kept every
message attribute (name, type and value). Medians over the runs, and the ratios eda/peer.

The server is moto with bench_redrive.py's patches (the same for both tools): HTTP keep-alive, its SQS
backend serialised by a lock (concurrent deletes in moto resurrect or drop messages), and its O(N)-per-call
hot spots made cheap (without them 10,000 messages cost moto about N^2 and the server, not the tools, is
what would be measured).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_redrive import _depth, _free_port, _patch_moto, _reset  # noqa: E402
from bench_tap_latency import LUMIGO_PRELOAD  # noqa: E402

PEER_VERSION = "0.48.4"
PEERS = HERE / ".peers"
LUMIGO = PEERS / "node_modules" / ".bin" / "lumigo-cli"
REGION = "us-east-1"
ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION,
       "AWS_DEFAULT_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true"}
DLQ, SOURCE = "bench-dlq", "bench"
BODY_BYTES = 1024
ATTRIBUTES: dict[str, Any] = {
    "tenant": {"DataType": "String", "StringValue": "acme-corp"},
    "amount": {"DataType": "Number", "StringValue": "1234.50"},
    "signature": {"DataType": "Binary", "BinaryValue": bytes(range(32))},
}
GOALS = {"wall_10k": 0.9, "wall_2k": 0.75, "cpu_per_message": 1.0, "rss": 0.7, "server_busy": 1.15}


# -- the server (this script with --serve PORT) --------------------------------------------------------


class _NoDrain:
    """Stands in for the `selectors` module in werkzeug.serving: after each answer werkzeug reads whatever else the
    client sent and throws it away (it closes every connection), which on a kept-alive connection would swallow
    the next request. moto reads every request's whole body (its Content-Length), so there is nothing to drain.
    (werkzeug also reads `selectors.EVENT_READ`: without it every answer ended in an AttributeError that werkzeug
    logged with its traceback, about 5% of the server's CPU, for both tools alike.)"""

    EVENT_READ = 1

    class DefaultSelector:
        def register(self, *args: Any) -> None:
            pass

        def select(self, timeout: float | None = None) -> list[Any]:
            return []

        def close(self) -> None:
            pass


def serve(port: int, keep_alive: bool = True) -> None:
    """moto with bench_redrive.py's patches, counting the requests it answers (GET /_bench/counts?reset).

    With `keep_alive`, connections stay open between requests, as AWS's do: werkzeug 3's server (moto's) answers
    every request with `Connection: close` whatever the handler's protocol_version (bench_redrive.py's
    KeepAlive handler no longer has the effect it had), so each request of either tool paid a TCP connect
    and the server a new thread."""
    _patch_moto()
    import werkzeug.serving
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    if keep_alive:
        setattr(werkzeug.serving, "selectors", _NoDrain)  # noqa: B010

    class KeepAlive(MotoRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # werkzeug writes the headers and the body of an answer apart: on a kept-alive connection Nagle's
            # algorithm holds the body until the client's delayed ACK of the headers, 40 ms per request
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def send_header(self, keyword: str, value: str) -> None:
            if keep_alive and keyword.lower() == "connection" and value.lower() == "close":
                return
            super().send_header(keyword, value)

        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass  # no line per request on stderr: it costs the server CPU that is being measured

    app = DomainDispatcherApplication(create_backend_app)
    counts: dict[str, int] = {}
    #: CPU seconds of the handling thread per action (time.thread_time around the app: moto's work, not werkzeug's)
    cpu: dict[str, float] = {}
    #: When the first request since the last reset arrived and when the last one was answered (time.time())
    span: dict[str, float] = {}
    lock = threading.Lock()

    def counting(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == "/_bench/counts":
            with lock:
                body = json.dumps({"counts": counts, "cpu": cpu, "span": span}).encode()
                if "reset" in environ.get("QUERY_STRING", ""):
                    counts.clear()
                    cpu.clear()
                    span.clear()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        action = str(environ.get("HTTP_X_AMZ_TARGET", "")).rsplit(".", 1)[-1] or environ.get("PATH_INFO", "?")
        started = time.thread_time()
        with lock:
            span.setdefault("first", time.time())
        try:
            return app(environ, start_response)
        finally:
            spent = time.thread_time() - started
            with lock:
                span["last"] = time.time()
                counts[action] = counts.get(action, 0) + 1
                cpu[action] = cpu.get(action, 0.0) + spent

    server = make_server("127.0.0.1", port, counting, threaded=True, request_handler=KeepAlive)
    print("ready", flush=True)
    server.serve_forever()


class Server:
    def __init__(self, keep_alive: bool = True) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        serve_ = [sys.executable, __file__, "--serve", str(self.port)] + ([] if keep_alive else ["--close-connections"])
        self.process = subprocess.Popen(serve_, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True,
                                        env={**os.environ, "MOTO_PORT": str(self.port)})
        assert self.process.stdout is not None and self.process.stdout.readline().strip() == "ready"

    def counts(self, reset: bool = False) -> dict[str, int]:
        """Requests answered per action since the last reset."""
        result: dict[str, int] = self.tallies(reset)["counts"]
        return result

    def tallies(self, reset: bool = False) -> dict[str, dict[str, Any]]:
        """{"counts": requests per action, "cpu": the server's CPU seconds in moto per action} since the last reset."""
        with urllib.request.urlopen(f"{self.url}/_bench/counts{'?reset' if reset else ''}", timeout=30) as answer:
            result: dict[str, dict[str, Any]] = json.loads(answer.read())
            return result

    def cpu(self) -> float:
        """The server process's CPU seconds so far (user + system)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def reset(self) -> None:
        _reset(self.url)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


# -- the data --------------------------------------------------------------------------------------------


def client(url: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing").client(
        "sqs", endpoint_url=url, config=Config(max_pool_connections=16, retries={"mode": "standard"}))


def body(i: int) -> str:
    head = json.dumps({"id": i, "pad": ""})
    return head[:-2] + "x" * (BODY_BYTES - len(head)) + '"}'


def seed(server: Server, sqs: Any, count: int) -> tuple[str, str]:
    server.reset()
    dlq = sqs.create_queue(QueueName=DLQ)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = sqs.create_queue(QueueName=SOURCE, Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "3"})})["QueueUrl"]

    def batch(start: int) -> None:
        entries = [{"Id": str(i), "MessageBody": body(start + i), "MessageAttributes": ATTRIBUTES}
                   for i in range(min(10, count - start))]
        answer = sqs.send_message_batch(QueueUrl=dlq, Entries=entries)
        assert not answer.get("Failed"), answer

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(batch, range(0, count, 10)))
    return dlq, source


def read_back(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every message of a queue (received with a long visibility, never deleted: the server is reset next)."""
    got: list[dict[str, Any]] = []
    lock = threading.Lock()

    def drain() -> None:
        empty = 0
        while empty < 3:
            answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=900,
                                         MessageAttributeNames=["All"])
            messages = answer.get("Messages", [])
            empty = 0 if messages else empty + 1
            with lock:
                got.extend(messages)

    with ThreadPoolExecutor(4) as pool:
        for future in [pool.submit(drain) for _ in range(4)]:
            future.result()
    return got


def check(sqs: Any, dlq: str, source: str, count: int) -> dict[str, Any]:
    """Lost, duplicated, left in the DLQ, and how many arrived with every attribute (name, type, value) intact."""
    left = _depth(sqs, dlq)
    arrived = read_back(sqs, source)
    ids = [json.loads(m["Body"])["id"] for m in arrived]
    unique = set(ids)
    kept = sum(1 for m in arrived if m.get("MessageAttributes") == ATTRIBUTES)
    kinds = sorted({a["DataType"] for m in arrived for a in (m.get("MessageAttributes") or {}).values()})
    return {"lost": count - len(unique & set(range(count))), "duplicated": len(ids) - len(unique),
            "left_in_dlq": left, "attributes_kept": kept, "attribute_types_arrived": kinds, "arrived": len(ids)}


# -- the tools -------------------------------------------------------------------------------------------


def install_peer() -> Path:
    """lumigo-cli 0.48.4 from the npm registry into benchmarks/.peers/ (once)."""
    if LUMIGO.exists():
        return LUMIGO
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is needed to install the peer (lumigo-cli)")
    PEERS.mkdir(exist_ok=True)
    (PEERS / "package.json").write_text('{"private": true}\n', encoding="utf-8")
    print(f"installing lumigo-cli@{PEER_VERSION} into {PEERS} ...", file=sys.stderr, flush=True)
    subprocess.run([npm, "install", f"lumigo-cli@{PEER_VERSION}", "--no-audit", "--no-fund", "--ignore-scripts",
                    "--loglevel=error"], cwd=PEERS, check=True)
    return LUMIGO


#: Runs a command and writes its own figures (wall, user, sys, peak RSS, exit status) as JSON to a file. Why: the
#: kernel keeps a process's peak RSS across exec, so a tool started from this script (vfork) would report at least
#: this script's own peak (80 MiB and more once it has read 10,000 messages back) instead of its own; started from
#: this small launcher by a real fork, its floor is the launcher's ~10 MiB.
LAUNCHER = """
import json, os, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
started, epoch = time.perf_counter(), time.time()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
with open(out, "w") as f:
    json.dump({"wall": wall, "epoch": epoch, "user": usage.ru_utime, "sys": usage.ru_stime,
               "maxrss_kib": usage.ru_maxrss, "code": os.waitstatus_to_exitcode(status)}, f)
"""


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """Run to the end: wall seconds, CPU seconds (user+sys of it and its children), peak RSS, exit code, output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(suffix=".json") as figures:
        subprocess.run([sys.executable, "-S", "-c", LAUNCHER, figures.name, *cmd], stdout=out, stderr=err, env=env,
                       cwd=cwd, stdin=subprocess.DEVNULL, check=False)
        usage = json.loads(Path(figures.name).read_text(encoding="utf-8") or "{}")
        if not usage:
            raise SystemExit(f"could not run {cmd[0]}: {err.read().decode('utf-8', 'replace')[-2000:]}")
        out.seek(0)
        err.seek(0)
        return {"wall": usage["wall"], "epoch": usage["epoch"], "cpu": usage["user"] + usage["sys"],
                "user": usage["user"], "sys": usage["sys"], "rss_mib": usage["maxrss_kib"] / 1024,
                "code": usage["code"],
                "stdout": out.read().decode("utf-8", "replace"), "stderr": err.read().decode("utf-8", "replace")}


def run_eda(url: str, concurrency: int, lean: bool = True) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "eda_cli", "--endpoint-url", url, "--output", "json", "redrive", DLQ, "--yes",
           "--mode", "copy", "--concurrency", str(concurrency)]
    # EDA_LEAN_SQS=0: every SQS call through botocore's client (the baseline of --baseline)
    result = timed(cmd, {**os.environ, **ENV, "EDA_LEAN_SQS": "1" if lean else "0"}, ROOT)
    if result["code"] == 0:
        result["summary"] = json.loads(result["stdout"])
    return result


def run_peer(url: str, concurrency: int, preload: str) -> dict[str, Any]:
    cmd = [str(LUMIGO), "replay-sqs-dlq", "-d", DLQ, "-n", SOURCE, "-r", REGION, "-c", str(concurrency)]
    env = {**os.environ, **ENV, "BENCH_ENDPOINT": url, "SKIP_VERSION_CHECK": "1", "NODE_OPTIONS": f"-r {preload}",
           "NODE_NO_WARNINGS": "1"}
    return timed(cmd, env, PEERS)


# -- the benchmark ---------------------------------------------------------------------------------------


def measure(server: Server, sqs: Any, tool: str, count: int, concurrency: int, preload: str) -> dict[str, Any]:
    dlq, source = seed(server, sqs, count)
    server.counts(reset=True)
    cpu_before = server.cpu()
    if tool == "lumigo":
        result = run_peer(server.url, concurrency, preload)
    else:
        result = run_eda(server.url, concurrency, lean=tool == "eda")
    result["server_cpu"] = server.cpu() - cpu_before
    tallies = server.tallies(reset=True)
    result["requests"] = tallies["counts"]
    result["moto_cpu"] = tallies["cpu"]
    span = tallies["span"]
    if "first" in span:  # the run's phases: until the server saw its first request, between, after its last answer
        result["phases"] = {"before_first": span["first"] - result["epoch"], "between": span["last"] - span["first"],
                            "after_last": result["epoch"] + result["wall"] - span["last"]}
    if result["code"] != 0:
        raise SystemExit(f"{tool} exited {result['code']}: {result['stderr'][-3000:]}")
    result.update(check(sqs, dlq, source, count))
    for key in ("stdout", "stderr"):
        result.pop(key)
    return result


def median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def summarise(runs: list[dict[str, Any]], count: int) -> dict[str, Any]:
    requests = [sum(r["requests"].values()) for r in runs]
    return {
        "wall": median(runs, "wall"), "cpu": median(runs, "cpu"), "rss_mib": median(runs, "rss_mib"),
        "peak_rss_mib": max(r["rss_mib"] for r in runs), "server_cpu": median(runs, "server_cpu"),
        "requests": statistics.median(requests), "by_action": runs[len(runs) // 2]["requests"],
        "cpu_per_message_ms": median(runs, "cpu") / count * 1000,
        "lost": sum(r["lost"] for r in runs), "duplicated": sum(r["duplicated"] for r in runs),
        "left_in_dlq": sum(r["left_in_dlq"] for r in runs),
        "attributes_kept": min(r["attributes_kept"] for r in runs),
        "attribute_types": sorted({t for r in runs for t in r["attribute_types_arrived"]}),
        "walls": [round(r["wall"], 2) for r in runs],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sizes", default="2000,10000", help="messages per run, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="runs of each tool at each size (the median is shown)")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="300 messages, 1 run: a smoke test")
    parser.add_argument("--json", metavar="FILE", help="also write every run's figures to FILE")
    parser.add_argument("--baseline", action="store_true",
                        help="also run eda with every SQS call through botocore's client (EDA_LEAN_SQS=0, "
                        "'eda-botocore'), interleaved with the others: the lean transport's share")
    parser.add_argument("--close-connections", action="store_true",
                        help="the server closes the connection after every answer (werkzeug's way) instead of "
                        "keeping it alive as AWS does")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, keep_alive=not args.close_connections)
        return
    sizes = [300] if args.quick else [int(s) for s in args.sizes.split(",") if s]
    runs = 1 if args.quick else args.runs
    install_peer()
    os.environ.update(ENV)
    results: dict[int, dict[str, list[dict[str, Any]]]] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        preload = os.path.join(tmp, "lumigo-preload.js")
        Path(preload).write_text(LUMIGO_PRELOAD, encoding="utf-8")
        server = Server(keep_alive=not args.close_connections)
        try:
            sqs = client(server.url)
            for count in sizes:
                tools = ["eda", "lumigo"] + (["eda-botocore"] if args.baseline else [])
                results[count] = {tool: [] for tool in tools}
                for i in range(runs):
                    order = tools[i % len(tools):] + tools[:i % len(tools)]  # each tool first in turn
                    for tool in order:
                        result = measure(server, sqs, tool, count, args.concurrency, preload)
                        results[count][tool].append(result)
                        print(f"{count} {tool} run {i + 1}: {result['wall']:.2f} s wall, {result['cpu']:.2f} s CPU "
                              f"({result['user']:.2f} user, {result['sys']:.2f} sys), "
                              f"{result['rss_mib']:.0f} MiB, {sum(result['requests'].values())} requests, "
                              f"server {result['server_cpu']:.2f} s CPU, lost {result['lost']}, "
                              f"dup {result['duplicated']}", file=sys.stderr, flush=True)
        finally:
            server.close()
    total = time.perf_counter() - started
    if args.json:
        Path(args.json).write_text(json.dumps({str(k): v for k, v in results.items()}, indent=1), encoding="utf-8")
    report(results, args.concurrency, runs, total)


def report(results: dict[int, dict[str, list[dict[str, Any]]]], concurrency: int, runs: int, total: float) -> None:
    from importlib.metadata import version

    print(f"### eda redrive vs lumigo-cli {PEER_VERSION} replay-sqs-dlq (concurrency {concurrency})\n")
    print(f"moto {version('moto')} server (bench_redrive.py's patches), Python {platform.python_version()}, "
          f"Node {_node_version()}, {os.cpu_count()} CPU(s); medians of {runs} interleaved run(s) per tool and "
          f"size; whole benchmark {total:.0f} s.\n")
    print("| messages | tool | wall (median) | client CPU | CPU/msg | peak RSS | SQS requests | server CPU "
          "| lost | dup | left in DLQ | attributes kept |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    ratios = {}
    for count, tools in results.items():
        rows = {tool: summarise(runs_, count) for tool, runs_ in tools.items()}
        for tool, s in rows.items():
            print(f"| {count:,} | {tool} | {s['wall']:.2f} s {s['walls']} | {s['cpu']:.2f} s | "
                  f"{s['cpu_per_message_ms']:.2f} ms | {s['peak_rss_mib']:.0f} MiB | {s['requests']:,.0f} | "
                  f"{s['server_cpu']:.2f} s | {s['lost']} | {s['duplicated']} | {s['left_in_dlq']} | "
                  f"{s['attributes_kept']:,} of {count:,} ({', '.join(s['attribute_types']) or 'none'}) |")
        eda, peer = rows["eda"], rows["lumigo"]
        ratios[count] = {"wall": eda["wall"] / peer["wall"], "cpu": eda["cpu"] / peer["cpu"],
                         "rss": eda["peak_rss_mib"] / peer["peak_rss_mib"],
                         "requests": eda["requests"] / peer["requests"],
                         "busy": eda["wall"] / eda["server_cpu"] if eda["server_cpu"] else float("inf")}
        if "eda-botocore" in rows:
            base = rows["eda-botocore"]
            ratios[count].update(base_wall=eda["wall"] / base["wall"], base_cpu=eda["cpu"] / base["cpu"])
    print("\n| messages | wall eda/peer | client CPU eda/peer | peak RSS eda/peer | requests eda/peer "
          "| eda wall / server CPU in its run |")
    print("|---:|---:|---:|---:|---:|---:|")
    for count, r in ratios.items():
        print(f"| {count:,} | {r['wall']:.2f} | {r['cpu']:.2f} | {r['rss']:.2f} | {r['requests']:.2f} | "
              f"{r['busy']:.2f} |")
    if any("base_cpu" in r for r in ratios.values()):
        print("\n| messages | wall eda/eda-botocore | client CPU eda/eda-botocore |")
        print("|---:|---:|---:|")
        for count, r in ratios.items():
            print(f"| {count:,} | {r['base_wall']:.2f} | {r['base_cpu']:.2f} |")
    print("\nRequests by action (median run):")
    for count, tools in results.items():
        for tool, runs_ in tools.items():
            print(f"- {count:,} {tool}: {json.dumps(summarise(runs_, count)['by_action'], sort_keys=True)}")
    print("\nWhere each wall time went (medians, s): until the server saw the tool's first request (start-up), from "
          "there to its last answer (the run, where the server is the bottleneck), and after it (the end, exit "
          "included):")
    for count, tools in results.items():
        for tool, runs_ in tools.items():
            phases = [r["phases"] for r in runs_ if "phases" in r]
            if phases:
                print(f"- {count:,} {tool}: " + ", ".join(
                    f"{key.replace('_', ' ')} {statistics.median(p[key] for p in phases):.3f}"
                    for key in ("before_first", "between", "after_last")))
    print("\nThe server's CPU in moto per request, by action (ms, mean over every run; the handling thread's CPU "
          "around moto's WSGI app, werkzeug's HTTP parsing and writing not included):")
    for count, tools in results.items():
        for tool, runs_ in tools.items():
            calls: dict[str, int] = {}
            spent: dict[str, float] = {}
            for r in runs_:
                for action, n in r["requests"].items():
                    calls[action] = calls.get(action, 0) + n
                    spent[action] = spent.get(action, 0.0) + r.get("moto_cpu", {}).get(action, 0.0)
            per = {a: round(spent[a] / calls[a] * 1000, 2) for a in sorted(calls) if calls[a] >= 10 * len(runs_)}
            total = sum(spent.values()) / len(runs_)
            print(f"- {count:,} {tool}: {json.dumps(per)}; in moto {total:.2f} s per run")


def _node_version() -> str:
    try:
        return subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except OSError:
        return "?"


if __name__ == "__main__":
    main()
