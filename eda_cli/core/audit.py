"""`eda audit`: the production rules teams forget, checked against a pipeline, for people and for CI.

Each rule looks at the pipeline model (see core/pipeline) and reports, per resource it examined,
either nothing (a pass) or findings: rule id, severity, resource, what is wrong, how to fix it and
the guidance it comes from. JUnit XML (one testcase per rule and resource) and SARIF 2.1.0
writers turn a report into something CI systems display.

Rules never call AWS: everything they need was read by discovery, so the audit of a pipeline is
a pure function and its tests build pipelines by hand where moto cannot produce a setting
(RedriveAllowPolicy, for one, is ignored by moto).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eda_cli.core.pipeline.model import (
    EventSourceMapping,
    Pipeline,
    Problem,
    Queue,
    StateMachine,
    Table,
    account_of,
    iter_states,
    name_from_arn,
)
from eda_cli.core.pipeline.spec import PipelineSpec
from eda_cli.core.pipeline.writer import is_idempotency_table, looks_like_saga
from eda_cli.errors import UsageError

SEVERITIES = ("error", "warning", "info")
_RANK = {"error": 2, "warning": 1, "info": 0}

MIN_RECEIVE, MAX_RECEIVE = 3, 5
VISIBILITY_FACTOR = 6
EXPRESS_MAX_SECONDS = 300

TIP = "eda production tip"


def rank(severity: str) -> int:
    return _RANK[severity]


@dataclass(frozen=True)
class RuleInfo:
    id: str
    severity: str
    title: str
    #: Where the rule comes from: the seed's production tip or AWS's guidance.
    source: str
    url: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "severity": self.severity, "title": self.title, "source": self.source,
                "url": self.url}


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    #: The resource's short name (queue name, `bus/rule`, `topic -> queue`...).
    resource: str
    arn: str
    message: str
    fix: str
    source: str
    url: str
    #: Line in the pipeline file naming the resource, when there is one.
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "resource": self.resource,
            "arn": self.arn,
            "message": self.message,
            "fix": self.fix,
            "source": self.source,
            "url": self.url,
            "line": self.line,
        }


@dataclass(frozen=True)
class Check:
    """One rule applied to one resource: a pass when `findings` is empty."""

    rule: str
    resource: str
    arn: str
    findings: tuple[Finding, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.findings


@dataclass(frozen=True)
class AuditReport:
    checks: tuple[Check, ...]
    rules: tuple[RuleInfo, ...]
    problems: tuple[Problem, ...] = ()
    resources: int = 0
    config_path: str | None = None
    #: When the selected rules checked nothing: the checks the rules left out by --only/--skip would
    #: have made (0 then: the scope holds nothing to audit). Not counted otherwise.
    checkable: int = 0

    @property
    def findings(self) -> list[Finding]:
        found = [f for c in self.checks for f in c.findings]
        return sorted(found, key=lambda f: (-rank(f.severity), f.rule, f.resource))

    @property
    def partial(self) -> bool:
        return bool(self.problems)

    @property
    def empty(self) -> bool:
        """Nothing in scope to audit: no rule, selected or not, had a resource to check."""
        return not self.checks and not self.checkable

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(SEVERITIES, 0)
        for f in self.findings:
            counts[f.severity] += 1
        return counts

    def failed(self, fail_on: str) -> bool:
        """Whether a finding is at or above `fail_on` (error | warning | info)."""
        return any(rank(f.severity) >= rank(fail_on) for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "findings": [f.to_dict() for f in self.findings],
            "summary": {
                **self.counts(),
                "checks": len(self.checks),
                "passed": sum(1 for c in self.checks if c.passed),
                "resources": self.resources,
                "rules": [r.id for r in self.rules],
                "config": self.config_path,
            },
            "problems": [p.to_dict() for p in self.problems],
        }


# -- the rule registry ------------------------------------------------------------------------------


@dataclass
class _Context:
    pipeline: Pipeline
    spec: PipelineSpec
    info: RuleInfo
    missing: tuple[tuple[str, str, int], ...] = ()
    checks: list[Check] = field(default_factory=list)

    def line(self, kind: str, name: str) -> int | None:
        return self.spec.lines.get((kind, name))

    def queue_line(self, queue: Queue) -> int | None:
        """The line naming the queue, else the line naming a queue that dead-letters into it."""
        line = self.line("queue", queue.name)
        if line is None:
            lines = [self.line("queue", s.name) for s in self.pipeline.redrive_sources(queue)]
            line = min((n for n in lines if n is not None), default=None)
        return line

    def check(self, resource: str, arn: str, *problems: tuple[str, str] | tuple[str, str, str],
              line: int | None = None) -> None:
        """Record one resource checked; each problem is (message, fix) or (message, fix, severity)."""
        findings = tuple(
            Finding(
                rule=self.info.id,
                severity=p[2] if len(p) == 3 else self.info.severity,
                resource=resource,
                arn=arn,
                message=p[0],
                fix=p[1],
                source=self.info.source,
                url=self.info.url,
                line=line,
            )
            for p in problems
        )
        self.checks.append(Check(self.info.id, resource, arn, findings))


RuleFn = Callable[[_Context], None]
_RULES: list[tuple[RuleInfo, RuleFn]] = []


def _rule(rule_id: str, severity: str, title: str, source: str, url: str) -> Callable[[RuleFn], RuleFn]:
    def register(fn: RuleFn) -> RuleFn:
        _RULES.append((RuleInfo(rule_id, severity, title, source, url), fn))
        return fn

    return register


def rules() -> list[RuleInfo]:
    return [info for info, _ in _RULES]


def select_rules(only: Iterable[str] = (), skip: Iterable[str] = ()) -> list[RuleInfo]:
    """The rules to run: `only` and `skip` take ids or globs (`sqs-*`). Unknown ids are a UsageError."""
    ids = [r.id for r in rules()]

    def expand(patterns: Iterable[str], option: str) -> set[str]:
        chosen: set[str] = set()
        for pattern in patterns:
            matched = fnmatch.filter(ids, pattern)
            if not matched:
                raise UsageError(f"{option} {pattern}: no such rule",
                                 hint="rules: " + ", ".join(ids))
            chosen.update(matched)
        return chosen

    only_set = expand(only, "--only")
    skip_set = expand(skip, "--skip")
    return [r for r in rules() if (not only_set or r.id in only_set) and r.id not in skip_set]


def audit(pipeline: Pipeline, spec: PipelineSpec | None = None, *, only: Iterable[str] = (),
          skip: Iterable[str] = (), missing: Iterable[tuple[str, str, int]] = ()) -> AuditReport:
    """Run the selected rules over `pipeline` (already scoped to the spec, if any).

    `missing` lists what the pipeline file names and the account lacks (`Loaded.missing`)."""
    spec = spec or PipelineSpec()
    selected = select_rules(only, skip)
    wanted = {r.id for r in selected}
    checks: list[Check] = []
    for info, fn in _RULES:
        if info.id not in wanted:
            continue
        ctx = _Context(pipeline, spec, info, tuple(missing))
        fn(ctx)
        checks.extend(ctx.checks)
    checkable = 0
    if not checks:  # nothing checked: because of --only/--skip, or because there is nothing to check?
        for info, fn in _RULES:
            if info.id not in wanted:
                ctx = _Context(pipeline, spec, info, tuple(missing))
                fn(ctx)
                checkable += len(ctx.checks)
    return AuditReport(
        checks=tuple(checks),
        rules=tuple(selected),
        problems=pipeline.problems,
        resources=pipeline.resource_count,
        config_path=spec.path,
        checkable=checkable,
    )


# -- helpers ----------------------------------------------------------------------------------------


def _seconds(value: int | None) -> str:
    if value is None:
        return "?"
    if value % 86400 == 0 and value >= 86400:
        return f"{value // 86400}d"
    if value % 3600 == 0 and value >= 3600:
        return f"{value // 3600}h"
    if value % 60 == 0 and value >= 60:
        return f"{value // 60}m"
    return f"{value}s"


def _wild(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM wildcard match: `*` any run, `?` one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _principal_matches(statement: Mapping[str, Any], service: str) -> bool | None:
    if "NotPrincipal" in statement:
        return None
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    if "*" in _as_list(principal.get("AWS", [])):
        return True
    return service in _as_list(principal.get("Service", []))


def _condition_holds(condition: Any, source_arn: str) -> bool | None:
    """Whether a statement's Condition holds for a delivery from `source_arn`; None when unknown."""
    if not condition:
        return True
    if not isinstance(condition, Mapping):
        return None
    result: bool | None = True
    for operator, pairs in condition.items():
        op = str(operator)
        if ":" in op:  # ForAnyValue:/ForAllValues: on a single-valued key behave like the plain operator
            op = op.split(":", 1)[1]
        if_exists = op.endswith("IfExists")
        op = op[: -len("IfExists")] if if_exists else op
        if not isinstance(pairs, Mapping):
            return None
        for key, expected in pairs.items():
            k = str(key).lower()
            if k == "aws:sourcearn":
                actual = source_arn
            elif k in ("aws:sourceaccount", "aws:sourceowner"):
                actual = account_of(source_arn)
            else:
                result = None
                continue
            values = [str(v) for v in _as_list(expected)]
            negate = "Not" in op
            base = op.replace("Not", "")
            if base in ("ArnEquals", "ArnLike", "StringLike"):
                hit = any(_wild(v, actual) for v in values)
            elif base == "StringEquals":
                hit = actual in values
            elif base == "StringEqualsIgnoreCase":
                hit = actual.lower() in (v.lower() for v in values)
            else:
                result = None
                continue
            if hit == negate:
                return False
    return result


