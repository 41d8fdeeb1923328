"""`eda --help` wall time against `aws --version` (the AWS CLI), in the same run.

Run: .venv/bin/python benchmarks/bench_cli_startup.py [--runs 7]
Goal (issue 2): eda's median at most 0.4 of the AWS CLI's.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def wall(cmd: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    bindir = Path(sys.executable).parent
    eda = str(bindir / "eda")
    aws = shutil.which("aws", path=str(bindir)) or shutil.which("aws")
    if aws is None:
        sys.exit("the AWS CLI (awscli) is not installed: pip install awscli")
    # Warm the file cache for both, then interleave so drift hits both alike.
    wall([eda, "--help"], 1)
    wall([aws, "--version"], 1)
    eda_times: list[float] = []
    aws_times: list[float] = []
    for _ in range(args.runs):
        eda_times += wall([eda, "--help"], 1)
        aws_times += wall([aws, "--version"], 1)
    eda_median, aws_median = statistics.median(eda_times), statistics.median(aws_times)
    print(f"| command | median of {args.runs} (s) | min (s) |")
    print("|---|---|---|")
    print(f"| `eda --help` | {eda_median:.3f} | {min(eda_times):.3f} |")
    print(f"| `aws --version` | {aws_median:.3f} | {min(aws_times):.3f} |")
    print(f"\nratio eda/aws = {eda_median / aws_median:.2f} (goal <= 0.40)")


if __name__ == "__main__":
    main()
