"""`eda trace` end to end against a moto server over HTTP (the `eda` fixture)."""

from __future__ import annotations

import csv
import io
import json
import re
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.aws_shapes import AwsFake, aws_error
from tests.fixtures.cli import Result, assert_one_line_error
from tests.fixtures.streams import await_records, make_table


@pytest.fixture(autouse=True)
def _no_pipeline_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from an empty directory, so no ./eda.yaml of the checkout changes where eda looks."""
    monkeypatch.chdir(tmp_path)


def _dlq_pair(sqs: Any, name: str, max_receive: int = 3) -> tuple[str, str]:
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = sqs.create_queue(QueueName=name, Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": str(max_receive)})})["QueueUrl"]
    return source, dlq


def _visible(sqs: Any, url: str) -> dict[str, int]:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return {"visible": int(attrs["ApproximateNumberOfMessages"]),
            "in_flight": int(attrs["ApproximateNumberOfMessagesNotVisible"])}


def _log(logs: Any, group: str, *messages: str) -> None:
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName="s",
                        logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(messages)])


# -- the done-when: the sandbox's poison message, then an unknown id ------------------------------


@pytest.fixture
def seeded(boto: Any) -> Any:
    from eda_cli.sandbox.demo_pipeline import seed_demo

    return seed_demo(boto)


def test_a_poison_message_is_traced_to_its_dlq_logs_and_missing_idempotency_record(
    eda: Callable[..., Result], boto: Any, seeded: Any
) -> None:
    dlq = seeded.queue("payments-dlq").url
    before = _visible(boto("sqs"), dlq)
    result = eda("-o", "json", "trace", "corr-0006")  # no flags, no file: discovery
    assert result.code == 0, result.stderr
    doc = result.json()
    assert doc["correlation_id"] == "corr-0006" and doc["found"] is True and doc["problems"] == []
    assert doc["partial"] is False
    assert doc["scope"] == "discovery"
    by_source: dict[str, list[dict[str, Any]]] = {}
    for hit in doc["hits"]:
        assert set(hit) == {"time", "source", "resource", "summary", "detail"}
        by_source.setdefault(hit["source"], []).append(hit)
    # Its DLQ: the SNS envelope unwrapped, three receives by the payments consumer, no record of it.
    [sqs_hit] = by_source["sqs"]
    assert sqs_hit["resource"] == "payments-dlq"
    assert sqs_hit["detail"]["dlq"] is True and sqs_hit["detail"]["redrive_sources"] == ["payments"]
    assert sqs_hit["detail"]["receive_count"] == 3
    assert "sns message correlationId" in sqs_hit["detail"]["matched"]
    assert sqs_hit["detail"]["body"]["amount"] == "12,50"
    assert sqs_hit["detail"]["idempotency_record"] == "none"
    # Its log lines: three failed attempts in payments, processed by the two other consumers.
    errors = [h for h in by_source["logs"] if h["resource"] == "/aws/lambda/payments-consumer"]
    assert len(errors) == 3 and all("ValueError: amount '12,50'" in h["summary"] for h in errors)
    assert {h["resource"] for h in by_source["logs"]} >= {"/aws/lambda/inventory-consumer",
                                                        "/aws/lambda/notifications-consumer"}
    # Its idempotency records: the other consumers processed it; payments never did.
    assert sorted(h["detail"]["by"] for h in by_source["idempotency"]) == ["inventory", "notifications"]
    assert all(h["detail"]["expired"] is False for h in by_source["idempotency"])
    assert [h["summary"] for h in by_source["stream"]] == ["INSERT order_id=o-1006"]
    # One timeline, sorted by time.
    times = [h["time"] for h in doc["hits"]]
    assert times == sorted(times)
    verdict = doc["verdict"]
    assert verdict.startswith("stuck in payments-dlq (sent ")
    assert "3 receives by anyone, inspections included)" in verdict
    # A trace reads the DLQ too: the next one sees one more receive, and says it is anyone's.
    again = eda("-o", "json", "trace", "corr-0006").json()["verdict"]
    assert "4 receives by anyone, inspections included" in again and "after" not in again.split(":")[0]
    assert "ValueError: amount '12,50' is not a number" in verdict
    assert "processed by inventory, notifications (orders-idempotency)" in verdict
    assert verdict.endswith("never processed by payments (no idempotency record)")
    # The places searched are listed; source queues were left alone (no --force).
    searched = {(p["source"], p["resource"]) for p in doc["searched"]}
    assert {("sqs", "payments-dlq"), ("idempotency", "orders-idempotency"), ("stream", "orders"),
            ("logs", "/aws/lambda/payments-consumer")} <= searched
    assert ("sqs", "payments") in {(p["source"], p["resource"]) for p in doc["skipped"]}
    # Nothing consumed, nothing left hidden.
    assert _visible(boto("sqs"), dlq) == before == {"visible": 4, "in_flight": 0}


def test_an_unknown_id_exits_1_with_not_found_and_the_places_searched(
    eda: Callable[..., Result], seeded: Any
) -> None:
    result = eda("trace", "corr-9999")
    assert result.code == 1, result.stderr
    out = result.stdout
    assert out.startswith("corr-9999: not found")
    for place in ("payments-dlq", "notify-lambda-dlq", "/aws/lambda/payments-consumer", "orders-idempotency",
                  "orders"):
        assert f" {place}  (" in out, place
    assert "skipped: has a RedrivePolicy" in out
    doc = eda("-o", "json", "trace", "corr-9999").json()
    assert doc["found"] is False and doc["hits"] == []
    assert doc["verdict"].startswith(f"not found in {len(doc['searched'])} places searched")


def test_the_table_output_has_a_timeline_and_a_verdict(eda: Callable[..., Result], boto: Any) -> None:
    sqs = boto("sqs")
    _, dlq = _dlq_pair(sqs, "orders")
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"correlationId": "c-1"}))
    _log(boto("logs"), "/aws/lambda/orders", "ERROR c-1: boom", "INFO c-10 fine")
    result = eda("trace", "c-1", "--queue", "orders-dlq", "--log-group", "/aws/lambda/orders")
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "c-1: 2 hit(s)"
    assert lines[1].split() == ["Time", "Source", "Resource", "Summary"]
    assert any(" sqs " in line and "orders-dlq" in line for line in lines)
    assert any("ERROR c-1: boom" in line for line in lines)
    assert not any("c-10" in line for line in lines)  # a whole-token match only
    assert re.fullmatch(r"verdict: stuck in orders-dlq \(sent \S+Z\): 'ERROR c-1: boom' logged by /aws/lambda/orders",
                        lines[-2]), lines[-2]
    assert lines[-1].startswith("searched 2 places (1 logs, 1 sqs) by flags")


def test_jsonl_and_csv_have_one_record_per_hit(eda: Callable[..., Result], boto: Any) -> None:
    _log(boto("logs"), "/aws/lambda/orders", "ERROR c-1: boom, order=\"o-1\"", "INFO c-10 fine")
    _log(boto("logs"), "/aws/lambda/billing", "INFO c-1 billed")
    args = ["trace", "c-1", "--log-group", "/aws/lambda/orders", "--log-group", "/aws/lambda/billing"]
    hits = eda("-o", "json", *args).json()["hits"]
    assert len(hits) == 2
    jsonl = eda("-o", "jsonl", *args)
    assert jsonl.code == 0, jsonl.stderr
    assert [json.loads(line) for line in jsonl.stdout.splitlines()] == hits  # as in -o json's "hits"
    assert "c-1: 2 hit(s); verdict: " in jsonl.stderr
    result = eda("-o", "csv", *args)
    assert result.code == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["time", "source", "resource", "summary", "detail"]
    assert [row[:4] for row in rows[1:]] == [[h["time"], h["source"], h["resource"], h["summary"]] for h in hits]
    # The detail as compact JSON, one cell.
    assert [row[4] for row in rows[1:]] == [json.dumps(h["detail"], sort_keys=True, separators=(",", ":"))
                                            for h in hits]
    # Not found: a header and no row, no line; exit 1 all the same, and stderr says so.
    none = ["trace", "c-2", "--log-group", "/aws/lambda/orders"]
    empty = eda("-o", "csv", *none)
    assert (empty.code, empty.stdout) == (1, "time,source,resource,summary,detail\n")
    assert empty.stderr.startswith("c-2: not found; searched 1 place (1 logs) by flags")
    assert (eda("-o", "jsonl", *none).code, eda("-o", "jsonl", *none).stdout) == (1, "")
    # json and yaml keep the whole result.
    assert yaml.safe_load(eda("-o", "yaml", *args).stdout)["hits"] == hits


# -- per-source errors ----------------------------------------------------------------------------


def test_a_place_that_cannot_be_searched_exits_4_and_the_rest_is_still_searched(
    eda: Callable[..., Result], boto: Any
) -> None:
    sqs = boto("sqs")
    _, dlq = _dlq_pair(sqs, "orders")
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"correlationId": "c-2"}))
    result = eda("-o", "json", "trace", "c-2", "--queue", "orders-dlq", "--log-group", "/aws/lambda/gone",
                 "--queue", "no-such-queue")
    assert result.code == 4, result.stderr
    doc = result.json()
    assert doc["found"] is True and [h["resource"] for h in doc["hits"]] == ["orders-dlq"]
    errors = {e["resource"]: e for e in doc["problems"]}
    assert set(errors) == {"/aws/lambda/gone", "no-such-queue"}
    assert errors["/aws/lambda/gone"]["service"] == "logs"
    assert "does not exist" in errors["/aws/lambda/gone"]["error"]
    assert "does not exist" in errors["no-such-queue"]["error"]
    assert "could not read logs /aws/lambda/gone" in result.stderr
    assert "Traceback" not in result.stderr


def _proxy(client: Any, fail: Callable[[str, dict[str, Any]], BaseException | None]) -> Any:
    """A client whose calls (and paginated calls) raise `fail(operation, kwargs)` when it returns one;
    the real client's answers are checked against botocore's model, as a fake's are."""

    class Pages:
        def __init__(self, name: str) -> None:
            self.name = name

        def paginate(self, **kwargs: Any) -> Any:
            error = fail(self.name, kwargs)
            if error is not None:
                raise error
            return client.get_paginator(self.name).paginate(**kwargs)

    class Proxy(AwsFake, wraps_real_client=True):
        aws_service = client.meta.service_model.service_name

        def get_paginator(self, name: str) -> Any:
            return Pages(name)

        def __getattr__(self, name: str) -> Any:
            method = getattr(client, name)

            def call(**kwargs: Any) -> Any:
                error = fail(name, kwargs)
                if error is not None:
                    raise error
                return method(**kwargs)

            return call

    return Proxy()


