"""Benchmark of the event-pattern engine (eda_cli.core.patterns).

Measures events per second on one core for

  (a) one 5-field pattern matched against a stream of events, and
  (b) routing: one event matched against 100 rules (all rules are tried; the names of those that match
      are collected),

for the compiled engine and for a straightforward recursive interpreter of the same patterns (written
below as the baseline: it walks the pattern dict on every event).  Both engines must agree on every
result before anything is timed.  Prints a Markdown snippet.

    .venv/bin/python benchmarks/bench_patterns.py [--seconds 1.0]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eda_cli.core.patterns import compile_pattern

GOAL_SINGLE = 100_000
GOAL_ROUTING = 20_000


# --------------------------------------------------------------------------------------------------
# Baseline: a straightforward recursive interpreter (EventBridge semantics for the operators used here)


def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _leaf_values(value: Any) -> list[Any]:
    if isinstance(value, list):
        out: list[Any] = []
        for v in value:
            out.extend(_leaf_values(v))
        return out
    if isinstance(value, dict):
        return []
    return [value]


def _match_condition(cond: Any, x: Any) -> bool:
    if not isinstance(cond, dict):
        if isinstance(cond, bool) or isinstance(x, bool) or cond is None or x is None:
            return cond is x
        if _is_num(cond):
            return _is_num(x) and cond == x
        return cond == x
    ((op, arg),) = cond.items()
    if op == "prefix":
        return isinstance(x, str) and x.startswith(arg)
    if op == "suffix":
        return isinstance(x, str) and x.endswith(arg)
    if op == "equals-ignore-case":
        return isinstance(x, str) and x.lower() == arg.lower()
    if op == "exists":
        return bool(arg)
    if op == "anything-but":
        excluded = arg if isinstance(arg, list) else [arg]
        if isinstance(arg, dict) and "prefix" in arg:
            return not (isinstance(x, str) and x.startswith(arg["prefix"]))
        return not any(_match_condition(e, x) for e in excluded)
    if op == "numeric":
        if not _is_num(x):
            return False
        for i in range(0, len(arg), 2):
            o, n = arg[i], arg[i + 1]
            ok = {"<": x < n, "<=": x <= n, "=": x == n, ">": x > n, ">=": x >= n}[o]
            if not ok:
                return False
        return True
    raise ValueError(f"baseline does not implement {op}")


def _match_leaf(conditions: list[Any], value: Any, present: bool) -> bool:
    values = _leaf_values(value) if present else []
    if not values:
        return any(isinstance(c, dict) and c.get("exists") is False for c in conditions)
    for c in conditions:
        if isinstance(c, dict) and c.get("exists") is False:
            continue
        for x in values:
            if _match_condition(c, x):
                return True
    return False


def interpret(pattern: dict[str, Any], event: Any) -> bool:
    """Does ``event`` match ``pattern``?  Re-reads the pattern on every call."""
    if not isinstance(event, dict):
        event = {}
    for key, sub in pattern.items():
        if key == "$or":
            if not any(interpret(branch, event) for branch in sub):
                return False
            continue
        present = key in event
        value = event.get(key)
        if isinstance(sub, dict):
            if isinstance(value, list):
                elements = [v for v in value if isinstance(v, dict)]
                if elements:
                    if not any(interpret(sub, e) for e in elements):
                        return False
                    continue
            if not interpret(sub, value if isinstance(value, dict) else {}):
                return False
        elif not _match_leaf(sub, value, present):
            return False
    return True


# --------------------------------------------------------------------------------------------------
# Workloads


def _event(i: int, source: str, detail_type: str, amount: float, currency: str, tier: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": f"6a7e8feb-b491-4cf7-a9f1-bf37034677{i:02d}",
        "detail-type": detail_type,
        "source": source,
        "account": "111122223333",
        "time": "2024-05-02T18:43:48Z",
        "region": "eu-west-1",
        "resources": [f"arn:aws:dynamodb:eu-west-1:111122223333:table/orders-{i}"],
        "detail": {
            "order-id": f"o-{i:06d}",
            "amount": amount,
            "currency": currency,
            "customer": {"id": f"c-{i:05d}", "tier": tier, "country": "FR"},
            "items": [{"sku": f"SKU-{i % 13}", "qty": 1 + i % 3}, {"sku": "SKU-X", "qty": 2}],
            "channel": "web" if i % 2 else "mobile",
        },
    }


FIVE_FIELD_PATTERN: dict[str, Any] = {
    "source": ["com.shop.orders"],
    "detail-type": ["OrderPlaced"],
    "detail": {
        "amount": [{"numeric": [">", 100, "<=", 1000]}],
        "currency": ["EUR", "USD"],
        "customer": {"tier": [{"anything-but": ["blocked", "suspended"]}]},
    },
}

SINGLE_EVENTS = [
    _event(1, "com.shop.orders", "OrderPlaced", 250.0, "EUR", "gold"),  # match
    _event(2, "com.shop.orders", "OrderPlaced", 99.5, "EUR", "gold"),  # amount too low
    _event(3, "com.shop.orders", "OrderPlaced", 640, "USD", "silver"),  # match
    _event(4, "com.shop.orders", "OrderPlaced", 300, "GBP", "gold"),  # currency
    _event(5, "com.shop.orders", "OrderPlaced", 420, "EUR", "blocked"),  # tier
    _event(6, "com.shop.billing", "InvoiceIssued", 420, "EUR", "gold"),  # source
]


def routing_rules() -> dict[str, dict[str, Any]]:
    """100 rules of the kind a shared event bus carries: source + detail-type + one content filter."""
    rules: dict[str, dict[str, Any]] = {}
    for i in range(100):
        detail: dict[str, Any]
        kind = i % 5
        if kind == 0:
            detail = {"amount": [{"numeric": [">=", 10 * i]}]}
        elif kind == 1:
            detail = {"currency": ["EUR", "USD"], "channel": [{"anything-but": "mobile"}]}
        elif kind == 2:
            detail = {"customer": {"tier": ["gold", "platinum"], "country": [{"prefix": "F"}]}}
        elif kind == 3:
            detail = {"items": {"sku": [{"prefix": f"SKU-{i % 13}"}]}, "refund": [{"exists": False}]}
        else:
            detail = {"order-id": [{"suffix": f"{i % 10}"}]}
        rule: dict[str, Any] = {
            "source": [f"com.shop.svc{i % 10}"],
            "detail-type": [f"Event{i % 4}", f"Event{(i + 1) % 4}"],
            "detail": detail,
        }
        if i % 10 == 7:
            rule = {"$or": [{"source": ["com.shop.audit"]}, rule]}
        rules[f"rule-{i:03d}"] = rule
    return rules


ROUTING_EVENTS = [
    _event(i, f"com.shop.svc{i % 12}", f"Event{i % 4}", 50.0 * i, "EUR" if i % 3 else "GBP", "gold") for i in range(24)
]


# --------------------------------------------------------------------------------------------------
# Timing


def _rate(run_once: Callable[[], None], events_per_call: int, seconds: float) -> float:
    """Best-of-3 events per second for a function processing ``events_per_call`` events per call."""
    calls = 1
    while True:  # calibrate
        start = time.perf_counter()
        for _ in range(calls):
            run_once()
        elapsed = time.perf_counter() - start
        if elapsed >= 0.05:
            break
        calls *= 2
    calls = max(1, int(calls * (seconds / 3) / elapsed))
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(calls):
            run_once()
        best = min(best, time.perf_counter() - start)
    return calls * events_per_call / best


def _pin_to_one_core() -> str:
    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        return f"pinned to CPU {min(os.sched_getaffinity(0))}"
    except (AttributeError, OSError):
        return "single thread (affinity not available)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="approximate time per measurement")
    args = parser.parse_args(argv)
    core = _pin_to_one_core()

    # (a) one 5-field pattern
    compiled = compile_pattern(FIVE_FIELD_PATTERN)
    for ev in SINGLE_EVENTS:
        assert compiled.matches(ev) == interpret(FIVE_FIELD_PATTERN, ev), ev["id"]
    assert [compiled.matches(ev) for ev in SINGLE_EVENTS] == [True, False, True, False, False, False]
    matches = compiled.matches
    events = SINGLE_EVENTS

    def single_compiled() -> None:
        for ev in events:
            matches(ev)

    def single_baseline() -> None:
        for ev in events:
            interpret(FIVE_FIELD_PATTERN, ev)

    single_c = _rate(single_compiled, len(events), args.seconds)
    single_b = _rate(single_baseline, len(events), args.seconds)

    # (b) one event against 100 rules
    rules = routing_rules()
    compiled_rules = [(name, compile_pattern(p).matches) for name, p in rules.items()]
    raw_rules = list(rules.items())
    routed = 0
    for ev in ROUTING_EVENTS:
        fast = [name for name, m in compiled_rules if m(ev)]
        slow = [name for name, p in raw_rules if interpret(p, ev)]
        assert fast == slow, (ev["id"], fast, slow)
        routed += len(fast)
    assert routed > 0

    def route_compiled() -> None:
        for ev in ROUTING_EVENTS:
            [name for name, m in compiled_rules if m(ev)]

    def route_baseline() -> None:
        for ev in ROUTING_EVENTS:
            [name for name, p in raw_rules if interpret(p, ev)]

    route_c = _rate(route_compiled, len(ROUTING_EVENTS), args.seconds)
    route_b = _rate(route_baseline, len(ROUTING_EVENTS), args.seconds)

    def ok(value: float, goal: int) -> str:
        return "met" if value >= goal else "MISSED"

    print("### Event-pattern engine (`eda_cli.core.patterns`)")
    print()
    print(
        f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, one core ({core}); "
        f"best of 3 runs of ~{args.seconds / 3:.2f} s each. Baseline: a recursive interpreter that walks "
        "the pattern dict on every event (in this file)."
    )
    print()
    print("| workload | compiled (events/s) | baseline (events/s) | compiled / baseline | goal |")
    print("|---|---:|---:|---:|---|")
    print(
        f"| (a) 5-field pattern, {len(events)} events ({sum(compiled.matches(e) for e in events)} match) "
        f"| {single_c:,.0f} | {single_b:,.0f} | {single_c / single_b:.1f}x "
        f"| >= {GOAL_SINGLE:,}: {ok(single_c, GOAL_SINGLE)} |"
    )
    print(
        f"| (b) one event routed against {len(rules)} rules ({routed / len(ROUTING_EVENTS):.1f} match/event) "
        f"| {route_c:,.0f} | {route_b:,.0f} | {route_c / route_b:.1f}x "
        f"| >= {GOAL_ROUTING:,}: {ok(route_c, GOAL_ROUTING)} |"
    )
    return 0 if single_c >= GOAL_SINGLE and route_c >= GOAL_ROUTING else 1


if __name__ == "__main__":
    raise SystemExit(main())
