"""`eda audit` end to end on the demo sandbox: it fails CI on the misconfigurations and passes once fixed."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eda_cli.sandbox.demo_pipeline import MISCONFIGURED, seed_demo
from tests.fixtures.cli import Result, assert_one_line_error, run_cli

ERRORS = {(rule, resource) for rule, resource in MISCONFIGURED if rule not in ("sqs-max-receive-count",)}


@pytest.fixture
def sandbox(boto: Any) -> Any:
    """The demo pipeline, misconfigurations included, on the (freshly reset) moto server."""
    return seed_demo(boto)


def fix_the_sandbox(boto: Any) -> None:
    """What the audit's fixes say to do, done with boto3: the 'fixed sandbox' of the Done-when."""
    sqs, sns, events, cloudwatch, dynamodb = (boto(s) for s in ("sqs", "sns", "events", "cloudwatch", "dynamodb"))
    arn_of = {}
    for name in ("cancellations", "shipping", "shipping-dlq"):
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
        arn_of[name] = (url, attributes["QueueArn"])
    # cancellations: a DLQ (with an alarm), and a DeadLetterConfig + RetryPolicy on its rule target.
    dlq_url = sqs.create_queue(QueueName="cancellations-dlq",
                               Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    # moto's SetQueueAttributes drops a Policy it is not given (AWS keeps it): pass it back.
    policy = sqs.get_queue_attributes(QueueUrl=arn_of["cancellations"][0], AttributeNames=["Policy"])["Attributes"]
    sqs.set_queue_attributes(QueueUrl=arn_of["cancellations"][0], Attributes={
        **policy, "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})})
    events.put_targets(Rule="cancelled-orders", EventBusName="orders-bus", Targets=[{
        "Id": "cancellations", "Arn": arn_of["cancellations"][1], "DeadLetterConfig": {"Arn": dlq_arn},
        "RetryPolicy": {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 3600}}])
    # shipping: maxReceiveCount 3, a policy that names the real topic, an alarm on its DLQ.
    topic = next(t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":orders"))
    sqs.set_queue_attributes(QueueUrl=arn_of["shipping"][0], Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn_of["shipping-dlq"][1], "maxReceiveCount": 3}),
        "Policy": json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
            "Resource": arn_of["shipping"][1], "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]})})
    for dlq in ("shipping-dlq", "cancellations-dlq"):
        cloudwatch.put_metric_alarm(
            AlarmName=f"{dlq}-not-empty", Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": dlq}], Statistic="Maximum", Period=60, EvaluationPeriods=1,
            Threshold=0, ComparisonOperator="GreaterThanThreshold")
    dynamodb.update_time_to_live(TableName="legacy-idempotency",
                                 TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"})


def test_audit_finds_each_deliberate_misconfiguration(eda_ro: Callable[..., Result]) -> None:
    result = eda_ro("-o", "json", "audit")
    assert result.code == 1, result.stderr
    report = result.json()
    found = {(f["rule"], f["resource"]): f for f in report["findings"]}
    assert set(MISCONFIGURED) <= set(found)
    errors = {k for k, f in found.items() if f["severity"] == "error"}
    assert errors == ERRORS
    for finding in report["findings"]:
        assert finding["fix"] and finding["source"] and finding["url"].startswith("https://")
    assert found[("sqs-max-receive-count", "shipping")]["severity"] == "warning"
    assert "10" in found[("sqs-max-receive-count", "shipping")]["message"]
    assert report["summary"]["error"] == len(ERRORS)
    assert report["problems"] == []


SARIF_SUBSET_SCHEMA: dict[str, Any] = {
    # The parts of the SARIF 2.1.0 schema (OASIS sarif-schema-2.1.0.json) a code-scanning upload relies on.
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "$schema": {"type": "string"},
        "runs": {"type": "array", "items": {
            "type": "object", "required": ["tool"],
            "properties": {
                "tool": {"type": "object", "required": ["driver"], "properties": {"driver": {
                    "type": "object", "required": ["name"],
                    "properties": {"name": {"type": "string"}, "rules": {"type": "array", "items": {
                        "type": "object", "required": ["id"],
                        "properties": {"id": {"type": "string"},
                                       "shortDescription": {"type": "object", "required": ["text"]},
                                       "defaultConfiguration": {"type": "object", "properties": {
                                           "level": {"enum": ["none", "note", "warning", "error"]}}}}}}}}}},
                "results": {"type": "array", "items": {
                    "type": "object", "required": ["message"],
                    "properties": {
                        "ruleId": {"type": "string"}, "ruleIndex": {"type": "integer", "minimum": 0},
                        "level": {"enum": ["none", "note", "warning", "error"]},
                        "message": {"type": "object", "required": ["text"]},
                        "locations": {"type": "array", "items": {"type": "object", "properties": {
                            "physicalLocation": {"type": "object", "required": ["artifactLocation"], "properties": {
                                "region": {"type": "object", "properties": {"startLine": {"type": "integer",
                                                                                          "minimum": 1}}}}},
                            "logicalLocations": {"type": "array"}}}},
                        "partialFingerprints": {"type": "object", "additionalProperties": {"type": "string"}},
                    }}},
            }}},
    },
}


def test_sarif_2_1_0(eda_ro: Callable[..., Result], tmp_path: Path) -> None:
    config = tmp_path / "eda.yaml"
    config.write_text("version: 1\ntopics: [orders]\nqueues:\n  - shipping\n  - cancellations\n"
                      "tables: [legacy-idempotency]\nevent_buses: [orders-bus]\n")
    result = eda_ro("audit", "--format", "sarif", "--config", str(config))
    assert result.code == 1
    sarif = result.json()
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(sarif, SARIF_SUBSET_SCHEMA)
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    for r in run["results"]:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        assert r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == str(config)
    by_rule = {(r["ruleId"], r["properties"]["resource"]): r for r in run["results"]}
    assert {k for k, r in by_rule.items() if r["level"] == "error"} == ERRORS
    # Anchored on the line of the file that names the resource.
    assert by_rule[("sqs-dlq-alarm", "shipping-dlq")]["locations"][0]["physicalLocation"]["region"]["startLine"] == 4
    assert by_rule[("dynamodb-idempotency-ttl", "legacy-idempotency")]["locations"][0]["physicalLocation"][
        "region"]["startLine"] == 6


def test_only_skip_fail_on_and_formats(eda_ro: Callable[..., Result]) -> None:
    only = eda_ro("-o", "json", "audit", "--only", "sqs-max-receive-count")
    assert only.code == 0  # a warning, below the default --fail-on error
    assert [f["rule"] for f in only.json()["findings"]] == ["sqs-max-receive-count"]
    assert eda_ro("audit", "--only", "sqs-max-receive-count", "--fail-on", "warning").code == 1
    skipped = eda_ro("-o", "json", "audit", "--skip", "sqs-*", "--skip", "sns-*", "--skip", "events-*",
                  "--skip", "dynamodb-*")
    assert skipped.code == 0 and skipped.json()["findings"] == []
    typo = eda_ro("audit", "--only", "sqs-typo")
    assert_one_line_error(typo, 2)
    assert "eda: error: --only sqs-typo: no such rule" in typo.stderr
    assert "eda: error: --skip nope-*: no such rule" in eda_ro("audit", "--skip", "nope-*").stderr

    table = eda_ro("audit")
    assert table.code == 1
    assert "ERROR    sqs-dlq-alarm  shipping-dlq" in table.stdout
    assert "FAIL (--fail-on error): 5 error(s)" in table.stdout
    as_json = eda_ro("audit", "--format", "json")
    assert as_json.code == 1 and as_json.json()["summary"]["error"] == 5
    lines = eda_ro("-o", "jsonl", "audit").stdout.splitlines()
    assert all(json.loads(line)["rule"] for line in lines)
    rules = eda_ro("-o", "json", "audit", "--list-rules")
    assert rules.code == 0 and "sns-queue-policy" in {r["id"] for r in rules.items()}


def test_junit_fails_ci_on_the_misconfigured_sandbox_and_passes_when_fixed(
    endpoint: str, boto: Any, sandbox: Any
) -> None:
    """The Done-when, as a CI job runs it: a subprocess, its exit code, and the report it writes."""
    broken = run_cli("--endpoint-url", endpoint, "-o", "json", "audit", "--format", "junit")
    assert broken.code == 1, broken.stderr
    suites = ET.fromstring(broken.stdout)  # --format wins over --output json
    assert suites.tag == "testsuites"
    failed = {(c.get("classname"), c.get("name")) for c in suites.iter("testcase") if c.find("failure") is not None}
    assert failed == {(f"eda.audit.{rule}", resource) for rule, resource in ERRORS}
    assert int(suites.get("failures", "0")) == len(ERRORS)
    # Every rule and resource is a testcase, passing ones included.
    passed = {(c.get("classname"), c.get("name")) for c in suites.iter("testcase") if c.find("failure") is None}
    assert ("eda.audit.sqs-dlq-alarm", "payments-dlq") in passed
    # Warnings below --fail-on do not fail the testcase; they are shown in its output.
    shipping = next(c for c in suites.iter("testcase")
                    if c.get("classname") == "eda.audit.sqs-max-receive-count" and c.get("name") == "shipping")
    assert shipping.find("failure") is None and "maxReceiveCount is 10" in (shipping.findtext("system-out") or "")

    fix_the_sandbox(boto)
    fixed = run_cli("--endpoint-url", endpoint, "audit", "--format", "junit")
    assert fixed.code == 0, fixed.stdout[-3000:] + fixed.stderr
    suites = ET.fromstring(fixed.stdout)
    assert suites.get("failures") == "0" and suites.get("errors") == "0"
    # The DLQs still hold the demo's poison messages: a warning, so --fail-on warning still fails.
    strict = run_cli("--endpoint-url", endpoint, "audit", "--format", "junit", "--fail-on", "warning")
    assert strict.code == 1
    assert ET.fromstring(strict.stdout).get("failures") != "0"


def test_partial_discovery_exits_4_and_is_a_junit_error(
    eda: Callable[..., Result], boto: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import eda_cli.core.pipeline.discovery as discover_module

    def denied(events: Any, counter: Any) -> Any:
        from tests.aws_shapes import aws_error

        raise aws_error("events", "ListEventBuses", "AccessDeniedException", "no")

    monkeypatch.setattr(discover_module, "_list_event_buses", denied)
    boto("sqs").create_queue(QueueName="lonely-dlq", Attributes={"SqsManagedSseEnabled": "true"})
    boto("cloudwatch").put_metric_alarm(
        AlarmName="a", Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": "lonely-dlq"}], Statistic="Maximum", Period=60,
        EvaluationPeriods=1, Threshold=0, ComparisonOperator="GreaterThanThreshold")
    result = eda("audit")
    assert result.code == 4, result.stdout + result.stderr
    assert "could not read events list buses: access denied" in result.stderr
    junit = ET.fromstring(eda("audit", "--format", "junit").stdout)
    assert junit.get("errors") == "1"


# -- an audit that checks nothing ----------------------------------------------------------------------


def test_an_empty_scope_is_not_a_pass(
    eda: Callable[..., Result], boto: Any, account: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was `PASS ... 0 of 0 checks`, exit 0: a CI gate pointed at the wrong region passed silently."""
    monkeypatch.chdir(tmp_path)
    nothing = f"nothing to audit in us-east-1/{account}"
    result = eda("audit")
    assert result.code == 5, result.stdout + result.stderr
    assert result.stdout.startswith(f"EMPTY: {nothing} (0 checks over ")
    assert "--allow-empty" in result.stdout and "PASS" not in result.stdout
    junit = eda("audit", "--format", "junit")
    assert junit.code == 5 and nothing in junit.stderr
    assert ET.fromstring(junit.stdout).get("tests") == "0"
    allowed = eda("audit", "--allow-empty")
    assert allowed.code == 0 and allowed.stdout.startswith(f"PASS (--allow-empty): {nothing}")
    assert eda("-o", "json", "audit", "--allow-empty").json()["summary"]["checks"] == 0
    # A pipeline file that names nothing checks nothing either.
    (tmp_path / "eda.yaml").write_text("version: 1\n")
    assert eda("audit").code == 5
    # One queue is something to audit (and it has no DLQ: an error finding).
    boto("sqs").create_queue(QueueName="lonely")
    assert eda("audit").code == 1