def test_access_denied_on_one_log_group_is_an_error_entry_not_the_end(boto: Any) -> None:
    from eda_cli.core.trace import TraceOptions, plan_from_flags, run_trace

    logs = boto("logs")
    _log(logs, "/aws/lambda/open", "INFO c-3 done")
    _log(logs, "/aws/lambda/secret", "INFO c-3 hidden")

    def fail(operation: str, kwargs: dict[str, Any]) -> BaseException | None:
        if operation == "filter_log_events" and kwargs.get("logGroupName") == "/aws/lambda/secret":
            return aws_error("logs", "FilterLogEvents", "AccessDeniedException", "not yours")
        return None

    def client(service: str) -> Any:
        return _proxy(boto(service), fail) if service == "logs" else boto(service)

    now = time.time()
    plan = plan_from_flags(log_groups=["/aws/lambda/open", "/aws/lambda/secret"])
    result = run_trace(client, plan, TraceOptions("c-3", ("correlationId",), now - 3600, now + 60),
                       region="us-east-1")
    assert [h.resource for h in result.hits] == ["/aws/lambda/open"]
    [error] = result.problems
    assert (error.service, error.resource) == ("logs", "/aws/lambda/secret")
    assert "access denied" in error.error and "FilterLogEvents" in error.error
    assert result.partial and result.found


