"""The local engine: retries, compensations, runtime errors, Lambda, timeouts; resuming after a crash."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from eda_cli.aws.session import AwsSession, AwsSettings
from eda_cli.core.saga import model as m
from eda_cli.core.saga.local import IdempotencyStore, LocalEngine, session_clients
from eda_cli.core.saga.spec import Saga, parse_saga, read_saga, with_resolved_names
from eda_cli.errors import ResourceNotFound, UsageError
from tests.aws_shapes import AwsFake, aws_error
from tests.fixtures.saga import CHECKOUT, ORDER, drain, make_checkout_resources

SAGA = """\
name: fake
defaults:
  retry: {attempts: 3, interval: 2, backoff: 3.0, max_delay: 10, errors: [States.ALL]}
steps:
  - name: a
    action: {call: sqs:sendMessage, parameters: {QueueUrl: q, MessageBody: "a ${input.id}"}}
    compensate: {call: sqs:sendMessage, parameters: {QueueUrl: q, MessageBody: "undo a"}}
  - name: b
    action: {call: dynamodb:putItem, parameters: {TableName: t, Item: {k: {S: "${steps.a.result.MessageId}"}}}}
  - name: c
    action: {call: sqs:sendMessage, parameters: {QueueUrl: q, MessageBody: "c"}}
    compensate: {call: sqs:sendMessage, parameters: {QueueUrl: q, MessageBody: "undo c"}}
  - name: d
    action: {call: sns:publish, parameters: {TopicArn: arn:aws:sns:us-east-1:1:t, Message: {id: "${input.id}"}}}
