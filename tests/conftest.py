"""The fixtures every test can ask for: real AWS servers over HTTP (moto and LocalStack), and eda run against them.

End-to-end tests talk to a server on 127.0.0.1 through `--endpoint-url`, exactly as a user would;
the server runs in its own process, so no in-process mock can leak into them. A test that asks for
`endpoint` (or `eda`, `boto`) runs once per backend (tests/backends/__init__.py).

This file is the plugin entry point; what tests import (Result, run_cli, builders, servers) lives in
tests/fixtures/, never in a test module or here.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.backends import LOCALSTACK_LACKS, MOTO_LACKS, Backend, localstack_process, moto_process, requested
from tests.fixtures.cli import REGION, Result, boto_clients, in_process

#: Fixtures that live in tests/fixtures/: the seeded demo sandbox (`seeded`, `eda_ro`, module-scoped, for
#: modules of read-only tests) and a backend running Step Functions executions (`sfn_endpoint`).
pytest_plugins = ["tests.fixtures.seeded", "tests.fixtures.saga", "tests.fixtures.locked"]


def pytest_configure(config: pytest.Config) -> None:
    """Where the suite starts with SIGINT ignored (run in the background by a non-interactive shell, as a CI step
    may be), every process a test starts inherits the ignored signal and would never see the test's Ctrl-C
    (Python installs its KeyboardInterrupt handler only where SIGINT is not ignored). The run (each xdist
    worker too) handles SIGINT as an interactive run does, so that what a test starts gets SIG_DFL."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        with contextlib.suppress(ValueError):  # only the main thread may set handlers
            signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend", default=None,
        help="AWS implementations for the end-to-end tests, comma-separated: moto,localstack "
             "(default: both, or EDA_TEST_BACKENDS)",
    )


#: A LocalStack test's id: `test_x[localstack]`, or with the test's own parameters beside it.
_ON_LOCALSTACK = re.compile(r"\[(?:[^\]]*-)?localstack(?:-[^\]]*)?\]$")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """How pytest-xdist (`-n 2` in pyproject's addopts) shares the tests between its workers.

    Every LocalStack test runs on one worker, as there is one LocalStack per checkout (localstack.sh keeps
    its pid); every other test stays with the rest of its module, so a module's fixtures (a seeded sandbox,
    a locked server) are set up once. Each worker starts its own moto server. (xdist's `--dist loadgroup`
    cannot do this under pytest 9.2: the group it appends to a test's id no longer reaches the id.)
    """
    from xdist.scheduler import LoadScopeScheduling

    class BackendScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return "localstack" if _ON_LOCALSTACK.search(nodeid) else nodeid.split("::", 1)[0]

    return BackendScheduling(config, log)


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


@pytest.fixture
def boto(endpoint: str) -> Callable[[str], Any]:
    """boto3 clients on the backend, for arranging and checking state."""
    return boto_clients(endpoint)


@pytest.fixture
def eda(endpoint: str, capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run eda in-process, pointed at the backend with --endpoint-url; returns code and output."""
    return in_process(endpoint, capsys)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run eda in-process with no endpoint of the test's: for parsing, help, usage errors and stubbed clients."""
    return in_process(None, capsys)
