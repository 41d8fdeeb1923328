"""Benchmark of the saga engine (eda_cli.core.saga).

Measures, on one core, in one run:

  (a) the local engine's own overhead per step, AWS calls excluded: a 50-step saga whose steps
      template their parameters from the input and from earlier steps' results, run with an injected
      no-op client; the baseline is the raw loop of the same 50 no-op calls with parameters built
      by hand. Overhead per step = (engine - baseline) / 50. Goal: <= 1 ms.
  (b) compiling a 50-step saga to ASL (from the validated Saga; and from the YAML text, parsing and
      validation included). Baseline: a JSON round trip of the resulting definition (the cost of
      merely copying what the compiler produces). Goal: <= 50 ms.

Prints a Markdown table.

    .venv/bin/python benchmarks/bench_saga.py [--steps 50] [--repeat 30]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eda_cli.core.saga.asl import compile_saga
from eda_cli.core.saga.local import LocalEngine
from eda_cli.core.saga.spec import parse_saga

GOAL_STEP_MS = 1.0
GOAL_COMPILE_MS = 50.0


def saga_text(steps: int) -> str:
    lines = ["name: bench", "defaults:", "  retry: {attempts: 3, interval: 1, backoff: 2.0}", "  timeout: 10",
             "steps:"]
    for i in range(steps):
        previous = f', prev: "${{steps.s{i - 1}.result.MessageId}}"' if i else ""
        lines += [
            f"  - name: s{i}",
            "    action:",
            "      call: sqs:sendMessage",
            "      parameters:",
            "        QueueUrl: https://sqs.us-east-1.amazonaws.com/123456789012/orders",
            f'        MessageBody: {{order: "${{input.order_id}}", step: {i}, note: "order ${{input.order_id}} '
            f'x${{input.qty}}"{previous}}}',
            "    compensate:",
            "      call: dynamodb:updateItem",
            "      parameters:",
            "        TableName: orders",
            '        Key: {order_id: {S: "${input.order_id}"}}',
            '        UpdateExpression: "SET #s = :v"',
            "        ExpressionAttributeNames: {'#s': status}",
            f"        ExpressionAttributeValues: {{':v': {{S: undo-{i}}}}}",
        ]
    return "\n".join(lines) + "\n"


class NoOpClient:
    """Answers every call at once, like an AWS client with zero latency."""

    answer = {"MessageId": "m-1", "MD5OfMessageBody": "d41d8cd98f00b204e9800998ecf8427e", "ResponseMetadata": {}}

    def send_message(self, **kwargs: Any) -> dict[str, Any]:
        return self.answer

    def update_item(self, **kwargs: Any) -> dict[str, Any]:
        return self.answer


def median_seconds(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    steps = args.steps
    text = saga_text(steps)
    saga = parse_saga(text, source="bench.yaml")
    run_input = {"order_id": "o-1", "qty": 3}
    client = NoOpClient()

    def engine_run() -> None:
        result = LocalEngine(saga, lambda service, timeout: client, execution="bench-1",
                             sleep=lambda s: None).run(run_input)
        assert result.status == "SUCCEEDED"

    url = "https://sqs.us-east-1.amazonaws.com/123456789012/orders"

    def raw_loop() -> None:
        previous = None
        for i in range(steps):
            body: dict[str, Any] = {"order": run_input["order_id"], "step": i,
                                    "note": f"order {run_input['order_id']} x{run_input['qty']}"}
            if previous is not None:
                body["prev"] = previous["MessageId"]
            previous = client.send_message(QueueUrl=url, MessageBody=json.dumps(body, separators=(",", ":")))

    engine_s = median_seconds(engine_run, args.repeat)
    raw_s = median_seconds(raw_loop, args.repeat)
    per_step_ms = (engine_s - raw_s) / steps * 1000

    compile_s = median_seconds(lambda: compile_saga(saga), args.repeat)
    full_s = median_seconds(lambda: compile_saga(parse_saga(text, source="bench.yaml")), args.repeat)
    definition = compile_saga(saga)
    copy_s = median_seconds(lambda: json.loads(json.dumps(definition)), args.repeat)

    def ok(value: float, goal: float) -> str:
        return "yes" if value <= goal else "NO"

    print(f"## Saga engine ({steps}-step saga; {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, median of {args.repeat})\n")
    print("| Measurement | eda | Baseline | Ratio | Goal | Met |")
    print("|---|---|---|---|---|---|")
    print(f"| Local engine, {steps} steps, no-op client (whole run) | {engine_s * 1000:.2f} ms | "
          f"{raw_s * 1000:.2f} ms (raw loop of the same calls) | {engine_s / raw_s:.1f}x | - | - |")
    print(f"| Local engine overhead per step (AWS excluded) | {per_step_ms * 1000:.0f} µs | - | - | "
          f"<= {GOAL_STEP_MS:g} ms | {ok(per_step_ms, GOAL_STEP_MS)} |")
    print(f"| Compile {steps} steps to ASL (validated saga) | {compile_s * 1000:.2f} ms | "
          f"{copy_s * 1000:.2f} ms (JSON round trip of the output) | {compile_s / copy_s:.1f}x | "
          f"<= {GOAL_COMPILE_MS:g} ms | {ok(compile_s * 1000, GOAL_COMPILE_MS)} |")
    print(f"| Parse + validate + compile {steps} steps (YAML text) | {full_s * 1000:.2f} ms | "
          f"{copy_s * 1000:.2f} ms | {full_s / copy_s:.1f}x | <= {GOAL_COMPILE_MS:g} ms | "
          f"{ok(full_s * 1000, GOAL_COMPILE_MS)} |")


if __name__ == "__main__":
    main()