"""


class FakeClient(AwsFake):
    """Every service a saga calls, answering as each API does (checked against botocore's model).

    Records calls, in one log for all services; `failures[body or method]` is a list of exceptions
    to raise, one per call. Called as the engine's `client_for`, it hands out itself as that service.
    """

    def __init__(self, failures: dict[str, list[BaseException]] | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failures = failures or {}

    def __call__(self, service: str, timeout: int) -> FakeClient:
        """This fake speaking as `service`: the calls and failures are shared."""
        view = object.__new__(type(self))
        view.__dict__.update(self.__dict__)
        view.aws_service = service
        return view

    def _call(self, method: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((method, kwargs))
        key = kwargs.get("MessageBody") or kwargs.get("Message") or method
        queue = self.failures.get(key) or []
        if queue:
            raise queue.pop(0)
        message_id = f"id-{len(self.calls)}"
        if method == "send_message":
            md5 = hashlib.md5(kwargs["MessageBody"].encode()).hexdigest()
            return {"MessageId": message_id, "MD5OfMessageBody": md5, "ResponseMetadata": {"HTTPStatusCode": 200}}
        if method == "publish":
            return {"MessageId": message_id, "ResponseMetadata": {"HTTPStatusCode": 200}}
        if method == "put_events":
            entries = [{"EventId": f"{message_id}-{i}"} for i, _ in enumerate(kwargs["Entries"])]
            return {"FailedEntryCount": 0, "Entries": entries}
        return {"ResponseMetadata": {"HTTPStatusCode": 200}}  # a DynamoDB write without ReturnValues

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)
        return lambda **kwargs: self._call(method, kwargs)


def client_error(service: str, operation: str, code: str) -> ClientError:
    return aws_error(service, operation, code, f"{code} happened")


def run(saga: Saga, client: FakeClient, fail_at: str | None = None) -> tuple[m.SagaResult, list[float], list[Any]]:
    sleeps: list[float] = []
    events: list[m.SagaEvent] = []
    engine = LocalEngine(saga, client, execution="x-1", fail_at=fail_at,
                         on_event=events.append, sleep=sleeps.append, clock=lambda: 1_700_000_000.0)
    return engine.run({"id": "o-1"}), sleeps, events


def bodies(client: FakeClient) -> list[str]:
    return [kw.get("MessageBody") or kw.get("Message") or method for method, kw in client.calls]


def test_all_steps_succeed_with_results_feeding_templates() -> None:
    client = FakeClient()
    result, sleeps, _ = run(parse_saga(SAGA), client)
    assert result.status == m.SUCCEEDED and sleeps == []
    assert [(s.name, s.status, s.attempts) for s in result.steps] == [
        ("a", "SUCCEEDED", 1), ("b", "SUCCEEDED", 1), ("c", "SUCCEEDED", 1), ("d", "SUCCEEDED", 1)]
    assert client.calls[1] == ("put_item", {"TableName": "t", "Item": {"k": {"S": "id-1"}}})
    # An object given as an SNS Message is sent as its JSON text, as Step Functions sends it.
    assert client.calls[3][1]["Message"] == '{"id":"o-1"}'
    assert result.steps[0].started_at == "2023-11-14T22:13:20.000Z"


def test_retries_wait_as_step_functions_waits_and_then_compensate_in_reverse() -> None:
    throttled = client_error("dynamodb", "PutItem", "ProvisionedThroughputExceededException")
    client = FakeClient({"put_item": [throttled] * 5})
    result, sleeps, events = run(parse_saga(SAGA), client)
    # interval 2, backoff 3, capped at max_delay 10: 2, then 6; three attempts in all.
    assert sleeps == [2.0, 6.0]
    assert result.status == m.COMPENSATED
    b = result.steps[1]
    assert (b.status, b.attempts, b.error and b.error.error) == (
        "FAILED", 3, "DynamoDB.ProvisionedThroughputExceededException")
    assert [(s.name, s.status) for s in result.steps] == [
        ("a", "COMPENSATED"), ("b", "FAILED"), ("c", "NOT_RUN"), ("d", "NOT_RUN")]
    assert [(c.step, c.status, c.attempts) for c in result.compensations] == [("a", "SUCCEEDED", 1)]
    assert bodies(client)[-1] == "undo a"
    retrying = [e for e in events if e.phase == m.ATTEMPT_FAILED]
    assert [e.retry_in for e in retrying] == [2.0, 6.0, None]


def test_errors_outside_the_retry_list_are_not_retried() -> None:
    saga = parse_saga(SAGA.replace("errors: [States.ALL]", "errors: [DynamoDB.ProvisionedThroughputExceededException]"))
    client = FakeClient({"put_item": [client_error("dynamodb", "PutItem", "ConditionalCheckFailedException")]})
    result, sleeps, _ = run(saga, client)
    assert sleeps == [] and result.steps[1].attempts == 1
    assert result.steps[1].error == m.StepError("DynamoDB.ConditionalCheckFailedException",
                                                "ConditionalCheckFailedException happened")


def test_an_injected_failure_is_not_retried_and_calls_nothing() -> None:
    client = FakeClient()
    result, sleeps, _ = run(parse_saga(SAGA), client, fail_at="d")
    assert sleeps == []
    assert bodies(client) == ["a o-1", "put_item", "c", "undo c", "undo a"]
    assert result.status == m.COMPENSATED
    assert (result.steps[3].attempts, result.steps[3].error) == (1, m.StepError("Saga.InjectedFailure",
                                                                                 m.injected_cause("d")))
    assert [c.step for c in result.compensations] == ["c", "a"]
    assert result.steps[1].status == m.SUCCEEDED  # no compensation: it stays in effect, the saga is still COMPENSATED


def test_a_failing_compensation_stops_the_saga_failed_and_says_what_is_left() -> None:
    client = FakeClient({"undo c": [client_error("sqs", "SendMessage", "AccessDenied")] * 3})
    result, _, _ = run(parse_saga(SAGA), client, fail_at="d")
    assert result.status == m.FAILED
    assert [(c.step, c.status, c.attempts) for c in result.compensations] == [("c", "FAILED", 3)]
    assert result.failed_compensation and result.failed_compensation.error == m.StepError(
        "SQS.AccessDeniedException", "AccessDenied happened")
    # "undo a" never ran: the first failed compensation needs a human before anything else is undone.
    assert "undo a" not in bodies(client)
    assert result.still_in_effect == ["a", "b", "c"]
    assert result.to_dict()["still_in_effect"] == ["a", "b", "c"]


def test_a_template_reading_a_missing_value_fails_at_once_without_compensating() -> None:
    saga = parse_saga(SAGA.replace("${steps.a.result.MessageId}", "${steps.a.result.Nope}"))
    client = FakeClient()
    result, _, _ = run(saga, client)
    assert result.status == m.FAILED and result.compensations == ()
    assert result.steps[1].error is not None and result.steps[1].error.error == "States.Runtime"
    assert result.error is not None and result.error.error == "States.Runtime"
    assert bodies(client) == ["a o-1"]


def test_a_timeout_is_states_timeout() -> None:
    client = FakeClient({"c": [ReadTimeoutError(endpoint_url="http://x")] * 3})
    result, _, _ = run(parse_saga(SAGA), client)
    assert result.steps[2].error is not None and result.steps[2].error.error == "States.Timeout"
    assert result.steps[2].attempts == 3


def test_unknown_fail_at_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        run(parse_saga(SAGA), FakeClient(), fail_at="zz")


LAMBDA = """\
name: lam
steps:
  - name: price
    action: {call: lambda:invoke, parameters: {FunctionName: pricer, Payload: {order: "${input.id}"}}}
  - name: use
    action: {call: sqs:sendMessage, parameters: {QueueUrl: q, MessageBody: "${steps.price.result.Payload.total}"}}
"""


class FakeLambda(FakeClient):
    def __init__(self, payload: Any, function_error: str | None = None) -> None:
        super().__init__()
        self.payload = payload
        self.function_error = function_error

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        import io

        from botocore.response import StreamingBody

        self.calls.append(("invoke", kwargs))
        raw = json.dumps(self.payload).encode()
        answer: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": "$LATEST",
                                  "Payload": StreamingBody(io.BytesIO(raw), len(raw))}
        if self.function_error:
            answer["FunctionError"] = self.function_error
        return answer


def test_lambda_invoke_parses_the_payload_like_step_functions() -> None:
    client = FakeLambda({"total": 12})
    result, _, _ = run(parse_saga(LAMBDA), client)
    assert result.status == m.SUCCEEDED
    assert client.calls[0] == ("invoke", {"FunctionName": "pricer", "Payload": b'{"order":"o-1"}'})
    assert client.calls[1][1]["MessageBody"] == "12"  # the number, sent as JSON text as Step Functions sends it


def test_a_lambda_function_error_is_named_by_its_error_type() -> None:
    client = FakeLambda({"errorType": "OutOfStock", "errorMessage": "none left"}, function_error="Unhandled")
    result, _, _ = run(parse_saga(LAMBDA), client)
    assert result.steps[0].error is not None and result.steps[0].error.error == "OutOfStock"
    assert result.steps[0].attempts == 3


# -- idempotency against the moto server ------------------------------------------------------------


class Crash(BaseException):
    """The process dies (not an error the engine may catch)."""


class CrashingClients:
    """session clients, except that one call of one method crashes the run; what the real clients
    answer is still checked against botocore's model, as a fake's answers are."""

    def __init__(self, real: Any, method: str, body_contains: str = "",
                 error: Callable[[], BaseException] = Crash) -> None:
        self.real = real
        self.method = method
        self.body_contains = body_contains
        self.error = error

    def __call__(self, service: str, timeout: int) -> Any:
        client = self.real(service, timeout)
        outer = self

        class Wrapper(AwsFake, wraps_real_client=True):
            def __getattr__(self, name: str) -> Any:
                attribute = getattr(client, name)
                if name != outer.method:
                    return attribute

                def crash(**kwargs: Any) -> Any:
                    if outer.body_contains in json.dumps(kwargs, default=str):
                        raise outer.error()
                    return attribute(**kwargs)

                return crash

        wrapper = Wrapper()
        wrapper.aws_service = service
        return wrapper


@pytest.fixture
def checkout(endpoint: str, boto: Any) -> tuple[Saga, Any, IdempotencyStore]:
    make_checkout_resources(boto)
    boto("dynamodb").create_table(
        TableName="saga-steps", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    )
    boto("dynamodb").update_time_to_live(TableName="saga-steps",
                                         TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    url = boto("sqs").get_queue_url(QueueName="payments")["QueueUrl"]
    saga = with_resolved_names(read_saga(str(CHECKOUT)), lambda kind, name: url)
    clients = session_clients(AwsSession(AwsSettings(region="us-east-1", endpoint_url=endpoint)))  # the test's account
    store = IdempotencyStore(boto("dynamodb"), "saga-steps", ttl_seconds=3600)
    return saga, clients, store


def test_a_rerun_after_a_crash_resumes_without_repeating_steps(checkout: tuple[Saga, Any, IdempotencyStore],
                                                                 boto: Any) -> None:
    saga, clients, store = checkout
    crashing = LocalEngine(saga, CrashingClients(clients, "put_events"), execution="order-1", store=store)
    with pytest.raises(Crash):
        crashing.run(ORDER)
    # reserve and charge were recorded (conditional put, TTL on the table's TTL attribute).
    records = boto("dynamodb").scan(TableName="saga-steps")["Items"]
    assert sorted(r["step"]["S"] for r in records if r["kind"]["S"] == "step") == ["charge", "reserve"]
    assert all(int(r["expires"]["N"]) > time.time() + 3000 for r in records)

    result = LocalEngine(saga, clients, execution="order-1", store=store).run(ORDER)
    assert result.status == m.SUCCEEDED
    assert [(s.name, s.attempts, s.resumed) for s in result.steps] == [
        ("reserve", 0, True), ("charge", 0, True), ("ship", 1, False)]
    # Not repeated: one charge on the queue, and the reservation's conditional put did not fail.
    assert [json.loads(msg["Body"])["type"] for msg in drain(boto("sqs"), "payments")] == ["payment.charge"]
    assert len(drain(boto("sqs"), "shipments")) == 1

    again = LocalEngine(saga, clients, execution="order-1", store=store).run(ORDER)
    assert again.status == m.SUCCEEDED and all(s.resumed for s in again.steps)
    assert drain(boto("sqs"), "payments") == []


def test_a_crash_while_compensating_resumes_the_compensations(checkout: tuple[Saga, Any, IdempotencyStore],
                                                               boto: Any) -> None:
    saga, clients, store = checkout
    crashing = LocalEngine(saga, CrashingClients(clients, "update_item"), execution="order-2", fail_at="ship",
                           store=store)
    with pytest.raises(Crash):
        crashing.run(ORDER)
    result = LocalEngine(saga, clients, execution="order-2", fail_at="ship", store=store).run(ORDER)
    assert result.status == m.COMPENSATED
    assert [(c.step, c.status, c.resumed) for c in result.compensations] == [
        ("charge", "SUCCEEDED", True), ("reserve", "SUCCEEDED", False)]
    assert [s.status for s in result.steps] == ["COMPENSATED", "COMPENSATED", "FAILED"]
    kinds = sorted(json.loads(msg["Body"])["type"] for msg in drain(boto("sqs"), "payments"))
    assert kinds == ["payment.charge", "payment.refund"]  # the refund was not sent twice
    item = boto("dynamodb").get_item(TableName="orders", Key={"order_id": {"S": "o-2001"}})["Item"]
    assert item["status"] == {"S": "RELEASED"}


def test_after_a_failed_compensation_a_rerun_retries_it_and_goes_on(
        checkout: tuple[Saga, Any, IdempotencyStore], boto: Any) -> None:
    saga, clients, store = checkout
    broken = CrashingClients(clients, "update_item",
                             error=lambda: client_error("dynamodb", "UpdateItem", "AccessDeniedException"))
    first = LocalEngine(saga, broken, execution="order-3", fail_at="ship", store=store, sleep=lambda s: None).run(ORDER)
    assert first.status == m.FAILED and first.still_in_effect == ["reserve"]
    fixed = LocalEngine(saga, clients, execution="order-3", fail_at="ship", store=store).run(ORDER)
    assert fixed.status == m.COMPENSATED
    assert [(c.step, c.resumed) for c in fixed.compensations] == [("charge", True), ("reserve", False)]
    kinds = sorted(json.loads(msg["Body"])["type"] for msg in drain(boto("sqs"), "payments"))
    assert kinds == ["payment.charge", "payment.refund"]


def test_the_idempotency_table_must_exist_and_have_a_string_key(endpoint: str, boto: Any) -> None:
    with pytest.raises(ResourceNotFound):
        IdempotencyStore(boto("dynamodb"), "nope")
    boto("dynamodb").create_table(
        TableName="composite", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}, {"AttributeName": "b", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"},
                              {"AttributeName": "b", "AttributeType": "S"}],
    )
    with pytest.raises(UsageError):
        IdempotencyStore(boto("dynamodb"), "composite")
