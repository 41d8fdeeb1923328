"""The AWS service integrations a saga step can call, as both engines run them.

Each integration is one Step Functions optimized integration (`arn:aws:states:::dynamodb:putItem`
and friends). The local engine calls the same API through boto3 and shapes the request, the
result and the error exactly as Step Functions does, so a template such as
`${steps.charge.result.MessageId}` and a retry on `DynamoDB.ConditionalCheckFailedException`
mean the same on both engines.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Error names of Step Functions that are not the service's own.
STATES_ALL = "States.ALL"
STATES_TASK_FAILED = "States.TaskFailed"
STATES_TIMEOUT = "States.Timeout"
STATES_RUNTIME = "States.Runtime"


@dataclass(frozen=True)
class Integration:
    #: As written in a saga file and in the resource ARN: "dynamodb:putItem".
    name: str
    #: boto3 service and method.
    service: str
    method: str
    #: Prefix of the error names Step Functions gives this service's failures ("DynamoDB").
    error_prefix: str
    required: frozenset[str]
    allowed: frozenset[str]
    #: Alternatives of which exactly one must be given (e.g. QueueUrl or QueueName).
    one_of: tuple[str, ...] = ()

    @property
    def resource(self) -> str:
        return f"arn:aws:states:::{self.name}"


_DDB_WRITE = {
    "TableName", "ConditionExpression", "ExpressionAttributeNames", "ExpressionAttributeValues",
    "ReturnValues", "ReturnConsumedCapacity", "ReturnItemCollectionMetrics",
}

INTEGRATIONS: dict[str, Integration] = {
    i.name: i
    for i in (
        Integration("dynamodb:putItem", "dynamodb", "put_item", "DynamoDB",
                    frozenset({"TableName", "Item"}), frozenset(_DDB_WRITE | {"Item"})),
        Integration("dynamodb:updateItem", "dynamodb", "update_item", "DynamoDB",
                    frozenset({"TableName", "Key"}), frozenset(_DDB_WRITE | {"Key", "UpdateExpression"})),
        Integration("dynamodb:deleteItem", "dynamodb", "delete_item", "DynamoDB",
                    frozenset({"TableName", "Key"}), frozenset(_DDB_WRITE | {"Key"})),
        Integration("sqs:sendMessage", "sqs", "send_message", "SQS",
                    frozenset({"MessageBody"}),
                    frozenset({"QueueUrl", "QueueName", "MessageBody", "MessageAttributes", "DelaySeconds",
                               "MessageGroupId", "MessageDeduplicationId"}),
                    one_of=("QueueUrl", "QueueName")),
        Integration("sns:publish", "sns", "publish", "SNS",
                    frozenset({"Message"}),
                    frozenset({"TopicArn", "TopicName", "TargetArn", "Message", "MessageAttributes",
                               "MessageStructure", "Subject", "MessageGroupId", "MessageDeduplicationId"}),
                    one_of=("TopicArn", "TopicName", "TargetArn")),
        Integration("events:putEvents", "events", "put_events", "EventBridge",
                    frozenset({"Entries"}), frozenset({"Entries"})),
        Integration("lambda:invoke", "lambda", "invoke", "Lambda",
                    frozenset({"FunctionName"}),
                    frozenset({"FunctionName", "Payload", "Qualifier", "InvocationType", "ClientContext",
                               "LogType"})),
    )
}

#: Parameters a saga file may give by name that eda resolves before either engine runs:
#: parameter -> (the parameter it becomes, what it names).
NAME_PARAMETERS: dict[str, tuple[str, str]] = {
    "QueueName": ("QueueUrl", "queue"),
    "TopicName": ("TopicArn", "topic"),
}


class TaskFailure(Exception):
    """A step's call failed, with the error name and cause Step Functions would report."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def request_for(integration: Integration, params: Mapping[str, Any]) -> dict[str, Any]:
    """The boto3 request for rendered `params`, serialised as Step Functions serialises it.

    Step Functions turns a JSON object given as an SQS MessageBody, an SNS Message, an
    EventBridge Detail or a Lambda Payload into its JSON text; so does this.
    """
    request = dict(params)
    name = integration.name
    if name == "sqs:sendMessage":
        body = request.get("MessageBody")
        if body is not None and not isinstance(body, str):
            request["MessageBody"] = _json(body)
    elif name == "sns:publish":
        message = request.get("Message")
        if message is not None and not isinstance(message, str):
            request["Message"] = _json(message)
    elif name == "events:putEvents":
        entries = request.get("Entries")
        if isinstance(entries, list):
            fixed = []
            for entry in entries:
                if isinstance(entry, dict) and isinstance(entry.get("Detail"), (dict, list)):
                    entry = {**entry, "Detail": _json(entry["Detail"])}
                fixed.append(entry)
            request["Entries"] = fixed
    elif name == "lambda:invoke":
        payload = request.get("Payload")
        if payload is not None:
            request["Payload"] = (payload if isinstance(payload, str) else _json(payload)).encode()
    return request


