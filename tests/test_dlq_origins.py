"""`eda dlq list` / `dlq inspect` find DLQs from configuration: SNS subscriptions, EventBridge targets,
Lambda (async DLQ, on-failure destinations), event source mappings and pipes, each with its owner; a
service that cannot be read is a partial result (exit 4), never the end of the command."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.aws_shapes import AwsFake
from tests.backends import Backend
from tests.fixtures.cli import Result, assert_one_line_error, in_process
from tests.fixtures.discovery import DeadLetteringLambda, build_account, make_function, queue
from tests.fixtures.fakes import Failing
from tests.fixtures.sessions import session_factory


def arrange(boto: Callable[[str], Any], backend: Backend) -> dict[str, str]:
    """build_account's one of everything (work-dlq is named by the work queue's RedrivePolicy, the events
    subscription, the r1 target and the stream mapping), plus a DLQ of each kind that only configuration
    names, none of them named like a DLQ. The pipe only where the backend has EventBridge Pipes
    (`pipe-failures` is then a queue nothing names)."""
    arns = build_account(boto)
    _, arns["undelivered-notifications"] = queue(boto, "undelivered-notifications")
    _, arns["undelivered-events"] = queue(boto, "undelivered-events")
    _, arns["failed-invocations"] = queue(boto, "failed-invocations")
    _, arns["failed-batches"] = queue(boto, "failed-batches")
    _, arns["pipe-failures"] = queue(boto, "pipe-failures")
    _, arns["inbox"] = queue(boto, "inbox")
    sns, events, lam = boto("sns"), boto("events"), boto("lambda")
    arns["inbox-subscription"] = sns.subscribe(
        TopicArn=arns["topic"], Protocol="sqs", Endpoint=arns["inbox"], ReturnSubscriptionArn=True,
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": arns["undelivered-notifications"]})},
    )["SubscriptionArn"]
    events.create_event_bus(Name="orders-bus")
    arns["eu-orders"] = events.put_rule(Name="eu-orders", EventBusName="orders-bus",
                                        EventPattern=json.dumps({"source": ["shop"]}))["RuleArn"]
    events.put_targets(Rule="eu-orders", EventBusName="orders-bus", Targets=[
        {"Id": "to-inbox", "Arn": arns["inbox"], "DeadLetterConfig": {"Arn": arns["undelivered-events"]}},
        {"Id": "no-dlq", "Arn": arns["work"]}])
    make_function(boto, "notify")
    lam.put_function_event_invoke_config(FunctionName="notify", DestinationConfig={
        "OnFailure": {"Destination": arns["failed-invocations"]}})
    # An on-failure destination that is a topic, not a queue: no DLQ eda lists.
    make_function(boto, "audit-log")
    lam.put_function_event_invoke_config(FunctionName="audit-log", DestinationConfig={
        "OnFailure": {"Destination": arns["topic"]}})
    lam.create_event_source_mapping(FunctionName="notify", EventSourceArn=arns["stream"], StartingPosition="LATEST",
                                    DestinationConfig={"OnFailure": {"Destination": arns["failed-batches"]}})
    if not backend.has("pipes"):
        return arns
    boto("pipes").create_pipe(
        Name="items-to-inbox", Source=arns["stream"], Target=arns["inbox"],
        RoleArn=f"arn:aws:iam::{arns['work'].split(':')[4]}:role/pipe",
        SourceParameters={"DynamoDBStreamParameters": {"StartingPosition": "LATEST",
                                                       "DeadLetterConfig": {"Arn": arns["pipe-failures"]}}})
    return arns


def by_queue(result: Result) -> dict[str, dict[str, Any]]:
    assert result.code == 0, result.stderr
    return {row["queue"]: row for row in result.items()}


def test_list_finds_every_kind_with_its_origin_and_owner(eda: Callable[..., Result], boto: Any,
                                                         backend: Backend) -> None:
    arns = arrange(boto, backend)
    pipes = backend.has("pipes")
    rows = by_queue(eda("-o", "json", "dlq", "list"))
    found = {name: row["found_by"] for name, row in rows.items()}
    assert found == {  # inbox, work: live queues; the topic: no queue
        "work-dlq": "sqs redrive policy",  # the strongest of its four owners
        "undelivered-notifications": "sns subscription",
        "undelivered-events": "eventbridge target",
        "failed-invocations": "lambda on-failure",
        "failed-batches": "event source mapping",
        **({"pipe-failures": "pipe"} if pipes else {}),
    }
    [sub] = rows["undelivered-notifications"]["sources"]
    assert sub == {"kind": "sns subscription", "owner": "events -> inbox", "arn": arns["inbox-subscription"],
                   "topic_arn": arns["topic"], "protocol": "sqs", "endpoint": arns["inbox"],
                   "raw_message_delivery": False}
    [target] = rows["undelivered-events"]["sources"]
    assert target == {"kind": "eventbridge target", "owner": "orders-bus/eu-orders -> inbox", "arn": arns["eu-orders"],
                      "bus": "orders-bus", "rule": "eu-orders", "target_id": "to-inbox", "target_arn": arns["inbox"]}
    [on_failure] = rows["failed-invocations"]["sources"]
    assert (on_failure["kind"], on_failure["owner"], on_failure["function"]) == ("lambda on-failure", "notify",
                                                                                 "notify")
    [mapping] = rows["failed-batches"]["sources"]
    assert (mapping["kind"], mapping["owner"], mapping["function"]) == ("event source mapping", "items -> notify",
                                                                        "notify")
    assert mapping["event_source_arn"] == arns["stream"]
    if pipes:
        [pipe] = rows["pipe-failures"]["sources"]
        assert (pipe["kind"], pipe["owner"], pipe["source_arn"], pipe["target_arn"]) == (
            "pipe", "items-to-inbox", arns["stream"], arns["inbox"])
    # Several owners: every one, each with its kind, the strongest first.
    kinds = [(s["kind"], s["owner"]) for s in rows["work-dlq"]["sources"]]
    assert kinds == [("sqs redrive policy", "work"), ("sns subscription", "events -> work"),
                     ("eventbridge target", "bus/r1 -> work"), ("event source mapping", "items -> worker")]
    assert rows["work-dlq"]["sources"][0]["max_receive_count"] == 4
    # The table says the origin and the owner.
    table = eda("dlq", "list")
    assert table.code == 0, table.stderr
    lines = {line.split()[0]: line for line in table.stdout.splitlines()[2:] if line.strip()}
    assert lines["undelivered-events"].split(None, 1)[1].split("  ")[0] == "eventbridge target"  # Found by
    assert lines["undelivered-events"].endswith("eventbridge target orders-bus/eu-orders -> inbox")  # Sources
    if pipes:
        assert lines["pipe-failures"].split()[1:] == ["pipe", "pipe", "items-to-inbox"]
    assert lines["work-dlq"].split()[1:4] == ["sqs", "redrive", "policy"] and "work (4)" in lines["work-dlq"]


def test_inspect_a_named_queue_that_configuration_names(eda: Callable[..., Result], boto: Any,
                                                        backend: Backend) -> None:
    """Was "(not a DLQ: no RedrivePolicy names it)": a DLQ only an EventBridge target names is one."""
    arrange(boto, backend)
    result = eda("-o", "json", "dlq", "inspect", "undelivered-events", "inbox")
    assert result.code == 0, result.stderr
    rows = {row["queue"]: row for row in result.items()}
    assert (rows["undelivered-events"]["found_by"], rows["undelivered-events"]["is_dlq"]) == ("eventbridge target",
                                                                                              True)
    assert [s["kind"] for s in rows["undelivered-events"]["sources"]] == ["eventbridge target"]
    assert rows["undelivered-events"]["retention_ok"] is None  # no queue source to compare with
    assert (rows["inbox"]["found_by"], rows["inbox"]["is_dlq"]) == ("none", False)
    table = eda("dlq", "inspect", "undelivered-events", "work-dlq")
    lines = {line.split()[0]: line for line in table.stdout.splitlines()[2:] if line.strip()}
    assert "eventbridge target orders-bus/eu-orders -> inbox" in lines["undelivered-events"], table.stdout
    assert "work (4)" in lines["work-dlq"], table.stdout
    every = {row["queue"] for row in eda("-o", "json", "dlq", "inspect").items()}
    assert "failed-batches" in every and "inbox" not in every
    assert ("pipe-failures" in every) == backend.has("pipes")


def test_destinations_that_are_no_queue_here_are_kept_and_warned(eda: Callable[..., Result], boto: Any,
                                                                 backend: Backend) -> None:
    """Through the core API: a destination that is not a queue (a topic) is kept in `elsewhere`, and a DLQ
    in another account is `dangling`, which `dlq list` warns about with its kind and owner."""
    from eda_cli.core.dlq import scan_dlqs

    arns = arrange(boto, backend)
    far = "arn:aws:sqs:us-east-1:999999999999:far-dlq"
    boto("events").put_targets(Rule="eu-orders", EventBusName="orders-bus", Targets=[
        {"Id": "far", "Arn": arns["inbox"], "DeadLetterConfig": {"Arn": far}}])
    scan = scan_dlqs(boto("sqs"), clients=boto)
    assert not scan.partial, scan.problems
    assert [(e.source.kind, e.source.owner, e.destination_arn) for e in scan.elsewhere] == [
        ("lambda on-failure", "audit-log", arns["topic"])]
    assert [(d.kind, d.source, d.dlq_arn) for d in scan.dangling] == [
        ("eventbridge target", "orders-bus/eu-orders -> inbox", far)]
    result = eda("dlq", "list")
    assert result.code == 0, result.stderr
    assert f"warning: eventbridge target orders-bus/eu-orders -> inbox names {far} as its DLQ" in result.stderr


def test_a_lambda_async_dlq_is_found_by_its_function(endpoint: str, boto: Any,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    _, notify_dlq = queue(boto, "notify-failures")
    topic = boto("sns").create_topic(Name="alerts")["TopicArn"]
    make_function(boto, "notify")
    make_function(boto, "alert")  # its DLQ is a topic: not a queue, not listed
    fake = session_factory(**{"lambda": lambda real: DeadLetteringLambda(real, {"notify": notify_dlq,
                                                                               "alert": topic})})
    rows = by_queue(in_process(endpoint, capsys, fake)("-o", "json", "dlq", "list"))
    assert set(rows) == {"notify-failures"}
    [source] = rows["notify-failures"]["sources"]
    assert (rows["notify-failures"]["found_by"], source["kind"], source["owner"]) == ("lambda async",
                                                                                     "lambda async", "notify")
    assert source["arn"].endswith(":function:notify")


def test_a_service_that_cannot_be_read_is_a_partial_result(endpoint: str, boto: Any, backend: Backend,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """SNS denied, and one rule's targets denied: what SQS and the other services name is still listed,
    the JSON says partial and what failed, and the exit code is 4."""
    arrange(boto, backend)
    denied = session_factory(
        sns=lambda real: Failing("sns", real, {"list_subscriptions": "AuthorizationError"}),
        events=lambda real: Failing("events", real, {"list_targets_by_rule": "AccessDeniedException"},
                                    when=lambda call: call.get("Rule") == "eu-orders"),
    )
    result = in_process(endpoint, capsys, denied)("-o", "json", "dlq", "list")
    assert result.code == 4, result.stderr
    body = result.json()
    assert body["partial"] is True
    assert sorted((p["service"], p["resource"]) for p in body["problems"]) == [
        ("events", "orders-bus/eu-orders"), ("sns", "ListSubscriptions")]
    rows = {row["queue"]: row for row in body["items"]}
    # Not found: only SNS and the denied rule name these; they are not named like DLQs either.
    assert "undelivered-notifications" not in rows and "undelivered-events" not in rows
    assert rows["work-dlq"]["found_by"] == "sqs redrive policy"
    assert [s["kind"] for s in rows["work-dlq"]["sources"]] == ["sqs redrive policy", "eventbridge target",
                                                               "event source mapping"]
    assert {"failed-invocations", "failed-batches"} <= set(rows)
    assert "could not read sns ListSubscriptions" in result.stderr
    # The same for a named queue: dlq inspect is partial too.
    named = in_process(endpoint, capsys, denied)("-o", "json", "dlq", "inspect", "work-dlq")
    assert named.code == 4, named.stderr
    assert sorted(p["service"] for p in named.json()["problems"]) == ["events", "sns"]


class NoPipes(AwsFake, service="pipes"):
    """An endpoint without EventBridge Pipes (LocalStack without it: HTTP 501)."""

    def get_paginator(self, name: str) -> Any:
        class Pages:
            def paginate(self, **kwargs: Any) -> Any:
                raise ClientError({"Error": {"Code": "InternalFailure", "Message": "API for service 'pipes' not "
                                             "yet implemented or pro feature"},
                                   "ResponseMetadata": {"HTTPStatusCode": 501}}, "ListPipes")

        return Pages()


def test_an_api_the_endpoint_does_not_have_is_skipped_not_partial(endpoint: str, boto: Any, backend: Backend,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """No pipe can exist where the Pipes API does not: nothing is missed, so the answer is complete (exit 0,
    nothing on stderr); the core API says which API was not there."""
    from eda_cli.core.dlq import scan_dlqs

    arrange(boto, backend)  # with a pipe where the backend has Pipes: the fake hides it
    result = in_process(endpoint, capsys, session_factory(pipes=lambda real: NoPipes()))("-o", "json", "dlq", "list")
    assert result.code == 0, result.stderr
    assert result.json()["partial"] is False and result.stderr == ""
    assert "pipe-failures" not in {row["queue"] for row in result.items()}
    scan = scan_dlqs(boto("sqs"), clients=lambda service: NoPipes() if service == "pipes" else boto(service))
    assert scan.unavailable == ("pipes ListPipes",) and not scan.partial


def test_without_credentials_it_is_one_error_not_a_partial_result(
    eda: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    for args in (("dlq", "list"), ("dlq", "inspect")):
        result = eda(*args)
        assert_one_line_error(result, 3)
        assert "no AWS credentials found" in result.stderr and "warning:" not in result.stderr