def test_a_log_group_deleted_after_discovery_is_an_error_entry(boto: Any) -> None:
    from eda_cli.core.pipeline import discover
    from eda_cli.core.trace import TraceOptions, plan_from_pipeline, run_trace

    logs = boto("logs")
    _log(logs, "/aws/lambda/stays", "INFO c-4 here")
    _log(logs, "/aws/lambda/goes", "INFO c-4 there")
    plan = plan_from_pipeline(discover(boto, "us-east-1", services=("logs",)))
    logs.delete_log_group(logGroupName="/aws/lambda/goes")
    now = time.time()
    result = run_trace(boto, plan, TraceOptions("c-4", (), now - 3600, now + 60), region="us-east-1")
    assert [h.resource for h in result.hits] == ["/aws/lambda/stays"]
    [error] = result.problems
    assert error.resource == "/aws/lambda/goes"
    assert "deleted since it was listed" in error.error


# -- how a message carries its id -------------------------------------------------------------------


def test_envelopes_attributes_and_trace_header(eda: Callable[..., Result], boto: Any) -> None:
    sqs = boto("sqs")
    dlq = sqs.create_queue(QueueName="mixed-dlq")["QueueUrl"]
    event = {"version": "0", "source": "shop", "detail-type": "order.created", "detail": {"correlationId": "o-42"}}
    bodies = {
        "plain": {"correlationId": "o-42"},
        "sns": {"Type": "Notification", "Message": json.dumps({"correlation_id": "o-42"}),
                "MessageAttributes": {"cid": {"Type": "String", "Value": "o-42"}}},
        "eventbridge": event,
        "sns+eventbridge": {"Type": "Notification", "Message": json.dumps(event)},
        "decoy-other-id": {"correlationId": "o-420"},
        "decoy-off-path": {"note": "o-42"},
    }
    for kind, body in bodies.items():
        sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(body),
                         MessageAttributes={"kind": {"DataType": "String", "StringValue": kind}})
    sqs.send_message(QueueUrl=dlq, MessageBody="{}", MessageAttributes={
        "kind": {"DataType": "String", "StringValue": "attribute"},
        "correlationId": {"DataType": "String", "StringValue": "o-42"}})
    sqs.send_message(QueueUrl=dlq, MessageBody="not json", MessageSystemAttributes={"AWSTraceHeader": {
        "DataType": "String", "StringValue": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"}})
    result = eda("-o", "json", "trace", "o-42", "--queue", "mixed-dlq")
    assert result.code == 0, result.stderr
    hits = result.json()["hits"]
    matched = {h["detail"]["message_attributes"]["kind"]["value"]: h["detail"]["matched"] for h in hits}
    assert matched == {
        "plain": ["body correlationId"],
        "sns": ["sns message correlation_id", "sns attribute cid"],
        "eventbridge": ["body detail.correlationId", "eventbridge detail correlationId"],
        "sns+eventbridge": ["sns message detail.correlationId", "eventbridge detail correlationId"],
        "attribute": ["attribute correlationId"],
    }
    traced = eda("-o", "json", "trace", "1-5759e988-bd862e3fe1be46a994272793", "--queue", "mixed-dlq").json()
    assert [h["detail"]["matched"] for h in traced["hits"]] == [["AWSTraceHeader"]]
    assert _visible(sqs, dlq) == {"visible": 8, "in_flight": 0}


def test_id_path_flag_and_pipeline_file_paths(eda: Callable[..., Result], boto: Any, tmp_path: Path) -> None:
    sqs = boto("sqs")
    _, dlq = _dlq_pair(sqs, "legacy")
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"order": {"ref": "L-7"}}))
    assert eda("trace", "L-7", "--queue", "legacy-dlq").code == 1
    flagged = eda("-o", "json", "trace", "L-7", "--queue", "legacy-dlq", "--id-path", "$.order.ref")
    assert flagged.code == 0, flagged.stderr
    assert flagged.json()["hits"][0]["detail"]["matched"] == ["body order.ref"]
    assert "order.ref" in flagged.json()["id_paths"]
    # A pipeline file names the queue (its DLQ comes along) and where messages carry the id.
    (tmp_path / "eda.yaml").write_text("version: 1\ncorrelation_id_paths: [order.ref]\nqueues: [legacy]\n")
    from_file = eda("-o", "json", "trace", "L-7")
    assert from_file.code == 0, from_file.stderr
    doc = from_file.json()
    assert doc["scope"] == "pipeline file eda.yaml"
    assert [h["resource"] for h in doc["hits"]] == ["legacy-dlq"]
    assert [p["resource"] for p in doc["skipped"]] == ["legacy"]  # its RedrivePolicy: left alone


