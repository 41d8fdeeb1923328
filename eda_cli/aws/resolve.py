"""Resolve what a user typed (a name, a URL or an ARN) into a resource eda can address.

Every command resolves queues, tables, topics and state machines through here, so that
"does not exist" reads the same everywhere: the resource, the region and the endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from eda_cli.aws.errors import is_client_error
from eda_cli.errors import ResourceNotFound, UsageError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TableDescriptionTypeDef
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient

QUEUE_MISSING = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")
#: Error codes that mean "no such resource" from SQS, SNS (NotFound) and EventBridge, Lambda and most others
#: (ResourceNotFoundException): a resource that went away, or was never there.
RESOURCE_GONE = frozenset({*QUEUE_MISSING, "NotFound", "NotFoundException", "ResourceNotFoundException"})


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    @classmethod
    def parse(cls, text: str) -> Arn:
        parts = text.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn":
            raise UsageError(f"not an ARN: {text!r}")
        return cls(parts[1], parts[2], parts[3], parts[4], parts[5])

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


@dataclass(frozen=True)
class QueueRef:
    name: str
    url: str
    arn: str

    @property
    def fifo(self) -> bool:
        return self.name.endswith(".fifo")


def bus_name(ref: str) -> str:
    """An EventBridge bus's name, given its name or ARN (`arn:aws:events:REGION:ACCOUNT:event-bus/NAME`)."""
    return ref.rsplit("/", 1)[-1] if ref.startswith("arn:") else ref


def queue_name_from_url(url: str) -> str:
    return urlparse(url).path.rstrip("/").rsplit("/", 1)[-1]


def queue_arn_from_url(url: str, region: str, partition: str = "aws") -> str:
    path = urlparse(url).path.strip("/").split("/")
    account = path[0] if len(path) >= 2 else ""
    return f"arn:{partition}:sqs:{region}:{account}:{path[-1]}"


def queue_not_found(name: str, where: str) -> ResourceNotFound:
    return ResourceNotFound(
        f"queue {name!r} does not exist ({where})",
        hint="list queues with `eda dlq list` or `aws sqs list-queues`; check --region",
    )


def resolve_queue(sqs: SQSClient, ref: str, region: str, where: str = "") -> QueueRef:
    """A queue given as name, URL or ARN -> QueueRef, or ResourceNotFound naming it."""
    ref = ref.strip()
    if not ref:
        raise UsageError("empty queue name")
    where = where or f"region {region}"
    kwargs: dict[str, Any]
    if ref.startswith(("http://", "https://")):
        name = queue_name_from_url(ref)
        # Trust the URL's account, but ask SQS for the canonical URL of this endpoint: a URL copied
        # from the console still works against a local endpoint, and a missing queue is caught here.
        account = urlparse(ref).path.strip("/").split("/")[0]
        kwargs = {"QueueName": name}
        if account and account != name and account.isdigit():
            kwargs["QueueOwnerAWSAccountId"] = account
    elif ref.startswith("arn:"):
        arn = Arn.parse(ref)
        if arn.service != "sqs":
            raise UsageError(f"not an SQS queue ARN: {ref}")
        if arn.region and arn.region != region:
            raise UsageError(
                f"queue {ref} is in {arn.region}, but eda is working in {region}",
                hint=f"pass --region {arn.region}",
            )
        name = arn.resource
        kwargs = {"QueueName": name, "QueueOwnerAWSAccountId": arn.account}
    else:
        name = ref
        kwargs = {"QueueName": name}
    try:
        url = sqs.get_queue_url(**kwargs)["QueueUrl"]
    except Exception as exc:
        if is_client_error(exc, *QUEUE_MISSING):
            raise queue_not_found(name, where) from exc
        raise
    return QueueRef(name=name, url=url, arn=queue_arn_from_url(url, region))


@dataclass(frozen=True)
class TableRef:
    name: str
    stream_arn: str | None


def describe_table(
    dynamodb: DynamoDBClient, name: str, where: str = "", *, what: str = "table",
    hint: str = "list tables with `aws dynamodb list-tables`; check --region",
) -> TableDescriptionTypeDef:
    """DescribeTable's description of `name`, or ResourceNotFound naming `what` it is and where eda looked."""
    try:
        return dynamodb.describe_table(TableName=name)["Table"]
    except Exception as exc:
        if is_client_error(exc, "ResourceNotFoundException"):
            raise ResourceNotFound(f"{what} {name!r} does not exist ({where})".replace(" ()", ""), hint=hint) from exc
        raise


def resolve_table(dynamodb: DynamoDBClient, ref: str, where: str = "") -> TableRef:
    """A table name or a stream ARN -> TableRef (the table's current stream, if any)."""
    ref = ref.strip()
    if ref.startswith("arn:"):
        arn = Arn.parse(ref)
        if arn.service != "dynamodb" or not arn.resource.startswith("table/"):
            raise UsageError(f"not a DynamoDB table or stream ARN: {ref}")
        pieces = arn.resource.split("/")
        name = pieces[1]
        if len(pieces) >= 4 and pieces[2] == "stream":
            return TableRef(name=name, stream_arn=ref)
    else:
        name = ref
    table = describe_table(dynamodb, name, where)
    return TableRef(name=name, stream_arn=table.get("LatestStreamArn"))


def resolve_topic(sns: SNSClient, ref: str, where: str = "") -> str:
    """A topic name or ARN -> the topic ARN."""
    ref = ref.strip()
    if ref.startswith("arn:"):
        return ref
    for page in sns.get_paginator("list_topics").paginate():
        for topic in page.get("Topics", []):
            if topic["TopicArn"].rsplit(":", 1)[-1] == ref:
                return str(topic["TopicArn"])
    raise ResourceNotFound(
        f"topic {ref!r} does not exist ({where})".replace(" ()", ""),
        hint="list topics with `aws sns list-topics`; check --region",
    )


def find_state_machine(sfn: SFNClient, name: str) -> str | None:
    """The ARN of the state machine called `name` (ListStateMachines, every page), or None."""
    for page in sfn.get_paginator("list_state_machines").paginate():
        for machine in page.get("stateMachines", []):
            if machine["name"] == name:
                return str(machine["stateMachineArn"])
    return None


def resolve_state_machine(sfn: SFNClient, ref: str, where: str = "") -> str:
    """A state machine name or ARN -> the state machine ARN."""
    ref = ref.strip()
    if ref.startswith("arn:"):
        return ref
    arn = find_state_machine(sfn, ref)
    if arn is None:
        raise ResourceNotFound(
            f"state machine {ref!r} does not exist ({where})".replace(" ()", ""),
            hint="list them with `aws stepfunctions list-state-machines`; check --region",
        )
    return arn
