"""core/saga/prepare: a run's input and names, checked before anything runs, in neutral words."""

from __future__ import annotations

import pytest

from eda_cli.aws.session import AwsSession, AwsSettings
from eda_cli.core.saga import prepare
from eda_cli.core.saga.spec import parse_saga

SAGA = """
name: s
role_arn: arn:aws:iam::${account}:role/s
steps:
  - name: a
    action:
      call: dynamodb:putItem
      parameters: {TableName: t, Item: {id: {S: "${input.order.id}"}}}
"""


@pytest.mark.parametrize(("text", "reason", "message"), [
    ("{nope", prepare.NOT_JSON, "the input is not valid JSON: "),
    ("[1]", prepare.NOT_AN_OBJECT, "the input must be a JSON object, not list"),
])
def test_parse_input_says_what_is_wrong_without_naming_an_option(text: str, reason: str, message: str) -> None:
    with pytest.raises(prepare.SagaInputError) as caught:
        prepare.parse_input(text, "the input")
    assert caught.value.reason == reason
    assert caught.value.message.startswith(message)
    assert "--" not in caught.value.message and caught.value.hint is None


def test_check_input_names_the_missing_value_and_where_it_is_read() -> None:
    saga = parse_saga(SAGA, source="s.yaml")
    prepare.check_input(saga, {"order": {"id": "o-1"}})
    with pytest.raises(prepare.SagaInputError) as caught:
        prepare.check_input(saga, {"order": {}})
    assert caught.value.reason == prepare.MISSING
    assert caught.value.message == "the input has no 'order.id', which ${input.order.id} reads (s.yaml:6)"


def test_with_roles_asks_for_the_account_only_when_a_role_needs_it() -> None:
    saga = parse_saga(SAGA)
    asked: list[int] = []

    def account() -> str:
        asked.append(1)
        return "111122223333"

    filled, role = prepare.with_roles(saga, None, account)
    assert filled.role_arn == "arn:aws:iam::111122223333:role/s" and role is None
    _, role = prepare.with_roles(parse_saga(SAGA.replace("${account}", "999")), "arn:aws:iam::1:role/x", account)
    assert role == "arn:aws:iam::1:role/x" and len(asked) == 1


def test_a_saga_without_names_to_resolve_needs_no_session() -> None:
    saga = parse_saga(SAGA)
    assert prepare.resolve_names(saga, None) is saga  # type: ignore[arg-type]


def test_step_clients_come_from_the_session_with_the_steps_timeout_and_one_attempt() -> None:
    session = AwsSession(AwsSettings(region="us-east-1", endpoint_url="http://127.0.0.1:1"))
    client = session.single_attempt_client("sqs", read_timeout=7)
    assert session.single_attempt_client("sqs", read_timeout=7) is client
    assert session.single_attempt_client("sqs", read_timeout=8) is not client
    assert session.single_attempt_client("sqs") is not client
    config = client.meta.config
    assert (config.read_timeout, config.connect_timeout) == (7, 7)
    assert config.retries["total_max_attempts"] == 1
    assert config.inject_host_prefix is False  # one host behind a custom endpoint
    assert "eda-cli/" in config.user_agent_extra
    assert session.single_attempt_client("sqs", read_timeout=30).meta.config.connect_timeout == 10
