"""The shared AWS session layer: settings from options and environment, cached clients, roles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from eda_cli import __version__
from eda_cli.aws.resolve import Arn, queue_arn_from_url, queue_name_from_url, resolve_queue
from eda_cli.aws.session import AwsSession, AwsSettings
from eda_cli.errors import ResourceNotFound, UsageError
from tests.fixtures.cli import Result


def test_clients_are_cached_and_configured(endpoint: str) -> None:
    session = AwsSession(AwsSettings(region="eu-west-1", endpoint_url=endpoint, max_attempts=7))
    sqs = session.client("sqs")
    assert session.client("sqs") is sqs
    config = sqs.meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 7}
    assert f"eda-cli/{__version__}" in config.user_agent_extra
    assert config.max_pool_connections >= 16
    assert sqs.meta.region_name == "eu-west-1"
    assert sqs.meta.endpoint_url == endpoint


def test_retry_mode_and_attempts_follow_the_aws_cli_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_RETRY_MODE", "adaptive")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "9")
    settings = AwsSettings()
    assert (settings.retry_mode, settings.max_attempts) == ("adaptive", 9)


def test_endpoint_and_region_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, eda: Callable[..., Result], boto: Any, endpoint: str
) -> None:
    boto("sqs").create_queue(QueueName="env-dlq")
    monkeypatch.setenv("EDA_ENDPOINT_URL", endpoint)
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    result = eda("--output", "json", "dlq", "list", endpoint_url=None)
    assert result.code == 0, result.stderr
    assert [row["queue"] for row in result.items()] == ["env-dlq"]
    # AWS_ENDPOINT_URL works too (the AWS SDKs' own variable); EDA_ENDPOINT_URL wins when both are set.
    monkeypatch.delenv("EDA_ENDPOINT_URL")
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    assert eda("--output", "json", "dlq", "list", endpoint_url=None).items()[0]["queue"] == "env-dlq"


def test_output_format_from_environment(
    monkeypatch: pytest.MonkeyPatch, eda: Callable[..., Result], boto: Any
) -> None:
    boto("sqs").create_queue(QueueName="fmt-dlq")
    monkeypatch.setenv("EDA_OUTPUT", "json")
    assert eda("dlq", "list").items()[0]["queue"] == "fmt-dlq"


def test_assume_role_through_sts(eda: Callable[..., Result], boto: Any, endpoint: str) -> None:
    """--role-arn: credentials come from STS AssumeRole on the same endpoint, then every call uses them."""
    import json

    iam = boto("iam")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
    role_arn = iam.create_role(RoleName="oncall", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    boto("sqs").create_queue(QueueName="x-dlq")
    session = AwsSession(AwsSettings(region="us-east-1", endpoint_url=endpoint, role_arn=role_arn))
    identity = session.client("sts").get_caller_identity()
    assert ":assumed-role/oncall/eda-cli" in identity["Arn"]
    result = eda("--role-arn", role_arn, "--output", "json", "dlq", "list")
    assert result.code == 0, result.stderr
    assert result.items()[0]["queue"] == "x-dlq"


def test_resolve_queue_forms(boto: Any) -> None:
    sqs = boto("sqs")
    url = sqs.create_queue(QueueName="orders-dlq")["QueueUrl"]
    arn = queue_arn_from_url(url, "us-east-1")
    assert queue_name_from_url(url) == "orders-dlq"
    for ref in ("orders-dlq", url, arn):
        resolved = resolve_queue(sqs, ref, "us-east-1")
        assert (resolved.name, resolved.url, resolved.arn) == ("orders-dlq", url, arn)
    with pytest.raises(ResourceNotFound, match="'nope'"):
        resolve_queue(sqs, "nope", "us-east-1")
    with pytest.raises(UsageError):
        resolve_queue(sqs, "arn:aws:sns:us-east-1:123456789012:topic", "us-east-1")
    with pytest.raises(UsageError):
        resolve_queue(sqs, "   ", "us-east-1")


def test_arn_parse() -> None:
    arn = Arn.parse("arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000")
    assert (arn.service, arn.account, arn.resource.split("/")[1]) == ("dynamodb", "123456789012", "orders")
    with pytest.raises(UsageError):
        Arn.parse("orders")


SERVICES = ("sqs", "sns", "events", "dynamodb", "dynamodbstreams", "lambda", "stepfunctions", "logs", "cloudwatch",
            "sts", "iam", "schemas", "pipes", "organizations", "kinesis", "firehose", "ec2")


def test_models_load_without_listing_every_service(monkeypatch: pytest.MonkeyPatch) -> None:
    """quick_model_loading: a client's models load without botocore's list of all services, and are exactly the
    models botocore's own loader gives (service, endpoint rules, paginators, waiters); an unknown service is
    still botocore's UnknownServiceError."""
    import boto3
    import botocore.exceptions
    from botocore.loaders import Loader

    from eda_cli.aws.session import quick_model_loading

    def plain() -> Any:
        return boto3.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")

    reference = plain()._session.get_component("data_loader")
    expected = {}
    for service in SERVICES:
        for type_name in ("service-2", "endpoint-rule-set-1", "paginators-1"):
            expected[service, type_name] = reference.load_service_model(service, type_name)

    session = plain()
    quick_model_loading(session)
    listed: list[str] = []
    original = Loader.list_available_services
    monkeypatch.setattr(Loader, "list_available_services",
                        lambda self, type_name: listed.append(type_name) or original(self, type_name))
    client = session.client("sqs", endpoint_url="http://127.0.0.1:9")
    assert client.meta.service_model.service_name == "sqs"
    assert listed == []
    loader = session._session.get_component("data_loader")
    for (service, type_name), model in expected.items():
        assert loader.load_service_model(service, type_name) == model, (service, type_name)
    assert listed == []
    with pytest.raises(botocore.exceptions.UnknownServiceError):
        loader.load_service_model("no-such-service", "service-2")


def test_every_client_eda_builds_loads_models_the_quick_way(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.loaders import Loader

    listed: list[str] = []
    original = Loader.list_available_services
    monkeypatch.setattr(Loader, "list_available_services",
                        lambda self, type_name: listed.append(type_name) or original(self, type_name))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    session = AwsSession(AwsSettings(region="us-east-1", endpoint_url="http://127.0.0.1:9"))
    session.client("sqs")
    session.client("events")
    assert listed == []