def test_a_queue_with_a_redrive_policy_is_read_only_with_force(eda: Callable[..., Result], boto: Any) -> None:
    sqs = boto("sqs")
    source, _ = _dlq_pair(sqs, "live")
    sqs.send_message(QueueUrl=source, MessageBody=json.dumps({"correlationId": "c-5"}))
    refused = eda("-o", "json", "trace", "c-5", "--queue", "live")
    assert refused.code == 4
    [error] = refused.json()["problems"]
    assert "RedrivePolicy" in error["error"] and "--force" in error["error"]
    forced = eda("-o", "json", "trace", "c-5", "--queue", "live", "--force")
    assert forced.code == 0, forced.stderr
    [hit] = forced.json()["hits"]
    assert hit["detail"]["dlq"] is False and hit["detail"]["receive_count"] == 0
    assert forced.json()["verdict"] == "waiting in live"
    # Not consumed; received once (by --force), never by the refused trace.
    assert _visible(sqs, source) == {"visible": 1, "in_flight": 0}
    [message] = sqs.receive_message(QueueUrl=source, AttributeNames=["All"])["Messages"]
    assert message["Attributes"]["ApproximateReceiveCount"] == "2"


# -- Step Functions, idempotency tables, items, streams, Logs Insights ----------------------------


def _enable_executions(endpoint: str) -> None:
    request = urllib.request.Request(
        f"{endpoint}/moto-api/config", method="POST", headers={"Content-Type": "application/json"},
        data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode())
    urllib.request.urlopen(request, timeout=10).read()