def queue_policy_allows(policy: Mapping[str, Any] | None, queue_arn: str, service: str,
                        source_arn: str) -> bool | None:
    """Whether a queue's access policy lets `service` (sns.amazonaws.com, events.amazonaws.com)
    send messages from `source_arn`: True, False, or None when the policy uses conditions eda
    does not evaluate. No policy at all: False (a service principal always needs one)."""
    if not policy:
        return False
    statements = policy.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    allowed: bool | None = False
    for st in statements:
        if not isinstance(st, Mapping):
            continue
        if "NotAction" in st or "NotResource" in st:
            applies: bool | None = None
        else:
            actions = [str(a) for a in _as_list(st.get("Action", []))]
            resources = [str(r) for r in _as_list(st.get("Resource", "*"))]
            if not any(_wild(a, "sqs:SendMessage", ignore_case=True) for a in actions):
                continue
            if not any(_wild(r, queue_arn) for r in resources):
                continue
            principal = _principal_matches(st, service)
            if principal is False:
                continue
            condition = _condition_holds(st.get("Condition"), source_arn)
            if condition is False:
                continue
            applies = None if principal is None or condition is None else True
        effect = str(st.get("Effect", "")).lower()
        if effect == "deny" and applies:
            return False
        if effect == "allow":
            if applies:
                allowed = True
            elif applies is None and allowed is False:
                allowed = None
    return allowed


# -- the pipeline file -----------------------------------------------------------------------------


@_rule("pipeline-file-resources", "error", "Every resource the pipeline file names exists",
       "eda: the pipeline file is the team's inventory; a missing resource was deleted or renamed",
       "https://github.com/eda-cli/eda#the-pipeline-file")
def _file_resources(ctx: _Context) -> None:
    if not ctx.spec.path or not ctx.spec.names_resources:  # a file naming nothing: nothing to check
        return
    if not ctx.missing:
        ctx.check(ctx.spec.path, "")
    for kind, name, line in ctx.missing:
        ctx.check(name, "", (f"the pipeline file names {kind.replace('_', ' ')} {name}, which does not exist in "
                             f"{ctx.pipeline.region}",
                             "create it, fix the name, or remove it from the pipeline file"), line=line or None)


# -- SQS --------------------------------------------------------------------------------------------

SQS_DLQ_URL = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html"


@_rule("sqs-redrive-policy", "error", "Every queue that is not a DLQ has a RedrivePolicy",
       f"{TIP}: a DLQ on every queue", SQS_DLQ_URL)