def result_of(integration: Integration, response: Mapping[str, Any]) -> Any:
    """The task result Step Functions hands on for this integration's API response."""
    result = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    name = integration.name
    if name == "sqs:sendMessage":
        for old in ("Md5OfMessageBody", "Md5OfMessageAttributes"):
            if old in result:
                result["MD5" + old[3:]] = result.pop(old)
    elif name == "events:putEvents":
        if int(result.get("FailedEntryCount") or 0) > 0:
            raise TaskFailure("EventBridge.FailedEntry", _json(result))
    elif name == "lambda:invoke":
        raw: Any = result.get("Payload")
        if hasattr(raw, "read"):
            raw = raw.read()
        text = raw.decode() if isinstance(raw, bytes) else raw
        try:
            payload: Any = json.loads(text) if text else None
        except ValueError:
            payload = text
        result["Payload"] = payload
        if result.get("FunctionError"):
            error_type = payload.get("errorType") if isinstance(payload, dict) else None
            raise TaskFailure(str(error_type or "Exception"), text or "")
    return result


def _exception_name(code: str) -> str:
    """An AWS error code as the SDK exception name Step Functions reports ("NotFound" -> "NotFoundException")."""
    if code == "AWS.SimpleQueueService.NonExistentQueue":
        code = "QueueDoesNotExist"
    code = code.rsplit(".", 1)[-1]
    return code if code.endswith("Exception") else code + "Exception"


def failure_of(integration: Integration, exc: Exception) -> TaskFailure:
    """The Step Functions error for an exception raised by the boto3 call."""
    if isinstance(exc, TaskFailure):
        return exc
    from botocore import exceptions as bex

    if isinstance(exc, (bex.ReadTimeoutError, bex.ConnectTimeoutError)):
        return TaskFailure(STATES_TIMEOUT, f"the {integration.name} call timed out: {exc}")
    response = getattr(exc, "response", None)
    if isinstance(exc, bex.ClientError) and isinstance(response, dict):
        error = response.get("Error", {})
        code = str(error.get("Code") or "Unknown")
        message = str(error.get("Message") or code)
        return TaskFailure(f"{integration.error_prefix}.{_exception_name(code)}", message)
    return TaskFailure(f"{integration.error_prefix}.SdkClientException", f"{type(exc).__name__}: {exc}")


def invoke(integration: Integration, client: Any, params: Mapping[str, Any]) -> Any:
    """Call the integration once; return its result or raise TaskFailure."""
    try:
        response = getattr(client, integration.method)(**request_for(integration, params))
        return result_of(integration, response)
    except TaskFailure:
        raise
    except Exception as exc:
        raise failure_of(integration, exc) from exc


def error_matches(error: str, patterns: tuple[str, ...]) -> bool:
    """Whether a Retry's ErrorEquals list matches `error`, as Step Functions decides it."""
    for pattern in patterns:
        # AWS: States.ALL catches neither States.Runtime nor States.DataLimitExceeded.
        if pattern == STATES_ALL and error not in (STATES_RUNTIME, "States.DataLimitExceeded"):
            return True
        if pattern == STATES_TASK_FAILED and (error == STATES_TASK_FAILED or not error.startswith("States.")):
            return True
        if pattern == error:
            return True
    return False