def test_a_failed_execution_is_found_by_its_input_and_by_its_name(
    eda: Callable[..., Result], boto: Any, endpoint: str
) -> None:
    _enable_executions(endpoint)  # after the fixture's reset
    sfn = boto("stepfunctions")
    definition = {"StartAt": "Reserve", "States": {
        "Reserve": {"Type": "Pass", "Next": "Charge"},
        "Charge": {"Type": "Fail", "Error": "PaymentDeclined", "Cause": "card declined"}}}
    arn = sfn.create_state_machine(name="checkout", definition=json.dumps(definition),
                                   roleArn="arn:aws:iam::123456789012:role/sfn")["stateMachineArn"]
    for name, payload in (("run-1", {"order": {"correlationId": "c-6"}}), ("run-2", {"correlationId": "c-7"}),
                          ("retry-c-6", {})):
        sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(payload))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(
            e["status"] == "RUNNING" for e in sfn.list_executions(stateMachineArn=arn)["executions"]):
        time.sleep(0.1)
    result = eda("-o", "json", "trace", "c-6", "--state-machine", "checkout")
    assert result.code == 0, result.stderr
    hits = {h["detail"]["name"]: h for h in result.json()["hits"]}
    assert set(hits) == {"run-1", "retry-c-6"}
    assert hits["run-1"]["detail"]["matched"] == "input" and hits["retry-c-6"]["detail"]["matched"] == "name"
    assert hits["run-1"]["summary"] == "execution run-1 FAILED at Charge: PaymentDeclined (card declined)"
    assert hits["run-1"]["detail"]["failed_state"] == "Charge"
    assert "checkout execution run-1 failed at Charge: PaymentDeclined" in result.json()["verdict"]
    assert eda("trace", "c-6", "--state-machine", "checkout", "--since", "2024-01-01T00:00:00Z").code == 0