def _sqs_redrive(ctx: _Context) -> None:
    p = ctx.pipeline
    for q in p.queues:
        if p.is_dlq(q):
            continue
        line = ctx.queue_line(q)
        if q.dead_letter_target_arn is None:
            ctx.check(q.name, q.arn, (
                "no RedrivePolicy: a message that keeps failing is received again and again until it "
                f"expires after {_seconds(q.retention_seconds)}, then it is gone without a trace",
                f"create {q.name}-dlq and set RedrivePolicy "
                f'{{"deadLetterTargetArn": "<{q.name}-dlq ARN>", "maxReceiveCount": 3}} on {q.name}',
            ), line=line)
        elif p.queue_by_arn(q.dead_letter_target_arn) is None and account_of(q.dead_letter_target_arn) == account_of(
            q.arn
        ) and q.dead_letter_target_arn.split(":")[3] == q.arn.split(":")[3]:
            ctx.check(q.name, q.arn, (
                f"its RedrivePolicy names {name_from_arn(q.dead_letter_target_arn)}, which does not exist",
                f"create {name_from_arn(q.dead_letter_target_arn)} or point the RedrivePolicy at an existing DLQ",
            ), line=line)
        else:
            ctx.check(q.name, q.arn, line=line)


@_rule("sqs-max-receive-count", "warning", "maxReceiveCount is between 3 and 5",
       f"{TIP}: maxReceiveCount 3 to 5", SQS_DLQ_URL)
def _sqs_max_receive(ctx: _Context) -> None:
    for q in ctx.pipeline.queues:
        if q.dead_letter_target_arn is None or q.max_receive_count is None:
            continue
        n = q.max_receive_count
        problems: list[tuple[str, str]] = []
        if n < MIN_RECEIVE:
            problems.append((f"maxReceiveCount is {n}: one transient failure (a throttle, a timeout) "
                             "dead-letters a good message",
                             f"set maxReceiveCount to {MIN_RECEIVE}-{MAX_RECEIVE} in {q.name}'s RedrivePolicy"))
        elif n > MAX_RECEIVE:
            problems.append((f"maxReceiveCount is {n}: a poison message is processed {n} times (and blocks "
                             "its batch each time) before it reaches the DLQ",
                             f"set maxReceiveCount to {MIN_RECEIVE}-{MAX_RECEIVE} in {q.name}'s RedrivePolicy"))
        ctx.check(q.name, q.arn, *problems, line=ctx.queue_line(q))


@_rule("sqs-dlq-retention", "error", "A DLQ keeps messages longer than its sources do",
       "AWS: for standard queues the expiration of a message is based on its original enqueue timestamp",
       SQS_DLQ_URL)
def _sqs_dlq_retention(ctx: _Context) -> None:
    p = ctx.pipeline
    for dlq in p.queues:
        sources = [s for s in p.redrive_sources(dlq) if not s.fifo and s.retention_seconds is not None]
        if not sources or dlq.retention_seconds is None:
            continue
        longest = max(sources, key=lambda s: s.retention_seconds or 0)
        problems = []
        if dlq.retention_seconds <= (longest.retention_seconds or 0):
            problems.append((
                f"retention {_seconds(dlq.retention_seconds)} is not longer than {longest.name}'s "
                f"{_seconds(longest.retention_seconds)}: a message keeps its original enqueue time, so one "
                "dead-lettered late expires from the DLQ almost at once",
                f"set MessageRetentionPeriod on {dlq.name} to 1209600 (14 days), longer than every source's",
            ))
        ctx.check(dlq.name, dlq.arn, *problems, line=ctx.queue_line(dlq))


@_rule("sqs-dlq-alarm", "error", "Every DLQ has a CloudWatch alarm on its visible messages",
       f"{TIP}: an alarm on every DLQ's depth",
       "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html")
def _sqs_dlq_alarm(ctx: _Context) -> None:
    p = ctx.pipeline
    for dlq in p.queues:
        if not p.is_dlq(dlq):
            continue
        problems = []
        if not p.depth_alarms(dlq):
            problems.append((
                "no CloudWatch alarm watches its depth: poison messages pile up here unseen",
                f"aws cloudwatch put-metric-alarm --alarm-name {dlq.name}-not-empty --namespace AWS/SQS "
                f"--metric-name ApproximateNumberOfMessagesVisible --dimensions Name=QueueName,Value={dlq.name} "
                "--statistic Maximum --period 60 --evaluation-periods 1 --threshold 0 "
                "--comparison-operator GreaterThanThreshold --alarm-actions <your SNS topic>",
            ))
        ctx.check(dlq.name, dlq.arn, *problems, line=ctx.queue_line(dlq))


@_rule("sqs-dlq-not-empty", "warning", "DLQs are empty", f"{TIP}: a DLQ that holds messages is an incident",
       SQS_DLQ_URL)
def _sqs_dlq_depth(ctx: _Context) -> None:
    p = ctx.pipeline
    for dlq in p.queues:
        if not p.is_dlq(dlq):
            continue
        problems = []
        if dlq.visible:
            problems.append((f"holds {dlq.visible} message(s)",
                             f"triage with `eda dlq peek {dlq.name} --group-by error`, fix the consumer, "
                             "then redrive"))
        ctx.check(dlq.name, dlq.arn, *problems, line=ctx.queue_line(dlq))


@_rule("sqs-dlq-redrive-allow", "error", "A DLQ's RedriveAllowPolicy permits its sources",
       "AWS: RedriveAllowPolicy decides which source queues may use a queue as their DLQ",
       "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html")
def _sqs_redrive_allow(ctx: _Context) -> None:
    p = ctx.pipeline
    for dlq in p.queues:
        sources = p.redrive_sources(dlq)
        if not sources:
            continue
        allow = dlq.redrive_allow_policy
        problems = []
        if allow:
            permission = str(allow.get("redrivePermission", "allowAll"))
            permitted = {str(a) for a in _as_list(allow.get("sourceQueueArns") or [])}
            for s in sources:
                if permission == "denyAll" or (permission == "byQueue" and s.arn not in permitted):
                    problems.append((
                        f"its RedriveAllowPolicy ({permission}) does not permit {s.name}, whose RedrivePolicy "
                        "points here",
                        f'add {s.arn} to sourceQueueArns of {dlq.name}\'s RedriveAllowPolicy '
                        '({"redrivePermission": "byQueue", "sourceQueueArns": [...]})',
                    ))
        ctx.check(dlq.name, dlq.arn, *problems, line=ctx.queue_line(dlq))


