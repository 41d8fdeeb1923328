"""CPU time of eda's help against `python -c "import typer"` (typer is the floor), in the same run.

Run: .venv/bin/python benchmarks/bench_lazy_help.py [--runs 15]
Goal (issue 13): `eda --help`, `eda dlq --help` and `eda dlq inspect --help` each at most 1.15x the
CPU time (user + system) of importing typer in the same interpreter. The commands are run in turn,
round after round, so that drift on this noisy machine hits all of them alike; medians are compared.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys

CASES = {
    "python -c 'import typer'": ["-c", "import typer"],
    "eda --help": ["-m", "eda_cli", "--help"],
    "eda dlq --help": ["-m", "eda_cli", "dlq", "--help"],
    "eda dlq inspect --help": ["-m", "eda_cli", "dlq", "inspect", "--help"],
    "eda redrive --help": ["-m", "eda_cli", "redrive", "--help"],
}


def cpu_seconds(args: list[str]) -> float:
    """The child's user + system CPU time (getrusage: microseconds, where os.times counts 10 ms ticks)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    for args in CASES.values():  # warm the file cache
        cpu_seconds(args)
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(runs):
        for name, args in CASES.items():
            samples[name].append(cpu_seconds(args))
    floor = statistics.median(samples["python -c 'import typer'"])
    print(f"| command | median CPU of {runs} (ms) | ratio to import typer |")
    print("|---|---|---|")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"| `{name}` | {median * 1000:.1f} | {median / floor:.2f}x |")


if __name__ == "__main__":
    main()