def test_powertools_records_completed_in_progress_and_expired(eda: Callable[..., Result], boto: Any) -> None:
    from eda_cli.core.trace.match import powertools_hash

    ddb = boto("dynamodb")
    ddb.create_table(TableName="payments-idempotency", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    now = int(time.time())
    records = [
        {"id": f"payments-fn.handler#{powertools_hash('c-8')}", "status": "COMPLETED", "expiration": now + 3600},
        {"id": "refunds-fn.handler#0123", "status": "INPROGRESS", "expiration": now + 3600,
         "in_progress_expiration": (now - 60) * 1000, "data": json.dumps({"correlationId": "c-8"})},
        {"id": f"audit-fn.handler#{powertools_hash('c-8')}", "status": "COMPLETED", "expiration": now - 600},
        {"id": f"payments-fn.handler#{powertools_hash('c-80')}", "status": "COMPLETED", "expiration": now + 60},
    ]
    for record in records:
        item = {k: {"N": str(v)} if isinstance(v, int) else {"S": v} for k, v in record.items()}
        ddb.put_item(TableName="payments-idempotency", Item=item)
    result = eda("-o", "json", "trace", "c-8", "--idempotency-table", "payments-idempotency")
    assert result.code == 0, result.stderr
    hits = {h["detail"]["by"]: h for h in result.json()["hits"]}
    assert set(hits) == {"payments-fn.handler", "refunds-fn.handler", "audit-fn.handler"}
    assert hits["payments-fn.handler"]["detail"]["status"] == "COMPLETED"
    assert hits["payments-fn.handler"]["detail"]["format"] == "powertools"
    assert hits["refunds-fn.handler"]["detail"]["lock_expired"] is True
    assert "in-progress lock expired" in hits["refunds-fn.handler"]["summary"]
    assert hits["audit-fn.handler"]["detail"]["expired"] is True
    assert "not yet deleted by DynamoDB's TTL" in hits["audit-fn.handler"]["summary"]
    verdict = result.json()["verdict"]
    assert "processed by payments-fn.handler (payments-idempotency)" in verdict
    assert "in progress in refunds-fn.handler with an expired lock" in verdict
    assert "expired idempotency record for audit-fn.handler not yet deleted" in verdict


def test_a_dlq_message_with_a_record_under_its_message_id_is_not_called_unprocessed(
    eda: Callable[..., Result], boto: Any
) -> None:
    sqs, ddb = boto("sqs"), boto("dynamodb")
    _, dlq = _dlq_pair(sqs, "pay")
    message_id = sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"correlationId": "c-9"}))["MessageId"]
    ddb.create_table(TableName="pay-idempotency", KeySchema=[{"AttributeName": "messageId", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "messageId", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName="pay-idempotency", Item={"messageId": {"S": message_id}, "ttl": {"N": "9999999999"}})
    result = eda("-o", "json", "trace", "c-9", "--queue", "pay-dlq", "--idempotency-table", "pay-idempotency")
    assert result.code == 0, result.stderr
    hits = result.json()["hits"]
    assert {h["source"] for h in hits} == {"sqs", "idempotency"}
    record = next(h for h in hits if h["source"] == "idempotency")
    assert record["detail"]["found_by"] == "message id"
    assert next(h for h in hits if h["source"] == "sqs")["detail"]["idempotency_record"] == "found"
    assert "never processed" not in result.json()["verdict"]


def test_items_by_key_and_stream_records(eda: Callable[..., Result], boto: Any) -> None:
    ddb = boto("dynamodb")
    make_table(ddb)
    ddb.put_item(TableName="orders", Item={"order_id": {"S": "o-1"}, "correlationId": {"S": "c-10"},
                                           "status": {"S": "CREATED"}})
    ddb.update_item(TableName="orders", Key={"order_id": {"S": "o-1"}}, UpdateExpression="SET #s = :s",
                    ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":s": {"S": "PAID"}})
    ddb.put_item(TableName="orders", Item={"order_id": {"S": "o-2"}, "correlationId": {"S": "c-11"}})
    await_records(ddb, "orders", 3)
    result = eda("-o", "json", "trace", "c-10", "--stream", "orders", "--table", "orders")
    assert result.code == 0, result.stderr
    doc = result.json()
    assert [h["summary"] for h in doc["hits"]] == ["INSERT order_id=o-1", "MODIFY order_id=o-1: status CREATED -> PAID"]
    assert {p["source"] for p in doc["searched"]} == {"stream", "table"}
    by_key = eda("-o", "json", "trace", "o-2", "--table", "orders").json()
    assert [h["summary"] for h in by_key["hits"]] == ["item order_id=o-2"]
    assert by_key["verdict"] == "seen in 1 table item; in no queue, execution or idempotency table searched"


def test_insights_reads_the_same_lines(eda: Callable[..., Result], boto: Any) -> None:
    _log(boto("logs"), "/aws/lambda/a", "INFO c-12 in", "ERROR c-12: boom", "INFO c-13 other")
    _log(boto("logs"), "/aws/lambda/b", "INFO c-12 elsewhere")
    result = eda("-o", "json", "trace", "c-12", "--insights", "--log-group", "/aws/lambda/a",
                 "--log-group", "/aws/lambda/b")
    assert result.code == 0, result.stderr
    hits = result.json()["hits"]
    assert [(h["resource"], h["summary"]) for h in hits] == [
        ("/aws/lambda/a", "INFO c-12 in"), ("/aws/lambda/a", "ERROR c-12: boom"),
        ("/aws/lambda/b", "INFO c-12 elsewhere")]
    assert {h["detail"]["via"] for h in hits} == {"Logs Insights"}


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["trace", " "],
    ["trace", "c-1", "--since", "yesterday"],
    ["trace", "c-1", "--id-path", "a..b"],
    ["trace", "c-1", "--config", "missing.yaml"],
])
def test_bad_input_is_one_line_exit_2(eda: Callable[..., Result], args: list[str]) -> None:
    assert_one_line_error(eda(*args), 2)


