"""Where `eda redrive --mode copy` spends its client CPU: one run under py-spy, on bench_peers.py's server and data.

    .venv/bin/pip install py-spy
    .venv/bin/python benchmarks/profile_redrive.py [--messages 10000] [--concurrency 10] [--top 40]

py-spy samples every thread of the eda process (`--idle` off: only samples where a thread runs Python or
waits on the GIL count, not those blocked in a socket read); the report lists the functions with the most
samples, inclusive (the function and what it calls) and self (its own lines), as shares of all samples.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_peers import DLQ, ENV, ROOT, Server, check, client, seed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    args = parser.parse_args()
    spy = shutil.which("py-spy", path=os.path.dirname(sys.executable)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    os.environ.update(ENV)
    server = Server()
    try:
        sqs = client(server.url)
        dlq, source = seed(server, sqs, args.messages)
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / "stacks.txt"
            cmd = [spy, "record", "--format", "raw", "--output", str(raw), "--rate", str(args.rate), "--threads",
                   "--gil", "--nonblocking", "--", sys.executable, "-m", "eda_cli", "--endpoint-url", server.url,
                   "--output", "json", "redrive", DLQ, "--yes", "--mode", "copy", "--concurrency",
                   str(args.concurrency)]
            subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            report(raw.read_text(encoding="utf-8"), args.top)
        print(check(sqs, dlq, source, args.messages))
    finally:
        server.close()


def report(text: str, top: int) -> None:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if not f.startswith("thread (")]
        total += count
        names = [_name(f) for f in frames]
        for name in set(names):
            inclusive[name] += count
        if names:
            own[names[-1]] += count
    print(f"{total} samples\n\ninclusive:")
    for name, count in inclusive.most_common(top):
        print(f"{count / total:6.1%}  {name}")
    print("\nself:")
    for name, count in own.most_common(top):
        print(f"{count / total:6.1%}  {name}")


def _name(frame: str) -> str:
    """`function (path/to/module.py:line)` -> `function (package/module.py)`."""
    function, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", "eda_cli/", "lib/python3"):
        if marker in path:
            path = path[path.index(marker):]
            break
    return f"{function} ({path})"


if __name__ == "__main__":
    main()
