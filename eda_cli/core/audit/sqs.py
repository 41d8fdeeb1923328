"""The SQS rules: a DLQ on every queue, maxReceiveCount 3 to 5, DLQ retention, alarms and depth,
RedriveAllowPolicy, visibility timeout against the consumer's timeout, encryption at rest."""

from __future__ import annotations

from eda_cli.core.audit.base import TIP, RuleContext, as_list, rule, seconds
from eda_cli.core.pipeline.model import account_of, name_from_arn

MIN_RECEIVE, MAX_RECEIVE = 3, 5
VISIBILITY_FACTOR = 6

SQS_DLQ_URL = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html"


@rule("sqs-redrive-policy", "error", "Every queue that is not a DLQ has a RedrivePolicy",
      f"{TIP}: a DLQ on every queue", SQS_DLQ_URL)
def _sqs_redrive(ctx: RuleContext) -> None:
    p = ctx.pipeline
    for q in p.queues:
        if p.is_dlq(q):
            continue
        if q.dead_letter_target_arn is None:
            ctx.check_queue(q, (
                "no RedrivePolicy: a message that keeps failing is received again and again until it "
                f"expires after {seconds(q.retention_seconds)}, then it is gone without a trace",
                f"create {q.name}-dlq and set RedrivePolicy "
                f'{{"deadLetterTargetArn": "<{q.name}-dlq ARN>", "maxReceiveCount": 3}} on {q.name}',
            ))
        elif p.queue_by_arn(q.dead_letter_target_arn) is None and account_of(q.dead_letter_target_arn) == account_of(
            q.arn
        ) and q.dead_letter_target_arn.split(":")[3] == q.arn.split(":")[3]:
            ctx.check_queue(q, (
                f"its RedrivePolicy names {name_from_arn(q.dead_letter_target_arn)}, which does not exist",
                f"create {name_from_arn(q.dead_letter_target_arn)} or point the RedrivePolicy at an existing DLQ",
            ))
        else:
            ctx.check_queue(q)


@rule("sqs-max-receive-count", "warning", "maxReceiveCount is between 3 and 5",
      f"{TIP}: maxReceiveCount 3 to 5", SQS_DLQ_URL)
def _sqs_max_receive(ctx: RuleContext) -> None:
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
        ctx.check_queue(q, *problems)


@rule("sqs-dlq-retention", "error", "A DLQ keeps messages longer than its sources do",
      "AWS: for standard queues the expiration of a message is based on its original enqueue timestamp",
      SQS_DLQ_URL)
def _sqs_dlq_retention(ctx: RuleContext) -> None:
    p = ctx.pipeline
    for dlq in p.queues:
        sources = [s for s in p.redrive_sources(dlq) if not s.fifo and s.retention_seconds is not None]
        if not sources or dlq.retention_seconds is None:
            continue
        longest = max(sources, key=lambda s: s.retention_seconds or 0)
        problems = []
        if dlq.retention_seconds <= (longest.retention_seconds or 0):
            problems.append((
                f"retention {seconds(dlq.retention_seconds)} is not longer than {longest.name}'s "
                f"{seconds(longest.retention_seconds)}: a message keeps its original enqueue time, so one "
                "dead-lettered late expires from the DLQ almost at once",
                f"set MessageRetentionPeriod on {dlq.name} to 1209600 (14 days), longer than every source's",
            ))
        ctx.check_queue(dlq, *problems)


@rule("sqs-dlq-alarm", "error", "Every DLQ has a CloudWatch alarm on its visible messages",
      f"{TIP}: an alarm on every DLQ's depth",
      "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html")
def _sqs_dlq_alarm(ctx: RuleContext) -> None:
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
        ctx.check_queue(dlq, *problems)


@rule("sqs-dlq-not-empty", "warning", "DLQs are empty", f"{TIP}: a DLQ that holds messages is an incident",
      SQS_DLQ_URL)
def _sqs_dlq_depth(ctx: RuleContext) -> None:
    p = ctx.pipeline
    for dlq in p.queues:
        if not p.is_dlq(dlq):
            continue
        problems = []
        if dlq.visible:
            problems.append((f"holds {dlq.visible} message(s)",
                             f"triage with `eda dlq peek {dlq.name} --group-by error`, fix the consumer, "
                             "then redrive"))
        ctx.check_queue(dlq, *problems)


@rule("sqs-dlq-redrive-allow", "error", "A DLQ's RedriveAllowPolicy permits its sources",
      "AWS: RedriveAllowPolicy decides which source queues may use a queue as their DLQ",
      "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html")
def _sqs_redrive_allow(ctx: RuleContext) -> None:
    p = ctx.pipeline
    for dlq in p.queues:
        sources = p.redrive_sources(dlq)
        if not sources:
            continue
        allow = dlq.redrive_allow_policy
        problems = []
        if allow:
            permission = str(allow.get("redrivePermission", "allowAll"))
            permitted = {str(a) for a in as_list(allow.get("sourceQueueArns") or [])}
            for s in sources:
                if permission == "denyAll" or (permission == "byQueue" and s.arn not in permitted):
                    problems.append((
                        f"its RedriveAllowPolicy ({permission}) does not permit {s.name}, whose RedrivePolicy "
                        "points here",
                        f'add {s.arn} to sourceQueueArns of {dlq.name}\'s RedriveAllowPolicy '
                        '({"redrivePermission": "byQueue", "sourceQueueArns": [...]})',
                    ))
        ctx.check_queue(dlq, *problems)


@rule("sqs-visibility-timeout", "warning", "Visibility timeout is at least 6x the consuming Lambda's timeout",
      "AWS: set the source queue's visibility timeout to at least six times the function timeout",
      "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html")
def _sqs_visibility(ctx: RuleContext) -> None:
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
        ctx.check_queue(q, *problems)


@rule("sqs-encryption", "warning", "Queues are encrypted at rest",
      "AWS: server-side encryption (SSE-SQS or SSE-KMS) protects message contents at rest",
      "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-server-side-encryption.html")
def _sqs_encryption(ctx: RuleContext) -> None:
    for q in ctx.pipeline.queues:
        problems = []
        if not q.encrypted:
            problems.append(("not encrypted at rest (neither SSE-SQS nor a KMS key)",
                             f"aws sqs set-queue-attributes --queue-url {q.url} "
                             "--attributes SqsManagedSseEnabled=true"))
        ctx.check_queue(q, *problems)


RULES = (_sqs_redrive, _sqs_max_receive, _sqs_dlq_retention, _sqs_dlq_alarm, _sqs_dlq_depth, _sqs_redrive_allow,
         _sqs_visibility, _sqs_encryption)