def test_a_fifo_queue_read_only_in_part_says_so(eda: Callable[..., Result], boto: Any) -> None:
    sqs = boto("sqs")
    url = sqs.create_queue(QueueName="orders-dlq.fifo", Attributes={
        "FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    for i in range(15):
        sqs.send_message(QueueUrl=url, MessageGroupId="g", MessageBody=json.dumps({"correlationId": f"f-{i}"}))
    doc = eda("-o", "json", "trace", "f-1", "--queue", "orders-dlq.fifo").json()
    assert [h["detail"]["group_id"] for h in doc["hits"]] == ["g"]
    [place] = doc["searched"]
    assert place["complete"] is False
    assert place["note"].startswith("10 messages read of 15: a FIFO queue shows only the head of each message group")
    assert _visible(sqs, url) == {"visible": 15, "in_flight": 0}


def test_no_place_searchable_for_one_reason_of_the_environment_is_raised() -> None:
    """Every named place refused with expired credentials: the error itself (the boundary's one line,
    exit 3), not "not found" beside a NOT SEARCHED line per place. (One place answering keeps the
    result partial: test_access_denied_on_one_log_group_is_an_error_entry_not_the_end.)"""
    from botocore.exceptions import ClientError

    from eda_cli.core.trace import TraceOptions, plan_from_flags, run_trace
    from tests.fixtures.fakes import refusing

    now = time.time()
    options = TraceOptions("c-9", ("correlationId",), now - 3600, now + 60)
    plan = plan_from_flags(queues=["orders-dlq"], log_groups=["/aws/lambda/a", "/aws/lambda/b"],
                           machines=["order-saga"], streams=["orders"], idempotency_tables=["orders-idempotency"])
    with pytest.raises(ClientError) as raised:
        run_trace(refusing("ExpiredToken"), plan, options, region="us-east-1")
    assert raised.value.response["Error"]["Code"] == "ExpiredToken"
