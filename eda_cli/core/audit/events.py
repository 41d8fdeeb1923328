"""The EventBridge rules: a DLQ and an explicit retry policy on every target, valid patterns that
select something, queue policies that let the rule in."""

from __future__ import annotations

import json
from collections.abc import Mapping

from eda_cli.core.audit.base import RuleContext, rule
from eda_cli.core.audit.policy import queue_policy_allows
from eda_cli.core.pipeline.model import Pipeline, Rule, Target, account_of, name_from_arn


def _targets(pipeline: Pipeline) -> list[tuple[Rule, Target]]:
    """Every (rule, target) pair, rule by rule."""
    return [(r, t) for r in pipeline.rules for t in r.targets]


@rule("events-target-dlq", "error", "Every rule target has a DeadLetterConfig",
      "AWS: without a DLQ, events EventBridge cannot deliver after its retries are dropped",
      "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html")
def _events_dlq(ctx: RuleContext) -> None:
    for bus_rule, t in _targets(ctx.pipeline):
        problems = []
        if not t.dead_letter_arn:
            problems.append(("no DeadLetterConfig: events that cannot be delivered are dropped after "
                             "the retry policy runs out",
                             f"aws events put-targets --event-bus-name {bus_rule.bus_name} --rule {bus_rule.name} "
                             f"--targets 'Id={t.id},Arn={t.arn},DeadLetterConfig={{Arn=<DLQ ARN>}}'"))
        elif ctx.pipeline.queue_by_arn(t.dead_letter_arn) is None and account_of(t.dead_letter_arn) == account_of(
            bus_rule.arn
        ):
            problems.append((f"its DeadLetterConfig names {name_from_arn(t.dead_letter_arn)}, which does "
                             "not exist", "create the DLQ or fix the target's DeadLetterConfig"))
        ctx.check_target(bus_rule, t, *problems)


@rule("events-target-retry-policy", "warning", "Every rule target has an explicit RetryPolicy",
      "AWS: the default retries for 24 hours and 185 attempts; choose what the target can bear",
      "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html")
def _events_retry(ctx: RuleContext) -> None:
    for bus_rule, t in _targets(ctx.pipeline):
        problems = []
        if not t.has_retry_policy:
            problems.append(("no RetryPolicy: EventBridge's default (24 h, 185 attempts) applies",
                             "set RetryPolicy {MaximumRetryAttempts, MaximumEventAgeInSeconds} on the target"))
        ctx.check_target(bus_rule, t, *problems)


@rule("events-rule-pattern", "error", "Rule patterns are valid and select something",
      "AWS: EventBridge event pattern syntax",
      "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html")
def _events_pattern(ctx: RuleContext) -> None:
    from eda_cli.core.patterns import PatternError, compile_pattern, matches_every_event

    for bus_rule in ctx.pipeline.rules:
        if not bus_rule.event_pattern:
            continue
        problems: list[tuple[str, str, str]] = []
        try:
            compile_pattern(bus_rule.event_pattern, "eventbridge")
        except PatternError as exc:
            problems.append((f"invalid event pattern: {exc}", "fix the pattern (eda's engine follows "
                             "EventBridge's documented syntax; `eda route` can test it)", "error"))
        else:
            parsed = json.loads(bus_rule.event_pattern)
            if isinstance(parsed, Mapping) and matches_every_event(parsed):
                problems.append(("the pattern matches every event on the bus: every event reaches the target",
                                 "constrain source and detail-type (e.g. {\"source\": [\"shop.orders\"]})",
                                 "warning"))
        ctx.check(bus_rule.key, bus_rule.arn, *problems, line=ctx.line("bus", bus_rule.bus_name))


@rule("events-queue-policy", "error", "An SQS target's access policy lets the rule send to it",
      "AWS: the queue policy must allow events.amazonaws.com sqs:SendMessage from the rule",
      "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html")
def _events_queue_policy(ctx: RuleContext) -> None:
    for bus_rule, t in _targets(ctx.pipeline):
        queue = ctx.pipeline.queue_by_arn(t.arn)
        if queue is None:
            continue
        allowed = queue_policy_allows(queue.policy, queue.arn, "events.amazonaws.com", bus_rule.arn)
        problems = []
        if allowed is False:
            problems.append((f"{queue.name}'s access policy does not let rule {bus_rule.name} send to it: "
                             "matching events never arrive",
                             f"allow Principal {{Service: events.amazonaws.com}} sqs:SendMessage on {queue.arn} "
                             f"with Condition ArnEquals aws:SourceArn {bus_rule.arn}"))
        ctx.check_target(bus_rule, t, *problems)


RULES = (_events_dlq, _events_retry, _events_pattern, _events_queue_policy)
