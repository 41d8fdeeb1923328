"""`ClientFactory`: what core code takes to make its AWS clients (`AwsSession.client`, or a test's), typed per
service as the session types them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Protocol, overload

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient
    from mypy_boto3_sts import STSClient


class ClientFactory(Protocol):
    """`AwsSession.client`: the (thread-safe, cached) boto3 client of a service, typed per service."""

    # In AwsSession.client's order: mypy matches overloads in order.
    @overload
    def __call__(self, service: Literal["sqs"], /) -> SQSClient: ...
    @overload
    def __call__(self, service: Literal["sns"], /) -> SNSClient: ...
    @overload
    def __call__(self, service: Literal["events"], /) -> EventBridgeClient: ...
    @overload
    def __call__(self, service: Literal["dynamodb"], /) -> DynamoDBClient: ...
    @overload
    def __call__(self, service: Literal["dynamodbstreams"], /) -> DynamoDBStreamsClient: ...
    @overload
    def __call__(self, service: Literal["cloudwatch"], /) -> CloudWatchClient: ...
    @overload
    def __call__(self, service: Literal["logs"], /) -> CloudWatchLogsClient: ...
    @overload
    def __call__(self, service: Literal["stepfunctions"], /) -> SFNClient: ...
    @overload
    def __call__(self, service: Literal["sts"], /) -> STSClient: ...
    @overload
    def __call__(self, service: Literal["lambda"], /) -> LambdaClient: ...
    @overload
    def __call__(self, service: Literal["iam"], /) -> IAMClient: ...
    @overload
    def __call__(self, service: str, /) -> Any: ...