@_rule("sqs-visibility-timeout", "warning", "Visibility timeout is at least 6x the consuming Lambda's timeout",
       "AWS: set the source queue's visibility timeout to at least six times the function timeout",
       "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html")
def _sqs_visibility(ctx: _Context) -> None:
    p = ctx.pipeline
    for q in p.queues:
        timeouts = []
        for m in p.consumers(q.arn):
            function = p.function_by_arn(m.function_arn)
            if function is not None and function.timeout_seconds:
                timeouts.append((function.timeout_seconds, function.name))
        if not timeouts or q.visibility_timeout is None:
            continue
        timeout, name = max(timeouts)
        problems = []
        if q.visibility_timeout < VISIBILITY_FACTOR * timeout:
            problems.append((
                f"visibility timeout {q.visibility_timeout}s is less than {VISIBILITY_FACTOR} x {name}'s "
                f"timeout ({timeout}s): retries and throttled batches become visible again and run twice",
                f"set VisibilityTimeout on {q.name} to at least {VISIBILITY_FACTOR * timeout}",
            ))
        ctx.check(q.name, q.arn, *problems, line=ctx.queue_line(q))


@_rule("sqs-encryption", "warning", "Queues are encrypted at rest",
       "AWS: server-side encryption (SSE-SQS or SSE-KMS) protects message contents at rest",
       "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-server-side-encryption.html")
def _sqs_encryption(ctx: _Context) -> None:
    for q in ctx.pipeline.queues:
        problems = []
        if not q.encrypted:
            problems.append(("not encrypted at rest (neither SSE-SQS nor a KMS key)",
                             f"aws sqs set-queue-attributes --queue-url {q.url} "
                             "--attributes SqsManagedSseEnabled=true"))
        ctx.check(q.name, q.arn, *problems, line=ctx.queue_line(q))


# -- SNS --------------------------------------------------------------------------------------------


def _sub_name(pipeline: Pipeline, sub_topic: str, endpoint: str) -> str:
    return f"{name_from_arn(sub_topic)} -> {name_from_arn(endpoint)}"


@_rule("sns-subscription-redrive", "warning", "SQS subscriptions have a redrive policy (a DLQ)",
       "AWS: a subscription DLQ keeps messages SNS could not deliver (deleted queue, denied policy, KMS)",
       "https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html")
def _sns_redrive(ctx: _Context) -> None:
    p = ctx.pipeline
    for sub in p.subscriptions:
        if sub.protocol != "sqs":
            continue
        problems = []
        if sub.dead_letter_target_arn is None:
            problems.append(("no RedrivePolicy: messages SNS cannot deliver to the queue are dropped after "
                             "its retries",
                             f"aws sns set-subscription-attributes --subscription-arn {sub.arn} --attribute-name "
                             'RedrivePolicy --attribute-value \'{"deadLetterTargetArn": "<DLQ ARN>"}\''))
        ctx.check(_sub_name(p, sub.topic_arn, sub.endpoint), sub.arn, *problems,
                  line=ctx.line("topic", name_from_arn(sub.topic_arn)))


@_rule("sns-queue-policy", "error", "The queue's access policy lets the topic send to it",
       "AWS: the queue policy must allow sns.amazonaws.com sqs:SendMessage from the topic, or nothing arrives",
       "https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html")
def _sns_queue_policy(ctx: _Context) -> None:
    p = ctx.pipeline
    for sub in p.subscriptions:
        queue = p.queue_by_arn(sub.endpoint) if sub.protocol == "sqs" else None
        if queue is None:
            continue
        allowed = queue_policy_allows(queue.policy, queue.arn, "sns.amazonaws.com", sub.topic_arn)
        problems = []
        if allowed is False:
            why = "it has no access policy" if not queue.policy else "its access policy does not allow the topic"
            problems.append((
                f"{queue.name} is subscribed to {name_from_arn(sub.topic_arn)} but {why}: the subscription "
                "exists and nothing ever arrives",
                f"add to {queue.name}'s policy: Allow Principal {{Service: sns.amazonaws.com}} Action "
                f"sqs:SendMessage Resource {queue.arn} Condition ArnEquals aws:SourceArn {sub.topic_arn}",
            ))
        ctx.check(_sub_name(p, sub.topic_arn, sub.endpoint), sub.arn, *problems,
                  line=ctx.queue_line(queue) or ctx.line("topic", name_from_arn(sub.topic_arn)))


@_rule("sns-filter-policy", "error", "Subscription filter policies are valid",
       "AWS: SNS subscription filter policy syntax and limits",
       "https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html")
def _sns_filter(ctx: _Context) -> None:
    from eda_cli.core.patterns import PatternError, compile_pattern

    p = ctx.pipeline
    for sub in p.subscriptions:
        if sub.filter_policy is None:
            continue
        problems = []
        try:
            compile_pattern(dict(sub.filter_policy), "sns", scope=sub.filter_policy_scope)
        except PatternError as exc:
            problems.append((f"invalid filter policy: {exc}", "fix the filter policy; eda's pattern engine "
                             "follows SNS's documented syntax"))
        ctx.check(_sub_name(p, sub.topic_arn, sub.endpoint), sub.arn, *problems)


# -- EventBridge ------------------------------------------------------------------------------------


def _target_name(rule_key: str, target_arn: str) -> str:
    return f"{rule_key} -> {name_from_arn(target_arn)}"


@_rule("events-target-dlq", "error", "Every rule target has a DeadLetterConfig",
       "AWS: without a DLQ, events EventBridge cannot deliver after its retries are dropped",
       "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html")
