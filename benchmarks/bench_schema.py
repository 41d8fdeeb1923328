"""Benchmark of `eda schema check`'s path (eda_cli.core.schemas) over JSON Lines events.

Generates N order.created events (the sandbox's shape; about 1 in 10 drifted: a missing customerId, an
amount sent as a string, a bad date), then, in one run, times

  (a) eda's path: `read_events` over the file's text, then `check_events` through one `Checker`: the
      schema compiled once, both as a jsonschema validator (`validator_for(schema)(schema)`) and as
      core.schemas.fast's yes/no test; an event the fast test rejects goes to the validator, which reports
      every violation;
  (a') the same without the fast test: every event through the compiled jsonschema validator;
  (b) the baseline: for each line, `json.loads` and `jsonschema.validate(event, schema)` in a loop (which
      checks the schema and builds a validator on every call, and stops at the first error).

Both read the same text and use the same format checker; their valid/invalid verdicts must agree on every
event before the ratio is printed. Prints a Markdown snippet.

    .venv/bin/python benchmarks/bench_schema.py [--events 100000]
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eda_cli.core.schemas import Checker, check_events, parse_schema, read_events
from eda_cli.core.schemas.check import format_checker

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "eda_cli" / "sandbox" / "schemas" / "order-created.json"
EVENT = ROOT / "eda_cli" / "sandbox" / "events" / "order-created-eu.json"
GOAL = 10.0


def events_text(count: int) -> str:
    base = json.loads(EVENT.read_text())
    lines = []
    for n in range(count):
        event = copy.deepcopy(base)
        detail = event["detail"]
        detail["orderId"] = f"o-{n}"
        detail["correlationId"] = f"corr-{n:06d}"
        detail["amount"] = (n % 997) + 0.5
        detail["items"] = [{"sku": f"SKU-{n % 7}", "qty": 1 + n % 3} for _ in range(1 + n % 3)]
        if n % 10 == 3:
            del detail["customerId"]
        elif n % 10 == 6:
            detail["amount"] = str(detail["amount"])
        elif n % 20 == 9:
            event["time"] = "yesterday"
        lines.append(json.dumps(event, separators=(",", ":")))
    return "\n".join(lines) + "\n"


def run_eda(text: str, checker: Checker) -> tuple[float, list[bool]]:
    start = time.perf_counter()
    result = check_events(checker, read_events(text))
    elapsed = time.perf_counter() - start
    return elapsed, [c.valid for c in result.checks]


def run_baseline(text: str, schema: dict[str, Any]) -> tuple[float, list[bool]]:
    from jsonschema import ValidationError, validate

    checker = format_checker()
    verdicts = []
    start = time.perf_counter()
    for line in text.splitlines():
        try:
            validate(json.loads(line), schema, format_checker=checker)
            verdicts.append(True)
        except ValidationError:
            verdicts.append(False)
    return time.perf_counter() - start, verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    from importlib.metadata import version

    text = events_text(args.events)
    doc = parse_schema(SCHEMA.read_text(), SCHEMA.name)
    checker = Checker(doc)
    eda_seconds, eda_verdicts = run_eda(text, checker)
    plain_seconds, plain_verdicts = run_eda(text, Checker(doc, fast=False))
    base_seconds, base_verdicts = run_baseline(text, doc.root)
    assert eda_verdicts == base_verdicts == plain_verdicts, "the paths disagree on which events are valid"
    invalid = eda_verdicts.count(False)
    eda_rate, base_rate = args.events / eda_seconds, args.events / base_seconds
    print(f"{args.events:,} events ({len(text) / 1e6:.1f} MB of JSON Lines, {invalid:,} invalid), "
          f"schema {SCHEMA.name}; jsonschema {version('jsonschema')}, "
          f"Python {platform.python_version()}")
    print()
    print("| path | seconds | events/s |")
    print("|---|---|---|")
    print(f"| eda: `read_events` + `check_events` (one compiled validator, every violation) | {eda_seconds:.2f} | "
          f"{eda_rate:,.0f} |")
    print(f"| eda without the fast test (the compiled jsonschema validator for every event) | {plain_seconds:.2f} | "
          f"{args.events / plain_seconds:,.0f} |")
    print(f"| baseline: `json.loads` + `jsonschema.validate()` per event | {base_seconds:.2f} | {base_rate:,.0f} |")
    print()
    ratio = eda_rate / base_rate
    print(f"ratio = {ratio:.1f}x (goal >= {GOAL:g}x): {'met' if ratio >= GOAL else 'NOT met'}; "
          f"without the fast test {args.events / plain_seconds / base_rate:.1f}x")


if __name__ == "__main__":
    main()
