"""The one error boundary: every failure is one line on stderr and a documented exit code."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from eda_cli.errors import ExitCode
from tests.fixtures.cli import Result, assert_one_line_error, run_cli
from tests.fixtures.servers import free_port


def test_exit_codes_are_pinned() -> None:
    """Scripts branch on these numbers: changing one is a breaking change (README, 'Exit codes')."""
    assert {code.name: int(code) for code in ExitCode} == {
        "OK": 0, "FINDING": 1, "USAGE": 2, "AWS": 3, "PARTIAL": 4, "EMPTY": 5, "INTERNAL": 70, "INTERRUPTED": 130,
    }


def test_unreachable_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    url = f"http://127.0.0.1:{free_port()}"
    result = run_cli("--endpoint-url", url, "dlq", "list")
    assert_one_line_error(result, 3)
    assert "cannot reach" in result.stderr and url in result.stderr


def test_missing_credentials(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = run_cli("--endpoint-url", endpoint, "dlq", "list")
    assert_one_line_error(result, 3)
    assert "no AWS credentials" in result.stderr


def test_role_arn_without_credentials_to_assume_it_with(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    """Was an internal error (exit 70: 'NoneType' has no attribute 'get_frozen_credentials')."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = run_cli("--endpoint-url", endpoint, "--role-arn", "arn:aws:iam::123456789012:role/oncall", "dlq", "list")
    assert_one_line_error(result, 3)
    assert "--role-arn needs credentials" in result.stderr


def test_missing_region(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    monkeypatch.delenv("AWS_REGION")
    result = run_cli("--endpoint-url", endpoint, "dlq", "list")
    assert_one_line_error(result, 3)
    assert "no AWS region" in result.stderr and "--region" in result.stderr


def test_unknown_profile(endpoint: str) -> None:
    result = run_cli("--profile", "does-not-exist", "--endpoint-url", endpoint, "dlq", "list")
    assert_one_line_error(result, 3)
    assert "does-not-exist" in result.stderr


def test_unknown_queue_subprocess(endpoint: str) -> None:
    result = run_cli("--endpoint-url", endpoint, "dlq", "peek", "ghost-dlq")
    assert_one_line_error(result, 3)
    assert "ghost-dlq" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--output", "xml", "dlq", "list"],
        ["dlq", "peek"],
        ["dlq", "inspect", "--fail-above", "-1"],
        ["dlq", "inspect", "--fail-above", "many"],
        ["dlq", "nonsense"],
        ["dlq", "peek", "q", "--group-by", "colour"],
        ["--no-such-flag"],
    ],
)
def test_malformed_options_are_usage_errors(args: list[str]) -> None:
    result = run_cli(*args)
    assert result.code == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 3, result.stderr
    assert any(line.startswith("Error: ") for line in lines)
    assert "╭" not in result.stderr  # no boxed panel: CI logs read these
    assert result.stdout == ""


def test_debug_shows_the_traceback(endpoint: str) -> None:
    result = run_cli("--debug", "--endpoint-url", endpoint, "dlq", "peek", "ghost-dlq")
    assert result.code == 3
    assert "Traceback" in result.stderr


def test_help_and_version_do_not_import_boto3() -> None:
    probe = (
        "import sys\n"
        "from eda_cli.app import run\n"
        "for argv in (['--help'], ['--version'], ['dlq', '--help'], ['dlq', 'peek', '--help']):\n"
        "    try:\n"
        "        run(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print('BOTO3_IMPORTED' if 'boto3' in sys.modules or 'botocore' in sys.modules else 'CLEAN')\n"
    )
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("CLEAN"), out[-500:]


def test_version() -> None:
    from eda_cli import __version__

    result = run_cli("--version")
    assert result.code == 0 and result.stdout.strip() == f"eda {__version__}"


def test_every_command_help_has_an_example() -> None:
    import typer

    from eda_cli.app import app

    def walk(command: Any, path: str) -> list[tuple[str, str]]:
        found = [(path, command.help or "")]
        for name, sub in getattr(command, "commands", {}).items():
            found += walk(sub, f"{path} {name}")
        return found

    for path, text in walk(typer.main.get_command(app), "eda"):
        assert "Example:" in text, f"`{path} --help` has no example"


# -- faults moto cannot produce: botocore's Stubber ---------------------------------------------


def _stubbed(session_service: str, method: str, code: str, message: str = "") -> Any:
    import boto3
    from botocore.stub import Stubber

    client = boto3.client(session_service, region_name="us-east-1", endpoint_url="http://127.0.0.1:1")
    stubber = Stubber(client)
    stubber.add_client_error(method, service_error_code=code, service_message=message, http_status_code=400)
    stubber.activate()
    return client


