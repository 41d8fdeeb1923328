"""`audit --sample-dlqs N` and its rule dlq-oversized-events: the rule on hand-built pipelines and samples,
the sampling against moto in-process, and the CLI end to end (JSON, JUnit, SARIF)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest

from eda_cli.core.audit import DlqSample, DlqSamples, audit, rule_target_dlqs, rules, sample_dlqs, target_dlqs
from eda_cli.core.pipeline import Pipeline, Queue, Rule, Target
from eda_cli.core.schemas.size import EVENTBRIDGE_LIMIT
from tests.fixtures.cli import Result

ACCOUNT = "123456789012"
REGION = "us-east-1"
RULE = "dlq-oversized-events"
KB = 1024


def arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


def q(name: str, **kw: Any) -> Queue:
    return Queue(name=name, url=f"https://sqs/{ACCOUNT}/{name}", arn=arn("sqs", name), **kw)


def pipeline() -> Pipeline:
    """Rule `orders` on bus `bus`: target `work` (an SQS queue whose RedrivePolicy DLQ is work-dlq) with a
    DeadLetterConfig naming target-dlq; rule `audit-log`: a Lambda target without a DLQ."""
    queues = (q("work", dead_letter_target_arn=arn("sqs", "work-dlq"), max_receive_count=3),
              q("work-dlq"), q("target-dlq"))
    orders = Rule("orders", arn("events", "rule/bus/orders"), "bus", targets=(
        Target("t1", arn("sqs", "work"), dead_letter_arn=arn("sqs", "target-dlq")),))
    log = Rule("audit-log", arn("events", "rule/bus/audit-log"), "bus", targets=(
        Target("fn", arn("lambda", "function:log")),))
    return Pipeline(REGION, queues=queues, rules=(orders, log))


def sampled(**sizes: tuple[int, ...]) -> DlqSamples:
    return DlqSamples(5, {arn("sqs", name): DlqSample(arn("sqs", name), name, s) for name, s in sizes.items()})


def found(report: Any) -> list[tuple[str, str, str]]:
    return [(f.resource, f.severity, f.message) for f in report.findings if f.rule == RULE]


# -- the rule ---------------------------------------------------------------------------------------


def test_a_targets_dlqs_are_its_dead_letter_config_and_its_queues_redrive_dlq() -> None:
    p = pipeline()
    orders, log = p.rules
    assert [d.name for d in target_dlqs(p, orders.targets[0])] == ["target-dlq", "work-dlq"]
    assert target_dlqs(p, log.targets[0]) == []
    assert [d.name for d in rule_target_dlqs(p)] == ["target-dlq", "work-dlq"]


def test_without_samples_the_rule_checks_nothing_and_says_it_needs_the_flag() -> None:
    report = audit(pipeline(), only=[RULE])
    assert report.checks == () and report.findings == []
    [info] = [r for r in rules() if r.id == RULE]
    assert "--sample-dlqs" in info.title


def test_over_and_near_the_limit_are_an_error_and_a_warning_naming_dlq_count_and_largest() -> None:
    over, near, small = EVENTBRIDGE_LIMIT + 1, 240 * KB, 2 * KB
    report = audit(pipeline(), only=[RULE], samples=sampled(**{
        "target-dlq": (over, over + 10, small), "work-dlq": (near, small)}))
    [error, warning] = found(report)
    assert error[:2] == ("bus/orders -> work", "error")
    assert "2 of 3 sampled message(s) in DLQ target-dlq are over" in error[2]
    assert f"largest {over + 10:,} bytes" in error[2]
    assert warning[:2] == ("bus/orders -> work", "warning")
    assert "1 of 2 sampled message(s) in DLQ work-dlq are within 10%" in warning[2]
    assert f"largest {near:,} bytes" in warning[2]
    assert report.failed("error")


@pytest.mark.parametrize(("size", "verdict"), [
    (int(0.9 * EVENTBRIDGE_LIMIT) - 1, None),
    (int(0.9 * EVENTBRIDGE_LIMIT) + 1, "warning"),
    (EVENTBRIDGE_LIMIT, "warning"),
    (EVENTBRIDGE_LIMIT + 1, "error"),
])
def test_the_edges_of_the_limit(size: int, verdict: str | None) -> None:
    report = audit(pipeline(), only=[RULE], samples=sampled(**{"work-dlq": (size,)}))
    assert [s for _, s, _ in found(report)] == ([verdict] if verdict else [])
    assert len(report.checks) == 1  # one check per target with a sampled DLQ, passing or not


def test_small_messages_empty_and_skipped_dlqs_pass_or_are_not_checked() -> None:
    samples = DlqSamples(5, {
        arn("sqs", "work-dlq"): DlqSample(arn("sqs", "work-dlq"), "work-dlq", (100, 200)),
        arn("sqs", "target-dlq"): DlqSample(arn("sqs", "target-dlq"), "target-dlq", skipped="has a RedrivePolicy"),
    })
    report = audit(pipeline(), only=[RULE], samples=samples)
    assert [c.passed for c in report.checks] == [True]
    skipped_only = DlqSamples(5, {arn("sqs", "target-dlq"): samples.samples[arn("sqs", "target-dlq")]})
    assert audit(pipeline(), only=[RULE], samples=skipped_only).checks == ()


# -- sampling, against moto in-process ---------------------------------------------------------------


def test_sampling_reads_without_consuming_and_skips_a_dlq_with_its_own_redrive_policy() -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
        chained = sqs.create_queue(QueueName="chained-dlq", Attributes={"RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": arn("sqs", "dlq"), "maxReceiveCount": 3})})["QueueUrl"]
        for size in (10, 240 * KB, 20):
            sqs.send_message(QueueUrl=dlq, MessageBody="x" * size)
        queues = [Queue("dlq", dlq, arn("sqs", "dlq"), visible=3),
                  Queue("chained-dlq", chained, arn("sqs", "chained-dlq"), visible=1,
                        dead_letter_target_arn=arn("sqs", "dlq")),
                  Queue("gone", dlq + "-gone", arn("sqs", "gone"), visible=1)]
        result = sample_dlqs(sqs, queues, 5)
        assert sorted(result.samples[arn("sqs", "dlq")].sizes) == [10, 20, 240 * KB]
        assert result.samples[arn("sqs", "chained-dlq")].skipped
        assert [p.resource for p in result.problems] == ["gone"]  # unreadable: partial, not a failure
        depth = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
        assert depth["Attributes"]["ApproximateNumberOfMessages"] == "3"  # all visible again at once


# -- end to end ---------------------------------------------------------------------------------------


def seed(boto: Callable[[str], Any]) -> None:
    """A bus rule whose SQS target dead-letters (RedrivePolicy) into orders-dlq, which holds one message
    within 10% of the limit (moto caps SQS messages at 256 KB, so none over it) and two small ones."""
    sqs, events = boto("sqs"), boto("events")
    dlq = sqs.create_queue(QueueName="orders-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    work = sqs.create_queue(QueueName="orders", Attributes={"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})})["QueueUrl"]
    work_arn = sqs.get_queue_attributes(QueueUrl=work, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.create_event_bus(Name="shop")
    events.put_rule(Name="orders", EventBusName="shop", EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(Rule="orders", EventBusName="shop", Targets=[{"Id": "orders", "Arn": work_arn}])
    big = json.dumps({"source": "shop", "detail-type": "OrderCreated", "detail": {"blob": "x" * (240 * KB)}})
    for body in (big, '{"source": "shop"}', '{"source": "shop", "detail": {}}'):
        sqs.send_message(QueueUrl=dlq, MessageBody=body)


def test_audit_sample_dlqs_finds_an_event_near_the_limit_in_json_junit_and_sarif(
    eda: Callable[..., Result], boto: Callable[[str], Any]
) -> None:
    seed(boto)
    plain = eda("-o", "json", "audit", "--only", RULE, "--allow-empty")
    assert plain.code == 0, plain.stderr
    assert plain.json()["findings"] == [] and plain.json()["summary"]["checks"] == 0
    assert f"{RULE} checks nothing without --sample-dlqs N" in plain.stderr

    result = eda("-o", "json", "audit", "--sample-dlqs", "5", "--only", RULE, "--fail-on", "warning")
    assert result.code == 1, result.stdout + result.stderr
    [finding] = result.json()["findings"]
    assert (finding["rule"], finding["severity"], finding["resource"]) == (RULE, "warning", "shop/orders -> orders")
    assert "1 of 3 sampled message(s) in DLQ orders-dlq are within 10%" in finding["message"]
    assert result.json()["problems"] == []
    depth = boto("sqs").get_queue_attributes(QueueUrl=boto("sqs").get_queue_url(QueueName="orders-dlq")["QueueUrl"],
                                             AttributeNames=["ApproximateNumberOfMessages"])
    assert depth["Attributes"]["ApproximateNumberOfMessages"] == "3"  # sampled, not consumed

    junit = ET.fromstring(eda("audit", "--sample-dlqs", "5", "--only", RULE, "--format", "junit",
                              "--fail-on", "warning").stdout)
    [case] = [c for c in junit.iter("testcase") if c.get("classname") == f"eda.audit.{RULE}"]
    assert case.get("name") == "shop/orders -> orders" and case.find("failure") is not None
    sarif = json.loads(eda("audit", "--sample-dlqs", "5", "--only", RULE, "--format", "sarif").stdout)
    [hit] = sarif["runs"][0]["results"]
    assert hit["ruleId"] == RULE and hit["level"] == "warning" and "orders-dlq" in hit["message"]["text"]