def _events_dlq(ctx: _Context) -> None:
    for rule in ctx.pipeline.rules:
        for t in rule.targets:
            problems = []
            if not t.dead_letter_arn:
                problems.append(("no DeadLetterConfig: events that cannot be delivered are dropped after "
                                 "the retry policy runs out",
                                 f"aws events put-targets --event-bus-name {rule.bus_name} --rule {rule.name} "
                                 f"--targets 'Id={t.id},Arn={t.arn},DeadLetterConfig={{Arn=<DLQ ARN>}}'"))
            elif ctx.pipeline.queue_by_arn(t.dead_letter_arn) is None and account_of(t.dead_letter_arn) == account_of(
                rule.arn
            ):
                problems.append((f"its DeadLetterConfig names {name_from_arn(t.dead_letter_arn)}, which does "
                                 "not exist", "create the DLQ or fix the target's DeadLetterConfig"))
            ctx.check(_target_name(rule.key, t.arn), t.arn, *problems,
                      line=ctx.line("bus", rule.bus_name))


@_rule("events-target-retry-policy", "warning", "Every rule target has an explicit RetryPolicy",
       "AWS: the default retries for 24 hours and 185 attempts; choose what the target can bear",
       "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html")
def _events_retry(ctx: _Context) -> None:
    for rule in ctx.pipeline.rules:
        for t in rule.targets:
            problems = []
            if not t.has_retry_policy:
                problems.append(("no RetryPolicy: EventBridge's default (24 h, 185 attempts) applies",
                                 "set RetryPolicy {MaximumRetryAttempts, MaximumEventAgeInSeconds} on the target"))
            ctx.check(_target_name(rule.key, t.arn), t.arn, *problems, line=ctx.line("bus", rule.bus_name))


_ENVELOPE = ("version", "id", "detail-type", "source", "account", "time", "region", "resources")


def _pattern_paths(pattern: Any, prefix: str = "") -> dict[str, list[Any]]:
    """Every field path a pattern mentions, with the literal values found under it."""
    paths: dict[str, list[Any]] = {}
    if not isinstance(pattern, Mapping):
        return paths
    for key, value in pattern.items():
        if key == "$or" and isinstance(value, list):
            for branch in value:
                for path, literals in _pattern_paths(branch, prefix).items():
                    paths.setdefault(path, []).extend(literals)
            continue
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            for sub, literals in _pattern_paths(value, f"{path}.").items():
                paths.setdefault(sub, []).extend(literals)
        elif isinstance(value, list):
            literals = paths.setdefault(path, [])
            for item in value:
                if isinstance(item, (str, int, float)) and not isinstance(item, bool):
                    literals.append(item)
                elif isinstance(item, Mapping):
                    for arg in item.values():
                        for v in _as_list(arg):
                            if isinstance(v, (str, int, float)) and not isinstance(v, bool):
                                literals.append(v)
                            elif isinstance(v, Mapping):
                                literals.extend(x for x in v.values() if isinstance(x, (str, int, float)))
    return paths


