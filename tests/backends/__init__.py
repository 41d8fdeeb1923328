"""The AWS implementations the end-to-end tests run against, over HTTP, as a user points eda at AWS.

- moto: always; its server in its own process on a free loopback port, emptied before each test.
- localstack: a second, independent implementation, started on the host by tests/backends/localstack.sh
  (or taken from EDA_LOCALSTACK_URL when one is already running). LocalStack (community) has no reset
  endpoint, but keeps every account apart, and takes a 12-digit access key id as the account: each test
  gets an account of its own, which is as empty as a reset moto. (The cost: LocalStack starts a kinesis-mock
  process, ~100 MB, for each account that creates a DynamoDB stream, and restarts it if it is ended.)

Choose with `pytest --backend moto,localstack` (the default) or EDA_TEST_BACKENDS. A backend that was
asked for and cannot start fails the tests that need it: never a silent skip.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.fixtures.servers import free_port, moto_command, moto_server_process

ALL = ("moto", "localstack")
MOTO_ACCOUNT = "123456789012"
SCRIPT = Path(__file__).resolve().parent / "localstack.sh"

#: What a backend does not implement, and why a test of it is skipped there (and only there).
MOTO_LACKS = {
    "sqs-move-tasks": "moto has no SQS message move tasks (StartMessageMoveTask is HTTP 500)",
    "sfn-sync-express": "moto has no StartSyncExecution",
}
#: What a test needs that LocalStack (the free edition this suite installs) does not have; the differences
#: eda's users may meet are in docs/global-options.md ("Against LocalStack").
LOCALSTACK_LACKS: dict[str, str] = {
    "pipes": "LocalStack's free edition has no EventBridge Pipes API",
}


@dataclass
class Backend:
    name: str
    url: str
    lacks: dict[str, str] = field(default_factory=dict)
    account: str = MOTO_ACCOUNT

    def require(self, *features: str) -> None:
        """Skip the running test on this backend only, saying why, if it lacks one of the features."""
        for feature in features:
            if feature in self.lacks:
                pytest.skip(f"{self.name}: {self.lacks[feature]}")

    def has(self, feature: str) -> bool:
        return feature not in self.lacks

    def fresh(self, monkeypatch: pytest.MonkeyPatch) -> str:
        """An empty AWS for one test: moto reset, or a new LocalStack account. Returns the account id."""
        if self.name == "moto":
            reset_moto(self.url)
            self.account = MOTO_ACCOUNT
        else:
            self.account = f"{secrets.randbelow(9 * 10**11) + 10**11}"
            monkeypatch.setenv("AWS_ACCESS_KEY_ID", self.account)
        return self.account

    def enable_step_functions(self) -> None:
        """Executions really run: moto needs its interpreter switched on (a reset clears it); LocalStack runs them."""
        if self.name == "moto":
            post_json(f"{self.url}/moto-api/config", {"stepfunctions": {"execute_state_machine": True}})

    def role_arn(self, name: str) -> str:
        """A role ARN in the test's own account: Step Functions runs integrations as that role's account."""
        return f"arn:aws:iam::{self.account}:role/{name}"


def requested(config: pytest.Config) -> list[str]:
    raw = config.getoption("--backend") or os.environ.get("EDA_TEST_BACKENDS") or ",".join(ALL)
    names = [n.strip() for n in raw.split(",") if n.strip()]
    unknown = [n for n in names if n not in ALL]
    if unknown or not names:
        raise pytest.UsageError(f"--backend takes a comma-separated list of {', '.join(ALL)}; got {raw!r}")
    return names


def post_json(url: str, payload: object | None) -> None:
    data = b"" if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, method="POST", data=data, headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).read()


def reset_moto(url: str) -> None:
    post_json(f"{url}/moto-api/reset", None)


@contextmanager
def moto_process() -> Iterator[str]:
    """A moto server in its own process on a free loopback port."""
    port = free_port()
    with moto_server_process("moto server", moto_command(port), port) as url:
        yield url


@contextmanager
def localstack_process() -> Iterator[str]:
    """The LocalStack of EDA_LOCALSTACK_URL, or one this session starts (and stops) with localstack.sh."""
    given = os.environ.get("EDA_LOCALSTACK_URL")
    if given:
        yield given.rstrip("/")
        return
    port = free_port()
    env = dict(os.environ)
    started = subprocess.run(["bash", str(SCRIPT), "start", str(port)], capture_output=True, text=True,
                             env=env, timeout=900, stdin=subprocess.DEVNULL)
    if started.returncode != 0:
        raise RuntimeError(f"LocalStack could not be set up (tests/backends/localstack.sh start):\n{started.stderr}")
    url = started.stdout.strip().splitlines()[-1]
    ours = "already running" not in started.stderr
    try:
        yield url
    finally:
        if ours:
            subprocess.run(["bash", str(SCRIPT), "stop"], capture_output=True, env=env, timeout=60,
                           stdin=subprocess.DEVNULL)
