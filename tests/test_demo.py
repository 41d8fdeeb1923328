"""`eda demo`, `eda sandbox start|seed` and `dlq inspect --watch`, as a user runs them: subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.cli import Result, assert_one_line_error, run_cli
from tests.fixtures.servers import free_port


def test_demo_runs_every_step_and_leaves_nothing_running() -> None:
    result = run_cli("--no-color", "demo", timeout=600)
    assert result.code == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "Traceback" not in result.stderr
    assert "Exception=" not in result.stderr  # moto's own state-machine error log stays quiet
    # DLQ depths ...
    assert "$ eda dlq inspect" in out
    inspect_output = out.split("$ eda dlq inspect", 1)[1].split("\n\n", 1)[0]
    depth_lines = {line.split()[0]: line.split()[1] for line in inspect_output.splitlines()
                   if line.split() and line.split()[0].endswith("-dlq")}
    assert depth_lines.get("payments-dlq") == "4"
    assert depth_lines.get("notify-lambda-dlq") == "3"
    # ... and grouped poison messages.
    assert "error: [200] Task timed out after 3.00 seconds" in out
    # The changed producer shape, grouped by schema violation: the missing field named, with its count.
    violations = out.split("$ eda dlq peek eu-fulfilment-dlq", 1)[1].split("\n\n", 1)[0]
    customer = next(line for line in violations.splitlines() if line.startswith("$.detail.customerId"))
    assert customer.split()[1:3] == ["required", "3"], violations
    # Up close, the legacy producer's card numbers are masked by the sandbox's eda.yaml (redact: preset pci).
    close = out.split("$ eda dlq peek payments-dlq\n", 1)[1].split("\n\n3", 1)[0].split("\n4. ", 1)[0]
    assert '"number": "<card ••••1111>"' in close and '"number": "<card ••••4444>"' in close, close
    assert "4111 1111 1111 1111" not in out and "5555-5555-5555-4444" not in out
    assert "masking message contents as eda.yaml says: preset pci" in result.stderr
    # The probe: the EU order reaches eu-fulfilment; fraud-review filters it out, and says why.
    probe = out.split("$ eda probe", 1)[1].split("\n\n", 1)[0]
    eu_line = next(line for line in probe.splitlines() if line.startswith("eu-fulfilment"))
    assert " yes " in eu_line and " ms " in eu_line, probe
    fraud_line = next(line for line in probe.splitlines() if line.startswith("fraud-review"))
    assert 'detail.amount: numeric [">", 1000] expected, got 250' in fraud_line, probe
    # The EventBridge target DLQ: each event straight to its target, by SendMessageBatch.
    eventbridge = out.split("$ eda redrive eu-orders-target-dlq", 1)[1].split("\n\n", 1)[0]
    assert "moved 3 message(s) to eu-fulfilment" in eventbridge, eventbridge
    assert result.stderr.count("holds events EventBridge could not deliver") == 1, result.stderr  # said once
    assert "Demo finished" in out
    # Each step is shown as a shell would take it: a JSON argument quoted, so it can be pasted.
    saga_step = next(line for line in out.splitlines() if line.startswith("$ eda saga run"))
    assert "--input '{" in saga_step, saga_step
    # run_cli runs `python -m eda_cli`, which is not `eda` on PATH: the closing hint says how to run it.
    assert f"Try it yourself: {sys.executable} -m eda_cli sandbox start" in out


def test_the_closing_hint_names_eda_as_it_can_be_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from eda_cli.commands.demo import _eda_command

    script = tmp_path / "bin" / "eda"
    script.parent.mkdir()
    script.write_text("")
    script.chmod(0o755)
    monkeypatch.setattr(sys, "argv", [str(script)])
    monkeypatch.setenv("PATH", str(script.parent))
    assert _eda_command() == "eda"  # on PATH, and the same file
    monkeypatch.setenv("PATH", str(tmp_path))
    assert _eda_command() in (os.path.relpath(script), str(script))  # not on PATH (the quick start): its path


def test_sandbox_start_serves_until_interrupted() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "eda_cli", "sandbox", "start", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
    )
    try:
        assert process.stdout is not None
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if line.startswith("Ctrl-C"):
                break
        assert f"  export EDA_ENDPOINT_URL=http://127.0.0.1:{port}\n" in lines, lines
        used = run_cli("--endpoint-url", f"http://127.0.0.1:{port}", "-o", "json", "dlq", "inspect", "payments-dlq")
        assert used.code == 0, used.stderr
        assert used.items()[0]["visible"] == 4
        # moto answers the move-task probe with HTTP 500: the sandbox's terminal stays quiet about it.
        probe = run_cli("--endpoint-url", f"http://127.0.0.1:{port}", "redrive", "payments-dlq", "--dry-run")
        assert probe.code == 0 and "HTTP 500" in probe.stderr, probe.stderr
        # An operation moto cannot answer is one line, not its HTML error page.
        nowhere = run_cli("--endpoint-url", f"http://127.0.0.1:{port}", "--region", "nowhere-1", "dlq", "list")
        assert_one_line_error(nowhere, 3)
        assert "<" not in nowhere.stderr and "with no AWS error" in nowhere.stderr
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130
        stderr = process.stderr.read() if process.stderr else ""
        assert "Traceback" not in stderr and len(stderr.splitlines()) <= 2, stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_sandbox_start_on_a_busy_port_is_one_line() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = run_cli("sandbox", "start", "--port", str(busy.getsockname()[1]))
    assert_one_line_error(result, 2)


def test_sandbox_seed_needs_an_endpoint() -> None:
    result = run_cli("sandbox", "seed")
    assert_one_line_error(result, 2)
    assert "--endpoint-url" in result.stderr


def test_sandbox_seed_refuses_a_remote_endpoint_without_yes() -> None:
    result = run_cli("--endpoint-url", "https://sqs.us-east-1.amazonaws.com", "sandbox", "seed")
    assert_one_line_error(result, 2)
    assert "--yes" in result.stderr


def test_sandbox_seed_into_a_running_server(eda: Callable[..., Result], boto: Any) -> None:
    result = eda("-o", "json", "sandbox", "seed")
    assert result.code == 0, result.stderr
    seeded = result.json()
    assert "payments-dlq" in [q["name"] for q in seeded["queues"]]
    attrs = boto("sqs").get_queue_attributes(
        QueueUrl=boto("sqs").get_queue_url(QueueName="payments-dlq")["QueueUrl"],
        AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "4"


def test_inspect_watch_streams_until_ctrl_c(endpoint: str, boto: Any) -> None:
    boto("sqs").create_queue(QueueName="w-dlq")
    process = subprocess.Popen(
        [sys.executable, "-m", "eda_cli", "--endpoint-url", endpoint, "-o", "jsonl", "dlq", "inspect", "--watch", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
    )
    try:
        assert process.stdout is not None
        first = json.loads(process.stdout.readline())
        second = json.loads(process.stdout.readline())
        assert [d["queue"] for d in first["items"]] == ["w-dlq"] and second["time"] >= first["time"]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130
        assert "Traceback" not in (process.stderr.read() if process.stderr else "")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
