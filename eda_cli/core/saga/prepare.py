"""Getting a saga ready to run: its input parsed and checked, its queue and topic names resolved,
`${account}` filled in.

Errors say what is wrong in the saga's words ("the input has no 'order_id'"); the command that
read the input adds which of its options to fix.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from eda_cli.core.saga.spec import Saga, names_to_resolve, with_account, with_resolved_names
from eda_cli.errors import UsageError

if TYPE_CHECKING:
    from eda_cli.aws.session import AwsSession

#: SagaInputError.reason: the text is not JSON, the JSON is not an object, a value the saga reads is missing.
NOT_JSON = "not-json"
NOT_AN_OBJECT = "not-an-object"
MISSING = "missing"


class SagaInputError(UsageError):
    """The run's input is not what the saga needs; `reason` says how (NOT_JSON, NOT_AN_OBJECT, MISSING)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def parse_input(text: str, origin: str) -> dict[str, Any]:
    """The run's input, a JSON object; `origin` names where the text came from in the error."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise SagaInputError(f"{origin} is not valid JSON: {exc}", NOT_JSON) from None
    if not isinstance(value, dict):
        raise SagaInputError(f"{origin} must be a JSON object, not {type(value).__name__}", NOT_AN_OBJECT)
    return value


def check_input(saga: Saga, run_input: dict[str, Any]) -> None:
    """Every `${input...}` the saga reads is in the input: say so before anything runs."""
    for path, text, line in saga.input_paths():
        value: Any = run_input
        for i, key in enumerate(path):
            if not isinstance(value, dict) or key not in value:
                missing = ".".join(path[: i + 1])
                where = f"{saga.source}:{line}" if line else saga.source
                raise SagaInputError(f"the input has no {missing!r}, which {text} reads ({where})", MISSING)
            value = value[key]


def resolve_names(saga: Saga, session: AwsSession) -> Saga:
    """QueueName / TopicName -> QueueUrl / TopicArn, through the session (a missing one: ResourceNotFound)."""
    wanted = names_to_resolve(saga)
    if not wanted:
        return saga
    from eda_cli.aws.resolve import resolve_queue, resolve_topic

    resolved: dict[tuple[str, str], str] = {}
    for kind, name in wanted:
        if kind == "queue":
            resolved[(kind, name)] = resolve_queue(session.client("sqs"), name, session.region, session.where()).url
        else:
            resolved[(kind, name)] = resolve_topic(session.client("sns"), name, session.where())
    return with_resolved_names(saga, lambda kind, name: resolved[(kind, name)])


def with_roles(saga: Saga, execution_role_arn: str | None, account: Callable[[], str]) -> tuple[Saga, str | None]:
    """The saga and an execution role ARN with `${account}` filled in (`account` is asked only if needed)."""
    return replace(saga, role_arn=with_account(saga.role_arn, account)), with_account(execution_role_arn, account)
