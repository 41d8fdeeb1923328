"""Each audit rule on hand-built pipelines: the settings moto cannot produce, and the edges of each rule."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eda_cli.core.audit import (
    AuditReport,
    UnknownRule,
    audit,
    queue_policy_allows,
    rules,
    select_rules,
)
from eda_cli.core.patterns import matches_every_event
from eda_cli.core.pipeline import (
    Alarm,
    EventSourceMapping,
    Function,
    Pipeline,
    PipelineSpec,
    Queue,
    Rule,
    StateMachine,
    Subscription,
    Table,
    Target,
    parse_pipeline_text,
)
from eda_cli.errors import UsageError

ACCOUNT = "123456789012"
REGION = "us-east-1"


def arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


def q(name: str, **kw: Any) -> Queue:
    defaults: dict[str, Any] = {"url": f"https://sqs/{ACCOUNT}/{name}", "arn": arn("sqs", name),
                                "retention_seconds": 345600, "visibility_timeout": 30, "sse_sqs": True, "visible": 0}
    return Queue(name=name, **{**defaults, **kw})


def source_and_dlq(name: str = "work", max_receive: int = 3, dlq_retention: int = 1209600, **kw: Any) -> list[Queue]:
    return [q(name, dead_letter_target_arn=arn("sqs", f"{name}-dlq"), max_receive_count=max_receive, **kw),
            q(f"{name}-dlq", retention_seconds=dlq_retention)]


def alarm(queue: str) -> Alarm:
    return Alarm(f"{queue}-alarm", arn("cloudwatch", f"alarm:{queue}"),
                 (("AWS/SQS", "ApproximateNumberOfMessagesVisible", (("QueueName", queue),)),))


def findings(report: AuditReport, rule: str) -> list[tuple[str, str]]:
    return [(f.resource, f.severity) for f in report.findings if f.rule == rule]


def run(pipeline: Pipeline, rule: str, spec: PipelineSpec | None = None) -> AuditReport:
    return audit(pipeline, spec, only=[rule])


def test_rule_ids_are_unique_and_documented() -> None:
    ids = [r.id for r in rules()]
    assert len(ids) == len(set(ids)) >= 24
    for r in rules():
        assert r.severity in ("error", "warning", "info")
        assert r.url.startswith("https://") and r.source and r.title


def test_select_rules_globs_and_unknown_ids() -> None:
    assert {r.id for r in select_rules(["sqs-dlq-*"])} == {
        "sqs-dlq-retention", "sqs-dlq-alarm", "sqs-dlq-not-empty", "sqs-dlq-redrive-allow"}
    assert "sqs-encryption" not in {r.id for r in select_rules(skip=["sqs-encryption"])}
    # The core names the selector, not the flag: the command says "--only sqs-nope" (test_audit_cli).
    with pytest.raises(UnknownRule, match="sqs-nope: no such rule") as raised:
        select_rules(["sqs-nope"])
    assert (raised.value.pattern, raised.value.selector) == ("sqs-nope", "only")
    assert isinstance(raised.value, UsageError) and "sqs-redrive-policy" in (raised.value.hint or "")


# -- SQS --------------------------------------------------------------------------------------------


def test_redrive_policy_required_except_on_dlqs_and_dangling_target() -> None:
    p = Pipeline(REGION, queues=(*source_and_dlq(), q("plain"), q("lambda-dlq"),
                                 q("gone", dead_letter_target_arn=arn("sqs", "missing-dlq"), max_receive_count=3)),
                 alarms=(alarm("work-dlq"), alarm("lambda-dlq")))
    report = run(p, "sqs-redrive-policy")
    assert findings(report, "sqs-redrive-policy") == [("gone", "error"), ("plain", "error")]
    assert "missing-dlq, which does not exist" in report.findings[0].message
    # Checked: work, plain, gone (DLQs are not); passes are recorded for JUnit.
    assert sorted(c.resource for c in report.checks) == ["gone", "plain", "work"]


@pytest.mark.parametrize(("count", "flagged"), [(1, True), (2, True), (3, False), (5, False), (6, True), (10, True)])
def test_max_receive_count_3_to_5(count: int, flagged: bool) -> None:
    report = run(Pipeline(REGION, queues=tuple(source_and_dlq(max_receive=count))), "sqs-max-receive-count")
    assert bool(report.findings) is flagged
    if flagged:
        assert f"maxReceiveCount is {count}" in report.findings[0].message


def test_dlq_retention_must_exceed_standard_sources_only() -> None:
    short = Pipeline(REGION, queues=tuple(source_and_dlq(dlq_retention=345600)))
    assert findings(run(short, "sqs-dlq-retention"), "sqs-dlq-retention") == [("work-dlq", "error")]
    fifo = Pipeline(REGION, queues=(
        q("w.fifo", dead_letter_target_arn=arn("sqs", "w-dlq.fifo"), max_receive_count=3),
        q("w-dlq.fifo", retention_seconds=345600)))
    assert not run(fifo, "sqs-dlq-retention").findings  # FIFO resets the enqueue time


def test_every_dlq_needs_a_depth_alarm_including_metric_math() -> None:
    math_alarm = Alarm("math", "a", (("AWS/SQS", "ApproximateNumberOfMessages", (("QueueName", "b-dlq"),)),
                                     ("AWS/SQS", "NumberOfMessagesSent", (("QueueName", "b"),))))
    wrong_metric = Alarm("age", "a2", (("AWS/SQS", "ApproximateAgeOfOldestMessage", (("QueueName", "c-dlq"),)),))
    p = Pipeline(REGION, queues=(*source_and_dlq("a"), *source_and_dlq("b"), *source_and_dlq("c")),
                 alarms=(alarm("a-dlq"), math_alarm, wrong_metric))
    assert findings(run(p, "sqs-dlq-alarm"), "sqs-dlq-alarm") == [("c-dlq", "error")]


def test_dlq_holding_messages_is_a_warning_with_the_count() -> None:
    queues = source_and_dlq()
    queues[1] = q("work-dlq", retention_seconds=1209600, visible=7)
    report = run(Pipeline(REGION, queues=tuple(queues)), "sqs-dlq-not-empty")
    assert findings(report, "sqs-dlq-not-empty") == [("work-dlq", "warning")]
    assert "holds 7 message(s)" in report.findings[0].message


@pytest.mark.parametrize(("policy", "flagged"), [
    (None, False),
    ({"redrivePermission": "allowAll"}, False),
    ({"redrivePermission": "denyAll"}, True),
    ({"redrivePermission": "byQueue", "sourceQueueArns": [arn("sqs", "work")]}, False),
    ({"redrivePermission": "byQueue", "sourceQueueArns": [arn("sqs", "other")]}, True),
])
def test_redrive_allow_policy_must_permit_sources(policy: dict[str, Any] | None, flagged: bool) -> None:
    """moto ignores RedriveAllowPolicy, so this rule is tested on a hand-built pipeline."""
    queues = source_and_dlq()
    queues[1] = q("work-dlq", retention_seconds=1209600, redrive_allow_policy=policy)
    report = run(Pipeline(REGION, queues=tuple(queues)), "sqs-dlq-redrive-allow")
    assert bool(report.findings) is flagged


def _consumed(visibility: int, timeout: int) -> Pipeline:
    fn = Function("worker", arn("lambda", "function:worker"), timeout_seconds=timeout)
    queues = source_and_dlq(visibility_timeout=visibility)
    mapping = EventSourceMapping("u1", fn.arn + ":live", queues[0].arn,
                                 function_response_types=("ReportBatchItemFailures",))
    return Pipeline(REGION, queues=tuple(queues), functions=(fn,), mappings=(mapping,))


def test_visibility_timeout_six_times_the_consumer_timeout() -> None:
    assert findings(run(_consumed(60, 30), "sqs-visibility-timeout"), "sqs-visibility-timeout") == [
        ("work", "warning")]
    assert not run(_consumed(180, 30), "sqs-visibility-timeout").findings


def test_encryption_at_rest() -> None:
    p = Pipeline(REGION, queues=(q("plain", sse_sqs=False), q("kms", sse_sqs=False, kms_key_id="alias/x"), q("sse")))
    assert findings(run(p, "sqs-encryption"), "sqs-encryption") == [("plain", "warning")]


# -- SNS --------------------------------------------------------------------------------------------

TOPIC = arn("sns", "orders")
QUEUE = arn("sqs", "work")


def sns_policy(resource: str = QUEUE, **condition: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                                 "Action": "sqs:SendMessage", "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


@pytest.mark.parametrize(("policy", "expected"), [
    (None, False),
    (sns_policy(), True),
    (sns_policy(ArnEquals={"aws:SourceArn": TOPIC}), True),
    (sns_policy(ArnLike={"aws:SourceArn": arn("sns", "ord*")}), True),
    (sns_policy(ArnEquals={"aws:SourceArn": arn("sns", "orders-v1")}), False),
    (sns_policy(StringEquals={"aws:SourceAccount": ACCOUNT}), True),
    (sns_policy(StringEquals={"aws:SourceAccount": "999999999999"}), False),
    (sns_policy(ArnNotEquals={"aws:SourceArn": TOPIC}), False),
    (sns_policy(StringEquals={"aws:PrincipalOrgID": "o-1"}), None),  # eda cannot tell
    ({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sqs:*", "Resource": "*"}]}, True),
    ({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "SQS:SendMessage", "Resource": QUEUE}]},
     True),
    ({"Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                     "Action": "sqs:SendMessage", "Resource": QUEUE}]}, False),
    ({"Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                     "Action": "sqs:*", "Resource": QUEUE}]}, False),
    ({"Statement": [sns_policy()["Statement"][0],
                    {"Effect": "Deny", "Principal": "*", "Action": "sqs:SendMessage", "Resource": QUEUE}]}, False),
    ({"Statement": [{"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                     "Action": "sqs:ReceiveMessage", "Resource": QUEUE}]}, False),
])
def test_queue_policy_evaluation(policy: dict[str, Any] | None, expected: bool | None) -> None:
    assert queue_policy_allows(policy, QUEUE, "sns.amazonaws.com", TOPIC) is expected


def test_sns_subscription_rules() -> None:
    blocked = q("work", policy=sns_policy(ArnEquals={"aws:SourceArn": arn("sns", "orders-v1")}))
    unknown = q("other", policy=sns_policy("*", StringEquals={"aws:PrincipalOrgID": "o-1"}))
    subs = (
        Subscription(arn("sns", "orders:1"), TOPIC, "sqs", blocked.arn),
        Subscription(arn("sns", "orders:2"), TOPIC, "sqs", unknown.arn, dead_letter_target_arn=arn("sqs", "d")),
        Subscription(arn("sns", "orders:3"), TOPIC, "lambda", arn("lambda", "function:f"),
                     filter_policy={"a": [{"prefix": 1}]}),
    )
    p = Pipeline(REGION, queues=(blocked, unknown), subscriptions=subs)
    report = audit(p, only=["sns-*"])
    assert findings(report, "sns-queue-policy") == [("orders -> work", "error")]
    assert findings(report, "sns-subscription-redrive") == [("orders -> work", "warning")]
    assert findings(report, "sns-filter-policy") == [("orders -> f", "error")]


# -- EventBridge ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("pattern", "everything"), [
    ({"source": ["shop.orders"]}, False),
    ({"source": [{"prefix": ""}]}, True),
    ({"detail-type": [{"wildcard": "*"}]}, True),
    ({"source": [{"anything-but": "aws.ec2"}]}, False),
    ({"detail": {"amount": [{"numeric": [">", 0]}]}}, False),
    ({"detail": {"x": [{"exists": False}]}}, False),
    ({"detail": {"x": [{"exists": True}]}}, False),
    ({"account": [{"exists": True}]}, True),
    ({"$or": [{"source": [{"prefix": ""}]}, {"detail-type": ["x"]}]}, True),
])
def test_matches_every_event(pattern: dict[str, Any], everything: bool) -> None:
    assert matches_every_event(pattern) is everything


def _rule(name: str, pattern: Any, *targets: Target) -> Rule:
    return Rule(name, arn("events", f"rule/bus/{name}"), "bus", json.dumps(pattern) if pattern is not None else None,
                targets=targets)


def test_eventbridge_rules() -> None:
    allow_good = {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
                  "Resource": arn("sqs", "work"),
                  "Condition": {"ArnEquals": {"aws:SourceArn": arn("events", "rule/bus/good")}}}
    work = q("work", policy={"Statement": [allow_good]})
    good_target = Target("1", work.arn, dead_letter_arn=arn("sqs", "work-dlq"), has_retry_policy=True,
                         max_retry_attempts=3)
    p = Pipeline(REGION, queues=(work, q("work-dlq")), rules=(
        _rule("good", {"source": ["shop"]}, good_target),
        _rule("bare", {"source": ["shop"]}, Target("2", work.arn)),
        _rule("broad", {"source": [{"prefix": ""}]}),
        _rule("broken", {"detail": {"n": [{"numeric": [">", "x"]}]}}),
        _rule("scheduled", None),
    ))
    report = audit(p, only=["events-*"])
    assert findings(report, "events-target-dlq") == [("bus/bare -> work", "error")]
    assert findings(report, "events-target-retry-policy") == [("bus/bare -> work", "warning")]
    assert findings(report, "events-rule-pattern") == [("bus/broken", "error"), ("bus/broad", "warning")]
    assert findings(report, "events-queue-policy") == [("bus/bare -> work", "error")]


# -- DynamoDB ---------------------------------------------------------------------------------------


def _table(name: str, **kw: Any) -> Table:
    return Table(name, arn("dynamodb", f"table/{name}"), **kw)


def test_streams_feeding_consumers() -> None:
    off = _table("off")
    keys = _table("keys", stream_enabled=True, stream_view_type="KEYS_ONLY",
                  stream_arn=arn("dynamodb", "table/keys/stream/2"))
    declared = _table("declared", stream_enabled=True, stream_view_type="NEW_IMAGE",
                      stream_arn=arn("dynamodb", "table/declared/stream/1"))
    stale = _table("stale", stream_enabled=True, stream_view_type="NEW_IMAGE",
                   stream_arn=arn("dynamodb", "table/stale/stream/new"))
    fn = arn("lambda", "function:f")
    mappings = tuple(EventSourceMapping(f"u-{t}", fn, arn("dynamodb", f"table/{t}/stream/{s}"), bisect_on_error=True)
                     for t, s in (("off", "1"), ("keys", "2"), ("stale", "old")))
    spec = parse_pipeline_text("version: 1\ntables:\n  - name: declared\n    stream_view_type: NEW_AND_OLD_IMAGES\n")
    p = Pipeline(REGION, tables=(off, keys, declared, stale), mappings=mappings)
    report = run(p, "dynamodb-stream", spec)
    assert findings(report, "dynamodb-stream") == [("declared", "error"), ("off", "error"), ("stale", "error"),
                                                   ("keys", "warning")]
    by = {f.resource: f.message for f in report.findings}
    assert "reads an old stream" in by["stale"]
    assert "consumers need NEW_AND_OLD_IMAGES" in by["declared"]


def test_idempotency_tables_need_ttl_on_the_right_attribute() -> None:
    p = Pipeline(REGION, tables=(
        _table("orders-idempotency"),                                          # by name, no TTL
        _table("dedupe", tags={"eda:role": "idempotency"}, ttl_status="ENABLED", ttl_attribute="exp"),
        _table("seen", ttl_status="ENABLED", ttl_attribute="ttl"),             # named in the file: expects exp
        _table("old-idempotency"),                                             # the file says it is not one
        _table("orders"),
    ))
    spec = parse_pipeline_text("version: 1\ntables:\n  - name: seen\n    ttl_attribute: exp\n"
                               "  - name: old-idempotency\n    idempotency: false\n")
    report = run(p, "dynamodb-idempotency-ttl", spec)
    assert findings(report, "dynamodb-idempotency-ttl") == [("orders-idempotency", "error"), ("seen", "error")]
    assert {c.resource for c in report.checks} == {"orders-idempotency", "dedupe", "seen"}
    assert [f.line for f in report.findings] == [None, 3]


# -- Lambda -----------------------------------------------------------------------------------------


def test_event_source_mapping_rules() -> None:
    fn = Function("worker", arn("lambda", "function:worker"), timeout_seconds=10)
    stream = arn("dynamodb", "table/t/stream/1")
    work = arn("sqs", "work")
    pattern = json.dumps({"body": {"type": ["a"]}})
    p = Pipeline(REGION, functions=(fn,), tables=(_table("t", stream_enabled=True, stream_view_type="NEW_IMAGE",
                                                         stream_arn=stream),),
                 mappings=(
                     EventSourceMapping("s1", fn.arn, stream),
                     EventSourceMapping("s2", fn.arn, stream, on_failure_arn=work),
                     EventSourceMapping("q1", fn.arn, work, filters=(pattern,)),
                 ))
    spec = parse_pipeline_text(
        "version: 1\nevent_source_mappings:\n  - function: worker\n    source: work\n"
        "    filter: {body: {type: [a]}}\n  - function: worker\n    source: t\n    filter: {dynamodb: {x: [1]}}\n"
        "  - function: ghost\n")
    report = audit(p, spec, only=["lambda-*"])
    assert findings(report, "lambda-stream-failures") == [("t -> worker", "error")]
    assert findings(report, "lambda-sqs-batch-failures") == [("work -> worker", "warning")]
    assert findings(report, "lambda-declared-filter") == [("* -> ghost", "error"), ("t -> worker", "error")]


# -- Step Functions ---------------------------------------------------------------------------------


def _machine(name: str, states: dict[str, Any], type_: str = "STANDARD", logging: str = "OFF") -> StateMachine:
    return StateMachine(name, arn("states", f"stateMachine:{name}"), type_, {"StartAt": "A", "States": states},
                        logging, (arn("logs", "log-group:/sfn:*"),) if logging != "OFF" else ())


TASK = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True}


def test_step_functions_rules() -> None:
    retried = {**TASK, "Retry": [{"ErrorEquals": ["States.ALL"]}]}
    caught = {**retried, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Undo"}]}
    p = Pipeline(REGION, state_machines=(
        _machine("plain", {"A": TASK}),
        _machine("order-saga", {"A": caught, "B": retried, "Undo": retried}),
        _machine("nested", {"A": {"Type": "Parallel", "Branches": [{"StartAt": "X", "States": {"X": TASK}}],
                                  "End": True}}),
        _machine("fast", {"A": {"Type": "Wait", "Seconds": 3600, "Next": "B"}, "B": retried}, "EXPRESS", "ALL"),
        _machine("quiet", {"A": retried}, "EXPRESS"),
        _machine("declared-short", {"A": retried}),
    ))
    spec = parse_pipeline_text("version: 1\nstate_machines:\n  - name: declared-short\n    duration: short\n"
                               "  - name: nested\n    saga: false\n")
    report = audit(p, spec, only=["sfn-*"])
    assert findings(report, "sfn-task-retry") == [("nested", "warning"), ("plain", "warning")]
    assert "A.Branches[0].X" in next(f.message for f in report.findings if f.resource == "nested")
    assert findings(report, "sfn-saga-catch") == [("order-saga", "error")]
    assert findings(report, "sfn-type") == [("fast", "error"), ("declared-short", "warning")]
    assert findings(report, "sfn-express-logging") == [("quiet", "error")]


# -- the report -------------------------------------------------------------------------------------


def test_fail_on_and_counts() -> None:
    p = Pipeline(REGION, queues=tuple(source_and_dlq(max_receive=10)), alarms=(alarm("work-dlq"),))
    report = audit(p)
    assert report.counts() == {"error": 0, "warning": 1, "info": 0}
    assert not report.failed("error") and report.failed("warning")
    doc = report.to_dict()
    assert doc["summary"]["warning"] == 1 and doc["findings"][0]["rule"] == "sqs-max-receive-count"
