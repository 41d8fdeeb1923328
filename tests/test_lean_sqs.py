"""The lean SQS transport of redrive's copy mode (eda_cli/aws/lean.py): the same answers, errors, retries and counts
as the botocore client it stands in for, and the client itself wherever a request could be hooked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from eda_cli.aws.errors import error_code
from eda_cli.aws.lean import LeanSqs
from eda_cli.aws.session import AwsSession, AwsSettings
from eda_cli.core.redrive.sqs_io import ApiCounter
from tests.fixtures.cli import REGION
from tests.fixtures.sessions import ReplacingSession

BLOB = bytes(range(256)) + b"\x00\xff"


def _session(endpoint: str, **settings: Any) -> AwsSession:
    return AwsSession(AwsSettings(region=REGION, endpoint_url=endpoint, **settings))


def _lean(session: AwsSession) -> LeanSqs:
    lean = session.lean_sqs()
    assert isinstance(lean, LeanSqs)
    return lean  # type: ignore[unreachable]  # lean_sqs is typed as the client it quacks like


def _entries(prefix: str) -> list[dict[str, Any]]:
    return [{"Id": str(i), "MessageBody": f"{prefix}-{i} " + "é" * 20,
             "MessageAttributes": {"blob": {"DataType": "Binary", "BinaryValue": BLOB},
                                   "n": {"DataType": "Number", "StringValue": str(i)},
                                   "s": {"DataType": "String", "StringValue": f"v{i}"}}}
            for i in range(3)]


def _received(client: Any, url: str, wanted: int, visibility: int) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    for _ in range(10):
        got += client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=visibility,
                                      WaitTimeSeconds=1, MessageAttributeNames=["All"],
                                      MessageSystemAttributeNames=["All"]).get("Messages", [])
        if len(got) >= wanted:
            break
    return got


def test_every_lean_call_answers_as_the_client_does(endpoint: str) -> None:
    session = _session(endpoint)
    plain = session.unvalidated_client("sqs")
    lean = _lean(session)
    url = plain.create_queue(QueueName="lean-ops")["QueueUrl"]

    sent = lean.send_message_batch(QueueUrl=url, Entries=_entries("lean"))
    assert sorted(ok["Id"] for ok in sent["Successful"]) == ["0", "1", "2"] and not sent.get("Failed")
    assert sent["ResponseMetadata"]["HTTPStatusCode"] == 200 and sent["ResponseMetadata"]["RetryAttempts"] == 0
    # what the client sends and what the lean call sends arrive alike (Binary attributes base64 on the wire, bytes
    # on both ends); so do the MD5s SQS computes of them
    by_client = plain.send_message_batch(QueueUrl=url, Entries=_entries("client"))
    md5s = {ok["Id"]: ok["MD5OfMessageAttributes"] for ok in by_client["Successful"]}
    assert {ok["Id"]: ok["MD5OfMessageAttributes"] for ok in sent["Successful"]} == md5s

    messages = _received(lean, url, 6, visibility=30)
    assert len(messages) == 6
    for message in messages:
        attributes = message["MessageAttributes"]
        assert attributes["blob"] == {"DataType": "Binary", "BinaryValue": BLOB}
        index = message["Body"].split("-")[1].split(" ")[0]
        assert attributes["n"] == {"DataType": "Number", "StringValue": index}
        assert message["Body"].endswith("é" * 20) and int(message["Attributes"]["ApproximateReceiveCount"]) == 1

    # the same message read by the client then by the lean call (visibility 0 leaves it there): the same dict
    handles = [(m["MessageId"], m["ReceiptHandle"]) for m in messages]
    changed = lean.change_message_visibility_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
                               for i, (_, h) in enumerate(handles)])
    assert len(changed["Successful"]) == 6 and not changed.get("Failed")
    again = {m["MessageId"]: m for m in _received(plain, url, 6, visibility=0)}
    for message in _received(lean, url, 6, visibility=0):
        twin = again.get(message["MessageId"])
        if twin is None:
            continue
        for key in ("Body", "MD5OfBody", "MessageAttributes", "MD5OfMessageAttributes"):
            assert message[key] == twin[key], key
        assert set(message) == set(twin)

    attributes = lean.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes == plain.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "6"

    taken = _received(lean, url, 6, visibility=30)
    deleted = lean.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(taken[:10])])
    assert len(deleted["Successful"]) == len(taken) == 6 and not deleted.get("Failed")
    assert lean.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_an_error_answer_is_the_clients_exception(endpoint: str) -> None:
    session = _session(endpoint)
    plain = session.unvalidated_client("sqs")
    lean = _lean(session)
    missing = plain.create_queue(QueueName="lean-gone")["QueueUrl"]
    plain.delete_queue(QueueUrl=missing)

    def failure(client: Any) -> Any:
        with pytest.raises(Exception) as caught:
            client.get_queue_attributes(QueueUrl=missing, AttributeNames=["All"])
        return caught.value

    expected, got = failure(plain), failure(lean)
    assert type(got) is type(expected)  # the modeled class: QueueDoesNotExist
    assert isinstance(got, plain.exceptions.QueueDoesNotExist)
    assert error_code(got) == error_code(expected)
    assert got.response["Error"] == expected.response["Error"]
    assert got.response["ResponseMetadata"]["HTTPStatusCode"] == expected.response["ResponseMetadata"][
        "HTTPStatusCode"] >= 400
    assert got.operation_name == "GetQueueAttributes"
    # a batch entry SQS refuses is an answer, not an exception, on both paths
    url = plain.create_queue(QueueName="lean-bad-handle")["QueueUrl"]
    bad = [{"Id": "0", "ReceiptHandle": "not-a-handle"}]
    assert set(lean.delete_message_batch(QueueUrl=url, Entries=bad)) == set(
        plain.delete_message_batch(QueueUrl=url, Entries=bad))


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


class _Flaky:
    """An HTTP session that answers the first `failures` requests itself (HTTP 500, or a connection error), then
    sends through the real one."""

    def __init__(self, real: Any, failures: int, how: str = "500") -> None:
        self.real = real
        self.failures = failures
        self.how = how
        self.sent: list[str] = []

    def send(self, request: Any) -> Any:
        from botocore.awsrequest import AWSResponse
        from botocore.exceptions import EndpointConnectionError

        self.sent.append(_text(request.headers["X-Amz-Target"]))
        assert "Credential=" in _text(request.headers["Authorization"])  # signed, every attempt
        if len(self.sent) <= self.failures:
            if self.how == "connection":
                raise EndpointConnectionError(endpoint_url=request.url)
            return AWSResponse(request.url, 500, {"x-amzn-requestid": "r-500", "content-type":
                                                  "application/x-amz-json-1.0"},
                               _Raw(b'{"__type":"com.amazonaws.sqs#InternalError","message":"try again"}'))
        return self.real.send(request)


@pytest.mark.parametrize("how", ["500", "connection"])
def test_5xx_and_connection_errors_are_retried_as_the_client_would(endpoint: str, how: str) -> None:
    session = _session(endpoint, max_attempts=3)
    plain = session.unvalidated_client("sqs")
    url = plain.create_queue(QueueName=f"lean-retry-{how}")["QueueUrl"]
    lean = _lean(session)
    flaky = _Flaky(lean._http, failures=2, how=how)
    lean._http = flaky
    delays: list[float] = []
    lean._sleep = delays.append
    with ApiCounter(lean) as counter:
        answer = lean.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    assert answer["Attributes"]["QueueArn"].endswith(":lean-retry-" + how)
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2
    assert flaky.sent == ["AmazonSQS.GetQueueAttributes"] * 3 and len(delays) == 2
    assert counter.calls == 1  # one call, as botocore counts it: its retries are not calls

    # out of attempts (3): the last answer is raised, as the client raises it
    flaky.sent.clear()
    flaky.failures = 5
    with pytest.raises(Exception) as caught:
        lean.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    assert len(flaky.sent) == 3
    if how == "500":
        assert error_code(caught.value) == "InternalError"
        assert caught.value.response["ResponseMetadata"]["MaxAttemptsReached"] is True  # type: ignore[attr-defined]
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500  # type: ignore[attr-defined]
    else:
        from botocore.exceptions import EndpointConnectionError

        assert isinstance(caught.value, EndpointConnectionError)


def test_credentials_are_read_for_every_request(endpoint: str) -> None:
    session = _session(endpoint)
    plain = session.unvalidated_client("sqs")
    url = plain.create_queue(QueueName="lean-credentials")["QueueUrl"]
    lean = _lean(session)
    real = lean._credentials
    frozen: list[str] = []

    class Counting:
        def get_frozen_credentials(self) -> Any:
            value = real.get_frozen_credentials()
            frozen.append(value.access_key)
            return value

    lean._credentials = Counting()
    for _ in range(3):
        lean.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    assert len(frozen) == 3


def test_an_injected_hooked_or_switched_off_client_is_used_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.stub import Stubber

    where = "http://127.0.0.1:9"  # nothing is sent
    assert isinstance(_session(where).lean_sqs(), LeanSqs)

    stubbed = _session(where)
    with Stubber(stubbed.unvalidated_client("sqs")):
        assert stubbed.lean_sqs() is stubbed.unvalidated_client("sqs")

    fake = object()
    replaced = ReplacingSession(AwsSettings(region=REGION, endpoint_url=where), {"sqs": lambda real: fake})
    assert replaced.lean_sqs() is fake

    adaptive = _session(where, retry_mode="adaptive")
    assert adaptive.lean_sqs() is adaptive.unvalidated_client("sqs")

    monkeypatch.setenv("EDA_LEAN_SQS", "0")
    off = _session(where)
    assert off.lean_sqs() is off.unvalidated_client("sqs")


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:4566/", "https://sqs.eu-west-1.amazonaws.com/", "https://sqs.eu-west-1.amazonaws.com:443/",
    "http://localhost:80/", "http://[::1]:9324/", "https://vpce-1.sqs.us-east-1.vpce.amazonaws.com/a/./b/../c/",
    "http://host.example:8080/path?b=2&a=1&a=0",
])
def test_the_lean_signature_is_botocores(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """SigV4 as lean.SigV4 signs a request and as botocore's SigV4Auth does, byte for byte: the same headers added,
    the same Authorization, across endpoints, temporary and long-term credentials, the day's key changing."""
    import datetime

    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from eda_cli.aws.lean import SigV4

    now = [datetime.datetime(2026, 12, 5, 23, 59, 58)]
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: now[0])
    signer = SigV4(url, "sqs", "eu-west-1")
    monkeypatch.setattr(signer, "_now", lambda: now[0])
    body = b'{"QueueUrl":"https://sqs.eu-west-1.amazonaws.com/1/q","MaxNumberOfMessages":10}'
    cases = [
        (Credentials("AKIDEXAMPLE", "secret/one"), body),
        (Credentials("ASIAEXAMPLE", "secret/two", "token  with   spaces"), body),
        (Credentials("AKIDEXAMPLE", "secret/one"), b""),
    ]
    for step in range(2):  # the second round on the next day: the signing key must change with it
        for credentials, payload in cases:
            headers = {"X-Amz-Target": "AmazonSQS.ReceiveMessage", "Content-Type": "application/x-amz-json-1.0",
                       "x-amzn-query-mode": "true", "User-Agent": "eda-cli/0.2.0  botocore/1", "X-Custom": "  a   b "}
            request = AWSRequest(method="POST", url=url, data=payload, headers=dict(headers))
            botocore.auth.SigV4Auth(credentials.get_frozen_credentials(), "sqs", "eu-west-1").add_auth(request)
            ours = dict(headers)
            signer.sign(ours, payload, credentials.get_frozen_credentials())
            assert ours == dict(request.headers.items()), (step, credentials.access_key)
        now[0] += datetime.timedelta(seconds=5)
