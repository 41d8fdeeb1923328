"""Live discovery (core/pipeline/discovery.py) against the moto server, and with injected faults."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eda_cli.core.pipeline import SERVICES, Pipeline, discover, name_from_arn
from tests.aws_shapes import aws_error
from tests.fixtures.discovery import ClientFactory, build_account, queue
from tests.fixtures.fakes import Failing, Refusing, refusing


def test_discovers_every_kind_of_resource(boto: ClientFactory) -> None:
    arns = build_account(boto)
    p = discover(boto, "us-east-1")
    assert not p.problems, p.problems

    work, dlq = p.queue("work"), p.queue("work-dlq")
    assert work is not None and dlq is not None
    assert (work.dead_letter_target_arn, work.max_receive_count, work.visibility_timeout) == (arns["dlq"], 4, 60)
    assert dlq.retention_seconds == 1209600 and p.is_dlq(dlq) and not p.is_dlq(work)
    assert [q.name for q in p.redrive_sources(dlq)] == ["work"]
    assert [a.name for a in p.depth_alarms(dlq)] == ["work-dlq-depth"]

    [sub] = p.subscriptions
    assert (sub.topic_arn, sub.endpoint, sub.protocol) == (arns["topic"], arns["work"], "sqs")
    assert sub.filter_policy == {"kind": ["a"]} and sub.raw_message_delivery
    assert sub.dead_letter_target_arn == arns["dlq"]

    [rule] = [r for r in p.rules if r.name == "r1"]
    assert rule.bus_name == "bus" and json.loads(rule.event_pattern or "") == {"source": ["s"]}
    [target] = rule.targets
    assert (target.arn, target.dead_letter_arn, target.max_retry_attempts, target.max_event_age_seconds) == (
        arns["work"], arns["dlq"], 2, 600)
    assert {b.name for b in p.buses} == {"default", "bus"}

    items, dedupe = p.table("items"), p.table("dedupe")
    assert items is not None and dedupe is not None
    assert (items.stream_enabled, items.stream_view_type, items.stream_arn) == (True, "NEW_IMAGE", arns["stream"])
    assert items.tags == {"team": "orders"} and items.key_names == ("pk",)
    assert (dedupe.ttl_enabled, dedupe.ttl_attribute, dedupe.tags["eda:role"]) == (True, "exp", "idempotency")

    [fn] = p.functions
    assert (fn.name, fn.timeout_seconds) == ("worker", 20)
    by_uuid = {m.uuid: m for m in p.mappings}
    sqs_mapping, stream_mapping = by_uuid[arns["sqs_mapping"]], by_uuid[arns["stream_mapping"]]
    assert sqs_mapping.source_kind == "sqs" and sqs_mapping.reports_batch_item_failures
    assert json.loads(sqs_mapping.filters[0]) == {"body": {"kind": ["a"]}}
    assert stream_mapping.is_stream and stream_mapping.bisect_on_error
    assert stream_mapping.on_failure_arn == arns["dlq"]
    assert {m.uuid for m in p.consumers(arns["table"])} == {arns["stream_mapping"]}
    assert {m.uuid for m in p.consumers(arns["work"])} == {arns["sqs_mapping"]}

    [machine] = p.state_machines
    assert machine.express and machine.logging_level == "ERROR" and machine.log_group_arns
    assert machine.definition is not None and "Call" in machine.definition["States"]
    assert [g.name for g in p.log_groups] == ["/sfn/flow"]
    assert p.calls >= 20
    # JSON-ready, snake_case.
    doc = json.loads(json.dumps(p.to_dict()))
    assert doc["queues"][0]["dead_letter_target_arn"] == arns["dlq"]
    assert {"event_source_mappings", "state_machines", "log_groups", "problems"} <= set(doc)


def test_concurrent_and_sequential_discovery_agree(boto: ClientFactory) -> None:
    build_account(boto)
    fast, slow = discover(boto, "us-east-1"), discover(boto, "us-east-1", concurrency=1)
    assert fast.to_dict() == slow.to_dict()
    assert fast.calls == slow.calls


def test_every_list_call_is_paginated(boto: ClientFactory) -> None:
    """moto pages ListTopics, ListSubscriptions and ListRules by 100, ListTables by 100."""
    sns, events, dynamodb = boto("sns"), boto("events"), boto("dynamodb")
    _, arn = queue(boto, "sink")
    for i in range(105):
        topic = sns.create_topic(Name=f"t{i:03d}")["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        events.put_rule(Name=f"r{i:03d}", EventPattern=json.dumps({"source": [f"s{i}"]}))
    for i in range(102):
        dynamodb.create_table(TableName=f"tb{i:03d}", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                              BillingMode="PAY_PER_REQUEST")
    p = discover(boto, "us-east-1")
    assert len(p.topics) == 105
    assert len(p.subscriptions) == 105
    assert len([r for r in p.rules if r.bus_name == "default"]) == 105
    assert len(p.tables) == 102


def test_a_denied_service_is_a_problem_not_an_abort(boto: ClientFactory) -> None:
    build_account(boto)

    def factory(service: str) -> Any:
        if service == "lambda":
            return Failing(service, boto(service), {"list_functions": "AccessDeniedException",
                                                     "list_event_source_mappings": "AccessDeniedException"})
        if service == "dynamodb":  # a table deleted between ListTables and DescribeTable: skipped silently
            return Failing(service, boto(service), {"describe_table": "ResourceNotFoundException"})
        return boto(service)

    p = discover(factory, "us-east-1")
    assert p.partial
    assert {(x.service, x.resource) for x in p.problems} == {("lambda", "list functions"),
                                                            ("lambda", "list mappings")}
    assert "access denied" in p.problems[0].error
    assert p.functions == () and p.tables == ()
    assert p.queue("work") is not None and p.rules  # the rest was read


def test_empty_account(boto: ClientFactory) -> None:
    p = discover(boto, "us-east-1")
    assert isinstance(p, Pipeline)
    assert (p.queues, p.topics, p.rules, p.tables, p.problems) == ((), (), (), (), ())
    assert [b.name for b in p.buses] == ["default"]


@pytest.mark.parametrize(("arn", "name"), [
    ("arn:aws:sqs:us-east-1:123456789012:work", "work"),
    ("arn:aws:dynamodb:us-east-1:123456789012:table/items/stream/2024", "items"),
    ("arn:aws:lambda:us-east-1:123456789012:function:worker:live", "worker"),
    ("arn:aws:states:us-east-1:123456789012:stateMachine:flow", "flow"),
    ("arn:aws:events:us-east-1:123456789012:rule/bus/r1", "r1"),
    ("arn:aws:sns:us-east-1:123456789012:events", "events"),
])
def test_name_from_arn(arn: str, name: str) -> None:
    assert name_from_arn(arn) == name


# -- every call failing for one reason of the environment ------------------------------------------


@pytest.mark.parametrize(("code", "says"), [
    ("AccessDeniedException", "access denied to"),
    ("AccessDenied", "access denied to"),
    ("ExpiredToken", "credentials have expired"),
    ("InvalidClientTokenId", "rejected the credentials"),
])
def test_every_list_call_refused_for_one_reason_is_raised_not_a_problem_per_service(code: str, says: str) -> None:
    """Nothing answered and every failure says the same about the caller: the error boundary says it
    once (exit 3), where a partial pipeline with a problem per service said nothing useful."""
    from botocore.exceptions import ClientError

    from eda_cli.aws.errors import translate

    with pytest.raises(ClientError) as raised:
        discover(refusing(code), "us-east-1")
    translated = translate(raised.value)
    assert translated is not None and says in translated.message and int(translated.exit_code) == 3


def test_no_credentials_for_any_list_call_is_raised() -> None:
    from botocore.exceptions import NoCredentialsError

    def factory(service: str) -> Any:
        return Refusing(service, lambda svc, method: NoCredentialsError())

    with pytest.raises(NoCredentialsError):
        discover(factory, "us-east-1")


def test_different_reasons_or_one_answer_stay_partial(boto: ClientFactory) -> None:
    """Throttling is no fact about the environment, and one answer is an answer: a partial pipeline."""

    def mixed(service: str) -> Any:
        code = "ThrottlingException" if service == "logs" else "AccessDeniedException"
        return Refusing(service, lambda svc, method: aws_error(svc, method, code, "no"))

    p = discover(mixed, "us-east-1")
    assert p.partial and len(p.problems) == 11  # one per List call, ListPipes (core/dlq/origins.py) among them

    boto("sqs").create_queue(QueueName="mine")

    def all_but_sqs(service: str) -> Any:
        return boto(service) if service == "sqs" else refusing("AccessDeniedException")(service)

    p = discover(all_but_sqs, "us-east-1")
    assert p.partial and [q.name for q in p.queues] == ["mine"]
    assert {x.service for x in p.problems} == set(SERVICES) - {"sqs"}
    assert all("access denied" in x.error for x in p.problems)


def test_raise_if_environment_failure() -> None:
    from botocore.exceptions import EndpointConnectionError, NoCredentialsError

    from eda_cli.aws.errors import raise_if_environment_failure
    from eda_cli.errors import AwsError

    unreachable = [EndpointConnectionError(endpoint_url=f"http://127.0.0.1:1/{n}") for n in range(3)]
    with pytest.raises(EndpointConnectionError) as raised:
        raise_if_environment_failure(unreachable, succeeded=0)
    assert raised.value is unreachable[0]
    raise_if_environment_failure(unreachable, succeeded=1)  # something answered: partial
    raise_if_environment_failure([], succeeded=0)  # nothing failed
    raise_if_environment_failure([*unreachable, NoCredentialsError()], succeeded=0)  # two reasons
    raise_if_environment_failure([*unreachable, None], succeeded=0)  # one failure without an exception
    raise_if_environment_failure([AwsError("queue q does not exist")], succeeded=0)  # about a resource
