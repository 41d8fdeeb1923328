"""The SNS rules: a DLQ on SQS subscriptions, queue policies that let the topic in, valid filter policies."""

from __future__ import annotations

from eda_cli.core.audit.base import RuleContext, rule
from eda_cli.core.audit.policy import queue_policy_allows
from eda_cli.core.pipeline.model import name_from_arn


@rule("sns-subscription-redrive", "warning", "SQS subscriptions have a redrive policy (a DLQ)",
      "AWS: a subscription DLQ keeps messages SNS could not deliver (deleted queue, denied policy, KMS)",
      "https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html")
def _sns_redrive(ctx: RuleContext) -> None:
    for sub in ctx.pipeline.subscriptions:
        if sub.protocol != "sqs":
            continue
        problems = []
        if sub.dead_letter_target_arn is None:
            problems.append(("no RedrivePolicy: messages SNS cannot deliver to the queue are dropped after "
                             "its retries",
                             f"aws sns set-subscription-attributes --subscription-arn {sub.arn} --attribute-name "
                             'RedrivePolicy --attribute-value \'{"deadLetterTargetArn": "<DLQ ARN>"}\''))
        ctx.check_subscription(sub, *problems, line=ctx.line("topic", name_from_arn(sub.topic_arn)))


@rule("sns-queue-policy", "error", "The queue's access policy lets the topic send to it",
      "AWS: the queue policy must allow sns.amazonaws.com sqs:SendMessage from the topic, or nothing arrives",
      "https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html")
def _sns_queue_policy(ctx: RuleContext) -> None:
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
        ctx.check_subscription(sub, *problems,
                               line=ctx.queue_line(queue) or ctx.line("topic", name_from_arn(sub.topic_arn)))


@rule("sns-filter-policy", "error", "Subscription filter policies are valid",
      "AWS: SNS subscription filter policy syntax and limits",
      "https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html")
def _sns_filter(ctx: RuleContext) -> None:
    from eda_cli.core.patterns import PatternError, compile_pattern

    for sub in ctx.pipeline.subscriptions:
        if sub.filter_policy is None:
            continue
        problems = []
        try:
            compile_pattern(dict(sub.filter_policy), "sns", scope=sub.filter_policy_scope)
        except PatternError as exc:
            problems.append((f"invalid filter policy: {exc}", "fix the filter policy; eda's pattern engine "
                             "follows SNS's documented syntax"))
        ctx.check_subscription(sub, *problems)


RULES = (_sns_redrive, _sns_queue_policy, _sns_filter)
