"""Shared fixtures: real AWS servers over HTTP (moto and LocalStack), and a way to run eda against them.

End-to-end tests talk to a server on 127.0.0.1 through `--endpoint-url`, exactly as a user would;
the server runs in its own process, so no in-process mock can leak into them. A test that asks for
`endpoint` (or `eda`, `boto`) runs once per backend (tests/backends/__init__.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.backends import LOCALSTACK_LACKS, MOTO_LACKS, Backend, localstack_process, moto_process, requested
from tests.backends import free_port as free_port
from tests.backends import reset_moto as reset_moto

REGION = "us-east-1"

#: The seeded demo sandbox's module-scoped fixtures (`seeded`, `eda_ro`), for modules of read-only tests.
pytest_plugins = ["tests.seeded_sandbox"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend", default=None,
        help="AWS implementations for the end-to-end tests, comma-separated: moto,localstack "
             "(default: both, or EDA_TEST_BACKENDS)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that needs an AWS endpoint runs once per requested backend: test_x[moto], test_x[localstack]."""
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", requested(metafunc.config), indirect=True, scope="session")


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A moto server in its own process on a free loopback port, for the whole session."""
    with moto_process() as url:
        yield url


@pytest.fixture(scope="session")
def localstack_server() -> Iterator[str]:
    """LocalStack on the host, for the whole session (started by tests/backends/localstack.sh)."""
    with localstack_process() as url:
        yield url


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> Backend:
    """The backend this test runs on (parametrized by pytest_generate_tests)."""
    name = request.param
    url = request.getfixturevalue(f"{name}_server")
    return Backend(name, url, lacks=MOTO_LACKS if name == "moto" else LOCALSTACK_LACKS)


@pytest.fixture
def endpoint(backend: Backend, aws_env: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """The backend's URL, as empty as a new account: moto reset, or a fresh LocalStack account."""
    backend.fresh(monkeypatch)
    return backend.url


@pytest.fixture
def account(backend: Backend, endpoint: str) -> str:
    """The account id the test's resources live in."""
    return backend.account


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


def boto_clients(endpoint: str) -> Callable[[str], Any]:
    """A cached boto3 client per service on `endpoint`, with the credentials the environment holds now."""
    import boto3

    session = boto3.Session(region_name=REGION)
    cache: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in cache:
            cache[service] = session.client(service, endpoint_url=endpoint)  # type: ignore[call-overload]
        return cache[service]

    return client


@pytest.fixture
def boto(endpoint: str) -> Callable[[str], Any]:
    """boto3 clients on the backend, for arranging and checking state."""
    return boto_clients(endpoint)


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def items(self) -> list[Any]:
        """A list result's items, from its JSON envelope (which always says whether it is partial)."""
        body = self.json()
        assert isinstance(body, dict) and {"items", "partial", "problems"} <= set(body), body
        assert body["partial"] == bool(body["problems"]), body
        return list(body["items"])


@pytest.fixture
def eda(endpoint: str, capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run eda in-process, pointed at the backend with --endpoint-url; returns code and output."""
    return in_process(endpoint, capsys)


def in_process(endpoint: str | None, capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """eda's `run` in this process (with --endpoint-url when one is given): code, stdout and stderr."""
    from eda_cli.app import run

    def invoke(*args: str, endpoint_url: str | None = endpoint) -> Result:
        capsys.readouterr()
        argv = ([f"--endpoint-url={endpoint_url}"] if endpoint_url else []) + list(args)
        code = run(argv)
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return invoke


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run eda in-process with no endpoint of the test's: for parsing, help, usage errors and stubbed clients."""
    return in_process(None, capsys)


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
