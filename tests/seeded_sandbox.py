"""The demo sandbox, seeded once per test module and backend, for modules of read-only tests.

conftest.py loads this module as a plugin, so any test module can ask for `seeded` (module-scoped:
each module that asks seeds its own copy, once per backend) and `eda_ro` (eda on it).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from eda_cli.sandbox.demo_pipeline import seed_demo
from tests.backends import Backend, reset_moto
from tests.conftest import Result, in_process


@dataclass(frozen=True)
class Seeded:
    """The demo pipeline, seeded once into a backend for a module's read-only tests."""

    url: str
    access_key: str  # LocalStack: the module's own account; moto: any

    def client(self, service: str) -> Any:
        import boto3

        session = boto3.Session(aws_access_key_id=self.access_key, aws_secret_access_key="testing",
                                region_name="us-east-1")
        return session.client(service, endpoint_url=self.url)  # type: ignore[call-overload]


def seed_once(backend: Backend) -> Seeded:
    """Seed the demo pipeline into an empty AWS: moto reset (so a module's read-only tests must not use
    `endpoint`, which resets it, until the last of them has run), or a new LocalStack account."""
    if backend.name == "moto":
        reset_moto(backend.url)
        seeded = Seeded(backend.url, "testing")
    else:
        seeded = Seeded(backend.url, f"{secrets.randbelow(9 * 10**11) + 10**11}")
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = seeded.client(service)
        return clients[service]

    seed_demo(client)
    return seeded


def invoker(seeded: Seeded, capsys: pytest.CaptureFixture[str],
            monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Like conftest's `eda` fixture, on the seeded backend (as its account), without resetting it."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seeded.access_key)
    return in_process(seeded.url, capsys)


@pytest.fixture(scope="module")
def seeded(backend: Backend) -> Seeded:
    return seed_once(backend)


@pytest.fixture
def eda_ro(seeded: Seeded, capsys: pytest.CaptureFixture[str],
           monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    return invoker(seeded, capsys, monkeypatch)