def _probe(values: Mapping[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = {"version": "0", "id": "eda-probe-id", "detail-type": "eda.probe.type",
                             "source": "eda.probe.source", "account": "000000000000",
                             "time": "2000-01-01T00:00:00Z", "region": "eda-probe-1", "resources": [],
                             "detail": {}}
    for path, value in values.items():
        node = event
        parts = path.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = [value] if parts[0] == "resources" else value
    return event


def matches_every_event(pattern: Mapping[str, Any]) -> bool:
    """Whether a (valid) EventBridge pattern matches every event, judged on probe events.

    The probes: an event without any of the pattern's fields (envelope fields always present, as
    in a real event), one where every field the pattern names holds a string nobody would match,
    one where they hold a number, and for each literal in the pattern one where that field holds
    that literal. A pattern that matches all of them does not select anything.
    """
    from eda_cli.core.patterns import compile_pattern

    compiled = compile_pattern(dict(pattern), "eventbridge")
    paths = _pattern_paths(pattern)
    strings = {p: "eda-probe-\u2400" for p in paths}
    numbers = {p: (-987654.321 if p.split(".")[0] not in _ENVELOPE else "eda-probe-\u2400") for p in paths}
    probes = [_probe({}), _probe(strings), _probe(numbers)]
    for path, literals in paths.items():
        for literal in literals:
            probes.append(_probe({**strings, path: literal}))
    return all(compiled.matches(probe) for probe in probes)


@_rule("events-rule-pattern", "error", "Rule patterns are valid and select something",
       "AWS: EventBridge event pattern syntax",
       "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html")
def _events_pattern(ctx: _Context) -> None:
    from eda_cli.core.patterns import PatternError, compile_pattern

    for rule in ctx.pipeline.rules:
        if not rule.event_pattern:
            continue
        problems: list[tuple[str, str, str]] = []
        try:
            compile_pattern(rule.event_pattern, "eventbridge")
        except PatternError as exc:
            problems.append((f"invalid event pattern: {exc}", "fix the pattern (eda's engine follows "
                             "EventBridge's documented syntax; `eda route` can test it)", "error"))
        else:
            parsed = json.loads(rule.event_pattern)
            if isinstance(parsed, Mapping) and matches_every_event(parsed):
                problems.append(("the pattern matches every event on the bus: every event reaches the target",
                                 "constrain source and detail-type (e.g. {\"source\": [\"shop.orders\"]})",
                                 "warning"))
        ctx.check(rule.key, rule.arn, *problems, line=ctx.line("bus", rule.bus_name))


@_rule("events-queue-policy", "error", "An SQS target's access policy lets the rule send to it",
       "AWS: the queue policy must allow events.amazonaws.com sqs:SendMessage from the rule",
       "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html")
def _events_queue_policy(ctx: _Context) -> None:
    p = ctx.pipeline
    for rule in p.rules:
        for t in rule.targets:
            queue = p.queue_by_arn(t.arn)
            if queue is None:
                continue
            allowed = queue_policy_allows(queue.policy, queue.arn, "events.amazonaws.com", rule.arn)
            problems = []
            if allowed is False:
                problems.append((f"{queue.name}'s access policy does not let rule {rule.name} send to it: "
                                 "matching events never arrive",
                                 f"allow Principal {{Service: events.amazonaws.com}} sqs:SendMessage on {queue.arn} "
                                 f"with Condition ArnEquals aws:SourceArn {rule.arn}"))
            ctx.check(_target_name(rule.key, t.arn), t.arn, *problems, line=ctx.line("bus", rule.bus_name))


# -- DynamoDB ---------------------------------------------------------------------------------------


@_rule("dynamodb-stream", "error", "Tables feeding consumers have a stream with the view type they need",
       "AWS: a stream's view type decides what each record carries (keys only, new image, both)",
       "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html")
def _dynamodb_stream(ctx: _Context) -> None:
    p = ctx.pipeline
    for table in p.tables:
        declared = ctx.spec.table(table.name)
        needs = declared.stream_view_type if declared else None
        consumers = p.consumers(table.arn)
        if not consumers and not needs:
            continue
        problems: list[tuple[str, str, str]] = []
        if not table.stream_enabled:
            who = (f"{len(consumers)} event source mapping(s) read it" if consumers
                   else f"the pipeline file says its consumers need {needs}")
            problems.append((f"the stream is off but {who}",
                             f"aws dynamodb update-table --table-name {table.name} --stream-specification "
                             f"StreamEnabled=true,StreamViewType={needs or 'NEW_AND_OLD_IMAGES'}", "error"))
        else:
            if needs and table.stream_view_type != needs:
                problems.append((f"the stream's view type is {table.stream_view_type}, its consumers need {needs}",
                                 "a view type cannot be changed in place: disable the stream, enable it with "
                                 f"{needs}, and point the mappings at the new stream ARN", "error"))
            elif not needs and table.stream_view_type == "KEYS_ONLY" and consumers:
                problems.append(("the stream is KEYS_ONLY: its consumers get keys, not the items",
                                 "declare stream_view_type in eda.yaml if keys are all they need, else re-create "
                                 "the stream with NEW_IMAGE or NEW_AND_OLD_IMAGES", "warning"))
            for m in consumers:
                if table.stream_arn and m.source_arn != table.stream_arn:
                    fn = p.function_by_arn(m.function_arn)
                    problems.append((f"{fn.name if fn else name_from_arn(m.function_arn)} reads an old stream "
                                     f"({m.source_arn.rsplit('/', 1)[-1]}), not the table's current one",
                                     f"re-create the mapping on {table.stream_arn}", "error"))
        ctx.check(table.name, table.arn, *problems, line=ctx.line("table", table.name))


def idempotency_tables(pipeline: Pipeline, spec: PipelineSpec) -> list[tuple[Table, str | None, str]]:
    """(table, expected TTL attribute or None, why it counts): named in the pipeline file as one,
    tagged eda:role=idempotency, or named like one; `idempotency: false` in the file overrides."""
    found = []
    for table in pipeline.tables:
        declared = spec.table(table.name)
        said = declared.idempotency if declared is not None else None
        if said is True:
            found.append((table, declared.ttl_attribute if declared else None, "named in the pipeline file"))
        elif said is False:
            continue
        elif table.tags.get("eda:role", "").lower() == "idempotency":
            found.append((table, None, "tagged eda:role=idempotency"))
        elif is_idempotency_table(table):
            found.append((table, None, "its name contains 'idempotency'"))
    return found


@_rule("dynamodb-idempotency-ttl", "error", "Idempotency tables have TTL on their expiry attribute",
       f"{TIP}: TTL on the idempotency table",
       "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html")
def _dynamodb_ttl(ctx: _Context) -> None:
    for table, expected, why in idempotency_tables(ctx.pipeline, ctx.spec):
        problems = []
        attribute = expected or "expiration"
        if not table.ttl_enabled:
            problems.append((f"an idempotency table ({why}) without TTL: its records never expire, it grows "
                             "forever, and a retried message past its window is still rejected",
                             f"aws dynamodb update-time-to-live --table-name {table.name} "
                             f"--time-to-live-specification Enabled=true,AttributeName={attribute}"))
        elif expected and table.ttl_attribute != expected:
            problems.append((f"TTL is on {table.ttl_attribute!r} but the records expire on {expected!r}",
                             f"turn TTL off and on again with AttributeName={expected}"))
        ctx.check(table.name, table.arn, *problems, line=ctx.line("table", table.name))


# -- Lambda event source mappings -------------------------------------------------------------------


def _mapping_name(pipeline: Pipeline, m: EventSourceMapping) -> str:
    function = pipeline.function_by_arn(m.function_arn)
    target = function.name if function else name_from_arn(m.function_arn)
    return f"{name_from_arn(m.source_arn.split('/stream/')[0])} -> {target}"


@_rule("lambda-stream-failures", "error", "Stream mappings bisect failed batches or have an on-failure destination",
       "AWS: a failing record blocks its shard until it expires unless the mapping splits or sends it away",
       "https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html")
def _lambda_stream(ctx: _Context) -> None:
    p = ctx.pipeline
    for m in p.mappings:
        if not m.is_stream:
            continue
        problems = []
        if not m.bisect_on_error and not m.on_failure_arn:
            problems.append(("neither BisectBatchOnFunctionError nor an on-failure destination: one poison "
                             "record blocks the shard and is retried until it expires",
                             f"aws lambda update-event-source-mapping --uuid {m.uuid} "
                             "--bisect-batch-on-function-error --destination-config "
                             "'OnFailure={Destination=<SQS or SNS ARN>}' --maximum-retry-attempts 3"))
        ctx.check(_mapping_name(p, m), m.uuid, *problems)


@_rule("lambda-sqs-batch-failures", "warning", "SQS mappings report batch item failures",
       "AWS: without ReportBatchItemFailures one failed message makes the whole batch retry",
       "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html")
def _lambda_sqs(ctx: _Context) -> None:
    p = ctx.pipeline
    for m in p.mappings:
        if m.source_kind != "sqs":
            continue
        problems = []
        if not m.reports_batch_item_failures:
            problems.append(("FunctionResponseTypes lacks ReportBatchItemFailures: one bad message re-runs "
                             "its whole batch",
                             f"aws lambda update-event-source-mapping --uuid {m.uuid} "
                             "--function-response-types ReportBatchItemFailures (and return batchItemFailures)"))
        ctx.check(_mapping_name(p, m), m.uuid, *problems)


def _normalise(pattern: Any) -> str:
    if isinstance(pattern, str):
        try:
            pattern = json.loads(pattern)
        except ValueError:
            return pattern
    return json.dumps(pattern, sort_keys=True, separators=(",", ":"))


@_rule("lambda-declared-filter", "error", "Filters the pipeline file declares are on their mappings",
       "AWS: a mapping without its filter invokes the function for every record",
       "https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html")
def _lambda_filters(ctx: _Context) -> None:
    p = ctx.pipeline
    for declared in ctx.spec.mappings:
        candidates = []
        for m in p.mappings:
            function = p.function_by_arn(m.function_arn)
            if declared.function not in (m.function_arn, function.name if function else None):
                continue
            if declared.source:
                source_names = {m.source_arn, name_from_arn(m.source_arn.split("/stream/")[0])}
                if declared.source not in source_names:
                    continue
            candidates.append(m)
        label = f"{declared.source or '*'} -> {declared.function}"
        problems = []
        if not candidates:
            problems.append(("the pipeline file declares this event source mapping, and there is none",
                             f"create the mapping for {declared.function}, or remove it from the pipeline file"))
        elif declared.filter is not None:
            want = _normalise(declared.filter)
            if not any(want in {_normalise(f) for f in m.filters} for m in candidates):
                problems.append((f"the declared filter {want} is not on the mapping: the function is invoked "
                                 "for every record",
                                 f"aws lambda update-event-source-mapping --uuid {candidates[0].uuid} "
                                 f"--filter-criteria '{{\"Filters\": [{{\"Pattern\": {json.dumps(want)}}}]}}'"))
        ctx.check(label, candidates[0].uuid if candidates else "", *problems, line=declared.line or None)


# -- Step Functions ---------------------------------------------------------------------------------

SFN_ERRORS_URL = "https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html"


def _tasks(machine: StateMachine) -> list[tuple[str, Mapping[str, Any]]]:
    return [(path, s) for path, s in iter_states(machine.definition) if s.get("Type") == "Task"]


@_rule("sfn-task-retry", "warning", "Task states have a Retry", "AWS: transient errors (throttles, Lambda "
       "service errors) should be retried with backoff", SFN_ERRORS_URL)
def _sfn_retry(ctx: _Context) -> None:
    for machine in ctx.pipeline.state_machines:
        missing = [path for path, s in _tasks(machine) if not s.get("Retry")]
        problems = []
        if missing:
            problems.append((f"Task state(s) without Retry: {', '.join(missing)}",
                             'add "Retry": [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 2, '
                             '"MaxAttempts": 3, "BackoffRate": 2}] to each'))
        ctx.check(machine.name, machine.arn, *problems, line=ctx.line("state_machine", machine.name))


@_rule("sfn-saga-catch", "error", "A saga's failing states have a Catch",
       "eda saga pattern: every step that can fail must route to its compensation", SFN_ERRORS_URL)
def _sfn_catch(ctx: _Context) -> None:
    for machine in ctx.pipeline.state_machines:
        declared = ctx.spec.state_machine(machine.name)
        saga = declared.saga if declared is not None and declared.saga is not None else looks_like_saga(machine)
        if not saga:
            continue
        missing = [path for path, s in _tasks(machine) if not s.get("Catch")]
        problems = []
        if missing:
            problems.append((f"saga Task state(s) without Catch: {', '.join(missing)}: a failure there ends "
                             "the execution without compensating the steps before it",
                             'add "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "<compensation>"}]'))
        ctx.check(machine.name, machine.arn, *problems, line=ctx.line("state_machine", machine.name))


def _long_running(machine: StateMachine) -> list[str]:
    reasons = []
    for path, s in iter_states(machine.definition):
        resource = str(s.get("Resource", ""))
        if resource.endswith(".sync") or ".sync:" in resource:
            reasons.append(f"{path} waits for a job (.sync)")
        elif resource.endswith(".waitForTaskToken"):
            reasons.append(f"{path} waits for a callback (.waitForTaskToken)")
        elif ":activity:" in resource:
            reasons.append(f"{path} runs an activity")
        if s.get("Type") == "Wait":
            seconds = s.get("Seconds")
            if not isinstance(seconds, (int, float)) or seconds > EXPRESS_MAX_SECONDS:
                reasons.append(f"{path} waits {seconds if isinstance(seconds, (int, float)) else 'a variable time'}"
                               + ("s" if isinstance(seconds, (int, float)) else ""))
    return reasons


@_rule("sfn-type", "warning", "Express for short flows, Standard for long ones",
       f"{TIP}: Express for short high-volume flows; Standard for long-running ones",
       "https://docs.aws.amazon.com/step-functions/latest/dg/choosing-workflow-type.html")
def _sfn_type(ctx: _Context) -> None:
    for machine in ctx.pipeline.state_machines:
        declared = ctx.spec.state_machine(machine.name)
        duration = declared.duration if declared else None
        long_parts = _long_running(machine)
        problems: list[tuple[str, str, str]] = []
        if machine.express and (long_parts or duration == "long"):
            why = "; ".join(long_parts) if long_parts else "the pipeline file says it is a long flow"
            problems.append((f"Express, but it can run past Express's 5 minutes: {why}",
                             "re-create it as a Standard state machine", "error"))
        elif not machine.express and duration == "short":
            problems.append(("Standard, but the pipeline file says it is a short flow: Express costs far less "
                             "at high volume", "re-create it as an Express state machine (with logging on)",
                             "warning"))
        ctx.check(machine.name, machine.arn, *problems, line=ctx.line("state_machine", machine.name))


@_rule("sfn-express-logging", "error", "Express state machines log to CloudWatch Logs",
       "AWS: Express executions keep no history; logs are the only record",
       "https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html")
def _sfn_logging(ctx: _Context) -> None:
    p = ctx.pipeline
    groups = {g.arn.rstrip(":*") for g in p.log_groups} | {g.name for g in p.log_groups}
    for machine in p.state_machines:
        if not machine.express:
            continue
        problems = []
        if machine.logging_level.upper() == "OFF" or not machine.log_group_arns:
            problems.append(("logging is off: failed Express executions leave no trace",
                             f"aws stepfunctions update-state-machine --state-machine-arn {machine.arn} "
                             "--logging-configuration level=ERROR,includeExecutionData=true,destinations="
                             "[{cloudWatchLogsLogGroup={logGroupArn=<log group ARN>}}]"))
        elif p.log_groups:
            for arn in machine.log_group_arns:
                if arn.rstrip(":*") not in groups and arn.split(":log-group:")[-1].rstrip(":*") not in groups:
                    problems.append((f"it logs to {arn}, which does not exist", "create the log group"))
        ctx.check(machine.name, machine.arn, *problems, line=ctx.line("state_machine", machine.name))


# -- writers ----------------------------------------------------------------------------------------


def _xml(text: str) -> str:
    from xml.sax.saxutils import escape

    cleaned = "".join(c for c in text if c in "\t\n\r" or ord(c) >= 0x20)
    return escape(cleaned, {'"': "&quot;"})


def to_junit(report: AuditReport, fail_on: str = "error") -> str:
    """JUnit XML: a testsuite per rule, a testcase per rule and resource.

    A finding at or above `fail_on` is a <failure>; below it, the testcase passes and carries the
    finding in <system-out> (so CI shows it without failing on it).
    """
    by_rule: dict[str, list[Check]] = {}
    for check in report.checks:
        by_rule.setdefault(check.rule, []).append(check)
    info = {r.id: r for r in report.rules}
    suites: list[str] = []
    total = failures = 0
    for rule in report.rules:
        checks = _merge(by_rule.get(rule.id, []))
        cases = []
        suite_failures = 0
        for check in checks:
            total += 1
            failing = [f for f in check.findings if rank(f.severity) >= rank(fail_on)]
            other = [f for f in check.findings if rank(f.severity) < rank(fail_on)]
            body = ""
            if failing:
                suite_failures += 1
                text = "\n".join(f"[{f.severity}] {f.message}\nfix: {f.fix}\nsource: {f.source} ({f.url})"
                                 for f in failing)
                body += (f'<failure message="{_xml(failing[0].message)}" type="{_xml(failing[0].severity)}">'
                         f"{_xml(text)}</failure>")
            if other:
                body += "<system-out>" + _xml("\n".join(f"[{f.severity}] {f.message} (fix: {f.fix})"
                                                         for f in other)) + "</system-out>"
            name = _xml(check.resource)
            cases.append(f'    <testcase classname="eda.audit.{_xml(rule.id)}" name="{name}">{body}</testcase>'
                         if body else f'    <testcase classname="eda.audit.{_xml(rule.id)}" name="{name}"/>')
        failures += suite_failures
        title = _xml(info[rule.id].title)
        suites.append(f'  <testsuite name="{_xml(rule.id)}" tests="{len(checks)}" failures="{suite_failures}" '
                      f'errors="0" skipped="0">\n    <properties><property name="title" value="{title}"/>'
                      f'<property name="severity" value="{rule.severity}"/></properties>\n'
                      + "\n".join(cases) + ("\n" if cases else "") + "  </testsuite>")
    errors = len(report.problems)
    problems = ""
    if report.problems:
        lines = "\n".join(f"{p.service} {p.resource}: {p.error}" for p in report.problems)
        problems = (f'  <testsuite name="eda-discovery" tests="1" failures="0" errors="1" skipped="0">\n'
                    f'    <testcase classname="eda.audit.discovery" name="discovery">'
                    f'<error message="discovery was partial">{_xml(lines)}</error></testcase>\n  </testsuite>\n')
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<testsuites name="eda audit" tests="{total + (1 if errors else 0)}" failures="{failures}" '
            f'errors="{1 if errors else 0}">\n' + "\n".join(suites) + ("\n" if suites else "") + problems
            + "</testsuites>\n")


def _merge(checks: list[Check]) -> list[Check]:
    """One check per (rule, resource): a rule may look at a resource more than once."""
    merged: dict[tuple[str, str], Check] = {}
    for c in checks:
        key = (c.resource, c.arn)
        if key in merged:
            merged[key] = Check(c.rule, c.resource, c.arn, merged[key].findings + c.findings)
        else:
            merged[key] = c
    return list(merged.values())


SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def to_sarif(report: AuditReport, tool_version: str) -> dict[str, Any]:
    """SARIF 2.1.0: one run, the rules as reportingDescriptors, a result per finding.

    Each result names the resource as a logical location (its ARN); when a pipeline file was read,
    it also points at the file and the line naming the resource, so code-scanning UIs can anchor it.
    """
    rule_index = {r.id: i for i, r in enumerate(report.rules)}
    results = []
    for f in report.findings:
        location: dict[str, Any] = {
            "logicalLocations": [{"name": f.resource, "fullyQualifiedName": f.arn or f.resource,
                                  "kind": "resource"}],
        }
        if report.config_path:
            location["physicalLocation"] = {
                "artifactLocation": {"uri": report.config_path.replace("\\", "/")},
                "region": {"startLine": f.line or 1},
            }
        results.append({
            "ruleId": f.rule,
            "ruleIndex": rule_index[f.rule],
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f"{f.resource}: {f.message}. Fix: {f.fix}"},
            "locations": [location],
            "partialFingerprints": {
                "edaFinding/v1": hashlib.sha256(f"{f.rule}|{f.arn}|{f.resource}|{f.message}".encode()).hexdigest()
            },
            "properties": {"resource": f.resource, "arn": f.arn, "fix": f.fix, "source": f.source},
        })
    notifications = [
        {"level": "error", "message": {"text": f"could not read {p.service} {p.resource}: {p.error}"}}
        for p in report.problems
    ]
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": "eda",
            "version": tool_version,
            "informationUri": "https://github.com/eda-cli/eda",
            "rules": [{
                "id": r.id,
                "name": "".join(part.capitalize() for part in re.split(r"[^a-zA-Z0-9]+", r.id)),
                "shortDescription": {"text": r.title},
                "fullDescription": {"text": f"{r.title}. Source: {r.source}."},
                "helpUri": r.url,
                "help": {"text": f"{r.source}. See {r.url}"},
                "defaultConfiguration": {"level": _SARIF_LEVEL[r.severity]},
            } for r in report.rules],
        }},
        "results": results,
        "invocations": [{"executionSuccessful": not report.problems,
                         "toolExecutionNotifications": notifications}],
    }
    if report.config_path:
        run["artifacts"] = [{"location": {"uri": report.config_path.replace("\\", "/")}}]
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
