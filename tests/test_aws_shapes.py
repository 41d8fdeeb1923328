"""The check that holds every fake AWS answer to botocore's model rejects what AWS never sends."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.response import StreamingBody

from tests.aws_shapes import AwsFake, assert_valid_response, aws_error

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-05-01T00:00:00.000"
WHEN = datetime(2024, 5, 1, tzinfo=timezone.utc)


def api_record(**extra: Any) -> dict[str, Any]:
    """One record as DynamoDB Streams' GetRecords returns it (through boto3)."""
    return {"eventID": "e1", "eventName": "REMOVE", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": {"ApproximateCreationDateTime": WHEN, "Keys": {"pk": {"S": "o-1"}},
                         "OldImage": {"pk": {"S": "o-1"}}, "SequenceNumber": "000000000000000000101", "SizeBytes": 20,
                         "StreamViewType": "NEW_AND_OLD_IMAGES"},
            **extra}


def lambda_record() -> dict[str, Any]:
    """The same record as Lambda hands it to a function: not what GetRecords returns."""
    record = api_record(eventSourceARN=ARN, userIdentity={"type": "Service", "principalId": "dynamodb.amazonaws.com"})
    record["dynamodb"]["ApproximateCreationDateTime"] = WHEN.timestamp()
    return record


def test_the_api_shape_passes() -> None:
    ttl = {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
    assert_valid_response("dynamodbstreams", "GetRecords",
                          {"Records": [api_record(userIdentity=ttl)], "NextShardIterator": "it",
                           "ResponseMetadata": {"HTTPStatusCode": 200}})
    assert_valid_response("dynamodbstreams", "get_records", {"Records": []})  # the method name works too


def test_a_record_in_lambdas_event_format_is_rejected() -> None:
    with pytest.raises(AssertionError) as caught:
        assert_valid_response("dynamodbstreams", "GetRecords", {"Records": [lambda_record()]})
    text = str(caught.value)
    assert text.startswith("dynamodbstreams GetRecords response does not match botocore's model")
    assert "eventSourceARN" in text  # Lambda adds it; the API has no such field
    assert "Records[0].userIdentity" in text and "principalId" in text  # the API spells it PrincipalId
    assert "ApproximateCreationDateTime" in text  # boto3 hands over a datetime, not epoch seconds


@pytest.mark.parametrize(("change", "problem"), [
    (lambda r: r["dynamodb"].update(SizeBytes="20"), "SizeBytes"),  # a long, not a string
    (lambda r: r["dynamodb"].update(ApproximateCreationDateTime=datetime(2024, 5, 1)), "timezone"),
    (lambda r: r["dynamodb"].update(NewImage={"pk": "o-1"}), "NewImage.pk"),  # plain JSON, not DynamoDB JSON
    (lambda r: r.update(dynamodb={**r["dynamodb"], "newImage": {}}), "newImage"),  # wrong case
])
def test_a_wrong_type_or_name_is_rejected(change: Any, problem: str) -> None:
    record = api_record()
    change(record)
    with pytest.raises(AssertionError, match=problem):
        assert_valid_response("dynamodbstreams", "GetRecords", {"Records": [record]})


def test_missing_required_members_blobs_and_empty_outputs() -> None:
    with pytest.raises(AssertionError, match=r"Missing required parameter.*Successful"):
        assert_valid_response("sqs", "DeleteMessageBatch", {"Failed": []})
    binary = {"Messages": [{"MessageId": "m", "Body": "b",
                            "MessageAttributes": {"sig": {"DataType": "Binary", "BinaryValue": "AQ=="}}}]}
    with pytest.raises(AssertionError, match="bytes"):  # botocore decodes the base64
        assert_valid_response("sqs", "ReceiveMessage", binary)
    with pytest.raises(AssertionError, match="nothing but ResponseMetadata"):
        assert_valid_response("sqs", "DeleteMessage", {"Deleted": True})
    assert_valid_response("sqs", "DeleteMessage", {"ResponseMetadata": {}})
    with pytest.raises(AssertionError, match="streaming body"):
        assert_valid_response("lambda", "Invoke", {"StatusCode": 200, "Payload": b"{}"})
    assert_valid_response("lambda", "Invoke", {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(b"{}"), 2)})


class Streams(AwsFake, service="dynamodbstreams"):
    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records

    def get_records(self, **kwargs: Any) -> dict[str, Any]:
        return {"Records": self.records}

    def records_for_test(self) -> list[dict[str, Any]]:  # not an operation: left alone
        return self.records

    def get_paginator(self, name: str) -> Any:
        records = self.records

        class Pages:
            def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
                return [{"Streams": [{"StreamArn": ARN, "TableName": "orders"}]}, {"Streams": records}]

        return Pages()


def test_a_fake_checks_its_operations_and_its_subclasses_too() -> None:
    assert Streams([api_record()]).get_records(ShardIterator="it")["Records"]
    assert Streams([lambda_record()]).records_for_test()
    with pytest.raises(AssertionError, match="dynamodbstreams GetRecords"):
        Streams([lambda_record()]).get_records(ShardIterator="it")

    class Override(Streams):
        def get_records(self, **kwargs: Any) -> dict[str, Any]:
            return {"Records": [], "NextShardIterator": 7}

    with pytest.raises(AssertionError, match="NextShardIterator"):
        Override([]).get_records(ShardIterator="it")


def test_pages_are_checked_and_so_is_what_getattr_hands_out() -> None:
    pages = Streams([{"StreamArn": 1}]).get_paginator("list_streams").paginate()
    assert next(pages)["Streams"][0]["TableName"] == "orders"
    with pytest.raises(AssertionError, match="dynamodbstreams ListStreams"):
        next(pages)

    class Anything(AwsFake):
        def __getattr__(self, name: str) -> Any:
            return lambda **kwargs: {"MessageId": "m-1", "Md5OfMessageBody": "x"}

    sqs = Anything()
    sqs.aws_service = "sqs"
    with pytest.raises(AssertionError, match="Md5OfMessageBody"):  # the API's name is MD5OfMessageBody
        sqs.send_message(QueueUrl="q", MessageBody="b")
    assert sqs.not_an_operation() == {"MessageId": "m-1", "Md5OfMessageBody": "x"}  # left alone
    sqs.aws_service = "sns"  # the instance's service decides
    with pytest.raises(AssertionError, match="sns Publish"):
        sqs.publish(Message="m")


def test_errors_are_ones_the_operation_can_send() -> None:
    error = aws_error("dynamodbstreams", "get_records", "ExpiredIteratorException")
    assert isinstance(error, ClientError) and error.operation_name == "GetRecords"
    assert error.response["Error"]["Code"] == "ExpiredIteratorException"
    assert aws_error("dynamodbstreams", "GetRecords", "InternalServerError").response[
        "ResponseMetadata"]["HTTPStatusCode"] == 500
    assert aws_error("lambda", "ListFunctions", "TooManyRequestsException").response[
        "ResponseMetadata"]["HTTPStatusCode"] == 429
    aws_error("sqs", "ReceiveMessage", "AccessDenied")  # a common error: any operation may send it
    with pytest.raises(AssertionError, match="never answers with error 'ProvisionedThroughputExceededException'"):
        aws_error("dynamodbstreams", "GetRecords", "ProvisionedThroughputExceededException")  # DynamoDB's, not Streams'