@pytest.mark.parametrize(
    ("code", "expected", "exit_code"),
    [
        ("AccessDenied", "access denied to ListQueues", 3),
        ("ExpiredToken", "credentials have expired", 3),
        ("InvalidClientTokenId", "rejected the credentials", 3),
        ("RequestThrottled", "kept throttling ListQueues", 3),
    ],
)
def test_client_errors_map_to_one_line(
    code: str, expected: str, exit_code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """Throttling after retries, access denied and credential errors reach the boundary as one line."""
    from eda_cli import context
    from eda_cli.app import run
    from eda_cli.aws.session import AwsSession, AwsSettings

    client = _stubbed("sqs", "list_queues", code, "nope")

    class Session(AwsSession):
        def client(self, service: str) -> Any:
            return client

    original = context.AppContext.session

    def patched(self: context.AppContext) -> AwsSession:
        return Session(AwsSettings(region="us-east-1"))

    try:
        context.AppContext.session = property(patched)  # type: ignore[assignment, method-assign]
        code_ = run(["dlq", "list"])
    finally:
        context.AppContext.session = original  # type: ignore[method-assign]
    err = capsys.readouterr().err
    assert code_ == exit_code
    assert expected in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if line.strip()]) <= 2


def test_interrupt_exits_130(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from eda_cli.app import run
    from eda_cli.core import dlq

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(dlq, "scan_dlqs", interrupted)
    assert run(["dlq", "list"]) == 130
    assert "Traceback" not in capsys.readouterr().err


def test_partial_inspect_exits_4(endpoint: str, boto: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """CloudWatch failing must not hide the depths SQS answered: partial, exit 4, listed."""
    from tests.fixtures.cli import in_process
    from tests.fixtures.sessions import session_factory, unreachable

    sqs = boto("sqs")
    url = sqs.create_queue(QueueName="a-dlq")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    result = in_process(endpoint, capsys, session_factory(cloudwatch=unreachable))("dlq", "inspect", "a-dlq")
    assert result.code == 4, result.stderr
    row = next(line for line in result.stdout.splitlines() if line.startswith("a-dlq"))
    assert row.split()[1] == "1", result.stdout  # the depth SQS answered
    warnings = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(warnings) == 2, result.stderr  # one line per CloudWatch call that failed
    assert "DescribeAlarms" in warnings[0] and "GetMetricData" in warnings[1], result.stderr


def test_json_output_is_parseable_even_when_empty(eda: Callable[..., Result]) -> None:
    result = eda("--output", "json", "dlq", "inspect")
    assert result.code == 0 and json.loads(result.stdout) == {"items": [], "partial": False, "problems": []}


def test_a_group_without_a_command_prints_its_help() -> None:
    for args in ([], ["dlq"]):
        result = run_cli(*args)
        assert result.code == 2
        assert result.stderr.startswith("Usage: eda")
        assert "Error:" not in result.stderr and "Commands:" in result.stderr


# -- one environment-level cause behind every call: one error, not a partial result ------------------

#: The commands that fan out over many calls and report what failed beside what answered.
FANNING_OUT = {
    "audit": ["audit"],
    "topology": ["topology"],
    "init": ["init"],
    "trace": ["trace", "corr-0006"],
    "trace-flags": ["trace", "corr-0006", "--queue", "payments-dlq", "--log-group", "/aws/lambda/payments"],
}


def _no_partial_answer(result: Result, workdir: Any) -> None:
    assert_one_line_error(result, 3)
    assert result.stdout == "", result.stdout  # no "PASS ... 0 of 0 checks", no "not found"
    assert "warning:" not in result.stderr and "NOT SEARCHED" not in result.stderr
    assert not (workdir / "eda.yaml").exists()  # init writes nothing from a failed discovery


@pytest.mark.parametrize("args", FANNING_OUT.values(), ids=FANNING_OUT.keys())
def test_no_credentials_is_one_error_not_a_partial_result(
    args: list[str], eda: Callable[..., Result], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: ten warnings then `PASS ... 0 of 0 checks` (exit 4), `not found` and nine NOT SEARCHED
    lines, an empty eda.yaml written."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = eda(*args)
    _no_partial_answer(result, tmp_path)
    assert "no AWS credentials found" in result.stderr and "aws configure" in result.stderr


@pytest.mark.parametrize("args", FANNING_OUT.values(), ids=FANNING_OUT.keys())
def test_unreachable_endpoint_is_one_error_not_a_partial_result(
    args: list[str], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    result = run_cli("--endpoint-url", "http://127.0.0.1:1", *args)
    _no_partial_answer(result, tmp_path)
    assert "cannot reach the AWS endpoint http://127.0.0.1:1" in result.stderr
    if args == ["init"]:  # and the next init does not refuse for want of --force
        again = run_cli("--endpoint-url", "http://127.0.0.1:1", "init")
        assert "already exists" not in again.stderr
