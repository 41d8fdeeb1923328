"""Shared fixtures: a real moto server over HTTP, and a way to run eda against it.

End-to-end tests talk to moto's server on 127.0.0.1 through `--endpoint-url`, exactly as a
user would; the server runs in its own process, so no in-process mock can leak into them.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited with {process.returncode}")
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("moto server did not start in time")


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A moto server in its own process on a free loopback port, for the whole session."""
    port = free_port()
    env = {**os.environ, "MOTO_PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def reset_moto(url: str) -> None:
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST", data=b"")
    urllib.request.urlopen(request, timeout=10).read()


@pytest.fixture
def endpoint(moto_server: str) -> str:
    """The moto server, emptied before each test."""
    reset_moto(moto_server)
    return moto_server


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Dummy credentials and a region; nothing from the developer's own AWS setup leaks in."""
    home = tmp_path_factory.mktemp("aws")
    for key in list(os.environ):
        if key.startswith(("AWS_", "EDA_")) or key == "NO_COLOR":
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def boto(endpoint: str) -> Callable[[str], Any]:
    """boto3 clients on the moto server, for arranging and checking state."""
    import boto3

    session = boto3.Session(region_name=REGION)
    cache: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in cache:
            cache[service] = session.client(service, endpoint_url=endpoint)  # type: ignore[call-overload]
        return cache[service]

    return client


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def eda(endpoint: str, capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run eda in-process, pointed at the moto server with --endpoint-url; returns code and output."""
    from eda_cli.app import run

    def invoke(*args: str, endpoint_url: str | None = endpoint) -> Result:
        capsys.readouterr()
        argv = ([f"--endpoint-url={endpoint_url}"] if endpoint_url else []) + list(args)
        code = run(argv)
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return invoke


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Result:
    """Run eda in a subprocess, as a user's shell would."""
    process = subprocess.run(
        [sys.executable, "-m", "eda_cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return Result(process.returncode, process.stdout, process.stderr)


def assert_one_line_error(result: Result, code: int) -> None:
    """The documented exit code, one error line (plus an optional hint line), and no traceback."""
    assert result.code == code, (result.code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[0].startswith("eda: error: "), result.stderr
    assert len(lines) <= 2, result.stderr
    if len(lines) == 2:
        assert lines[1].startswith("  hint: ")
