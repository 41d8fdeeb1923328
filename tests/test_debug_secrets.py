"""`--debug` never prints a credential: every command group, with botocore's debug log on, against moto's
server, with recognisable fake credentials and session token (and once through --role-arn, whose STS
credentials eda cannot know in advance).

Each command runs in its own process, as a user runs it: in pytest's process the log would go to pytest's
capture, not to stderr. They run two at a time (14 processes, about 1 s of CPU each).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from eda_cli.aws.debuglog import REDACTED, SecretFilter
from tests.backends import reset_moto
from tests.fixtures.cli import REGION, Result

ACCESS_KEY = "AKIAFAKEEDA000000042"
SECRET_KEY = "EDA-SECRET-KEY-do-not-print-me-0123456789"
TOKEN = "EDA-SECRET-TOKEN-" + "x" * 40
SECRETS = (ACCESS_KEY, SECRET_KEY, TOKEN, "EDA-SECRET")
#: An access key id STS hands out (moto's, through --role-arn): eda never saw it before the call.
STS_KEY = re.compile(r"ASIA[A-Z0-9]{16}")


@pytest.fixture(scope="module")
def pipeline(moto_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    import boto3

    reset_moto(moto_server)
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)

    def aws(service: str) -> Any:
        return session.client(service, endpoint_url=moto_server)  # type: ignore[call-overload]

    dlq = aws("sqs").create_queue(QueueName="orders-dlq")["QueueUrl"]
    aws("sqs").create_queue(QueueName="orders")
    aws("sqs").send_message(QueueUrl=dlq, MessageBody=json.dumps({"correlationId": "corr-1"}))
    aws("events").create_event_bus(Name="orders-bus")
    aws("events").put_rule(Name="all", EventBusName="orders-bus", EventPattern='{"source": ["shop"]}')
    aws("dynamodb").create_table(
        TableName="orders", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    work = tmp_path_factory.mktemp("debug")
    (work / "event.json").write_text(json.dumps({"source": "shop", "detail-type": "x", "detail": {"a": 1}}))
    yield moto_server, work
    reset_moto(moto_server)


def commands(work: Path) -> list[list[str]]:
    """One or more of every command group, reading, or writing with --dry-run."""
    event = f"@{work / 'event.json'}"
    return [
        ["dlq", "list"], ["dlq", "peek", "orders-dlq"],
        ["redrive", "orders-dlq", "--to", "orders", "--dry-run"],
        ["tail", "cleanup", "--dry-run"],
        ["probe", "--bus", "orders-bus", "--event", event, "--dry-run"],
        ["stream", "tail", "orders", "--no-follow"],
        ["trace", "corr-1", "--queue", "orders-dlq", "--since", "1h"],
        ["route", "test", str(work / "event.json"), "--bus", "orders-bus"],
        ["audit"], ["topology"], ["init", "--config", str(work / "eda.yaml")],
        ["saga", "deploy", "example:checkout", "--dry-run",
         "--execution-role-arn", "arn:aws:iam::123456789012:role/saga"],
        ["iam-policy"],
        ["--role-arn", "arn:aws:iam::123456789012:role/eda-read", "dlq", "peek", "orders-dlq"],
    ]


def run_debug(endpoint: str, args: list[str], cwd: Path) -> Result:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "AWS_ACCESS_KEY_ID": ACCESS_KEY,
           "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_SESSION_TOKEN": TOKEN, "AWS_REGION": REGION,
           "AWS_CONFIG_FILE": str(cwd / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(cwd / "none"),
           "AWS_EC2_METADATA_DISABLED": "true", "EDA_ENDPOINT_URL": endpoint}
    process = subprocess.run([sys.executable, "-m", "eda_cli", "--debug", *args], capture_output=True, text=True,
                             env=env, cwd=cwd, timeout=120, stdin=subprocess.DEVNULL)
    return Result(process.returncode, process.stdout, process.stderr)


def test_debug_output_of_every_command_holds_no_credential(pipeline: tuple[str, Path]) -> None:
    endpoint, work = pipeline
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda args: (args, run_debug(endpoint, args, work)), commands(work)))
    for args, result in results:
        # Ran and talked to AWS (saga deploy: exit 3, the example's queues do not exist): no usage error, no bug.
        assert result.code in (0, 1, 3, 4), (args, result.code, result.stderr[-2000:])
        for secret in SECRETS:
            assert secret not in result.stdout and secret not in result.stderr, (args, secret)
        assert not STS_KEY.search(result.stderr) and not STS_KEY.search(result.stdout), args
    # The log was there to leak from: signed requests, with their headers.
    talked = [result for args, result in results if args != ["iam-policy"] and args[:2] != ["route", "test"]]
    assert all("botocore.endpoint" in r.stderr and "Authorization" in r.stderr for r in talked)
    assert all(REDACTED in r.stderr for r in talked)


@pytest.mark.parametrize("line", [
    "x-amz-security-token:IQoJb3JpZ2luX2VjEPr//////////wEaCXVzLWVhc3QtMSJH",
    "headers={'Authorization': b'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/sqs/aws4_request, "
    "SignedHeaders=host, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024', "
    "'X-Amz-Security-Token': b'FQoGZXIvYXdzEJr'}",
    "https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F2024&X-Amz-Signature=abcdef0123",
    "<AssumeRoleResult><Credentials><AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId><SecretAccessKey>wJalrXUtnFEMI"
    "</SecretAccessKey><SessionToken>FQoGZXIvYXdz</SessionToken></Credentials>",
    "Signature:\nfe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
    "{'aws_secret_access_key': 'wJalrXUtnFEMI', 'SessionToken': 'FQoGZXIvYXdz'}",
])
def test_the_filter_takes_credentials_out_of_what_botocore_logs(line: str) -> None:
    clean = SecretFilter().scrub(line)
    for secret in ("IQoJb3JpZ2lu", "AKIAIOSFODNN7EXAMPLE", "ASIAIOSFODNN7EXAMPLE", "fe5f80f77d5fa3be", "FQoGZXIvYXdz",
                   "wJalrXUtnFEMI", "abcdef0123"):
        assert secret not in clean, (secret, clean)
    assert REDACTED in clean


def test_the_filter_takes_known_values_out_of_any_record() -> None:
    import logging

    log_filter = SecretFilter()
    log_filter.remember([TOKEN, None, "short"])
    record: Any = logging.LogRecord("eda", logging.DEBUG, __file__, 1, "token is %s, short stays", (TOKEN,), None)
    assert log_filter.filter(record) and record.getMessage() == f"token is {REDACTED}, short stays"
